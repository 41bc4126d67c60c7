//! Datasets: MNIST-format IDX files (MNIST, Fashion-MNIST, raw or gzip) and the bundled
//! Fashion-MNIST sample; preprocessing (padding, normalisation) and seeded batching.

pub mod idx;

use crate::error::{Error, Result};
use crate::tensor::SplitMix64;
use std::path::{Path, PathBuf};

/// Which dataset a directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    Mnist,
    FashionMnist,
}

impl DatasetKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion-mnist" => Ok(DatasetKind::FashionMnist),
            other => Err(Error::invalid(
                "--dataset",
                format!("'{other}'; expected mnist or fashion-mnist"),
            )),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }
    /// Training-set pixel mean and standard deviation on [0, 1].
    pub fn mean_std(self) -> (f32, f32) {
        match self {
            DatasetKind::Mnist => (0.1307, 0.3081),
            DatasetKind::FashionMnist => (0.2860, 0.3530),
        }
    }
    pub fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            DatasetKind::Mnist => &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
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
        };
        names.iter().map(|s| s.to_string()).collect()
    }
}

/// Images as stored (u8, [N, C, H, W]) with their labels.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub labels: Vec<u32>,
    pub class_names: Vec<String>,
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
    fn image(&self, i: usize) -> &[u8] {
        let n = self.channels * self.height * self.width;
        &self.images[i * n..(i + 1) * n]
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
    })
}

/// Loads the train and test splits of an IDX dataset from `dir`.
pub fn load_idx(kind: DatasetKind, dir: &Path) -> Result<Splits> {
    Ok(Splits {
        train: load_pair(dir, "train", kind)?,
        test: load_pair(dir, "t10k", kind)?,
    })
}

/// How raw images become network inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Zero pixels added on each side before normalising (LeNet-5: 28x28 -> 32x32).
    pub pad: usize,
    pub mean: f32,
    pub std: f32,
}

impl Preprocess {
    /// The input size for images of `h x w`.
    pub fn output_hw(&self, h: usize, w: usize) -> (usize, usize) {
        (h + 2 * self.pad, w + 2 * self.pad)
    }

    /// Appends image `i` of `ds`, padded, scaled to [0, 1] and normalised, to `out`.
    pub fn push(&self, ds: &Dataset, i: usize, out: &mut Vec<f32>) {
        let (oh, ow) = self.output_hw(ds.height, ds.width);
        let img = ds.image(i);
        let background = (0.0 - self.mean) / self.std;
        for c in 0..ds.channels {
            for y in 0..oh {
                for x in 0..ow {
                    let inside = y >= self.pad
                        && y < self.pad + ds.height
                        && x >= self.pad
                        && x < self.pad + ds.width;
                    out.push(if inside {
                        let v = img[(c * ds.height + y - self.pad) * ds.width + x - self.pad]
                            as f32
                            / 255.0;
                        (v - self.mean) / self.std
                    } else {
                        background
                    });
                }
            }
        }
    }
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

/// Fills `x` and `labels` with the samples `indices` of `ds`.
pub fn make_batch(
    ds: &Dataset,
    prep: &Preprocess,
    indices: &[usize],
    x: &mut Vec<f32>,
    labels: &mut Vec<u32>,
) {
    x.clear();
    labels.clear();
    for &i in indices {
        prep.push(ds, i, x);
        labels.push(ds.labels[i]);
    }
}
