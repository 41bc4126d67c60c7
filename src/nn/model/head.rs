//! The loss and metrics at the end of a graph: softmax cross-entropy with top-1/top-5 counts
//! per image, or for a segmentation graph per pixel with the segmentation counters; and the
//! gradients of the auxiliary loss heads (training only, no metrics).

use super::plan::Plan;
use super::Metrics;
use crate::error::Result;
use crate::nn::graph::Graph;
use crate::ops::*;

/// Records the loss of the plan's batch into its losses and adds the metrics to `metrics`.
pub(super) fn forward<B: Backend>(
    b: &B,
    graph: &Graph,
    plan: &mut Plan<B>,
    metrics: &mut Metrics<B>,
) -> Result<()> {
    let (batch, classes) = (plan.batch, graph.classes);
    let logits = plan.outs.last().expect("a graph has layers");
    b.scope("loss", "forward");
    if graph.segmentation() {
        let pixels = graph.label_pixels();
        let p = PixelCrossEntropyParams::new(batch, classes, pixels);
        b.pixel_cross_entropy_forward(&p, logits, &plan.labels, &mut plan.losses)?;
        b.loss_accumulate(&plan.losses, &mut metrics.totals)?;
        let m = PixelMetricsParams {
            batch,
            classes,
            pixels,
        };
        return b.pixel_metrics_accumulate(&m, logits, &plan.labels, &mut metrics.counts);
    }
    b.softmax_cross_entropy_forward(
        &SoftmaxCrossEntropyParams::mean(batch, classes),
        logits,
        &plan.labels,
        &mut plan.losses,
    )?;
    b.loss_accumulate(&plan.losses, &mut metrics.totals)?;
    let ks = vec![1, 5.min(classes)];
    b.topk_accumulate(
        &TopkParams { batch, classes, ks },
        logits,
        &plan.labels,
        &mut metrics.counts,
    )
}

/// Records the gradient of the batch's mean loss (times the loss scale in f16) into the last
/// node's gradient buffer.
pub(super) fn backward<B: Backend>(
    b: &B,
    graph: &Graph,
    plan: &mut Plan<B>,
    scale_state: Option<&B::Tensor>,
) -> Result<()> {
    let (batch, classes) = (plan.batch, graph.classes);
    let n = graph.layers.len();
    let last = plan.grad_slot[n - 1].expect("kept gradients have a buffer");
    b.scope("loss", "backward_input");
    if let Some(counted) = plan.counted.as_ref() {
        let p = PixelCrossEntropyParams::new(batch, classes, graph.label_pixels());
        return b.pixel_cross_entropy_backward_input(
            &p,
            &plan.outs[n - 1],
            &plan.labels,
            counted,
            scale_state,
            &mut plan.grads[last],
        );
    }
    b.softmax_cross_entropy_backward_input(
        &SoftmaxCrossEntropyParams::mean(batch, classes),
        &plan.outs[n - 1],
        &plan.labels,
        scale_state,
        &mut plan.grads[last],
    )
}

/// When node `i` is an auxiliary loss head, records the gradient of its weighted mean loss
/// (times the loss scale in f16) into its gradient buffer and returns true.
pub(super) fn aux_backward<B: Backend>(
    b: &B,
    graph: &Graph,
    plan: &mut Plan<B>,
    i: usize,
    scale_state: Option<&B::Tensor>,
) -> Result<bool> {
    let Some(head) = graph.aux_head_at(i) else {
        return Ok(false);
    };
    let batch = plan.batch;
    let slot = plan.grad_slot[i].expect("a loss head's gradient has a buffer");
    let p = SoftmaxCrossEntropyParams {
        grad_scale: head.weight / batch as f32,
        ..SoftmaxCrossEntropyParams::mean(batch, graph.classes)
    };
    b.scope(&format!("{} loss", graph.layers[i].name), "backward_input");
    b.softmax_cross_entropy_backward_input(
        &p,
        &plan.outs[i],
        &plan.labels,
        scale_state,
        &mut plan.grads[slot],
    )?;
    Ok(true)
}
