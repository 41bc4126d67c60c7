//! CPU reference for conv_transpose2d: direct loops over NCHW inputs and `[Cin, Cout/G, KH, KW]`
//! weights, generic over f32 and f64. Written from PyTorch's definition (every input element
//! scatters its products over the outputs its taps reach), not from conv2d's passes, so that
//! the GPU's reuse of the convolution kernels is checked against an independent computation.

use crate::ops::ConvTranspose2dParams;
use num_traits::Float;

/// The output position input (ih, iw) reaches through tap (kh, kw), if it is not cropped by
/// the padding.
#[inline]
fn output_at(
    p: &ConvTranspose2dParams,
    ih: usize,
    iw: usize,
    kh: usize,
    kw: usize,
) -> Option<(usize, usize)> {
    let oh = (ih * p.stride + kh).checked_sub(p.padding)?;
    let ow = (iw * p.stride + kw).checked_sub(p.padding)?;
    (oh < p.out_h() && ow < p.out_w()).then_some((oh, ow))
}

/// Calls `f(x index, w index, y index)` for every product of the transposed convolution, in
/// a fixed order.
fn for_each_product(p: &ConvTranspose2dParams, mut f: impl FnMut(usize, usize, usize)) {
    let (oh_n, ow_n) = (p.out_h(), p.out_w());
    let (cin_g, cout_g) = (p.in_channels / p.groups, p.out_channels / p.groups);
    for n in 0..p.batch {
        for ci in 0..p.in_channels {
            let g = ci / cin_g;
            for ih in 0..p.in_h {
                for iw in 0..p.in_w {
                    let xi = ((n * p.in_channels + ci) * p.in_h + ih) * p.in_w + iw;
                    for cl in 0..cout_g {
                        let co = g * cout_g + cl;
                        for kh in 0..p.kernel_h {
                            for kw in 0..p.kernel_w {
                                if let Some((oh, ow)) = output_at(p, ih, iw, kh, kw) {
                                    let wi =
                                        ((ci * cout_g + cl) * p.kernel_h + kh) * p.kernel_w + kw;
                                    let yi = ((n * p.out_channels + co) * oh_n + oh) * ow_n + ow;
                                    f(xi, wi, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// y[n, co, ih*s - p + kh, iw*s - p + kw] += x[n, ci, ih, iw] * w[ci, co', kh, kw], plus b[co].
pub fn forward<F: Float>(p: &ConvTranspose2dParams, x: &[F], w: &[F], b: Option<&[F]>) -> Vec<F> {
    let pixels = p.out_h() * p.out_w();
    let mut y: Vec<F> = (0..p.output_shape().numel())
        .map(|i| b.map_or(F::zero(), |b| b[(i / pixels) % p.out_channels]))
        .collect();
    for_each_product(p, |xi, wi, yi| y[yi] = y[yi] + x[xi] * w[wi]);
    y
}

/// dx[n, ci, ih, iw] = sum over the outputs it reached of dy * w.
pub fn backward_input<F: Float>(p: &ConvTranspose2dParams, dy: &[F], w: &[F]) -> Vec<F> {
    let mut dx = vec![F::zero(); p.input_shape().numel()];
    for_each_product(p, |xi, wi, yi| dx[xi] = dx[xi] + dy[yi] * w[wi]);
    dx
}

/// dw[ci, co', kh, kw] = sum over n, ih, iw of x * dy at the output the tap reached.
pub fn backward_weight<F: Float>(p: &ConvTranspose2dParams, dy: &[F], x: &[F]) -> Vec<F> {
    let mut dw = vec![F::zero(); p.weight_shape().numel()];
    for_each_product(p, |xi, wi, yi| dw[wi] = dw[wi] + x[xi] * dy[yi]);
    dw
}

/// db[co] = sum over n, oh, ow of dy[n, co, oh, ow].
pub fn backward_bias<F: Float>(p: &ConvTranspose2dParams, dy: &[F]) -> Vec<F> {
    super::channel_sum(dy, p.batch, p.out_channels, p.out_h() * p.out_w())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ones(k: usize, s: usize, p: usize) -> ConvTranspose2dParams {
        ConvTranspose2dParams {
            batch: 1,
            in_channels: 1,
            in_h: 2,
            in_w: 2,
            out_channels: 1,
            kernel_h: k,
            kernel_w: k,
            stride: s,
            padding: p,
            output_padding: 0,
            groups: 1,
            bias: false,
        }
    }

    #[test]
    fn every_input_spreads_over_its_taps_outputs() {
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let w = [1.0f64; 4];
        // Stride 1: overlapping 2x2 footprints.
        let y = forward(&ones(2, 1, 0), &x, &w, None);
        assert_eq!(y, [1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0]);
        // Padding 1 crops a row and a column on every side.
        assert_eq!(forward(&ones(2, 1, 1), &x, &w, None), [10.0]);
        // Stride 2: each input fills its own 2x2 block (U-Net's up-convolution).
        let y = forward(&ones(2, 2, 0), &x, &w, Some(&[0.5]));
        let want = [
            1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.,
        ];
        let want: Vec<f64> = want.iter().map(|v| v + 0.5).collect();
        assert_eq!(y, want);
    }
}
