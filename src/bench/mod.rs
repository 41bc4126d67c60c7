//! Measuring kernels: the adapter's own ceilings (an FMA peak kernel, buffer-copy bandwidth)
//! and the wall time of any recorded GPU work, amortised over repetitions in one submission.

pub mod chart;
pub mod report;
pub mod suite;

use crate::error::Result;
use crate::gpu::buffers::View;
use crate::gpu::{GpuBackend, Storage};
use crate::ops::Backend;
use crate::parity::{Case, Inputs, Prepared};
use crate::tensor::DType;
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

/// The adapter's f32 FMA throughput in GFLOP/s, from the peak_fma kernel.
pub fn fma_peak_gflops(b: &GpuBackend) -> Result<f64> {
    let len = 256 * 1024;
    let iterations = 512u32;
    let sink = b.full(crate::tensor::Shape::new(&[len]), DType::F32, 0.0)?;
    let u = PeakUniform {
        len: len as u32,
        iterations,
        ..Default::default()
    };
    let secs = time_gpu(
        b,
        || {
            b.dispatch(
                "peak_fma",
                Storage::F32,
                &u,
                &[View::whole(&sink)],
                len.div_ceil(256) as u64,
            )
        },
        0.5,
    )?;
    Ok(len as f64 * iterations as f64 * 64.0 / secs / 1e9)
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

/// Seconds per run of one case's pass in one storage variant (inputs uploaded beforehand).
pub fn time_pass(
    b: &GpuBackend,
    case: &Case,
    pass: crate::ops::Pass,
    inputs: &Inputs,
    variant: Storage,
    min_secs: f64,
) -> Result<f64> {
    let dtype = match variant {
        Storage::F32 => DType::F32,
        s => {
            b.set_f16_storage(s)?;
            DType::F16
        }
    };
    let mut prepared = Prepared::new(b, case, pass, inputs, dtype)?;
    time_gpu(b, || prepared.run(b), min_secs)
}
