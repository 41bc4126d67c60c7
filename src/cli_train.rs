//! `cnngpu train` and `cnngpu eval`: argument handling, progress display and reports.
//! (A module of the binary; the work is done by the library's `train` module.)

use anyhow::Result;
use cnngpu::data::{self, DatasetKind};
use cnngpu::nn::graph::Graph;
use cnngpu::nn::{initial_parameters, models, Model};
use cnngpu::ops::Backend;
use cnngpu::tensor::Precision;
use cnngpu::train::memory::{self, DeviceMemory, MemoryPlan};
use cnngpu::train::{
    self, checkpoint, commit, run_dir, Outcome, Schedule, TrainConfig, TrainState, Trainer,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::cli_report::{check_splits, Progress};
use crate::cli_values::{at_least_one, gamma, groups, momentum, non_negative};

pub fn data_dir(kind: DatasetKind, given: Option<PathBuf>) -> Result<PathBuf> {
    match (given, kind) {
        (Some(d), _) => Ok(d),
        (None, DatasetKind::FashionMnist | DatasetKind::FashionScenes) => {
            Ok(data::bundled_sample_dir())
        }
        // Downloaded (checked) into the user's cache on first use.
        (None, DatasetKind::Mnist) => Ok(data::cache_dir().join("mnist")),
        (None, k) => Err(cnngpu::Error::invalid(
            "--data-dir",
            format!("{} needs --data-dir", k.name()),
        )
        .into()),
    }
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// lenet5, alexnet, resnet18, resnet34, resnet50, googlenet or unet (segmentation).
    #[arg(long, default_value = "lenet5", value_parser = cnngpu::nn::models::MODELS)]
    pub model: String,
    /// fashion-mnist or mnist (IDX files), stl10, or folder (train/<class>/, test/<class>/);
    /// for unet: fashion-scenes (built in: garments of the Fashion-MNIST sample on 64x64
    /// canvases, a class per pixel) or segfolder (train/images, train/masks, test/...).
    /// Default: fashion-mnist, fashion-scenes for unet.
    #[arg(long, value_parser = ["fashion-mnist", "mnist", "stl10", "folder", "fashion-scenes",
          "segfolder"])]
    pub dataset: Option<String>,
    /// Folder of the dataset's files (default for fashion-mnist: the bundled 5,000-image sample).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Epochs to train (default 4); with --resume, extends the run to this many epochs.
    #[arg(long, value_parser = at_least_one)]
    pub epochs: Option<usize>,
    /// Images per step; capped at the training set's size.
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Learning rate (finite, at least 0).
    #[arg(long, default_value_t = 0.01, value_parser = non_negative)]
    pub lr: f32,
    /// SGD momentum, 0 to 1.
    #[arg(long, default_value_t = 0.9, value_parser = momentum)]
    pub momentum: f32,
    /// L2 weight decay (finite, at least 0).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative)]
    pub weight_decay: f32,
    #[arg(long)]
    pub nesterov: bool,
    /// No weight decay on batch-norm weights and biases.
    #[arg(long)]
    pub no_bn_decay: bool,
    /// No random crops or flips in training: the central crop, as in evaluation.
    #[arg(long)]
    pub no_augment: bool,
    /// GoogLeNet without its auxiliary classifiers (torchvision's aux_logits=False).
    #[arg(long)]
    pub no_aux: bool,
    /// constant, step or cosine.
    #[arg(long, default_value = "constant", value_parser = ["constant", "step", "cosine"])]
    pub schedule: String,
    /// Epochs between decays of the step schedule.
    #[arg(long, default_value_t = 10, value_parser = at_least_one)]
    pub step_size: usize,
    /// Decay factor of the step schedule (finite, above 0).
    #[arg(long, default_value_t = 0.1, value_parser = gamma)]
    pub gamma: f32,
    #[arg(long, default_value_t = 0)]
    pub warmup_epochs: usize,
    /// f32, or f16 (f16 storage, f32 master weights, dynamic loss scaling).
    #[arg(long, default_value = "f32", value_parser = ["f32", "f16"])]
    pub precision: String,
    /// AlexNet towers (1 or 2).
    #[arg(long, default_value_t = 1, value_parser = groups)]
    pub groups: usize,
    /// Input side in pixels for alexnet (default 227), the ResNets (default 32) and googlenet
    /// (default 64): images are resized to it.
    #[arg(long, value_parser = at_least_one)]
    pub image_size: Option<usize>,
    /// Weight initialisation: paper (AlexNet's: N(0, 0.01) weights, biases 1 in conv2, conv4,
    /// conv5 and the FC layers), pytorch (U(+-1/sqrt(fan_in)), PyTorch's default for
    /// Conv2d/Linear), kaiming (N(0, 2/fan_in) weights, biases 0) or torchvision (ResNet's:
    /// conv weights N(0, 2/fan_out), linear layers PyTorch's default) or googlenet
    /// (torchvision's GoogLeNet: conv and linear weights N(0, 0.01)). Batch norm starts at
    /// weight 1, bias 0 with all of them. Default: pytorch for lenet5, paper for alexnet,
    /// torchvision for the ResNets, googlenet for googlenet.
    #[arg(long, value_parser = ["paper", "pytorch", "kaiming", "torchvision", "googlenet"])]
    pub init: Option<String>,
    /// U-Net's channels at the top level (default 16; the paper's 64).
    #[arg(long, value_parser = at_least_one)]
    pub base_channels: Option<usize>,
    /// U-Net's input channels (default: the data's).
    #[arg(long, value_parser = at_least_one)]
    pub in_channels: Option<usize>,
    /// A segfolder's classes: mask values 0..N-1 (255 ignored); default: the largest value
    /// in the training masks plus one.
    #[arg(long, value_parser = at_least_one)]
    pub classes: Option<usize>,
    /// Train on the first N training images only (quick runs; overfitting a small set).
    #[arg(long, value_parser = at_least_one)]
    pub train_images: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long, value_parser = at_least_one)]
    pub test_images: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder for metrics.jsonl, best.safetensors, last.safetensors and the resume state.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run saved in this folder exactly where it stopped (only --epochs,
    /// --patience and --log-every may differ from the run's).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Stop after this many epochs without a better test top-1.
    #[arg(long, value_parser = at_least_one)]
    pub patience: Option<usize>,
    /// At most this many steps per epoch.
    #[arg(long, value_parser = at_least_one)]
    pub max_steps: Option<usize>,
    /// Stop as Ctrl-C does (writing the resume checkpoint) after this many steps.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub stop_after_steps: Option<u64>,
    /// Read loss and accuracy back from the device every this many steps.
    #[arg(long, default_value_t = 20, value_parser = at_least_one)]
    pub log_every: usize,
    /// At the end, draw curves, predictions, mistakes, filters, the confusion matrix and
    /// embeddings into the --out folder (see `cnngpu viz`).
    #[arg(long, requires = "out")]
    pub plots: bool,
    /// The options given on the command line (not defaulted), filled in by `main`.
    #[arg(skip)]
    pub given: Vec<String>,
}

