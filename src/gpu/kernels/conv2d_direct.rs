//! The direct conv2d forward and weight gradient (shaders/conv2d_forward_direct.wgsl,
//! conv2d_backward_weight_direct.wgsl): for convolutions with few output channels and short
//! kernel rows, where the subgroup family's operand packing costs more than its GEMM (LeNet-5's
//! conv1: packing the 25-tap columns of 50,000 pixels took 5x the GEMM). The geometry is
//! pipeline constants, so the kernels have no runtime index division. Their operands (x and
//! w, or dy and x) are copied into textures first (texture_pack): each is loaded several
//! times, and on Mesa 22.3 lavapipe a texel load costs a fifth of a storage load.

use super::conv2d::{encode_reduce, image_bytes};
use super::{conv2d_sg, texture_pack};
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::gemm_sg::{direct_tile, direct_wgrad_tile};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::Conv2dParams;
use std::sync::Arc;

/// Output pixels per invocation (`PX` in the shader).
const PX: usize = 4;

/// The longest reduction (taps per output: Cin * KH * KW; Cout * KH * KW for the input
/// gradient) the direct kernel takes: measured on lavapipe, LeNet-5's conv2 (150 taps forward,
/// 400 for its input gradient) runs faster direct than packed for the GEMM.
const MAX_TAPS: usize = 400;

/// Whether the direct forward kernel runs `p`: one group, at most 16 output channels (its
/// accumulators), input row segments of at most 16 values (`MAX_COUT`, `MAX_ROW` in the
/// shader) and at most [`MAX_TAPS`] taps per output.
pub fn eligible(p: &Conv2dParams) -> bool {
    p.groups == 1
        && p.out_channels <= 16
        && (PX - 1) * p.stride + p.kernel_w <= 16
        && p.in_channels * p.kernel_h * p.kernel_w <= MAX_TAPS
}

/// Whether the direct kernel runs the input gradient of `p` (the forward convolution of dy
/// with the flipped weights): stride 1, one group, a square kernel, padding below its size,
/// at most 16 input channels (the flipped convolution's outputs) and [`MAX_TAPS`] taps.
pub fn eligible_backward_input(p: &Conv2dParams) -> bool {
    p.groups == 1
        && p.stride == 1
        && p.kernel_h == p.kernel_w
        && p.padding < p.kernel_h
        && p.in_channels <= 16
        && PX - 1 + p.kernel_w <= 16
        && p.out_channels * p.kernel_h * p.kernel_w <= MAX_TAPS
}

/// Whether the direct weight gradient runs `p`: as [`eligible`], with output rows of whole
/// vec4s, a short reduction (at most 32 taps: LeNet-5's conv1) and at most 64 sums per
/// invocation (`MAX_ACC`: Cout * Cin * KW).
pub fn eligible_backward_weight(p: &Conv2dParams) -> bool {
    eligible(p)
        && p.out_w().is_multiple_of(PX)
        && p.in_channels * p.kernel_h * p.kernel_w <= 32
        && p.out_channels * p.in_channels * p.kernel_w <= 64
}

/// Slices of output rows the weight gradient is split into (its split-k): enough invocations
/// (slices x KH, or slices with every tap in one) for every core, few enough that the
/// reduction stays short. LeNet-5's conv1 at batch 64 on Mesa 22.3 lavapipe (2-core Zen 4,
/// paired in-process A/B, 10 pairs of 20 steps): a step 0.15 ms shorter with 128 slices than
/// with 256 (0.11-0.16 with 64, 0.10 with 32).
const MAX_SLICES: usize = 128;

/// The most weights conv2d_backward_weight_direct_taps takes (its sums are scalars an
/// invocation holds): LeNet-5's conv1 has 150.
const MAX_SUMS: usize = 160;

