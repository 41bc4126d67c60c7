//! The model zoo: LeNet-5 and AlexNet, layer for layer as in ../shared/peers (parameter names
//! are those of the PyTorch modules there and in scripts/models.py), and torchvision's ResNets
//! with torchvision's state_dict names.

mod googlenet;
mod unet;

pub use googlenet::{googlenet, AUX_TENSOR};
pub use unet::unet;

use super::graph::{Graph, LayerKind};
use crate::error::{Error, Result};
use crate::ops::{Act, BatchNormParams, Conv2dParams, LinearParams, LrnParams, Pool2dParams};
use crate::tensor::{HostTensor, Shape, SplitMix64};

/// A square conv layer with a bias (its input shape is inferred when the graph adds it).
pub fn conv(
    out_channels: usize,
    k: usize,
    stride: usize,
    padding: usize,
    groups: usize,
) -> LayerKind {
    LayerKind::Conv2d(Conv2dParams {
        batch: 1,
        in_channels: 0,
        in_h: 0,
        in_w: 0,
        out_channels,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding,
        groups,
        bias: true,
        act: Act::None,
    })
}

/// A linear layer with a bias (its input size is inferred).
pub fn linear(out_features: usize) -> LayerKind {
    LayerKind::Linear(LinearParams {
        batch: 1,
        in_features: 0,
        out_features,
        bias: true,
        act: Act::None,
    })
}

/// Square pooling without padding (its input shape is inferred).
pub fn pool(kernel: usize, stride: usize) -> Pool2dParams {
    Pool2dParams {
        batch: 1,
        channels: 0,
        in_h: 0,
        in_w: 0,
        kernel,
        stride,
        padding: 0,
        act: Act::None,
        ceil_mode: false,
        adaptive: None,
    }
}

/// LeNet-5 (modern form): input 1x32x32, conv 6@5x5 → tanh → avg-pool 2 → conv 16@5x5 → tanh
/// → avg-pool 2 → conv 120@5x5 → tanh → linear 84 → tanh → linear `classes`.
pub fn lenet5(classes: usize) -> Result<Graph> {
    let mut g = Graph::new("lenet5", [1, 32, 32], classes);
    g.push("conv1", conv(6, 5, 1, 0, 1))?
        .push("tanh1", LayerKind::Tanh)?
        .push("pool1", LayerKind::AvgPool2d(pool(2, 2)))?
        .push("conv2", conv(16, 5, 1, 0, 1))?
        .push("tanh2", LayerKind::Tanh)?
        .push("pool2", LayerKind::AvgPool2d(pool(2, 2)))?
        .push("conv3", conv(120, 5, 1, 0, 1))?
        .push("tanh3", LayerKind::Tanh)?
        .push("fc1", linear(84))?
        .push("tanh4", LayerKind::Tanh)?
        .push("fc2", linear(classes))?;
    g.validate()?;
    Ok(g)
}

/// AlexNet (Krizhevsky et al. 2012): input 3x`size`x`size` (227 in the paper), conv 96@11x11/4
/// → ReLU → LRN → max-pool 3/2 → conv 256@5x5 p2 → ReLU → LRN → max-pool 3/2 → conv 384@3x3 p1
/// → ReLU → conv 384@3x3 p1 → ReLU → conv 256@3x3 p1 → ReLU → max-pool 3/2 → linear 4096 → ReLU
/// → dropout → linear 4096 → ReLU → dropout → linear `classes`. `groups = 2` gives the paper's
/// two towers on conv2, conv4 and conv5. Names follow torchvision-style `features.N` /
/// `classifier.N` indices of the Sequential in ../shared/peers/pytorch_alexnet.py.
pub fn alexnet(classes: usize, groups: usize, size: usize) -> Result<Graph> {
    if groups != 1 && groups != 2 {
        return Err(Error::invalid(
            "--groups",
            format!("{groups}; AlexNet has 1 or 2 towers"),
        ));
    }
    let lrn = LayerKind::Lrn(LrnParams::alexnet(1, 0, 0, 0));
    let mut g = Graph::new("alexnet", [3, size, size], classes);
    g.push("features.0", conv(96, 11, 4, 0, 1))?
        .push("features.1", LayerKind::Relu)?
        .push("features.2", lrn.clone())?
        .push("features.3", LayerKind::MaxPool2d(pool(3, 2)))?
        .push("features.4", conv(256, 5, 1, 2, groups))?
        .push("features.5", LayerKind::Relu)?
        .push("features.6", lrn)?
        .push("features.7", LayerKind::MaxPool2d(pool(3, 2)))?
        .push("features.8", conv(384, 3, 1, 1, 1))?
        .push("features.9", LayerKind::Relu)?
        .push("features.10", conv(384, 3, 1, 1, groups))?
        .push("features.11", LayerKind::Relu)?
        .push("features.12", conv(256, 3, 1, 1, groups))?
        .push("features.13", LayerKind::Relu)?
        .push("features.14", LayerKind::MaxPool2d(pool(3, 2)))?
        .push("classifier.0", linear(4096))?
        .push("classifier.1", LayerKind::Relu)?
        .push("classifier.2", LayerKind::Dropout(0.5))?
        .push("classifier.3", linear(4096))?
        .push("classifier.4", LayerKind::Relu)?
        .push("classifier.5", LayerKind::Dropout(0.5))?
        .push("classifier.6", linear(classes))?;
    g.validate()?;
    Ok(g)
}

