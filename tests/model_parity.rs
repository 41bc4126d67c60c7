//! The same seeded network for a few SGD steps on CpuBackend and GpuBackend: per-step losses,
//! every parameter gradient and the final weights agree, in f32 and f16.

mod common;

use cnngpu::cpu::CpuBackend;
use cnngpu::nn::{initial_parameters, models, Graph, Init, Model, StepConfig};
use cnngpu::ops::{Act, Backend};
use cnngpu::tensor::{HostTensor, Precision, SplitMix64};
use cnngpu::train::memory::MemoryPlan;

struct Run {
    losses: Vec<f64>,
    first_grads: Vec<(String, HostTensor)>,
    weights: Vec<(String, HostTensor)>,
}

fn run<B: Backend>(
    b: &B,
    graph: &Graph,
    init: Init,
    precision: Precision,
    steps: u32,
    batch: usize,
) -> Run {
    run_with(b, graph, init, precision, steps, batch, true)
}

fn run_with<B: Backend>(
    b: &B,
    graph: &Graph,
    init: Init,
    precision: Precision,
    steps: u32,
    batch: usize,
    fuse: bool,
) -> Run {
    let values = initial_parameters(graph, init, 7);
    let mut model = Model::new(b, graph.clone(), precision, &values).unwrap();
    if !fuse {
        model.unfuse().unwrap();
    }
    model.plan(b, batch).unwrap();
    let mut metrics = model.metrics(b).unwrap();
    let [c, h, w] = graph.input;
    let mut rng = SplitMix64(99);
    let (mut losses, mut first_grads) = (Vec::new(), Vec::new());
    for step in 0..steps {
        let x = rng.uniform_vec(batch * c * h * w, -1.5, 1.5);
        let labels: Vec<u32> = (0..batch)
            .map(|i| ((i as u32 + step) * 3) % graph.classes as u32)
            .collect();
        let cfg = StepConfig {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: step % 2 == 1,
            seed: 5,
            step,
        };
        model.load_batch(b, &x, &labels).unwrap();
        model.forward(b, batch, true, &cfg, &mut metrics).unwrap();
        model.backward_and_update(b, batch, &cfg).unwrap();
        losses.push(model.read_metrics(b, &mut metrics).unwrap().loss());
        if step == 0 {
            first_grads = model.gradients(b).unwrap();
        }
    }
    Run {
        losses,
        first_grads,
        weights: model.weights(b).unwrap(),
    }
}

/// |got - want| <= rel * max|want|, per tensor (gradients of different layers differ
/// in scale by orders of magnitude, so the tolerance is relative to each tensor's largest value).
fn assert_close(what: &str, got: &[(String, HostTensor)], want: &[(String, HostTensor)], rel: f32) {
    for ((name, g), (_, w)) in got.iter().zip(want) {
        let scale = w
            .data
            .iter()
            .filter(|v| v.is_finite())
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(1e-6);
        for (i, (a, b)) in g.data.iter().zip(&w.data).enumerate() {
            // An f16 overflow (the first steps at loss scale 65536) must happen on both.
            if a == b {
                continue;
            }
            assert!(
                (a - b).abs() <= rel * scale,
                "{what} {name}[{i}]: gpu {a} cpu {b} (largest |cpu| {scale}, tolerance {})",
                rel * scale
            );
        }
    }
}

fn compare(graph: Graph, init: Init, precision: Precision, loss_rel: f64, grad_rel: f32) {
    let Some(gpu) = common::gpu() else { return };
    let steps = 3;
    let cpu_run = run(&CpuBackend, &graph, init, precision, steps, 4);
    let gpu_run = run(&*gpu, &graph, init, precision, steps, 4);
    eprintln!(
        "{} {precision:?}: cpu losses {:?}, gpu losses {:?}",
        graph.name, cpu_run.losses, gpu_run.losses
    );
    for (s, (c, g)) in cpu_run.losses.iter().zip(&gpu_run.losses).enumerate() {
        assert!(
            (c - g).abs() <= loss_rel * c.abs(),
            "step {s}: cpu loss {c}, gpu loss {g}"
        );
    }
    assert_close(
        "gradient",
        &gpu_run.first_grads,
        &cpu_run.first_grads,
        grad_rel,
    );
    assert_close("weight", &gpu_run.weights, &cpu_run.weights, grad_rel);
}

#[test]
fn lenet5_f32_matches_cpu() {
    compare(
        models::lenet5(10).unwrap(),
        Init::PyTorchDefault,
        Precision::F32,
        1e-5,
        1e-4,
    );
}

#[test]
fn lenet5_f16_matches_cpu() {
    // Both backends store f16 and accumulate in f32 (CPU: f64); roundings differ in order.
    compare(
        models::lenet5(10).unwrap(),
        Init::PyTorchDefault,
        Precision::F16,
        5e-3,
        2e-2,
    );
}

#[test]
fn alexnet_small_input_two_towers_f32_matches_cpu() {
    compare(
        models::alexnet(10, 2, 67).unwrap(),
        Init::AlexNetPaper,
        Precision::F32,
        1e-5,
        1e-4,
    );
}

#[test]
fn alexnet_small_input_f16_matches_cpu() {
    compare(
        models::alexnet(10, 1, 67).unwrap(),
        Init::AlexNetPaper,
        Precision::F16,
        5e-3,
        2e-2,
    );
}

