//! A model's buffers per batch size: the input, every kept activation, max-pool indices,
//! gradients shared by liveness, labels and losses. A smaller batch size (an epoch's last
//! batch, the evaluation batch when it is the smaller) uses prefix views of a larger plan's
//! buffers where the backend can alias them ([`Backend::prefix`]), so one allocation serves
//! every batch size up to the largest.

use super::Model;
use crate::error::Result;
use crate::nn::graph::{Graph, LayerKind};
use crate::ops::Backend;
use crate::tensor::{DType, Shape};

/// Activations, gradients and metric buffers for one batch size, allocated once.
pub(super) struct Plan<B: Backend> {
    pub(super) batch: usize,
    pub(super) x: B::Tensor,
    pub(super) labels: B::Tensor,
    pub(super) outs: Vec<B::Tensor>,
    /// Whether the plan serves training steps (an evaluation plan has no gradient buffers).
    pub(super) training: bool,
    /// The gradient buffers, shared by liveness ([`Graph::gradient_plan`]), and per node the
    /// buffer of its output gradient.
    pub(super) grads: Vec<B::Tensor>,
    pub(super) grad_slot: Vec<Option<usize>>,
    /// The buffers where one reader's share of a gradient is formed before it is added to
    /// the others' (see [`Model::backward_and_update`]), and per node its buffer.
    pub(super) partials: Vec<B::Tensor>,
    pub(super) partial_slot: Vec<Option<usize>>,
    pub(super) indices: Vec<Option<B::Tensor>>,
    pub(super) losses: B::Tensor,
    /// A segmentation graph's count of labelled pixels in the batch (U32 `[1]`), written
    /// with the labels: the per-pixel loss's mean divides by it.
    pub(super) counted: Option<B::Tensor>,
    /// The bytes this plan allocated (not those it views in a larger plan).
    pub(super) bytes: u64,
    /// Whether a training step of this batch size was planned (see [`Backend::planning`]).
    pub(super) step_planned: bool,
}

/// Makes a plan's tensors: a prefix view of the same tensor of a larger plan where there is
/// one and the backend aliases, a new zeroed tensor otherwise (counted in `bytes`).
struct Maker<'a, B: Backend> {
    b: &'a B,
    bytes: u64,
}

impl<B: Backend> Maker<'_, B> {
    fn take(&mut self, donor: Option<&B::Tensor>, shape: Shape, dtype: DType) -> Result<B::Tensor> {
        if let Some(view) = donor.and_then(|d| self.b.prefix(d, shape.clone())) {
            return Ok(view);
        }
        self.bytes += (shape.numel() * dtype.size()) as u64;
        self.b.full(shape, dtype, 0.0)
    }
}

impl<B: Backend> Model<B> {
    /// Allocates activations and gradient buffers for training steps of `batch` images (once
    /// per batch size) and returns the bytes it allocated. Plan the largest batch size first:
    /// smaller ones then view its buffers.
    pub fn plan(&mut self, b: &B, batch: usize) -> Result<u64> {
        self.plan_for(b, batch, true)
    }

    /// Allocates activations for evaluating `batch` images — no gradient buffers — unless a
    /// plan of that size exists, and returns the bytes it allocated (0 for an existing plan).
    pub fn plan_inference(&mut self, b: &B, batch: usize) -> Result<u64> {
        self.plan_for(b, batch, false)
    }

