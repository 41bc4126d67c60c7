//! `cnngpu profile` and `cnngpu bench`: per-layer timings from timestamp queries and from the
//! host's clock, the Chrome trace, the bench report schema, `bench compare` and its errors.

mod common;

use cnngpu::bench::report::{Report, SCHEMA};
use cnngpu::bench::suite::{run_suite, suite};
use cnngpu::gpu::timing::Clock;
use cnngpu::nn::{models, Graph, LayerKind};
use cnngpu::ops::Act;
use cnngpu::profile::{chrome_trace, profile, PASSES};
use cnngpu::tensor::Precision;
use common::{cnngpu, gpu};
use std::path::Path;

/// The clocks `b` can time kernels by: the host's always, timestamps where it has the
/// queries (said when it has not).
fn clocks(b: &cnngpu::gpu::GpuBackend) -> Vec<Clock> {
    if !b.ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
        eprintln!(
            "timestamps SKIPPED: {} has no timestamp queries",
            b.ctx.describe()
        );
        return vec![Clock::Wall];
    }
    vec![Clock::Timestamps, Clock::Wall]
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cnngpu-profile-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn profile_times_every_layer_and_pass_of_lenet5() {
    let Some(b) = gpu() else { return };
    for clock in clocks(&b) {
        profile_lenet5(&b, clock);
    }
}

/// Whether `layer`'s weight-gradient row ran a kernel that sums the bias gradient too in a
/// training step (the subgroup family's conv2d_backward_weight_direct_taps and
/// linear_pack_pair, whose weights are one piece at LeNet-5's sizes, and a classifier head's
/// linear_backward_weight_dot): the layer then has no bias row.
fn bias_in_weight_pass(p: &cnngpu::profile::Profile, layer: &str) -> bool {
    let fusing = [
        "conv2d_backward_weight_direct_taps",
        "linear_pack_pair",
        "linear_backward_weight_dot",
    ];
    p.rows.iter().any(|r| {
        r.layer == layer
            && r.pass == "backward_weight"
            && r.kernels.iter().any(|k| fusing.contains(&k.as_str()))
    })
}

/// Whether `layer`'s weight-gradient row packed dy in a kernel that runs the backward pass of
/// the activation the layer's forward fused (linear_pack_pair: LeNet-5's conv3 and fc1).
fn packs_dy(p: &cnngpu::profile::Profile, layer: &str) -> bool {
    p.rows.iter().any(|r| {
        r.layer == layer
            && r.pass == "backward_weight"
            && r.kernels.iter().any(|k| k == "linear_pack_pair")
    })
}

