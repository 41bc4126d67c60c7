//! Datasets: MNIST-format IDX files (MNIST, Fashion-MNIST, raw or gzip), the bundled
//! Fashion-MNIST sample, STL-10 and image folders; preprocessing (padding, resizing, crops,
//! flips, normalisation) and seeded batching.

pub mod download;
pub mod idx;
pub mod images;
pub mod segment;

use crate::error::{Error, Result};
use crate::tensor::SplitMix64;
use std::path::{Path, PathBuf};

/// Which dataset a directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
    Stl10,
    Folder,
    /// The built-in segmentation set: Fashion-MNIST garments on 64x64 canvases.
    FashionScenes,
    /// Images with a mask each (`images/`, `masks/`).
    SegFolder,
}

impl DatasetKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion-mnist" => Ok(DatasetKind::FashionMnist),
            "stl10" => Ok(DatasetKind::Stl10),
            "folder" => Ok(DatasetKind::Folder),
            "fashion-scenes" => Ok(DatasetKind::FashionScenes),
            "segfolder" => Ok(DatasetKind::SegFolder),
            other => Err(Error::invalid(
                "--dataset",
                format!(
                    "'{other}'; expected mnist, fashion-mnist, stl10, folder, fashion-scenes \
                     or segfolder"
                ),
            )),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Stl10 => "stl10",
            DatasetKind::Folder => "folder",
            DatasetKind::FashionScenes => "fashion-scenes",
            DatasetKind::SegFolder => "segfolder",
        }
    }
    /// Whether the dataset labels every pixel (segmentation) rather than every image.
    pub fn segmentation(self) -> bool {
        matches!(self, DatasetKind::FashionScenes | DatasetKind::SegFolder)
    }
    /// Per-channel pixel mean and standard deviation on [0, 1] (ImageNet's for RGB data).
    pub fn mean_std(self) -> (Vec<f32>, Vec<f32>) {
        match self {
            DatasetKind::Mnist => (vec![0.1307], vec![0.3081]),
            DatasetKind::FashionMnist | DatasetKind::FashionScenes => (vec![0.2860], vec![0.3530]),
            DatasetKind::Stl10 | DatasetKind::Folder | DatasetKind::SegFolder => {
                (vec![0.485, 0.456, 0.406], vec![0.229, 0.224, 0.225])
            }
        }
    }
    pub fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            DatasetKind::Mnist => &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetKind::FashionScenes => {
                let mut v = vec!["background".to_string()];
                v.extend(DatasetKind::FashionMnist.class_names());
                return v;
            }
            DatasetKind::FashionMnist => &[
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
            // Read from the data (STL-10's class_names.txt, folder names).
            DatasetKind::Stl10 | DatasetKind::Folder | DatasetKind::SegFolder => &[],
        };
        names.iter().map(|s| s.to_string()).collect()
    }
}

/// Images as stored (u8, [N, C, H, W]) with their labels: one per image, or for a
/// segmentation dataset one per pixel in `masks` (u8, [N, H, W]; 255 ignored), `labels` then
/// holding 0 for every image.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub labels: Vec<u32>,
    pub class_names: Vec<String>,
    pub masks: Option<Vec<u8>>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.channels * self.height * self.width;
        &self.images[i * n..(i + 1) * n]
    }

    /// Keeps only the first `n` images (all of them when there are fewer).
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.images
            .truncate(n * self.channels * self.height * self.width);
        if let Some(m) = self.masks.as_mut() {
            m.truncate(n * self.height * self.width);
        }
    }

    /// Image `i`'s mask (a segmentation dataset's), [H, W].
    pub fn mask(&self, i: usize) -> Option<&[u8]> {
        let n = self.height * self.width;
        self.masks.as_ref().map(|m| &m[i * n..(i + 1) * n])
    }
}

/// A training and a test split.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub test: Dataset,
}

/// The folder of the Fashion-MNIST sample bundled with cnngpu (the default dataset).
pub fn bundled_sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fashion-mnist-sample")
}

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::data(
        dir.join(format!("{stem}.gz")),
        format!(
            "missing. Put the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, \
             t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz) in {}",
            dir.display()
        ),
    ))
}

fn load_pair(dir: &Path, prefix: &str, kind: DatasetKind) -> Result<Dataset> {
    let ipath = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lpath = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let images = idx::read(&ipath)?;
    let labels = idx::read(&lpath)?;
    if images.dims.len() != 3 {
        return Err(Error::data(
            &ipath,
            format!("expected 3 dimensions (N, H, W), found {:?}", images.dims),
        ));
    }
    if labels.dims.len() != 1 {
        return Err(Error::data(
            &lpath,
            format!("expected 1 dimension (N), found {:?}", labels.dims),
        ));
    }
    if images.dims[0] != labels.dims[0] {
        return Err(Error::data(
            &lpath,
            format!(
                "{} labels for {} images in {}",
                labels.dims[0],
                images.dims[0],
                ipath.display()
            ),
        ));
    }
    let classes = kind.class_names();
    if let Some(bad) = labels.data.iter().find(|&&l| l as usize >= classes.len()) {
        return Err(Error::data(
            &lpath,
            format!("label {bad} is outside 0..{}", classes.len()),
        ));
    }
    Ok(Dataset {
        channels: 1,
        height: images.dims[1],
        width: images.dims[2],
        images: images.data,
        labels: labels.data.iter().map(|&l| l as u32).collect(),
        class_names: classes,
        masks: None,
    })
}

