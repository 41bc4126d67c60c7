//! SGD with momentum, Nesterov and weight decay (torch.optim.SGD with dampening 0).

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
