//! The layer graph: layers with per-image shapes, named like the equivalent PyTorch module's
//! state_dict entries so that checkpoints load in PyTorch.

use crate::error::{Error, Result};
use crate::ops::{
    Act, Add, AvgPool2d, BatchNormParams, ConcatParams, Conv2dParams, ConvTranspose2dParams,
    DropoutParams, LinearParams, LrnParams, MaxPool2d, Op, OpSpec, Pool2dParams, Relu, Tanh,
};
use crate::tensor::Shape;

/// Whether `CNNGPU_NO_FUSION` turns fusion off.
fn fusion_off() -> bool {
    std::env::var("CNNGPU_NO_FUSION").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// What a layer computes. Parameter structs hold per-image shapes (batch 1); the model sets
/// the batch of each run.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    Conv2d(Conv2dParams),
    /// PyTorch's ConvTranspose2d (U-Net's up-sampling).
    ConvTranspose2d(ConvTranspose2dParams),
    Linear(LinearParams),
    Tanh,
    Relu,
    AvgPool2d(Pool2dParams),
    MaxPool2d(Pool2dParams),
    Lrn(LrnParams),
    /// Drop probability; active in training only.
    Dropout(f32),
    /// PyTorch's BatchNorm2d (eps and momentum from the params; the shape is inferred).
    BatchNorm2d(BatchNormParams),
    /// The element-wise sum of its two inputs (a residual connection).
    Add,
    /// Its inputs' channels one after another (an inception block's branches); the inputs'
    /// maps have one size.
    Concat,
}

impl LayerKind {
    /// The op's name in profiles and messages.
    pub fn op_name(&self) -> &'static str {
        match self {
            LayerKind::Conv2d(_) => "conv2d",
            LayerKind::ConvTranspose2d(_) => "conv_transpose2d",
            LayerKind::Linear(_) => "linear",
            LayerKind::Tanh => "tanh",
            LayerKind::Relu => "relu",
            LayerKind::AvgPool2d(_) => "avg_pool2d",
            LayerKind::MaxPool2d(_) => "max_pool2d",
            LayerKind::Lrn(_) => "lrn",
            LayerKind::Dropout(_) => "dropout",
            LayerKind::BatchNorm2d(_) => "batch_norm2d",
            LayerKind::Add => "add",
            LayerKind::Concat => "concat",
        }
    }

    /// The op this layer runs on `batch` images whose output is `out_shape` per image
    /// (training mode): what the profiler's costs derive from.
    pub fn op(&self, batch: usize, out_shape: [usize; 3]) -> Op {
        let [c, h, w] = out_shape;
        let shape = Shape::new(&[batch, c, h, w]);
        match self {
            LayerKind::Conv2d(p) => Op::Conv2d(Conv2dParams { batch, ..*p }),
            LayerKind::ConvTranspose2d(p) => {
                Op::ConvTranspose2d(ConvTranspose2dParams { batch, ..*p })
            }
            LayerKind::Linear(p) => Op::Linear(LinearParams { batch, ..*p }),
            LayerKind::Tanh => Op::Tanh(Tanh(shape)),
            LayerKind::Relu => Op::Relu(Relu(shape)),
            LayerKind::AvgPool2d(p) => Op::AvgPool2d(AvgPool2d(Pool2dParams { batch, ..*p })),
            LayerKind::MaxPool2d(p) => Op::MaxPool2d(MaxPool2d(Pool2dParams { batch, ..*p })),
            LayerKind::Lrn(p) => Op::Lrn(LrnParams { batch, ..*p }),
            LayerKind::Dropout(p) => Op::Dropout(DropoutParams {
                len: shape.numel(),
                p: *p,
                seed: 0,
                step: 0,
            }),
            LayerKind::BatchNorm2d(p) => Op::BatchNorm(BatchNormParams {
                batch,
                train: true,
                ..*p
            }),
            LayerKind::Add => Op::Add(Add(shape)),
            // The whole output as one copy (a node copies each input's channels in turn).
            LayerKind::Concat => Op::Concat(ConcatParams {
                batch,
                channels: c,
                total: c,
                offset: 0,
                h,
                w,
            }),
        }
    }

    /// How many inputs a node of this kind reads (`None`: any number from two).
    pub fn arity(&self) -> Option<usize> {
        match self {
            LayerKind::Add => Some(2),
            LayerKind::Concat => None,
            _ => Some(1),
        }
    }
}