/// A square conv layer without a bias (followed by batch norm).
pub fn conv_nobias(out_channels: usize, k: usize, stride: usize, padding: usize) -> LayerKind {
    match conv(out_channels, k, stride, padding, 1) {
        LayerKind::Conv2d(p) => LayerKind::Conv2d(Conv2dParams { bias: false, ..p }),
        _ => unreachable!("conv gives a conv"),
    }
}

/// Batch norm with PyTorch's defaults (its channels are inferred).
pub fn bn() -> LayerKind {
    LayerKind::BatchNorm2d(BatchNormParams::new(1, 0, 0, 0))
}

/// The residual blocks of torchvision's ResNets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Two 3x3 convolutions (ResNet-18, -34); expansion 1.
    Basic,
    /// 1x1, 3x3 (with the stride, as torchvision's "v1.5"), 1x1 to 4x the width; expansion 4.
    Bottleneck,
}

impl Block {
    fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// Appends one residual block reading `x` and returns its output node: the main path, the
/// shortcut (x itself, or `downsample.0` 1x1 conv and `downsample.1` batch norm when the
/// shape changes), their sum and a ReLU. Names as torchvision's `layerL.B.*`.
fn residual_block(
    g: &mut Graph,
    name: &str,
    block: Block,
    x: Option<usize>,
    planes: usize,
    stride: usize,
) -> Result<Option<usize>> {
    let in_channels = g.shape_of(x)[0];
    let out_channels = planes * block.expansion();
    let mut h = x;
    let step = |g: &mut Graph, suffix: &str, kind: LayerKind, h: &mut Option<usize>| {
        *h = Some(g.node(&format!("{name}.{suffix}"), kind, &[*h])?);
        Ok::<(), crate::error::Error>(())
    };
    match block {
        Block::Basic => {
            step(g, "conv1", conv_nobias(planes, 3, stride, 1), &mut h)?;
            step(g, "bn1", bn(), &mut h)?;
            step(g, "relu1", LayerKind::Relu, &mut h)?;
            step(g, "conv2", conv_nobias(planes, 3, 1, 1), &mut h)?;
            step(g, "bn2", bn(), &mut h)?;
        }
        Block::Bottleneck => {
            step(g, "conv1", conv_nobias(planes, 1, 1, 0), &mut h)?;
            step(g, "bn1", bn(), &mut h)?;
            step(g, "relu1", LayerKind::Relu, &mut h)?;
            step(g, "conv2", conv_nobias(planes, 3, stride, 1), &mut h)?;
            step(g, "bn2", bn(), &mut h)?;
            step(g, "relu2", LayerKind::Relu, &mut h)?;
            step(g, "conv3", conv_nobias(out_channels, 1, 1, 0), &mut h)?;
            step(g, "bn3", bn(), &mut h)?;
        }
    }
    let mut shortcut = x;
    if stride != 1 || in_channels != out_channels {
        step(
            g,
            "downsample.0",
            conv_nobias(out_channels, 1, stride, 0),
            &mut shortcut,
        )?;
        step(g, "downsample.1", bn(), &mut shortcut)?;
    }
    let sum = g.node(&format!("{name}.add"), LayerKind::Add, &[h, shortcut])?;
    let out = g.node(&format!("{name}.relu"), LayerKind::Relu, &[Some(sum)])?;
    Ok(Some(out))
}

/// torchvision's ResNet (He et al. 2016) on 3x`size`x`size` inputs: conv1 7x7/2 → bn1 → ReLU
/// → max-pool 3/2 → four stages of residual blocks (`layers[i]` blocks of width 64, 128,
/// 256, 512; stride 2 from the second stage on) → global average pooling (`avgpool`) → `fc`.
pub fn resnet(
    name: &str,
    block: Block,
    layers: [usize; 4],
    classes: usize,
    size: usize,
) -> Result<Graph> {
    let mut g = Graph::new(name, [3, size, size], classes);
    g.push("conv1", conv_nobias(64, 7, 2, 3))?
        .push("bn1", bn())?
        .push("relu", LayerKind::Relu)?
        .push(
            "maxpool",
            LayerKind::MaxPool2d(Pool2dParams {
                padding: 1,
                ..pool(3, 2)
            }),
        )?;
    let mut x = g.last();
    for (stage, (&blocks, planes)) in layers.iter().zip([64, 128, 256, 512]).enumerate() {
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            let name = format!("layer{}.{i}", stage + 1);
            x = residual_block(&mut g, &name, block, x, planes, stride)?;
        }
    }
    // Global average pooling (adaptive_avg_pool2d to 1x1; the maps are square) and flatten.
    let [_, h, w] = g.shape_of(x);
    debug_assert_eq!(h, w, "square inputs give square maps");
    g.push("avgpool", LayerKind::AvgPool2d(pool(h, h)))?
        .push("fc", linear(classes))?;
    g.validate()?;
    Ok(g)
}

