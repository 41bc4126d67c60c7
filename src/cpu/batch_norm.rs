//! CPU reference for batch_norm2d (PyTorch's BatchNorm2d), generic over f32 and f64; sums in
//! index order.

use crate::ops::BatchNormParams;
use num_traits::Float;

fn f<F: Float>(v: f64) -> F {
    F::from(v).unwrap()
}

/// Per channel: the mean and biased variance over (N, H, W).
pub fn statistics<F: Float>(p: &BatchNormParams, x: &[F]) -> (Vec<F>, Vec<F>) {
    let pixels = p.h * p.w;
    let count: F = f(p.count() as f64);
    let mean: Vec<F> = super::channel_sum(x, p.batch, p.channels, pixels)
        .into_iter()
        .map(|s| s / count)
        .collect();
    let dev: Vec<F> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = v - mean[(i / pixels) % p.channels];
            d * d
        })
        .collect();
    let var = super::channel_sum(&dev, p.batch, p.channels, pixels)
        .into_iter()
        .map(|s| s / count)
        .collect();
    (mean, var)
}

/// y = (x - mean) / sqrt(var + eps) * weight + bias, per channel.
pub fn normalise<F: Float>(
    p: &BatchNormParams,
    x: &[F],
    mean: &[F],
    var: &[F],
    weight: &[F],
    bias: &[F],
) -> Vec<F> {
    let pixels = p.h * p.w;
    let eps: F = f(p.eps as f64);
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = (i / pixels) % p.channels;
            (v - mean[c]) / (var[c] + eps).sqrt() * weight[c] + bias[c]
        })
        .collect()
}

/// The running estimates after one training batch: r = (1 - m) r + m s, with the batch's
/// unbiased variance.
pub fn update_running<F: Float>(
    p: &BatchNormParams,
    mean: &[F],
    var: &[F],
    running_mean: &mut [F],
    running_var: &mut [F],
) {
    let m: F = f(p.momentum as f64);
    let n = p.count() as f64;
    let unbias: F = f(n / (n - 1.0).max(1.0));
    for c in 0..p.channels {
        running_mean[c] = (F::one() - m) * running_mean[c] + m * mean[c];
        running_var[c] = (F::one() - m) * running_var[c] + m * var[c] * unbias;
    }
}

/// Training-mode gradients from the batch's statistics: (dx, dweight, dbias), with
/// dx = weight / sqrt(var + eps) * (dy - mean(dy) - x̂ mean(dy x̂)).
pub fn backward<F: Float>(
    p: &BatchNormParams,
    x: &[F],
    dy: &[F],
    weight: &[F],
) -> (Vec<F>, Vec<F>, Vec<F>) {
    let pixels = p.h * p.w;
    let (mean, var) = statistics(p, x);
    let eps: F = f(p.eps as f64);
    let inv: Vec<F> = var.iter().map(|&v| F::one() / (v + eps).sqrt()).collect();
    let ch = |i: usize| (i / pixels) % p.channels;
    let xhat: Vec<F> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| (v - mean[ch(i)]) * inv[ch(i)])
        .collect();
    let dyx: Vec<F> = dy.iter().zip(&xhat).map(|(&d, &h)| d * h).collect();
    let dbias = super::channel_sum(dy, p.batch, p.channels, pixels);
    let dweight = super::channel_sum(&dyx, p.batch, p.channels, pixels);
    let count: F = f(p.count() as f64);
    let dx = dy
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let c = ch(i);
            weight[c] * inv[c] * (d - dbias[c] / count - xhat[i] * dweight[c] / count)
        })
        .collect();
    (dx, dweight, dbias)
}
