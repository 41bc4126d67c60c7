//! The FMA ceiling per chain count: the `peak_fma` kernel with 2, 4, 8 and 16 independent
//! vec4 chains, twice each, on the chosen adapter (`CNNGPU_ADAPTER`, default auto). `cnngpu
//! bench` and `profile` divide by the best of these; this shows how far apart they are on a
//! driver and host (see shaders/peak_fma.wgsl).
//!
//! `cargo run --release --example fma_probe`

use cnngpu::bench::{fma_gflops_with, FMA_CHAINS};
use cnngpu::gpu::GpuBackend;

fn main() -> cnngpu::Result<()> {
    let spec = std::env::var("CNNGPU_ADAPTER").unwrap_or_else(|_| "auto".into());
    let gpu = GpuBackend::open(&spec)?;
    println!("{}", gpu.ctx.describe());
    for round in 1..=2 {
        for chains in FMA_CHAINS {
            let gflops = fma_gflops_with(&gpu, chains)?;
            println!("round {round}: {chains:2} vec4 chains {gflops:7.1} GFLOP/s");
        }
    }
    Ok(())
}