/// Where each node's output gradient lives during a backward pass: buffers shared by
/// liveness (see [`Graph::gradient_plan`]). Sizes are per image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GradientPlan {
    /// Per node: the buffer of its output gradient (`None`: never formed — an activation
    /// whose backward pass the pooling layer after it runs).
    pub slot: Vec<Option<usize>>,
    /// Per buffer: its elements per image.
    pub slot_numel: Vec<usize>,
    /// Per node read by several others: the buffer where a later reader's share of its
    /// gradient is formed before being added (one per size: shares are used one at a time).
    pub partial: Vec<Option<usize>>,
    pub partial_numel: Vec<usize>,
}

impl GradientPlan {
    /// Elements per image of every buffer.
    pub fn numel(&self) -> usize {
        self.slot_numel.iter().chain(&self.partial_numel).sum()
    }
}

/// One node of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The state_dict prefix of its parameters (`conv1`, `features.0`), or a descriptive name.
    pub name: String,
    pub kind: LayerKind,
    /// The nodes whose outputs this layer reads, in argument order; `None` is the network
    /// input. Always earlier nodes: the layer list is in topological order.
    pub inputs: Vec<Option<usize>>,
    /// Per-image output shape (C, H, W); (F, 1, 1) for linear layers.
    pub out_shape: [usize; 3],
}

/// A loss head besides the last node: a node giving `classes` logits per image whose softmax
/// cross-entropy counts `weight` times in the training loss (GoogLeNet's auxiliary
/// classifiers: 0.3). Training only: evaluation skips the nodes that only feed such heads, and
/// the reported loss and accuracy are the last node's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuxHead {
    pub node: usize,
    pub weight: f32,
}

/// A network: its input shape, number of classes and layers in execution order.
///
/// Nodes name their inputs, so the structure is a DAG: a node may read several others
/// (`add`) and be read by several (a residual block's input). Build one with [`Graph::node`]
/// (any inputs, returns the node's id) or [`Graph::push`] (reads the node before); the last
/// node gives the logits, and [`Graph::aux_head`] adds further loss heads.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub name: String,
    pub input: [usize; 3],
    pub classes: usize,
    pub layers: Vec<Layer>,
    /// Training-only loss heads besides the last node, in node order.
    pub aux_heads: Vec<AuxHead>,
}

impl Graph {
    pub fn new(name: &str, input: [usize; 3], classes: usize) -> Self {
        Graph {
            name: name.into(),
            input,
            classes,
            layers: Vec::new(),
            aux_heads: Vec::new(),
        }
    }

    /// Makes node `node` a training-only loss head of weight `weight` (see [`AuxHead`]): it
    /// must give `classes` logits per image, and nothing may read it.
    pub fn aux_head(&mut self, node: usize, weight: f32) -> Result<()> {
        let l = self
            .layers
            .get(node)
            .ok_or_else(|| Error::invalid("aux head", format!("node {node} does not exist")))?;
        if l.out_shape != [self.classes, 1, 1] {
            return Err(Error::invalid(
                &l.name,
                format!(
                    "gives {:?}; a loss head gives {} logits per image",
                    l.out_shape, self.classes
                ),
            ));
        }
        if !(weight.is_finite() && weight > 0.0) {
            return Err(Error::invalid(
                &l.name,
                format!("loss weight {weight} is not positive"),
            ));
        }
        if self.aux_heads.iter().any(|h| h.node == node) {
            return Err(Error::invalid(&l.name, "is a loss head already"));
        }
        self.aux_heads.push(AuxHead { node, weight });
        self.aux_heads.sort_by_key(|h| h.node);
        Ok(())
    }

