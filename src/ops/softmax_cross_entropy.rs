//! softmax cross-entropy over logits [batch, classes] with integer labels.

use super::positive;
use crate::error::Result;

/// The loss of each sample; `grad_scale` multiplies the gradient (1/batch for the batch mean,
/// times the loss scale under mixed precision).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftmaxCrossEntropyParams {
    pub batch: usize,
    pub classes: usize,
    pub grad_scale: f32,
}

/// Mirror of `SoftmaxCrossEntropyUniform` in shaders/common/softmax_cross_entropy_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SoftmaxCrossEntropyUniform {
    pub batch: u32,
    pub classes: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub grad_scale: f32,
    pub _pad2: u32,
    pub _pad3: u32,
    pub _pad4: u32,
}

impl SoftmaxCrossEntropyParams {
    /// The mean over the batch, unscaled.
    pub fn mean(batch: usize, classes: usize) -> Self {
        SoftmaxCrossEntropyParams {
            batch,
            classes,
            grad_scale: 1.0 / batch as f32,
        }
    }
    pub fn validate(&self) -> Result<()> {
        positive("softmax_cross_entropy batch", self.batch)?;
        positive("softmax_cross_entropy classes", self.classes)
    }
    pub fn uniform(&self) -> SoftmaxCrossEntropyUniform {
        SoftmaxCrossEntropyUniform {
            batch: self.batch as u32,
            classes: self.classes as u32,
            grad_scale: self.grad_scale,
            ..Default::default()
        }
    }
}