fn config_from(a: &TrainArgs) -> Result<TrainConfig> {
    let segmenter = a.model == "unet";
    let dataset = match (&a.dataset, segmenter) {
        (Some(d), _) => d.clone(),
        (None, true) => "fashion-scenes".into(),
        (None, false) => "fashion-mnist".into(),
    };
    let kind = DatasetKind::parse(&dataset)?;
    if kind.segmentation() != segmenter {
        let why = match segmenter {
            true => "unet segments: use fashion-scenes or segfolder (a class per pixel)",
            false => "a dataset with a class per pixel needs a segmentation model (unet)",
        };
        return Err(cnngpu::Error::invalid("--dataset", format!("{dataset}: {why}")).into());
    }
    if !segmenter && (a.base_channels.is_some() || a.in_channels.is_some()) {
        return Err(
            cnngpu::Error::invalid("--base-channels/--in-channels", "only unet has them").into(),
        );
    }
    if a.no_aux && a.model != "googlenet" {
        return Err(
            cnngpu::Error::invalid("--no-aux", "only googlenet has auxiliary classifiers").into(),
        );
    }
    if a.classes.is_some() && kind != DatasetKind::SegFolder {
        return Err(cnngpu::Error::invalid(
            "--classes",
            "only a segfolder's classes are given; other datasets name theirs",
        )
        .into());
    }
    let schedule = match a.schedule.as_str() {
        "constant" => Schedule::Constant,
        "step" => Schedule::Step {
            every: a.step_size,
            gamma: a.gamma,
        },
        "cosine" => Schedule::Cosine,
        s => {
            return Err(cnngpu::Error::invalid(
                "--schedule",
                format!("'{s}'; expected constant, step or cosine"),
            )
            .into())
        }
    };
    if a.groups != 1 && a.model != "alexnet" {
        return Err(cnngpu::Error::invalid("--groups", "only alexnet has towers").into());
    }
    if a.image_size.is_some() && a.model == "lenet5" {
        return Err(cnngpu::Error::invalid(
            "--image-size",
            "lenet5 takes 32x32 inputs; the size is for alexnet, the ResNets and googlenet",
        )
        .into());
    }
    let cfg = TrainConfig {
        model: a.model.clone(),
        dataset,
        data_dir: data_dir(kind, a.data_dir.clone())?,
        groups: a.groups,
        image_size: a.image_size,
        epochs: a.epochs.unwrap_or(4),
        batch_size: a.batch_size,
        lr: a.lr,
        momentum: a.momentum,
        weight_decay: a.weight_decay,
        nesterov: a.nesterov,
        no_bn_decay: a.no_bn_decay,
        no_augment: a.no_augment,
        no_aux: a.no_aux,
        schedule,
        warmup_epochs: a.warmup_epochs,
        precision: a.precision.clone(),
        seed: a.seed,
        patience: a.patience,
        max_steps: a.max_steps,
        log_every: a.log_every,
        init: a.init.clone(),
        train_images: a.train_images,
        test_images: a.test_images,
        base_channels: a.base_channels,
        in_channels: a.in_channels,
        classes: a.classes,
    };
    cfg.precision()?;
    if cfg.data_dir.to_str().is_none() {
        return Err(cnngpu::Error::invalid(
            "--data-dir",
            format!(
                "{} is not valid UTF-8, so the run's state file could not record it (and \
                 --resume would fail); use a UTF-8 path, e.g. a symbolic link",
                cfg.data_dir.display()
            ),
        )
        .into());
    }
    if cfg.batch_size == 0 || cfg.epochs == 0 {
        return Err(cnngpu::Error::invalid("--batch-size/--epochs", "must be at least 1").into());
    }
    Ok(cfg)
}