/// ResNet-18: basic blocks [2, 2, 2, 2].
pub fn resnet18(classes: usize, size: usize) -> Result<Graph> {
    resnet("resnet18", Block::Basic, [2, 2, 2, 2], classes, size)
}

/// ResNet-34: basic blocks [3, 4, 6, 3].
pub fn resnet34(classes: usize, size: usize) -> Result<Graph> {
    resnet("resnet34", Block::Basic, [3, 4, 6, 3], classes, size)
}

/// ResNet-50: bottleneck blocks [3, 4, 6, 3].
pub fn resnet50(classes: usize, size: usize) -> Result<Graph> {
    resnet("resnet50", Block::Bottleneck, [3, 4, 6, 3], classes, size)
}

/// How each model initialises its weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// PyTorch's default for Conv2d/Linear: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    PyTorchDefault,
    /// The AlexNet paper: weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and the fully
    /// connected layers, 0 elsewhere.
    AlexNetPaper,
    /// He et al. (2015) for ReLU networks: weights N(0, 2/fan_in), biases 0.
    Kaiming,
    /// torchvision's ResNet: conv weights N(0, 2/fan_out) (`kaiming_normal_`, mode
    /// `fan_out`), linear layers PyTorch's default.
    Torchvision,
    /// torchvision's GoogLeNet: conv and linear weights N(0, 0.01) (truncated at ±2, 200
    /// standard deviations out), biases PyTorch's default.
    GoogLeNet,
}

impl Init {
    /// `pytorch` or `paper` (the `--init` option).
    pub fn parse(name: &str) -> Result<Init> {
        match name {
            "pytorch" => Ok(Init::PyTorchDefault),
            "paper" => Ok(Init::AlexNetPaper),
            "kaiming" => Ok(Init::Kaiming),
            "torchvision" => Ok(Init::Torchvision),
            "googlenet" => Ok(Init::GoogLeNet),
            other => Err(Error::invalid(
                "--init",
                format!("'{other}'; expected paper, pytorch, kaiming, torchvision or googlenet"),
            )),
        }
    }
}

/// The models [`by_name`] knows.
pub const MODELS: [&str; 7] = [
    "lenet5",
    "alexnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "googlenet",
    "unet",
];

/// What a model is built for beyond its name: the options of [`build`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    pub classes: usize,
    /// AlexNet's convolution groups (1 or 2).
    pub groups: usize,
    /// The input side (None: the model's default).
    pub size: Option<usize>,
    /// U-Net's channels at the top level (16 unless given; the paper's 64).
    pub base_channels: Option<usize>,
    /// U-Net's input channels (1 unless given; the other models take 3).
    pub in_channels: Option<usize>,
    /// GoogLeNet's auxiliary classifiers (true unless turned off; torchvision's
    /// `aux_logits`). The other models have none and ignore it.
    pub aux_logits: bool,
}

