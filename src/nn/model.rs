//! `Model<B>`: a graph's parameters and planned activations on any backend, and one training
//! step — forward, loss, top-k, backward, overflow check, optimizer — recorded as one unit.

mod head;
mod params_backward;
mod plan;
mod state;

use params_backward::{weight_and_bias, WeightLayer};
use plan::Plan;

use super::graph::{Graph, LayerKind};
use crate::error::{Error, Result};
use crate::ops::pixel_loss::IGNORE_LABEL;
use crate::ops::*;
use crate::tensor::{arena_layout, DType, HostTensor, Precision, Shape};

/// One parameter tensor: f32 master weights and momentum, its gradient in storage precision,
/// and (f16 only) the storage-precision copy the forward pass reads.
pub struct Param<B: Backend> {
    pub name: String,
    pub shape: Shape,
    pub master: B::Tensor,
    /// Momentum and gradient: one-element stand-ins until the model is first planned for
    /// training ([`Model::plan`]), so a model that only evaluates holds its weights only.
    pub velocity: B::Tensor,
    pub grad: B::Tensor,
    pub copy: Option<B::Tensor>,
    /// A normalisation layer's weight or bias (see [`Model::set_norm_weight_decay`]).
    pub norm: bool,
}

impl<B: Backend> Param<B> {
    /// The weights the kernels read.
    pub fn weights(&self) -> &B::Tensor {
        self.copy.as_ref().unwrap_or(&self.master)
    }
}

/// Counters accumulated on the device between read-backs.
pub struct Metrics<B: Backend> {
    /// [sum of losses, samples] (F32).
    pub totals: B::Tensor,
    /// [top-1 correct, top-5 correct] (U32).
    pub counts: B::Tensor,
}

/// Host copy of [`Metrics`]. For a segmentation graph the samples are the labelled pixels,
/// `top1` counts the pixels predicted right, `top5` is 0 and `classes` holds the per-class
/// counters `[intersection[C], predicted[C], labelled[C]]` ([`PixelMetricsParams`]).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricsValue {
    pub loss_sum: f64,
    pub samples: u64,
    pub top1: u64,
    pub top5: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<u64>,
}

impl MetricsValue {
    /// Adds `other`'s sums and counts to these.
    pub fn add(&mut self, other: &MetricsValue) {
        self.loss_sum += other.loss_sum;
        self.samples += other.samples;
        self.top1 += other.top1;
        self.top5 += other.top5;
        if self.classes.len() < other.classes.len() {
            self.classes.resize(other.classes.len(), 0);
        }
        for (a, b) in self.classes.iter_mut().zip(&other.classes) {
            *a += b;
        }
    }
    /// Pixel accuracy, IoU and Dice (a segmentation graph's metrics; `None` otherwise).
    pub fn segmentation(&self) -> Option<SegmentationScores> {
        if self.classes.is_empty() {
            return None;
        }
        let mut counts = vec![self.top1, self.samples];
        counts.extend(&self.classes);
        Some(SegmentationScores::from_counts(&counts))
    }
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.samples.max(1) as f64
    }
    pub fn top1(&self) -> f64 {
        self.top1 as f64 / self.samples.max(1) as f64
    }
    pub fn top5(&self) -> f64 {
        self.top5 as f64 / self.samples.max(1) as f64
    }
}

/// Optimizer settings of one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepConfig {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    /// Seed and step number of the dropout masks.
    pub seed: u32,
    pub step: u32,
}

impl StepConfig {
    /// Inference: no update, dropout off (the step is then unused).
    pub fn inference() -> Self {
        StepConfig {
            lr: 0.0,
            momentum: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            seed: 0,
            step: 0,
        }
    }

    /// The fixed SGD settings of benchmarks and profiles (the paper's AlexNet momentum and
    /// weight decay); speed does not depend on them.
    pub fn benchmark(step: u32) -> Self {
        StepConfig {
            lr: 1e-3,
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: false,
            seed: 1,
            step,
        }
    }
}

