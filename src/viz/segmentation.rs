//! Segmentation pictures: each test image beside its true and predicted masks, classes
//! coloured, with a legend.

use super::class_color;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::ops::pixel_loss::IGNORE_LABEL;
use crate::plot::{Picture, Planar};
use plotters::style::RGBColor;

/// The colour of class `c` in a mask: black for a class named "background", grey for ignored
/// pixels, [`class_color`] otherwise.
pub fn mask_color(c: u32, names: &[String]) -> RGBColor {
    match c {
        IGNORE_LABEL => RGBColor(200, 200, 200),
        c if names.get(c as usize).is_some_and(|n| n == "background") => RGBColor(0, 0, 0),
        c => class_color(c as usize),
    }
}

/// A mask [H, W] as planar RGB.
fn coloured(mask: &[u8], names: &[String]) -> Vec<u8> {
    let n = mask.len();
    let mut rgb = vec![0u8; 3 * n];
    for (i, &m) in mask.iter().enumerate() {
        let RGBColor(r, g, b) = mask_color(m as u32, names);
        (rgb[i], rgb[n + i], rgb[2 * n + i]) = (r, g, b);
    }
    rgb
}

/// Rows of (test image index, predicted mask [H, W]): the image, its true mask and the
/// prediction side by side, each `scale` times its size, and a legend of the classes.
pub fn segmentation_grid(
    ds: &Dataset,
    rows: &[(usize, Vec<u8>)],
    scale: u32,
    title: &str,
) -> Result<Picture> {
    if rows.is_empty() || ds.masks.is_none() {
        return Err(Error::invalid(
            "segmentation",
            "no segmented images to show",
        ));
    }
    let (h, w) = (ds.height as u32 * scale, ds.width as u32 * scale);
    let (gap, top) = (8, 56);
    let names = &ds.class_names;
    let legend_rows = (names.len() as u32 + 1).div_ceil(4);
    let width = (3 * (w + gap) + gap).max(4 * 150);
    let height = top + rows.len() as u32 * (h + gap) + 12 + legend_rows * 20;
    let mut pic = Picture::new(width, height);
    let black = RGBColor(0, 0, 0);
    pic.text(8, 8, title, 18.0, black)?;
    for (k, head) in ["image", "true mask", "prediction"].iter().enumerate() {
        pic.text((gap + k as u32 * (w + gap)) as i32, 34, head, 14.0, black)?;
    }
    for (r, (i, pred)) in rows.iter().enumerate() {
        let y = top + r as u32 * (h + gap);
        let (img, hh, ww) = super::thumbnail(ds, *i, ds.height.max(ds.width));
        let truth = coloured(ds.mask(*i).expect("checked above"), names);
        let pred = coloured(pred, names);
        let panels = [(&img, ds.channels), (&truth, 3), (&pred, 3)];
        for (k, (data, channels)) in panels.into_iter().enumerate() {
            let planar = Planar {
                data,
                channels,
                height: hh,
                width: ww,
            };
            pic.blit(gap + k as u32 * (w + gap), y, &planar, scale);
        }
    }
    // The legend: a swatch and a name per class, then the ignored label.
    let y0 = top + rows.len() as u32 * (h + gap) + 6;
    let entries = (0..names.len() as u32).chain([IGNORE_LABEL]);
    for (k, c) in entries.enumerate() {
        let (x, y) = (gap + (k as u32 % 4) * 150, y0 + (k as u32 / 4) * 20);
        let RGBColor(r, g, b) = mask_color(c, names);
        let sw: Vec<u8> = [r, g, b].iter().flat_map(|&v| [v; 196]).collect();
        let planar = Planar {
            data: &sw,
            channels: 3,
            height: 14,
            width: 14,
        };
        pic.blit(x, y, &planar, 1);
        let name = match c {
            IGNORE_LABEL => "ignored".to_string(),
            c => names[c as usize].clone(),
        };
        pic.text(x as i32 + 18, y as i32, &name, 12.0, black)?;
    }
    Ok(pic)
}

/// A mask of `from` (h, w) resized to `to` by nearest neighbour (pixel centres).
pub fn resize_nearest(mask: &[u8], from: (usize, usize), to: (usize, usize)) -> Vec<u8> {
    if from == to {
        return mask.to_vec();
    }
    let mut out = Vec::with_capacity(to.0 * to.1);
    for y in 0..to.0 {
        let sy = ((2 * y + 1) * from.0 / (2 * to.0)).min(from.0 - 1);
        for x in 0..to.1 {
            let sx = ((2 * x + 1) * from.1 / (2 * to.1)).min(from.1 - 1);
            out.push(mask[sy * from.1 + sx]);
        }
    }
    out
}

/// The predicted mask of each image from its logits `[N, C, H*W]`: the first largest class.
pub fn predicted_masks(logits: &[f32], classes: usize, pixels: usize) -> Vec<Vec<u8>> {
    logits
        .chunks(classes * pixels)
        .map(|img| {
            (0..pixels)
                .map(|p| {
                    let v = |c: usize| img[c * pixels + p];
                    (1..classes).fold(0, |best, c| if v(c) > v(best) { c } else { best }) as u8
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_drawn_in_their_class_colours_beside_the_image() {
        let names: Vec<String> = ["background", "a", "b"].map(String::from).to_vec();
        let mask: Vec<u8> = vec![0, 1, 2, IGNORE_LABEL as u8];
        let ds = Dataset {
            images: vec![0, 85, 170, 255],
            channels: 1,
            height: 2,
            width: 2,
            labels: vec![0],
            class_names: names.clone(),
            masks: Some(mask.clone()),
        };
        let pred = [vec![1, 1, 2, 0]];
        assert_eq!(
            predicted_masks(&[0.0, 1.0, 0.5, 0.5, 0.0, 0.0], 3, 2),
            [vec![1, 0]]
        );
        let pic = segmentation_grid(&ds, &[(0, pred[0].clone())], 10, "t").unwrap();
        // Panels start at x = 8, 8 + 28 and 8 + 56 (20 px images, 8 px gaps), y = 56.
        let at = |panel: u32, px: u32, py: u32| {
            pic.pixel(8 + panel * 28 + px * 10 + 5, 56 + py * 10 + 5)
        };
        let rgb = |c: RGBColor| [c.0, c.1, c.2];
        assert_eq!(at(0, 1, 1), [255, 255, 255]);
        assert_eq!(at(1, 0, 0), [0, 0, 0], "background is black");
        assert_eq!(at(1, 1, 0), rgb(mask_color(1, &names)));
        assert_eq!(at(1, 1, 1), [200, 200, 200], "ignored is grey");
        assert_eq!(at(2, 0, 0), rgb(mask_color(1, &names)));
        assert_eq!(at(2, 0, 1), rgb(mask_color(2, &names)));
        assert_ne!(mask_color(1, &names), mask_color(2, &names));
        // A model of another size: its masks are drawn at the data's.
        assert_eq!(
            resize_nearest(&[1, 2, 3, 4], (2, 2), (4, 4))[..4],
            [1, 1, 2, 2]
        );
        assert_eq!(resize_nearest(&[1, 2, 3, 4], (2, 2), (1, 1)), [4]);
    }
}
