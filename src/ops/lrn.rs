//! lrn: local response normalisation across channels, with PyTorch's `LocalResponseNorm` semantics.

use super::spec::{arg, Arg, Draw, OpRun, OpSpec, Signature, Value};
use super::Act;
use super::{positive, u32_of, Backend, Pass};
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
    /// The activation whose output is this normalisation's input, when its backward pass is
    /// folded into this one's: backward_input then also multiplies dx by the activation's
    /// derivative at x. Forward ignores it.
    pub act: Act,
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
            act: Act::None,
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

impl OpSpec for LrnParams {
    fn stem(&self) -> &'static str {
        "lrn"
    }
    fn validate(&self) -> Result<()> {
        LrnParams::validate(self)
    }
    /// The backward pass does about twice the forward pass's arithmetic.
    fn flops(&self, pass: Pass) -> u64 {
        LrnParams::flops(self) * if pass == Pass::Forward { 1 } else { 2 }
    }
    /// Large activations make the normalisation matter (ReLU outputs of order 10).
    fn signature(&self, pass: Pass) -> Signature {
        let s = self.shape();
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("x", s.clone(), 10.0)],
                vec![Arg::out("y", s)],
            ),
            _ => Signature::new(
                vec![
                    Arg::float("x", s.clone(), 10.0),
                    Arg::float("dy", s.clone(), 1.0),
                ],
                vec![Arg::out("dx", s)],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "lrn", "batch": self.batch, "channels": self.channels,
            "h": self.h, "w": self.w, "size": self.size, "alpha": self.alpha,
            "beta": self.beta, "k": self.k, "act": self.act.name()})
    }
}

impl OpRun for LrnParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.lrn_forward(self, arg(i, 0)?, o[0]),
            _ => b.lrn_backward_input(self, arg(i, 0)?, arg(i, 1)?, o[0]),
        }
    }

    /// With a folded activation, x (the activation's output) is that function of a draw.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        if pass != Pass::Forward && self.act != Act::None {
            self.act.output_of_draw(&mut inputs[0]);
        }
        Ok(())
    }
}
