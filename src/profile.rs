//! `cnngpu profile`: where one training step's time goes. Every kernel launch of a step is
//! timed ([`crate::gpu::timing`]: timestamp queries, or the host's clock on drivers that run
//! kernels on the CPU) and summed per layer and pass; FLOPs
//! and bytes come from the op parameters, so each row also shows GFLOP/s, GB/s and the share of
//! the adapter's FMA ceiling measured in the same run. The step's wall time minus the kernels'
//! sum is the overhead (encoding, submission, waiting, gaps between passes).

use crate::bench::{fma_peak_gflops, SyntheticTraining};
use crate::error::{Error, Result};
use crate::gpu::recorder::DispatchStats;
use crate::gpu::timing::{Clock, SUBMIT_SAMPLES};
use crate::gpu::{GpuBackend, KernelTiming};
use crate::nn::graph::{Graph, LayerKind};
use crate::nn::models::Init;
use crate::ops::{Act, Backend, Pass};
use crate::tensor::Precision;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The passes of a step in the order rows are printed.
/// The bias gradient is a pass of its own (a channel sum, not a GEMM: the issue's
/// "bias passes aside").
pub const PASSES: [&str; 5] = [
    "forward",
    "backward_input",
    "backward_weight",
    "backward_bias",
    "optimizer",
];

/// One (layer, pass) of the profile, averaged over the profiled steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub layer: String,
    /// `conv2d`, `linear`, `relu`, ... or `softmax_cross_entropy` / `loss_scale` / `sgd`.
    pub kind: String,
    pub pass: String,
    /// Kernel launches per step.
    pub launches: usize,
    /// Summed GPU time of those launches per step, in milliseconds.
    pub gpu_ms: f64,
    /// Useful floating-point operations per step (0 where not counted: loss, optimizer).
    pub flops: u64,
    /// Compulsory bytes per step: each input read once, each output written once.
    pub bytes: u64,
    /// The kernels launched, in first-launch order: which variant ran (`conv2d_forward`, or
    /// `conv2d_pack` + `conv2d_forward_sg` in the subgroup family).
    #[serde(default)]
    pub kernels: Vec<String>,
}

impl Row {
    pub fn gflops(&self) -> Option<f64> {
        (self.flops > 0 && self.gpu_ms > 0.0).then(|| self.flops as f64 / self.gpu_ms / 1e6)
    }
    pub fn gbps(&self) -> Option<f64> {
        (self.bytes > 0 && self.gpu_ms > 0.0).then(|| self.bytes as f64 / self.gpu_ms / 1e6)
    }
}

fn timestamps() -> Clock {
    Clock::Timestamps
}

/// How `profile` times kernels on `b` unless told: by the host's clock on a driver that runs
/// kernels on the CPU (lavapipe, llvmpipe, WARP: a launch there is CPU time, and Mesa 22.3's
/// lavapipe writes timestamps outside the kernels' run once a step writes textures) or without
/// timestamp queries; by timestamps otherwise.
pub fn default_clock(b: &GpuBackend) -> Clock {
    let cpu = b.ctx.info.device_type == wgpu::DeviceType::Cpu;
    match cpu || !b.ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
        true => Clock::Wall,
        false => Clock::Timestamps,
    }
}

/// A whole profile: what ran, the rows, and the step's totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub adapter: String,
    pub model: String,
    pub batch: usize,
    pub precision: String,
    pub steps: usize,
    /// How the kernels were timed.
    #[serde(default = "timestamps")]
    pub clock: Clock,
    /// The adapter's f32 FMA ceiling: the higher of the peak_fma kernel's two measurements in
    /// this run, before the steps and after them (what the % of peak divides by).
    pub fma_gflops: f64,
    /// The two measurements, before and after the steps: on a host whose speed drifts they
    /// differ, and so would every percentage divided by one of them.
    #[serde(default)]
    pub fma_gflops_runs: Vec<f64>,
    /// Mean wall time of a step: recording, submission and waiting for the device (with the
    /// wall clock, of the unprofiled steps: a profiled step then waits after every launch).
    pub step_ms: f64,
    /// Mean sum of the kernels' GPU times per step. Passes are counted in full, so on a device
    /// that overlaps independent passes this can exceed the time the GPU was busy.
    pub kernel_ms: f64,
    /// Host clock only: the mean time an empty submission and wait took, taken off each
    /// launch (see [`Clock::Wall`]).
    #[serde(default)]
    pub submit_ms: f64,
    pub rows: Vec<Row>,
    /// What a step costs when not profiled (mean over as many steps, each run right after a
    /// profiled one).
    #[serde(default)]
    pub plain: StepCounts,
}

