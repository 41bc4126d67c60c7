//! Launchers of the lrn passes, split into batch chunks when a tensor exceeds one binding;
//! the input gradient in two launches (the window terms, then their sums).

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::LrnParams;

/// The geometry as the kernels' pipeline constants (shaders/common/lrn_params.wgsl).
fn constants(p: &LrnParams) -> [(&'static str, u32); 3] {
    [
        ("CHANNELS", p.channels as u32),
        ("PIXELS", (p.h * p.w) as u32),
        ("SIZE", p.size as u32),
    ]
}

fn image_bytes(p: &LrnParams, t: &GpuTensor) -> u64 {
    (p.channels * p.h * p.w * t.dtype.size()) as u64
}

pub fn encode_forward(b: &GpuBackend, p: &LrnParams, x: &GpuTensor, y: &GpuTensor) -> Result<()> {
    let storage = b.storage_of("lrn_forward", &[x, y])?;
    let ib = image_bytes(p, x);
    for c in b.chunks("lrn_forward", p.batch, &[ib])? {
        let views = [View::items(x, c, ib), View::items(y, c, ib)];
        let wg = flat_workgroups(c.count * p.channels * p.h * p.w);
        let u = p.uniform(c.count);
        b.dispatch_with("lrn_forward", storage, &constants(p), &u, &views, wg)?;
    }
    Ok(())
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &LrnParams,
    x: &GpuTensor,
    dy: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("lrn_backward_input", &[x, dy, dx])?;
    let ib = image_bytes(p, x);
    let terms_bytes = (p.channels * p.h * p.w * 4) as u64;
    for c in b.chunks("lrn_backward_input", p.batch, &[ib, terms_bytes])? {
        let terms = b.scratch(Scratch::Columns, c.count as u64 * terms_bytes);
        let (x, dy) = (View::items(x, c, ib), View::items(dy, c, ib));
        let wg = flat_workgroups(c.count * p.channels * p.h * p.w);
        let u = p.uniform(c.count);
        let k = constants(p);
        let views = [x, dy, View::buffer(&terms)];
        b.dispatch_with("lrn_backward_terms", storage, &k, &u, &views, wg)?;
        let views = [x, dy, View::buffer(&terms), View::items(dx, c, ib)];
        b.dispatch_with("lrn_backward_input", storage, &k, &u, &views, wg)?;
    }
    Ok(())
}
