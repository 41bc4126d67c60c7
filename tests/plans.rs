//! One allocation for every batch size: a model's smaller batch sizes view the largest plan's
//! buffers on a GPU (`Backend::prefix`), allocate nothing of their own, and train exactly as
//! a model that planned only that size; the memory check's figure is what the GPU allocates.

mod common;

use cnngpu::gpu::GpuBackend;
use cnngpu::nn::models;
use cnngpu::nn::{initial_parameters, Graph, Init, Metrics, Model, StepConfig};
use cnngpu::tensor::{HostTensor, Precision, SplitMix64};
use cnngpu::train::memory::MemoryPlan;

fn model(b: &GpuBackend, graph: &Graph) -> Model<GpuBackend> {
    let values = initial_parameters(graph, Init::Torchvision, 3);
    Model::new(b, graph.clone(), Precision::F32, &values).unwrap()
}

/// Loads a seeded batch of `batch` images.
fn load(b: &GpuBackend, m: &mut Model<GpuBackend>, batch: usize, seed: u64) {
    let [c, h, w] = m.graph.input;
    let x = SplitMix64(seed).uniform_vec(batch * c * h * w, -1.5, 1.5);
    let labels: Vec<u32> = (0..batch as u32)
        .map(|i| (i * 7 + seed as u32) % 10)
        .collect();
    m.load_batch(b, &x, &labels).unwrap();
}

/// Two training steps at batch 2 with an evaluation of 6 images between them (which, in a
/// model that views one allocation, overwrites the activations the steps use).
fn steps(b: &GpuBackend, m: &mut Model<GpuBackend>) -> (Vec<f64>, Vec<(String, HostTensor)>) {
    let mut metrics: Metrics<GpuBackend> = m.metrics(b).unwrap();
    let mut losses = Vec::new();
    for step in 0..2 {
        let cfg = StepConfig {
            lr: 0.05,
            momentum: 0.9,
            weight_decay: 5e-4,
            nesterov: false,
            seed: 1,
            step,
        };
        load(b, m, 2, step as u64);
        m.forward(b, 2, true, &cfg, &mut metrics).unwrap();
        m.backward_and_update(b, 2, &cfg).unwrap();
        losses.push(m.read_metrics(b, &mut metrics).unwrap().loss());
        load(b, m, 6, 10 + step as u64);
        let eval = StepConfig::inference();
        m.forward(b, 6, false, &eval, &mut metrics).unwrap();
        losses.push(m.read_metrics(b, &mut metrics).unwrap().loss());
    }
    (losses, m.weights(b).unwrap())
}

#[test]
fn smaller_batches_view_the_largest_plan_and_train_exactly_as_alone() {
    let Some(gpu) = common::gpu() else { return };
    let graph = models::resnet18(10, 32).unwrap();
    let memory = MemoryPlan::of(&graph, Precision::F32);

    // Planned as the trainer plans: largest first.
    let mut shared = model(&gpu, &graph);
    let order = MemoryPlan::plan_order(&[4, 2], &[6]);
    assert_eq!(order, vec![(6, false), (4, true), (2, true)]);
    let eval = shared.plan_inference(&gpu, 6).unwrap();
    assert_eq!(
        eval,
        6 * memory.per_image,
        "the evaluation plan allocates its activations"
    );
    let four = shared.plan(&gpu, 4).unwrap();
    assert_eq!(
        four,
        4 * memory.gradients_per_image,
        "batch 4 views the evaluation plan's activations and allocates only gradients"
    );
    assert_eq!(shared.plan(&gpu, 2).unwrap(), 0, "batch 2 views both");
    let total = shared.parameter_bytes() + eval + four;
    assert_eq!(memory.device_bytes((&[4, 2], &[6]), true), total);
    assert!(total < memory.device_bytes((&[4, 2], &[6]), false));

    // The same steps in models with buffers of their own for each size.
    let mut alone = model(&gpu, &graph);
    alone.plan(&gpu, 2).unwrap();
    alone.plan_inference(&gpu, 6).unwrap();
    let (want_losses, want) = steps(&gpu, &mut alone);
    let (got_losses, got) = steps(&gpu, &mut shared);
    assert_eq!(got_losses, want_losses);
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        let bits = |t: &HostTensor| t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(g), bits(w), "{name} differs");
    }
}
