//! The trainer: epochs of seeded mini-batches, LR schedules, evaluation with top-1/top-5,
//! `metrics.jsonl`, best/last checkpoints with their resume state, early stopping and Ctrl-C.

pub mod checkpoint;
pub mod commit;
pub mod fault;
mod infer;
pub mod memory;
pub mod run_dir;

pub use infer::{evaluate, infer, Inference};

use crate::data::{self, Dataset, Preprocess};
use crate::error::{Error, Result};
use crate::nn::{Metrics, MetricsValue, Model, StepConfig};
use crate::ops::Backend;
use crate::tensor::Precision;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// How the learning rate changes over epochs (after the warm-up).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        every: usize,
        gamma: f32,
    },
    /// Cosine from the base rate to 0 over the run.
    Cosine,
}

/// Everything that defines a run (saved beside its checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: String,
    pub dataset: String,
    pub data_dir: PathBuf,
    pub groups: usize,
    /// The input side of alexnet and the ResNets (None: the model's default).
    #[serde(default)]
    pub image_size: Option<usize>,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
    /// No weight decay on normalisation layers' weights and biases (`--no-bn-decay`).
    #[serde(default)]
    pub no_bn_decay: bool,
    pub schedule: Schedule,
    /// Epochs of linear warm-up from lr/10... to lr (0: none).
    pub warmup_epochs: usize,
    pub precision: String,
    pub seed: u64,
    /// Stop after this many epochs without a better test top-1 (None: never).
    pub patience: Option<usize>,
    /// Cap on steps per epoch (quick runs and tests).
    pub max_steps: Option<usize>,
    /// Read the device's loss and accuracy counters every this many steps.
    pub log_every: usize,
    /// Weight initialisation (`paper` or `pytorch`); None: the model's own default.
    #[serde(default)]
    pub init: Option<String>,
    /// No random crops or flips in training (`--no-augment`).
    #[serde(default)]
    pub no_augment: bool,
    /// GoogLeNet without its auxiliary classifiers (`--no-aux`).
    #[serde(default)]
    pub no_aux: bool,
    /// Train on the first this many training images only (None: all).
    #[serde(default)]
    pub train_images: Option<usize>,
    /// Test on the first this many test images only (None: all).
    #[serde(default)]
    pub test_images: Option<usize>,
    /// U-Net's channels at the top level and input channels (None: the model's default).
    #[serde(default)]
    pub base_channels: Option<usize>,
    #[serde(default)]
    pub in_channels: Option<usize>,
    /// A segfolder's classes (None: read from its masks).
    #[serde(default)]
    pub classes: Option<usize>,
}

impl TrainConfig {
    pub fn precision(&self) -> Result<Precision> {
        Precision::parse(&self.precision)
    }

    /// The learning rate of (0-based) `epoch`.
    pub fn lr_at(&self, epoch: usize) -> f32 {
        if epoch < self.warmup_epochs {
            return self.lr * (epoch + 1) as f32 / (self.warmup_epochs + 1) as f32;
        }
        let e = epoch - self.warmup_epochs;
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Step { every, gamma } => self.lr * gamma.powi((e / every.max(1)) as i32),
            Schedule::Cosine => {
                let span = self.epochs.saturating_sub(self.warmup_epochs).max(1) as f32;
                0.5 * self.lr * (1.0 + (std::f32::consts::PI * e as f32 / span).cos())
            }
        }
    }
}

/// One line of metrics.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub lr: f32,
    pub train_loss: f64,
    pub train_top1: f64,
    pub train_top5: f64,
    pub test_loss: f64,
    pub test_top1: f64,
    pub test_top5: f64,
    pub epoch_s: f64,
    pub train_images_per_s: f64,
    /// Mixed precision: steps skipped for overflow so far, and the loss scale now.
    pub skipped_steps: u32,
    pub loss_scale: f32,
    /// Segmentation: mean IoU and mean Dice over the epoch's training and test pixels (the
    /// top-1 fields then hold pixel accuracy, top-5 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_mean_iou: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_mean_iou: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_mean_dice: Option<f64>,
}

