//! linear (matmul with bias): shapes, validation, costs and the uniform of its passes.

use super::{positive, u32_of, Act, Pass};
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
    pub fn bytes(&self, pass: Pass, elem: usize) -> u64 {
        let (x, w, y) = (
            self.input_shape().numel(),
            self.weight_shape().numel(),
            self.output_shape().numel(),
        );
        let n = match pass {
            Pass::BackwardBias => y + self.out_features,
            Pass::Forward => x + w + y + self.out_features * self.bias as usize,
            _ => x + w + y,
        };
        (n * elem) as u64
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
