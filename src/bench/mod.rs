//! Measuring kernels: the adapter's own ceilings (an FMA peak kernel, buffer-copy bandwidth)
//! and the wall time of any recorded GPU work, amortised over repetitions in one submission.

pub mod chart;
pub mod report;
pub mod suite;

use crate::error::Result;
use crate::gpu::buffers::View;
use crate::gpu::{GpuBackend, Storage};
use crate::nn::{initial_parameters, Graph, Init, Metrics, Model, StepConfig};
use crate::ops::Backend;
use crate::tensor::{DType, Precision, SplitMix64};
use std::time::Instant;

/// Seconds per repetition of `record`: one warm-up run, one timed run (the answer when it
/// alone lasts `min_secs`), else enough repetitions recorded into one submission to last about
/// `min_secs`.
pub fn time_gpu(
    b: &GpuBackend,
    mut record: impl FnMut() -> Result<()>,
    min_secs: f64,
) -> Result<f64> {
    record()?;
    b.sync()?;
    let t = Instant::now();
    record()?;
    b.sync()?;
    let once = t.elapsed().as_secs_f64().max(1e-6);
    if once >= min_secs {
        return Ok(once);
    }
    let reps = ((min_secs / once).ceil() as usize).clamp(1, 200);
    let t = Instant::now();
    for _ in 0..reps {
        record()?;
    }
    b.sync()?;
    Ok((t.elapsed().as_secs_f64() / reps as f64).min(once))
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct PeakUniform {
    len: u32,
    iterations: u32,
    _pad0: u32,
    _pad1: u32,
}

/// The adapter's f32 FMA ceiling: the best of the peak_fma kernel with 2, 4, 8 and 16
/// independent vec4 chains (which count reaches it depends on the driver and the host;
/// shaders/peak_fma.wgsl).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FmaPeak {
    pub gflops: f64,
    /// The chain count that reached it.
    pub chains: u32,
}

/// Measures the adapter's [`FmaPeak`].
pub fn fma_peak(b: &GpuBackend) -> Result<FmaPeak> {
    let mut measured = Vec::new();
    for chains in FMA_CHAINS {
        measured.push((chains, fma_gflops_with(b, chains)?));
    }
    Ok(FmaPeak::best(&measured))
}

impl FmaPeak {
    /// The fastest of (chain count, GFLOP/s) measurements (the first of equals).
    pub fn best(measured: &[(u32, f64)]) -> FmaPeak {
        let mut best = FmaPeak {
            gflops: 0.0,
            chains: 0,
        };
        for &(chains, gflops) in measured {
            if gflops > best.gflops {
                best = FmaPeak { gflops, chains };
            }
        }
        best
    }
}

/// The adapter's f32 FMA ceiling in GFLOP/s ([`fma_peak`]).
pub fn fma_peak_gflops(b: &GpuBackend) -> Result<f64> {
    Ok(fma_peak(b)?.gflops)
}

/// The chain counts [`fma_peak`] tries.
pub const FMA_CHAINS: [u32; 4] = [2, 4, 8, 16];

/// The peak_fma kernel's GFLOP/s with `chains` independent vec4 FMA chains per invocation.
pub fn fma_gflops_with(b: &GpuBackend, chains: u32) -> Result<f64> {
    let len = 256 * 1024;
    // 64 vec4 FMAs a loop step whatever the chain count (shaders/peak_fma.wgsl).
    let iterations = 64u32;
    let sink = b.full(crate::tensor::Shape::new(&[len]), DType::F32, 0.0)?;
    let u = PeakUniform {
        len: len as u32,
        iterations,
        ..Default::default()
    };
    let secs = time_gpu(
        b,
        || {
            b.dispatch_with(
                "peak_fma",
                Storage::F32,
                &[("CHAINS", chains)],
                &u,
                &[View::whole(&sink)],
                len.div_ceil(256) as u64,
            )
        },
        0.5,
    )?;
    Ok(len as f64 * iterations as f64 * 512.0 / secs / 1e9)
}

/// Device-local copy bandwidth in GB/s (bytes read plus bytes written).
pub fn copy_gbps(b: &GpuBackend) -> Result<f64> {
    let len = 16 * 1024 * 1024; // 64 MiB of f32
    let shape = crate::tensor::Shape::new(&[len]);
    let (src, dst) = (
        b.full(shape.clone(), DType::F32, 1.0)?,
        b.full(shape, DType::F32, 0.0)?,
    );
    let bytes = len as u64 * 4;
    let secs = time_gpu(
        b,
        || {
            b.copy(&src, &dst);
            Ok(())
        },
        0.3,
    )?;
    Ok(2.0 * bytes as f64 / secs / 1e9)
}

/// A model on a seeded synthetic batch, recording training steps for benchmarks and profiles
/// (speed does not depend on the values).
pub struct SyntheticTraining<B: Backend> {
    pub model: Model<B>,
    metrics: Metrics<B>,
    x: Vec<f32>,
    labels: Vec<u32>,
    batch: usize,
    step: u32,
}

impl<B: Backend> SyntheticTraining<B> {
    /// Builds the model (seeded initialisation) and plans `batch`.
    pub fn new(
        b: &B,
        graph: Graph,
        init: Init,
        precision: Precision,
        batch: usize,
    ) -> Result<Self> {
        let values = initial_parameters(&graph, init, 1);
        let mut model = Model::new(b, graph, precision, &values)?;
        model.plan(b, batch)?;
        let metrics = model.metrics(b)?;
        let (x, labels) = synthetic_batch(&model.graph, batch, 7);
        Ok(SyntheticTraining {
            model,
            metrics,
            x,
            labels,
            batch,
            step: 0,
        })
    }

    /// Records one training step as the trainer does: upload the batch, forward, loss,
    /// backward, optimizer (nothing runs until a submit or sync).
    pub fn record_step(&mut self, b: &B) -> Result<()> {
        let cfg = StepConfig::benchmark(self.step);
        self.step += 1;
        self.model.load_batch(b, &self.x, &self.labels)?;
        self.model
            .forward(b, self.batch, true, &cfg, &mut self.metrics)?;
        self.model.backward_and_update(b, self.batch, &cfg)
    }
}

/// A seeded random batch (inputs in [-1, 1), labels below `graph.classes`: one per image, or
/// per pixel for a segmentation graph).
pub fn synthetic_batch(graph: &Graph, batch: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = SplitMix64(seed);
    let per = graph.input.iter().product::<usize>();
    let x = (0..batch * per)
        .map(|_| rng.next_f32() * 2.0 - 1.0)
        .collect();
    let labels = (0..batch * graph.label_pixels())
        .map(|_| (rng.next_u64() % graph.classes as u64) as u32)
        .collect();
    (x, labels)
}

#[cfg(test)]
mod tests {
    use super::FmaPeak;

    #[test]
    fn the_fma_ceiling_is_the_fastest_chain_count() {
        let measured = [(2, 34.0), (4, 55.1), (8, 79.2), (16, 68.7)];
        assert_eq!(
            FmaPeak::best(&measured),
            FmaPeak {
                gflops: 79.2,
                chains: 8
            }
        );
        let measured = [(2, 30.0), (4, 30.0), (8, 10.0), (16, 39.0)];
        assert_eq!(FmaPeak::best(&measured).chains, 16);
        assert_eq!(FmaPeak::best(&measured[..2]).chains, 2);
    }
}
