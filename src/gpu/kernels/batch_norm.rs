//! Launchers of the batch_norm2d passes: channel reductions (a power-of-two group of lanes per
//! channel, sized to the values it sums; fixed order) and element-wise normalisation, split into batch chunks when a tensor exceeds one
//! binding (the reductions then accumulate chunk by chunk and finish on the last).

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::BatchNormParams;

/// The geometry as the kernels' pipeline constants (shaders/common/batch_norm_params.wgsl).
fn constants(p: &BatchNormParams) -> [(&'static str, u32); 2] {
    [
        ("CHANNELS", p.channels as u32),
        ("PIXELS", (p.h * p.w) as u32),
    ]
}

/// Lanes per channel of the reductions for `count` values per channel: about 32 values per
/// lane, a power of two from 1 (ResNet's 1x1 maps: no tree, no barrier to wait at) to 64 (the
/// workgroup); the workgroups they need.
fn reduction_shape(p: &BatchNormParams, count: usize) -> Result<(u32, u64)> {
    // A lane's loop must stay within llvmpipe's 65,535 iterations (it stops loops there).
    if count > 64 * 65_535 {
        return Err(crate::error::Error::invalid(
            "batch norm",
            format!(
                "{count} values a channel in one batch ({}x{} maps); at most {} are reduced \
                 correctly on every adapter: use a smaller batch",
                p.h,
                p.w,
                64 * 65_535
            ),
        ));
    }
    let lanes = (count / 32).clamp(1, 64);
    let lanes = 1u32 << (usize::BITS - 1 - lanes.leading_zeros());
    let per_group = (64 / lanes) as usize;
    Ok((lanes, p.channels.div_ceil(per_group) as u64))
}

fn image_bytes(p: &BatchNormParams, t: &GpuTensor) -> u64 {
    (p.channels * p.h * p.w * t.dtype.size()) as u64
}

pub fn encode_forward(
    b: &GpuBackend,
    p: &BatchNormParams,
    x: &GpuTensor,
    (weight, bias): (&GpuTensor, &GpuTensor),
    state: &GpuTensor,
    y: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("batch_norm_forward", &[x, weight, bias, y])?;
    let ib = image_bytes(p, x);
    let chunks = b.chunks("batch_norm_forward", p.batch, &[ib])?;
    if p.train {
        for mode in [0u32, 1] {
            for c in &chunks {
                let mut u = p.uniform(c.count);
                u.accumulate = (c.start > 0) as u32;
                u.finish = (c.start + c.count == c.total) as u32;
                let views = [View::items(x, *c, ib), View::whole(state)];
                let [c0, c1] = constants(p);
                let (lanes, wg) = reduction_shape(p, c.count * p.h * p.w)?;
                let k = [("MODE", mode), ("LANES", lanes), c0, c1];
                b.dispatch_with("batch_norm_stats", storage, &k, &u, &views, wg)?;
            }
        }
    }
    for c in chunks {
        let views = [
            View::items(x, c, ib),
            View::whole(weight),
            View::whole(bias),
            View::whole(state),
            View::items(y, c, ib),
        ];
        let wg = flat_workgroups(c.count * p.channels * p.h * p.w);
        let (u, k) = (p.uniform(c.count), constants(p));
        b.dispatch_with("batch_norm_forward", storage, &k, &u, &views, wg)?;
    }
    Ok(())
}

pub fn encode_backward(
    b: &GpuBackend,
    p: &BatchNormParams,
    (x, dy, weight): (&GpuTensor, &GpuTensor, &GpuTensor),
    state: &GpuTensor,
    (dweight, dbias): (&GpuTensor, &GpuTensor),
    dx: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("batch_norm_backward", &[x, dy, weight, dweight, dbias, dx])?;
    let ib = image_bytes(p, x);
    let chunks = b.chunks("batch_norm_backward", p.batch, &[ib])?;
    for c in &chunks {
        let mut u = p.uniform(c.count);
        u.accumulate = (c.start > 0) as u32;
        u.finish = (c.start + c.count == c.total) as u32;
        let views = [
            View::items(x, *c, ib),
            View::items(dy, *c, ib),
            View::whole(state),
            View::whole(dweight),
            View::whole(dbias),
        ];
        let [c0, c1] = constants(p);
        let (lanes, wg) = reduction_shape(p, c.count * p.h * p.w)?;
        let k = [("LANES", lanes), c0, c1];
        b.dispatch_with("batch_norm_backward_sums", storage, &k, &u, &views, wg)?;
    }
    for c in chunks {
        let views = [
            View::items(x, c, ib),
            View::items(dy, c, ib),
            View::whole(weight),
            View::whole(state),
            View::items(dx, c, ib),
        ];
        let wg = flat_workgroups(c.count * p.channels * p.h * p.w);
        let (u, k) = (p.uniform(c.count), constants(p));
        b.dispatch_with("batch_norm_backward_input", storage, &k, &u, &views, wg)?;
    }
    Ok(())
}
