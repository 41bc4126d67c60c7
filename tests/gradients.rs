//! Every CPU backward pass agrees with central finite differences of its forward pass, in f64.
//!
//! For an op f and a random cotangent r, L(x) = sum(r * f(x)); the backward pass fed dy = r
//! must return dL/dx. Each input element is perturbed by ±h (h = 1e-5): the truncation error
//! is O(h^2) and the rounding error about 1e-16 / h, so 1e-6 is a tolerance no real bug meets.

use cnngpu::cpu::{
    activation, batch_norm, conv2d, conv_transpose2d, dropout, linear, lrn, pixel_loss, pool2d,
    softmax_cross_entropy,
};
use cnngpu::ops::*;
use cnngpu::tensor::SplitMix64;

const H: f64 = 1e-5;
const TOL: f64 = 1e-6;

fn rand(rng: &mut SplitMix64, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0) as f64).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Checks `grad` = d/dx of `loss` at `x`, element by element.
fn check(what: &str, x: &[f64], grad: &[f64], loss: impl Fn(&[f64]) -> f64) {
    assert_eq!(x.len(), grad.len(), "{what}: gradient length");
    let mut worst = (0.0f64, 0usize);
    for i in 0..x.len() {
        let mut xp = x.to_vec();
        xp[i] += H;
        let mut xm = x.to_vec();
        xm[i] -= H;
        let fd = (loss(&xp) - loss(&xm)) / (2.0 * H);
        let err = (fd - grad[i]).abs() / (1.0 + fd.abs());
        if err > worst.0 {
            worst = (err, i);
        }
        assert!(
            err <= TOL,
            "{what}[{i}]: backward {} vs finite difference {fd} (error {err:.2e})",
            grad[i]
        );
    }
    eprintln!(
        "{what}: {} elements, worst relative error {:.2e} at {}",
        x.len(),
        worst.0,
        worst.1
    );
}

#[test]
fn conv2d_backward_passes_match_finite_differences() {
    let mut rng = SplitMix64(1);
    let p = Conv2dParams {
        batch: 2,
        in_channels: 4,
        in_h: 6,
        in_w: 5,
        out_channels: 6,
        kernel_h: 3,
        kernel_w: 2,
        stride: 2,
        padding: 1,
        groups: 2,
        bias: true,
        act: Act::None,
    };
    let x = rand(&mut rng, p.input_shape().numel());
    let w = rand(&mut rng, p.weight_shape().numel());
    let b = rand(&mut rng, p.out_channels);
    let r = rand(&mut rng, p.output_shape().numel());
    let f = |x: &[f64], w: &[f64], b: &[f64]| dot(&r, &conv2d::forward(&p, x, w, Some(b)));
    check("conv2d dx", &x, &conv2d::backward_input(&p, &r, &w), |x| {
        f(x, &w, &b)
    });
    check("conv2d dw", &w, &conv2d::backward_weight(&p, &r, &x), |w| {
        f(&x, w, &b)
    });
    check("conv2d db", &b, &conv2d::backward_bias(&p, &r), |b| {
        f(&x, &w, b)
    });
}

#[test]
fn conv_transpose2d_backward_passes_match_finite_differences() {
    let mut rng = SplitMix64(7);
    // Padding that crops, output padding, groups and a rectangular kernel at once.
    let p = ConvTranspose2dParams {
        batch: 2,
        in_channels: 4,
        in_h: 4,
        in_w: 3,
        out_channels: 6,
        kernel_h: 3,
        kernel_w: 2,
        stride: 2,
        padding: 1,
        output_padding: 1,
        groups: 2,
        bias: true,
    };
    let x = rand(&mut rng, p.input_shape().numel());
    let w = rand(&mut rng, p.weight_shape().numel());
    let b = rand(&mut rng, p.out_channels);
    let r = rand(&mut rng, p.output_shape().numel());
    let f =
        |x: &[f64], w: &[f64], b: &[f64]| dot(&r, &conv_transpose2d::forward(&p, x, w, Some(b)));
    let dx = conv_transpose2d::backward_input(&p, &r, &w);
    check("conv_transpose2d dx", &x, &dx, |x| f(x, &w, &b));
    let dw = conv_transpose2d::backward_weight(&p, &r, &x);
    check("conv_transpose2d dw", &w, &dw, |w| f(&x, w, &b));
    let db = conv_transpose2d::backward_bias(&p, &r);
    check("conv_transpose2d db", &b, &db, |b| f(&x, &w, b));
}