#[test]
fn initialisations_draw_the_documented_distributions() {
    let (graph, _) = models::by_name("alexnet", 10, 1, Some(67)).unwrap();
    let stats = |init: Init, name: &str| {
        let values = initial_parameters(&graph, init, 3);
        let (i, (_, _, fan_in)) = graph
            .parameters()
            .into_iter()
            .enumerate()
            .find(|(_, (n, _, _))| n == name)
            .unwrap();
        let v = &values[i].data;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        let max = v.iter().fold(0f32, |m, &x| m.max(x.abs()));
        (mean, var.sqrt(), max, fan_in as f64)
    };
    // conv2: 96 * 5 * 5 = 2400 inputs per output, 614,400 weights.
    let (mean, std, _, fan_in) = stats(Init::Kaiming, "features.4.weight");
    let want = (2.0 / fan_in).sqrt();
    assert!(
        mean.abs() < 0.01 * want && (std / want - 1.0).abs() < 0.01,
        "{mean} {std} {want}"
    );
    assert_eq!(stats(Init::Kaiming, "features.4.bias").2, 0.0);
    let (_, std, max, fan_in) = stats(Init::PyTorchDefault, "features.4.weight");
    let bound = 1.0 / fan_in.sqrt();
    assert!(max as f64 <= bound && (std / (bound / 3f64.sqrt()) - 1.0).abs() < 0.01);
    let (_, std, _, _) = stats(Init::AlexNetPaper, "features.4.weight");
    assert!((std / 0.01 - 1.0).abs() < 0.01, "{std}");
    let (mean, std, _, _) = stats(Init::AlexNetPaper, "features.4.bias");
    assert_eq!((mean, std), (1.0, 0.0));
    let (mean, _, _, _) = stats(Init::AlexNetPaper, "features.0.bias");
    assert_eq!(mean, 0.0);
}

/// Fusing each activation into the conv2d or linear layer before it (and its backward pass
/// into the pooling layer after it) changes which passes run, not what they compute: the fused and unfused steps agree to rounding on the CPU reference
/// (whose conv2d sums in f64 and applies the fused tanh before rounding to f32) and on the GPU.
#[test]
fn fused_activations_train_as_the_unfused_layers() {
    let graph = models::lenet5(10).unwrap();
    let model = Model::new(
        &CpuBackend,
        graph.clone(),
        Precision::F32,
        &initial_parameters(&graph, Init::PyTorchDefault, 7),
    )
    .unwrap();
    let named = |acts: &[Act]| -> Vec<String> {
        graph
            .layers
            .iter()
            .zip(acts)
            .filter(|(_, a)| **a == Act::Tanh)
            .map(|(l, _)| l.name.clone())
            .collect()
    };
    // conv1-3 and fc1 compute the tanh after them; fc2 (the logits) has none; the two pooling
    // layers run the backward pass of the tanh before them.
    assert_eq!(named(model.fusions()), ["conv1", "conv2", "conv3", "fc1"]);
    assert_eq!(named(model.folds()), ["pool1", "pool2"]);
    let fused = run_with(
        &CpuBackend,
        &graph,
        Init::PyTorchDefault,
        Precision::F32,
        3,
        4,
        true,
    );
    let plain = run_with(
        &CpuBackend,
        &graph,
        Init::PyTorchDefault,
        Precision::F32,
        3,
        4,
        false,
    );
    for (f, p) in fused.losses.iter().zip(&plain.losses) {
        assert!(
            (f - p).abs() <= 1e-6 * p.abs(),
            "cpu: fused {f}, unfused {p}"
        );
    }
    assert_close("cpu weight", &fused.weights, &plain.weights, 1e-6);
    let Some(gpu) = common::gpu() else { return };
    let fused = run_with(
        &*gpu,
        &graph,
        Init::PyTorchDefault,
        Precision::F32,
        3,
        4,
        true,
    );
    let plain = run_with(
        &*gpu,
        &graph,
        Init::PyTorchDefault,
        Precision::F32,
        3,
        4,
        false,
    );
    for (f, p) in fused.losses.iter().zip(&plain.losses) {
        assert!((f - p).abs() <= 1e-5 * p.abs(), "fused {f}, unfused {p}");
    }
    assert_close("weight", &fused.weights, &plain.weights, 1e-5);
}

/// The memory the CLI checks before allocating (train::memory) is what the model allocates,
/// with the outputs that fused layers do not keep left out.
#[test]
fn the_memory_plan_is_what_the_model_allocates() {
    for graph in [
        models::lenet5(10).unwrap(),
        models::alexnet(10, 1, 67).unwrap(),
    ] {
        let values = initial_parameters(&graph, Init::PyTorchDefault, 7);
        let mut model = Model::new(&CpuBackend, graph.clone(), Precision::F32, &values).unwrap();
        let bytes = model.plan(&CpuBackend, 1).unwrap() + model.parameter_bytes();
        let plan = MemoryPlan::of(&graph, Precision::F32);
        assert_eq!(plan.device_bytes(&[1]), bytes, "{}", graph.name);
        let mut unfused = MemoryPlan::of(&graph, Precision::F32).per_image;
        for (l, a) in graph.layers.iter().zip(model.fusions()) {
            if *a != Act::None {
                unfused += 4 * l.out_shape.iter().product::<usize>() as u64;
            }
        }
        assert!(unfused > plan.per_image, "{}: nothing fused", graph.name);
    }
}