/// Whether the weight gradient runs with every tap in one invocation
/// (conv2d_backward_weight_direct_taps): dy read once from its buffer instead of once per
/// kernel row from a texture copy (on Mesa 22.3 lavapipe a texture copy costs a storage
/// load and a texel store, about 2.5x what the load alone costs: examples/kernel_lab.rs on
/// the 2-core Zen 4). LeNet-5's conv1 at batch 64 (`examples/lab_item.rs`, three alternating
/// rounds): 2.31-2.43 ms a kernel row an invocation, 1.19-1.27 with every tap in one.
pub fn all_taps(p: &Conv2dParams) -> bool {
    p.out_channels * p.in_channels * p.kernel_h * p.kernel_w <= MAX_SUMS
}

/// The geometry of the convolution the kernels run: `p`'s, or with `flip` its input
/// gradient's (see conv2d_forward_direct): (Cin, H, W, Cout, OH, OW, padding).
fn geometry(p: &Conv2dParams, flip: bool) -> [usize; 7] {
    let (oh, ow) = (p.out_h(), p.out_w());
    if flip {
        let pad = p.kernel_h - 1 - p.padding;
        [p.out_channels, oh, ow, p.in_channels, p.in_h, p.in_w, pad]
    } else {
        [
            p.in_channels,
            p.in_h,
            p.in_w,
            p.out_channels,
            oh,
            ow,
            p.padding,
        ]
    }
}

/// Whether input rows load as whole vec4s (`ALIGNED`): every row segment starts at a
/// multiple of 4; else whether they load as the vec4s that cover them (`VEC4_ROWS`: stride 1,
/// images of whole vec4s).
fn row_loads(p: &Conv2dParams, flip: bool) -> (bool, bool) {
    let [cin, h, w, _, _, _, pad] = geometry(p, flip);
    let aligned = p.stride == 1 && w.is_multiple_of(4) && pad.is_multiple_of(4);
    let vec4_rows = p.stride == 1 && !aligned && (cin * h * w).is_multiple_of(4);
    (aligned, vec4_rows)
}

/// The geometry as the kernels' pipeline constants.
fn constants(p: &Conv2dParams, flip: bool) -> [(&'static str, u32); 13] {
    let [cin, h, w, cout, oh, ow, pad] = geometry(p, flip).map(|v| v as u32);
    let (aligned, vec4_rows) = row_loads(p, flip);
    [
        ("CIN", cin),
        ("COUT", cout),
        ("KH", p.kernel_h as u32),
        ("KW", p.kernel_w as u32),
        ("STRIDE", p.stride as u32),
        ("PAD", pad),
        ("IN_H", h),
        ("IN_W", w),
        ("OUT_H", oh),
        ("OUT_W", ow),
        ("ALIGNED", aligned as u32),
        ("VEC4_ROWS", vec4_rows as u32),
        ("FLIP", flip as u32),
    ]
}

/// conv2d_direct_weights' uniform: the texels it writes.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct WeightsUniform {
    texels: u32,
    _pad: [u32; 3],
}

