//! concat: channel concatenation (GoogLeNet's inception blocks, U-Net's skip connections).
//! A node concatenating k inputs runs k passes, each copying one input into its channels of
//! the output (forward) or its channels of the output gradient back (backward_input).

use super::spec::{arg, Arg, Before, OpRun, OpSpec, Signature};
use super::{positive, u32_of, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// One input of a concatenation: `channels` channels at `offset` of the output's `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConcatParams {
    pub batch: usize,
    pub channels: usize,
    pub total: usize,
    pub offset: usize,
    pub h: usize,
    pub w: usize,
}

/// Mirror of `ConcatUniform` in shaders/common/concat_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConcatUniform {
    /// Images in this launch (a chunk of the batch).
    pub batch: u32,
    pub channels: u32,
    pub total: u32,
    pub offset: u32,
    pub pixels: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl ConcatParams {
    /// This input's shape.
    pub fn input_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.h, self.w])
    }
    /// The concatenation's shape.
    pub fn output_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.total, self.h, self.w])
    }
    pub fn validate(&self) -> Result<()> {
        positive("concat batch", self.batch)?;
        positive("concat channels", self.channels)?;
        positive("concat height", self.h)?;
        positive("concat width", self.w)?;
        if self.offset + self.channels > self.total {
            return Err(Error::invalid(
                "concat",
                format!(
                    "channels {}..{} are outside the output's {}",
                    self.offset,
                    self.offset + self.channels,
                    self.total
                ),
            ));
        }
        u32_of("concat output size", self.output_shape().numel()).map(|_| ())
    }
    pub fn uniform(&self, batch: usize) -> ConcatUniform {
        ConcatUniform {
            batch: batch as u32,
            channels: self.channels as u32,
            total: self.total as u32,
            offset: self.offset as u32,
            pixels: (self.h * self.w) as u32,
            ..Default::default()
        }
    }
}

impl OpSpec for ConcatParams {
    fn stem(&self) -> &'static str {
        "concat"
    }
    fn validate(&self) -> Result<()> {
        ConcatParams::validate(self)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        0
    }
    /// The forward pass writes this input's channels and leaves the others' as they were.
    fn signature(&self, pass: Pass) -> Signature {
        let (x, y) = (self.input_shape(), self.output_shape());
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("x", x, 1.0), Arg::float("y", y.clone(), 1.0)],
                vec![Arg::out("y", y).before(Before::Input(1))],
            ),
            _ => Signature::new(vec![Arg::float("dy", y, 1.0)], vec![Arg::out("dx", x)]),
        }
    }
    /// This input's elements read and written once each (the forward signature lists the
    /// whole output as an input only so that harnesses keep the other channels' values).
    fn bytes(&self, _pass: Pass, elem: usize) -> u64 {
        2 * (self.input_shape().numel() * elem) as u64
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "concat", "batch": self.batch, "channels": self.channels,
            "total": self.total, "offset": self.offset, "h": self.h, "w": self.w})
    }
}

impl OpRun for ConcatParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.concat_forward(self, arg(i, 0)?, o[0]),
            _ => b.concat_backward_input(self, arg(i, 0)?, o[0]),
        }
    }
}