/// With `--resume`: the options that may change (`--epochs`, `--patience`, `--log-every`)
/// apply; any other option given must equal the run's, or it is a usage error (exit 2).
fn apply_resume_options(saved: &mut TrainConfig, args: &TrainArgs, dir: &Path) -> Result<()> {
    let asked = config_from(args)?;
    let (old, new) = (
        serde_json::to_value(&*saved)?,
        serde_json::to_value(&asked)?,
    );
    for id in &args.given {
        match id.as_str() {
            "epochs" => saved.epochs = asked.epochs,
            "patience" => saved.patience = asked.patience,
            "log_every" => saved.log_every = asked.log_every,
            other => {
                let key = match other {
                    "step_size" | "gamma" => "schedule",
                    k => k,
                };
                // Options that are not part of the run (--out, --plots, --adapter, tuning...)
                // may differ.
                if old.get(key).is_some() && old.get(key) != new.get(key) {
                    return Err(cnngpu::Error::invalid(
                        format!("--{}", other.replace('_', "-")),
                        format!(
                            "{} differs from the run's {} (in {}); with --resume only --epochs, \
                             --patience and --log-every may change",
                            show(new.get(key)),
                            show(old.get(key)),
                            dir.join("last.state.json").display()
                        ),
                    )
                    .into());
                }
            }
        }
    }
    Ok(())
}