/// Records the copy of `w` into a scratch texture in the order conv2d_forward_direct reads it
/// (conv2d_direct_weights: per (ci, kh) of the convolution run, its COUT * KW weights four to a
/// texel).
fn pack_weights(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    flip: bool,
    constants: &[(&'static str, u32)],
    w: &GpuTensor,
) -> Result<Arc<wgpu::TextureView>> {
    let [cin, _, _, cout, _, _, _] = geometry(p, flip);
    let texels = cin * p.kernel_h * (cout * p.kernel_w).div_ceil(4);
    let dst = b.scratch_texture(Scratch::PackB, texels)?;
    let used: Vec<_> = constants
        .iter()
        .copied()
        .filter(|(name, _)| ["CIN", "COUT", "KH", "KW", "FLIP"].contains(name))
        .collect();
    let u = WeightsUniform {
        texels: texels as u32,
        _pad: [0; 3],
    };
    b.dispatch_with(
        "conv2d_direct_weights",
        storage,
        &used,
        &u,
        &[View::whole(w), View::Texture(&dst)],
        super::flat_workgroups(texels),
    )?;
    Ok(dst)
}

/// Records conv2d_forward_direct over the images of `p` (`flip`: its input gradient).
fn launch(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    flip: bool,
    (x, w, bias, y): (&GpuTensor, &GpuTensor, Option<&GpuTensor>, &GpuTensor),
) -> Result<()> {
    let sg = conv2d_sg::subgroup_size(b)?;
    let [_, _, _, cout, oh, ow, _] = geometry(p, flip);
    let tile = direct_tile(sg, cout, p.kernel_w);
    let constants = constants(p, flip);
    let (pb, qb) = image_bytes(p, x);
    // (bytes of one image of x, of y) of the convolution run.
    let (xb, yb) = if flip { (qb, pb) } else { (pb, qb) };
    let pass = if flip {
        "conv2d_backward_input"
    } else {
        "conv2d_forward"
    };
    let elem = x.dtype.size() as u64;
    let wt = pack_weights(b, storage, p, flip, &constants, w)?;
    for c in texture_pack::chunks(b, pass, p.batch, &[xb, yb], elem)? {
        let x_len = c.count * (xb / elem) as usize;
        let xt = texture_pack::pack(b, storage, View::items(x, c, xb), x_len, Scratch::PackA)?;
        let views = [
            View::Texture(&xt),
            View::Texture(&wt),
            bias.map_or(b.dummy(), View::whole),
            View::items(y, c, yb),
        ];
        let mut u = p.uniform(c.count, false);
        u.has_bias = bias.is_some() as u32;
        let invocations = c.count * oh * ow.div_ceil(PX);
        b.dispatch_sg(
            "conv2d_forward_direct",
            storage,
            (tile, &constants),
            &u,
            &views,
            invocations.div_ceil(sg as usize) as u64,
        )?;
    }
    Ok(())
}

pub fn encode_forward(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    launch(b, storage, p, false, (x, w, bias, y))
}

/// The input gradient of a stride-1 convolution: conv2d_forward_direct with FLIP.
pub fn encode_backward_input(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let p = Conv2dParams {
        act: crate::ops::Act::None,
        ..*p
    };
    launch(b, storage, &p, true, (dy, w, None, dx))
}

/// The weight gradient, and with `db` (only where [`all_taps`]) the bias gradient from the
/// same reads of dy (conv2d_backward_weight_direct_taps with BIAS): LeNet-5's conv1 at batch
/// 64 then needs no conv2d_backward_bias, two launches that read dy again.
pub fn encode_backward_weight(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    (dy, x): (&GpuTensor, &GpuTensor),
    dw: &GpuTensor,
    db: Option<&GpuTensor>,
) -> Result<()> {
    let (xb, yb) = image_bytes(p, x);
    let constants = constants(p, false);
    let len = p.out_channels * p.in_channels * p.kernel_h * p.kernel_w;
    debug_assert!(
        db.is_none() || all_taps(p),
        "bias sums need every tap in one invocation"
    );
    let bias = db.map_or(0, |_| p.out_channels);
    debug_assert!(
        db.is_none_or(|t| t.shape.numel() == bias),
        "db holds Cout values"
    );
    let elem = x.dtype.size() as u64;
    for c in texture_pack::chunks(b, "conv2d_backward_weight", p.batch, &[xb, yb], elem)? {
        let slices = (c.count * p.out_h()).min(MAX_SLICES);
        let x_len = c.count * (xb / elem) as usize;
        let xt = texture_pack::pack(b, storage, View::items(x, c, xb), x_len, Scratch::PackB)?;
        let partial = b.scratch(Scratch::Partial, (slices * (len + bias) * 4) as u64);
        let mut u = p.uniform(c.count, c.start > 0);
        u.splits = slices as u32;
        if all_taps(p) {
            let views = [
                View::items(dy, c, yb),
                View::Texture(&xt),
                View::buffer(&partial),
            ];
            let rows = p.in_channels * p.kernel_h;
            let tile = direct_wgrad_tile(rows, p.out_channels, p.kernel_w);
            let mut constants = constants.to_vec();
            constants.push(("BIAS", (bias > 0) as u32));
            b.dispatch_sg(
                "conv2d_backward_weight_direct_taps",
                storage,
                (tile, &constants),
                &u,
                &views,
                slices.div_ceil(16) as u64,
            )?;
        } else {
            let dy_len = c.count * (yb / elem) as usize;
            let dyt =
                texture_pack::pack(b, storage, View::items(dy, c, yb), dy_len, Scratch::PackA)?;
            let views = [
                View::Texture(&dyt),
                View::Texture(&xt),
                View::buffer(&partial),
            ];
            b.dispatch_with(
                "conv2d_backward_weight_direct",
                storage,
                &constants,
                &u,
                &views,
                super::flat_workgroups(slices * p.kernel_h),
            )?;
        }
        let partial = (View::buffer(&partial), slices, len);
        encode_reduce(b, storage, partial, u.accumulate != 0, dw, db)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Act;

    fn conv(
        cin: usize,
        hw: (usize, usize),
        cout: usize,
        k: usize,
        s: usize,
        pad: usize,
    ) -> Conv2dParams {
        Conv2dParams {
            batch: 2,
            in_channels: cin,
            in_h: hw.0,
            in_w: hw.1,
            out_channels: cout,
            kernel_h: k,
            kernel_w: k,
            stride: s,
            padding: pad,
            groups: 1,
            bias: true,
            act: Act::None,
        }
    }

    /// The parity cases that exercise the kernel (src/parity/cases.rs) do reach it, on the
    /// path each is named for.
    #[test]
    fn lenet_conv1_and_the_direct_parity_cases_take_the_direct_kernel() {
        let lenet_conv1 = conv(1, (32, 32), 6, 5, 1, 0);
        let lenet_conv2 = conv(6, (14, 14), 16, 5, 1, 0);
        let rgb_pad1 = conv(3, (9, 12), 8, 3, 1, 1);
        let stride2 = conv(1, (16, 16), 5, 3, 2, 1);
        let aligned_pad4 = conv(1, (6, 8), 4, 5, 1, 4);
        for p in [lenet_conv1, rgb_pad1, stride2, aligned_pad4] {
            assert!(eligible(&p), "{p:?}");
        }
        assert!(eligible(&lenet_conv2) && eligible_backward_input(&lenet_conv2));
        assert!(!eligible_backward_weight(&lenet_conv2));
        for p in [lenet_conv1, stride2, aligned_pad4] {
            assert!(eligible_backward_weight(&p), "{p:?}");
        }
        // 8 channels x 3 inputs x 3 taps a row: 72 sums, over MAX_ACC.
        assert!(!eligible_backward_weight(&rgb_pad1));
        // Every tap in one invocation up to MAX_SUMS weights (LeNet-5's conv1: 150); the
        // parity case conv_direct_wgrad_by_row (200) runs a kernel row an invocation.
        for p in [lenet_conv1, stride2, aligned_pad4] {
            assert!(all_taps(&p), "{p:?}");
        }
        let by_row = conv(1, (12, 12), 8, 5, 1, 2);
        assert!(eligible_backward_weight(&by_row) && !all_taps(&by_row));
        assert_eq!(row_loads(&lenet_conv1, false), (true, false));
        assert_eq!(row_loads(&aligned_pad4, false), (true, false));
        assert_eq!(row_loads(&rgb_pad1, false), (false, true));
        assert_eq!(row_loads(&stride2, false), (false, false));
        // conv2's input gradient: dy rows of 10 in images of 1,600 values.
        assert_eq!(row_loads(&lenet_conv2, true), (false, true));
    }
}
