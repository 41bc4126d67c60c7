//! What the network learned, as pictures: prediction grids, first-layer filters, 2-D
//! embeddings of features (PNG and hoverable HTML), training curves and the confusion matrix.
//! Everything is drawn with the bundled font ([`crate::plot`]) and depends only on its inputs
//! and seed.

pub mod charts;
pub mod embed;
pub mod grids;
pub mod html;
pub mod segmentation;

pub use charts::{confusion_heatmap, curves};
pub use grids::{filter_mosaic, predictions_grid, GridLayout, Prediction};
pub use segmentation::{predicted_masks, segmentation_grid};

use crate::data::Dataset;
use plotters::style::RGBColor;

/// Class colours: the ten hues of [`crate::plot::color`], then darker shades of them.
pub fn class_color(c: usize) -> RGBColor {
    let base = crate::plot::color(c);
    let shade = (c / 10) as u8 % 3;
    let f = |v: u8| v.saturating_sub(shade * 50);
    RGBColor(f(base.0), f(base.1), f(base.2))
}

/// The source pixels [a, b) behind output pixel `o` of `out` when scaling `len` pixels:
/// one pixel when enlarging (nearest neighbour), the covered ones when shrinking.
fn span(o: usize, len: usize, out: usize) -> (usize, usize) {
    let a = o * len / out;
    if out >= len {
        (a, a + 1)
    } else {
        (a, ((o + 1) * len).div_ceil(out).clamp(a + 1, len))
    }
}

/// Image `i` of `ds` scaled to fit `side` x `side` (nearest neighbour up, area-averaged down),
/// planar [C, H, W].
pub fn thumbnail(ds: &Dataset, i: usize, side: usize) -> (Vec<u8>, usize, usize) {
    let (c, h, w) = (ds.channels, ds.height, ds.width);
    let plane = h * w;
    let src = &ds.images[i * c * plane..(i + 1) * c * plane];
    let scale = side as f64 / h.max(w) as f64;
    let (oh, ow) = (
        ((h as f64 * scale).round() as usize).max(1),
        ((w as f64 * scale).round() as usize).max(1),
    );
    let mut out = vec![0u8; c * oh * ow];
    for ch in 0..c {
        for y in 0..oh {
            let (y0, y1) = span(y, h, oh);
            for x in 0..ow {
                let (x0, x1) = span(x, w, ow);
                let mut sum = 0u32;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        sum += src[ch * plane + yy * w + xx] as u32;
                    }
                }
                let count = ((y1 - y0) * (x1 - x0)) as u32;
                out[ch * oh * ow + y * ow + x] = (sum / count.max(1)) as u8;
            }
        }
    }
    (out, oh, ow)
}

/// A thumbnail as a PNG data URI (for the HTML embeddings page): at most `side` pixels, never
/// enlarged (the page scales it), greyscale for one-channel images.
pub fn thumbnail_data_uri(ds: &Dataset, i: usize, side: usize) -> crate::Result<String> {
    let (planes, h, w) = thumbnail(ds, i, side.min(ds.height.max(ds.width)));
    let (pixels, color) = if ds.channels == 3 {
        let rgb: Vec<u8> = (0..h * w)
            .flat_map(|p| (0..3).map(move |ch| (ch, p)))
            .map(|(ch, p)| planes[ch * h * w + p])
            .collect();
        (rgb, image::ExtendedColorType::Rgb8)
    } else {
        (planes, image::ExtendedColorType::L8)
    };
    let mut bytes = Vec::new();
    image::write_buffer_with_format(
        &mut std::io::Cursor::new(&mut bytes),
        &pixels,
        w as u32,
        h as u32,
        color,
        image::ImageFormat::Png,
    )
    .map_err(|e| crate::Error::invalid("thumbnail", e.to_string()))?;
    use base64::Engine;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

use crate::error::{Error, Result};
use crate::nn::{Graph, LayerKind};

/// The layer whose output `viz embeddings` projects: `name`, or by default the last layer
/// before the first linear one (the end of the convolutional blocks).
pub fn feature_layer(graph: &Graph, name: Option<&str>) -> Result<usize> {
    match name {
        Some(n) => graph
            .layers
            .iter()
            .position(|l| l.name == n)
            .ok_or_else(|| {
                let names: Vec<&str> = graph.layers.iter().map(|l| l.name.as_str()).collect();
                Error::invalid(
                    "--layer",
                    format!("'{n}' is not a layer; the layers are {}", names.join(", ")),
                )
            }),
        None => graph
            .layers
            .iter()
            .position(|l| matches!(l.kind, LayerKind::Linear(_)))
            .filter(|&i| i > 0)
            .map(|i| i - 1)
            .ok_or_else(|| {
                Error::invalid(
                    "--layer",
                    "the model has no conv block before a linear layer",
                )
            }),
    }
}

/// The top-1 class of each row of `logits` ([n, classes]); ties go to the lower class.
pub fn top1(logits: &[f32], classes: usize) -> Vec<u32> {
    logits
        .chunks(classes)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Counts of (true class, predicted class).
pub fn confusion(labels: &[u32], predicted: &[u32], classes: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; classes]; classes];
    for (&l, &p) in labels.iter().zip(predicted) {
        m[l as usize][p as usize] += 1;
    }
    m
}

/// `count` distinct indices below `n`, seeded (all of them, shuffled, when count >= n).
pub fn sample_indices(n: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut order = crate::data::shuffled(n, seed, 0);
    order.truncate(count.min(n));
    order
}