impl EpochRecord {
    /// What the best checkpoint and early stopping compare: test mean IoU for segmentation,
    /// test top-1 otherwise.
    pub fn score(&self) -> f64 {
        self.test_mean_iou.unwrap_or(self.test_top1)
    }
}

/// Where a run stands (saved as `last.state.json`, read by `--resume`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    /// The epoch in progress (0-based) and the next step in it.
    pub epoch: usize,
    pub step: usize,
    pub global_step: u64,
    /// The best [`EpochRecord::score`] so far.
    pub best_test_top1: f64,
    pub epochs_since_best: usize,
    pub scale_state: Option<[u32; 4]>,
    /// Training metrics of the epoch in progress up to `step` (so a resumed epoch reports
    /// the same numbers as an uninterrupted one).
    #[serde(default)]
    pub partial: MetricsValue,
    /// The device's metric counters not yet read back at the stop ([loss sum, samples] and
    /// [top-1, top-5]); restored as they were so sums group exactly as in an unbroken run.
    #[serde(default)]
    pub pending: Option<([f32; 2], Vec<u32>)>,
}

/// The model's input preprocessing for a dataset: LeNet-5 pads the 28x28 MNIST family to
/// 32x32; AlexNet resizes to 256x256 and crops 227x227 (random crop and flip in training);
/// the ResNets resize to their input size (random flips in training).
pub fn preprocess_for(
    model: &str,
    kind: data::DatasetKind,
    input: [usize; 3],
    ds: &Dataset,
) -> Result<Preprocess> {
    let (mean, std) = kind.mean_std();
    let [c, side, _] = input;
    // Grey data feeds a colour model as three equal channels (checkpoints keep the model's
    // shapes, so weights move to and from torchvision's models unchanged).
    if ds.channels != c && !(ds.channels == 1 && c == 3) {
        return Err(Error::invalid(
            model,
            format!(
                "takes {c}-channel images; the data has {} channels",
                ds.channels
            ),
        ));
    }
    if model == "unet" {
        // Segmentation data comes at the model's size; flips only (image and mask alike).
        return Ok(Preprocess {
            channels: c,
            pad: 0,
            resize: (ds.height != side || ds.width != side).then_some(side),
            crop: None,
            flip: true,
            augment: true,
            mean,
            std,
        });
    }
    if model.starts_with("resnet") || model == "googlenet" {
        return Ok(Preprocess {
            channels: c,
            pad: 0,
            resize: Some(side),
            crop: Some(side),
            flip: true,
            augment: true,
            mean,
            std,
        });
    }
    if model == "alexnet" {
        return Ok(Preprocess {
            channels: c,
            pad: 0,
            resize: Some(side.max(256)),
            crop: Some(side),
            flip: true,
            augment: true,
            mean,
            std,
        });
    }
    let pad = side
        .checked_sub(ds.height)
        .filter(|d| d % 2 == 0 && ds.height == ds.width)
        .ok_or_else(|| {
            Error::invalid(
                model,
                format!(
                    "takes {side}x{side} inputs; the data is {}x{}",
                    ds.height, ds.width
                ),
            )
        })?
        / 2;
    Ok(Preprocess {
        channels: c,
        ..Preprocess::padded(pad, mean, std)
    })
}

/// What the trainer reports as it goes (the CLI draws progress bars from it).
pub trait Observer {
    fn epoch_started(&mut self, _epoch: usize, _steps: usize) {}
    fn step(&mut self, _done: usize, _running: &MetricsValue) {}
    fn epoch_finished(&mut self, _record: &EpochRecord) {}
}

/// An observer that says nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Finished,
    EarlyStopped {
        epoch: usize,
    },
    /// Stopped in (0-based) `epoch` after `step` steps; `step` 0: after `epoch` whole epochs.
    Interrupted {
        epoch: usize,
        step: usize,
    },
}

