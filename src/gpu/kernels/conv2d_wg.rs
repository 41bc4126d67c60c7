//! Launchers of the workgroup family's conv2d passes (see [`super::Family::Workgroup`]): the
//! GEMMs run on the workgroup-memory core (shaders/common/gemm_wg.wgsl), whose tile loader
//! gathers the operands in place (no packed copies). backward_input computes the column
//! gradient (no rejected taps) and finishes with conv2d_col2im; backward_weight splits long
//! reductions over k when its output has too few tiles to fill a GPU ([`splits`]) and adds
//! the partial sums in a fixed order.

use super::conv2d::{encode_reduce, image_bytes};
use super::conv2d_sg::{col2im, subs, SgUniform};
use super::{wg_threads_m, wg_workgroups};
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::Conv2dParams;

/// The tile constant of an M x N GEMM (see [`wg_threads_m`]).
fn tile(m: usize, n: usize) -> [(&'static str, u32); 1] {
    [("WG_TY", wg_threads_m(m, n))]
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
    let (xb, yb) = image_bytes(p, x);
    let cg = p.out_channels / p.groups;
    for c in b.chunks("conv2d_forward", p.batch, &[xb, yb])? {
        let views = [
            View::items(x, c, xb),
            View::whole(w),
            bias.map_or(b.dummy(), View::whole),
            View::items(y, c, yb),
        ];
        let n = c.count * p.out_h() * p.out_w();
        b.dispatch_with(
            "conv2d_forward_wg",
            storage,
            &tile(cg, n),
            &p.uniform(c.count, false),
            &views,
            wg_workgroups(cg, n, p.groups, 1),
        )?;
    }
    Ok(())
}

pub fn encode_backward_input(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let g = p.groups;
    let kc = p.in_channels / g * p.kernel_h * p.kernel_w;
    let pixels = p.out_h() * p.out_w();
    let (xb, yb) = image_bytes(p, dx);
    // Per image: the column gradient, and dx's elements (col2im's f32 index division).
    let per_image = (g * pixels * kc).max(p.in_channels * p.in_h * p.in_w);
    for c in b.chunks("conv2d_backward_input", p.batch, &[xb, yb])? {
        for s in subs("conv2d_backward_input", c, per_image, 0)? {
            let m = s.count * pixels;
            let cols = b.scratch(Scratch::Columns, (g * m * kc * 4) as u64);
            let u = SgUniform {
                conv: p.uniform(s.count, false),
                m: m as u32,
                n: kc as u32,
                first: s.first as u32,
                ..Default::default()
            };
            let views = [View::items(dy, c, yb), View::whole(w), View::buffer(&cols)];
            b.dispatch_with(
                "conv2d_backward_input_wg",
                storage,
                &tile(m, kc),
                &u,
                &views,
                wg_workgroups(m, kc, g, 1),
            )?;
            col2im(
                b,
                storage,
                u,
                s.count * p.in_channels * p.in_h * p.in_w,
                &cols,
                View::items(dx, c, xb),
            )?;
        }
    }
    Ok(())
}

/// How many k slices a workgroup-family GEMM with `tiles` output tiles and a k-long
/// reduction is split into (conv2d's weight gradient; linear forward and backward_input):
/// enough workgroups to give a large GPU (about 128 compute units) two each, slices of at
/// least 256 values of k (16 steps of the core), partial sums (`len` floats a slice) within
/// one binding, at most 64.
pub fn splits(tiles: u64, k: usize, len: usize, max_binding: u64) -> usize {
    let by_work = 256usize.div_ceil(tiles.max(1) as usize);
    let by_length = (k / 256).max(1);
    let by_memory = (max_binding / (len.max(1) * 4) as u64).max(1) as usize;
    by_work.min(by_length).min(by_memory).clamp(1, 64)
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let (xb, yb) = image_bytes(p, x);
    let cg = p.out_channels / p.groups;
    let kc = p.in_channels / p.groups * p.kernel_h * p.kernel_w;
    let len = p.out_channels * kc;
    for c in b.chunks("conv2d_backward_weight", p.batch, &[xb, yb])? {
        let k = c.count * p.out_h() * p.out_w();
        let n = splits(wg_workgroups(cg, kc, p.groups, 1), k, len, b.max_binding());
        let partial = (n > 1).then(|| b.scratch(Scratch::Partial, (n * len * 4) as u64));
        let views = [
            View::items(dy, c, yb),
            View::items(x, c, xb),
            View::whole(dw),
            partial.as_deref().map_or(b.dummy(), View::buffer),
        ];
        let mut u = p.uniform(c.count, c.start > 0);
        u.splits = n as u32;
        b.dispatch_with(
            "conv2d_backward_weight_wg",
            storage,
            &tile(cg, kc),
            &u,
            &views,
            wg_workgroups(cg, kc, p.groups, n),
        )?;
        if let Some(partial) = &partial {
            let (partial, accumulate) = (View::buffer(partial), u.accumulate != 0);
            encode_reduce(b, storage, (partial, n, len), accumulate, dw, None)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reductions_with_few_tiles_are_split() {
        // LeNet-5 conv1 at batch 64: 150 weights (one tile), 50,176-long sums.
        assert_eq!(splits(1, 64 * 28 * 28, 150, 1 << 27), 64);
        // At batch 21 too (16,464-long sums: slices of 272, the last three start past k).
        assert_eq!(splits(1, 21 * 28 * 28, 150, 1 << 27), 64);
        // AlexNet conv3 at batch 2: 384 x 2304 weights, 6 x 36 tiles, 338-long sums.
        assert_eq!(splits(216, 2 * 13 * 13, 384 * 2304, 1 << 27), 1);
        // Short sums are never split, however few the tiles.
        assert_eq!(splits(1, 200, 150, 1 << 27), 1);
        // Partial sums must fit one binding.
        assert_eq!(splits(1, 1 << 20, 1 << 20, 8 << 20), 2);
    }
}