#[test]
fn linear_backward_passes_match_finite_differences() {
    let mut rng = SplitMix64(2);
    let p = LinearParams {
        batch: 3,
        in_features: 7,
        out_features: 5,
        bias: true,
        act: Act::None,
    };
    let x = rand(&mut rng, 21);
    let w = rand(&mut rng, 35);
    let b = rand(&mut rng, 5);
    let r = rand(&mut rng, 15);
    let f = |x: &[f64], w: &[f64], b: &[f64]| dot(&r, &linear::forward(&p, x, w, Some(b)));
    check("linear dx", &x, &linear::backward_input(&p, &r, &w), |x| {
        f(x, &w, &b)
    });
    check("linear dw", &w, &linear::backward_weight(&p, &r, &x), |w| {
        f(&x, w, &b)
    });
    check("linear db", &b, &linear::backward_bias(&p, &r), |b| {
        f(&x, &w, b)
    });
}

#[test]
fn pooling_backward_passes_match_finite_differences() {
    let mut rng = SplitMix64(3);
    for p in [
        Pool2dParams {
            batch: 2,
            channels: 2,
            in_h: 7,
            in_w: 6,
            kernel: 3,
            stride: 2,
            padding: 1,
            act: Act::None,
            ceil_mode: false,
            adaptive: None,
        },
        Pool2dParams {
            batch: 1,
            channels: 3,
            in_h: 6,
            in_w: 6,
            kernel: 2,
            stride: 2,
            padding: 0,
            act: Act::None,
            ceil_mode: false,
            adaptive: None,
        },
    ] {
        // Distinct values (no ties within 2h), so the max never switches under perturbation.
        let x = rand(&mut rng, p.input_shape().numel());
        let r = rand(&mut rng, p.output_shape().numel());
        let (_, idx) = pool2d::max_forward(&p, &x);
        check(
            "max_pool2d dx",
            &x,
            &pool2d::max_backward_input(&p, &r, &idx),
            |x| dot(&r, &pool2d::max_forward(&p, x).0),
        );
        check(
            "avg_pool2d dx",
            &x,
            &pool2d::avg_backward_input(&p, &r),
            |x| dot(&r, &pool2d::avg_forward(&p, x)),
        );
    }
}

/// adaptive_avg_pool2d as PyTorch's: windows [floor(o*H/s), ceil((o+1)*H/s)), each divided
/// by its own size (hand-computed: a 3x3 ramp to 2x2 averages overlapping 2x2 windows; 5
/// columns to 3 average 2, 3 and 2 of them), and its backward pass against finite
/// differences where windows overlap (14 to 4), repeat rows (2 to 4) and differ in size.
#[test]
fn adaptive_average_pooling_is_pytorchs() {
    let adaptive = |h: usize, w: usize, out: usize| Pool2dParams {
        batch: 2,
        channels: 2,
        in_h: h,
        in_w: w,
        kernel: 1,
        stride: 1,
        padding: 0,
        act: Act::None,
        ceil_mode: false,
        adaptive: Some(out),
    };
    let ramp: Vec<f64> = (0..9).map(f64::from).collect();
    let p = Pool2dParams {
        batch: 1,
        channels: 1,
        ..adaptive(3, 3, 2)
    };
    assert_eq!(pool2d::avg_forward(&p, &ramp), [2.0, 3.0, 5.0, 6.0]);
    let row: Vec<f64> = (0..5).map(f64::from).collect();
    let p = Pool2dParams {
        batch: 1,
        channels: 1,
        ..adaptive(1, 5, 3)
    };
    assert_eq!(p.out_h(), 3, "the output side is the adaptive size");
    let y = pool2d::avg_forward(&p, &row);
    // Rows: 1 repeated three times; columns [0, 2), [1, 4), [3, 5).
    assert_eq!(&y[..3], [0.5, 2.0, 3.5]);
    let mut rng = SplitMix64(8);
    for p in [adaptive(14, 14, 4), adaptive(2, 2, 4), adaptive(7, 5, 3)] {
        let x = rand(&mut rng, p.input_shape().numel());
        let r = rand(&mut rng, p.output_shape().numel());
        check(
            "adaptive avg_pool2d dx",
            &x,
            &pool2d::avg_backward_input(&p, &r),
            |x| dot(&r, &pool2d::avg_forward(&p, x)),
        );
    }
}

#[test]
fn lrn_backward_matches_finite_differences() {
    let mut rng = SplitMix64(4);
    for (size, alpha, beta, k) in [
        (5, 1e-4, 0.75, 2.0),
        (4, 0.5, 0.6, 1.0),
        (3, 0.3, 0.75, 1.5),
    ] {
        let p = LrnParams {
            batch: 2,
            channels: 7,
            h: 2,
            w: 3,
            size,
            alpha,
            beta,
            k,
            act: Act::None,
        };
        // Large activations, so the normalisation term is far from negligible.
        let x: Vec<f64> = rand(&mut rng, p.shape().numel())
            .iter()
            .map(|v| v * 20.0)
            .collect();
        let r = rand(&mut rng, x.len());
        check(
            &format!("lrn(size {size}) dx"),
            &x,
            &lrn::backward_input(&p, &x, &r),
            |x| dot(&r, &lrn::forward(&p, x)),
        );
    }
}

