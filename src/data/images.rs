//! STL-10 (binary format) and image folders (a subfolder per class, PNG or JPEG).

use super::Dataset;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

const STL_SIDE: usize = 96;
const STL_IMAGE: usize = 3 * STL_SIDE * STL_SIDE;

/// Reads one STL-10 split (`{prefix}_X.bin`, `{prefix}_y.bin`): images stored as three
/// column-major 96x96 planes, labels 1..10.
pub fn load_stl10_split(dir: &Path, prefix: &str, class_names: &[String]) -> Result<Dataset> {
    let xp = dir.join(format!("{prefix}_X.bin"));
    let yp = dir.join(format!("{prefix}_y.bin"));
    let missing = |p: &Path| {
        Error::data(
            p,
            format!(
                "missing. Put STL-10's binary files (train_X.bin, train_y.bin, test_X.bin, test_y.bin, class_names.txt) in {}",
                dir.display()
            ),
        )
    };
    if !xp.is_file() {
        return Err(missing(&xp));
    }
    if !yp.is_file() {
        return Err(missing(&yp));
    }
    let raw = std::fs::read(&xp).map_err(|e| Error::io(&xp, e))?;
    let labels = std::fs::read(&yp).map_err(|e| Error::io(&yp, e))?;
    if raw.len() % STL_IMAGE != 0 {
        return Err(Error::data(
            &xp,
            format!(
                "truncated: {} bytes is not a whole number of {STL_IMAGE}-byte 3x96x96 images ({} images and {} bytes over)",
                raw.len(),
                raw.len() / STL_IMAGE,
                raw.len() % STL_IMAGE
            ),
        ));
    }
    let n = raw.len() / STL_IMAGE;
    if labels.len() != n {
        return Err(Error::data(
            &yp,
            format!("{} labels for {n} images in {}", labels.len(), xp.display()),
        ));
    }
    if let Some(bad) = labels
        .iter()
        .find(|&&l| l == 0 || l as usize > class_names.len())
    {
        return Err(Error::data(
            &yp,
            format!("label {bad} is outside 1..{}", class_names.len()),
        ));
    }
    // Column-major planes to row-major.
    let mut images = vec![0u8; raw.len()];
    for (src, dst) in raw
        .chunks_exact(STL_SIDE * STL_SIDE)
        .zip(images.chunks_exact_mut(STL_SIDE * STL_SIDE))
    {
        for r in 0..STL_SIDE {
            for c in 0..STL_SIDE {
                dst[r * STL_SIDE + c] = src[c * STL_SIDE + r];
            }
        }
    }
    Ok(Dataset {
        images,
        channels: 3,
        height: STL_SIDE,
        width: STL_SIDE,
        labels: labels.iter().map(|&l| l as u32 - 1).collect(),
        class_names: class_names.to_vec(),
        masks: None,
    })
}

/// STL-10's class names (class_names.txt when present).
pub fn stl10_class_names(dir: &Path) -> Vec<String> {
    match std::fs::read_to_string(dir.join("class_names.txt")) {
        Ok(s) if s.lines().filter(|l| !l.trim().is_empty()).count() == 10 => s
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect(),
        _ => [
            "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck",
        ]
        .map(String::from)
        .to_vec(),
    }
}

fn class_dirs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut classes: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    classes.sort();
    if classes.is_empty() {
        return Err(Error::data(
            dir,
            "has no class subfolders (expected one folder of images per class)",
        ));
    }
    Ok(classes)
}

/// The largest image a folder may hold, in pixels a side and bytes its decoder may allocate
/// (an 85-megapixel RGB photo): a header that claims more is an error before any allocation.
pub const IMAGE_LIMITS: (u32, u64) = (16_384, 256 << 20);

/// Decodes one PNG or JPEG file within [`IMAGE_LIMITS`].
pub(crate) fn decode(path: &Path) -> Result<image::DynamicImage> {
    let mut reader = image::ImageReader::open(path).map_err(|e| Error::io(path, e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(IMAGE_LIMITS.0);
    limits.max_image_height = Some(IMAGE_LIMITS.0);
    limits.max_alloc = Some(IMAGE_LIMITS.1);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| Error::data(path, format!("cannot decode image: {e}")))
}

/// The PNG and JPEG files of `dir`, sorted by name.
pub(crate) fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Loads a folder of class subfolders, every image decoded and resized to `side` x `side` RGB.
pub fn load_folder_split(dir: &Path, class_names: &[String], side: usize) -> Result<Dataset> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (label, name) in class_names.iter().enumerate() {
        let cdir = dir.join(name);
        for f in image_files(&cdir)? {
            let img = decode(&f)?;
            let rgb = img
                .resize_exact(
                    side as u32,
                    side as u32,
                    image::imageops::FilterType::Triangle,
                )
                .to_rgb8();
            // HWC to CHW.
            let px = rgb.as_raw();
            for c in 0..3 {
                images.extend(px.iter().skip(c).step_by(3));
            }
            labels.push(label as u32);
        }
    }
    if labels.is_empty() {
        return Err(Error::data(dir, "holds no PNG or JPEG images"));
    }
    Ok(Dataset {
        images,
        channels: 3,
        height: side,
        width: side,
        labels,
        class_names: class_names.to_vec(),
        masks: None,
    })
}

/// An image-folder dataset: `dir/train/<class>/*` and `dir/test/<class>/*` (or `val`).
pub fn load_folder(dir: &Path, side: usize) -> Result<super::Splits> {
    let train_dir = dir.join("train");
    let test_dir = ["test", "val"]
        .iter()
        .map(|d| dir.join(d))
        .find(|d| d.is_dir());
    let (Some(test_dir), true) = (test_dir, train_dir.is_dir()) else {
        return Err(Error::data(
            dir,
            "expected train/<class>/*.png|jpg and test/<class>/*.png|jpg (or val/) inside the folder",
        ));
    };
    let names: Vec<String> = class_dirs(&train_dir)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let test_names: Vec<String> = class_dirs(&test_dir)?.into_iter().map(|(n, _)| n).collect();
    if names != test_names {
        return Err(Error::data(
            &test_dir,
            format!("has classes {test_names:?}, train has {names:?}"),
        ));
    }
    Ok(super::Splits {
        train: load_folder_split(&train_dir, &names, side)?,
        test: load_folder_split(&test_dir, &names, side)?,
    })
}