    /// The auxiliary head at node `i`, if it is one.
    pub fn aux_head_at(&self, i: usize) -> Option<&AuxHead> {
        self.aux_heads.iter().find(|h| h.node == i)
    }

    /// Per node, whether the last node's logits depend on it: evaluation runs these only
    /// (the others feed auxiliary heads alone).
    pub fn main_path(&self) -> Vec<bool> {
        let n = self.layers.len();
        let mut on = vec![false; n];
        if n > 0 {
            on[n - 1] = true;
        }
        for i in (0..n).rev() {
            if on[i] {
                for j in self.layers[i].inputs.iter().flatten() {
                    on[*j] = true;
                }
            }
        }
        on
    }

    fn last_shape(&self) -> [usize; 3] {
        self.layers.last().map_or(self.input, |l| l.out_shape)
    }

    /// The per-image shape of node `src` (`None`: the network input).
    pub fn shape_of(&self, src: Option<usize>) -> [usize; 3] {
        src.map_or(self.input, |i| self.layers[i].out_shape)
    }

    /// The id of the last node added (`None` while the graph is empty: the network input).
    pub fn last(&self) -> Option<usize> {
        self.layers.len().checked_sub(1)
    }

    /// Appends a layer reading the previous one (the network input for the first).
    pub fn push(&mut self, name: &str, kind: LayerKind) -> Result<&mut Self> {
        self.node(name, kind, &[self.last()])?;
        Ok(self)
    }

