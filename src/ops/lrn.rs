//! lrn: local response normalisation across channels, with PyTorch's `LocalResponseNorm` semantics.

use super::{positive, u32_of};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// `y_c = x_c / (k + alpha/size * sum_{j in [c - size/2, c + (size-1)/2]} x_j^2)^beta` over
/// NCHW tensors (PyTorch divides alpha by the window size; the AlexNet paper does not).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrnParams {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
}

/// Mirror of `LrnUniform` in shaders/common/lrn_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LrnUniform {
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
    pub size: u32,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
    pub _pad0: u32,
}

impl LrnParams {
    /// AlexNet's normalisation (size 5, alpha 1e-4, beta 0.75, k 2) on the given shape.
    pub fn alexnet(batch: usize, channels: usize, h: usize, w: usize) -> Self {
        LrnParams {
            batch,
            channels,
            h,
            w,
            size: 5,
            alpha: 1e-4,
            beta: 0.75,
            k: 2.0,
        }
    }
    pub fn shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.h, self.w])
    }
    pub fn validate(&self) -> Result<()> {
        positive("lrn batch", self.batch)?;
        positive("lrn channels", self.channels)?;
        positive("lrn size", self.size)?;
        if self.k <= 0.0 || !self.k.is_finite() {
            return Err(Error::invalid(
                "lrn k",
                format!("{} must be positive", self.k),
            ));
        }
        u32_of("lrn size", self.shape().numel())?;
        Ok(())
    }
    pub fn flops(&self) -> u64 {
        (self.shape().numel() * (2 * self.size + 4)) as u64
    }
    pub fn uniform(&self, batch: usize) -> LrnUniform {
        LrnUniform {
            batch: batch as u32,
            channels: self.channels as u32,
            pixels: (self.h * self.w) as u32,
            size: self.size as u32,
            alpha: self.alpha,
            beta: self.beta,
            k: self.k,
            _pad0: 0,
        }
    }
}
