//! Launchers of the loss and metric kernels: softmax cross-entropy and top-k counts.

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::{SoftmaxCrossEntropyParams, TopkParams};

pub fn encode_forward(
    b: &GpuBackend,
    p: &SoftmaxCrossEntropyParams,
    logits: &GpuTensor,
    labels: &GpuTensor,
    losses: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("softmax_cross_entropy_forward", &[logits])?;
    b.fits("logits", logits)?;
    let views = [
        View::whole(logits),
        View::whole(labels),
        View::whole(losses),
    ];
    b.dispatch(
        "softmax_cross_entropy_forward",
        storage,
        &p.uniform(),
        &views,
        flat_workgroups(p.batch),
    )
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &SoftmaxCrossEntropyParams,
    logits: &GpuTensor,
    labels: &GpuTensor,
    scale_state: View<'_>,
    dlogits: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("softmax_cross_entropy_backward_input", &[logits, dlogits])?;
    b.fits("logits", logits)?;
    let views = [
        View::whole(logits),
        View::whole(labels),
        View::whole(dlogits),
        scale_state,
    ];
    b.dispatch(
        "softmax_cross_entropy_backward_input",
        storage,
        &p.uniform(),
        &views,
        flat_workgroups(p.batch),
    )
}

pub fn encode_topk(
    b: &GpuBackend,
    p: &TopkParams,
    logits: &GpuTensor,
    labels: &GpuTensor,
    counts: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("topk_accumulate", &[logits])?;
    b.fits("logits", logits)?;
    let views = [
        View::whole(logits),
        View::whole(labels),
        View::whole(counts),
    ];
    b.dispatch(
        "topk_accumulate",
        storage,
        &p.uniform(),
        &views,
        flat_workgroups(p.batch),
    )
}
