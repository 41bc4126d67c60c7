//! A paired in-process A/B of LeNet-5's training step with the pools' mirrors on and off
//! (`gpu::mirrors`): blocks of steps alternate between the two, and each block's median step
//! time is paired with the next block's, so that the host's slow phases (on the 2-core
//! development VM, small kernels ran 1.3–1.5× slower for minutes at a time) fall on both sides.
//! `cargo run --release --example ab_mirrors -- [f32|f16] [PAIRS] [STEPS_PER_BLOCK]`
//! (defaults f32, 10, 20). 2026-12-05 09:35, Mesa 22.3 lavapipe, 20 pairs of 20 steps: f32
//! 8.04 against 8.51 ms a step (faster in 19 pairs), f16 8.72 against 8.97 (17 pairs).
use cnngpu::gpu::GpuBackend;
use cnngpu::nn::{initial_parameters, models, Init, Model, StepConfig};
use cnngpu::ops::Backend;
use cnngpu::tensor::{Precision, SplitMix64};
use std::time::Instant;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let precision = match args.next().as_deref() {
        Some("f16") => Precision::F16,
        _ => Precision::F32,
    };
    let pairs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let b = GpuBackend::open(&std::env::var("CNNGPU_ADAPTER").unwrap_or("auto".into()))?;
    println!("{}", b.ctx.describe());
    let graph = models::lenet5(10)?;
    let values = initial_parameters(&graph, Init::PyTorchDefault, 7);
    let mut model = Model::new(&b, graph, precision, &values)?;
    let batch = 64;
    model.plan(&b, batch)?;
    let mut metrics = model.metrics(&b)?;
    let x = SplitMix64(99).uniform_vec(batch * 32 * 32, -1.0, 1.0);
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 10).collect();
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let mut step = 0;
    for block in 0..2 * pairs {
        let mirrors = block % 2 == 0;
        b.set_mirrors(mirrors);
        let mut times = Vec::new();
        // Two steps to settle after a switch (the first one with mirrors fills them).
        for i in 0..steps + 2 {
            let cfg = StepConfig {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: false,
                seed: 5,
                step,
            };
            step += 1;
            let t = Instant::now();
            model.load_batch(&b, &x, &labels)?;
            model.forward(&b, batch, true, &cfg, &mut metrics)?;
            model.backward_and_update(&b, batch, &cfg)?;
            b.sync()?;
            if i >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        let m = median(&mut times);
        if mirrors {
            on.push(m)
        } else {
            off.push(m)
        }
    }
    let mut diffs: Vec<f64> = on.iter().zip(&off).map(|(a, b)| a - b).collect();
    let faster = diffs.iter().filter(|d| **d < 0.0).count();
    println!(
        "LeNet-5 b{batch} {precision:?}, {pairs} pairs of {steps} steps: mirrors on {:.3} ms, \
         off {:.3} ms (medians of the blocks' medians); paired difference {:+.3} ms median, \
         on faster in {faster} of {pairs}",
        median(&mut on),
        median(&mut off),
        median(&mut diffs),
    );
    Ok(())
}
