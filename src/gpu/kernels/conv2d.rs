//! Launchers of the conv2d passes. Activations are split into batch chunks when a tensor is
//! larger than one storage binding (AlexNet conv1 at batch 128); weights are bound whole.
//! The GEMM-shaped passes go to [`super::conv2d_sg`] when a subgroup family is chosen and
//! to [`super::conv2d_wg`] when the workgroup family is. Both subgroup families run the direct
//! kernels ([`super::conv2d_direct`]) where those apply: the wide family's tiles are for
//! GEMMs, and the wide GEMM ran LeNet-5's conv2 forward at batch 256 in 17.9 ms where the
//! direct kernel took 3.1 (input gradient 10.1 against 5.4; Mesa 22.3, tuning's timings).

use super::{conv2d_direct, conv2d_sg, conv2d_wg, gemm_workgroups, linear, Family, Gemm};
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::backend_check::Fold;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::{Conv2dParams, LinearParams};

/// A convolution whose kernel covers its whole unpadded input has one output pixel (LeNet-5's
/// conv3): it is a linear layer over the flattened images — x [N, Cin*H*W], w [Cout,
/// Cin*KH*KW] and y [N, Cout] are already in linear's layouts — and runs as one, a plain GEMM
/// with no packing or col2im, in the family chosen for the convolution. Where the input does
/// not fit one binding the convolution's own kernels (which split the batch) run instead.
fn as_linear(b: &GpuBackend, p: &Conv2dParams, x: &GpuTensor) -> Option<LinearParams> {
    let whole = p.groups == 1 && p.padding == 0 && p.kernel_h == p.in_h && p.kernel_w == p.in_w;
    (whole && x.bytes() <= b.max_binding()).then_some(LinearParams {
        batch: p.batch,
        in_features: p.in_channels * p.in_h * p.in_w,
        out_features: p.out_channels,
        bias: p.bias,
        act: p.act,
    })
}

/// Runs `f` (a linear launch standing for pass `kernel` of conv `p`) in the convolution's
/// family.
fn as_conv<R>(
    b: &GpuBackend,
    kernel: &'static str,
    p: &Conv2dParams,
    storage: crate::gpu::Storage,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    b.with_family(b.family_for(kernel, Gemm::Conv2d(*p), storage), f)
}

/// Bytes of one image of x and of y.
pub(super) fn image_bytes(p: &Conv2dParams, t: &GpuTensor) -> (u64, u64) {
    let e = t.dtype.size() as u64;
    (
        (p.in_channels * p.in_h * p.in_w) as u64 * e,
        (p.out_channels * p.out_h() * p.out_w()) as u64 * e,
    )
}

pub fn encode_forward(
    b: &GpuBackend,
    p: &Conv2dParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    let mut ts = vec![x, w, y];
    ts.extend(bias);
    let storage = b.storage_of("conv2d_forward", &ts)?;
    b.fits("conv2d weight", w)?;
    if let Some(lp) = as_linear(b, p, x) {
        return as_conv(b, "conv2d_forward", p, storage, || {
            linear::encode_forward(b, &lp, x, w, bias, y)
        });
    }
    let gemm = Gemm::Conv2d(*p);
    match gemm.runs(b.family_for("conv2d_forward", gemm, storage)) {
        Family::Subgroup | Family::SubgroupWide if conv2d_direct::eligible(p) => {
            return conv2d_direct::encode_forward(b, storage, p, x, w, bias, y)
        }
        f @ (Family::Subgroup | Family::SubgroupWide) => {
            return conv2d_sg::encode_forward(b, (f, storage), p, x, w, bias, y)
        }
        Family::Workgroup => return conv2d_wg::encode_forward(b, storage, p, x, w, bias, y),
        Family::Tiled => {}
    }
    let (xb, yb) = image_bytes(p, x);
    for c in b.chunks("conv2d_forward", p.batch, &[xb, yb])? {
        let views = [
            View::items(x, c, xb),
            View::whole(w),
            bias.map_or(b.dummy(), View::whole),
            View::items(y, c, yb),
        ];
        let wg = gemm_workgroups(
            p.out_channels / p.groups,
            c.count * p.out_h() * p.out_w(),
            p.groups,
        );
        b.dispatch(
            "conv2d_forward",
            storage,
            &p.uniform(c.count, false),
            &views,
            wg,
        )?;
    }
    Ok(())
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &Conv2dParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("conv2d_backward_input", &[dy, w, dx])?;
    b.fits("conv2d weight", w)?;
    if let Some(lp) = as_linear(b, p, dx) {
        return as_conv(b, "conv2d_backward_input", p, storage, || {
            linear::encode_backward_input(b, &lp, dy, w, dx)
        });
    }
    let gemm = Gemm::Conv2d(*p);
    match gemm.runs(b.family_for("conv2d_backward_input", gemm, storage)) {
        Family::Subgroup | Family::SubgroupWide if conv2d_direct::eligible_backward_input(p) => {
            return conv2d_direct::encode_backward_input(b, storage, p, dy, w, dx)
        }
        f @ (Family::Subgroup | Family::SubgroupWide) => {
            return conv2d_sg::encode_backward_input(b, (f, storage), p, dy, w, dx)
        }
        Family::Workgroup => return conv2d_wg::encode_backward_input(b, storage, p, dy, w, dx),
        Family::Tiled => {}
    }
    let (xb, yb) = image_bytes(p, dx);
    for c in b.chunks("conv2d_backward_input", p.batch, &[xb, yb])? {
        let views = [
            View::items(dy, c, yb),
            View::whole(w),
            View::items(dx, c, xb),
        ];
        let wg = gemm_workgroups(
            p.in_channels / p.groups,
            c.count * p.in_h * p.in_w,
            p.groups,
        );
        b.dispatch(
            "conv2d_backward_input",
            storage,
            &p.uniform(c.count, false),
            &views,
            wg,
        )?;
    }
    Ok(())
}

