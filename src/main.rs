//! The `cnngpu` command line: parse, pick the adapter, call the library.
//!
//! Exit codes: 0 success; 1 a check failed; 2 bad usage (an option out of range, a changed
//! option on --resume); 3 no usable adapter, a GPU error or not enough memory for the planned
//! run; 4 bad input data or checkpoint; 5 a file could not be read or written, or the run
//! folder is locked by another run; 6 training diverged (NaN loss in f32); 130 interrupted by
//! Ctrl-C (after writing a checkpoint).

mod cli_bench;
mod cli_report;
mod cli_train;
mod cli_tune;
mod cli_values;
mod cli_viz;

use anyhow::Result;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cnngpu::gpu::context::{self, F16Path};
use cnngpu::gpu::GpuBackend;
use cnngpu::parity;
use cnngpu::train::memory::DeviceMemory;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cnngpu",
    version,
    about = "Train the classic CNNs on any GPU through wgpu"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant (train's options) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a model (default: LeNet-5 on the bundled Fashion-MNIST sample).
    Train {
        #[command(flatten)]
        args: cli_train::TrainArgs,
        #[command(flatten)]
        tune: cli_tune::TuneSwitch,
        /// A backend (vulkan, metal, dx12, gl), backend:index, part of the adapter name, or cpu.
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
    },
    /// Evaluate a checkpoint on a test set: loss, top-1, top-5, confusion matrix.
    Eval {
        #[command(flatten)]
        args: cli_train::EvalArgs,
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
    },
    /// List every adapter wgpu can see, with what cnngpu can use on it.
    Adapters,
    /// Time one training step per layer and pass with GPU timestamp queries.
    Profile {
        #[command(flatten)]
        args: cli_bench::ProfileArgs,
        #[command(flatten)]
        tune: cli_tune::TuneSwitch,
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
    },
    /// Choose the fastest correct kernel family for every GEMM-shaped pass of a model's
    /// training step on this adapter, and cache the choices for later runs.
    Tune {
        #[command(flatten)]
        args: cli_tune::TuneArgs,
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
    },
    /// Draw what a trained network learned: predictions, filters, embeddings, curves,
    /// confusion matrix.
    Viz {
        #[command(flatten)]
        args: cli_viz::VizArgs,
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
    },
    /// Run the benchmark suite (ceilings, kernels, training), or compare saved results.
    Bench {
        #[command(flatten)]
        args: cli_bench::BenchArgs,
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
    },
    /// Run every kernel pass against the CPU reference on your adapter and print the
    /// op x pass x precision matrix with the worst error of each; exits 1 on any mismatch.
    Check {
        /// A backend (vulkan, metal, dx12, gl), backend:index, or part of the adapter name.
        #[arg(long, env = "CNNGPU_ADAPTER", default_value = "auto")]
        adapter: String,
        /// Only the LeNet-5 shapes and the edge cases (skips the large AlexNet layers).
        #[arg(long)]
        quick: bool,
        /// Only kernels whose name starts with this (e.g. conv2d, lrn_backward).
        #[arg(long, default_value = "")]
        kernel: String,
    },
}

/// Maps a library error to the documented exit code.
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<cnngpu::Error>() {
        Some(cnngpu::Error::Io { .. }) => 5,
        Some(cnngpu::Error::Invalid { .. }) => 2,
        Some(cnngpu::Error::Data { .. }) => 4,
        Some(cnngpu::Error::Diverged(_)) => 6,
        Some(_) => 3,
        None => 1,
    }
}

