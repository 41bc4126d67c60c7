//! Launchers of the workgroup family's linear passes (see [`super::Family::Workgroup`]): the
//! three GEMMs on the workgroup-memory core (shaders/common/gemm_wg.wgsl), reading x, w and
//! dy in place. Weights larger than one binding go in chunks of rows as in the tiled family
//! (backward_input accumulates the chunks in a fixed order). At small batches forward and
//! backward_input have few output tiles and a long k (AlexNet's fc6 at batch 32: 32 tiles,
//! k = 9216): they split k as conv2d's weight gradient does ([`super::conv2d_wg::splits`]),
//! and linear_reduce_wg adds the slices in a fixed order.

use super::{wg_threads_m, wg_workgroups};
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::{LinearParams, LinearUniform};

/// Mirror of `LinearWgUniform` in shaders/common/linear_wg_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct WgUniform {
    linear: LinearUniform,
    splits: u32,
    _pad: [u32; 3],
}

/// What linear_reduce_wg finishes (its MODE constant).
#[derive(Clone, Copy)]
enum Reduce {
    Forward = 0,
    BackwardInput = 1,
}

/// Records a GEMM of `kernel` (an M x N output, a k-long reduction) that may split k: the
/// GEMM, with the partial-sum scratch bound after `views`, then, when k is split, the reduce
/// into `out` (adding `bias` in the forward pass).
fn launch_split(
    b: &GpuBackend,
    (kernel, storage): (&'static str, Storage),
    (m, n, k): (usize, usize, usize),
    linear: LinearUniform,
    views: &[View<'_>],
    (mode, bias, out): (Reduce, View<'_>, View<'_>),
) -> Result<()> {
    let tiles = wg_workgroups(m, n, 1, 1);
    let splits = super::conv2d_wg::splits(tiles, k, m * n, b.max_binding());
    let u = WgUniform {
        linear,
        splits: splits as u32,
        _pad: [0; 3],
    };
    // Unsplit, the scratch is bound but never accessed (not the dummy: an absent bias is
    // bound read-only as the dummy, and one buffer cannot be both in a dispatch).
    let floats = if splits > 1 { splits * m * n } else { 1 };
    let partial = b.scratch(Scratch::Partial, (floats * 4) as u64);
    let mut all = views.to_vec();
    all.push(View::buffer(&partial));
    let constants = [("WG_TY", wg_threads_m(m, n))];
    let wg = wg_workgroups(m, n, 1, splits);
    b.dispatch_with(kernel, storage, &constants, &u, &all, wg)?;
    if splits > 1 {
        let views = [View::buffer(&partial), bias, out];
        let constants = [("MODE", mode as u32)];
        let wg = super::flat_workgroups(m * n);
        b.dispatch_with("linear_reduce_wg", storage, &constants, &u, &views, wg)?;
    }
    Ok(())
}

fn row_bytes(p: &LinearParams, w: &GpuTensor) -> u64 {
    (p.in_features * w.dtype.size()) as u64
}

/// Records one GEMM launch of `kernel` for an M x N output.
fn launch<U: bytemuck::Pod>(
    b: &GpuBackend,
    kernel: &'static str,
    storage: Storage,
    (m, n): (usize, usize),
    u: &U,
    views: &[View<'_>],
) -> Result<()> {
    let constants = [("WG_TY", wg_threads_m(m, n))];
    b.dispatch_with(
        kernel,
        storage,
        &constants,
        u,
        views,
        wg_workgroups(m, n, 1, 1),
    )
}

pub fn encode_forward(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    let rb = row_bytes(p, w);
    for c in b.chunks("linear weight", p.out_features, &[rb])? {
        let views = [
            View::whole(x),
            View::items(w, c, rb),
            bias.map_or(b.dummy(), View::whole),
            View::whole(y),
        ];
        let u = p.uniform(c.start, c.count, false);
        let mnk = (p.batch, c.count, p.in_features);
        let bias = bias.map_or(b.dummy(), View::whole);
        let reduce = (Reduce::Forward, bias, View::whole(y));
        launch_split(b, ("linear_forward_wg", storage), mnk, u, &views, reduce)?;
    }
    Ok(())
}

pub fn encode_backward_input(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let rb = row_bytes(p, w);
    for c in b.chunks("linear weight", p.out_features, &[rb])? {
        let views = [View::whole(dy), View::items(w, c, rb), View::whole(dx)];
        let u = p.uniform(c.start, c.count, c.start > 0);
        let mnk = (p.batch, p.in_features, c.count);
        let reduce = (Reduce::BackwardInput, b.dummy(), View::whole(dx));
        let kernel = ("linear_backward_input_wg", storage);
        launch_split(b, kernel, mnk, u, &views, reduce)?;
    }
    Ok(())
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let rb = row_bytes(p, dw);
    for c in b.chunks("linear weight gradient", p.out_features, &[rb])? {
        let views = [View::whole(dy), View::whole(x), View::items(dw, c, rb)];
        let u = p.uniform(c.start, c.count, false);
        let mn = (c.count, p.in_features);
        launch(b, "linear_backward_weight_wg", storage, mn, &u, &views)?;
    }
    Ok(())
}
