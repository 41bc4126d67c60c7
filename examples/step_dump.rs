//! One training step of a zoo model on a seeded random batch, written out for a side-by-side
//! check against PyTorch (`scripts/compare_step.py`): the initial weights (state_dict names),
//! the batch, the loss, every parameter gradient and the batch-norm running statistics after the
//! step, as safetensors. Dropout is set to 0 so
//! that both frameworks compute the same function.
//!
//! `cargo run --release --example step_dump -- MODEL SIZE BATCH OUT.safetensors [cpu]`
use cnngpu::cpu::CpuBackend;
use cnngpu::gpu::GpuBackend;
use cnngpu::nn::{initial_parameters, models, LayerKind, Model, StepConfig};
use cnngpu::ops::Backend;
use cnngpu::tensor::{HostTensor, Precision, Shape, SplitMix64};
use std::collections::HashMap;

fn dump<B: Backend>(
    b: &B,
    model: &str,
    size: usize,
    batch: usize,
    out: &str,
) -> cnngpu::Result<()> {
    let (mut graph, init) = models::by_name(model, 10, 1, Some(size))?;
    for l in &mut graph.layers {
        if let LayerKind::Dropout(p) = &mut l.kind {
            *p = 0.0;
        }
    }
    let values = initial_parameters(&graph, init, 0);
    let mut m = Model::new(b, graph.clone(), Precision::F32, &values)?;
    m.plan(b, batch)?;
    let mut metrics = m.metrics(b)?;
    let [c, h, w] = graph.input;
    let mut rng = SplitMix64(
        std::env::var("STEP_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let x = rng.uniform_vec(batch * c * h * w, -1.5, 1.5);
    // A label per image (or per pixel of a segmentation model).
    let labels: Vec<u32> = (0..batch * graph.label_pixels())
        .map(|i| (i * 7 % 10) as u32)
        .collect();
    let cfg = StepConfig {
        lr: 0.0,
        momentum: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        seed: 1,
        step: 0,
    };
    m.load_batch(b, &x, &labels)?;
    m.forward(b, batch, true, &cfg, &mut metrics)?;
    // STEP_ACTS=1: every kept node output of the forward pass too ("act/NAME").
    let mut acts: Vec<(String, HostTensor)> = Vec::new();
    if std::env::var("STEP_ACTS").is_ok_and(|v| v == "1") {
        for (i, l) in graph.layers.iter().enumerate() {
            if let Ok(t) = m.activation(b, batch, i) {
                acts.push((format!("act/{}", l.name), t));
            }
        }
    }
    m.backward_and_update(b, batch, &cfg)?;
    let loss = m.read_metrics(b, &mut metrics)?.loss();
    let mut tensors: Vec<(String, HostTensor)> = Vec::new();
    let names: Vec<String> = graph.parameters().into_iter().map(|p| p.0).collect();
    for (name, v) in names.iter().zip(&values) {
        tensors.push((format!("init/{name}"), v.clone()));
    }
    for (name, g) in m.gradients(b)? {
        tensors.push((format!("grad/{name}"), g));
    }
    // The batch-norm running statistics after the step ("buf/NAME"; counts left out).
    for (name, t) in m.buffers(b)? {
        if !name.ends_with("num_batches_tracked") {
            tensors.push((format!("buf/{name}"), t));
        }
    }
    tensors.push((
        "x".into(),
        HostTensor::new(Shape::new(&[batch, c, h, w]), x)?,
    ));
    tensors.extend(acts);
    let y: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let n = y.len();
    tensors.push(("labels".into(), HostTensor::new(Shape::new(&[n]), y)?));
    tensors.push((
        "loss".into(),
        HostTensor::new(Shape::new(&[1]), vec![loss as f32])?,
    ));
    let meta = HashMap::from([("model".to_string(), model.to_string())]);
    let bytes = cnngpu::train::checkpoint::to_safetensors(&tensors, &meta)?;
    std::fs::write(out, bytes).map_err(|e| cnngpu::Error::io(out, e))?;
    println!(
        "{model} at {size} px, batch {batch} on {}: loss {loss:.6}, wrote {out}",
        b.describe()
    );
    Ok(())
}

fn main() -> cnngpu::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let num = |i: usize| a.get(i).and_then(|v| v.parse::<usize>().ok());
    let (Some(model), Some(size), Some(batch), Some(out)) = (a.get(1), num(2), num(3), a.get(4))
    else {
        eprintln!("usage: step_dump MODEL SIZE BATCH OUT.safetensors [cpu]");
        std::process::exit(2);
    };
    if a.get(5).map(String::as_str) == Some("cpu") {
        return dump(&CpuBackend, model, size, batch, out);
    }
    let gpu = GpuBackend::open("auto")?;
    gpu.prepare_all()?;
    dump(&gpu, model, size, batch, out)
}