/// Loads the train and test splits of an IDX dataset from `dir`.
pub fn load_idx(kind: DatasetKind, dir: &Path) -> Result<Splits> {
    Ok(Splits {
        train: load_pair(dir, "train", kind)?,
        test: load_pair(dir, "t10k", kind)?,
    })
}

/// How raw images become network inputs: optional resize to `resize` x `resize` (bilinear),
/// a `crop` x `crop` window (random in training, central otherwise), a random horizontal flip
/// in training, zero padding of `pad` pixels, scaling to [0, 1] and per-channel normalisation.
/// With `channels` above the data's (a grey dataset into a 3-channel model) the one channel is
/// repeated, so the input has the model's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Channels of the output: the data's, or more when one grey channel is repeated.
    pub channels: usize,
    pub pad: usize,
    pub resize: Option<usize>,
    pub crop: Option<usize>,
    pub flip: bool,
    /// Random crops and flips in training (false: every epoch sees the central crop, unflipped;
    /// `--no-augment`).
    pub augment: bool,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Preprocess {
    /// Padding and normalisation only (the MNIST family into LeNet-5).
    pub fn padded(pad: usize, mean: Vec<f32>, std: Vec<f32>) -> Self {
        Preprocess {
            channels: mean.len(),
            pad,
            resize: None,
            crop: None,
            flip: false,
            augment: false,
            mean,
            std,
        }
    }

    /// The input size for images of `h x w`.
    pub fn output_hw(&self, h: usize, w: usize) -> (usize, usize) {
        let (h, w) = self.resize.map_or((h, w), |s| (s, s));
        let (h, w) = self.crop.map_or((h, w), |c| (c, c));
        (h + 2 * self.pad, w + 2 * self.pad)
    }

    /// Where the next sample's crop lies and whether it is flipped: `rng` (training) draws
    /// them; without it the crop is central and nothing is flipped.
    fn geometry(&self, ds: &Dataset, rng: Option<&mut SplitMix64>) -> Geometry {
        let mut rng = rng.filter(|_| self.augment);
        let (sh, sw) = self.resize.map_or((ds.height, ds.width), |s| (s, s));
        let (ch, cw) = self.crop.map_or((sh, sw), |c| (c, c));
        let (top, left) = match rng.as_deref_mut() {
            Some(r) => (
                (r.next_u64() % (sh - ch + 1) as u64) as usize,
                (r.next_u64() % (sw - cw + 1) as u64) as usize,
            ),
            None => ((sh - ch) / 2, (sw - cw) / 2),
        };
        let flip = self.flip && rng.is_some_and(|r| r.next_u64() & 1 == 1);
        Geometry {
            top,
            left,
            flip,
            resized: (sh, sw),
            crop: (ch, cw),
        }
    }

    /// Appends image `i` of `ds`, preprocessed, to `out`. `rng` (training) draws the crop and
    /// the flip; without it the crop is central and nothing is flipped.
    pub fn push(&self, ds: &Dataset, i: usize, out: &mut Vec<f32>, rng: Option<&mut SplitMix64>) {
        let g = self.geometry(ds, rng);
        self.push_image(ds, i, &g, out);
    }

    /// Appends image `i`'s mask to `labels` as `push` placed the image with `g`: the same
    /// crop and flip, nearest-neighbour resizing, padding ignored.
    fn push_mask(&self, ds: &Dataset, i: usize, g: &Geometry, labels: &mut Vec<u32>) {
        let mask = ds.mask(i).expect("a segmentation dataset");
        let ((sh, sw), (ch, cw)) = (g.resized, g.crop);
        let (oh, ow) = (ch + 2 * self.pad, cw + 2 * self.pad);
        for y in 0..oh {
            for x in 0..ow {
                let inside =
                    y >= self.pad && y < self.pad + ch && x >= self.pad && x < self.pad + cw;
                if !inside {
                    labels.push(crate::ops::pixel_loss::IGNORE_LABEL);
                    continue;
                }
                let yy = g.top + y - self.pad;
                let xx = match g.flip {
                    true => g.left + cw - 1 - (x - self.pad),
                    false => g.left + x - self.pad,
                };
                // The stored pixel whose centre is nearest.
                let sy = ((yy as f32 + 0.5) * ds.height as f32 / sh as f32) as usize;
                let sx = ((xx as f32 + 0.5) * ds.width as f32 / sw as f32) as usize;
                let v = mask[sy.min(ds.height - 1) * ds.width + sx.min(ds.width - 1)];
                labels.push(v as u32);
            }
        }
    }

    fn push_image(&self, ds: &Dataset, i: usize, g: &Geometry, out: &mut Vec<f32>) {
        let img = ds.image(i);
        let (top, left, flip) = (g.top, g.left, g.flip);
        let ((sh, sw), (ch, cw)) = (g.resized, g.crop);
        let (oh, ow) = (ch + 2 * self.pad, cw + 2 * self.pad);
        // Source pixel of resized-image coordinate (y, x): bilinear on the stored image.
        let sample = |c: usize, y: usize, x: usize| -> f32 {
            if self.resize.is_none() {
                return img[(c * ds.height + y) * ds.width + x] as f32;
            }
            let fy = ((y as f32 + 0.5) * ds.height as f32 / sh as f32 - 0.5)
                .clamp(0.0, (ds.height - 1) as f32);
            let fx = ((x as f32 + 0.5) * ds.width as f32 / sw as f32 - 0.5)
                .clamp(0.0, (ds.width - 1) as f32);
            let (y0, x0) = (fy.floor() as usize, fx.floor() as usize);
            let (y1, x1) = ((y0 + 1).min(ds.height - 1), (x0 + 1).min(ds.width - 1));
            let (ty, tx) = (fy - y0 as f32, fx - x0 as f32);
            let p = |y: usize, x: usize| img[(c * ds.height + y) * ds.width + x] as f32;
            (p(y0, x0) * (1.0 - tx) + p(y0, x1) * tx) * (1.0 - ty)
                + (p(y1, x0) * (1.0 - tx) + p(y1, x1) * tx) * ty
        };
        for out_c in 0..self.channels {
            // A grey image repeated into every output channel.
            let c = out_c.min(ds.channels - 1);
            let (mean, std) = (
                self.mean[out_c.min(self.mean.len() - 1)],
                self.std[out_c.min(self.std.len() - 1)],
            );
            for y in 0..oh {
                for x in 0..ow {
                    let inside =
                        y >= self.pad && y < self.pad + ch && x >= self.pad && x < self.pad + cw;
                    let v = if inside {
                        let (yy, xx) = (top + y - self.pad, left + x - self.pad);
                        let xx = if flip {
                            left + cw - 1 - (x - self.pad)
                        } else {
                            xx
                        };
                        sample(c, yy, xx) / 255.0
                    } else {
                        0.0
                    };
                    out.push((v - mean) / std);
                }
            }
        }
    }
}

