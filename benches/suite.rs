//! `cargo bench`: the same suite as `cnngpu bench` (src/bench/suite.rs), timed by criterion.
//! Each kernel item records `iters` repetitions into one submission; each training item runs
//! `iters` whole steps. Ceilings are `cnngpu bench`'s business (they are not repetitions of
//! recorded work).
//!
//!     cargo bench                          # the quick suite
//!     CNNGPU_BENCH_FULL=1 cargo bench      # the full suite (AlexNet training: very slow on CPU adapters)
//!     cargo bench -- lenet5_conv           # criterion's filter
//!
//! The adapter comes from CNNGPU_ADAPTER (default: the best one).

use cnngpu::bench::suite::{prepare, suite, Work};
use cnngpu::gpu::GpuBackend;
use cnngpu::ops::Backend;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

fn bench(c: &mut Criterion) {
    let spec = std::env::var("CNNGPU_ADAPTER").unwrap_or_default();
    let gpu = match GpuBackend::open(&spec) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("SKIPPED: no GPU adapter ({e})");
            return;
        }
    };
    eprintln!("adapter: {}", gpu.ctx.describe());
    let full = std::env::var("CNNGPU_BENCH_FULL").as_deref() == Ok("1");
    let mut group = c.benchmark_group("suite");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for item in suite(!full) {
        if item.skip.is_some() || matches!(item.work, Work::FmaPeak | Work::Copy) {
            continue;
        }
        // Prepared on first use (criterion skips filtered-out items) and kept across samples.
        let mut runner = None;
        group.bench_function(&item.id, |bch| {
            let r = runner.get_or_insert_with(|| {
                prepare(&gpu, &item.work)
                    .unwrap_or_else(|e| panic!("{}: cannot be prepared here: {e}", item.id))
            });
            bch.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    (r.step)().expect("the item records");
                }
                gpu.sync().expect("the device runs it");
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
