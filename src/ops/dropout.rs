//! dropout with a counter-based generator: the mask is a pure function of (seed, step, index).

use super::spec::{arg, Arg, OpRun, OpSpec, Signature};
use super::{positive, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// Drops each element with probability `p` and scales the rest by 1 / (1 - p).
/// `seed` and `step` pick the mask; the backward pass of the same step redraws it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutParams {
    pub len: usize,
    pub p: f32,
    pub seed: u32,
    pub step: u32,
}

/// Mirror of `DropoutUniform` in shaders/common/dropout_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DropoutUniform {
    pub len: u32,
    pub seed: u32,
    pub step: u32,
    /// Index of the first element of this dispatch (tensors split over several bindings).
    pub offset: u32,
    pub p: f32,
    pub scale: f32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// The PCG-style integer hash of the dropout shader (same constants).
pub fn hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

impl DropoutParams {
    pub fn validate(&self) -> Result<()> {
        positive("dropout length", self.len)?;
        if !(0.0..1.0).contains(&self.p) {
            return Err(Error::invalid(
                "dropout p",
                format!("{} is not in [0, 1)", self.p),
            ));
        }
        Ok(())
    }
    /// 1 / (1 - p), the factor applied to kept elements.
    pub fn scale(&self) -> f32 {
        1.0 / (1.0 - self.p)
    }
    /// Whether element `i` is kept: its draw in [0, 1) from 24 hash bits is >= p.
    pub fn keep(&self, i: u32) -> bool {
        let h = hash(i ^ hash(self.seed ^ hash(self.step)));
        (h >> 8) as f32 * (1.0 / 16_777_216.0) >= self.p
    }
    /// The uniform for the `len` elements starting at `offset`. The step is not in it (0): a
    /// GPU passes it with the per-step values, so the uniform is the same every step.
    pub fn uniform(&self, offset: usize, len: usize) -> DropoutUniform {
        DropoutUniform {
            len: len as u32,
            offset: offset as u32,
            seed: self.seed,
            step: 0,
            p: self.p,
            scale: self.scale(),
            ..Default::default()
        }
    }
}

impl OpSpec for DropoutParams {
    fn stem(&self) -> &'static str {
        "dropout"
    }
    fn validate(&self) -> Result<()> {
        DropoutParams::validate(self)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        self.len as u64
    }
    /// The mask is regenerated from the seed: the backward pass reads only dy.
    fn signature(&self, pass: Pass) -> Signature {
        let s = Shape::new(&[self.len]);
        let (i, o) = if pass == Pass::Forward {
            ("x", "y")
        } else {
            ("dy", "dx")
        };
        Signature::new(vec![Arg::float(i, s.clone(), 1.0)], vec![Arg::out(o, s)])
    }
    fn size(&self) -> String {
        format!("n{}", self.len)
    }
}

impl OpRun for DropoutParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.dropout_forward(self, arg(i, 0)?, o[0]),
            _ => b.dropout_backward_input(self, arg(i, 0)?, o[0]),
        }
    }
}