    fn plan_for(&mut self, b: &B, batch: usize, training: bool) -> Result<u64> {
        if training {
            self.make_trainable(b)?;
        }
        let same = self.plans.iter().position(|p| p.batch == batch);
        if let Some(i) = same {
            if !training || self.plans[i].training {
                return Ok(0);
            }
        }
        // The plans whose buffers this one can view: the largest of at least this batch, and
        // for gradients the largest such training plan.
        let largest = |training_only: bool| {
            self.plans
                .iter()
                .filter(|p| p.batch >= batch && (p.training || !training_only))
                .max_by_key(|p| p.batch)
        };
        let (donor, grad_donor) = (largest(false), largest(true));
        let mut make = Maker { b, bytes: 0 };
        let dtype = self.precision.dtype();
        let [c, h, w] = self.graph.input;
        let x = make.take(donor.map(|d| &d.x), Shape::new(&[batch, c, h, w]), dtype)?;
        let (mut outs, mut indices) = (Vec::new(), Vec::new());
        let kept = Graph::kept(&self.fusions, &self.folds);
        let main = self.graph.main_path();
        for (i, (l, (keep_out, _))) in self.graph.layers.iter().zip(kept).enumerate() {
            let [c, h, w] = l.out_shape;
            let shape = Shape::new(&[batch, c, h, w]);
            // A fused layer's output (it writes its activated output into the next layer's)
            // is never formed, nor in evaluation that of a node feeding an auxiliary loss
            // head only: one element stands in.
            let run = training || main[i];
            outs.push(if keep_out && run {
                make.take(donor.map(|d| &d.outs[i]), shape.clone(), dtype)?
            } else {
                b.full(Shape::new(&[1]), dtype, 0.0)?
            });
            indices.push(match l.kind {
                LayerKind::MaxPool2d(_) if run => {
                    let d = donor.and_then(|d| d.indices[i].as_ref());
                    Some(make.take(d, shape, DType::U32)?)
                }
                _ => None,
            });
        }
        let gp = self.graph.gradient_plan(&self.folds);
        let (mut grads, mut partials) = (Vec::new(), Vec::new());
        if training {
            for (k, &m) in gp.slot_numel.iter().enumerate() {
                let d = grad_donor.map(|d| &d.grads[k]);
                grads.push(make.take(d, Shape::new(&[batch * m]), dtype)?);
            }
            for (k, &m) in gp.partial_numel.iter().enumerate() {
                let d = grad_donor.map(|d| &d.partials[k]);
                partials.push(make.take(d, Shape::new(&[batch * m]), dtype)?);
            }
        }
        // A label and a loss per image, or per pixel of a segmentation graph.
        let per_batch = Shape::new(&[batch * self.graph.label_pixels()]);
        let labels = make.take(donor.map(|d| &d.labels), per_batch.clone(), DType::U32)?;
        let losses = make.take(donor.map(|d| &d.losses), per_batch, DType::F32)?;
        let counted = match self.graph.segmentation() {
            true => {
                let d = donor.and_then(|d| d.counted.as_ref());
                Some(make.take(d, Shape::new(&[1]), DType::U32)?)
            }
            false => None,
        };
        let plan = Plan {
            batch,
            x,
            labels,
            outs,
            training,
            grads,
            grad_slot: gp.slot,
            partials,
            partial_slot: gp.partial,
            indices,
            losses,
            counted,
            bytes: make.bytes,
            step_planned: false,
        };
        let bytes = plan.bytes;
        match same {
            // An evaluation plan of this size becomes a training plan (views of it stay valid).
            Some(i) => self.plans[i] = plan,
            None => self.plans.push(plan),
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use crate::cpu::CpuBackend;
    use crate::nn::models::{build, initial_parameters, ModelOptions};
    use crate::nn::Model;
    use crate::tensor::Precision;

    #[test]
    fn evaluation_plans_no_buffers_for_the_auxiliary_heads() {
        let bytes = |aux_logits: bool, training: bool| {
            let o = ModelOptions {
                aux_logits,
                size: Some(64),
                ..ModelOptions::new(10)
            };
            let (graph, init) = build("googlenet", &o).unwrap();
            let values = initial_parameters(&graph, init, 0);
            let mut m = Model::new(&CpuBackend, graph, Precision::F32, &values).unwrap();
            match training {
                true => m.plan(&CpuBackend, 2).unwrap(),
                false => m.plan_inference(&CpuBackend, 2).unwrap(),
            }
        };
        assert!(
            bytes(true, true) > bytes(false, true),
            "training forms them"
        );
        assert_eq!(bytes(true, false), bytes(false, false));
    }

    #[test]
    fn momentum_and_gradients_exist_once_the_model_is_planned_for_training() {
        let graph = crate::nn::models::lenet5(10).unwrap();
        let values = initial_parameters(&graph, crate::nn::Init::PyTorchDefault, 0);
        let mut m = Model::new(&CpuBackend, graph, Precision::F32, &values).unwrap();
        m.plan_inference(&CpuBackend, 4).unwrap();
        let held = |m: &Model<CpuBackend>| -> usize {
            let p = m.params.iter();
            p.map(|p| p.velocity.shape.numel() + p.grad.shape.numel())
                .sum()
        };
        assert_eq!(held(&m), 2 * m.params.len(), "stand-ins only, to evaluate");
        let zeros = m.velocities(&CpuBackend).unwrap();
        assert!(zeros
            .iter()
            .zip(&values)
            .all(|((_, v), w)| v.shape == w.shape && v.data.iter().all(|&x| x == 0.0)));
        m.plan(&CpuBackend, 4).unwrap();
        let numel: usize = values.iter().map(|v| v.shape.numel()).sum();
        assert_eq!(held(&m), 2 * numel);
    }
}