/// How many k slices to split a weight gradient into: enough workgroups to fill a device
/// (about 128), slices of at least 512 values of k, partials within one binding.
pub fn weight_gradient_splits(p: &Conv2dParams, k: usize, max_binding: u64) -> usize {
    let cout_g = p.out_channels / p.groups;
    let kdim = p.in_channels / p.groups * p.kernel_h * p.kernel_w;
    let tiles = gemm_workgroups(cout_g, kdim, p.groups) as usize;
    let by_work = 128usize.div_ceil(tiles);
    let by_length = (k / 512).max(1);
    let by_memory = (max_binding / (p.out_channels * kdim * 4) as u64).max(1) as usize;
    by_work.min(by_length).min(by_memory).clamp(1, 64)
}

/// Mirror of `ReduceUniform` in shaders/conv2d_backward_weight_reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceUniform {
    len: u32,
    splits: u32,
    accumulate: u32,
    bias: u32,
}

/// Records conv2d_backward_weight_reduce: dw's `len` values (+)= the sum of the `splits`
/// slices of `partial` in order, and db (+)= the bias sums after the weights' in each slice
/// where given.
pub(super) fn encode_reduce(
    b: &GpuBackend,
    storage: crate::gpu::Storage,
    (partial, splits, len): (View<'_>, usize, usize),
    accumulate: bool,
    dw: &GpuTensor,
    db: Option<&GpuTensor>,
) -> Result<()> {
    let bias = db.map_or(0, |t| t.shape.numel());
    let r = ReduceUniform {
        len: len as u32,
        splits: splits as u32,
        accumulate: accumulate as u32,
        bias: bias as u32,
    };
    let views = [partial, View::whole(dw), db.map_or(b.dummy(), View::whole)];
    let wg = super::flat_workgroups(len + bias);
    b.dispatch("conv2d_backward_weight_reduce", storage, &r, &views, wg)
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    p: &Conv2dParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("conv2d_backward_weight", &[dy, x, dw])?;
    b.fits("conv2d weight gradient", dw)?;
    if let Some(lp) = as_linear(b, p, x) {
        return as_conv(b, "conv2d_backward_weight", p, storage, || {
            linear::encode_backward_weight(b, &lp, dy, x, dw)
        });
    }
    let gemm = Gemm::Conv2d(*p);
    match gemm.runs(b.family_for("conv2d_backward_weight", gemm, storage)) {
        Family::Subgroup | Family::SubgroupWide if conv2d_direct::eligible_backward_weight(p) => {
            return conv2d_direct::encode_backward_weight(b, storage, p, (dy, x), dw, None)
        }
        f @ (Family::Subgroup | Family::SubgroupWide) => {
            return conv2d_sg::encode_backward_weight(b, (f, storage), p, dy, x, dw)
        }
        Family::Workgroup => return conv2d_wg::encode_backward_weight(b, storage, p, dy, x, dw),
        Family::Tiled => {}
    }
    let (xb, yb) = image_bytes(p, x);
    let kdim = p.in_channels / p.groups * p.kernel_h * p.kernel_w;
    let len = p.out_channels * kdim;
    for c in b.chunks("conv2d_backward_weight", p.batch, &[xb, yb])? {
        let splits = weight_gradient_splits(p, c.count * p.out_h() * p.out_w(), b.max_binding());
        let scratch = (splits > 1).then(|| b.scratch(Scratch::Partial, (splits * len * 4) as u64));
        let partial = scratch.as_deref().map_or(b.dummy(), View::buffer);
        let views = [
            View::items(dy, c, yb),
            View::items(x, c, xb),
            View::whole(dw),
            partial,
        ];
        let wg = gemm_workgroups(p.out_channels / p.groups, kdim, p.groups) * splits as u64;
        let mut u = p.uniform(c.count, c.start > 0);
        u.splits = splits as u32;
        b.dispatch("conv2d_backward_weight", storage, &u, &views, wg)?;
        if let Some(s) = &scratch {
            let accumulate = u.accumulate != 0;
            encode_reduce(
                b,
                storage,
                (View::buffer(s), splits, len),
                accumulate,
                dw,
                None,
            )?;
        }
    }
    Ok(())
}

/// The channel-sum uniform shared with linear_backward_bias.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ChannelSumUniform {
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
    pub accumulate: u32,
}

