//! CPU reference for lrn (PyTorch's LocalResponseNorm), generic over f32 and f64.

use crate::ops::LrnParams;
use num_traits::Float;

/// s[n, c, p] = k + alpha/size * sum over j in [c - size/2, c + (size-1)/2] of x[n, j, p]^2.
fn scales<F: Float>(p: &LrnParams, x: &[F]) -> Vec<F> {
    let pixels = p.h * p.w;
    let coef = F::from(p.alpha).unwrap() / F::from(p.size).unwrap();
    let k = F::from(p.k).unwrap();
    let mut s = vec![F::zero(); x.len()];
    for n in 0..p.batch {
        for c in 0..p.channels {
            let lo = c.saturating_sub(p.size / 2);
            let hi = (c + (p.size - 1) / 2).min(p.channels - 1);
            for px in 0..pixels {
                let mut sum = F::zero();
                for j in lo..=hi {
                    let v = x[(n * p.channels + j) * pixels + px];
                    sum = sum + v * v;
                }
                s[(n * p.channels + c) * pixels + px] = k + coef * sum;
            }
        }
    }
    s
}

/// y = x * s^-beta.
pub fn forward<F: Float>(p: &LrnParams, x: &[F]) -> Vec<F> {
    let beta = F::from(p.beta).unwrap();
    let s = scales(p, x);
    x.iter().zip(&s).map(|(&v, &s)| v * s.powf(-beta)).collect()
}

/// dx_j = dy_j s_j^-beta - 2 alpha beta / size * x_j * sum over c with j in c's window of dy_c x_c s_c^(-beta-1).
pub fn backward_input<F: Float>(p: &LrnParams, x: &[F], dy: &[F]) -> Vec<F> {
    let pixels = p.h * p.w;
    let beta = F::from(p.beta).unwrap();
    let coef = F::from(2.0 * p.alpha as f64 * p.beta as f64 / p.size as f64).unwrap();
    let s = scales(p, x);
    let mut dx = vec![F::zero(); x.len()];
    for n in 0..p.batch {
        for j in 0..p.channels {
            let lo = j.saturating_sub((p.size - 1) / 2);
            let hi = (j + p.size / 2).min(p.channels - 1);
            for px in 0..pixels {
                let at = |c: usize| (n * p.channels + c) * pixels + px;
                let mut cross = F::zero();
                for c in lo..=hi {
                    cross = cross + dy[at(c)] * x[at(c)] * s[at(c)].powf(-beta - F::one());
                }
                dx[at(j)] = dy[at(j)] * s[at(j)].powf(-beta) - coef * x[at(j)] * cross;
            }
        }
    }
    dx
}