    /// Appends a node reading `inputs` (earlier node ids, `None` for the network input) and
    /// returns its id. Its output shape is inferred from its inputs' shapes; the name (the
    /// state_dict prefix of its parameters) must be new.
    pub fn node(&mut self, name: &str, kind: LayerKind, inputs: &[Option<usize>]) -> Result<usize> {
        if self.layers.iter().any(|l| l.name == name) {
            return Err(Error::invalid(name, "a node of this name exists already"));
        }
        let reads = match kind.arity() {
            Some(n) => (inputs.len() != n).then(|| n.to_string()),
            None => (inputs.len() < 2).then(|| "two or more".to_string()),
        };
        if let Some(n) = reads {
            return Err(Error::invalid(
                name,
                format!(
                    "{} reads {n} inputs, {} given",
                    kind.op_name(),
                    inputs.len()
                ),
            ));
        }
        if let Some(j) = inputs.iter().flatten().find(|&&j| j >= self.layers.len()) {
            return Err(Error::invalid(
                name,
                format!("reads node {j}, which does not exist yet"),
            ));
        }
        let [c, h, w] = self.shape_of(inputs[0]);
        let (kind, out_shape) = match kind {
            LayerKind::Conv2d(p) => {
                let p = Conv2dParams {
                    batch: 1,
                    in_channels: c,
                    in_h: h,
                    in_w: w,
                    ..p
                };
                p.validate()?;
                (LayerKind::Conv2d(p), [p.out_channels, p.out_h(), p.out_w()])
            }
            LayerKind::ConvTranspose2d(p) => {
                let p = ConvTranspose2dParams {
                    batch: 1,
                    in_channels: c,
                    in_h: h,
                    in_w: w,
                    ..p
                };
                p.validate()?;
                let shape = [p.out_channels, p.out_h(), p.out_w()];
                (LayerKind::ConvTranspose2d(p), shape)
            }
            LayerKind::Linear(p) => {
                let p = LinearParams {
                    batch: 1,
                    in_features: c * h * w,
                    ..p
                };
                p.validate()?;
                (LayerKind::Linear(p), [p.out_features, 1, 1])
            }
            LayerKind::AvgPool2d(p) | LayerKind::MaxPool2d(p) => {
                let q = Pool2dParams {
                    batch: 1,
                    channels: c,
                    in_h: h,
                    in_w: w,
                    ..p
                };
                let kind = if matches!(kind, LayerKind::AvgPool2d(_)) {
                    AvgPool2d(q).validate()?; // no ceil mode
                    LayerKind::AvgPool2d(q)
                } else {
                    MaxPool2d(q).validate()?; // no adaptive windows
                    LayerKind::MaxPool2d(q)
                };
                let shape = [c, q.out_h(), q.out_w()];
                (kind, shape)
            }
            LayerKind::Lrn(p) => {
                let p = LrnParams {
                    batch: 1,
                    channels: c,
                    h,
                    w,
                    ..p
                };
                p.validate()?;
                (LayerKind::Lrn(p), [c, h, w])
            }
            LayerKind::BatchNorm2d(p) => {
                let p = BatchNormParams {
                    batch: 1,
                    channels: c,
                    h,
                    w,
                    train: false,
                    ..p
                };
                p.validate()?;
                (LayerKind::BatchNorm2d(p), [c, h, w])
            }
            LayerKind::Dropout(p) => {
                if !(0.0..1.0).contains(&p) {
                    return Err(Error::invalid(
                        "dropout",
                        format!("p = {p} is not in [0, 1)"),
                    ));
                }
                (LayerKind::Dropout(p), [c, h, w])
            }
            LayerKind::Add => {
                let other = self.shape_of(inputs[1]);
                if other != [c, h, w] {
                    return Err(Error::invalid(
                        name,
                        format!("adds shapes {:?} and {other:?}", [c, h, w]),
                    ));
                }
                (LayerKind::Add, [c, h, w])
            }
            LayerKind::Concat => {
                let mut channels = 0;
                for &s in inputs {
                    let [ci, hi, wi] = self.shape_of(s);
                    if (hi, wi) != (h, w) {
                        return Err(Error::invalid(
                            name,
                            format!("concatenates {hi}x{wi} maps with {h}x{w} ones"),
                        ));
                    }
                    channels += ci;
                }
                (LayerKind::Concat, [channels, h, w])
            }
            k => (k, [c, h, w]),
        };
        self.layers.push(Layer {
            name: name.into(),
            kind,
            inputs: inputs.to_vec(),
            out_shape,
        });
        Ok(self.layers.len() - 1)
    }

    /// The copies concat node `i` makes at `batch`: each input and its channels' place.
    pub fn concat_parts(&self, i: usize, batch: usize) -> Vec<(Option<usize>, ConcatParams)> {
        let l = &self.layers[i];
        let mut offset = 0;
        l.inputs
            .iter()
            .map(|&s| {
                let [channels, h, w] = self.shape_of(s);
                let p = ConcatParams {
                    batch,
                    channels,
                    total: l.out_shape[0],
                    offset,
                    h,
                    w,
                };
                offset += channels;
                (s, p)
            })
            .collect()
    }

    /// How many input slots of other nodes read node `i` (an `add` of a node to itself
    /// counts twice).
    pub fn readers(&self, i: usize) -> usize {
        self.layers
            .iter()
            .flat_map(|l| &l.inputs)
            .filter(|&&s| s == Some(i))
            .count()
    }

    /// Whether the graph segments: its last node gives `classes` logits at every pixel of
    /// the input (U-Net) rather than `classes` logits per image.
    pub fn segmentation(&self) -> bool {
        let [_, h, w] = self.input;
        let [_, oh, ow] = self.last_shape();
        oh * ow > 1 && (oh, ow) == (h, w)
    }

    /// Labels (and losses) per image: its pixels for a segmentation graph, else 1.
    pub fn label_pixels(&self) -> usize {
        if self.segmentation() {
            self.input[1] * self.input[2]
        } else {
            1
        }
    }