/// Per-step means of unprofiled steps: what the step creates, begins, submits and writes,
/// and its wall time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepCounts {
    pub steps: usize,
    /// wgpu objects created (buffers, bind groups, shader modules, pipelines; command
    /// encoders, one per submit, are not counted).
    pub objects_created: f64,
    pub compute_passes: f64,
    pub submits: f64,
    pub dispatches: f64,
    /// Bytes written to buffers through the queue (the batch, the per-step uniform where the
    /// adapter has no immediates).
    pub bytes_written: f64,
    pub wall_ms: f64,
}

impl Profile {
    /// The share of the step's wall time not spent in kernels: negative where the kernels,
    /// each timed alone, sum to more than the step (the host's pace moved between them), as
    /// the overhead in ms then is.
    pub fn overhead_share(&self) -> f64 {
        (self.step_ms - self.kernel_ms) / self.step_ms
    }

    /// Whether the kernels' timestamps account for at least half of a step run without
    /// them. Where they do not, the driver did not time the kernels (seen with Mesa 22.3
    /// lavapipe once a step's kernels write textures; Mesa 25 is right), and the per-kernel
    /// times do not hold.
    pub fn timestamps_hold(&self) -> bool {
        self.clock == Clock::Wall
            || self.plain.steps == 0
            || self.kernel_ms >= 0.5 * self.plain.wall_ms
    }

    /// The profile as a Markdown table with a totals line.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| layer | kind | pass | launches | GPU ms | % step | GFLOP/s | GB/s | % FMA peak | kernels |\n",
        );
        out.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        let opt =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.3} | {:.1} | {} | {} | {} | {} |\n",
                r.layer,
                r.kind,
                r.pass,
                r.launches,
                r.gpu_ms,
                100.0 * r.gpu_ms / self.step_ms,
                opt(r.gflops(), 2),
                opt(r.gbps(), 2),
                opt(r.gflops().map(|g| 100.0 * g / self.fma_gflops), 1),
                r.kernels.join(" + "),
            ));
        }
        let c = &self.plain;
        out.push_str(&format!(
            "\nper step, not profiling (mean of {}): {} wgpu objects created, {} compute pass(es), \
             {} submit(s), {} dispatches, {} bytes written to buffers; {:.2} ms wall, {:+.2} ms \
             ({:+.1}%) beside the profiled kernels' sum (profiling gives each kernel a pass of \
             its own, so the sum is approximate)",
            c.steps,
            c.objects_created,
            c.compute_passes,
            c.submits,
            c.dispatches,
            c.bytes_written,
            c.wall_ms,
            c.wall_ms - self.kernel_ms,
            100.0 * (c.wall_ms - self.kernel_ms) / c.wall_ms,
        ));
        let runs = match self.fma_gflops_runs.as_slice() {
            [before, after] => {
                format!(" (the higher of {before:.1} before the steps and {after:.1} after)")
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "\nstep {:.2} ms wall, kernels {:.2} ms, overhead {:.2} ms ({:.1}% of the step); \
             FMA ceiling {:.1} GFLOP/s{runs}\n",
            self.step_ms,
            self.kernel_ms,
            self.step_ms - self.kernel_ms,
            100.0 * self.overhead_share(),
            self.fma_gflops
        ));
        if self.clock == Clock::Wall {
            out.push_str(&format!(
                "kernels timed by the host's clock, each launch submitted alone and waited for, \
                 less the {:.3} ms an empty submission took (the least of {SUBMIT_SAMPLES}); \
                 the step's wall time is an unprofiled step's\n",
                self.submit_ms
            ));
        }
        if !self.timestamps_hold() {
            out.push_str(&format!(
                "warning: the kernels' timestamps add up to {:.0}% of a step run without them: this \
                 driver wrote them outside the kernels' run, so the per-kernel times above do not \
                 hold (seen on Mesa 22.3 lavapipe; `cnngpu bench` times by the wall clock)\n",
                100.0 * self.kernel_ms / self.plain.wall_ms
            ));
        }
        out
    }
}