/// A graph's parameters on a backend, with planned activations per batch size.
pub struct Model<B: Backend> {
    pub graph: Graph,
    pub precision: Precision,
    pub params: Vec<Param<B>>,
    /// Per layer: (weight, bias) indices into `params`.
    slots: Vec<(Option<usize>, Option<usize>)>,
    /// Per layer: the activation fused into its forward pass ([`Graph::fusions`]).
    fusions: Vec<Act>,
    /// Per layer: the activation whose backward pass it runs ([`Graph::pool_folds`]).
    folds: Vec<Act>,
    plans: Vec<Plan<B>>,
    /// `params` indices in the order the arenas hold them (normalisation parameters last).
    arena_order: Vec<usize>,
    /// Whether weight decay applies to normalisation parameters too (PyTorch's default).
    norm_weight_decay: bool,
    /// Per layer: a batch-norm layer's F32 state ([`crate::ops::batch_norm::STATE_ROWS`] rows:
    /// running estimates, then the batch's statistics for the backward pass).
    norm_states: Vec<Option<B::Tensor>>,
    /// Training batches each batch-norm layer has seen (`num_batches_tracked`).
    batches_tracked: u64,
    /// Mixed precision: [scale bits, good steps, found_inf, skipped] (U32).
    pub scale_state: Option<B::Tensor>,
    pub loss_scale: LossScaleParams,
    /// Whether the momentum and gradient arenas exist ([`Param::velocity`]).
    trainable: bool,
}

/// The message of a weight and its bias taken as two parameters at once.
const TWO: &str = "a weight and its bias are two parameters";

/// `v[read]` to read and `v[write]` to write, which [`Graph::gradient_plan`] keeps apart (a
/// node's gradient and its input's are live together).
fn read_write<T>(v: &mut [T], read: usize, write: usize) -> (&T, &mut T) {
    assert_ne!(
        read, write,
        "a gradient buffer read and written by one pass"
    );
    if read < write {
        let (a, b) = v.split_at_mut(write);
        (&a[read], &mut b[0])
    } else {
        let (a, b) = v.split_at_mut(read);
        (&b[0], &mut a[write])
    }
}

impl<B: Backend> Model<B> {
    /// Uploads `values` (in `graph.parameters()` order) as the model's weights.
    pub fn new(b: &B, graph: Graph, precision: Precision, values: &[HostTensor]) -> Result<Self> {
        graph.validate()?;
        let specs = graph.parameters();
        if specs.len() != values.len() {
            return Err(Error::invalid(
                "parameters",
                format!("{} given, {} expected", values.len(), specs.len()),
            ));
        }
        let dtype = precision.dtype();
        let mut shapes = Vec::new();
        for ((name, shape, _), v) in specs.iter().zip(values) {
            if v.shape.0 != *shape {
                return Err(Error::invalid(
                    name,
                    format!("shape {} given, {:?} expected", v.shape, shape),
                ));
            }
            shapes.push(Shape(shape.clone()));
        }
        // Each kind of state in one arena, so the optimizer runs one launch per arena buffer;
        // normalisation parameters after all others, so that each group is one run of
        // neighbours when their weight decay differs.
        let mut order: Vec<usize> = (0..specs.len()).collect();
        order.sort_by_key(|&i| graph.is_norm_parameter(&specs[i].0));
        let arena_shapes: Vec<Shape> = order.iter().map(|&i| shapes[i].clone()).collect();
        let arena_values: Vec<HostTensor> = order.iter().map(|&i| values[i].clone()).collect();
        let masters = b.arena(&arena_shapes, DType::F32, Some(&arena_values))?;
        let copies = match precision {
            Precision::F16 => b.arena(&arena_shapes, dtype, Some(&arena_values))?,
            Precision::F32 => Vec::new(),
        };
        let mut copies = copies.into_iter();
        let mut placed: Vec<Option<Param<B>>> = (0..specs.len()).map(|_| None).collect();
        for (&i, master) in order.iter().zip(masters) {
            placed[i] = Some(Param {
                name: specs[i].0.clone(),
                shape: shapes[i].clone(),
                master,
                velocity: b.full(Shape::new(&[1]), DType::F32, 0.0)?,
                grad: b.full(Shape::new(&[1]), dtype, 0.0)?,
                copy: copies.next(),
                norm: graph.is_norm_parameter(&specs[i].0),
            });
        }
        let params: Vec<Param<B>> = placed
            .into_iter()
            .map(|p| p.expect("a permutation"))
            .collect();
        let mut slots = Vec::new();
        let mut next = 0;
        for l in &graph.layers {
            let (has_w, has_b) = match &l.kind {
                LayerKind::Conv2d(p) => (true, p.bias),
                LayerKind::ConvTranspose2d(p) => (true, p.bias),
                LayerKind::Linear(p) => (true, p.bias),
                LayerKind::BatchNorm2d(_) => (true, true),
                _ => (false, false),
            };
            let w = has_w.then(|| {
                next += 1;
                next - 1
            });
            let bias = has_b.then(|| {
                next += 1;
                next - 1
            });
            slots.push((w, bias));
        }
        let scale_state = match precision {
            Precision::F16 => {
                Some(b.upload_u32(Shape::new(&[4]), &loss_scale::initial_state(65536.0))?)
            }
            Precision::F32 => None,
        };
        let mut norm_states = Vec::new();
        for l in &graph.layers {
            norm_states.push(match &l.kind {
                LayerKind::BatchNorm2d(p) => {
                    // Running mean 0, running variance 1 (PyTorch's start).
                    let mut data = vec![0.0; p.state_shape().numel()];
                    let var = batch_norm::RUNNING_VAR * p.channels;
                    data[var..var + p.channels].fill(1.0);
                    let host = HostTensor::new(p.state_shape(), data)?;
                    Some(b.upload(&host, DType::F32)?)
                }
                _ => None,
            });
        }
        Ok(Model {
            arena_order: order,
            norm_weight_decay: true,
            norm_states,
            batches_tracked: 0,
            fusions: graph.fusions(),
            folds: graph.pool_folds(),
            graph,
            precision,
            params,
            slots,
            plans: Vec::new(),
            scale_state,
            loss_scale: LossScaleParams::default(),
            trainable: false,
        })
    }

