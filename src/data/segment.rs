//! Segmentation data: a label per pixel (`Dataset::masks`). The built-in set places garments
//! of Fashion-MNIST on 64x64 canvases (in the manner of M2NIST, which does so with digits),
//! generated deterministically at load time; `segfolder` reads images and PNG masks.

use super::{images, Dataset, Splits};
use crate::error::{Error, Result};
use crate::ops::pixel_loss::IGNORE_LABEL;
use crate::tensor::SplitMix64;
use std::path::Path;

/// A garment pixel at least this bright is labelled with its class; a fainter one that is not
/// black (the garment's anti-aliased rim) is ignored; black is background (class 0).
const FOREGROUND: u8 = 48;

/// Canvases of `side` x `side` pixels, each holding up to `per_canvas` garments of `src`
/// (28x28 or any smaller square) at seeded positions that do not overlap; `n` canvases drawn
/// from `src`'s images in order. Classes: 0 background, then `src`'s classes from 1.
pub fn scenes(src: &Dataset, n: usize, side: usize, per_canvas: usize, seed: u64) -> Dataset {
    let g = src.height;
    let mut images = vec![0u8; n * side * side];
    let mut masks = vec![0u8; n * side * side];
    let mut rng = SplitMix64(seed);
    let mut next = 0usize;
    for k in 0..n {
        let (img, mask) = (
            &mut images[k * side * side..(k + 1) * side * side],
            &mut masks[k * side * side..(k + 1) * side * side],
        );
        let mut placed: Vec<(usize, usize)> = Vec::new();
        // Rejection sampling of positions, a bounded number of tries per canvas.
        for _ in 0..per_canvas * 8 {
            if placed.len() == per_canvas || side < g {
                break;
            }
            let top = (rng.next_u64() % (side - g + 1) as u64) as usize;
            let left = (rng.next_u64() % (side - g + 1) as u64) as usize;
            let overlaps = placed
                .iter()
                .any(|&(t, l)| top < t + g && t < top + g && left < l + g && l < left + g);
            if overlaps {
                continue;
            }
            placed.push((top, left));
            let i = next % src.len();
            next += 1;
            let class = src.labels[i] as u8 + 1;
            let garment = src.image(i);
            for y in 0..g {
                for x in 0..g {
                    let v = garment[y * g + x];
                    let at = (top + y) * side + left + x;
                    img[at] = v;
                    mask[at] = match v {
                        0 => 0,
                        v if v >= FOREGROUND => class,
                        _ => IGNORE_LABEL as u8,
                    };
                }
            }
        }
    }
    let mut names = vec!["background".to_string()];
    names.extend(src.class_names.iter().cloned());
    Dataset {
        images,
        channels: 1,
        height: side,
        width: side,
        labels: vec![0; n],
        class_names: names,
        masks: Some(masks),
    }
}

/// The built-in segmentation set from a Fashion-MNIST split pair: a canvas for every three
/// garments, 64x64 (training canvases from the training images, test from test).
pub fn fashion_scenes(src: &Splits) -> Splits {
    let side = 64;
    Splits {
        train: scenes(&src.train, src.train.len() / 3, side, 3, 0x5EED_0001),
        test: scenes(&src.test, src.test.len() / 3, side, 3, 0x5EED_0002),
    }
}

/// One split of a `segfolder`: `dir/images/NAME.(png|jpg)` and `dir/masks/NAME.png`, the mask
/// a one-channel PNG of the image's size whose value is each pixel's class (255 ignored).
/// Image and mask are resized to `side` x `side` (bilinear and nearest). Every mask value must
/// be below `classes` or 255.
pub fn load_segfolder_split(dir: &Path, side: usize, classes: usize) -> Result<Dataset> {
    let (idir, mdir) = (dir.join("images"), dir.join("masks"));
    if !idir.is_dir() || !mdir.is_dir() {
        return Err(Error::data(
            dir,
            "expected images/ and masks/ inside (a mask per image, of the same file name as PNG)",
        ));
    }
    let files = images::image_files(&idir)?;
    if files.is_empty() {
        return Err(Error::data(&idir, "holds no PNG or JPEG images"));
    }
    let (mut pixels, mut masks) = (Vec::new(), Vec::new());
    let filter = image::imageops::FilterType::Triangle;
    for f in &files {
        let stem = f.file_stem().unwrap_or_default();
        let mp = mdir.join(stem).with_extension("png");
        if !mp.is_file() {
            return Err(Error::data(
                &mp,
                format!("missing: the mask of {}", f.display()),
            ));
        }
        let img = images::decode(f)?;
        let mask = images::decode(&mp)?;
        if (img.width(), img.height()) != (mask.width(), mask.height()) {
            return Err(Error::data(
                &mp,
                format!(
                    "is {}x{}, its image {} is {}x{}",
                    mask.width(),
                    mask.height(),
                    f.display(),
                    img.width(),
                    img.height()
                ),
            ));
        }
        let mask = mask.to_luma8();
        if let Some(&bad) = mask
            .as_raw()
            .iter()
            .find(|&&v| v as usize >= classes && v as u32 != IGNORE_LABEL)
        {
            return Err(Error::data(
                &mp,
                format!(
                    "holds class {bad}; the classes are 0..{} (255: ignored)",
                    classes - 1
                ),
            ));
        }
        let rgb = img.resize_exact(side as u32, side as u32, filter).to_rgb8();
        for c in 0..3 {
            pixels.extend(rgb.as_raw().iter().skip(c).step_by(3));
        }
        let nearest = image::imageops::FilterType::Nearest;
        let m = image::imageops::resize(&mask, side as u32, side as u32, nearest);
        masks.extend_from_slice(m.as_raw());
    }
    Ok(Dataset {
        images: pixels,
        channels: 3,
        height: side,
        width: side,
        labels: vec![0; files.len()],
        class_names: (0..classes).map(|c| c.to_string()).collect(),
        masks: Some(masks),
    })
}

/// A `segfolder`: `dir/train/{images,masks}` and `dir/test/{images,masks}` (or `val/`),
/// `classes` classes (None: the largest mask value of the training split plus one).
pub fn load_segfolder(dir: &Path, side: usize, classes: Option<usize>) -> Result<Splits> {
    let train = dir.join("train");
    let test = ["test", "val"]
        .iter()
        .map(|d| dir.join(d))
        .find(|d| d.is_dir());
    let (Some(test), true) = (test, train.is_dir()) else {
        return Err(Error::data(
            dir,
            "expected train/images, train/masks, test/images and test/masks (or val/) inside",
        ));
    };
    // Without --classes the training masks say how many there are (read once, at the widest
    // bound); the test masks are then checked against them.
    let train = match classes {
        Some(c) => load_segfolder_split(&train, side, c)?,
        None => {
            let mut t = load_segfolder_split(&train, side, IGNORE_LABEL as usize)?;
            let masks = t.masks.as_deref().unwrap_or_default();
            let max = masks.iter().filter(|&&v| v as u32 != IGNORE_LABEL).max();
            let c = max.map_or(1, |&m| m as usize + 1);
            t.class_names = (0..c).map(|c| c.to_string()).collect();
            t
        }
    };
    let classes = train.classes();
    Ok(Splits {
        test: load_segfolder_split(&test, side, classes)?,
        train,
    })
}
