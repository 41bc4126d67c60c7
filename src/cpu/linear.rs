//! CPU reference for linear, generic over f32 and f64.

use crate::ops::LinearParams;
use num_traits::Float;

/// y[n, o] = b[o] + sum_i x[n, i] * w[o, i].
pub fn forward<F: Float>(p: &LinearParams, x: &[F], w: &[F], b: Option<&[F]>) -> Vec<F> {
    let mut y = Vec::with_capacity(p.batch * p.out_features);
    for n in 0..p.batch {
        let xr = &x[n * p.in_features..(n + 1) * p.in_features];
        for o in 0..p.out_features {
            let wr = &w[o * p.in_features..(o + 1) * p.in_features];
            let dot = xr.iter().zip(wr).fold(F::zero(), |a, (&u, &v)| a + u * v);
            y.push(dot + b.map_or(F::zero(), |b| b[o]));
        }
    }
    super::activation::apply(p.act, y)
}

/// dx[n, i] = sum_o dy[n, o] * w[o, i].
pub fn backward_input<F: Float>(p: &LinearParams, dy: &[F], w: &[F]) -> Vec<F> {
    let mut dx = vec![F::zero(); p.batch * p.in_features];
    for n in 0..p.batch {
        for o in 0..p.out_features {
            let d = dy[n * p.out_features + o];
            for i in 0..p.in_features {
                dx[n * p.in_features + i] =
                    dx[n * p.in_features + i] + d * w[o * p.in_features + i];
            }
        }
    }
    dx
}

/// dw[o, i] = sum_n dy[n, o] * x[n, i].
pub fn backward_weight<F: Float>(p: &LinearParams, dy: &[F], x: &[F]) -> Vec<F> {
    let mut dw = vec![F::zero(); p.out_features * p.in_features];
    for n in 0..p.batch {
        for o in 0..p.out_features {
            let d = dy[n * p.out_features + o];
            for i in 0..p.in_features {
                dw[o * p.in_features + i] =
                    dw[o * p.in_features + i] + d * x[n * p.in_features + i];
            }
        }
    }
    dw
}

/// db[o] = sum_n dy[n, o].
pub fn backward_bias<F: Float>(p: &LinearParams, dy: &[F]) -> Vec<F> {
    super::channel_sum(dy, p.batch, p.out_features, 1)
}
