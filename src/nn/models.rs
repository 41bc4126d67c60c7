//! The model zoo: LeNet-5 and AlexNet, layer for layer as in ../shared/peers (parameter names
//! are those of the PyTorch modules there and in scripts/models.py).

use super::graph::{Graph, LayerKind};
use crate::error::{Error, Result};
use crate::ops::{Act, Conv2dParams, LinearParams, LrnParams, Pool2dParams};

fn conv(out_channels: usize, k: usize, stride: usize, padding: usize, groups: usize) -> LayerKind {
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

fn linear(out_features: usize) -> LayerKind {
    LayerKind::Linear(LinearParams {
        batch: 1,
        in_features: 0,
        out_features,
        bias: true,
        act: Act::None,
    })
}

fn pool(kernel: usize, stride: usize) -> Pool2dParams {
    Pool2dParams {
        batch: 1,
        channels: 0,
        in_h: 0,
        in_w: 0,
        kernel,
        stride,
        padding: 0,
        act: Act::None,
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
}

impl Init {
    /// `pytorch` or `paper` (the `--init` option).
    pub fn parse(name: &str) -> Result<Init> {
        match name {
            "pytorch" => Ok(Init::PyTorchDefault),
            "paper" => Ok(Init::AlexNetPaper),
            "kaiming" => Ok(Init::Kaiming),
            other => Err(Error::invalid(
                "--init",
                format!("'{other}'; expected paper, pytorch or kaiming"),
            )),
        }
    }
}

/// The graph and initialisation of a model by name (`lenet5`, `alexnet`).
pub fn by_name(
    name: &str,
    classes: usize,
    groups: usize,
    size: Option<usize>,
) -> Result<(Graph, Init)> {
    match name {
        "lenet5" => Ok((lenet5(classes)?, Init::PyTorchDefault)),
        "alexnet" => Ok((
            alexnet(classes, groups, size.unwrap_or(227))?,
            Init::AlexNetPaper,
        )),
        other => Err(Error::invalid(
            "--model",
            format!("'{other}'; expected lenet5 or alexnet"),
        )),
    }
}