/// Useful FLOPs and compulsory bytes of one layer's profiled pass at `batch`, `elem` bytes
/// per value, from its op's description ([`crate::ops::OpSpec`]); an `add` copies its
/// gradient to both inputs.
pub fn layer_cost(
    kind: &LayerKind,
    out_shape: [usize; 3],
    batch: usize,
    pass: &str,
    elem: usize,
) -> (u64, u64) {
    let op = kind.op(batch, out_shape);
    let passes: Vec<Pass> = match pass {
        "forward" => vec![Pass::Forward],
        "backward_input" => vec![Pass::BackwardInput; kind.arity().unwrap_or(1)],
        _ => op
            .passes()
            .into_iter()
            .filter(|q| q.name() == pass)
            .collect(),
    };
    passes.iter().fold((0, 0), |(f, b), &q| {
        (f + op.flops(q), b + op.bytes(q, elem))
    })
}

/// One profiled step's launches with the step's wall time and where it sat on the CPU clock.
pub struct StepTrace {
    /// Offset of the step's start from the profile's start.
    pub start: std::time::Duration,
    pub started: Instant,
    /// When recording ended and submission began, from the step's start.
    pub submitted: std::time::Duration,
    pub wall: std::time::Duration,
    pub kernels: Vec<KernelTiming>,
}

/// Profiles `steps` training steps of `graph` (after one untimed warm-up step that plans the
/// step and compiles the pipelines) on a synthetic batch: speed does not depend on the values.
/// A step is what the trainer records: upload the batch, forward, loss, backward, optimizer.
/// Each profiled step is followed by an unprofiled one, counted (wgpu objects, passes,
/// submits, bytes written) and timed without timestamp queries.
pub fn profile(
    b: &GpuBackend,
    graph: Graph,
    init: Init,
    precision: Precision,
    batch: usize,
    steps: usize,
    clock: Clock,
) -> Result<(Profile, Vec<StepTrace>)> {
    if steps == 0 {
        return Err(Error::invalid("--steps", "must be at least 1"));
    }
    let fma_gflops = fma_peak_gflops(b)?;
    let mut training = SyntheticTraining::new(b, graph, init, precision, batch)?;
    training.record_step(b)?;
    b.sync()?;

    let origin = Instant::now();
    let mut traces = Vec::new();
    // Each profiled step is followed by an unprofiled one, so that host drift touches both.
    let (mut counted, mut plain_wall) = (DispatchStats::default(), 0.0);
    for _ in 0..steps {
        // The query set is created before the step's clock starts; the wall clock's origin
        // is after it.
        let start = match clock {
            Clock::Timestamps => {
                b.arm_timer(clock)?;
                Instant::now()
            }
            Clock::Wall => {
                // Arming times empty submissions; the step starts after them.
                b.arm_timer(clock)?;
                Instant::now()
            }
        };
        let ran = training.record_step(b).map(|_| start.elapsed());
        let ran = ran.and_then(|submitted| b.sync().map(|_| (submitted, start.elapsed())));
        let (submitted, wall) = match ran {
            Ok(t) => t,
            Err(e) => {
                b.disarm_timer();
                return Err(e);
            }
        };
        let kernels = b.finish_timer()?;
        traces.push(StepTrace {
            start: start - origin,
            started: start,
            submitted,
            wall,
            kernels,
        });
        let before = b.stats();
        let start = Instant::now();
        training.record_step(b)?;
        b.sync()?;
        plain_wall += start.elapsed().as_secs_f64();
        let after = b.stats();
        counted.objects_created += after.objects_created - before.objects_created;
        counted.passes += after.passes - before.passes;
        counted.submits += after.submits - before.submits;
        counted.dispatches += after.dispatches - before.dispatches;
        counted.bytes_written += after.bytes_written - before.bytes_written;
    }
    let n = steps as f64;
    let plain = StepCounts {
        steps,
        objects_created: counted.objects_created as f64 / n,
        compute_passes: counted.passes as f64 / n,
        submits: counted.submits as f64 / n,
        dispatches: counted.dispatches as f64 / n,
        bytes_written: counted.bytes_written as f64 / n,
        wall_ms: plain_wall * 1e3 / n,
    };
    let elem = precision.dtype().size();
    let fma_after = fma_peak_gflops(b)?;
    let best = fma_gflops.max(fma_after);
    let graph = &training.model.graph;
    let mut profile = summarise(b, graph, precision, batch, best, &traces, elem);
    profile.fma_gflops_runs = vec![fma_gflops, fma_after];
    profile.plain = plain;
    profile.clock = clock;
    if clock == Clock::Wall {
        profile.step_ms = plain.wall_ms;
        let submits: Vec<f64> = traces
            .iter()
            .filter_map(|t| t.kernels.first().map(|k| k.submit_ns))
            .collect();
        profile.submit_ms = submits.iter().sum::<f64>() / submits.len().max(1) as f64 / 1e6;
    }
    Ok((profile, traces))
}

