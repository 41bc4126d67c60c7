//! `cnngpu tune` and the tuning done before `train` and `profile`: the kernel family of every
//! GEMM-shaped pass chosen by timing on this adapter (see `cnngpu::tune`).

use anyhow::Result;
use clap::Args;
use cnngpu::gpu::{Family, GpuBackend};
use cnngpu::nn::graph::Graph;
use cnngpu::nn::models;
use cnngpu::tensor::Precision;
use cnngpu::tune::{self, TuneCache, Tuned};
use std::io::IsTerminal;

/// The switch shared by the commands that tune before they run.
#[derive(Args, Clone, Debug, Default)]
pub struct TuneSwitch {
    /// Skip autotuning and its cache: every kernel uses the adapter's default family, the
    /// same on every machine with this adapter and driver (for reproducible runs).
    #[arg(long, env = "CNNGPU_NO_TUNE")]
    pub no_tune: bool,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// lenet5, alexnet, resnet18, resnet34, resnet50, googlenet or unet.
    #[arg(long, default_value = "lenet5")]
    pub model: String,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// f32 or f16.
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// AlexNet towers (1, or 2 as in the paper).
    #[arg(long, default_value_t = 1)]
    pub groups: usize,
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
}

/// Tunes a training step of `graph` at `batch` unless switched off; one line on stderr.
pub fn prepare(
    b: &GpuBackend,
    graph: &Graph,
    batch: usize,
    precision: Precision,
    switch: &TuneSwitch,
) -> Result<Vec<Tuned>> {
    if switch.no_tune {
        eprintln!(
            "kernels: the {} family everywhere (--no-tune)",
            b.family().name()
        );
        return Ok(Vec::new());
    }
    if Family::from_env().is_some() {
        // A family forced for the run: tuned choices would override it, so none are made.
        eprintln!(
            "kernels: the {} family everywhere (CNNGPU_KERNELS; no tuning)",
            b.family().name()
        );
        return Ok(Vec::new());
    }
    tune_now(b, graph, batch, precision)
}

/// Tunes a training step of `graph` at `batch` (the cache first); one line on stderr.
fn tune_now(
    b: &GpuBackend,
    graph: &Graph,
    batch: usize,
    precision: Precision,
) -> Result<Vec<Tuned>> {
    let mut cache = TuneCache::open(&TuneCache::default_path());
    if cache.pruned > 0 {
        eprintln!(
            "note: {} choices of other cnngpu builds, unused for {} days (or from before the \
             cache kept times), dropped from {}",
            cache.pruned,
            tune::STALE_AFTER_SECS / 86_400,
            cache.path().display()
        );
    }
    if let Some(note) = &cache.note {
        eprintln!("note: {note}");
    }
    // On a terminal, a bar while passes are timed (a first tuning of AlexNet takes minutes);
    // nothing while every choice comes from the cache.
    let mut bar: Option<indicatif::ProgressBar> = None;
    let started = std::time::Instant::now();
    let progress = |done: usize, of: usize| {
        if bar.is_none() && std::io::stderr().is_terminal() && started.elapsed().as_secs() >= 1 {
            let b = indicatif::ProgressBar::new(of as u64).with_elapsed(started.elapsed());
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "tuning [{bar:30}] {pos}/{len} GEMM passes ({elapsed})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar = Some(b);
        }
        if let Some(b) = &bar {
            b.set_position(done as u64);
            if done == of {
                b.finish_and_clear();
            }
        }
    };
    let tuned = tune::tune_graph_with(b, &mut cache, graph, batch, precision, progress)?;
    let timed = tuned.iter().filter(|t| !t.cached).count();
    let per_family: Vec<String> = Family::ALL
        .iter()
        .map(|f| {
            let n = tuned.iter().filter(|t| t.choice.family == f.name()).count();
            format!("{n} {}", f.name())
        })
        .collect();
    eprintln!(
        "kernels: {} GEMM passes: {} ({} timed now, {} from {})",
        tuned.len(),
        per_family.join(", "),
        timed,
        tuned.len() - timed,
        cache.path().display()
    );
    Ok(tuned)
}

/// `cnngpu tune`: fills the cache for a model and batch, and prints what was chosen.
pub fn run(b: &GpuBackend, a: &TuneArgs) -> Result<u8> {
    let (graph, _) = models::by_name(&a.model, a.classes, a.groups, None)?;
    let precision = Precision::parse(&a.precision)?;
    println!(
        "tuning {} at batch {} in {} on {}",
        graph.name,
        a.batch_size,
        a.precision,
        b.ctx.describe()
    );
    let tuned = tune_now(b, &graph, a.batch_size, precision)?;
    println!("\n| layer | kernel | chosen | ms per family | rejected | |");
    println!("|---|---|---|---|---|---|");
    for t in &tuned {
        let ms: Vec<String> = t
            .choice
            .ms
            .iter()
            .map(|(f, ms)| format!("{f} {ms:.3}"))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            t.layer,
            t.kernel,
            t.choice.family,
            ms.join(", "),
            if t.choice.rejected.is_empty() {
                "-".into()
            } else {
                t.choice.rejected.join(", ")
            },
            if t.cached { "cached" } else { "timed" }
        );
    }
    Ok(0)
}
