//! The same seeded network for a few SGD steps on CpuBackend and GpuBackend: per-step losses,
//! every parameter gradient and the final weights agree, in f32 and f16.

mod common;

use cnngpu::cpu::CpuBackend;
use cnngpu::nn::{initial_parameters, models, Graph, Init, Model, StepConfig};
use cnngpu::ops::{loss_scale, Act, Backend};
use cnngpu::tensor::{HostTensor, Precision, SplitMix64};
use cnngpu::train::memory::MemoryPlan;

struct Run {
    losses: Vec<f64>,
    first_grads: Vec<(String, HostTensor)>,
    weights: Vec<(String, HostTensor)>,
    /// Batch-norm running estimates and counters after the last step.
    buffers: Vec<(String, HostTensor)>,
    /// f16: steps the loss scaler skipped (an overflow).
    skipped: u32,
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

/// The learning rate of these runs: small enough for a ResNet on batches of 4 random images
/// to stay well-conditioned (at 0.05 its loss jumps to 7 by the third step, where any
/// rounding difference grows without bound).
fn lr_for(graph: &Graph) -> f32 {
    // Deep batch-normalised networks at batch 4: larger steps diverge within three, and the
    // divergence amplifies rounding differences.
    if graph.name == "googlenet" {
        0.002
    } else if graph.name.starts_with("resnet") {
        0.005
    } else {
        0.05
    }
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
    // A loss scale that leaves these small networks' f16 gradients finite, so the steps are
    // taken (at 65536 the first steps overflow and are skipped; see `skipped`).
    model
        .set_scale_state(b, loss_scale::initial_state(256.0))
        .unwrap();
    model.plan(b, batch).unwrap();
    let mut metrics = model.metrics(b).unwrap();
    let [c, h, w] = graph.input;
    let mut rng = SplitMix64(99);
    let (mut losses, mut first_grads) = (Vec::new(), Vec::new());
    for step in 0..steps {
        let x = rng.uniform_vec(batch * c * h * w, -1.5, 1.5);
        // A label per image, or per pixel with every seventh ignored (segmentation).
        let per = graph.label_pixels();
        let labels: Vec<u32> = (0..batch * per)
            .map(|i| match per > 1 && i % 7 == 3 {
                true => cnngpu::ops::pixel_loss::IGNORE_LABEL,
                false => ((i as u32 + step) * 3) % graph.classes as u32,
            })
            .collect();
        let cfg = StepConfig {
            lr: lr_for(graph),
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
    let skipped = model.scale_state(b).unwrap().map_or(0, |s| s[3]);
    Run {
        losses,
        first_grads,
        weights: model.weights(b).unwrap(),
        buffers: model.buffers(b).unwrap(),
        skipped,
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
    assert_close(
        "gradient",
        &gpu_run.first_grads,
        &cpu_run.first_grads,
        grad_rel,
    );
    for (s, (c, g)) in cpu_run.losses.iter().zip(&gpu_run.losses).enumerate() {
        assert!(
            (c - g).abs() <= loss_rel * c.abs(),
            "step {s}: cpu loss {c}, gpu loss {g}"
        );
    }
    assert_close("weight", &gpu_run.weights, &cpu_run.weights, grad_rel);
    assert_close("buffer", &gpu_run.buffers, &cpu_run.buffers, grad_rel);
    // The steps were taken: an f16 run whose every step overflowed would compare unchanged
    // weights.
    assert_eq!(
        (cpu_run.skipped, gpu_run.skipped),
        (0, 0),
        "f16 steps skipped"
    );
    let initial = initial_parameters(&graph, init, 7);
    let moved = gpu_run
        .weights
        .iter()
        .zip(&initial)
        .filter(|((_, w), i)| w.data != i.data)
        .count();
    assert_eq!(moved, initial.len(), "every parameter tensor changed");
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
    // Taking its steps (loss scale 256), AlexNet's f16 weights part at ReLU kinks as a
    // ResNet's do: compared against f16's own distance from f32.
    compare_deep(
        models::alexnet(10, 1, 67).unwrap(),
        Init::AlexNetPaper,
        Precision::F16,
        TIGHT,
    );
}

fn l2(v: &mut dyn Iterator<Item = f64>) -> f64 {
    v.map(|x| x * x).sum::<f64>().sqrt()
}

/// ‖a - b‖ for one tensor, `a` scaled by `scale_a`.
fn distance(a: &HostTensor, scale_a: f64, b: &HostTensor) -> f64 {
    l2(&mut a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| *x as f64 * scale_a - *y as f64))
}

/// A deep network's three steps on both backends (ResNet-18; AlexNet in f16). A ResNet's ReLUs sit after batch norm and residual sums,
/// so a few pre-activations lie within rounding of 0 and flip between backends (in f32, one
/// element of one channel of layer4 by the second step; in f16, whose rounding is 2^13 times
/// coarser, from the first): the gradients then differ by those elements' shares, which no
/// tolerance on the largest element absorbs. f32: the first step's gradients element by
/// element, losses, final weights and running statistics by their norms. f16: the GPU is about
/// as close to the CPU's f16 run as f16 itself is to f32 — per tensor, ‖gpu16 - cpu16‖ at most
/// twice ‖cpu16 - cpu32‖ (plus 1%): a wrong op or a lost gradient share is off by its whole
/// size. `resnet_steps_are_independent_of_the_step_before` checks what later steps read.
/// How close f32 runs must be: first-step gradients element by element relative to each
/// tensor's largest value (`None`: by norm, within `grad_norm`), and the losses after the
/// first update (the first, before any, always within 3e-3).
#[derive(Clone, Copy)]
struct Tol {
    steps: u32,
    grad_elementwise: Option<f32>,
    grad_norm: f64,
    later_losses: f64,
}

/// ResNet's and AlexNet's: every gradient element within 1e-3 of its tensor's largest.
const TIGHT: Tol = Tol {
    steps: 3,
    grad_elementwise: Some(1e-3),
    grad_norm: 0.0,
    later_losses: 3e-3,
};

fn compare_deep(graph: Graph, init: Init, precision: Precision, tol: Tol) {
    let Some(gpu) = common::gpu() else { return };
    let cpu_run = run(&CpuBackend, &graph, init, precision, tol.steps, 4);
    let gpu_run = run(&*gpu, &graph, init, precision, tol.steps, 4);
    eprintln!(
        "{} {precision:?}: cpu losses {:?}, gpu losses {:?}",
        graph.name, cpu_run.losses, gpu_run.losses
    );
    assert_eq!(
        (cpu_run.skipped, gpu_run.skipped),
        (0, 0),
        "f16 steps skipped"
    );
    let initial = initial_parameters(&graph, init, 7);
    for ((name, w), i) in gpu_run.weights.iter().zip(&initial) {
        assert_ne!(w.data, i.data, "{name} did not change");
    }
    if let Some((_, t)) = gpu_run
        .buffers
        .iter()
        .find(|(n, _)| n == "bn1.num_batches_tracked")
    {
        assert_eq!(t.data[0], tol.steps as f32);
    }
    if precision == Precision::F32 {
        match tol.grad_elementwise {
            Some(rel) => assert_close("gradient", &gpu_run.first_grads, &cpu_run.first_grads, rel),
            None => {
                for ((name, g), (_, w)) in gpu_run.first_grads.iter().zip(&cpu_run.first_grads) {
                    let size = l2(&mut w.data.iter().map(|&v| v as f64));
                    let d = distance(g, 1.0, w);
                    assert!(
                        d <= tol.grad_norm * size,
                        "gradient {name}: |gpu - cpu| {d:.3e}, |cpu| {size:.3e}"
                    );
                }
            }
        }
        for (s, (c, g)) in cpu_run.losses.iter().zip(&gpu_run.losses).enumerate() {
            let rel = if s == 0 { 3e-3 } else { tol.later_losses };
            assert!(
                (c - g).abs() <= rel * c.abs(),
                "step {s}: cpu loss {c}, gpu loss {g}"
            );
        }
        for (what, got, want) in [
            ("weight", &gpu_run.weights, &cpu_run.weights),
            ("buffer", &gpu_run.buffers, &cpu_run.buffers),
        ] {
            for ((name, g), (_, w)) in got.iter().zip(want) {
                let size = l2(&mut w.data.iter().map(|&v| v as f64));
                let d = distance(g, 1.0, w);
                // After the flip above: conv1's weights 2.8% of their norm apart, bn1's
                // biases (from 0) 8.5%.
                assert!(
                    d <= 0.15 * size,
                    "{what} {name}: |gpu - cpu| {d:.3e}, |cpu| {size:.3e}"
                );
            }
        }
        return;
    }
    let f32_run = run(&CpuBackend, &graph, init, Precision::F32, tol.steps, 4);
    // f16 gradients are stored times the loss scale (256 for these steps).
    let unscale = 1.0 / 256.0;
    for (((name, g16), (_, c16)), (_, c32)) in gpu_run
        .first_grads
        .iter()
        .zip(&cpu_run.first_grads)
        .zip(&f32_run.first_grads)
    {
        let (gpu_err, f16_err) = (distance(g16, 1.0, c16), distance(c16, unscale, c32));
        let size = l2(&mut c32.data.iter().map(|&v| v as f64));
        assert!(
            gpu_err * unscale <= 2.0 * f16_err + 0.01 * size,
            "gradient {name}: |gpu16 - cpu16| {:.3e} but |cpu16 - cpu32| {f16_err:.3e} (|cpu32| {size:.3e})",
            gpu_err * unscale
        );
    }
    for (s, ((g, c), c32)) in gpu_run
        .losses
        .iter()
        .zip(&cpu_run.losses)
        .zip(&f32_run.losses)
        .enumerate()
    {
        assert!(
            (g - c).abs() <= 2.0 * (c - c32).abs() + 1e-2 * c32,
            "step {s}: gpu16 {g}, cpu16 {c}, cpu32 {c32}"
        );
    }
}

#[test]
fn resnet18_f32_matches_cpu() {
    compare_deep(
        models::resnet18(10, 64).unwrap(),
        Init::Torchvision,
        Precision::F32,
        TIGHT,
    );
}

#[test]
fn resnet18_f16_matches_cpu() {
    compare_deep(
        models::resnet18(10, 64).unwrap(),
        Init::Torchvision,
        Precision::F16,
        TIGHT,
    );
}

/// GoogLeNet at 64 px with its auxiliary classifiers: every inception block's concatenation, the ceil-mode max pools, batch
/// norm down to 2x2 maps. Through 57 convolutions, batch norms over 16 values and nine
/// overlapping stride-1 max pools, ReLU and max-pool decisions that rounding tips flip a few
/// gradient elements (up to 0.7% of a tensor's largest; by norm at most 0.11%, measured), and
/// batch norm at batch 4 amplifies differences with every update (the GPU's two kernel
/// families end two steps 1.8% apart in conv1's weights, the GPU and the f64 CPU 16%): one
/// step, gradients by norm within 1% — a wrong concatenation offset or a lost gradient share
/// is off by its whole size.
#[test]
fn googlenet_f32_matches_cpu() {
    compare_deep(
        models::googlenet(10, 64, true).unwrap(),
        Init::GoogLeNet,
        Precision::F32,
        Tol {
            steps: 1,
            grad_elementwise: None,
            grad_norm: 0.01,
            later_losses: 3e-3,
        },
    );
}

/// GoogLeNet in f16 with its auxiliary classifiers: one step's gradients (both heads'
/// shares in them) against f16's own distance from f32 on the CPU, as ResNet-18's (see
/// `compare_deep`), and every weight moved. One step, as in f32: after it, batch norm over
/// 2x2 maps at batch 4 drives the losses apart (measured at the second step: gpu16 2.372,
/// cpu16 2.488, cpu32 2.447 — f16 and f32 as far apart as the backends).
#[test]
fn googlenet_f16_matches_cpu() {
    compare_deep(
        models::googlenet(10, 64, true).unwrap(),
        Init::GoogLeNet,
        Precision::F16,
        Tol { steps: 1, ..TIGHT },
    );
}

/// U-Net at 32 px with 4 base channels (its bottom 2x2 maps): the transposed convolutions,
/// the skip concatenations and the per-pixel loss with ignored pixels.
#[test]
fn unet_f32_matches_cpu() {
    compare_deep(
        models::unet(1, 3, 4, 32).unwrap(),
        Init::PyTorchDefault,
        Precision::F32,
        TIGHT,
    );
}

#[test]
fn unet_f16_matches_cpu() {
    compare_deep(
        models::unet(1, 3, 4, 32).unwrap(),
        Init::PyTorchDefault,
        Precision::F16,
        TIGHT,
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

/// LeNet-5 trained with its pools' results mirrored into the textures their readers take
/// (see gpu::mirrors): pool1's output for conv2's direct forward and its weight gradient,
/// pool2's input gradient for conv2's direct input gradient and pool2's output for conv3's
/// weight gradient — four mirrors taken a step — trains bit for bit as with those passes packing for themselves,
/// in f32 and f16.
#[test]
fn lenet5_trains_the_same_with_its_pools_mirrored() {
    let Some(gpu) = common::gpu() else { return };
    let graph = models::lenet5(10).unwrap();
    for precision in [Precision::F32, Precision::F16] {
        let train = |mirrors: bool| {
            gpu.set_mirrors(mirrors);
            let taken = gpu.mirrors_taken();
            let r = run(&*gpu, &graph, Init::PyTorchDefault, precision, 3, 64);
            gpu.set_mirrors(true);
            (r, gpu.mirrors_taken() - taken)
        };
        let (packed, none) = train(false);
        let (mirrored, taken) = train(true);
        assert_eq!(none, 0, "{precision:?}: mirrors off");
        if gpu.families().contains(&cnngpu::gpu::Family::Subgroup) {
            assert_eq!(taken, 5 * 3, "{precision:?}: five mirrors a step");
        }
        assert_eq!(mirrored.losses, packed.losses, "{precision:?}: losses");
        assert_eq!(mirrored.weights, packed.weights, "{precision:?}: weights");
        assert_eq!(
            mirrored.first_grads, packed.first_grads,
            "{precision:?}: gradients"
        );
    }
}

/// AlexNet's relus before its two normalisations and its last pooling layer run inside those
/// layers' backward passes (the model parity tests above check the result); relu3 and relu4
/// feed convolutions and keep their own.
#[test]
fn alexnets_relus_fold_into_the_normalisations_and_pool5() {
    let graph = models::alexnet(10, 1, 67).unwrap();
    let folds = graph.pool_folds();
    let folded: Vec<&str> = graph
        .layers
        .iter()
        .zip(&folds)
        .filter(|(_, a)| **a == Act::Relu)
        .map(|(l, _)| l.name.as_str())
        .collect();
    assert_eq!(folded, ["features.2", "features.6", "features.14"]);
}

/// The memory the CLI checks before allocating (train::memory) is what the model allocates,
/// with the outputs that fused layers do not keep left out, gradients shared by liveness and
/// none for evaluation-only batch sizes.
#[test]
fn the_memory_plan_is_what_the_model_allocates() {
    for graph in [
        models::lenet5(10).unwrap(),
        models::alexnet(10, 1, 67).unwrap(),
        models::resnet18(10, 32).unwrap(),
    ] {
        let values = initial_parameters(&graph, Init::PyTorchDefault, 7);
        let mut model = Model::new(&CpuBackend, graph.clone(), Precision::F32, &values).unwrap();
        let bytes = model.plan(&CpuBackend, 1).unwrap()
            + model.plan_inference(&CpuBackend, 3).unwrap()
            + model.parameter_bytes();
        let plan = MemoryPlan::of(&graph, Precision::F32);
        assert_eq!(
            plan.device_bytes((&[1], &[3]), false),
            bytes,
            "{}",
            graph.name
        );
        // (LeNet-5's gradients all differ in size: nothing to share.)
        let shares = graph.name != "lenet5";
        assert!(
            plan.gradients_per_image < plan.unshared_gradients_per_image || !shares,
            "{}: no gradient buffer shared ({} bytes)",
            graph.name,
            plan.gradients_per_image
        );
        let mut unfused = MemoryPlan::of(&graph, Precision::F32).per_image;
        for (l, a) in graph.layers.iter().zip(model.fusions()) {
            if *a != Act::None {
                unfused += 4 * l.out_shape.iter().product::<usize>() as u64;
            }
        }
        if !graph.name.starts_with("resnet") {
            // (A ResNet's convolutions are followed by batch norm: nothing to fuse.)
            assert!(unfused > plan.per_image, "{}: nothing fused", graph.name);
        }
        // An evaluation-only plan refuses to train.
        let mut metrics = model.metrics(&CpuBackend).unwrap();
        let cfg = StepConfig::benchmark(0);
        let err = model
            .forward(&CpuBackend, 3, true, &cfg, &mut metrics)
            .unwrap_err();
        assert!(err.to_string().contains("evaluation only"), "{err}");
    }
}

/// A step leaves nothing behind that the next one reads: the same batch at learning rate 0
/// gives bit-identical gradients twice (buffers a kernel fails to overwrite, stale gradient
/// shares or batch statistics would show here, where they cancel against nothing).
#[test]
fn resnet_steps_are_independent_of_the_step_before() {
    let Some(gpu) = common::gpu() else { return };
    let b = &*gpu;
    let graph = models::resnet18(10, 64).unwrap();
    let values = initial_parameters(&graph, Init::Torchvision, 7);
    let mut model = Model::new(b, graph.clone(), Precision::F32, &values).unwrap();
    model.plan(b, 4).unwrap();
    let mut metrics = model.metrics(b).unwrap();
    let x = SplitMix64(3).uniform_vec(4 * 3 * 64 * 64, -1.5, 1.5);
    let mut grads = Vec::new();
    for step in 0..2 {
        let cfg = StepConfig {
            lr: 0.0,
            step,
            ..StepConfig::benchmark(step)
        };
        model.load_batch(b, &x, &[1, 2, 3, 4]).unwrap();
        model.forward(b, 4, true, &cfg, &mut metrics).unwrap();
        model.backward_and_update(b, 4, &cfg).unwrap();
        grads.push(model.gradients(b).unwrap());
    }
    for ((name, a), (_, c)) in grads[0].iter().zip(&grads[1]) {
        assert_eq!(a.data, c.data, "{name}");
    }
}