impl ModelOptions {
    pub fn new(classes: usize) -> Self {
        ModelOptions {
            classes,
            groups: 1,
            size: None,
            base_channels: None,
            in_channels: None,
            aux_logits: true,
        }
    }
}

/// The graph and initialisation of a model by name ([`MODELS`]); `size` is the input side
/// (AlexNet 227, ResNets 32 unless given).
pub fn by_name(
    name: &str,
    classes: usize,
    groups: usize,
    size: Option<usize>,
) -> Result<(Graph, Init)> {
    build(
        name,
        &ModelOptions {
            groups,
            size,
            ..ModelOptions::new(classes)
        },
    )
}

/// The graph and initialisation of a model by name ([`MODELS`]) with its options.
pub fn build(name: &str, o: &ModelOptions) -> Result<(Graph, Init)> {
    let (classes, groups, size) = (o.classes, o.groups, o.size);
    match name {
        "lenet5" => Ok((lenet5(classes)?, Init::PyTorchDefault)),
        "alexnet" => Ok((
            alexnet(classes, groups, size.unwrap_or(227))?,
            Init::AlexNetPaper,
        )),
        "resnet18" => Ok((resnet18(classes, size.unwrap_or(32))?, Init::Torchvision)),
        "resnet34" => Ok((resnet34(classes, size.unwrap_or(32))?, Init::Torchvision)),
        "resnet50" => Ok((resnet50(classes, size.unwrap_or(32))?, Init::Torchvision)),
        "googlenet" => Ok((
            googlenet(classes, size.unwrap_or(64), o.aux_logits)?,
            Init::GoogLeNet,
        )),
        "unet" => Ok((
            unet(
                o.in_channels.unwrap_or(1),
                classes,
                o.base_channels.unwrap_or(16),
                size.unwrap_or(64),
            )?,
            Init::PyTorchDefault,
        )),
        other => Err(Error::invalid(
            "--model",
            format!("'{other}'; expected {}", MODELS.join(", ")),
        )),
    }
}

fn normal(rng: &mut SplitMix64) -> f32 {
    // Box-Muller; 1 - u keeps the logarithm finite.
    let (u, v) = (1.0 - rng.next_f32() as f64, rng.next_f32() as f64);
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

/// Seeded initial values of every parameter, in `graph.parameters()` order (host side, so
/// every backend starts from the same numbers).
pub fn initial_parameters(graph: &Graph, init: Init, seed: u64) -> Vec<HostTensor> {
    let mut rng = SplitMix64(seed);
    graph
        .parameters()
        .into_iter()
        .map(|(name, shape, fan_in)| {
            let n: usize = shape.iter().product();
            let weight = name.ends_with(".weight");
            let data = match init {
                // Normalisation layers start as the identity whatever the model's init.
                _ if graph.is_norm_parameter(&name) => vec![if weight { 1.0 } else { 0.0 }; n],
                Init::PyTorchDefault => {
                    let bound = 1.0 / (fan_in as f32).sqrt();
                    rng.uniform_vec(n, -bound, bound)
                }
                Init::AlexNetPaper if weight => (0..n).map(|_| 0.01 * normal(&mut rng)).collect(),
                Init::Kaiming if weight => {
                    let std = (2.0 / fan_in as f32).sqrt();
                    (0..n).map(|_| std * normal(&mut rng)).collect()
                }
                Init::Kaiming => vec![0.0; n],
                Init::AlexNetPaper => {
                    let one = ["features.4.", "features.10.", "features.12.", "classifier."]
                        .iter()
                        .any(|p| name.starts_with(p));
                    vec![if one { 1.0 } else { 0.0 }; n]
                }
                // A conv weight [O, I/G, KH, KW]: fan_out = O * KH * KW.
                Init::GoogLeNet if weight => (0..n).map(|_| 0.01 * normal(&mut rng)).collect(),
                Init::Torchvision if weight && shape.len() == 4 => {
                    let std = (2.0 / (shape[0] * shape[2] * shape[3]) as f32).sqrt();
                    (0..n).map(|_| std * normal(&mut rng)).collect()
                }
                Init::Torchvision | Init::GoogLeNet => {
                    let bound = 1.0 / (fan_in as f32).sqrt();
                    rng.uniform_vec(n, -bound, bound)
                }
            };
            HostTensor {
                shape: Shape(shape),
                data,
            }
        })
        .collect()
}