    /// Runs every layer's forward pass on its own (no activation in a conv2d or linear
    /// epilogue, every output kept), as with `CNNGPU_NO_FUSION=1`: for comparisons. Only
    /// before the first [`Model::plan`].
    pub fn unfuse(&mut self) -> Result<()> {
        if !self.plans.is_empty() {
            return Err(Error::invalid("fusion", "set before the first plan"));
        }
        self.fusions = vec![Act::None; self.graph.layers.len()];
        self.folds = self.fusions.clone();
        Ok(())
    }

    /// Whether SGD's weight decay applies to normalisation layers' weights and biases (true,
    /// as PyTorch's SGD over all parameters; false: `--no-bn-decay`).
    pub fn set_norm_weight_decay(&mut self, on: bool) {
        self.norm_weight_decay = on;
    }

    /// The activation fused into each layer's forward pass ([`Graph::fusions`]).
    pub fn fusions(&self) -> &[Act] {
        &self.fusions
    }

    /// The activation whose backward pass each layer runs ([`Graph::pool_folds`]).
    pub fn folds(&self) -> &[Act] {
        &self.folds
    }

    /// Bytes of parameters, momentum, gradients and weight copies, and the batch-norm state.
    pub fn parameter_bytes(&self) -> u64 {
        let e = self.precision.dtype().size() as u64;
        let extra = if self.precision == Precision::F16 {
            2 * e
        } else {
            e
        };
        arena_layout(self.params.iter().map(|p| p.shape.numel())).1 as u64 * (8 + extra)
            + self.graph.norm_state_bytes()
    }

    /// New zeroed metric counters: top-1 and top-5, or a segmentation graph's
    /// [`PixelMetricsParams`] counters.
    pub fn metrics(&self, b: &B) -> Result<Metrics<B>> {
        let counts = match self.graph.segmentation() {
            true => PixelMetricsParams::len_for(self.graph.classes),
            false => 2,
        };
        Ok(Metrics {
            totals: b.full(Shape::new(&[2]), DType::F32, 0.0)?,
            counts: b.full(Shape::new(&[counts]), DType::U32, 0.0)?,
        })
    }

    fn plan_index(&self, batch: usize) -> Result<usize> {
        self.plans
            .iter()
            .position(|p| p.batch == batch)
            .ok_or_else(|| {
                Error::invalid(
                    "batch",
                    format!("no buffers planned for batch {batch}; call plan() first"),
                )
            })
    }

    /// Writes a batch of preprocessed images and labels (one per image, or one per pixel
    /// for a segmentation graph) into the planned input buffers.
    pub fn load_batch(&mut self, b: &B, x: &[f32], labels: &[u32]) -> Result<()> {
        let i = self.plan_index(labels.len() / self.graph.label_pixels())?;
        let plan = &mut self.plans[i];
        b.write(&mut plan.x, x)?;
        b.write_u32(&mut plan.labels, labels)?;
        if let Some(counted) = plan.counted.as_mut() {
            let n = labels.iter().filter(|&&l| l != IGNORE_LABEL).count();
            b.write_u32(counted, &[n as u32])?;
        }
        Ok(())
    }

