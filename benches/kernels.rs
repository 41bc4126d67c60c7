//! `cargo bench`: every kernel pass at the LeNet-5 (batch 64) and AlexNet (batch 16) layer
//! shapes — time, GFLOP/s and % of this adapter's own FMA ceiling, measured by the peak_fma
//! kernel in the same run — in f32 and f16 storage. Prints a Markdown table.
//!
//! Options (after `--`): a substring to filter case or kernel names; `--alexnet-batch N`,
//! `--lenet-batch N`. The adapter comes from CNNGPU_ADAPTER (default: the best one).

use cnngpu::bench::{copy_gbps, fma_peak_gflops, time_pass};
use cnngpu::gpu::{GpuBackend, Storage};
use cnngpu::parity::{self, make_inputs};

fn arg_value(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let lenet_batch = arg_value(&args, "--lenet-batch", 64);
    let alexnet_batch = arg_value(&args, "--alexnet-batch", 16);
    let filter = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[*i - 1].starts_with("--")))
        .map(|(_, a)| a.clone())
        .unwrap_or_default();

    let spec = std::env::var("CNNGPU_ADAPTER").unwrap_or_default();
    let gpu = GpuBackend::open(&spec)?;
    gpu.prepare_all()?;
    let half = if gpu.ctx.has_f16() {
        Storage::F16Native
    } else {
        Storage::F16Packed
    };
    let peak = fma_peak_gflops(&gpu)?;
    let copy = copy_gbps(&gpu)?;
    println!("adapter: {}", gpu.ctx.describe());
    println!("FMA ceiling (peak_fma): {peak:.1} GFLOP/s; buffer copy: {copy:.1} GB/s");
    println!(
        "LeNet-5 at batch {lenet_batch}, AlexNet at batch {alexnet_batch}; f16 = {}\n",
        half.name()
    );
    println!(
        "| kernel / case | f32 ms | f32 GFLOP/s | f32 % peak | f16 ms | f16 GFLOP/s | f16 % peak |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut cases = parity::lenet5_layers(lenet_batch);
    cases.extend(parity::alexnet_layers(alexnet_batch));
    for case in &cases {
        for pass in case.op.passes() {
            let kernel = case.op.kernel(pass);
            if !filter.is_empty() && !kernel.contains(&filter) && !case.name.contains(&filter) {
                continue;
            }
            let inputs = make_inputs(case, pass);
            let flops = case.op.flops(pass) as f64;
            let mut row = format!(
                "| {kernel} / {} |",
                case.name
                    .replace("alexnet_", "alexnet ")
                    .replace("lenet5_", "lenet5 ")
            );
            for v in [Storage::F32, half] {
                let secs = time_pass(&gpu, case, pass, &inputs, v, 0.2)?;
                let gflops = flops / secs / 1e9;
                row += &format!(
                    " {:.3} | {:.2} | {:.1} |",
                    secs * 1e3,
                    gflops,
                    100.0 * gflops / peak
                );
            }
            println!("{row}");
        }
    }
    Ok(())
}
