//! CPU reference for relu and tanh, generic over f32 and f64.

use crate::ops::Act;
use num_traits::Float;

/// A fused activation (the epilogue of conv2d and linear forward) as the unfused op: the
/// forward function below applied to the layer's output.
pub fn apply<F: Float>(act: Act, y: Vec<F>) -> Vec<F> {
    match act {
        Act::None => y,
        Act::Relu => relu_forward(&y),
        Act::Tanh => tanh_forward(&y),
    }
}

/// A pooling or normalisation gradient `d` with the backward pass of activation `act` folded
/// in: `d` times the activation's derivative at its output `y` (the unfused backward
/// functions below).
pub fn fold_backward(act: Act, y: Option<&super::CpuTensor>, d: Vec<f64>) -> Vec<f64> {
    match (act, y) {
        (Act::Relu, Some(y)) => relu_backward_input(&y.f64s(), &d),
        (Act::Tanh, Some(y)) => tanh_backward_input(&y.f64s(), &d),
        _ => d,
    }
}

pub fn relu_forward<F: Float>(x: &[F]) -> Vec<F> {
    x.iter().map(|&v| v.max(F::zero())).collect()
}

/// dx = dy where x > 0.
pub fn relu_backward_input<F: Float>(x: &[F], dy: &[F]) -> Vec<F> {
    x.iter()
        .zip(dy)
        .map(|(&v, &d)| if v > F::zero() { d } else { F::zero() })
        .collect()
}

pub fn tanh_forward<F: Float>(x: &[F]) -> Vec<F> {
    x.iter().map(|&v| v.tanh()).collect()
}

/// dx = dy * (1 - y^2), from the forward output y.
pub fn tanh_backward_input<F: Float>(y: &[F], dy: &[F]) -> Vec<F> {
    y.iter()
        .zip(dy)
        .map(|(&v, &d)| d * (F::one() - v * v))
        .collect()
}
