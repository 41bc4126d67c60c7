//! The memory a training run will need, computed from the graph before anything is allocated,
//! and the check against the device's limits and the host's free memory.

use crate::error::{Error, Result};
use crate::nn::{Graph, LayerKind};
use crate::tensor::{arena_layout, Precision};

/// What the caller knows about the device the run will allocate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceMemory {
    /// The largest single buffer the device allows.
    pub max_buffer: u64,
    /// Whether device memory is host memory (the CPU reference, lavapipe, llvmpipe,
    /// integrated GPUs): then the whole plan must fit in the host's free memory.
    pub shares_host: bool,
    /// Whether smaller batch sizes view the largest one's buffers (a GPU; see
    /// [`crate::ops::Backend::prefix`]) instead of allocating their own (the CPU reference).
    pub aliases: bool,
}

/// The run's memory, from the same formulas as `Model::plan` and `Model::parameter_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Parameters, momentum, gradients and weight copies.
    pub parameters: u64,
    /// Device bytes per image of a batch evaluated or trained: the input, every kept
    /// activation, max-pool indices, labels and losses.
    pub per_image: u64,
    /// Device bytes per image of a training batch on top: the gradient buffers, shared by
    /// liveness ([`Graph::gradient_plan`]).
    pub gradients_per_image: u64,
    /// What the gradients would take per image with one buffer per node.
    pub unshared_gradients_per_image: u64,
    /// The largest single activation buffer per image.
    pub largest_per_image: u64,
    /// Host bytes per image of a batch (the preprocessed f32 input and its label).
    pub host_per_image: u64,
}

impl MemoryPlan {
    pub fn of(graph: &Graph, precision: Precision) -> Self {
        let e = precision.dtype().size() as u64;
        let extra = if precision == Precision::F16 {
            2 * e
        } else {
            e
        };
        // Master weights and momentum (f32), gradients and (f16) weight copies, each in an
        // arena of the parameters side by side.
        let numels = graph
            .parameters()
            .into_iter()
            .map(|(_, s, _)| s.iter().product());
        // (With a segmentation graph's count of labelled pixels, 4 bytes that every batch
        // size's plan views.)
        let parameters = arena_layout(numels).1 as u64 * (8 + extra)
            + graph.norm_state_bytes()
            + 4 * graph.segmentation() as u64;
        let [c, h, w] = graph.input;
        let input = (c * h * w) as u64;
        // A u32 label and an f32 loss per image, or per pixel of a segmentation graph.
        let labels = graph.label_pixels() as u64;
        let mut per_image = input * e + 8 * labels;
        let mut largest = input * e;
        let (fusions, folds) = (graph.fusions(), graph.pool_folds());
        let kept = Graph::kept(&fusions, &folds);
        for (l, (out, _)) in graph.layers.iter().zip(kept) {
            let n = l.out_shape.iter().product::<usize>() as u64;
            // Fused layers keep no output of their own.
            per_image += out as u64 * n * e;
            if matches!(l.kind, LayerKind::MaxPool2d(_)) {
                per_image += 4 * n;
            }
            largest = largest.max(n * e);
        }
        MemoryPlan {
            parameters,
            per_image,
            gradients_per_image: graph.gradient_plan(&folds).numel() as u64 * e,
            unshared_gradients_per_image: graph.gradient_numel_unshared(&folds) as u64 * e,
            largest_per_image: largest,
            host_per_image: input * 4 + 4 * labels,
        }
    }

    /// The batch sizes a run plans for (as `Trainer::plan`): for training, the batch and the
    /// epoch's remainder; for evaluation only, the evaluation batch and its remainder where
    /// they are not training sizes too.
    pub fn batches(
        batch: usize,
        eval_batch: usize,
        train: usize,
        test: usize,
    ) -> (Vec<usize>, Vec<usize>) {
        let mut training = vec![batch];
        training.extend(Some(train % batch.max(1)).filter(|&n| n > 0));
        training.sort();
        training.dedup();
        let mut eval = vec![eval_batch.min(test)];
        eval.extend(Some(test % eval_batch.max(1)).filter(|&n| n > 0));
        eval.retain(|n| !training.contains(n));
        eval.sort();
        eval.dedup();
        (training, eval)
    }

    /// The line `train` prints: the planned bytes and what sharing saved.
    pub fn describe(&self, planned: u64, batch: usize, aliases: bool) -> String {
        let b = batch as u64;
        let activations = if aliases {
            "one set of activations for the largest batch size, which the smaller ones view"
        } else {
            "activations for each batch size"
        };
        format!(
            "planned device memory: {} (parameters, optimizer state, {activations}; gradients \
             shared by liveness: {} a training batch of {batch}, {} with one buffer per layer)",
            mib(planned),
            mib(self.gradients_per_image * b),
            mib(self.unshared_gradients_per_image * b)
        )
    }

    /// The order `Trainer::plan` plans batch sizes in: largest first, training before
    /// evaluation at equal size, so that every later plan can view an earlier one's buffers.
    pub fn plan_order(training: &[usize], eval: &[usize]) -> Vec<(usize, bool)> {
        let mut order: Vec<(usize, bool)> = training.iter().map(|&b| (b, true)).collect();
        order.extend(eval.iter().map(|&b| (b, false)));
        order.sort_by_key(|&(b, train)| (std::cmp::Reverse(b), !train));
        order
    }