    /// Checks the graph ends in `classes` logits (per image, or per pixel of the input for a
    /// segmentation graph) and that every other node is read or is an auxiliary loss head (a
    /// node nothing reads would get no gradient).
    pub fn validate(&self) -> Result<()> {
        let n = self.layers.len();
        if let Some(l) = (0..n.saturating_sub(1))
            .find(|&i| self.readers(i) == 0 && self.aux_head_at(i).is_none())
            .map(|i| &self.layers[i])
        {
            return Err(Error::invalid(
                &l.name,
                "no other node reads its output (only the last node and loss heads may be unread)",
            ));
        }
        if let Some(h) = self
            .aux_heads
            .iter()
            .find(|h| h.node + 1 >= n || self.readers(h.node) > 0)
        {
            let name = self.layers.get(h.node).map_or("aux head", |l| &l.name);
            return Err(Error::invalid(
                name,
                "an auxiliary loss head must be an unread node before the last",
            ));
        }
        if !self.aux_heads.is_empty() && self.segmentation() {
            return Err(Error::invalid(
                &self.name,
                "auxiliary loss heads are for graphs that label images, not pixels",
            ));
        }
        let [c, h, w] = self.last_shape();
        if c != self.classes || !(h * w == 1 || self.segmentation()) {
            return Err(Error::invalid(
                &self.name,
                format!(
                    "the last layer gives {:?}, expected {} logits per image or per pixel of \
                     the {}x{} input",
                    self.last_shape(),
                    self.classes,
                    self.input[1],
                    self.input[2]
                ),
            ));
        }
        Ok(())
    }

    /// The non-trained state tensors in state_dict order: (name, shape) — batch norm's
    /// `running_mean`, `running_var` and `num_batches_tracked` (a scalar, shape `[]`).
    pub fn buffers(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for l in &self.layers {
            if let LayerKind::BatchNorm2d(p) = &l.kind {
                out.push((format!("{}.running_mean", l.name), vec![p.channels]));
                out.push((format!("{}.running_var", l.name), vec![p.channels]));
                out.push((format!("{}.num_batches_tracked", l.name), vec![]));
            }
        }
        out
    }