fn main() -> ExitCode {
    // Output piped into a reader that stops early (`cnngpu check | head`) ends the process
    // quietly, as with other command-line tools, instead of a panic in println! (Rust
    // ignores SIGPIPE, so each write would fail). Checkpoints are written whole or not at all,
    // so a run stopped this way loses nothing saved.
    #[cfg(target_os = "linux")]
    // SAFETY: restoring the default action of a signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Adapters => adapters(),
        Command::Train {
            mut args,
            tune,
            adapter,
        } => {
            // Which options were typed (resume rejects changed ones, not defaulted ones).
            if let Some(m) = matches.subcommand_matches("train") {
                args.given = m
                    .ids()
                    .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
                    .map(|id| id.to_string())
                    .collect();
            }
            on_backend(
                &adapter,
                |b| {
                    let device = DeviceMemory {
                        max_buffer: u64::MAX,
                        shares_host: true,
                        aliases: false,
                    };
                    cli_train::train(b, device, &args, &|_, _, _| Ok(()))
                },
                |b| {
                    cli_train::train(b, device_memory(b), &args, &|graph, batch, precision| {
                        cli_tune::prepare(b, graph, batch, precision, &tune).map(|_| ())
                    })
                },
            )
        }
        Command::Eval { args, adapter } => on_backend(
            &adapter,
            |b| cli_train::eval(b, &args),
            |b| cli_train::eval(b, &args),
        ),
        Command::Check {
            adapter,
            quick,
            kernel,
        } => check(&adapter, quick, &kernel),
        Command::Profile {
            args,
            tune,
            adapter,
        } => on_gpu(&adapter, |b| cli_bench::run_profile(b, &args, &tune)),
        Command::Tune { args, adapter } => on_gpu(&adapter, |b| cli_tune::run(b, &args)),
        Command::Viz { args, .. } if args.what == cli_viz::What::Curves => {
            cli_viz::curves(&args).map(|_| ExitCode::SUCCESS)
        }
        Command::Viz { args, adapter } => on_backend(
            &adapter,
            |b| cli_viz::viz(b, &args),
            |b| cli_viz::viz(b, &args),
        ),
        Command::Bench { args, adapter } => match &args.action {
            Some(cli_bench::BenchAction::Compare { files, chart }) => {
                cli_bench::run_compare(files, chart).map(ExitCode::from)
            }
            None if args.list => cli_bench::list(args.quick).map(ExitCode::from),
            None => on_gpu(&adapter, |b| cli_bench::run_bench(b, &args)),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// What the memory check needs to know about a GPU adapter: its largest buffer, and whether
/// its memory is the host's (CPU drivers such as lavapipe and llvmpipe, integrated GPUs).
fn device_memory(b: &GpuBackend) -> DeviceMemory {
    DeviceMemory {
        max_buffer: b.ctx.limits.max_buffer_size,
        aliases: true,
        shares_host: matches!(
            b.ctx.info.device_type,
            wgpu::DeviceType::Cpu | wgpu::DeviceType::IntegratedGpu
        ),
    }
}

/// Runs `cpu` on the reference backend when `--adapter cpu`, else `gpu` on the chosen adapter.
fn on_backend(
    adapter: &str,
    cpu: impl FnOnce(&cnngpu::cpu::CpuBackend) -> Result<u8>,
    gpu: impl FnOnce(&GpuBackend) -> Result<u8>,
) -> Result<ExitCode> {
    let code = if adapter.eq_ignore_ascii_case("cpu") {
        cpu(&cnngpu::cpu::CpuBackend)?
    } else {
        let b = GpuBackend::open(adapter)?;
        b.prepare_all()?;
        gpu(&b)?
    };
    Ok(ExitCode::from(code))
}

/// Runs `f` on the chosen GPU adapter (profiling and benchmarks have no CPU path).
fn on_gpu(adapter: &str, f: impl FnOnce(&GpuBackend) -> Result<u8>) -> Result<ExitCode> {
    if adapter.trim().eq_ignore_ascii_case("cpu") {
        anyhow::bail!(cnngpu::Error::invalid(
            "--adapter",
            "'cpu' is the reference backend, which has no GPU timeline to profile or \
             benchmark; name a GPU adapter (see `cnngpu adapters`)"
        ));
    }
    let b = GpuBackend::open(adapter)?;
    b.prepare_all()?;
    Ok(ExitCode::from(f(&b)?))
}

fn adapters() -> Result<ExitCode> {
    let list = context::adapters();
    let rows = context::summaries(&list);
    if rows.is_empty() {
        println!("wgpu sees no adapter. Install a Vulkan, Metal or DX12 driver (on Linux without a GPU: Mesa's lavapipe, package mesa-vulkan-drivers). `--adapter cpu` runs the slow reference backend.");
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        println!("{}  {}", r.id, r.name);
        println!(
            "    backend {}, type {}, driver {}",
            r.backend, r.device_type, r.driver
        );
        println!(
            "    f16 storage: {}{}",
            r.f16.name(),
            match r.f16 {
                F16Path::Native => " (SHADER_F16)",
                F16Path::Packed => " (u32-packed pairs; no SHADER_F16)",
                F16Path::None => " (no compute shaders: unusable)",
            }
        );
        println!(
            "    timestamps: {}, subgroup sizes: {}..{}",
            if r.timestamps { "yes" } else { "no" },
            r.subgroup_sizes.0,
            r.subgroup_sizes.1
        );
        println!(
            "    max storage binding: {} MiB, max buffer: {} MiB",
            r.max_storage_binding >> 20,
            r.max_buffer >> 20
        );
    }
    println!("cpu  the reference backend (always available, slow)");
    Ok(ExitCode::SUCCESS)
}

fn check(adapter: &str, quick: bool, kernel: &str) -> Result<ExitCode> {
    if adapter.eq_ignore_ascii_case("cpu") {
        anyhow::bail!(cnngpu::Error::invalid(
            "--adapter",
            "check compares a GPU adapter with the CPU reference; name a GPU adapter"
        ));
    }
    let gpu = GpuBackend::open(adapter)?;
    println!("adapter: {}", gpu.ctx.describe());
    if let Some(note) = gpu.ctx.threads_note() {
        println!("{note}");
    }
    let mut cases = parity::lenet5_cases();
    if !quick {
        cases.extend(parity::alexnet_cases());
    }
    cases.extend(parity::resnet_cases());
    cases.extend(parity::googlenet_cases());
    cases.extend(parity::unet_cases());
    cases.extend(parity::edge_cases());
    let variants = parity::variants(&gpu);
    let mut failures = Vec::new();
    // kernel -> variant -> (worst error, failed?)
    let mut matrix: BTreeMap<String, BTreeMap<&'static str, (f64, bool)>> = BTreeMap::new();
    // kernel -> the cases that ran it
    let mut ran: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    // A progress line on a terminal only (in a log, each case would be a line of its own).
    let progress = std::io::stderr().is_terminal();
    for case in &cases {
        if progress {
            eprint!("\r{:<40}", case.name);
        }
        let outcomes = parity::run(&gpu, std::slice::from_ref(case), kernel)?;
        for o in outcomes {
            ran.entry(o.kernel.clone())
                .or_default()
                .insert(case.name.as_str());
            let cell = matrix
                .entry(o.kernel.clone())
                .or_default()
                .entry(o.variant.name())
                .or_insert((0.0, false));
            cell.0 = cell.0.max(o.max_err());
            if !o.passed() {
                cell.1 = true;
                failures.push(o.report());
            }
        }
    }
    if progress {
        eprint!("\r{:<40}\r", "");
    }
    if matrix.is_empty() {
        anyhow::bail!(cnngpu::Error::invalid(
            "--kernel",
            format!(
                "no kernel name starts with '{kernel}' (e.g. conv2d, batch_norm, lrn_backward)"
            )
        ));
    }
    let width = matrix
        .keys()
        .map(|k| k.len() + 2)
        .max()
        .unwrap_or(0)
        .max(40);
    print!("{:<width$}{:>6}", "kernel", "cases");
    for v in &variants {
        print!("{:>16}", v.name());
    }
    println!();
    for (k, cells) in &matrix {
        print!("{k:<width$}{:>6}", ran.get(k).map_or(0, |c| c.len()));
        for v in &variants {
            match cells.get(v.name()) {
                Some((err, false)) => print!("{:>16}", format!("ok {err:.1e}")),
                Some((err, true)) => print!("{:>16}", format!("FAIL {err:.1e}")),
                None => print!("{:>16}", "-"),
            }
        }
        println!();
    }
    println!("(each cell: the worst |gpu - cpu| over the kernel's cases; f32 tolerance 1e-4 + 1e-4|x|, f16 2e-3 + 2e-3|x|)");
    if failures.is_empty() {
        println!("all {} kernels match the CPU reference", matrix.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} mismatches:\n{}", failures.len(), failures.join("\n"));
        Ok(ExitCode::from(1))
    }
}