fn profile_lenet5(b: &cnngpu::gpu::GpuBackend, clock: Clock) {
    let (graph, init) = models::by_name("lenet5", 10, 1, None).unwrap();
    let (p, traces) = profile(b, graph.clone(), init, Precision::F32, 8, 2, clock).unwrap();
    assert_eq!(p.clock, clock);
    assert_eq!(p.steps, 2);
    assert_eq!(traces.len(), 2);
    // Every pass that runs has a row; an activation fused into the conv2d or linear layer
    // before it has no forward row, and one whose backward a pool runs no backward row, nor
    // one whose backward that layer's packing of dy runs (tanh3, tanh4 in the subgroup family).
    let (fusions, folds) = (graph.fusions(), graph.pool_folds());
    for (i, layer) in graph.layers.iter().enumerate() {
        let mut passes = vec![];
        let fused = Graph::fused_away(&fusions, i);
        let packed = fused && packs_dy(&p, &graph.layers[i - 1].name);
        if !fused {
            passes.push("forward");
        }
        if i > 0 && !Graph::folded_away(&folds, i) && !packed {
            passes.push("backward_input");
        }
        if matches!(layer.kind, LayerKind::Conv2d(_) | LayerKind::Linear(_)) {
            // LeNet-5's convolutions and linear layers all have biases: a pass of their own,
            // unless the weight gradient's kernels sum them (the subgroup family: conv1's
            // direct kernel, conv3's and fc1's packing).
            passes.push("backward_weight");
            if !bias_in_weight_pass(&p, &layer.name) {
                passes.push("backward_bias");
            }
        }
        for pass in PASSES {
            let row = p
                .rows
                .iter()
                .find(|r| r.layer == layer.name && r.pass == pass);
            if !passes.contains(&pass) {
                assert!(row.is_none(), "{} {pass} ran: {row:?}", layer.name);
                continue;
            }
            let row = row.unwrap_or_else(|| panic!("no row for {} {pass}", layer.name));
            assert!(row.gpu_ms > 0.0, "{} {pass}: {} ms", layer.name, row.gpu_ms);
            assert!(row.launches >= 1);
        }
    }
    // The optimizer updates the parameters' arena in one launch.
    let sgd = p.rows.iter().find(|r| r.pass == "optimizer").unwrap();
    assert_eq!((sgd.layer.as_str(), sgd.launches), ("parameters", 1));
    assert_eq!(sgd.kernels, ["sgd_update"]);
    // conv3's kernel covers its whole 5x5 input: its GEMM passes run as linear kernels (no
    // packing, no col2im), in every family.
    for pass in ["forward", "backward_input", "backward_weight"] {
        let row = p
            .rows
            .iter()
            .find(|r| r.layer == "conv3" && r.pass == pass)
            .unwrap();
        assert!(
            row.kernels
                .iter()
                .all(|k| k.starts_with("linear_") && !k.contains("bias")),
            "conv3 {pass}: {:?}",
            row.kernels
        );
    }
    // conv2's weight gradient (the subgroup family's rows kernel) reads dy and x where
    // pool2's backward and pool1's forward mirrored them: no packs, no texture copies.
    let conv2 = p
        .rows
        .iter()
        .find(|r| r.layer == "conv2" && r.pass == "backward_weight")
        .unwrap();
    if conv2
        .kernels
        .iter()
        .any(|k| k == "conv2d_backward_weight_rows_sg")
    {
        assert!(
            !conv2
                .kernels
                .iter()
                .any(|k| k.starts_with("conv2d_pack") || k.starts_with("texture_pack")),
            "{:?}",
            conv2.kernels
        );
        assert_eq!(conv2.launches, conv2.kernels.len(), "{:?}", conv2.kernels);
    }
    // The bias gradient's row holds just the channel sums; its FLOPs are one add a value of
    // dy. conv2's has one in every family; conv1's only where its weight gradient does not
    // sum the bias too.
    for (layer, values) in [("conv1", 8 * 6 * 28 * 28), ("conv2", 8 * 16 * 10 * 10)] {
        let Some(bias) = p
            .rows
            .iter()
            .find(|r| r.layer == layer && r.pass == "backward_bias")
        else {
            assert!(bias_in_weight_pass(&p, layer), "{layer}: no bias row");
            continue;
        };
        assert!(
            bias.kernels.iter().all(|k| k.contains("backward_bias")),
            "{:?}",
            bias.kernels
        );
        assert_eq!(bias.flops, values);
    }
    // LeNet-5: tanh1 and tanh2 run inside conv1/conv2 and pool1/pool2, and the rows say so
    // (unless CNNGPU_NO_FUSION turned fusion off).
    if fusions[0] != Act::None {
        assert!(p
            .rows
            .iter()
            .all(|r| r.layer != "tanh1" && r.layer != "tanh2"));
        let kind = |l: &str| p.rows.iter().find(|r| r.layer == l).unwrap().kind.clone();
        assert_eq!(kind("conv1"), "conv2d+tanh");
        assert_eq!(kind("pool1"), "avg_pool2d+tanh");
    }
    // Convolutions and linear layers have FLOPs, so GFLOP/s; every row's time is in the sum.
    let conv1 = p
        .rows
        .iter()
        .find(|r| r.layer == "conv1" && r.pass == "forward")
        .unwrap();
    assert_eq!(conv1.flops, 2 * 8 * 6 * 28 * 28 * 25);
    assert!(conv1.gflops().unwrap() > 0.0);
    // Every launch of the steps is in some row.
    let launches: usize = traces.iter().map(|t| t.kernels.len()).sum();
    let in_rows: usize = p.rows.iter().map(|r| r.launches).sum();
    assert_eq!(in_rows * 2, launches);
    assert!(p.step_ms > 0.0 && p.fma_gflops > 0.0);
    // The ceiling was measured before and after the steps, and the percentages divide by the
    // higher of the two.
    let [before, after] = p.fma_gflops_runs[..] else {
        panic!("two ceiling runs, got {:?}", p.fma_gflops_runs)
    };
    assert!(before > 0.0 && after > 0.0);
    assert_eq!(p.fma_gflops, before.max(after));
    // The kernels run inside the profiled steps, so they cannot take longer than them (10% for
    // clock skew).
    let profiled_ms = traces
        .iter()
        .map(|t| t.wall.as_secs_f64() * 1e3)
        .sum::<f64>()
        / traces.len() as f64;
    assert!(
        p.kernel_ms <= profiled_ms * 1.1,
        "{clock:?}: {} > {profiled_ms}",
        p.kernel_ms,
    );
    // Timed by the host's clock, every launch ran alone: one after another, none overlapping.
    if clock == Clock::Wall {
        for t in &traces {
            for w in t.kernels.windows(2) {
                assert!(w[0].gpu_end_ns <= w[1].gpu_begin_ns, "{w:?}");
            }
        }
        assert!(p.table().contains("kernels timed by the host's clock"));
        // Each launch's time is less what an empty submission took, measured once a step.
        for t in &traces {
            let s = t.kernels[0].submit_ns;
            assert!(s > 0.0 && t.kernels.iter().all(|k| k.submit_ns == s), "{s}");
        }
        assert!(p.submit_ms > 0.0, "{}", p.submit_ms);
        assert!(p.table().contains("less the"), "{}", p.table());
    }
    let conv2 = &p.rows.iter().find(|r| r.layer == "conv2").unwrap().kind;
    assert!(p
        .table()
        .contains(&format!("| conv2 | {conv2} | backward_input |")));
    // Unprofiled steps: no wgpu object, one pass, one submit; the batch is written.
    assert_eq!(p.plain.objects_created, 0.0);
    assert_eq!(p.plain.compute_passes, 1.0);
    assert_eq!(p.plain.submits, 1.0);
    assert!(p.plain.bytes_written >= (8 * 32 * 32 * 4) as f64);
    assert!(p
        .table()
        .contains("0 wgpu objects created, 1 compute pass(es)"));
}

