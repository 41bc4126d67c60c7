//! torchvision's GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions"): its
//! architecture and `state_dict` names (`conv1.conv`, `conv1.bn`, `inception3a.branch2.1.conv`,
//! `fc`) where torchvision departs from the paper — batch norm (eps 0.001) after every
//! convolution instead of local response normalisation, and a 3x3 kernel in the branch the
//! paper gives 5x5 — so weights move both ways. With `aux` the two auxiliary classifiers
//! (`aux1` on inception4a, `aux2` on 4d; torchvision's `aux_logits=True`, its default for
//! training) are loss heads of weight 0.3 in training and skipped in evaluation.

use super::{conv_nobias, linear, pool};
use crate::error::Result;
use crate::nn::graph::{Graph, LayerKind};
use crate::ops::{BatchNormParams, Pool2dParams};

/// A tensor that only a GoogLeNet with its auxiliary classifiers has: how a checkpoint says
/// whether it was built with them.
pub const AUX_TENSOR: &str = "aux1.fc2.weight";

/// torchvision's BasicConv2d reading `x`: `{name}.conv` (no bias) → `{name}.bn` (eps 0.001) →
/// ReLU. Returns the ReLU's node.
fn basic_conv(
    g: &mut Graph,
    name: &str,
    x: Option<usize>,
    out: usize,
    (k, stride, padding): (usize, usize, usize),
) -> Result<Option<usize>> {
    let conv = conv_nobias(out, k, stride, padding);
    let c = g.node(&format!("{name}.conv"), conv, &[x])?;
    let bn = LayerKind::BatchNorm2d(BatchNormParams {
        eps: 1e-3,
        ..BatchNormParams::new(1, 0, 0, 0)
    });
    let b = g.node(&format!("{name}.bn"), bn, &[Some(c)])?;
    Ok(Some(g.node(
        &format!("{name}.relu"),
        LayerKind::Relu,
        &[Some(b)],
    )?))
}

/// Max pooling with `ceil_mode` (every max pool of GoogLeNet).
fn ceil_pool(kernel: usize, stride: usize, padding: usize) -> LayerKind {
    LayerKind::MaxPool2d(Pool2dParams {
        padding,
        ceil_mode: true,
        ..pool(kernel, stride)
    })
}

/// An inception block reading `x`: four branches — 1x1; 1x1 then 3x3; 1x1 then 3x3 (the
/// paper's 5x5); 3x3 max pool then 1x1 — concatenated. `widths`: torchvision's ch1x1,
/// ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj.
fn inception(
    g: &mut Graph,
    name: &str,
    x: Option<usize>,
    [c1, c3r, c3, c5r, c5, pool_proj]: [usize; 6],
) -> Result<Option<usize>> {
    let (one, three) = ((1, 1, 0), (3, 1, 1));
    let b1 = basic_conv(g, &format!("{name}.branch1"), x, c1, one)?;
    let b2 = basic_conv(g, &format!("{name}.branch2.0"), x, c3r, one)?;
    let b2 = basic_conv(g, &format!("{name}.branch2.1"), b2, c3, three)?;
    let b3 = basic_conv(g, &format!("{name}.branch3.0"), x, c5r, one)?;
    let b3 = basic_conv(g, &format!("{name}.branch3.1"), b3, c5, three)?;
    let p = g.node(&format!("{name}.branch4.0"), ceil_pool(3, 1, 1), &[x])?;
    let b4 = basic_conv(g, &format!("{name}.branch4.1"), Some(p), pool_proj, one)?;
    let cat = g.node(
        &format!("{name}.concat"),
        LayerKind::Concat,
        &[b1, b2, b3, b4],
    )?;
    Ok(Some(cat))
}

