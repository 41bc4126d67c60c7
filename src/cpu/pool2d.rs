//! CPU reference for max_pool2d and avg_pool2d, generic over f32 and f64.

use crate::ops::{pool2d::adaptive_window, Pool2dParams};
use num_traits::Float;

/// Input rows (or columns) covered by output position `o`, clipped to the image.
fn window(p: &Pool2dParams, o: usize, len: usize) -> std::ops::Range<usize> {
    if let Some(s) = p.adaptive {
        let (lo, hi) = adaptive_window(o, len, s);
        return lo..hi;
    }
    let start = (o * p.stride) as isize - p.padding as isize;
    let lo = start.max(0) as usize;
    let hi = ((start + p.kernel as isize).max(0) as usize).min(len);
    lo..hi
}

/// Max over each window, ties to the first in row-major order, NaN propagating (like PyTorch).
/// Returns y and, per output, the index ih * W + iw of the chosen input.
pub fn max_forward<F: Float>(p: &Pool2dParams, x: &[F]) -> (Vec<F>, Vec<u32>) {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let planes = p.batch * p.channels;
    let mut y = Vec::with_capacity(planes * oh_n * ow_n);
    let mut idx = Vec::with_capacity(y.capacity());
    for plane in 0..planes {
        let base = plane * p.in_h * p.in_w;
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let mut best: Option<(F, usize)> = None;
                for ih in window(p, oh, p.in_h) {
                    for iw in window(p, ow, p.in_w) {
                        let at = ih * p.in_w + iw;
                        let v = x[base + at];
                        let take = match best {
                            None => true,
                            Some((b, _)) => v > b || v.is_nan(),
                        };
                        if take {
                            best = Some((v, at));
                        }
                    }
                }
                let (v, at) = best.expect("validated: every window holds an input");
                y.push(v);
                idx.push(at as u32);
            }
        }
    }
    (y, idx)
}

/// dx gathers dy from every window that chose it.
pub fn max_backward_input<F: Float>(p: &Pool2dParams, dy: &[F], idx: &[u32]) -> Vec<F> {
    let out_plane = p.out_h() * p.out_w();
    let in_plane = p.in_h * p.in_w;
    let mut dx = vec![F::zero(); p.batch * p.channels * in_plane];
    for plane in 0..p.batch * p.channels {
        for o in 0..out_plane {
            let at = plane * in_plane + idx[plane * out_plane + o] as usize;
            dx[at] = dx[at] + dy[plane * out_plane + o];
        }
    }
    dx
}

/// Mean over each window, padding counted as zeros in the divisor kernel^2.
/// The divisor of window (oh, ow): the kernel's area, padding included, or an adaptive
/// window's own size.
fn area<F: Float>(p: &Pool2dParams, oh: usize, ow: usize) -> F {
    let n = match p.adaptive {
        Some(_) => window(p, oh, p.in_h).len() * window(p, ow, p.in_w).len(),
        None => p.kernel * p.kernel,
    };
    F::from(n).unwrap()
}

pub fn avg_forward<F: Float>(p: &Pool2dParams, x: &[F]) -> Vec<F> {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let mut y = Vec::with_capacity(p.batch * p.channels * oh_n * ow_n);
    for plane in 0..p.batch * p.channels {
        let base = plane * p.in_h * p.in_w;
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let mut sum = F::zero();
                for ih in window(p, oh, p.in_h) {
                    for iw in window(p, ow, p.in_w) {
                        sum = sum + x[base + ih * p.in_w + iw];
                    }
                }
                y.push(sum / area(p, oh, ow));
            }
        }
    }
    y
}

/// Each window spreads dy / its divisor over the inputs it covers.
pub fn avg_backward_input<F: Float>(p: &Pool2dParams, dy: &[F]) -> Vec<F> {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let mut dx = vec![F::zero(); p.batch * p.channels * p.in_h * p.in_w];
    for plane in 0..p.batch * p.channels {
        let base = plane * p.in_h * p.in_w;
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let d = dy[(plane * oh_n + oh) * ow_n + ow] / area(p, oh, ow);
                for ih in window(p, oh, p.in_h) {
                    for iw in window(p, ow, p.in_w) {
                        dx[base + ih * p.in_w + iw] = dx[base + ih * p.in_w + iw] + d;
                    }
                }
            }
        }
    }
    dx
}
