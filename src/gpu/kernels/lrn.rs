//! Launchers of the lrn passes, split into batch chunks when a tensor exceeds one binding.
//! Each invocation walks one pixel's channels with the window in registers (see
//! shaders/lrn_forward.wgsl): on Mesa 22.3 lavapipe, where every storage access runs lane by
//! lane, AlexNet's lrn1 at batch 16 took 135 ms forward and 401 backward when each element
//! loaded its whole window (and the input gradient's terms went through a scratch tensor).

use super::flat_workgroups;
use crate::error::{Error, Result};
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::LrnParams;

/// The widest window the kernels hold (`MAX_SIZE` in shaders/common/lrn_params.wgsl).
pub const MAX_SIZE: usize = 16;

/// The geometry as the kernels' pipeline constants (shaders/common/lrn_params.wgsl).
fn constants(p: &LrnParams) -> Result<[(&'static str, u32); 3]> {
    if p.size > MAX_SIZE {
        return Err(Error::Limit {
            what: "lrn window (channels) on the GPU".into(),
            needed: p.size as u64,
            limit: MAX_SIZE as u64,
        });
    }
    Ok([
        ("CHANNELS", p.channels as u32),
        ("PIXELS", (p.h * p.w) as u32),
        ("SIZE", p.size as u32),
    ])
}

fn image_bytes(p: &LrnParams, t: &GpuTensor) -> u64 {
    (p.channels * p.h * p.w * t.dtype.size()) as u64
}

pub fn encode_forward(b: &GpuBackend, p: &LrnParams, x: &GpuTensor, y: &GpuTensor) -> Result<()> {
    let storage = b.storage_of("lrn_forward", &[x, y])?;
    let k = constants(p)?;
    let ib = image_bytes(p, x);
    for c in b.chunks("lrn_forward", p.batch, &[ib])? {
        let views = [View::items(x, c, ib), View::items(y, c, ib)];
        let wg = flat_workgroups(c.count * p.h * p.w);
        let u = p.uniform(c.count);
        b.dispatch_with("lrn_forward", storage, &k, &u, &views, wg)?;
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
    // With the folded activation (ACT, shaders/common/act_derivative.wgsl).
    let [channels, pixels, size] = constants(p)?;
    let k = [channels, pixels, size, ("ACT", p.act.code())];
    let ib = image_bytes(p, x);
    for c in b.chunks("lrn_backward_input", p.batch, &[ib])? {
        let views = [
            View::items(x, c, ib),
            View::items(dy, c, ib),
            View::items(dx, c, ib),
        ];
        let wg = flat_workgroups(c.count * p.h * p.w);
        let u = p.uniform(c.count);
        b.dispatch_with("lrn_backward_input", storage, &k, &u, &views, wg)?;
    }
    Ok(())
}
