//! `cnngpu profile` and `cnngpu bench [compare]`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use cnngpu::bench::chart::compare_chart;
use cnngpu::bench::report::{compare_table, Report};
use cnngpu::bench::suite::{run_suite, suite};
use cnngpu::gpu::timing::Clock;
use cnngpu::gpu::GpuBackend;
use cnngpu::nn::models;
use cnngpu::profile::{chrome_trace, default_clock, profile};
use cnngpu::tensor::Precision;
use std::path::PathBuf;

#[derive(Args)]
pub struct ProfileArgs {
    /// lenet5, alexnet, resnet18, resnet34, resnet50, googlenet or unet.
    #[arg(long, default_value = "lenet5")]
    pub model: String,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// f32 or f16 (f16 storage, f32 accumulation and master weights).
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// Profiled steps (after one untimed warm-up step); rows are their mean.
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    /// AlexNet towers (1, or 2 as in the paper).
    #[arg(long, default_value_t = 1)]
    pub groups: usize,
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
    /// Write a Chrome-trace JSON (open in https://ui.perfetto.dev or chrome://tracing).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Print the profile as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How kernels are timed: `timestamps` (queries the device writes), `wall` (the host's
    /// clock around each launch run alone) or `auto` (wall on drivers that run kernels on the
    /// CPU, or without timestamp queries; timestamps otherwise).
    #[arg(long, default_value = "auto")]
    pub clock: String,
}

pub fn run_profile(
    b: &GpuBackend,
    a: &ProfileArgs,
    tune: &crate::cli_tune::TuneSwitch,
) -> Result<u8> {
    let (graph, init) = models::by_name(&a.model, a.classes, a.groups, None)?;
    let precision = Precision::parse(&a.precision)?;
    crate::cli_tune::prepare(b, &graph, a.batch_size, precision, tune)?;
    eprintln!(
        "profiling {} at batch {} in {} on {} ({} steps after a warm-up step)",
        graph.name,
        a.batch_size,
        a.precision,
        b.ctx.describe(),
        a.steps
    );
    if let Some(note) = b.ctx.threads_note() {
        eprintln!("{note}");
    }
    let clock = match a.clock.as_str() {
        "auto" => default_clock(b),
        "timestamps" => Clock::Timestamps,
        "wall" => Clock::Wall,
        other => {
            return Err(cnngpu::Error::invalid(
                "--clock",
                format!("'{other}': expected auto, timestamps or wall"),
            )
            .into())
        }
    };
    let (p, traces) = profile(b, graph, init, precision, a.batch_size, a.steps, clock)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        println!(
            "{} batch {} {} on {} (mean of {} steps)\n",
            p.model, p.batch, p.precision, p.adapter, p.steps
        );
        print!("{}", p.table());
    }
    if let Some(path) = &a.trace {
        let trace = chrome_trace(&p, &traces);
        cnngpu::train::checkpoint::write_atomic(path, serde_json::to_string(&trace)?.as_bytes())?;
        eprintln!(
            "trace written to {} (open it in https://ui.perfetto.dev)",
            path.display()
        );
    }
    Ok(0)
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub action: Option<BenchAction>,
    /// A shorter suite: AlexNet's kernels at batch 1, ResNet-18's at batch 8, no AlexNet
    /// training (ResNet-18, GoogLeNet and U-Net still train: minutes on a software adapter).
    #[arg(long)]
    pub quick: bool,
    /// Write the results as JSON (schema cnngpu-bench/1) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only items whose id contains this, or one of several comma-separated (e.g. train/,
    /// conv2d_backward, /f16, or train/lenet5/b64,train/alexnet/b32).
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Print the suite's items as JSON (ids and shapes, for other tools) and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Subcommand)]
pub enum BenchAction {
    /// Print reports side by side with speed ratios against the first, and draw a chart.
    Compare {
        /// Report files (cnngpu bench --out, scripts/bench_pytorch.py); ratios are against
        /// the first. At most 26.
        #[arg(required = true, num_args = 1..=26)]
        files: Vec<PathBuf>,
        /// Where to write the bar chart (PNG).
        #[arg(long, default_value = "bench-compare.png")]
        chart: PathBuf,
    },
}

/// `bench compare` needs no adapter.
pub fn run_compare(files: &[PathBuf], chart: &std::path::Path) -> Result<u8> {
    let reports = files
        .iter()
        .map(|f| Report::load(f))
        .collect::<cnngpu::Result<Vec<_>>>()?;
    print!("{}", compare_table(&reports));
    compare_chart(&reports)?.save_png(chart)?;
    eprintln!("chart written to {}", chart.display());
    Ok(0)
}

pub fn list(quick: bool) -> Result<u8> {
    let items: Vec<_> = suite(quick).iter().map(|i| i.describe()).collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({"quick": quick, "items": items}))?
    );
    Ok(0)
}

pub fn run_bench(b: &GpuBackend, a: &BenchArgs) -> Result<u8> {
    eprintln!(
        "cnngpu bench{} on {}",
        if a.quick { " --quick" } else { "" },
        b.ctx.describe()
    );
    if let Some(note) = b.ctx.threads_note() {
        eprintln!("{note}");
    }
    let report = run_suite(b, a.quick, &a.filter, |e| {
        let what = match (&e.skipped, e.value) {
            (Some(why), _) => format!("skipped ({why})"),
            (None, Some(v)) => format!("{v:.4} {}", e.unit),
            (None, None) => "-".into(),
        };
        eprintln!("{:<55} {what}", e.id);
    })?;
    let json = report.to_json();
    match &a.out {
        Some(path) => {
            cnngpu::train::checkpoint::write_atomic(path, json.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("results written to {}", path.display());
        }
        None => println!("{json}"),
    }
    Ok(0)
}
