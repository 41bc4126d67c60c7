//! The layer graph: layers with per-image shapes, named like the equivalent PyTorch module's
//! state_dict entries so that checkpoints load in PyTorch.

use crate::error::{Error, Result};
use crate::ops::{Act, Conv2dParams, LinearParams, LrnParams, Pool2dParams};

/// Whether `CNNGPU_NO_FUSION` turns fusion off.
fn fusion_off() -> bool {
    std::env::var("CNNGPU_NO_FUSION").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// What a layer computes. Parameter structs hold per-image shapes (batch 1); the model sets
/// the batch of each run.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerKind {
    Conv2d(Conv2dParams),
    Linear(LinearParams),
    Tanh,
    Relu,
    AvgPool2d(Pool2dParams),
    MaxPool2d(Pool2dParams),
    Lrn(LrnParams),
    /// Drop probability; active in training only.
    Dropout(f32),
}

/// One node of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The state_dict prefix of its parameters (`conv1`, `features.0`), or a descriptive name.
    pub name: String,
    pub kind: LayerKind,
    /// The node whose output this layer reads; `None` for the network input.
    pub input: Option<usize>,
    /// Per-image output shape (C, H, W); (F, 1, 1) for linear layers.
    pub out_shape: [usize; 3],
}

/// A network: its input shape, number of classes and layers in execution order.
///
/// Nodes name their input, so the structure is a DAG; the executor in [`super::Model`]
/// currently runs graphs where each node reads its predecessor (LeNet-5, AlexNet).
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub name: String,
    pub input: [usize; 3],
    pub classes: usize,
    pub layers: Vec<Layer>,
}

impl Graph {
    pub fn new(name: &str, input: [usize; 3], classes: usize) -> Self {
        Graph {
            name: name.into(),
            input,
            classes,
            layers: Vec::new(),
        }
    }

    fn last_shape(&self) -> [usize; 3] {
        self.layers.last().map_or(self.input, |l| l.out_shape)
    }

    /// Appends a layer reading the previous one, computing its output shape.
    pub fn push(&mut self, name: &str, kind: LayerKind) -> Result<&mut Self> {
        let [c, h, w] = self.last_shape();
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
                q.validate()?;
                let shape = [c, q.out_h(), q.out_w()];
                let kind = if matches!(kind, LayerKind::AvgPool2d(_)) {
                    LayerKind::AvgPool2d(q)
                } else {
                    LayerKind::MaxPool2d(q)
                };
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
            LayerKind::Dropout(p) => {
                if !(0.0..1.0).contains(&p) {
                    return Err(Error::invalid(
                        "dropout",
                        format!("p = {p} is not in [0, 1)"),
                    ));
                }
                (LayerKind::Dropout(p), [c, h, w])
            }
            k => (k, [c, h, w]),
        };
        let input = self.layers.len().checked_sub(1);
        self.layers.push(Layer {
            name: name.into(),
            kind,
            input,
            out_shape,
        });
        Ok(self)
    }

    /// Checks the graph ends in `classes` logits and that every node reads its predecessor.
    pub fn validate(&self) -> Result<()> {
        for (i, l) in self.layers.iter().enumerate() {
            if l.input != i.checked_sub(1) {
                return Err(Error::invalid(
                    &l.name,
                    "branching graphs are not supported by the executor yet",
                ));
            }
        }
        if self.last_shape() != [self.classes, 1, 1] {
            return Err(Error::invalid(
                &self.name,
                format!(
                    "the last layer gives {:?}, expected {} logits",
                    self.last_shape(),
                    self.classes
                ),
            ));
        }
        Ok(())
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
                    Some(next) if !off && next.input == Some(i) => next,
                    _ => return Act::None,
                };
                let act = match next.kind {
                    LayerKind::Relu => Act::Relu,
                    LayerKind::Tanh => Act::Tanh,
                    _ => return Act::None,
                };
                let readers = layers.iter().filter(|l| l.input == Some(i)).count();
                let gemm = matches!(layers[i].kind, LayerKind::Conv2d(_) | LayerKind::Linear(_));
                if gemm && readers == 1 {
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

    /// Whether layer `i` is an activation whose backward pass the pooling layer after it runs
    /// (see [`Graph::pool_folds`]).
    pub fn folded_away(folds: &[Act], i: usize) -> bool {
        folds.get(i + 1).is_some_and(|a| *a != Act::None)
    }

    /// Per layer, the activation whose backward pass this layer's backward pass runs: a
    /// pooling layer that alone reads a relu or tanh (not the first layer) multiplies its
    /// input gradient by the activation's derivative and writes the activation's input
    /// gradient (the activation's own backward pass is then not run, and the gradient of its
    /// output is not kept); [`Act::None`] elsewhere. Off with `CNNGPU_NO_FUSION=1`.
    pub fn pool_folds(&self) -> Vec<Act> {
        let off = fusion_off();
        let layers = &self.layers;
        (0..layers.len())
            .map(|i| {
                let pool = matches!(
                    layers[i].kind,
                    LayerKind::AvgPool2d(_) | LayerKind::MaxPool2d(_)
                );
                if off || !pool || i < 2 || layers[i].input != Some(i - 1) {
                    return Act::None;
                }
                let readers = layers.iter().filter(|l| l.input == Some(i - 1)).count();
                match layers[i - 1].kind {
                    LayerKind::Relu if readers == 1 => Act::Relu,
                    LayerKind::Tanh if readers == 1 => Act::Tanh,
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

    /// Multiply-adds of one image's forward pass.
    pub fn macs_per_image(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| match &l.kind {
                LayerKind::Conv2d(p) => p.macs(),
                LayerKind::Linear(p) => p.macs(),
                _ => 0,
            })
            .sum()
    }
}
