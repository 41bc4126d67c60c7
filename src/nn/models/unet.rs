//! U-Net (Ronneberger et al. 2015, "U-Net: Convolutional Networks for Biomedical Image
//! Segmentation") as it is usually built now: padded 3x3 convolutions with batch norm, so the
//! output has the input's size. Four down steps (2x2 max pooling, two convolutions doubling
//! the channels), four up steps (a 2x2 transposed convolution of stride 2 halving them, the
//! encoder's feature of that size concatenated before it, two convolutions), a 1x1
//! convolution to the classes. `base` channels at the top (the paper's 64). The names are
//! those of the PyTorch module in scripts/unet.py (`inc.0`, `down1.conv.3`, `up1.up`,
//! `up1.conv.1`, `outc`).

use super::{bn, conv, conv_nobias, pool};
use crate::error::{Error, Result};
use crate::nn::graph::{Graph, LayerKind};
use crate::ops::ConvTranspose2dParams;

/// Two (3x3 conv without bias → batch norm → ReLU) reading `x`, as `{name}.0` … `{name}.5`.
fn double_conv(g: &mut Graph, name: &str, x: Option<usize>, out: usize) -> Result<Option<usize>> {
    let mut h = x;
    for i in [0, 3] {
        let c = g.node(&format!("{name}.{i}"), conv_nobias(out, 3, 1, 1), &[h])?;
        let b = g.node(&format!("{name}.{}", i + 1), bn(), &[Some(c)])?;
        h = Some(g.node(&format!("{name}.{}", i + 2), LayerKind::Relu, &[Some(b)])?);
    }
    Ok(h)
}

/// A 2x2 transposed convolution of stride 2 with a bias (its input is inferred).
fn up_conv(out_channels: usize) -> LayerKind {
    LayerKind::ConvTranspose2d(ConvTranspose2dParams {
        batch: 1,
        in_channels: 0,
        in_h: 0,
        in_w: 0,
        out_channels,
        kernel_h: 2,
        kernel_w: 2,
        stride: 2,
        padding: 0,
        output_padding: 0,
        groups: 1,
        bias: true,
    })
}

/// U-Net for `in_channels`-channel `size`x`size` images (a multiple of 16) into `classes`
/// classes per pixel.
pub fn unet(in_channels: usize, classes: usize, base: usize, size: usize) -> Result<Graph> {
    if size == 0 || !size.is_multiple_of(16) {
        return Err(Error::invalid(
            "unet",
            format!("the input side {size} is not a multiple of 16 (four 2x2 poolings)"),
        ));
    }
    if base == 0 || in_channels == 0 {
        return Err(Error::invalid(
            "unet",
            "base channels and input channels must be positive",
        ));
    }
    let mut g = Graph::new("unet", [in_channels, size, size], classes);
    let mut skips = vec![double_conv(&mut g, "inc", None, base)?];
    let mut x = skips[0];
    for i in 1..=4 {
        let p = g.node(
            &format!("down{i}.pool"),
            LayerKind::MaxPool2d(pool(2, 2)),
            &[x],
        )?;
        x = double_conv(&mut g, &format!("down{i}.conv"), Some(p), base << i)?;
        skips.push(x);
    }
    skips.pop(); // the bottom's output goes up, not across
    for i in 1..=4 {
        let channels = base << (4 - i);
        let up = g.node(&format!("up{i}.up"), up_conv(channels), &[x])?;
        let skip = skips.pop().expect("one per level");
        let cat = g.node(&format!("up{i}.cat"), LayerKind::Concat, &[skip, Some(up)])?;
        x = double_conv(&mut g, &format!("up{i}.conv"), Some(cat), channels)?;
    }
    g.node("outc", conv(classes, 1, 1, 0, 1), &[x])?;
    g.validate()?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_has_the_inputs_size_and_the_modules_names() {
        let g = unet(1, 11, 16, 64).unwrap();
        assert!(g.segmentation());
        assert_eq!(g.layers.last().unwrap().out_shape, [11, 64, 64]);
        let names: Vec<String> = g.parameters().into_iter().map(|p| p.0).collect();
        for n in [
            "inc.0.weight",
            "inc.1.bias",
            "down4.conv.3.weight",
            "up1.up.weight",
            "up1.up.bias",
            "up4.conv.4.weight",
            "outc.weight",
            "outc.bias",
        ] {
            assert!(names.iter().any(|m| m == n), "{n} missing from {names:?}");
        }
        // The up-convolution of the bottom: 256 -> 128 channels, [Cin, Cout, 2, 2].
        let up1 = g.parameters().into_iter().find(|p| p.0 == "up1.up.weight");
        assert_eq!(up1.unwrap().1, vec![256, 128, 2, 2]);
        assert!(unet(1, 11, 16, 40).is_err());
    }
}
