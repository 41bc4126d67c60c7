//! Launcher of the SGD update over one tensor (a parameter, or the span of an arena's
//! parameters), split into element chunks where it is larger than one binding (AlexNet's f32
//! master weights).

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::SgdParams;

pub fn encode_update(
    b: &GpuBackend,
    p: &SgdParams,
    grad: &GpuTensor,
    w: &GpuTensor,
    velocity: &GpuTensor,
    w_copy: Option<&GpuTensor>,
    scale_state: View<'_>,
) -> Result<()> {
    let mut ts = vec![grad];
    ts.extend(w_copy);
    let storage = b.storage_of("sgd_update", &ts)?;
    b.set_per_step(None, Some(p.lr))?;
    // Weight textures filled before this update are stale after it.
    b.recorder.note_params_written(&b.ctx);
    let e = grad.dtype.size() as u64;
    for c in b.chunks("sgd_update", grad.shape.numel(), &[e, 4, 4])? {
        let views = [
            View::items(grad, c, e),
            View::items(w, c, 4),
            View::items(velocity, c, 4),
            w_copy.map_or(b.dummy(), |t| View::items(t, c, e)),
            scale_state,
        ];
        let u = p.uniform(c.count, w_copy.is_some());
        let quads = c.count.div_ceil(4);
        b.dispatch("sgd_update", storage, &u, &views, flat_workgroups(quads))?;
    }
    Ok(())
}