#[test]
fn profile_trace_parses_and_holds_cpu_and_gpu_events() {
    let Some(b) = gpu() else { return };
    for clock in clocks(&b) {
        trace_lenet5(&b, clock);
    }
}

fn trace_lenet5(b: &cnngpu::gpu::GpuBackend, clock: Clock) {
    let (graph, init) = models::by_name("lenet5", 10, 1, None).unwrap();
    let (p, traces) = profile(b, graph, init, Precision::F16, 4, 1, clock).unwrap();
    let text = serde_json::to_string(&chrome_trace(&p, &traces)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let of = |cat: &str| {
        events
            .iter()
            .filter(|e| e["cat"] == cat)
            .collect::<Vec<_>>()
    };
    let kernels = of("kernel");
    let launches: usize = traces.iter().map(|t| t.kernels.len()).sum();
    assert_eq!(kernels.len(), launches);
    assert_eq!(of("encode").len(), launches);
    assert_eq!(of("step").len(), 1);
    // Every kernel and encode slice lies inside its step (times in µs: a unit slip would put
    // them far outside).
    let step = of("step")[0];
    let (t0, dur) = (step["ts"].as_f64().unwrap(), step["dur"].as_f64().unwrap());
    let slack = 0.05 * dur + 1000.0;
    for e in kernels.iter().chain(&of("encode")) {
        assert_eq!(e["ph"], "X");
        let (ts, d) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
        assert!(
            ts >= t0 - 1.0 && ts + d <= t0 + dur + slack,
            "{e} outside [{t0}, +{dur}]"
        );
        assert!(e["args"]["layer"].is_string());
    }
    assert!(kernels.iter().all(|e| e["tid"].as_u64().unwrap() >= 2));
    let busy: f64 = kernels.iter().map(|e| e["dur"].as_f64().unwrap()).sum();
    assert!(busy > 0.0);
    // conv2d_forward, or conv2d_forward_sg in the subgroup family.
    assert!(kernels.iter().any(
        |e| e["name"].as_str().unwrap().starts_with("conv2d_forward")
            && e["args"]["layer"] == "conv1"
            && e["args"]["pass"] == "forward"
    ));
    assert!(kernels.iter().any(|e| e["name"] == "sgd_update"));
    // Thread names label the CPU and GPU tracks.
    assert!(events.iter().any(|e| e["ph"] == "M"
        && e["tid"] == 2
        && e["args"]["name"].as_str().unwrap().starts_with("GPU")));
}

#[test]
fn profile_cli_writes_table_json_and_trace() {
    let Some(b) = gpu() else { return };
    let stamps = b.ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY);
    let cpu_driver = b.ctx.info.device_type == wgpu::DeviceType::Cpu;
    drop(b);
    let (code, out, err) = cnngpu(&["profile", "--batch-size", "4", "--steps", "1"]);
    assert_eq!(code, 0, "{err}");
    // Unless told, a driver that runs kernels on the CPU is timed by the host's clock.
    assert_eq!(
        out.contains("kernels timed by the host's clock"),
        cpu_driver || !stamps,
        "{out}"
    );
    let (code, _, err) = cnngpu(&["profile", "--clock", "sundial"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--clock") && err.contains("sundial"), "{err}");
    // conv2d, or conv2d+tanh with the activation fused.
    assert!(
        out.lines()
            .any(|l| l.starts_with("| conv1 | conv2d") && l.contains(" | forward | ")),
        "{out}"
    );
    assert!(out.contains("overhead"), "{out}");
    let trace = tmp("trace.json");
    let (code, out, err) = cnngpu(&[
        "profile",
        "--batch-size",
        "4",
        "--steps",
        "1",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let p: cnngpu::profile::Profile = serde_json::from_str(&out).unwrap();
    assert_eq!(p.model, "lenet5");
    assert!(p.rows.len() >= 20, "{} rows", p.rows.len());
    assert!(p
        .rows
        .iter()
        .any(|r| r.layer == "fc2" && r.pass == "backward_weight"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert!(!v["traceEvents"].as_array().unwrap().is_empty());
}

#[test]
fn suite_ids_are_unique_and_cover_every_model_batch_and_precision() {
    for quick in [false, true] {
        let items = suite(quick);
        let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate ids");
        for id in [
            "train/lenet5/b64/f32",
            "train/lenet5/b256/f16",
            "train/alexnet/b32/f32",
            "train/alexnet/b128/f16",
            "kernel/conv2d_forward/lenet5_conv1/b64/f32",
            "ceiling/fma",
        ] {
            assert!(ids.contains(&id), "{id} missing (quick {quick})");
        }
    }
}

#[test]
fn bench_report_round_trips_through_its_schema() {
    let Some(b) = gpu() else { return };
    let report = run_suite(&b, true, "lenet5_fc2", |_| {}).unwrap();
    assert_eq!(report.schema, SCHEMA);
    assert!(!report.system.adapter.is_empty() && !report.system.cpu.is_empty());
    // On a CPU adapter the report says what became of the driver's worker threads.
    let cpu = b.ctx.info.device_type == wgpu::DeviceType::Cpu;
    assert_eq!(!report.system.driver_threads.is_empty(), cpu);
    // fc2: forward, backward_input, backward_weight, backward_bias in f32 and f16.
    assert_eq!(report.results.len(), 8);
    for e in &report.results {
        assert!(e.value.unwrap() > 0.0, "{}", e.id);
        assert_eq!(e.unit, "ms");
    }
    let json = report.to_json();
    let back = Report::parse(&json, Path::new("r.json")).unwrap();
    assert_eq!(back, report);
}

fn sample_report(tool: &str, scale: f64) -> Report {
    let e = |id: &str, unit: &str, higher: bool, v: f64| {
        let group = if id.starts_with("train") {
            "train"
        } else {
            "kernel"
        };
        serde_json::json!({"id": id, "group": group, "unit": unit,
            "higher_is_better": higher, "value": v})
    };
    let v = serde_json::json!({
        "schema": SCHEMA, "tool": tool, "version": "1", "git_commit": "abc",
        "created": "2026-11-27T00:00:00Z", "quick": true,
        "system": {"adapter": "x", "backend": "vulkan", "driver": "d", "device_type": "Cpu",
                   "os": "linux", "cpu": "c"},
        "results": [
            e("train/lenet5/b64/f32", "images/s", true, 100.0 * scale),
            e("kernel/conv2d_forward/lenet5_conv1/b64/f32", "ms", false, 4.0 / scale),
        ]
    });
    serde_json::from_value(v).unwrap()
}

/// A report shaped like scripts/bench_pytorch.py's output (null values, skipped items,
/// optional fields absent) parses.
#[test]
fn pytorch_script_reports_parse() {
    let text = r#"{"schema": "cnngpu-bench/1", "tool": "pytorch", "version": "2.15.0",
      "git_commit": "abc", "created": "2026-11-27T00:00:00Z", "quick": false,
      "system": {"adapter": "CPU, 2 threads", "backend": "cpu", "driver": "PyTorch 2.15.0 (AVX2)",
                 "device_type": "Cpu", "os": "linux", "cpu": "x"},
      "results": [
        {"id": "ceiling/fma", "group": "ceiling", "value": 80.5, "unit": "GFLOP/s", "higher_is_better": true},
        {"id": "kernel/conv2d_forward/lenet5_conv1/b64/f16", "group": "kernel", "value": null, "unit": "ms",
         "higher_is_better": false, "skipped": "PyTorch CPU: no f16 storage path"},
        {"id": "kernel/conv2d_forward/lenet5_conv1/b64/f32", "group": "kernel", "value": 0.5, "unit": "ms",
         "higher_is_better": false, "ms": 0.5, "gflops": 2.4},
        {"id": "train/lenet5/b64/f32", "group": "train", "value": 9000.0, "unit": "images/s",
         "higher_is_better": true, "ms": 7.1, "images_per_s": 9000.0}]}"#;
    let r = Report::parse(text, Path::new("pytorch.json")).unwrap();
    assert_eq!(r.results.len(), 4);
    assert_eq!(
        r.results[1].skipped.as_deref(),
        Some("PyTorch CPU: no f16 storage path")
    );
    assert_eq!(r.results[2].gflops, Some(2.4));
    // And it lines up with a cnngpu report: compare pairs the ids.
    let table = cnngpu::bench::report::compare_table(&[sample_report("cnngpu", 1.0), r]);
    let row = table
        .lines()
        .find(|l| l.contains("train/lenet5/b64/f32"))
        .unwrap();
    assert!(row.contains("90.00x"), "{row}");
}

#[test]
fn compare_prints_ratios_and_draws_a_chart() {
    let (a, b) = (tmp("a.json"), tmp("b.json"));
    std::fs::write(&a, sample_report("cnngpu", 1.0).to_json()).unwrap();
    std::fs::write(&b, sample_report("pytorch", 2.0).to_json()).unwrap();
    let chart = tmp("chart.png");
    let (code, out, err) = cnngpu(&[
        "bench",
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // B is twice as fast on both items: twice the images/s, half the ms.
    let train = out
        .lines()
        .find(|l| l.contains("train/lenet5/b64/f32"))
        .unwrap();
    assert!(
        train.contains("| 100 |") && train.contains("| 200 |") && train.contains("2.00x"),
        "{train}"
    );
    let kernel = out.lines().find(|l| l.contains("lenet5_conv1")).unwrap();
    assert!(kernel.contains("2.00x"), "{kernel}");
    let img = image::open(&chart).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1400, 1000));
    let distinct: std::collections::HashSet<_> = img.pixels().map(|p| p.0).collect();
    assert!(distinct.len() > 10, "the chart is blank");
}

#[test]
fn compare_names_a_malformed_file() {
    let good = tmp("good.json");
    std::fs::write(&good, sample_report("cnngpu", 1.0).to_json()).unwrap();
    let bad = tmp("bad.json");
    std::fs::write(&bad, "{\"schema\": \"cnngpu-bench/1\", \"results\": [").unwrap();
    let (code, _, err) = cnngpu(&[
        "bench",
        "compare",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("bad.json") && err.contains("not valid JSON"),
        "{err}"
    );
    let other = tmp("other.json");
    std::fs::write(&other, "{\"hello\": 1}").unwrap();
    let (code, _, err) = cnngpu(&[
        "bench",
        "compare",
        good.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("other.json") && err.contains("schema"),
        "{err}"
    );
}

/// Every chain count of the FMA ceiling compiles and runs, and the ceiling is one of them
/// (that it is the fastest is a unit test of `FmaPeak::best`).
#[test]
fn every_fma_chain_count_runs_and_the_ceiling_is_one_of_them() {
    let Some(b) = gpu() else { return };
    let per_chain: Vec<f64> = cnngpu::bench::FMA_CHAINS
        .iter()
        .map(|&c| cnngpu::bench::fma_gflops_with(&b, c).unwrap())
        .collect();
    assert!(
        per_chain.iter().all(|g| g.is_finite() && *g > 0.0),
        "{per_chain:?}"
    );
    let peak = cnngpu::bench::fma_peak(&b).unwrap();
    assert!(cnngpu::bench::FMA_CHAINS.contains(&peak.chains));
    assert!(peak.gflops.is_finite() && peak.gflops > 0.0);
    // A best of four fresh timings: not below the slowest chain count by more than noise.
    let slowest = per_chain.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(peak.gflops > 0.5 * slowest, "{peak:?} vs {per_chain:?}");
}