    /// Device bytes of a run with these training and evaluation batch sizes, planned in
    /// [`Self::plan_order`]. Where the backend `aliases`, a plan views a larger one's
    /// activations and a larger training plan's gradients, so the run holds the activations
    /// of its largest batch size and the gradients of its largest training batch; otherwise
    /// every size has its own.
    pub fn device_bytes(&self, (training, eval): (&[usize], &[usize]), aliases: bool) -> u64 {
        let (mut activations, mut gradients) = (0u64, 0u64);
        let mut planned: Vec<(usize, bool)> = Vec::new();
        for (b, train) in Self::plan_order(training, eval) {
            let covered = |need_grads: bool| {
                aliases && planned.iter().any(|&(p, t)| p >= b && (t || !need_grads))
            };
            if !covered(false) {
                activations += b as u64 * self.per_image;
            }
            if train && !covered(true) {
                gradients += b as u64 * self.gradients_per_image;
            }
            planned.push((b, train));
        }
        self.parameters + activations + gradients
    }
}

/// The host's free memory in bytes (Linux: `MemAvailable`), or `None` where unknown.
pub fn host_available() -> Option<u64> {
    if let Ok(limit) = std::env::var("CNNGPU_HOST_MEMORY") {
        return parse_bytes(&limit);
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `123`, `64MiB`, `2GiB` as bytes.
fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        .iter()
        .find_map(|(suffix, m)| s.strip_suffix(suffix).map(|n| (n, *m)))
        .unwrap_or((s, 1));
    num.trim().parse::<u64>().ok()?.checked_mul(mul)
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
}

/// Checks a run of `batch` images a step (evaluated `eval_batch` at a time) against the
/// device's largest buffer and the host's free memory before anything is allocated. The error
/// ([`Error::Memory`], exit 3) gives the numbers and the largest batch that would fit.
pub fn check(
    plan: &MemoryPlan,
    device: DeviceMemory,
    host_free: Option<u64>,
    batch: usize,
    eval_batch: usize,
    train: usize,
    test: usize,
) -> Result<()> {
    let fits = |b: usize| -> std::result::Result<(), String> {
        let (training, eval) = MemoryPlan::batches(b, eval_batch, train, test);
        let biggest = training.iter().chain(&eval).copied().max().unwrap_or(b) as u64;
        let buffer = biggest * plan.largest_per_image;
        if buffer > device.max_buffer {
            return Err(format!(
                "its largest activation buffer is {}, the adapter's largest buffer {}",
                mib(buffer),
                mib(device.max_buffer)
            ));
        }
        let device_bytes = plan.device_bytes((&training, &eval), device.aliases);
        let host_bytes =
            biggest * plan.host_per_image + if device.shares_host { device_bytes } else { 0 };
        if let Some(free) = host_free {
            if host_bytes > free {
                return Err(format!(
                    "it needs {} of host memory ({} planned device memory{}), {} is free",
                    mib(host_bytes),
                    mib(device_bytes),
                    if device.shares_host {
                        ", which is host memory on this device"
                    } else {
                        ", not counted: it is the GPU's"
                    },
                    mib(free)
                ));
            }
        }
        Ok(())
    };
    let Err(why) = fits(batch) else {
        return Ok(());
    };
    // The largest batch that fits (fits is monotone in the batch size).
    let (mut lo, mut hi) = (0usize, batch);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid).is_ok() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let advice = if lo == 0 {
        "no batch size fits: free memory or use a smaller model".to_string()
    } else {
        format!("the largest batch that fits is --batch-size {lo}")
    };
    Err(Error::Memory(format!(
        "a training batch of {batch}: {why}; {advice}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_matches_the_models_and_the_largest_fitting_batch_fits() {
        let g = crate::nn::models::lenet5(10).unwrap();
        let p = MemoryPlan::of(&g, Precision::F32);
        // LeNet-5: 61,706 parameters; in an arena each of its ten tensors starts at a
        // multiple of 128 elements, which leaves 512 elements of gaps; 32x32 input.
        assert_eq!(p.parameters, (61_706 + 512) * 12);
        assert!(p.per_image > 4 * 32 * 32 && p.per_image < 200_000, "{p:?}");
        let device = DeviceMemory {
            max_buffer: u64::MAX,
            shares_host: true,
            aliases: false,
        };
        let free = 100 << 20;
        check(&p, device, Some(free), 64, 500, 4000, 1000).expect("batch 64 fits in 100 MiB");
        let e = check(&p, device, Some(free), 100_000, 500, 100_000, 1000)
            .expect_err("batch 100,000 does not");
        let msg = e.to_string();
        assert!(
            msg.contains("largest batch that fits is --batch-size"),
            "{msg}"
        );
        let best: usize = msg
            .split("--batch-size ")
            .nth(1)
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(check(&p, device, Some(free), best, 500, 100_000, 1000).is_ok());
        assert!(check(&p, device, Some(free), best + 1, 500, 100_000, 1000).is_err());
        // The adapter's largest buffer is a limit too, even with the host's memory unknown.
        let small = DeviceMemory {
            max_buffer: 1 << 20,
            shares_host: false,
            aliases: true,
        };
        let e = check(&p, small, None, 4096, 500, 100_000, 1000).expect_err("too big a buffer");
        assert!(e.to_string().contains("largest buffer"), "{e}");
        assert_eq!(parse_bytes("64MiB"), Some(64 << 20));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("1000"), Some(1000));
    }
}
