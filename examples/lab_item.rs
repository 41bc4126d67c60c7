//! Times one `cnngpu bench` item's step repetition by repetition, in a process that keeps
//! running (for `perf record -p` and for comparing with examples/kernel_lab.rs):
//! `cargo run --release --example lab_item -- kernel/sgd_update/alexnet_sgd_fc7/n16777216/f32 [REPS]`.
//! 2026-12-04, 2-core AMD EPYC, Mesa 22.3: that item ran 295-304 ms a repetition, its time in a
//! per-lane loop of scalar loads with a store-to-load round trip a value (3 vec4 loads and 2
//! vec4 stores an invocation).
use cnngpu::bench::suite;
use cnngpu::gpu::GpuBackend;
use cnngpu::ops::Backend;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(id) = args.next() else {
        eprintln!("usage: lab_item ID [REPS] (ids: cnngpu bench --list)");
        std::process::exit(2);
    };
    let reps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let b = GpuBackend::open(&std::env::var("CNNGPU_ADAPTER").unwrap_or("auto".into()))
        .expect("no adapter");
    let Some(item) = suite::suite(false).into_iter().find(|i| i.id == id) else {
        eprintln!("no bench item {id}");
        std::process::exit(2);
    };
    let mut runner = suite::prepare(&b, &item.work).expect("prepare");
    for _ in 0..reps {
        let t = Instant::now();
        (runner.step)().expect("step");
        b.sync().expect("sync");
        println!("{id}: {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    }
}
