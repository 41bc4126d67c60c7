//! The benchmark suite, defined once for `cnngpu bench` and `cargo bench`: the adapter's
//! ceilings, every kernel pass at the LeNet-5 and AlexNet layer shapes, and training
//! throughput of LeNet-5, AlexNet and ResNet-18, in f32 and f16.

use super::report::{Entry, Report, System};
use super::{copy_gbps, fma_peak, time_gpu, SyntheticTraining};
use crate::error::{Error, Result};
use crate::gpu::kernels::Gemm;
use crate::gpu::{GpuBackend, Storage};
use crate::nn::models;
use crate::ops::{Backend, Pass};
use crate::parity::{self, make_inputs, Case, Op};
use crate::tensor::Precision;
use std::time::Instant;

/// Batch sizes of the kernel cases.
pub const LENET_KERNEL_BATCH: usize = 64;
pub const ALEXNET_KERNEL_BATCH: usize = 16;
/// AlexNet kernel batch in `--quick` runs.
pub const ALEXNET_QUICK_KERNEL_BATCH: usize = 1;
/// ResNet-18 (32 px) kernel batch, and in `--quick` runs.
pub const RESNET_KERNEL_BATCH: usize = 64;
pub const RESNET_QUICK_KERNEL_BATCH: usize = 8;
/// Training throughput: (model, batch sizes).
pub const TRAIN: [(&str, [usize; 2]); 5] = [
    ("lenet5", [64, 256]),
    ("alexnet", [32, 128]),
    ("resnet18", [64, 128]),
    ("googlenet", [32, 64]),
    ("unet", [16, 32]),
];

/// What one suite item measures.
#[derive(Clone, Debug)]
pub enum Work {
    FmaPeak,
    Copy,
    Kernel {
        case: Case,
        pass: Pass,
        precision: Precision,
    },
    Train {
        model: &'static str,
        batch: usize,
        precision: Precision,
    },
}

/// One item: a stable id (how results of different runs and tools are matched), its work, and
/// a reason when this run skips it.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub work: Work,
    pub skip: Option<String>,
}

/// The id of a kernel case's pass, by kernel name first (so `--filter conv2d_backward`
/// selects a kernel): `kernel/conv2d_forward/lenet5_conv1/b64/f32`.
pub fn kernel_id(case: &Case, pass: Pass, precision: Precision) -> String {
    format!(
        "kernel/{}/{}/{}/{}",
        case.op.kernel(pass),
        case.name,
        case.op.spec().size(),
        precision.name()
    )
}

/// The id of a training item: `train/alexnet/b32/f16`.
pub fn train_id(model: &str, batch: usize, precision: Precision) -> String {
    format!("train/{model}/b{batch}/{}", precision.name())
}

/// The fixed suite: every pass a training step runs (not the first conv layer's input
/// gradient, which no step computes). `--quick` times AlexNet's kernels at batch 1 and skips AlexNet training
/// (minutes a step on a software adapter), so a quick run stays short anywhere.
pub fn suite(quick: bool) -> Vec<Item> {
    let precisions = [Precision::F32, Precision::F16];
    let mut items = vec![
        Item {
            id: "ceiling/fma".into(),
            work: Work::FmaPeak,
            skip: None,
        },
        Item {
            id: "ceiling/copy".into(),
            work: Work::Copy,
            skip: None,
        },
    ];
    let mut cases = parity::lenet5_layers(LENET_KERNEL_BATCH);
    cases.extend(parity::alexnet_layers(if quick {
        ALEXNET_QUICK_KERNEL_BATCH
    } else {
        ALEXNET_KERNEL_BATCH
    }));
    cases.extend(parity::resnet18_layers(if quick {
        RESNET_QUICK_KERNEL_BATCH
    } else {
        RESNET_KERNEL_BATCH
    }));
    for precision in precisions {
        for case in &cases {
            for pass in case.op.passes() {
                // Training never computes the input gradient of the first layer.
                let layer = case.name.split_once('_').map(|(_, layer)| layer);
                if pass == Pass::BackwardInput && layer == Some("conv1") {
                    continue;
                }
                items.push(Item {
                    id: kernel_id(case, pass, precision),
                    work: Work::Kernel {
                        case: case.clone(),
                        pass,
                        precision,
                    },
                    skip: None,
                });
            }
        }
    }
    for (model, batches) in TRAIN {
        for batch in batches {
            for precision in precisions {
                items.push(Item {
                    id: train_id(model, batch, precision),
                    work: Work::Train {
                        model,
                        batch,
                        precision,
                    },
                    skip: (quick && model == "alexnet")
                        .then(|| "--quick skips AlexNet training".to_string()),
                });
            }
        }
    }
    items
}

