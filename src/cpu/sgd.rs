//! CPU reference for the SGD update (torch.optim.SGD semantics, dampening 0).

use crate::ops::SgdParams;

/// Updates `w` and `velocity` in place from `grad`.
pub fn update(p: &SgdParams, grad: &[f32], w: &mut [f32], velocity: &mut [f32]) {
    for ((w, v), &g) in w.iter_mut().zip(velocity.iter_mut()).zip(grad) {
        let g = g * p.grad_scale + p.weight_decay * *w;
        *v = p.momentum * *v + g;
        let step = if p.nesterov { g + p.momentum * *v } else { *v };
        *w -= p.lr * step;
    }
}
