//! SGD with momentum, Nesterov and weight decay (torch.optim.SGD with dampening 0).

use super::spec::{arg, Arg, Before, OpRun, OpSpec, Signature, Ty};
use super::{positive, Backend, Pass};
use crate::error::Result;
use crate::tensor::Shape;

/// The hyperparameters of one update. `grad_scale` multiplies the stored gradient first
/// (1 / loss scale under mixed precision, 1 otherwise).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    pub grad_scale: f32,
}

/// Mirror of `SgdUniform` in shaders/sgd_update.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SgdUniform {
    pub len: u32,
    pub nesterov: u32,
    pub has_copy: u32,
    pub _pad0: u32,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub grad_scale: f32,
}

impl SgdParams {
    /// The uniform of `len` elements. The learning rate is not in it (0): a GPU passes it with
    /// the per-step values, so a schedule's changes rewrite no uniform.
    pub fn uniform(&self, len: usize, has_copy: bool) -> SgdUniform {
        SgdUniform {
            len: len as u32,
            nesterov: self.nesterov as u32,
            has_copy: has_copy as u32,
            _pad0: 0,
            lr: 0.0,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            grad_scale: self.grad_scale,
        }
    }
}

/// The update of one parameter tensor of `.1` elements (the parity and bench case; a model
/// updates whole arenas through [`Backend::sgd_update`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd(pub SgdParams, pub usize);

impl OpSpec for Sgd {
    fn stem(&self) -> &'static str {
        "sgd"
    }
    fn passes(&self) -> Vec<Pass> {
        vec![Pass::Update]
    }
    fn kernel(&self, _pass: Pass) -> String {
        "sgd_update".into()
    }
    fn validate(&self) -> Result<()> {
        positive("sgd length", self.1)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        6 * self.1 as u64
    }
    /// The f32 master weights and velocity are updated in place; the copy in the
    /// training precision is written.
    fn signature(&self, _pass: Pass) -> Signature {
        let s = || Shape::new(&[self.1]);
        Signature::new(
            vec![
                Arg::float("grad", s(), 1.0),
                Arg::float("w", s(), 0.5).ty(Ty::F32),
                Arg::float("velocity", s(), 0.1).ty(Ty::F32),
            ],
            vec![
                Arg::out("w", s()).ty(Ty::F32).before(Before::Input(1)),
                Arg::out("velocity", s())
                    .ty(Ty::F32)
                    .before(Before::Input(2)),
                Arg::out("w_copy", s()),
            ],
        )
    }
    fn size(&self) -> String {
        format!("n{}", self.1)
    }
}

impl OpRun for Sgd {
    fn run<B: Backend>(
        &self,
        b: &B,
        _pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match o {
            [w, v, copy] => b.sgd_update(
                &self.0,
                &[arg(i, 0)?],
                &mut [&mut **w],
                &mut [&mut **v],
                Some(&mut [&mut **copy]),
                None,
            ),
            _ => Err(crate::error::Error::invalid("sgd", "takes three outputs")),
        }
    }
}
