//! Grids of images: test predictions with their labels, and first-layer filters.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::plot::{Picture, Planar};
use crate::tensor::HostTensor;
use plotters::style::RGBColor;

/// One test image's label and the model's top-1 class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub index: usize,
    pub label: u32,
    pub predicted: u32,
}

impl Prediction {
    pub fn correct(&self) -> bool {
        self.label == self.predicted
    }
}

/// Green for a right prediction, red for a wrong one.
pub const RIGHT: RGBColor = RGBColor(0, 140, 0);
pub const WRONG: RGBColor = RGBColor(210, 0, 0);

/// Where each cell of a prediction grid is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    pub cols: u32,
    pub cell_w: u32,
    pub cell_h: u32,
    pub image_side: u32,
    pub top: u32,
}

impl GridLayout {
    /// Top-left corner of cell `i`.
    pub fn cell(&self, i: usize) -> (u32, u32) {
        let i = i as u32;
        (
            (i % self.cols) * self.cell_w,
            self.top + (i / self.cols) * self.cell_h,
        )
    }

    /// The box (x0, y0, x1, y1) holding cell `i`'s predicted label.
    pub fn predicted_box(&self, i: usize) -> (u32, u32, u32, u32) {
        let (x, y) = self.cell(i);
        let y0 = y + self.image_side + 22;
        (x + 2, y0, x + self.cell_w - 2, y0 + 18)
    }
}

fn short(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let s: String = name.chars().take(max - 1).collect();
        format!("{s}…")
    }
}

/// A grid of `preds` images (at most `cols` a row): each image with "true: …" under it and
/// "pred: …" in green when right, red when wrong.
pub fn predictions_grid(
    ds: &Dataset,
    preds: &[Prediction],
    cols: usize,
    title: &str,
) -> Result<(Picture, GridLayout)> {
    if preds.is_empty() {
        return Err(Error::invalid("predictions", "no images to show"));
    }
    let cols = cols.clamp(1, preds.len()) as u32;
    let rows = (preds.len() as u32).div_ceil(cols);
    let layout = GridLayout {
        cols,
        cell_w: 128,
        cell_h: 96 + 46,
        image_side: 96,
        top: 36,
    };
    let mut pic = Picture::new(cols * layout.cell_w, layout.top + rows * layout.cell_h);
    pic.text(8, 8, title, 20.0, RGBColor(0, 0, 0))?;
    for (k, p) in preds.iter().enumerate() {
        let (x, y) = layout.cell(k);
        let (planes, h, w) = super::thumbnail(ds, p.index, layout.image_side as usize);
        let off_x = (layout.cell_w - w as u32) / 2;
        let img = Planar {
            data: &planes,
            channels: ds.channels,
            height: h,
            width: w,
        };
        pic.blit(x + off_x, y + 2, &img, 1);
        let name = |c: u32| {
            ds.class_names
                .get(c as usize)
                .cloned()
                .unwrap_or_else(|| c.to_string())
        };
        let ty = (y + layout.image_side + 4) as i32;
        pic.text(
            x as i32 + 4,
            ty,
            &short(&format!("true: {}", name(p.label)), 19),
            13.0,
            RGBColor(0, 0, 0),
        )?;
        let color = if p.correct() { RIGHT } else { WRONG };
        pic.text(
            x as i32 + 4,
            ty + 20,
            &short(&format!("pred: {}", name(p.predicted)), 19),
            13.0,
            color,
        )?;
    }
    Ok((pic, layout))
}

/// The first conv layer's kernels ([O, C, kh, kw]) as a mosaic, each normalised on its own
/// (min → black, max → white): RGB for 3 input channels, greyscale otherwise (channel mean).
pub fn filter_mosaic(weights: &HostTensor, title: &str) -> Result<Picture> {
    let dims = &weights.shape.0;
    let [o, c, kh, kw] = dims[..] else {
        return Err(Error::invalid(
            "filters",
            format!(
                "expected conv weights [O, C, kh, kw], got {}",
                weights.shape
            ),
        ));
    };
    let scale = (96 / kh.max(kw)).max(1) as u32;
    let cols = (o as f64).sqrt().ceil() as u32;
    let rows = (o as u32).div_ceil(cols);
    let (cw, ch) = (kw as u32 * scale + 6, kh as u32 * scale + 6);
    let top = 36;
    let mut pic = Picture::new((cols * cw + 6).max(480), top + rows * ch + 6);
    pic.text(8, 8, title, 16.0, RGBColor(0, 0, 0))?;
    let plane = kh * kw;
    for f in 0..o {
        let w = &weights.data[f * c * plane..(f + 1) * c * plane];
        let channels = if c == 3 { 3 } else { 1 };
        let values: Vec<f32> = if c == 3 {
            w.to_vec()
        } else {
            (0..plane)
                .map(|p| (0..c).map(|k| w[k * plane + p]).sum::<f32>() / c as f32)
                .collect()
        };
        let (lo, hi) = values
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let range = (hi - lo).max(1e-12);
        let bytes: Vec<u8> = values
            .iter()
            .map(|&v| ((v - lo) / range * 255.0).round() as u8)
            .collect();
        let (x, y) = ((f as u32 % cols) * cw + 6, top + (f as u32 / cols) * ch + 3);
        let img = Planar {
            data: &bytes,
            channels,
            height: kh,
            width: kw,
        };
        pic.blit(x, y, &img, scale);
    }
    Ok(pic)
}