/// A training run in progress.
pub struct Trainer<'a, B: Backend> {
    pub b: &'a B,
    pub model: Model<B>,
    pub state: TrainState,
    pub train: Dataset,
    pub test: Dataset,
    pub prep: Preprocess,
    pub out: Option<PathBuf>,
    pub records: Vec<EpochRecord>,
    pub interrupt: Arc<AtomicBool>,
    /// Stop as on an interrupt after this many steps of this process.
    pub stop_after_steps: Option<u64>,
    /// Every finished epoch's record, from the first (the committed history and this
    /// process's epochs).
    pub history: Vec<EpochRecord>,
    /// The best checkpoint of the last commit in `out`, named again until it improves.
    pub best: Option<commit::FileEntry>,
    /// The generation of the last commit in `out` (0: none).
    pub generation: u64,
}

fn metadata(state: &TrainState, classes: &[String]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("format".into(), "pt".into());
    m.insert("model".into(), state.config.model.clone());
    m.insert("groups".into(), state.config.groups.to_string());
    if let Some(size) = state.config.image_size {
        m.insert("image_size".into(), size.to_string());
    }
    if let Some(c) = state.config.base_channels {
        m.insert("base_channels".into(), c.to_string());
    }
    if let Some(c) = state.config.in_channels {
        m.insert("in_channels".into(), c.to_string());
    }
    m.insert("dataset".into(), state.config.dataset.clone());
    m.insert("classes".into(), classes.join("\t"));
    m.insert("epoch".into(), state.epoch.to_string());
    m
}