    /// Records the forward pass and the metrics of the loaded batch of size `batch`.
    /// `train` turns dropout on, with masks from (seed, step), and runs the nodes that feed
    /// auxiliary loss heads only (evaluation skips them). The first training forward pass
    /// of a batch size first plans the whole step (forward and backward) on backends that
    /// plan, so that the step's first recording creates every uniform and bind group it needs
    /// with their final buffers and later steps create none.
    pub fn forward(
        &mut self,
        b: &B,
        batch: usize,
        train: bool,
        cfg: &StepConfig,
        metrics: &mut Metrics<B>,
    ) -> Result<()> {
        let pi = self.plan_index(batch)?;
        if train && !self.plans[pi].training {
            return Err(Error::invalid(
                "batch",
                format!("batch {batch} was planned for evaluation only; call plan() to train"),
            ));
        }
        if train && !self.plans[pi].step_planned && b.planning(true) {
            let planned = self
                .record_forward(b, batch, train, cfg, metrics)
                .and_then(|_| self.backward_and_update(b, batch, cfg));
            b.planning(false);
            planned?;
            self.plans[pi].step_planned = true;
        }
        self.record_forward(b, batch, train, cfg, metrics)?;
        if train {
            self.batches_tracked += 1;
        }
        Ok(())
    }

    fn record_forward(
        &mut self,
        b: &B,
        batch: usize,
        train: bool,
        cfg: &StepConfig,
        metrics: &mut Metrics<B>,
    ) -> Result<()> {
        let pi = self.plan_index(batch)?;
        if train {
            b.per_step(cfg.step, cfg.lr)?;
        }
        let plan = &mut self.plans[pi];
        let main = self.graph.main_path();
        for (i, layer) in self.graph.layers.iter().enumerate() {
            if Graph::fused_away(&self.fusions, i) || !(train || main[i]) {
                continue; // computed by the layer before, or feeding an auxiliary head only
            }
            let act = self.fusions[i];
            let (before, rest) = plan.outs.split_at_mut(i);
            let src = |s: Option<usize>| s.map_or(&plan.x, |j| &before[j]);
            let x = src(layer.inputs[0]);
            // A layer with a fused activation writes the activation layer's output.
            let y = &mut rest[usize::from(act != Act::None)];
            let (w, bias) = self.slots[i];
            let w = w.map(|w| self.params[w].weights());
            let bias = bias.map(|k| self.params[k].weights());
            b.scope(&layer.name, "forward");
            match &layer.kind {
                LayerKind::Conv2d(p) => {
                    let p = Conv2dParams { batch, act, ..*p };
                    b.conv2d_forward(&p, x, w.unwrap(), bias, y)?
                }
                LayerKind::ConvTranspose2d(p) => {
                    let p = ConvTranspose2dParams { batch, ..*p };
                    b.conv_transpose2d_forward(&p, x, w.unwrap(), bias, y)?
                }
                LayerKind::Linear(p) => {
                    let p = LinearParams { batch, act, ..*p };
                    b.linear_forward(&p, x, w.unwrap(), bias, y)?
                }
                LayerKind::Tanh => b.tanh_forward(x, y)?,
                LayerKind::Relu => b.relu_forward(x, y)?,
                LayerKind::AvgPool2d(p) => {
                    b.avg_pool2d_forward(&Pool2dParams { batch, ..*p }, x, y)?
                }
                LayerKind::MaxPool2d(p) => {
                    let idx = plan.indices[i].as_mut().expect("planned for max pooling");
                    b.max_pool2d_forward(&Pool2dParams { batch, ..*p }, x, y, idx)?
                }
                LayerKind::Lrn(p) => b.lrn_forward(&LrnParams { batch, ..*p }, x, y)?,
                LayerKind::BatchNorm2d(p) => {
                    let p = BatchNormParams { batch, train, ..*p };
                    let state = self.norm_states[i].as_mut().expect("made for batch norm");
                    b.batch_norm_forward(&p, x, w.unwrap(), bias.unwrap(), state, y)?
                }
                LayerKind::Add => b.add_forward(x, src(layer.inputs[1]), y)?,
                LayerKind::Concat => {
                    for p in self.graph.concat_parts(i, batch) {
                        b.concat_forward(&p.1, src(p.0), y)?;
                    }
                }
                LayerKind::Dropout(p) => {
                    let len = batch * layer.out_shape.iter().product::<usize>();
                    let q = if train { *p } else { 0.0 };
                    b.dropout_forward(
                        &DropoutParams {
                            len,
                            p: q,
                            seed: cfg.seed ^ i as u32,
                            step: cfg.step,
                        },
                        x,
                        y,
                    )?
                }
            }
        }
        head::forward(b, &self.graph, plan, metrics)
    }

