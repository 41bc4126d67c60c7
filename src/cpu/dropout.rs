//! CPU reference for dropout: the same counter-based mask as the shader.

use crate::ops::DropoutParams;
use num_traits::Float;

fn apply<F: Float>(p: &DropoutParams, v: &[F]) -> Vec<F> {
    let scale = F::from(p.scale()).unwrap();
    v.iter()
        .enumerate()
        .map(|(i, &v)| {
            if p.keep(i as u32) {
                v * scale
            } else {
                F::zero()
            }
        })
        .collect()
}

pub fn forward<F: Float>(p: &DropoutParams, x: &[F]) -> Vec<F> {
    apply(p, x)
}

pub fn backward_input<F: Float>(p: &DropoutParams, dy: &[F]) -> Vec<F> {
    apply(p, dy)
}