#[test]
fn activation_backward_passes_match_finite_differences() {
    let mut rng = SplitMix64(5);
    // Keep relu inputs away from the kink at 0.
    let x: Vec<f64> = rand(&mut rng, 50)
        .iter()
        .map(|&v| if v.abs() < 0.01 { 0.5 } else { v * 2.0 })
        .collect();
    let r = rand(&mut rng, 50);
    check(
        "relu dx",
        &x,
        &activation::relu_backward_input(&x, &r),
        |x| dot(&r, &activation::relu_forward(x)),
    );
    let y = activation::tanh_forward(&x);
    check(
        "tanh dx",
        &x,
        &activation::tanh_backward_input(&y, &r),
        |x| dot(&r, &activation::tanh_forward(x)),
    );
}

#[test]
fn dropout_backward_matches_finite_differences() {
    let mut rng = SplitMix64(6);
    let p = DropoutParams {
        len: 64,
        p: 0.4,
        seed: 9,
        step: 3,
    };
    let x = rand(&mut rng, 64);
    let r = rand(&mut rng, 64);
    check("dropout dx", &x, &dropout::backward_input(&p, &r), |x| {
        dot(&r, &dropout::forward(&p, x))
    });
}

#[test]
fn softmax_cross_entropy_backward_matches_finite_differences() {
    let mut rng = SplitMix64(7);
    let p = SoftmaxCrossEntropyParams::mean(4, 6);
    let logits: Vec<f64> = rand(&mut rng, 24).iter().map(|v| v * 5.0).collect();
    let labels = [0u32, 5, 2, 2];
    let mean = |l: &[f64]| {
        softmax_cross_entropy::forward(&p, l, &labels)
            .iter()
            .sum::<f64>()
            / 4.0
    };
    check(
        "softmax_cross_entropy dlogits",
        &logits,
        &softmax_cross_entropy::backward_input(&p, &logits, &labels),
        mean,
    );
}

#[test]
fn pixel_cross_entropy_backward_matches_finite_differences() {
    let mut rng = SplitMix64(9);
    // Two images of 3x2 pixels, four classes; two pixels ignored.
    let p = PixelCrossEntropyParams::new(2, 4, 6);
    let logits: Vec<f64> = rand(&mut rng, 48).iter().map(|v| v * 5.0).collect();
    let ignore = cnngpu::ops::pixel_loss::IGNORE_LABEL;
    let labels = [0u32, 3, ignore, 1, 2, 2, 3, ignore, 0, 1, 1, 2];
    let counted = 10;
    let mean = |l: &[f64]| pixel_loss::forward(&p, l, &labels).iter().sum::<f64>() / counted as f64;
    let d = pixel_loss::backward_input(&p, &logits, &labels, counted);
    check("pixel_cross_entropy dlogits", &logits, &d, mean);
}

#[test]
fn batch_norm_backward_matches_finite_differences() {
    let mut rng = SplitMix64(8);
    // Odd sizes; a 1x1 map (statistics over the batch alone) too.
    for p in [
        BatchNormParams::new(3, 4, 3, 5),
        BatchNormParams::new(5, 3, 1, 1),
    ] {
        let n = p.shape().numel();
        let x: Vec<f64> = rand(&mut rng, n).iter().map(|v| 2.0 * v + 0.3).collect();
        let w = rand(&mut rng, p.channels);
        let bias = rand(&mut rng, p.channels);
        let r = rand(&mut rng, n);
        let forward = |x: &[f64], w: &[f64], bias: &[f64]| {
            let (mean, var) = batch_norm::statistics(&p, x);
            batch_norm::normalise(&p, x, &mean, &var, w, bias)
        };
        let (dx, dw, db) = batch_norm::backward(&p, &x, &r, &w);
        check("batch_norm dx", &x, &dx, |x| {
            dot(&r, &forward(x, &w, &bias))
        });
        check("batch_norm dweight", &w, &dw, |w| {
            dot(&r, &forward(&x, w, &bias))
        });
        check("batch_norm dbias", &bias, &db, |b| {
            dot(&r, &forward(&x, &w, b))
        });
    }
}

#[test]
fn batch_norm_running_estimates_follow_pytorch() {
    // One training batch from running (0, 1): mean m, unbiased variance v * n / (n - 1);
    // momentum 0.1 as f32, hence the tolerance.
    let p = BatchNormParams::new(2, 1, 1, 2);
    let x = [1.0f64, 2.0, 3.0, 6.0];
    let (mean, var) = batch_norm::statistics(&p, &x);
    assert_eq!((mean[0], var[0]), (3.0, 3.5));
    let (mut rm, mut rv) = ([0.0f64], [1.0f64]);
    batch_norm::update_running(&p, &mean, &var, &mut rm, &mut rv);
    assert!((rm[0] - 0.3).abs() < 1e-7, "{}", rm[0]);
    assert!(
        (rv[0] - (0.9 + 0.1 * 3.5 * 4.0 / 3.0)).abs() < 1e-7,
        "{}",
        rv[0]
    );
}