    /// Records the backward pass and the optimizer update of the batch whose forward pass
    /// was just recorded. In f16, gradients are checked for overflow first: an overflowing
    /// step updates nothing and the loss scale backs off (all on the device).
    pub fn backward_and_update(&mut self, b: &B, batch: usize, cfg: &StepConfig) -> Result<()> {
        let pi = self.plan_index(batch)?;
        if !self.plans[pi].training {
            return Err(Error::invalid(
                "batch",
                format!("batch {batch} was planned for evaluation only; call plan() to train"),
            ));
        }
        b.per_step(cfg.step, cfg.lr)?;
        let plan = &mut self.plans[pi];
        let n = self.graph.layers.len();
        head::backward(b, &self.graph, plan, self.scale_state.as_ref())?;
        // Nodes run backward in reverse order, so a node's gradient is complete before its
        // own backward pass. A node read by several others takes the first reader's share
        // (the highest-numbered) as written, each later share formed in its partial buffer
        // and added: a fixed order, so reruns are bit-identical.
        let mut written = vec![false; n];
        written[n - 1] = true;
        // Layers whose weight and bias gradients the activation after them recorded.
        let mut params_done = vec![false; n];
        for i in (0..n).rev() {
            if Graph::folded_away(&self.folds, i) {
                continue; // the pooling layer after it ran this activation's backward pass
            }
            let layer = &self.graph.layers[i];
            if head::aux_backward(b, &self.graph, plan, i, self.scale_state.as_ref())? {
                written[i] = true;
            }
            debug_assert!(
                written[i],
                "every node but the last and the loss heads is read (Graph::validate)"
            );
            let fold = self.folds[i];
            let si = plan.grad_slot[i].expect("kept gradients have a buffer");
            if layer.kind == LayerKind::Add {
                // Both inputs receive dy.
                b.scope(&layer.name, "backward_input");
                for j in layer.inputs.iter().flatten().copied() {
                    let sj = plan.grad_slot[j].expect("kept gradients have a buffer");
                    let (dy, g) = read_write(&mut plan.grads, si, sj);
                    if written[j] {
                        b.accumulate(dy, g)?;
                    } else {
                        b.copy(dy, g)?;
                        written[j] = true;
                    }
                }
                continue;
            }
            if layer.kind == LayerKind::Concat {
                // Each input receives its channels of dy.
                b.scope(&layer.name, "backward_input");
                for (input, p) in self.graph.concat_parts(i, batch) {
                    let Some(j) = input else { continue };
                    let sj = plan.grad_slot[j].expect("kept gradients have a buffer");
                    if written[j] {
                        let k = plan.partial_slot[j].expect("planned for several readers");
                        b.concat_backward_input(&p, &plan.grads[si], &mut plan.partials[k])?;
                        b.accumulate(&plan.partials[k], &mut plan.grads[sj])?;
                    } else {
                        let (dy, g) = read_write(&mut plan.grads, si, sj);
                        b.concat_backward_input(&p, dy, g)?;
                        written[j] = true;
                    }
                }
                continue;
            }
            let x = layer.inputs[0].map_or(&plan.x, |j| &plan.outs[j]);
            let y = &plan.outs[i];
            // The node whose gradient this layer's input gradient is: its input, or (a pooling
            // layer running its activation's backward pass) the activation's input; x, the
            // pool's own input, is then the activation's output.
            let target = match fold {
                Act::None => layer.inputs[0],
                _ => self.graph.layers[i - 1].inputs[0],
            };
            let mut added_to = None;
            let (dy, dx) = match target {
                None => (&plan.grads[si], None),
                Some(j) if !written[j] => {
                    written[j] = true;
                    let sj = plan.grad_slot[j].expect("kept gradients have a buffer");
                    let (dy, g) = read_write(&mut plan.grads, si, sj);
                    (dy, Some(g))
                }
                Some(j) => {
                    added_to = Some(j);
                    let k = plan.partial_slot[j].expect("planned for several readers");
                    (&plan.grads[si], Some(&mut plan.partials[k]))
                }
            };
            let act_out = (fold != Act::None).then_some(x);
            let (wi, bi) = self.slots[i];
            match &layer.kind {
                LayerKind::Conv2d(p) => {
                    let p = Conv2dParams { batch, ..*p };
                    let wi = wi.expect("conv has weights");
                    if !params_done[i] {
                        let layer_p = WeightLayer::Conv(p);
                        let params = &mut self.params;
                        weight_and_bias(b, &layer.name, layer_p, params, (wi, bi), (dy, x), None)?;
                    }
                    if let Some(dx) = dx {
                        b.scope(&layer.name, "backward_input");
                        b.conv2d_backward_input(&p, dy, self.params[wi].weights(), dx)?;
                    }
                }
                LayerKind::ConvTranspose2d(p) => {
                    let p = ConvTranspose2dParams { batch, ..*p };
                    let wi = wi.expect("conv_transpose2d has weights");
                    b.scope(&layer.name, "backward_weight");
                    b.conv_transpose2d_backward_weight(&p, dy, x, &mut self.params[wi].grad)?;
                    if let Some(bi) = bi {
                        b.scope(&layer.name, "backward_bias");
                        b.conv_transpose2d_backward_bias(&p, dy, &mut self.params[bi].grad)?;
                    }
                    if let Some(dx) = dx {
                        b.scope(&layer.name, "backward_input");
                        let w = self.params[wi].weights();
                        b.conv_transpose2d_backward_input(&p, dy, w, dx)?;
                    }
                }
                LayerKind::Linear(p) => {
                    let p = LinearParams { batch, ..*p };
                    let wi = wi.expect("linear has weights");
                    if !params_done[i] {
                        let layer_p = WeightLayer::Linear(p);
                        let params = &mut self.params;
                        weight_and_bias(b, &layer.name, layer_p, params, (wi, bi), (dy, x), None)?;
                    }
                    if let Some(dx) = dx {
                        b.scope(&layer.name, "backward_input");
                        b.linear_backward_input(&p, dy, self.params[wi].weights(), dx)?;
                    }
                }
                LayerKind::BatchNorm2d(p) => {
                    let p = BatchNormParams {
                        batch,
                        train: true,
                        ..*p
                    };
                    let Some(dx) = dx else {
                        return Err(Error::invalid(
                            &layer.name,
                            "batch norm on the network input is not supported",
                        ));
                    };
                    let (wi, bi) = (wi.expect("weight"), bi.expect("bias"));
                    let (lo, hi) = self.params.split_at_mut(bi);
                    let (wp, bp) = (&mut lo[wi], &mut hi[0]);
                    let weight = wp.copy.as_ref().unwrap_or(&wp.master);
                    let state = self.norm_states[i].as_mut().expect("made for batch norm");
                    b.scope(&layer.name, "backward_input");
                    b.batch_norm_backward(
                        &p,
                        x,
                        dy,
                        weight,
                        state,
                        &mut wp.grad,
                        &mut bp.grad,
                        dx,
                    )?;
                }
                kind => {
                    let Some(dx) = dx else { continue };
                    // The backward pass of an activation (a relu or a tanh) the layer before
                    // it fused, run by that layer's weight-gradient kernels where they can.
                    let fused = Graph::fused_away(&self.fusions, i).then(|| i - 1);
                    let prev = fused.map(|j| (j, &self.graph.layers[j]));
                    if let Some((j, l, wl)) =
                        prev.and_then(|(j, l)| WeightLayer::of(&l.kind, batch).map(|wl| (j, l, wl)))
                    {
                        let act = match kind {
                            LayerKind::Tanh => Act::Tanh,
                            _ => Act::Relu,
                        };
                        let xj = l.inputs[0].map_or(&plan.x, |k| &plan.outs[k]);
                        let slots = (self.slots[j].0.expect("weights"), self.slots[j].1);
                        let fold = Some(ActFold {
                            act,
                            y,
                            dx: &mut *dx,
                        });
                        let params = &mut self.params;
                        if weight_and_bias(b, &l.name, wl, params, slots, (dy, xj), fold)? {
                            params_done[j] = true;
                            continue;
                        }
                    }
                    b.scope(&layer.name, "backward_input");
                    match kind {
                        LayerKind::Tanh => b.tanh_backward_input(y, dy, dx)?,
                        // relu's mask is the same from its output (y > 0 exactly where
                        // x > 0), which is all a fused layer keeps.
                        LayerKind::Relu if Graph::fused_away(&self.fusions, i) => {
                            b.relu_backward_input(y, dy, dx)?
                        }
                        LayerKind::Relu => b.relu_backward_input(x, dy, dx)?,
                        LayerKind::AvgPool2d(p) => {
                            let p = Pool2dParams {
                                batch,
                                act: fold,
                                ..*p
                            };
                            b.avg_pool2d_backward_input(&p, dy, act_out, dx)?
                        }
                        LayerKind::MaxPool2d(p) => {
                            let idx = plan.indices[i].as_ref().expect("planned for max pooling");
                            let p = Pool2dParams {
                                batch,
                                act: fold,
                                ..*p
                            };
                            b.max_pool2d_backward_input(&p, dy, idx, act_out, dx)?
                        }
                        LayerKind::Lrn(p) => {
                            let p = LrnParams {
                                batch,
                                act: fold,
                                ..*p
                            };
                            b.lrn_backward_input(&p, x, dy, dx)?
                        }
                        LayerKind::Dropout(p) => {
                            let len = batch * layer.out_shape.iter().product::<usize>();
                            let params = DropoutParams {
                                len,
                                p: *p,
                                seed: cfg.seed ^ i as u32,
                                step: cfg.step,
                            };
                            b.dropout_backward_input(&params, dy, dx)?
                        }
                        LayerKind::Conv2d(_)
                        | LayerKind::ConvTranspose2d(_)
                        | LayerKind::Linear(_)
                        | LayerKind::BatchNorm2d(_)
                        | LayerKind::Add
                        | LayerKind::Concat => {
                            unreachable!("handled above")
                        }
                    }
                }
            }
            if let Some(j) = added_to {
                let k = plan.partial_slot[j].expect("planned for several readers");
                let sj = plan.grad_slot[j].expect("kept gradients have a buffer");
                b.accumulate(&plan.partials[k], &mut plan.grads[sj])?;
            }
        }
        // Every list in arena order, so that the GPU joins neighbours into one launch.
        let mut refs: Vec<Option<&mut Param<B>>> = self.params.iter_mut().map(Some).collect();
        let mut ordered: Vec<&mut Param<B>> = self
            .arena_order
            .iter()
            .map(|&i| refs[i].take().expect("a permutation"))
            .collect();
        if let Some(state) = self.scale_state.as_mut() {
            b.scope("loss scale", "optimizer");
            let grads: Vec<&B::Tensor> = ordered.iter().map(|p| &p.grad).collect();
            b.grad_check_finite(&grads, state)?;
        }
        b.scope("parameters", "optimizer");
        // Without decay on normalisation parameters, those (last in the arenas) update as a
        // second group.
        let split = if self.norm_weight_decay || cfg.weight_decay == 0.0 {
            ordered.len()
        } else {
            ordered.iter().position(|p| p.norm).unwrap_or(ordered.len())
        };
        let (decayed, norm) = ordered.split_at_mut(split);
        for (group, weight_decay) in [(decayed, cfg.weight_decay), (norm, 0.0)] {
            if group.is_empty() {
                continue;
            }
            let sgd = SgdParams {
                lr: cfg.lr,
                momentum: cfg.momentum,
                weight_decay,
                nesterov: cfg.nesterov,
                grad_scale: 1.0,
            };
            let (mut grads, mut masters, mut velocities, mut copies) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for p in group.iter_mut() {
                let p = &mut **p;
                grads.push(&p.grad);
                masters.push(&mut p.master);
                velocities.push(&mut p.velocity);
                copies.extend(p.copy.as_mut());
            }
            let copies = (!copies.is_empty()).then_some(&mut copies[..]);
            b.sgd_update(
                &sgd,
                &grads,
                &mut masters,
                &mut velocities,
                copies,
                self.scale_state.as_ref(),
            )?;
        }
        if let Some(state) = self.scale_state.as_mut() {
            b.scope("loss scale", "optimizer");
            b.loss_scale_update(&self.loss_scale, state)?;
        }
        Ok(())
    }
}