impl<B: Backend> Trainer<'_, B> {
    /// Peak device memory of the planned run: parameters plus the buffers of every batch
    /// size, planned largest first so that smaller ones view its buffers where the backend
    /// aliases (see [`memory::MemoryPlan::device_bytes`]).
    pub fn plan(&mut self, eval_batch: usize) -> Result<u64> {
        let bs = self.state.config.batch_size;
        let mut bytes = self.model.parameter_bytes();
        let (training, eval) =
            memory::MemoryPlan::batches(bs, eval_batch, self.train.len(), self.test.len());
        for (size, train) in memory::MemoryPlan::plan_order(&training, &eval) {
            bytes += if train {
                self.model.plan(self.b, size)?
            } else {
                self.model.plan_inference(self.b, size)?
            };
        }
        Ok(bytes)
    }

    /// Commits the run's state to `out` as one set (see [`commit`]): the weights, the
    /// optimizer state, the trainer state, the epoch records and, when `improved`, new best
    /// weights.
    fn commit(&mut self, improved: bool) -> Result<()> {
        let Some(dir) = self.out.clone() else {
            return Ok(());
        };
        let meta = metadata(&self.state, &self.train.class_names);
        let weights = checkpoint::to_safetensors(&self.model.state_dict(self.b)?, &meta)?;
        let optim = checkpoint::to_safetensors(&self.model.velocities(self.b)?, &meta)?;
        let mut state = self.state.clone();
        state.scale_state = self.model.scale_state(self.b)?;
        let best = if improved {
            commit::Best::New(&weights)
        } else {
            commit::Best::Keep(self.best.clone())
        };
        let m = commit::commit(
            &dir,
            commit::Commit {
                generation: self.generation + 1,
                weights: &weights,
                optim: &optim,
                best,
                state,
                records: self.history.clone(),
            },
        )?;
        self.generation = m.generation;
        self.best = m.best;
        Ok(())
    }

    /// Runs the remaining epochs.
    pub fn run(&mut self, observer: &mut dyn Observer, eval_batch: usize) -> Result<Outcome> {
        let cfg = self.state.config.clone();
        let bs = cfg.batch_size;
        let mut metrics: Metrics<B> = self.model.metrics(self.b)?;
        if let Some((totals, counts)) = self.state.pending.take() {
            self.b.write(&mut metrics.totals, &totals)?;
            self.b.write_u32(&mut metrics.counts, &counts)?;
        }
        let (mut x, mut labels) = (Vec::new(), Vec::new());
        let mut steps_here = 0u64;
        let mut last_scale = None;
        while self.state.epoch < cfg.epochs {
            let epoch = self.state.epoch;
            let order = data::shuffled(self.train.len(), cfg.seed, epoch as u64);
            let mut steps = self.train.len().div_ceil(bs);
            if let Some(m) = cfg.max_steps {
                steps = steps.min(m);
            }
            let lr = cfg.lr_at(epoch);
            observer.epoch_started(epoch, steps);
            let started = Instant::now();
            let mut total = std::mem::take(&mut self.state.partial);
            let mut images = 0usize;
            while self.state.step < steps {
                let s = self.state.step;
                let idx = &order[s * bs..((s + 1) * bs).min(order.len())];
                // Augmentation draws from (seed, global step): the same on resume.
                let mut rng = crate::tensor::SplitMix64(
                    cfg.seed ^ self.state.global_step.wrapping_mul(0xA24B_AED4_963E_E407),
                );
                data::make_batch(
                    &self.train,
                    &self.prep,
                    idx,
                    &mut x,
                    &mut labels,
                    Some(&mut rng),
                );
                let step_cfg = StepConfig {
                    lr,
                    momentum: cfg.momentum,
                    weight_decay: cfg.weight_decay,
                    nesterov: cfg.nesterov,
                    seed: cfg.seed as u32,
                    step: self.state.global_step as u32,
                };
                self.model.load_batch(self.b, &x, &labels)?;
                self.model
                    .forward(self.b, idx.len(), true, &step_cfg, &mut metrics)?;
                self.model
                    .backward_and_update(self.b, idx.len(), &step_cfg)?;
                images += idx.len();
                self.state.step += 1;
                self.state.global_step += 1;
                let last = self.state.step == steps;
                let read = self.state.step.is_multiple_of(cfg.log_every.max(1)) || last;
                if !read {
                    self.b.submit()?;
                } else {
                    // The read submits the step with the copies into the readback buffer:
                    // one submit, one map.
                    let (m, scale) = self.model.read_step(self.b, &mut metrics)?;
                    last_scale = scale;
                    if !m.loss_sum.is_finite() && self.model.precision == Precision::F32 {
                        return Err(Error::Diverged(format!(
                            "the training loss became {} in epoch {} (step {}); the last good checkpoint is kept",
                            m.loss_sum,
                            epoch + 1,
                            self.state.step
                        )));
                    }
                    total.add(&m);
                    observer.step(self.state.step, &total);
                }
                steps_here += 1;
                if self.interrupt.load(Ordering::SeqCst)
                    || self.stop_after_steps == Some(steps_here)
                {
                    let (f, i) = self
                        .b
                        .read_together(&[&metrics.totals], &[&metrics.counts])?;
                    let (totals, counts) = (&f[0], &i[0]);
                    self.state.pending = Some(([totals[0], totals[1]], counts.clone()));
                    self.state.partial = total;
                    self.commit(false)?;
                    return Ok(Outcome::Interrupted {
                        epoch,
                        step: self.state.step,
                    });
                }
            }
            let train_s = started.elapsed().as_secs_f64();
            if fault::at("evaluate") == Some(fault::Fault::Interrupt) {
                self.interrupt.store(true, Ordering::SeqCst);
            }
            let (test, _) = evaluate(
                self.b,
                &mut self.model,
                &self.test,
                &self.prep,
                eval_batch,
                false,
            )?;
            // The state read with the epoch's last step (evaluation does not change it).
            let scale = match last_scale.take() {
                Some(s) => Some(s),
                None => self.model.scale_state(self.b)?,
            };
            let record = EpochRecord {
                epoch: epoch + 1,
                lr,
                train_loss: total.loss(),
                train_top1: total.top1(),
                train_top5: total.top5(),
                test_loss: test.loss(),
                test_top1: test.top1(),
                test_top5: test.top5(),
                epoch_s: started.elapsed().as_secs_f64(),
                train_images_per_s: images as f64 / train_s,
                skipped_steps: scale.map_or(0, |s| s[3]),
                loss_scale: scale.map_or(1.0, |s| f32::from_bits(s[0])),
                train_mean_iou: total.segmentation().map(|s| s.mean_iou),
                test_mean_iou: test.segmentation().map(|s| s.mean_iou),
                test_mean_dice: test.segmentation().map(|s| s.mean_dice),
            };
            observer.epoch_finished(&record);
            self.records.push(record.clone());
            self.history.push(record.clone());
            self.state.epoch += 1;
            self.state.step = 0;
            let improved = record.score() > self.state.best_test_top1;
            if improved {
                self.state.best_test_top1 = record.score();
                self.state.epochs_since_best = 0;
            } else {
                self.state.epochs_since_best += 1;
            }
            self.commit(improved)?;
            // Ctrl-C during the test pass: the epoch is committed, then the run stops.
            if self.interrupt.load(Ordering::SeqCst) {
                return Ok(Outcome::Interrupted {
                    epoch: self.state.epoch,
                    step: 0,
                });
            }
            if let Some(p) = cfg.patience {
                if self.state.epochs_since_best >= p && self.state.epoch < cfg.epochs {
                    return Ok(Outcome::EarlyStopped {
                        epoch: self.state.epoch,
                    });
                }
            }
        }
        Ok(Outcome::Finished)
    }
}