/// A prepared item: `step` records one repetition of its work (nothing runs until a sync).
pub struct Runner<'a> {
    pub step: Box<dyn FnMut() -> Result<()> + 'a>,
    /// FLOPs, bytes and images of one repetition (0 where not meaningful).
    pub flops: u64,
    pub bytes: u64,
    pub images: usize,
}

/// Sets the backend's f16 storage for `precision` (native where the adapter has it) and
/// returns the storage variant the item runs in.
fn storage_for(b: &GpuBackend, precision: Precision) -> Result<Storage> {
    if precision == Precision::F16 {
        let s = if b.ctx.has_f16() {
            Storage::F16Native
        } else {
            Storage::F16Packed
        };
        b.set_f16_storage(s)?;
        return Ok(s);
    }
    Ok(Storage::F32)
}

/// Uploads what `work` needs and returns its recorder. Ceilings are measured by their own
/// functions and have no runner.
pub fn prepare<'a>(b: &'a GpuBackend, work: &Work) -> Result<Runner<'a>> {
    match work {
        Work::FmaPeak | Work::Copy => Err(Error::invalid(
            "bench item",
            "ceilings are measured by fma_peak / copy_gbps",
        )),
        Work::Kernel {
            case,
            pass,
            precision,
        } => {
            storage_for(b, *precision)?;
            let inputs = make_inputs(case, *pass)?;
            let mut prepared = parity::Prepared::new(b, case, *pass, &inputs, precision.dtype())?;
            let elem = precision.dtype().size();
            let bytes = case.op.bytes(*pass, elem);
            Ok(Runner {
                step: Box::new(move || prepared.run(b)),
                flops: case.op.flops(*pass),
                bytes,
                images: 0,
            })
        }
        Work::Train {
            model,
            batch,
            precision,
        } => {
            storage_for(b, *precision)?;
            let (graph, init) = models::by_name(model, 10, 1, None)?;
            let mut training = SyntheticTraining::new(b, graph, init, *precision, *batch)?;
            Ok(Runner {
                step: Box::new(move || {
                    training.record_step(b)?;
                    b.submit()
                }),
                flops: 0,
                bytes: 0,
                images: *batch,
            })
        }
    }
}

