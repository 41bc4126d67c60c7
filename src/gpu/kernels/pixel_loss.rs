//! Launchers of the per-pixel loss and the segmentation counters (one invocation per pixel).

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::{PixelCrossEntropyParams, PixelMetricsParams};

pub fn encode_forward(
    b: &GpuBackend,
    p: &PixelCrossEntropyParams,
    logits: &GpuTensor,
    labels: &GpuTensor,
    losses: &GpuTensor,
) -> Result<()> {
    let kernel = "pixel_cross_entropy_forward";
    let storage = b.storage_of(kernel, &[logits])?;
    b.fits("logits", logits)?;
    let views = [
        View::whole(logits),
        View::whole(labels),
        View::whole(losses),
    ];
    let wg = flat_workgroups(p.batch * p.pixels);
    b.dispatch(kernel, storage, &p.uniform(), &views, wg)
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &PixelCrossEntropyParams,
    logits: &GpuTensor,
    labels: &GpuTensor,
    counted: &GpuTensor,
    scale_state: View<'_>,
    dlogits: &GpuTensor,
) -> Result<()> {
    let kernel = "pixel_cross_entropy_backward_input";
    let storage = b.storage_of(kernel, &[logits, dlogits])?;
    b.fits("logits", logits)?;
    let views = [
        View::whole(logits),
        View::whole(labels),
        View::whole(counted),
        View::whole(dlogits),
        scale_state,
    ];
    let wg = flat_workgroups(p.batch * p.pixels);
    b.dispatch(kernel, storage, &p.uniform(), &views, wg)
}

pub fn encode_metrics(
    b: &GpuBackend,
    p: &PixelMetricsParams,
    logits: &GpuTensor,
    labels: &GpuTensor,
    counts: &GpuTensor,
) -> Result<()> {
    let kernel = "pixel_metrics_accumulate";
    let storage = b.storage_of(kernel, &[logits])?;
    b.fits("logits", logits)?;
    let views = [
        View::whole(logits),
        View::whole(labels),
        View::whole(counts),
    ];
    let wg = flat_workgroups(p.batch * p.pixels);
    b.dispatch(kernel, storage, &p.uniform(), &views, wg)
}
