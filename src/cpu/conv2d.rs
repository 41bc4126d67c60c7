//! CPU reference for conv2d: direct loops over NCHW/OIHW, generic over f32 and f64.

use crate::ops::Conv2dParams;
use num_traits::Float;

/// Calls `f(ih, iw)` for the input position under output (oh, ow) and tap (kh, kw), if inside.
#[inline]
fn input_at(
    p: &Conv2dParams,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
) -> Option<(usize, usize)> {
    let ih = (oh * p.stride + kh).checked_sub(p.padding)?;
    let iw = (ow * p.stride + kw).checked_sub(p.padding)?;
    (ih < p.in_h && iw < p.in_w).then_some((ih, iw))
}

/// y[n, co, oh, ow] = b[co] + sum over ci in co's group, kh, kw of x[n, ci, ih, iw] * w[co, ci', kh, kw].
pub fn forward<F: Float>(p: &Conv2dParams, x: &[F], w: &[F], b: Option<&[F]>) -> Vec<F> {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let (cin_g, cout_g) = (p.in_channels / p.groups, p.out_channels / p.groups);
    let mut y = vec![F::zero(); p.output_shape().numel()];
    for n in 0..p.batch {
        for co in 0..p.out_channels {
            let g = co / cout_g;
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let mut acc = b.map_or(F::zero(), |b| b[co]);
                    for ci in 0..cin_g {
                        let c = g * cin_g + ci;
                        for kh in 0..p.kernel_h {
                            for kw in 0..p.kernel_w {
                                if let Some((ih, iw)) = input_at(p, oh, ow, kh, kw) {
                                    let xv =
                                        x[((n * p.in_channels + c) * p.in_h + ih) * p.in_w + iw];
                                    let wv =
                                        w[((co * cin_g + ci) * p.kernel_h + kh) * p.kernel_w + kw];
                                    acc = acc + xv * wv;
                                }
                            }
                        }
                    }
                    y[((n * p.out_channels + co) * oh_n + oh) * ow_n + ow] = acc;
                }
            }
        }
    }
    super::activation::apply(p.act, y)
}

/// dx = the gradient with respect to x: every output scatters dy * w back to its inputs.
pub fn backward_input<F: Float>(p: &Conv2dParams, dy: &[F], w: &[F]) -> Vec<F> {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let (cin_g, cout_g) = (p.in_channels / p.groups, p.out_channels / p.groups);
    let mut dx = vec![F::zero(); p.input_shape().numel()];
    for n in 0..p.batch {
        for co in 0..p.out_channels {
            let g = co / cout_g;
            for oh in 0..oh_n {
                for ow in 0..ow_n {
                    let d = dy[((n * p.out_channels + co) * oh_n + oh) * ow_n + ow];
                    for ci in 0..cin_g {
                        let c = g * cin_g + ci;
                        for kh in 0..p.kernel_h {
                            for kw in 0..p.kernel_w {
                                if let Some((ih, iw)) = input_at(p, oh, ow, kh, kw) {
                                    let wv =
                                        w[((co * cin_g + ci) * p.kernel_h + kh) * p.kernel_w + kw];
                                    let at = ((n * p.in_channels + c) * p.in_h + ih) * p.in_w + iw;
                                    dx[at] = dx[at] + d * wv;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

/// dw[co, ci, kh, kw] = sum over n, oh, ow of dy[n, co, oh, ow] * x[n, c, ih, iw].
pub fn backward_weight<F: Float>(p: &Conv2dParams, dy: &[F], x: &[F]) -> Vec<F> {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let (cin_g, cout_g) = (p.in_channels / p.groups, p.out_channels / p.groups);
    let mut dw = vec![F::zero(); p.weight_shape().numel()];
    for co in 0..p.out_channels {
        let g = co / cout_g;
        for ci in 0..cin_g {
            let c = g * cin_g + ci;
            for kh in 0..p.kernel_h {
                for kw in 0..p.kernel_w {
                    let mut acc = F::zero();
                    for n in 0..p.batch {
                        for oh in 0..oh_n {
                            for ow in 0..ow_n {
                                if let Some((ih, iw)) = input_at(p, oh, ow, kh, kw) {
                                    let d = dy[((n * p.out_channels + co) * oh_n + oh) * ow_n + ow];
                                    let xv =
                                        x[((n * p.in_channels + c) * p.in_h + ih) * p.in_w + iw];
                                    acc = acc + d * xv;
                                }
                            }
                        }
                    }
                    dw[((co * cin_g + ci) * p.kernel_h + kh) * p.kernel_w + kw] = acc;
                }
            }
        }
    }
    dw
}

/// db[co] = sum over n, oh, ow of dy[n, co, oh, ow].
pub fn backward_bias<F: Float>(p: &Conv2dParams, dy: &[F]) -> Vec<F> {
    super::channel_sum(dy, p.batch, p.out_channels, p.out_h() * p.out_w())
}