/// Seconds per repetition: untimed warm-up repetitions until one stops getting faster (see
/// [`warm_up`]), then rounds of repetitions, each until `min_secs` have passed (at least one
/// repetition, each waited for), of which the median is taken (see [`median_of_rounds`]).
pub fn measure(b: &GpuBackend, runner: &mut Runner<'_>, min_secs: f64) -> Result<f64> {
    warm_up(|| {
        let start = Instant::now();
        (runner.step)()?;
        b.sync()?;
        Ok(start.elapsed().as_secs_f64())
    })?;
    median_of_rounds(|| {
        let start = Instant::now();
        let mut reps = 0u32;
        while reps == 0 || (start.elapsed().as_secs_f64() < min_secs && reps < 1000) {
            (runner.step)()?;
            b.sync()?;
            reps += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        Ok((secs / reps as f64, secs))
    })
}

/// The most rounds [`median_of_rounds`] takes, and the seconds after which it starts no more.
const ROUNDS: usize = 5;
const ROUNDS_SECS: f64 = 3.0;

/// The median of up to [`ROUNDS`] results of `round` (which returns its seconds a repetition
/// and its own seconds), no new round starting once [`ROUNDS_SECS`] have been spent: a
/// LeNet-5 step takes about 10 ms on lavapipe, so one round of 0.3 s was about 25 steps,
/// and this host's speed moves by a third within seconds (three runs of the same f16 item
/// read 4,560-5,964 images/s). A long step (AlexNet's, seconds) is still one round.
fn median_of_rounds(mut round: impl FnMut() -> Result<(f64, f64)>) -> Result<f64> {
    let (mut results, mut spent) = (Vec::with_capacity(ROUNDS), 0.0);
    while results.len() < ROUNDS && (results.is_empty() || spent < ROUNDS_SECS) {
        let (per_rep, secs) = round()?;
        results.push(per_rep);
        spent += secs;
    }
    results.sort_by(f64::total_cmp);
    let n = results.len();
    Ok((results[(n - 1) / 2] + results[n / 2]) / 2.0)
}

/// The most untimed repetitions before an item is timed.
const MAX_WARM_UP: usize = 6;

/// Runs `rep` (which returns its seconds) until a repetition takes at least 0.8 of the one
/// before it, at most [`MAX_WARM_UP`] times; returns how many ran. The first repetition
/// compiles pipelines (GoogLeNet at batch 64: four minutes on Mesa 22.3 lavapipe with a cold
/// shader cache) and a driver may compile or fault in more on the second, so one warm-up was
/// not always enough: a quick suite once recorded GoogLeNet b64 at 0.85 images/s where warm
/// runs read 20-28.
fn warm_up(mut rep: impl FnMut() -> Result<f64>) -> Result<usize> {
    let mut last = f64::INFINITY;
    for n in 1..=MAX_WARM_UP {
        let secs = rep()?;
        if secs >= 0.8 * last {
            return Ok(n);
        }
        last = secs;
    }
    Ok(MAX_WARM_UP)
}

/// Whether an error means "this does not fit on the adapter" (a skip, not a failure).
fn does_not_fit(e: &Error) -> bool {
    match e {
        Error::Limit { .. } => true,
        Error::Gpu { message, .. } => {
            let m = message.to_lowercase();
            m.contains("memory") || m.contains("too large")
        }
        _ => false,
    }
}

/// Checks a kernel item against the CPU reference before it is timed: conv2d and linear at
/// batch 1 of the item's layer geometry (the CPU reference at AlexNet's batch takes minutes),
/// other ops at the item's shape, in the item's precision and the family it will run in.
fn validate(b: &GpuBackend, case: &Case, pass: Pass, precision: Precision) -> Result<bool> {
    let op = match &case.op {
        Op::Conv2d(p) => Op::Conv2d(crate::ops::Conv2dParams { batch: 1, ..*p }),
        Op::Linear(p) => Op::Linear(crate::ops::LinearParams { batch: 1, ..*p }),
        other => other.clone(),
    };
    let small = Case { op, ..case.clone() };
    let inputs = make_inputs(&small, pass)?;
    let want = parity::reference(&small, pass, &inputs)?;
    let storage = storage_for(b, precision)?;
    match parity::check_variant(b, &small, pass, &inputs, &want, storage) {
        Ok(o) => Ok(o.passed()),
        Err(e) if does_not_fit(&e) => Ok(true), // timing reports the limit
        Err(e) => Err(e),
    }
}

/// The kernel family an item runs in: the tuned or default family of a GEMM-shaped pass.
fn variant_of(b: &GpuBackend, work: &Work) -> Option<String> {
    match work {
        Work::Kernel {
            case,
            pass,
            precision,
        } => {
            let gemm = Gemm::of(&case.op)?;
            let kernel = case.op.kernel(*pass);
            let kernel = crate::gpu::shaders::kernel(&kernel).ok()?.name;
            let storage = storage_for(b, *precision).ok()?;
            Some(gemm.runs(b.family_for(kernel, gemm, storage)).name().into())
        }
        Work::Train { .. } => Some(format!("{} (untuned default)", b.family().name())),
        _ => None,
    }
}

/// Runs one item on `b`. Items that do not fit the adapter come back skipped with the reason.
pub fn run_item(b: &GpuBackend, item: &Item, min_secs: f64) -> Result<Entry> {
    let mut entry = Entry::new(&item.id, &item.work);
    entry.variant = variant_of(b, &item.work);
    if let Some(why) = &item.skip {
        entry.skipped = Some(why.clone());
        return Ok(entry);
    }
    match &item.work {
        Work::FmaPeak => {
            let peak = fma_peak(b)?;
            entry.variant = Some(format!("{} vec4 chains", peak.chains));
            entry.set_value(peak.gflops);
        }
        Work::Copy => entry.set_value(copy_gbps(b)?),
        Work::Kernel {
            case,
            pass,
            precision,
        } if !validate(b, case, *pass, *precision)? => {
            entry.skipped =
                Some("the kernel does not match the CPU reference here: not timed".into());
        }
        work => {
            let measured = prepare(b, work).and_then(|mut r| {
                let secs = match work {
                    // Short kernels: many repetitions in one submission, as `cargo bench` does.
                    Work::Kernel { .. } => time_gpu(b, &mut r.step, min_secs)?,
                    _ => measure(b, &mut r, min_secs)?,
                };
                Ok((secs, r.flops, r.bytes, r.images))
            });
            match measured {
                Ok((secs, flops, bytes, images)) => entry.set_timing(secs, flops, bytes, images),
                Err(e) if does_not_fit(&e) => entry.skipped = Some(format!("does not fit: {e}")),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(entry)
}

/// Whether an item id is selected by `filter`: it contains one of the comma-separated parts.
pub fn selects(filter: &str, id: &str) -> bool {
    filter.split(',').any(|f| id.contains(f))
}

/// Runs the suite (items selected by `filter`, see [`selects`]) and returns the report; `progress` hears
/// each entry as it is measured.
pub fn run_suite(
    b: &GpuBackend,
    quick: bool,
    filter: &str,
    mut progress: impl FnMut(&Entry),
) -> Result<Report> {
    let mut report = Report::new(System::detect(b), quick);
    let min_secs = if quick { 0.05 } else { 0.3 };
    for item in suite(quick) {
        if !selects(filter, &item.id) {
            continue;
        }
        let entry = run_item(b, &item, min_secs)?;
        progress(&entry);
        report.results.push(entry);
    }
    Ok(report)
}

impl Item {
    /// The item as JSON for other tools (`cnngpu bench --list`): its id and what to run, so
    /// scripts/bench_pytorch.py measures exactly these shapes under these ids.
    pub fn describe(&self) -> serde_json::Value {
        use serde_json::json;
        let work = match &self.work {
            Work::FmaPeak => json!({"kind": "fma_peak"}),
            Work::Copy => json!({"kind": "copy"}),
            Work::Train {
                model,
                batch,
                precision,
            } => json!({"kind": "train", "model": model, "batch": batch,
                        "precision": precision.name()}),
            Work::Kernel {
                case,
                pass,
                precision,
            } => {
                let op = case.op.spec().params_json();
                json!({"kind": "kernel", "case": case.name, "pass": pass.name(),
                       "precision": precision.name(), "params": op})
            }
        };
        json!({"id": self.id, "work": work, "skip": self.skip})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_runs_until_a_repetition_stops_getting_faster() {
        let run = |times: &[f64]| {
            let mut it = times.iter().copied();
            warm_up(|| Ok(it.next().expect("no more than the list"))).unwrap()
        };
        // A compile in the first repetition: stops at the third (no faster than the second).
        assert_eq!(run(&[240.0, 2.1, 2.0]), 3);
        // A second repetition that compiled more keeps it going.
        assert_eq!(run(&[240.0, 60.0, 2.1, 2.15]), 4);
        // Already warm: two.
        assert_eq!(run(&[1.0, 1.0]), 2);
        // Never settling: capped.
        let halving: Vec<f64> = (0..10).map(|i| 0.5f64.powi(i)).collect();
        assert_eq!(run(&halving), MAX_WARM_UP);
    }

    #[test]
    fn rounds_give_their_median_and_stop_when_the_time_is_spent() {
        let run = |rounds: &[(f64, f64)]| {
            let mut it = rounds.iter().copied();
            let mut taken = 0;
            let m = median_of_rounds(|| {
                taken += 1;
                Ok(it.next().expect("no more than the list"))
            })
            .unwrap();
            (m, taken)
        };
        // Short rounds: all five, and one slow round does not move the median.
        let short = [
            (0.010, 0.3),
            (0.011, 0.3),
            (0.030, 0.3),
            (0.009, 0.3),
            (0.010, 0.3),
        ];
        assert_eq!(run(&short), (0.010, ROUNDS));
        // A round over the time: one.
        assert_eq!(run(&[(4.0, 4.0)]), (4.0, 1));
        // Two rounds spend the time: the mean of the two.
        assert_eq!(run(&[(2.0, 2.0), (1.5, 1.5)]), (1.75, 2));
    }

    #[test]
    fn a_filter_selects_ids_containing_any_of_its_parts() {
        assert!(selects("", "train/lenet5/b64/f32"));
        assert!(selects(
            "train/lenet5/b64,train/alexnet/b32",
            "train/alexnet/b32/f16"
        ));
        assert!(!selects(
            "train/lenet5/b64,train/alexnet/b32",
            "train/alexnet/b128/f16"
        ));
        assert!(selects(
            "conv2d_backward",
            "kernel/conv2d_backward_input/lenet5_conv2/b64/f32"
        ));
    }
}
