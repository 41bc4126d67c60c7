//! Launchers of the workgroup family's linear passes (see [`super::Family::Workgroup`]): the
//! three GEMMs on the workgroup-memory core (shaders/common/gemm_wg.wgsl), reading x, w and
//! dy in place. Weights larger than one binding go in chunks of rows as in the tiled family
//! (backward_input accumulates the chunks in a fixed order).

use super::{wg_threads_m, wg_workgroups};
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::LinearParams;

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
        launch(
            b,
            "linear_forward_wg",
            storage,
            (p.batch, c.count),
            &u,
            &views,
        )?;
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
        let mn = (p.batch, p.in_features);
        launch(b, "linear_backward_input_wg", storage, mn, &u, &views)?;
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
