//! Times one linear pass at any shapes on the default adapter, with the suite's kernel timing
//! (the tuned family, validated against the CPU first): how the subgroup tiles were chosen.
//!
//! `cargo run --release --example lab_linear -- PASS BATCH IN OUT [BATCH IN OUT ...]`
//! with PASS `f` (forward), `i` (backward_input) or `w` (backward_weight).

use cnngpu::bench::suite::{run_item, Item, Work};
use cnngpu::gpu::GpuBackend;
use cnngpu::ops::{Act, LinearParams, Pass};
use cnngpu::parity::{Case, Op};
use cnngpu::tensor::Precision;

fn main() {
    let mut args = std::env::args().skip(1);
    let pass = match args.next().as_deref() {
        Some("i") => Pass::BackwardInput,
        Some("w") => Pass::BackwardWeight,
        Some("f") => Pass::Forward,
        _ => {
            eprintln!("usage: lab_linear f|i|w BATCH IN OUT [BATCH IN OUT ...]");
            std::process::exit(2);
        }
    };
    let sizes: Vec<usize> = args.map(|s| s.parse().expect("a size")).collect();
    let b = GpuBackend::open("auto").expect("an adapter");
    eprintln!("{}", cnngpu::ops::Backend::describe(&b));
    for c in sizes.chunks_exact(3) {
        let p = LinearParams {
            batch: c[0],
            in_features: c[1],
            out_features: c[2],
            bias: false,
            act: Act::None,
        };
        let case = Case {
            name: "lab".into(),
            op: Op::Linear(p),
            ties: false,
        };
        let work = Work::Kernel {
            case,
            pass,
            precision: Precision::F32,
        };
        let item = Item {
            id: "lab".into(),
            work,
            skip: None,
        };
        let e = run_item(&b, &item, 1.0).expect("the pass ran");
        println!(
            "{} batch {} in {} out {}: {:.2} ms, {:.2} GFLOP/s{}",
            pass.name(),
            c[0],
            c[1],
            c[2],
            e.ms.unwrap_or(f64::NAN),
            e.gflops.unwrap_or(f64::NAN),
            e.skipped
                .map_or(String::new(), |s| format!(" (skipped: {s})"))
        );
    }
}
