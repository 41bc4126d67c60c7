//! max_pool2d and avg_pool2d: shapes, validation, costs and their shared uniform.

use super::{positive, u32_of, Act};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// A square pooling window over NCHW tensors (floor output size, like PyTorch's default).
/// Windows may overlap (kernel > stride) and hang off the edge into the padding; max pooling
/// treats padding as -inf, average pooling as 0 counted in the divisor (count_include_pad).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    pub batch: usize,
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    /// The activation whose output is this pool's input, when its backward pass is folded
    /// into the pool's: backward_input then also multiplies by the activation's derivative,
    /// read from that output (the pool's forward input). Forward ignores it.
    pub act: Act,
}

/// Mirror of `Pool2dUniform` in shaders/common/pool2d_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Pool2dUniform {
    pub batch: u32,
    pub channels: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub kernel: u32,
    pub stride: u32,
    pub padding: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl Pool2dParams {
    pub fn out_h(&self) -> usize {
        (self.in_h + 2 * self.padding - self.kernel) / self.stride + 1
    }
    pub fn out_w(&self) -> usize {
        (self.in_w + 2 * self.padding - self.kernel) / self.stride + 1
    }
    pub fn input_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.in_h, self.in_w])
    }
    pub fn output_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.out_h(), self.out_w()])
    }

    pub fn validate(&self) -> Result<()> {
        positive("pool batch", self.batch)?;
        positive("pool channels", self.channels)?;
        positive("pool kernel", self.kernel)?;
        positive("pool stride", self.stride)?;
        if 2 * self.padding > self.kernel {
            return Err(Error::invalid(
                "pool padding",
                format!(
                    "{} is more than half the kernel {}",
                    self.padding, self.kernel
                ),
            ));
        }
        if self.in_h + 2 * self.padding < self.kernel || self.in_w + 2 * self.padding < self.kernel
        {
            return Err(Error::invalid(
                "pool kernel",
                format!(
                    "{} is larger than the padded {}x{} input",
                    self.kernel,
                    self.in_h + 2 * self.padding,
                    self.in_w + 2 * self.padding
                ),
            ));
        }
        u32_of("pool input size", self.input_shape().numel())?;
        Ok(())
    }

    /// Comparisons or adds of the forward pass.
    pub fn flops(&self) -> u64 {
        (self.output_shape().numel() * self.kernel * self.kernel) as u64
    }

    pub fn bytes(&self, elem: usize) -> u64 {
        ((self.input_shape().numel() + self.output_shape().numel()) * elem) as u64
    }

    pub fn uniform(&self, batch: usize) -> Pool2dUniform {
        Pool2dUniform {
            batch: batch as u32,
            channels: self.channels as u32,
            in_h: self.in_h as u32,
            in_w: self.in_w as u32,
            out_h: self.out_h() as u32,
            out_w: self.out_w() as u32,
            kernel: self.kernel as u32,
            stride: self.stride as u32,
            padding: self.padding as u32,
            ..Default::default()
        }
    }
}