/// Where one sample's crop lies in its resized image and whether it is flipped (drawn once,
/// applied to the image and its mask alike).
struct Geometry {
    top: usize,
    left: usize,
    flip: bool,
    resized: (usize, usize),
    crop: (usize, usize),
}

/// A seeded permutation of 0..n (Fisher-Yates), one per epoch.
pub fn shuffled(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = SplitMix64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Fills `x` and `labels` with the samples `indices` of `ds` (a label per image, or per
/// pixel of a segmentation dataset, placed as its image); `rng` turns augmentation on.
pub fn make_batch(
    ds: &Dataset,
    prep: &Preprocess,
    indices: &[usize],
    x: &mut Vec<f32>,
    labels: &mut Vec<u32>,
    mut rng: Option<&mut SplitMix64>,
) {
    x.clear();
    labels.clear();
    for &i in indices {
        let g = prep.geometry(ds, rng.as_deref_mut());
        prep.push_image(ds, i, &g, x);
        match ds.masks {
            Some(_) => prep.push_mask(ds, i, &g, labels),
            None => labels.push(ds.labels[i]),
        }
    }
}

/// Where downloaded datasets live by default: `$CNNGPU_CACHE`, else `$XDG_CACHE_HOME/cnngpu`,
/// else `~/.cache/cnngpu`, else `.cnngpu-cache` in the working directory.
pub fn cache_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("CNNGPU_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("cnngpu")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("cnngpu")))
        .unwrap_or_else(|| PathBuf::from(".cnngpu-cache"))
}

/// Loads any dataset kind; image folders are decoded at `folder_side` x `folder_side`
/// (`classes`: a segfolder's classes, None to read them from its masks).
pub fn load(
    kind: DatasetKind,
    dir: &Path,
    folder_side: usize,
    classes: Option<usize>,
) -> Result<Splits> {
    match kind {
        DatasetKind::FashionScenes => Ok(segment::fashion_scenes(&load(
            DatasetKind::FashionMnist,
            dir,
            folder_side,
            None,
        )?)),
        DatasetKind::SegFolder => segment::load_segfolder(dir, folder_side, classes),
        DatasetKind::FashionMnist | DatasetKind::Mnist => {
            // Missing files come from the official source (checked), when it is reachable.
            let complete = [
                "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte",
            ]
            .iter()
            .all(|stem| find(dir, stem).is_ok());
            if !complete {
                let source = match kind {
                    DatasetKind::Mnist => download::mnist(),
                    _ => download::fashion_mnist(),
                };
                download::fetch(&source, dir)?;
            }
            load_idx(kind, dir)
        }
        DatasetKind::Stl10 => {
            let names = images::stl10_class_names(dir);
            Ok(Splits {
                train: images::load_stl10_split(dir, "train", &names)?,
                test: images::load_stl10_split(dir, "test", &names)?,
            })
        }
        DatasetKind::Folder => images::load_folder(dir, folder_side),
    }
}
