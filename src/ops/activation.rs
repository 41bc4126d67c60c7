//! relu and tanh: element-wise, no parameters beyond the length.

use super::spec::{arg, Arg, Draw, OpRun, OpSpec, Signature, Value};
use super::{u32_of, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// Mirror of `ElementwiseUniform` in shaders/common/elementwise_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ElementwiseUniform {
    pub len: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// An activation applied in the epilogue of a conv2d or linear forward pass, after the bias
/// (the model fuses a conv2d or linear layer with the relu or tanh that follows it). Its
/// uniform code: 0 none, 1 relu, 2 tanh (shaders/common/activation.wgsl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Act {
    #[default]
    None,
    Relu,
    Tanh,
}

impl Act {
    /// A drawn tensor made this activation's output (for a folded activation's backward
    /// pass, whose kernel reads the output): relu or tanh applied, rounded to f16 values so
    /// that every storage precision reads the same.
    pub fn output_of_draw(self, x: &mut Value) {
        let x = x.floats_mut();
        match self {
            Act::None => {}
            Act::Relu => x.data.iter_mut().for_each(|v| *v = v.max(0.0)),
            Act::Tanh => x.data.iter_mut().for_each(|v| *v = v.tanh()),
        }
        crate::tensor::round_to_f16(&mut x.data);
    }
    /// The code the kernels' uniforms carry.
    pub fn code(self) -> u32 {
        match self {
            Act::None => 0,
            Act::Relu => 1,
            Act::Tanh => 2,
        }
    }
    /// The name in profiles and messages ("" for none).
    pub fn name(self) -> &'static str {
        match self {
            Act::None => "",
            Act::Relu => "relu",
            Act::Tanh => "tanh",
        }
    }
}

/// Checks an element-wise op's shape: at least one element, a 32-bit count.
pub(crate) fn validate_elementwise(op: &str, shape: &Shape) -> Result<()> {
    if shape.numel() == 0 {
        return Err(Error::invalid(op, "has no elements"));
    }
    u32_of(op, shape.numel()).map(|_| ())
}

/// relu over a tensor of this shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relu(pub Shape);

/// tanh over a tensor of this shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tanh(pub Shape);

/// The signature of relu and tanh; `saved` is what the backward pass reads (x or y).
fn activation_signature(shape: &Shape, pass: Pass, saved: &'static str) -> Signature {
    match pass {
        Pass::Forward => Signature::new(
            vec![Arg::float("x", shape.clone(), 2.0)],
            vec![Arg::out("y", shape.clone())],
        ),
        _ => Signature::new(
            vec![
                Arg::float(saved, shape.clone(), 2.0),
                Arg::float("dy", shape.clone(), 1.0),
            ],
            vec![Arg::out("dx", shape.clone())],
        ),
    }
}

impl OpSpec for Relu {
    fn stem(&self) -> &'static str {
        "relu"
    }
    fn validate(&self) -> Result<()> {
        validate_elementwise("relu", &self.0)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        self.0.numel() as u64
    }
    /// The backward pass reads the forward input.
    fn signature(&self, pass: Pass) -> Signature {
        activation_signature(&self.0, pass, "x")
    }
    fn size(&self) -> String {
        format!("b{}", self.0 .0[0])
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "relu", "shape": self.0 .0})
    }
}

impl OpRun for Relu {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.relu_forward(arg(i, 0)?, o[0]),
            _ => b.relu_backward_input(arg(i, 0)?, arg(i, 1)?, o[0]),
        }
    }
}

impl OpSpec for Tanh {
    fn stem(&self) -> &'static str {
        "tanh"
    }
    fn validate(&self) -> Result<()> {
        validate_elementwise("tanh", &self.0)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        self.0.numel() as u64
    }
    /// The backward pass reads the forward output.
    fn signature(&self, pass: Pass) -> Signature {
        activation_signature(&self.0, pass, "y")
    }
    fn size(&self) -> String {
        format!("b{}", self.0 .0[0])
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "tanh", "shape": self.0 .0})
    }
}

impl OpRun for Tanh {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.tanh_forward(arg(i, 0)?, o[0]),
            _ => b.tanh_backward_input(arg(i, 0)?, arg(i, 1)?, o[0]),
        }
    }

    /// The backward pass's y is tanh of a draw.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        if pass != Pass::Forward {
            let y = inputs[0].floats_mut();
            y.data.iter_mut().for_each(|v| *v = v.tanh());
            crate::tensor::round_to_f16(&mut y.data);
        }
        Ok(())
    }
}
