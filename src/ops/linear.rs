//! linear (matmul with bias): shapes, validation, costs and the uniform of its passes.

use super::spec::{arg, sum_scale, Arg, OpRun, OpSpec, Signature};
use super::{positive, u32_of, Act, Backend, Pass};
use crate::error::Result;
use crate::tensor::Shape;

/// `y[n, o] = sum_i x[n, i] * w[o, i] + b[o]`, weights laid out as PyTorch's [out, in].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinearParams {
    pub batch: usize,
    pub in_features: usize,
    pub out_features: usize,
    pub bias: bool,
    /// Fused into the forward pass after the bias (see [`Act`]).
    pub act: Act,
}

/// Mirror of `LinearUniform` in shaders/common/linear_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LinearUniform {
    pub batch: u32,
    pub in_features: u32,
    pub out_features: u32,
    pub has_bias: u32,
    pub row0: u32,
    pub rows: u32,
    pub accumulate: u32,
    pub act: u32,
}

impl LinearParams {
    pub fn input_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.in_features])
    }
    pub fn weight_shape(&self) -> Shape {
        Shape::new(&[self.out_features, self.in_features])
    }
    pub fn bias_shape(&self) -> Shape {
        Shape::new(&[self.out_features])
    }
    pub fn output_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.out_features])
    }
    pub fn validate(&self) -> Result<()> {
        positive("linear batch", self.batch)?;
        positive("linear in_features", self.in_features)?;
        positive("linear out_features", self.out_features)?;
        u32_of("linear weight size", self.weight_shape().numel())?;
        u32_of("linear input size", self.input_shape().numel())?;
        Ok(())
    }
    pub fn macs(&self) -> u64 {
        (self.batch * self.in_features * self.out_features) as u64
    }
    pub fn flops(&self, pass: Pass) -> u64 {
        match pass {
            Pass::BackwardBias => self.output_shape().numel() as u64,
            _ => 2 * self.macs(),
        }
    }
    /// The uniform for the weight rows [row0, row0 + rows).
    pub fn uniform(&self, row0: usize, rows: usize, accumulate: bool) -> LinearUniform {
        LinearUniform {
            batch: self.batch as u32,
            in_features: self.in_features as u32,
            out_features: self.out_features as u32,
            has_bias: self.bias as u32,
            row0: row0 as u32,
            rows: rows as u32,
            accumulate: accumulate as u32,
            act: self.act.code(),
        }
    }
}

impl OpSpec for LinearParams {
    fn stem(&self) -> &'static str {
        "linear"
    }
    fn passes(&self) -> Vec<Pass> {
        super::spec::gemm_passes(self.bias)
    }
    fn validate(&self) -> Result<()> {
        LinearParams::validate(self)
    }
    fn flops(&self, pass: Pass) -> u64 {
        LinearParams::flops(self, pass)
    }
    fn signature(&self, pass: Pass) -> Signature {
        let (x, w, y) = (self.input_shape(), self.weight_shape(), self.output_shape());
        match pass {
            Pass::Forward => Signature::new(
                vec![
                    Arg::float("x", x, 1.0),
                    Arg::float("w", w, sum_scale(self.in_features)),
                    Arg::float("b", self.bias_shape(), 1.0).when(self.bias),
                ],
                vec![Arg::out("y", y)],
            ),
            Pass::BackwardInput => Signature::new(
                vec![
                    Arg::float("dy", y, 1.0),
                    Arg::float("w", w, sum_scale(self.out_features)),
                ],
                vec![Arg::out("dx", x)],
            ),
            Pass::BackwardWeight => Signature::new(
                vec![
                    Arg::float("dy", y, sum_scale(self.batch)),
                    Arg::float("x", x, 1.0),
                ],
                vec![Arg::out("dw", w)],
            ),
            _ => Signature::new(
                vec![Arg::float("dy", y, sum_scale(self.batch))],
                vec![Arg::out("db", self.bias_shape())],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "linear", "batch": self.batch,
            "in_features": self.in_features, "out_features": self.out_features,
            "bias": self.bias})
    }
}

impl OpRun for LinearParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.linear_forward(self, arg(i, 0)?, arg(i, 1)?, i[2], o[0]),
            Pass::BackwardInput => b.linear_backward_input(self, arg(i, 0)?, arg(i, 1)?, o[0]),
            Pass::BackwardWeight => b.linear_backward_weight(self, arg(i, 0)?, arg(i, 1)?, o[0]),
            _ => b.linear_backward_bias(self, arg(i, 0)?, o[0]),
        }
    }
}