/// torchvision's InceptionAux reading `x` (a 512- or 528-channel map): adaptive average
/// pooling to 4x4 → `{name}.conv` (BasicConv2d 1x1, 128) → `{name}.fc1` (2048 → 1024) → ReLU
/// → dropout 0.7 → `{name}.fc2`, a loss head of weight 0.3. Returns the head's node.
fn inception_aux(g: &mut Graph, name: &str, x: Option<usize>, classes: usize) -> Result<usize> {
    // adaptive_avg_pool2d to 4x4 (the identity on 4x4 maps: no node).
    let x = match g.shape_of(x) {
        [_, 4, 4] => x,
        _ => {
            let p = Pool2dParams {
                adaptive: Some(4),
                ..pool(1, 1)
            };
            let n = g.node(&format!("{name}.avgpool"), LayerKind::AvgPool2d(p), &[x])?;
            Some(n)
        }
    };
    let x = basic_conv(g, &format!("{name}.conv"), x, 128, (1, 1, 0))?;
    let x = g.node(&format!("{name}.fc1"), linear(1024), &[x])?;
    let x = g.node(&format!("{name}.relu"), LayerKind::Relu, &[Some(x)])?;
    let x = g.node(
        &format!("{name}.dropout"),
        LayerKind::Dropout(0.7),
        &[Some(x)],
    )?;
    let head = g.node(&format!("{name}.fc2"), linear(classes), &[Some(x)])?;
    g.aux_head(head, 0.3)?;
    Ok(head)
}

/// GoogLeNet on 3x`size`x`size` inputs (32 px and up): conv1 7x7/2 → max pool → conv2 1x1 →
/// conv3 3x3 → max pool → inception 3a, 3b → max pool → 4a–4e → max pool 2/2 → 5a, 5b →
/// global average pooling → dropout 0.2 → `fc`; with `aux`, the auxiliary classifiers after
/// inception5b in the node list (torchvision's state_dict order: `aux1`, `aux2`, then `fc`).
pub fn googlenet(classes: usize, size: usize, aux: bool) -> Result<Graph> {
    let mut g = Graph::new("googlenet", [3, size, size], classes);
    let x = basic_conv(&mut g, "conv1", None, 64, (7, 2, 3))?;
    let x = Some(g.node("maxpool1", ceil_pool(3, 2, 0), &[x])?);
    let x = basic_conv(&mut g, "conv2", x, 64, (1, 1, 0))?;
    let x = basic_conv(&mut g, "conv3", x, 192, (3, 1, 1))?;
    let mut x = Some(g.node("maxpool2", ceil_pool(3, 2, 0), &[x])?);
    let mut aux_inputs = Vec::new();
    let blocks: [(&str, [usize; 6]); 9] = [
        ("inception3a", [64, 96, 128, 16, 32, 32]),
        ("inception3b", [128, 128, 192, 32, 96, 64]),
        ("inception4a", [192, 96, 208, 16, 48, 64]),
        ("inception4b", [160, 112, 224, 24, 64, 64]),
        ("inception4c", [128, 128, 256, 24, 64, 64]),
        ("inception4d", [112, 144, 288, 32, 64, 64]),
        ("inception4e", [256, 160, 320, 32, 128, 128]),
        ("inception5a", [256, 160, 320, 32, 128, 128]),
        ("inception5b", [384, 192, 384, 48, 128, 128]),
    ];
    for (name, widths) in blocks {
        x = inception(&mut g, name, x, widths)?;
        if name == "inception4a" || name == "inception4d" {
            aux_inputs.push(x);
        }
        if name == "inception3b" {
            x = Some(g.node("maxpool3", ceil_pool(3, 2, 0), &[x])?);
        }
        if name == "inception4e" {
            x = Some(g.node("maxpool4", ceil_pool(2, 2, 0), &[x])?);
        }
    }
    if aux {
        for (name, input) in ["aux1", "aux2"].into_iter().zip(aux_inputs) {
            inception_aux(&mut g, name, input, classes)?;
        }
    }
    // Global average pooling (adaptive_avg_pool2d to 1x1; the maps are square) and flatten.
    let [_, h, _] = g.shape_of(x);
    let x = g.node("avgpool", LayerKind::AvgPool2d(pool(h, h)), &[x])?;
    let x = g.node("dropout", LayerKind::Dropout(0.2), &[Some(x)])?;
    g.node("fc", linear(classes), &[Some(x)])?;
    g.validate()?;
    Ok(g)
}
