//! softmax cross-entropy over logits [batch, classes] with integer labels.

use super::spec::{arg, Arg, Draw, OpRun, OpSpec, Signature, Ty, Value};
use super::{positive, Backend, Pass};
use crate::error::Result;
use crate::tensor::Shape;

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

impl OpSpec for SoftmaxCrossEntropyParams {
    fn stem(&self) -> &'static str {
        "softmax_cross_entropy"
    }
    fn validate(&self) -> Result<()> {
        SoftmaxCrossEntropyParams::validate(self)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        (3 * self.batch * self.classes) as u64
    }
    /// Per-sample losses in f32; the backward pass may also take the loss-scale state
    /// (parity leaves it out).
    fn signature(&self, pass: Pass) -> Signature {
        let logits = Shape::new(&[self.batch, self.classes]);
        let labels = Arg::ints("labels", Shape::new(&[self.batch]));
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("logits", logits, 8.0), labels],
                vec![Arg::out("losses", Shape::new(&[self.batch])).ty(Ty::F32)],
            ),
            _ => Signature::new(
                vec![
                    Arg::float("logits", logits.clone(), 8.0),
                    labels,
                    Arg::ints("scale_state", Shape::new(&[4])).when(false),
                ],
                vec![Arg::out("dlogits", logits)],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
}

impl OpRun for SoftmaxCrossEntropyParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.softmax_cross_entropy_forward(self, arg(i, 0)?, arg(i, 1)?, o[0]),
            _ => b.softmax_cross_entropy_backward_input(
                self,
                arg(i, 0)?,
                arg(i, 1)?,
                i.get(2).copied().flatten(),
                o[0],
            ),
        }
    }

    /// Labels spread over the classes.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        _pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        let labels = (0..self.batch).map(|n| ((n * 7 + 3) % self.classes) as u32);
        inputs[1] = Value::Ints(labels.collect());
        Ok(())
    }
}