    /// Bytes of the batch-norm layers' F32 state (running estimates and the statistics the
    /// backward pass reads).
    pub fn norm_state_bytes(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match &l.kind {
                LayerKind::BatchNorm2d(p) => (p.state_shape().numel() * 4) as u64,
                _ => 0,
            })
            .sum()
    }

    /// Whether parameter `name` belongs to a normalisation layer (initialised to weight 1,
    /// bias 0 whatever the model's initialisation).
    pub fn is_norm_parameter(&self, name: &str) -> bool {
        self.layers.iter().any(|l| {
            matches!(l.kind, LayerKind::BatchNorm2d(_))
                && name
                    .strip_prefix(l.name.as_str())
                    .is_some_and(|rest| rest == ".weight" || rest == ".bias")
        })
    }

    /// The parameter tensors in state_dict order: (name, shape, fan_in).
    pub fn parameters(&self) -> Vec<(String, Vec<usize>, usize)> {
        let mut out = Vec::new();
        for l in &self.layers {
            match &l.kind {
                LayerKind::Conv2d(p) => {
                    let fan_in = p.in_channels / p.groups * p.kernel_h * p.kernel_w;
                    out.push((format!("{}.weight", l.name), p.weight_shape().0, fan_in));
                    if p.bias {
                        out.push((format!("{}.bias", l.name), vec![p.out_channels], fan_in));
                    }
                }
                LayerKind::ConvTranspose2d(p) => {
                    let fan_in = p.fan_in();
                    out.push((format!("{}.weight", l.name), p.weight_shape().0, fan_in));
                    if p.bias {
                        out.push((format!("{}.bias", l.name), vec![p.out_channels], fan_in));
                    }
                }
                LayerKind::BatchNorm2d(p) => {
                    out.push((format!("{}.weight", l.name), vec![p.channels], 1));
                    out.push((format!("{}.bias", l.name), vec![p.channels], 1));
                }
                LayerKind::Linear(p) => {
                    out.push((
                        format!("{}.weight", l.name),
                        p.weight_shape().0,
                        p.in_features,
                    ));
                    if p.bias {
                        out.push((
                            format!("{}.bias", l.name),
                            vec![p.out_features],
                            p.in_features,
                        ));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Per layer, the activation its forward pass computes in its epilogue: a conv2d or linear
    /// layer followed by a relu or tanh that alone reads it computes that activation itself
    /// (the activation layer's forward pass is then not run, and the conv2d or linear output
    /// before the activation is not kept); [`Act::None`] elsewhere. `CNNGPU_NO_FUSION=1`
    /// turns fusion off (for side-by-side measurements).
    pub fn fusions(&self) -> Vec<Act> {
        let off = fusion_off();
        let layers = &self.layers;
        (0..layers.len())
            .map(|i| {
                let next = match layers.get(i + 1) {
                    Some(next) if !off && next.inputs == [Some(i)] => next,
                    _ => return Act::None,
                };
                let act = match next.kind {
                    LayerKind::Relu => Act::Relu,
                    LayerKind::Tanh => Act::Tanh,
                    _ => return Act::None,
                };
                let gemm = matches!(layers[i].kind, LayerKind::Conv2d(_) | LayerKind::Linear(_));
                if gemm && self.readers(i) == 1 {
                    act
                } else {
                    Act::None
                }
            })
            .collect()
    }

    /// Whether layer `i` is an activation computed by the layer before it (see
    /// [`Graph::fusions`]).
    pub fn fused_away(fusions: &[Act], i: usize) -> bool {
        i > 0 && fusions[i - 1] != Act::None
    }

    /// Whether layer `i` is an activation whose backward pass the pooling or normalisation
    /// layer after it runs (see [`Graph::pool_folds`]).
    pub fn folded_away(folds: &[Act], i: usize) -> bool {
        folds.get(i + 1).is_some_and(|a| *a != Act::None)
    }

    /// Per layer, the activation whose backward pass this layer's backward pass runs: a
    /// pooling or local-response-normalisation layer that alone reads a relu or tanh (not the
    /// first layer) multiplies its input gradient by the activation's derivative and writes
    /// the activation's input gradient (the activation's own backward pass is then not run,
    /// and the gradient of its output is not kept); [`Act::None`] elsewhere (AlexNet's relu1
    /// and relu2 fold into lrn1 and lrn2, relu5 into pool5). Off with `CNNGPU_NO_FUSION=1`.
    pub fn pool_folds(&self) -> Vec<Act> {
        let off = fusion_off();
        let layers = &self.layers;
        (0..layers.len())
            .map(|i| {
                let pool = matches!(
                    layers[i].kind,
                    LayerKind::AvgPool2d(_) | LayerKind::MaxPool2d(_) | LayerKind::Lrn(_)
                );
                // The chain node i - 2 → activation i - 1 → pool (or lrn) i, the activation
                // read by the pool alone (the fold writes node i - 2's gradient).
                if off
                    || !pool
                    || i < 2
                    || layers[i].inputs != [Some(i - 1)]
                    || layers[i - 1].inputs != [Some(i - 2)]
                    || self.readers(i - 1) != 1
                {
                    return Act::None;
                }
                match layers[i - 1].kind {
                    LayerKind::Relu => Act::Relu,
                    LayerKind::Tanh => Act::Tanh,
                    _ => Act::None,
                }
            })
            .collect()
    }

    /// Whether the executor keeps each layer's output and its gradient, given the forward
    /// fusions and the pooling folds: a layer that computes its activation keeps no output,
    /// an activation whose backward a pooling layer runs keeps no output gradient.
    pub fn kept(fusions: &[Act], folds: &[Act]) -> Vec<(bool, bool)> {
        (0..fusions.len())
            .map(|i| (fusions[i] == Act::None, !Self::folded_away(folds, i)))
            .collect()
    }

    /// The gradient buffers of a backward pass, shared by liveness. Nodes run backward in
    /// reverse order; node j's gradient is first written by the backward pass of its
    /// highest-numbered reader (a pooling layer running its activation's backward pass writes
    /// the gradient of the activation's input) and last read by node j's own: it lives over
    /// [j, that reader]. Gradients of equal size whose intervals do not overlap share a
    /// buffer (greedy, in backward order), so a chain needs about two buffers per size instead
    /// of one per node; `Graph::gradient_numel_unshared` is the one-per-node figure.
    pub fn gradient_plan(&self, folds: &[Act]) -> GradientPlan {
        let n = self.layers.len();
        let numel = |i: usize| self.layers[i].out_shape.iter().product::<usize>();
        let mut birth: Vec<Option<usize>> = vec![None; n];
        if n > 0 {
            birth[n - 1] = Some(n - 1); // the loss writes it
        }
        for h in &self.aux_heads {
            birth[h.node] = Some(h.node); // its loss writes it when the pass reaches it
        }
        for (r, l) in self.layers.iter().enumerate() {
            if Self::folded_away(folds, r) {
                continue;
            }
            let targets: Vec<Option<usize>> = match (&l.kind, folds[r]) {
                (LayerKind::Add | LayerKind::Concat, _) => l.inputs.clone(),
                (_, Act::None) => vec![l.inputs[0]],
                _ => vec![self.layers[r - 1].inputs[0]],
            };
            for j in targets.into_iter().flatten() {
                birth[j] = birth[j].max(Some(r));
            }
        }
        let mut order: Vec<usize> = (0..n)
            .filter(|&i| !Self::folded_away(folds, i) && birth[i].is_some())
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse((birth[i], i)));
        let mut slot = vec![None; n];
        // Per buffer: (elements, the node index its latest occupant dies at).
        let mut buffers: Vec<(usize, usize)> = Vec::new();
        for i in order {
            let born = birth[i].expect("filtered");
            let free = buffers
                .iter()
                .position(|&(size, dies)| size == numel(i) && dies > born);
            let k = match free {
                Some(k) => k,
                None => {
                    buffers.push((numel(i), usize::MAX));
                    buffers.len() - 1
                }
            };
            buffers[k].1 = i;
            slot[i] = Some(k);
        }
        let mut partial = vec![None; n];
        let mut partial_numel: Vec<usize> = Vec::new();
        for (i, p) in partial.iter_mut().enumerate() {
            if self.readers(i) > 1 {
                let k = match partial_numel.iter().position(|&m| m == numel(i)) {
                    Some(k) => k,
                    None => {
                        partial_numel.push(numel(i));
                        partial_numel.len() - 1
                    }
                };
                *p = Some(k);
            }
        }
        GradientPlan {
            slot,
            slot_numel: buffers.into_iter().map(|(size, _)| size).collect(),
            partial,
            partial_numel,
        }
    }

    /// Elements per image of one gradient buffer per node that keeps one and one partial
    /// buffer per node read by several others: what [`Graph::gradient_plan`] saves against.
    pub fn gradient_numel_unshared(&self, folds: &[Act]) -> usize {
        (0..self.layers.len())
            .map(|i| {
                let m: usize = self.layers[i].out_shape.iter().product();
                let own = if Self::folded_away(folds, i) { 0 } else { m };
                own + if self.readers(i) > 1 { m } else { 0 }
            })
            .sum()
    }

    /// Multiply-adds of one image's forward pass.
    pub fn macs_per_image(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match &l.kind {
                LayerKind::Conv2d(p) => p.macs(),
                LayerKind::ConvTranspose2d(p) => p.macs(),
                LayerKind::Linear(p) => p.macs(),
                _ => 0,
            })
            .sum()
    }
}