/// A config value as the user would type it (the options' floats are f32: 0.01, not
/// 0.009999999776482582).
fn show(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::Number(n)) if n.is_f64() => {
            format!("{}", n.as_f64().unwrap_or(f64::NAN) as f32)
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "none".into(),
    }
}

/// What runs once the model's graph is known, before the first step (the GPU tunes its
/// kernels there): (graph, batch size, precision).
pub type Prepare<'a> = dyn Fn(&Graph, usize, Precision) -> Result<()> + 'a;

/// Runs `cnngpu train` on backend `b` (whose memory is `device`); returns the exit code.
pub fn train<B: Backend>(
    b: &B,
    device: DeviceMemory,
    args: &TrainArgs,
    prepare: &Prepare<'_>,
) -> Result<u8> {
    // The run folder first: created, proven writable and locked before any data is read.
    let out = args.out.clone().or_else(|| args.resume.clone());
    let mut _locks = Vec::new();
    if let Some(dir) = &out {
        _locks.push(run_dir::prepare(dir)?);
    }
    let (mut state, resume) = match &args.resume {
        Some(dir) => {
            if out.as_ref() != Some(dir) {
                _locks.push(run_dir::lock(dir)?);
            }
            let r = train::load_resume(dir)?;
            let mut state = r.state.clone();
            apply_resume_options(&mut state.config, args, dir)?;
            (state, Some(r))
        }
        None => {
            let config = config_from(args)?;
            let state = TrainState {
                config,
                epoch: 0,
                step: 0,
                global_step: 0,
                best_test_top1: -1.0,
                epochs_since_best: 0,
                scale_state: None,
                partial: Default::default(),
                pending: None,
            };
            (state, None)
        }
    };
    // The folder's last commit: its views published again (metrics.jsonl cut back to the
    // committed records), files of crashed writers and uncommitted generations removed.
    let (mut generation, mut best) = (0, None);
    if let Some(dir) = &out {
        let resuming_here = args.resume.as_ref() == Some(dir);
        let here = match commit::read(dir) {
            Ok(m) => m,
            Err(e) if resuming_here => return Err(e.into()),
            Err(_) => None, // a new run replaces whatever was there
        };
        if let (true, Some(m)) = (resuming_here, &here) {
            commit::publish(dir, m)?;
            best = m.best.clone();
        }
        generation = here.as_ref().map_or(0, |m| m.generation).max(
            resume
                .as_ref()
                .and_then(|r| r.manifest.as_ref())
                .map_or(0, |m| m.generation),
        );
        let removed = commit::tidy(dir, here.as_ref())?;
        if !removed.is_empty() {
            let names: Vec<String> = removed
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            println!(
                "note: removed {} file(s) of an interrupted run from {}: {}",
                names.len(),
                dir.display(),
                names.join(", ")
            );
        }
    }
    let kind = DatasetKind::parse(&state.config.dataset)?;
    // Image folders decode at 256 px (AlexNet's resize); a segfolder at the model's input.
    let side = match kind {
        DatasetKind::SegFolder => state.config.image_size.unwrap_or(64),
        _ => 256,
    };
    let mut splits = data::load(kind, &state.config.data_dir, side, state.config.classes)?;
    if let Some(n) = state.config.train_images {
        splits.train.truncate(n);
    }
    if let Some(n) = state.config.test_images {
        splits.test.truncate(n);
    }
    check_splits(&splits, &state.config.data_dir)?;
    if state.config.batch_size > splits.train.len() {
        println!(
            "note: --batch-size {} is larger than the {} training images; using {}",
            state.config.batch_size,
            splits.train.len(),
            splits.train.len()
        );
        state.config.batch_size = splits.train.len();
    }
    let cfg = state.config.clone();
    let (graph, init) = models::build(
        &cfg.model,
        &models::ModelOptions {
            classes: splits.train.classes(),
            groups: cfg.groups,
            size: cfg.image_size,
            base_channels: cfg.base_channels,
            in_channels: cfg.in_channels.or(Some(splits.train.channels)),
            aux_logits: !cfg.no_aux,
        },
    )?;
    let init = match cfg.init.as_deref() {
        Some(name) => models::Init::parse(name)?,
        None => init,
    };
    let mut prep = train::preprocess_for(&cfg.model, kind, graph.input, &splits.train)?;
    prep.augment &= !cfg.no_augment;
    let precision = cfg.precision()?;
    // Evaluation needs no gradients, and training views its activations on a GPU, so twice
    // the training batch costs little more (AlexNet at batch 500 would plan 9 GiB); 500 at most.
    let eval_batch = (2 * cfg.batch_size).min(500);
    // The memory plan against the device and the host before anything is allocated.
    memory::check(
        &MemoryPlan::of(&graph, precision),
        device,
        memory::host_available(),
        cfg.batch_size,
        eval_batch,
        splits.train.len(),
        splits.test.len(),
    )?;
    prepare(&graph, cfg.batch_size, precision)?;
    let values = match &resume {
        Some(r) => r.weights.parameters_for(&graph, &r.weights_path)?,
        None => initial_parameters(&graph, init, cfg.seed),
    };
    let mut model = Model::new(b, graph.clone(), precision, &values)?;
    model.set_norm_weight_decay(!cfg.no_bn_decay);
    if let Some(r) = &resume {
        model.set_buffers(b, &r.weights.buffers_for(&graph, &r.weights_path)?)?;
        model.set_velocities(b, &r.optim.parameters_for(&graph, &r.optim_path)?)?;
        if let Some(s) = state.scale_state {
            model.set_scale_state(b, s)?;
        }
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    let params: usize = graph
        .parameters()
        .iter()
        .map(|(_, s, _)| s.iter().product::<usize>())
        .sum();
    let mut trainer = Trainer {
        b,
        model,
        state,
        train: splits.train,
        test: splits.test,
        prep,
        out: out.clone(),
        records: Vec::new(),
        interrupt,
        stop_after_steps: args.stop_after_steps,
        history: resume.map_or_else(Vec::new, |r| r.records),
        best,
        generation,
    };
    let bytes = trainer.plan(eval_batch)?;
    println!("device: {}", b.describe());
    println!(
        "model: {} ({params} parameters), {} precision; data: {} ({} train, {} test images) from {}",
        cfg.model,
        cfg.precision,
        cfg.dataset,
        trainer.train.len(),
        trainer.test.len(),
        cfg.data_dir.display()
    );
    let memory = MemoryPlan::of(&graph, precision);
    println!("{}", memory.describe(bytes, cfg.batch_size, device.aliases));
    if trainer.state.epoch > 0 || trainer.state.step > 0 {
        println!(
            "resuming at epoch {}, step {}",
            trainer.state.epoch + 1,
            trainer.state.step
        );
    }
    let mut progress = Progress {
        bar: None,
        epochs: cfg.epochs,
        epoch: 0,
    };
    let outcome = trainer.run(&mut progress, eval_batch)?;
    let last = trainer.records.last();
    match outcome {
        Outcome::Interrupted { epoch, step } => {
            println!(
                "interrupted {}; checkpoint written{}",
                if step == 0 {
                    format!("after epoch {epoch}")
                } else {
                    format!("in epoch {}, step {step}", epoch + 1)
                },
                out.map_or(String::new(), |d| format!(
                    " to {} (continue with --resume {})",
                    d.display(),
                    d.display()
                ))
            );
            return Ok(130);
        }
        Outcome::EarlyStopped { epoch } => println!(
            "early stop after epoch {epoch}: no better test top-1 for {} epochs",
            cfg.patience.unwrap_or(0)
        ),
        Outcome::Finished => {}
    }
    if let Some(r) = last {
        crate::cli_report::final_line(r, trainer.state.best_test_top1);
    }
    if let (true, Some(dir)) = (args.plots, &out) {
        let title = format!("{} on {}", cfg.model, cfg.dataset);
        crate::cli_viz::plots(
            b,
            &mut trainer.model,
            &trainer.test,
            &trainer.prep,
            dir,
            &title,
            cfg.seed,
            cfg.batch_size,
        )?;
    }
    Ok(0)
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// A checkpoint written by `cnngpu train` (or a PyTorch state_dict saved as safetensors).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Model, when the checkpoint does not say (PyTorch exports).
    #[arg(long)]
    pub model: Option<String>,
    /// The dataset (default: the checkpoint's, else fashion-mnist).
    #[arg(long)]
    pub dataset: Option<String>,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// One JSON object with loss, top1, top5, samples and the confusion matrix (segmentation:
    /// pixel accuracy, mean IoU, mean Dice and per-class IoU).
    #[arg(long)]
    pub json: bool,
    /// Write per-sample label, prediction and top-5 classes with probabilities to this CSV.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// Evaluate on the training images instead of the test split (without augmentation or
    /// dropout: how well a run memorised its training set).
    #[arg(long)]
    pub train_split: bool,
    /// Only the first N images of the split (as `train --train-images/--test-images`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub images: Option<u64>,
}

/// A checkpoint loaded for inference, with the test split it is evaluated on.
pub struct Opened<B: Backend> {
    pub model: Model<B>,
    pub model_name: String,
    /// The dataset evaluated on (given, or the checkpoint's).
    pub dataset: String,
    pub test: data::Dataset,
    pub prep: data::Preprocess,
}

/// Loads `checkpoint` (its model from the metadata unless `model` says) and the test split of
/// `dataset` (default: the checkpoint's, else fashion-mnist; the training split with
/// `train_split`; `test` names it either way).
pub fn open_checkpoint<B: Backend>(
    b: &B,
    checkpoint: &std::path::Path,
    model: Option<String>,
    dataset: Option<&str>,
    (dir, train_split): (Option<PathBuf>, bool),
) -> Result<Opened<B>> {
    let ck = checkpoint::load(checkpoint)?;
    let meta = |k: &str| ck.metadata.get(k).and_then(|v| v.parse::<usize>().ok());
    let dataset = dataset
        .map(String::from)
        .or_else(|| ck.metadata.get("dataset").cloned())
        .unwrap_or_else(|| "fashion-mnist".into());
    let model_name = match (model, ck.metadata.get("model")) {
        (Some(m), _) => m,
        (None, Some(m)) => {
            // A name the zoo does not know is the checkpoint's fault, not a bad --model.
            if let Err(cnngpu::Error::Invalid { why, .. }) = models::by_name(m, 10, 1, None) {
                return Err(cnngpu::Error::data(
                    checkpoint,
                    format!("its metadata names the model {why}; pass --model to say which it is"),
                )
                .into());
            }
            m.clone()
        }
        (None, None) => "lenet5".into(),
    };
    let groups = ck
        .metadata
        .get("groups")
        .and_then(|g| g.parse().ok())
        .unwrap_or(1);
    let kind = DatasetKind::parse(&dataset)?;
    let size = meta("image_size");
    let side = match kind {
        DatasetKind::SegFolder => size.unwrap_or(64),
        _ => 256,
    };
    // A segfolder's classes as the run saw them (its class names, "0".."C-1", in the metadata).
    let classes = match kind {
        DatasetKind::SegFolder => ck.metadata.get("classes").map(|c| c.split('\t').count()),
        _ => None,
    };
    let splits = data::load(kind, &data_dir(kind, dir)?, side, classes)?;
    let test = if train_split {
        splits.train
    } else {
        splits.test
    };
    let options = models::ModelOptions {
        classes: test.classes(),
        groups,
        size,
        base_channels: meta("base_channels"),
        in_channels: meta("in_channels").or(Some(test.channels)),
        // Evaluation skips them, but the graph must match the checkpoint's tensors.
        aux_logits: ck.tensors.contains_key(models::AUX_TENSOR),
    };
    let (graph, _) = models::build(&model_name, &options)?;
    if graph.segmentation() != kind.segmentation() {
        let what = match graph.segmentation() {
            true => "labels pixels: use fashion-scenes or segfolder",
            false => "labels images: use a dataset with a class per image",
        };
        return Err(
            cnngpu::Error::invalid("--dataset", format!("{dataset}: {model_name} {what}")).into(),
        );
    }
    let values = ck.parameters_for(&graph, checkpoint)?;
    let buffers = ck.buffers_for(&graph, checkpoint)?;
    let prep = train::preprocess_for(&model_name, kind, graph.input, &test)?;
    let mut model = Model::new(b, graph, cnngpu::tensor::Precision::F32, &values)?;
    model.set_buffers(b, &buffers)?;
    Ok(Opened {
        model,
        model_name,
        dataset,
        test,
        prep,
    })
}

/// Runs `cnngpu eval` on backend `b`.
pub fn eval<B: Backend>(b: &B, args: &EvalArgs) -> Result<u8> {
    let Opened {
        mut model,
        model_name,
        dataset,
        test,
        prep,
    } = open_checkpoint(
        b,
        &args.checkpoint,
        args.model.clone(),
        args.dataset.as_deref(),
        (args.data_dir.clone(), args.train_split),
    )?;
    let mut test = test;
    if let Some(n) = args.images {
        test.truncate(n as usize);
    }
    let split = if args.train_split { "training" } else { "test" };
    if model.graph.segmentation() {
        let (m, _) = train::evaluate(b, &mut model, &test, &prep, args.batch_size, false)?;
        let head = format!("{model_name} on {} {split} images ({dataset})", test.len());
        crate::cli_report::segmentation_report(&head, &m, &test.class_names, args.json);
        return Ok(0);
    }
    let (m, logits) = train::evaluate(b, &mut model, &test, &prep, args.batch_size, true)?;
    let classes = test.classes();
    let mut confusion = vec![vec![0u64; classes]; classes];
    let mut rows = Vec::new();
    for (i, row) in logits.chunks(classes).enumerate() {
        let mx = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f64> = row.iter().map(|&v| ((v - mx) as f64).exp()).collect();
        let sum: f64 = exps.iter().sum();
        let mut order: Vec<usize> = (0..classes).collect();
        order.sort_by(|&a, &b| {
            row[b]
                .partial_cmp(&row[a])
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        });
        confusion[test.labels[i] as usize][order[0]] += 1;
        rows.push((
            test.labels[i],
            order
                .iter()
                .take(5)
                .map(|&c| (c, exps[c] / sum))
                .collect::<Vec<_>>(),
        ));
    }
    if let Some(path) = &args.predictions {
        let mut csv = String::from("index,label,predicted,top5,top5_probabilities\n");
        for (i, (label, top)) in rows.iter().enumerate() {
            let classes: Vec<String> = top.iter().map(|(c, _)| c.to_string()).collect();
            let probs: Vec<String> = top.iter().map(|(_, p)| format!("{p:.6}")).collect();
            csv += &format!(
                "{i},{label},{},{},{}\n",
                top[0].0,
                classes.join(" "),
                probs.join(" ")
            );
        }
        checkpoint::write_atomic(path, csv.as_bytes())?;
    }
    if args.json {
        let obj = serde_json::json!({
            "checkpoint": args.checkpoint.display().to_string(),
            "model": model_name,
            "dataset": dataset,
            "samples": m.samples,
            "loss": m.loss(),
            "top1": m.top1(),
            "top5": m.top5(),
            "class_names": test.class_names,
            "confusion": confusion,
        });
        println!("{obj}");
    } else {
        println!(
            "{} on {} {} images ({}): loss {:.4}, top-1 {:.2}%, top-5 {:.2}%",
            model_name,
            m.samples,
            split,
            dataset,
            m.loss(),
            100.0 * m.top1(),
            100.0 * m.top5()
        );
        println!("confusion matrix (rows: true class, columns: predicted):");
        print!("{:>14}", "");
        for c in 0..classes {
            print!("{c:>6}");
        }
        println!();
        for (c, row) in confusion.iter().enumerate() {
            let name: String = test.class_names[c].chars().take(12).collect();
            print!("{c:>2} {name:<11}");
            for v in row {
                print!("{v:>6}");
            }
            println!();
        }
    }
    Ok(0)
}