fn summarise(
    b: &GpuBackend,
    graph: &Graph,
    precision: Precision,
    batch: usize,
    fma_gflops: f64,
    traces: &[StepTrace],
    elem: usize,
) -> Profile {
    let steps = traces.len() as f64;
    // Rows in graph order, each pass in PASSES order; the loss, the loss-scale and the
    // parameters' (the optimizer over their arena) scopes follow.
    // A layer that runs an activation's pass (fused into its forward epilogue, or folded
    // into a pool's backward) is shown as "conv2d+tanh"; the activation has no rows then.
    let mut keys: Vec<(String, String, &'static str)> = Vec::new();
    let (fusions, folds) = (graph.fusions(), graph.pool_folds());
    for (i, layer) in graph.layers.iter().enumerate() {
        let mut kind = layer.kind.op_name().to_string();
        for act in [fusions[i], folds[i]] {
            if act != Act::None {
                kind = format!("{kind}+{}", act.name());
            }
        }
        for pass in PASSES {
            keys.push((layer.name.clone(), kind.clone(), pass));
        }
    }
    let loss = match graph.segmentation() {
        true => "pixel_cross_entropy",
        false => "softmax_cross_entropy",
    };
    for pass in PASSES {
        keys.push(("loss".into(), loss.into(), pass));
        keys.push(("loss scale".into(), "loss_scale".into(), pass));
        keys.push(("parameters".into(), "sgd".into(), pass));
    }
    // Launches under any other scope get rows of their own, so every launch is counted.
    for k in traces.iter().flat_map(|t| &t.kernels) {
        if !keys.iter().any(|(l, _, p)| *l == k.scope && *p == k.pass) {
            keys.push((k.scope.clone(), "other".into(), k.pass));
        }
    }
    let mut rows = Vec::new();
    for (layer, kind, pass) in keys {
        let launches: Vec<&KernelTiming> = traces
            .iter()
            .flat_map(|t| &t.kernels)
            .filter(|k| k.scope == layer && k.pass == pass)
            .collect();
        if launches.is_empty() {
            continue;
        }
        let (flops, bytes) = graph
            .layers
            .iter()
            .find(|l| l.name == layer)
            .map_or((0, 0), |l| {
                layer_cost(&l.kind, l.out_shape, batch, pass, elem)
            });
        let mut kernels: Vec<String> = Vec::new();
        for k in &launches {
            if !kernels.iter().any(|n| n == k.kernel) {
                kernels.push(k.kernel.into());
            }
        }
        rows.push(Row {
            layer,
            kind,
            pass: pass.into(),
            kernels,
            launches: (launches.len() as f64 / steps).round() as usize,
            gpu_ms: launches.iter().map(|k| k.gpu_ns()).sum::<f64>() / 1e6 / steps,
            flops,
            bytes,
        });
    }
    let step_ms = traces
        .iter()
        .map(|t| t.wall.as_secs_f64() * 1e3)
        .sum::<f64>()
        / steps;
    let kernel_ms = rows.iter().map(|r| r.gpu_ms).sum();
    Profile {
        adapter: b.ctx.describe(),
        model: graph.name.clone(),
        batch,
        precision: precision.name().into(),
        steps: traces.len(),
        clock: Clock::Timestamps,
        fma_gflops,
        fma_gflops_runs: Vec::new(),
        step_ms,
        kernel_ms,
        submit_ms: 0.0,
        rows,
        plain: StepCounts::default(),
    }
}

/// Chrome-trace JSON (opens in Perfetto and chrome://tracing): per step a CPU track with the
/// step's recording, each launch's encoding and the wait, and GPU tracks with every kernel
/// (a kernel that overlaps the previous one on the device goes to the next GPU track, so slices
/// on a track never overlap). Timestamps are placed on the CPU clock by starting each step's
/// first kernel at its submission; wall-clock times are on it already.
pub fn chrome_trace(profile: &Profile, traces: &[StepTrace]) -> serde_json::Value {
    use serde_json::json;
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
    let mut events = vec![
        json!({"ph": "M", "name": "process_name", "pid": 1, "args": {"name": format!("cnngpu {} batch {} {}", profile.model, profile.batch, profile.precision)}}),
        json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {"name": "CPU: encode and submit"}}),
    ];
    let mut lanes: Vec<f64> = Vec::new(); // per GPU track: where its last slice ends (µs)
    for (i, t) in traces.iter().enumerate() {
        let start = us(t.start);
        events.push(
            json!({"ph": "X", "pid": 1, "tid": 1, "cat": "step", "name": format!("step {i}"),
            "ts": start, "dur": us(t.wall)}),
        );
        events.push(
            json!({"ph": "X", "pid": 1, "tid": 1, "cat": "cpu", "name": "record",
            "ts": start, "dur": us(t.submitted)}),
        );
        events.push(
            json!({"ph": "X", "pid": 1, "tid": 1, "cat": "cpu", "name": "submit and wait",
            "ts": start + us(t.submitted), "dur": us(t.wall - t.submitted)}),
        );
        for k in &t.kernels {
            let args = json!({"layer": k.scope, "pass": k.pass});
            let begin = us(k.cpu_begin.saturating_duration_since(t.started));
            events.push(json!({"ph": "X", "pid": 1, "tid": 1, "cat": "encode",
                "name": format!("encode {}", k.kernel), "ts": start + begin,
                "dur": us(k.cpu_end.saturating_duration_since(k.cpu_begin)), "args": args}));
            let ts = match profile.clock {
                Clock::Timestamps => start + us(t.submitted) + k.gpu_begin_ns / 1e3,
                Clock::Wall => start + k.gpu_begin_ns / 1e3,
            };
            let dur = k.gpu_ns() / 1e3;
            let lane = match lanes.iter().position(|&end| end <= ts) {
                Some(l) => l,
                None => {
                    lanes.push(0.0);
                    lanes.len() - 1
                }
            };
            lanes[lane] = ts + dur;
            events.push(
                json!({"ph": "X", "pid": 1, "tid": 2 + lane, "cat": "kernel",
                "name": k.kernel, "ts": ts, "dur": dur, "args": args}),
            );
        }
    }
    for lane in 0..lanes.len().max(1) {
        events.push(json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": 2 + lane,
            "args": {"name": format!("GPU{}: {}", if lane == 0 { String::new() } else { format!(" ({})", lane + 1) }, profile.adapter)}}));
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(kernel_ms: f64, plain_wall_ms: f64) -> Profile {
        Profile {
            adapter: "test".into(),
            model: "lenet5".into(),
            batch: 64,
            precision: "f32".into(),
            steps: 3,
            clock: Clock::Timestamps,
            fma_gflops: 70.0,
            fma_gflops_runs: vec![70.0, 61.5],
            step_ms: plain_wall_ms,
            kernel_ms,
            submit_ms: 0.0,
            rows: Vec::new(),
            plain: StepCounts {
                steps: 3,
                wall_ms: plain_wall_ms,
                ..Default::default()
            },
        }
    }

    #[test]
    fn timestamps_that_miss_most_of_the_step_are_called_out() {
        let right = profile(74.7, 74.8);
        assert!(right.timestamps_hold());
        assert!(!right.table().contains("warning"));
        assert!(right.table().contains(
            "FMA ceiling 70.0 GFLOP/s (the higher of 70.0 before the steps and 61.5 after)"
        ));
        let wrong = profile(14.6, 65.5);
        assert!(!wrong.timestamps_hold());
        assert!(wrong
            .table()
            .contains("warning: the kernels' timestamps add up to 22%"));
    }
}