/// The weight and bias gradients from one read of dy where the weight gradient's kernels sum
/// the bias too (the subgroup family's direct kernel with every tap in one invocation:
/// LeNet-5's conv1; a conv run as a linear layer whose packing sums it: conv3), with `fold`
/// (the linear path only) running the fused activation's backward as well; false, recording
/// nothing, elsewhere.
pub fn encode_backward_weight_bias(
    b: &GpuBackend,
    p: &Conv2dParams,
    (dy, x): (&GpuTensor, &GpuTensor),
    (dw, db): (&GpuTensor, &GpuTensor),
    fold: Option<Fold<'_>>,
) -> Result<bool> {
    let storage = b.storage_of("conv2d_backward_weight", &[dy, x, dw, db])?;
    if let Some(lp) = as_linear(b, p, x) {
        return as_conv(b, "conv2d_backward_weight", p, storage, || {
            linear::encode_backward_weight_bias(b, &lp, (dy, x), (dw, db), fold)
        });
    }
    let direct = conv2d_direct::eligible_backward_weight(p) && conv2d_direct::all_taps(p);
    if !direct || fold.is_some() {
        return Ok(false);
    }
    let gemm = Gemm::Conv2d(*p);
    let family = gemm.runs(b.family_for("conv2d_backward_weight", gemm, storage));
    if !matches!(family, Family::Subgroup | Family::SubgroupWide) {
        return Ok(false);
    }
    b.fits("conv2d weight gradient", dw)?;
    conv2d_direct::encode_backward_weight(b, storage, p, (dy, x), dw, Some(db))?;
    Ok(true)
}

pub fn encode_backward_bias(
    b: &GpuBackend,
    p: &Conv2dParams,
    dy: &GpuTensor,
    db: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("conv2d_backward_bias", &[dy, db])?;
    let pixels = p.out_h() * p.out_w();
    let yb = (p.out_channels * pixels * dy.dtype.size()) as u64;
    let subgroup = b
        .family_for("conv2d_backward_bias", Gemm::Conv2d(*p), storage)
        .needs_subgroups();
    for c in b.chunks("conv2d_backward_bias", p.batch, &[yb])? {
        let u = ChannelSumUniform {
            batch: c.count as u32,
            channels: p.out_channels as u32,
            pixels: pixels as u32,
            accumulate: (c.start > 0) as u32,
        };
        let dy_chunk = View::items(dy, c, yb);
        if subgroup && pixels == 1 {
            // dy [N, C, 1, 1] is a linear layer's [N, C].
            b.dispatch(
                "linear_backward_bias_sg",
                storage,
                &u,
                &[dy_chunk, View::whole(db)],
                super::flat_workgroups(p.out_channels),
            )?;
            continue;
        }
        // The sg kernel binds dy as whole vec4s: an image's planes must be (its scalar path
        // sums planes that are not, such as AlexNet's 55 x 55).
        if subgroup && (p.out_channels * pixels).is_multiple_of(4) {
            let planes = c.count * p.out_channels;
            let sums = b.scratch(Scratch::PlaneSums, (planes * 4) as u64);
            for (mode, n) in [(0, planes), (1, p.out_channels)] {
                let views = [dy_chunk, View::buffer(&sums), View::whole(db)];
                b.dispatch_with(
                    "conv2d_backward_bias_sg",
                    storage,
                    &[("MODE", mode)],
                    &u,
                    &views,
                    super::flat_workgroups(n),
                )?;
            }
            continue;
        }
        let views = [dy_chunk, View::whole(db)];
        b.dispatch(
            "conv2d_backward_bias",
            storage,
            &u,
            &views,
            p.out_channels as u64,
        )?;
    }
    Ok(())
}