/// What `--resume` continues from.
pub struct Resume {
    pub state: TrainState,
    pub weights: checkpoint::Checkpoint,
    pub weights_path: PathBuf,
    pub optim: checkpoint::Checkpoint,
    pub optim_path: PathBuf,
    /// The committed epoch records.
    pub records: Vec<EpochRecord>,
    /// The folder's manifest (`None`: a run folder from before manifests).
    pub manifest: Option<commit::Manifest>,
}

/// Loads the committed state of run folder `dir`: its manifest, verified (every file it names
/// present with its size and MD5), and the checkpoints it names. A folder from before
/// manifests is read as it was written (`last.state.json`, the `last` checkpoints, the
/// complete records of metrics.jsonl up to the state's epoch). A GoogLeNet run from before
/// the auxiliary classifiers (no `no_aux` in its state, read as false; no aux tensors in its
/// weights) goes on without them.
pub fn load_resume(dir: &Path) -> Result<Resume> {
    let mut r = read_resume(dir)?;
    let has_aux = r
        .weights
        .tensors
        .contains_key(crate::nn::models::AUX_TENSOR);
    if r.state.config.model == "googlenet" && !has_aux {
        r.state.config.no_aux = true;
    }
    Ok(r)
}

fn read_resume(dir: &Path) -> Result<Resume> {
    if let Some(m) = commit::read(dir)? {
        commit::verify(dir, &m)?;
        let weights_path = dir.join(&m.last.name);
        let optim_path = dir.join(&m.optim.name);
        return Ok(Resume {
            state: m.state.clone(),
            weights: checkpoint::load(&weights_path)?,
            weights_path,
            optim: checkpoint::load(&optim_path)?,
            optim_path,
            records: m.records.clone(),
            manifest: Some(m),
        });
    }
    let sp = dir.join("last.state.json");
    if !sp.exists() && dir.is_dir() {
        return Err(Error::data(
            dir,
            "holds no committed run to resume (no run.json): a run commits at the end of each \
             epoch and when stopped with Ctrl-C, and this one was stopped before either",
        ));
    }
    let bytes = std::fs::read(&sp).map_err(|e| Error::io(&sp, e))?;
    let state: TrainState = serde_json::from_slice(&bytes)
        .map_err(|e| Error::data(&sp, format!("not a cnngpu run state: {e}")))?;
    commit::check_loss_scale(&state, &sp)?;
    let records: Vec<EpochRecord> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map_while(|l| serde_json::from_str(l).ok())
        .take(state.epoch)
        .collect();
    let weights_path = dir.join("last.safetensors");
    let optim_path = dir.join("last.optim.safetensors");
    let (weights, optim) = (
        checkpoint::load(&weights_path)?,
        checkpoint::load(&optim_path)?,
    );
    // A folder written before run manifests has no checksums; its files name their epoch,
    // which must be the state's (a crash between two of the three writes leaves them apart).
    for (path, ck) in [(&weights_path, &weights), (&optim_path, &optim)] {
        let epoch = ck.metadata.get("epoch").map(String::as_str);
        if epoch != Some(state.epoch.to_string().as_str()) {
            return Err(Error::data(
                dir,
                format!(
                    "a run folder without run.json (written before run manifests) whose files \
                     are not one set: {} holds epoch {}, last.state.json epoch {}",
                    path.display(),
                    epoch.unwrap_or("(none)"),
                    state.epoch
                ),
            ));
        }
    }
    Ok(Resume {
        state,
        weights,
        weights_path,
        optim,
        optim_path,
        records,
        manifest: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(schedule: Schedule, warmup: usize) -> TrainConfig {
        TrainConfig {
            model: "lenet5".into(),
            dataset: "fashion-mnist".into(),
            data_dir: PathBuf::new(),
            groups: 1,
            image_size: None,
            epochs: 10,
            batch_size: 64,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.0,
            nesterov: false,
            no_bn_decay: false,
            no_augment: false,
            no_aux: false,
            schedule,
            warmup_epochs: warmup,
            precision: "f32".into(),
            seed: 0,
            patience: None,
            max_steps: None,
            log_every: 20,
            init: None,
            train_images: None,
            test_images: None,
            base_channels: None,
            in_channels: None,
            classes: None,
        }
    }

    /// A run folder from before run manifests resumes when its files are of the state's
    /// epoch, and is a data error naming the file that is not.
    #[test]
    fn a_folder_without_a_manifest_resumes_only_as_one_set() {
        let dir = std::env::temp_dir().join(format!("cnngpu-legacy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let state = TrainState {
            config: config(Schedule::Constant, 0),
            epoch: 2,
            step: 0,
            global_step: 20,
            best_test_top1: 0.5,
            epochs_since_best: 0,
            scale_state: None,
            partial: MetricsValue::default(),
            pending: None,
        };
        std::fs::write(
            dir.join("last.state.json"),
            serde_json::to_vec(&state).unwrap(),
        )
        .unwrap();
        let file = |epoch: usize| {
            let t = crate::tensor::HostTensor {
                shape: crate::tensor::Shape::new(&[2]),
                data: vec![1.0, 2.0],
            };
            let meta = HashMap::from([("epoch".to_string(), epoch.to_string())]);
            checkpoint::to_safetensors(&[("w".to_string(), t)], &meta).unwrap()
        };
        std::fs::write(dir.join("last.safetensors"), file(2)).unwrap();
        std::fs::write(dir.join("last.optim.safetensors"), file(2)).unwrap();
        let r = load_resume(&dir).expect("one set");
        assert_eq!((r.state.epoch, r.manifest.is_none()), (2, true));
        std::fs::write(dir.join("last.optim.safetensors"), file(1)).unwrap();
        let err = load_resume(&dir).err().expect("not one set").to_string();
        assert!(
            err.contains("last.optim.safetensors holds epoch 1")
                && err.contains("last.state.json epoch 2"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn learning_rate_schedules() {
        let c = config(Schedule::Constant, 0);
        assert!((0..10).all(|e| c.lr_at(e) == 0.1));
        let s = config(
            Schedule::Step {
                every: 3,
                gamma: 0.5,
            },
            0,
        );
        let got: Vec<f32> = (0..7).map(|e| s.lr_at(e)).collect();
        assert_eq!(got, vec![0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
        let cos = config(Schedule::Cosine, 0);
        assert_eq!(cos.lr_at(0), 0.1);
        assert!(
            (cos.lr_at(5) - 0.05).abs() < 1e-6,
            "half-way is half the rate"
        );
        assert!(cos.lr_at(9) < 0.003 && cos.lr_at(9) > 0.0);
        let warm = config(Schedule::Cosine, 2);
        assert!(
            (warm.lr_at(0) - 0.1 / 3.0).abs() < 1e-6 && (warm.lr_at(1) - 0.2 / 3.0).abs() < 1e-6
        );
        assert_eq!(warm.lr_at(2), 0.1, "the schedule starts after the warm-up");
    }
}
