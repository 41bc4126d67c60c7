//! One training step of a zoo model on a seeded random batch, written out for a side-by-side
//! check against PyTorch (`scripts/compare_step.py`): the initial weights (state_dict names),
//! the batch, the loss, every parameter gradient and the batch-norm running statistics after the
//! step, as safetensors. Dropout is set to 0 so
//! that both frameworks compute the same function.
//!
//! With `STEP_COUNT=K` it takes K SGD steps on K batches (`STEP_LR`, momentum 0.9, weight
//! decay 5e-4) and also writes the weights after them: the running statistics of many steps.
//! `STEP_DATA=DIR` takes the batches from the Fashion-MNIST training images in DIR.
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
    // STEP_COUNT=K > 1: K SGD steps (STEP_LR, default 0.01; momentum 0.9, weight decay 5e-4)
    // on K batches; the gradients are the last step's, "final/NAME" the weights after.
    let env = |k: &str| std::env::var(k).ok();
    let steps: usize = env("STEP_COUNT").and_then(|s| s.parse().ok()).unwrap_or(1);
    let lr: f32 = env("STEP_LR").and_then(|s| s.parse().ok()).unwrap_or(0.01);
    // One step updates the weights too when STEP_LR is given.
    let update = steps > 1 || env("STEP_LR").is_some();
    let (lr, momentum, weight_decay) = match update {
        true => (lr, 0.9, 5e-4),
        false => (0.0, 0.0, 0.0),
    };
    let (mut xs, mut ys, mut loss) = (Vec::new(), Vec::new(), 0.0);
    let mut acts: Vec<(String, HostTensor)> = Vec::new();
    // STEP_DATA=DIR: the Fashion-MNIST training images of DIR in order (preprocessed as in
    // evaluation), instead of random batches.
    let real = match env("STEP_DATA") {
        Some(dir) => {
            let kind = cnngpu::data::DatasetKind::FashionMnist;
            let train = cnngpu::data::load(kind, dir.as_ref(), 256, None)?.train;
            let prep = cnngpu::train::preprocess_for(model, kind, graph.input, &train)?;
            Some((train, prep))
        }
        None => None,
    };
    for step in 0..steps {
        let (x, labels) = match &real {
            Some((ds, prep)) => {
                let idx: Vec<usize> = (step * batch..(step + 1) * batch).collect();
                let (mut x, mut labels) = (Vec::new(), Vec::new());
                cnngpu::data::make_batch(ds, prep, &idx, &mut x, &mut labels, None);
                (x, labels)
            }
            None => (
                rng.uniform_vec(batch * c * h * w, -1.5, 1.5),
                // A label per image (or per pixel of a segmentation model).
                (0..batch * graph.label_pixels())
                    .map(|i| ((i * 7 + step) % 10) as u32)
                    .collect(),
            ),
        };
        let cfg = StepConfig {
            lr,
            momentum,
            weight_decay,
            nesterov: false,
            seed: 1,
            step: step as u32,
        };
        m.load_batch(b, &x, &labels)?;
        m.forward(b, batch, true, &cfg, &mut metrics)?;
        // STEP_ACTS=1: every kept node output of the (first) forward pass ("act/NAME").
        if step == 0 && env("STEP_ACTS").is_some_and(|v| v == "1") {
            for (i, l) in graph.layers.iter().enumerate() {
                if let Ok(t) = m.activation(b, batch, i) {
                    acts.push((format!("act/{}", l.name), t));
                }
            }
        }
        m.backward_and_update(b, batch, &cfg)?;
        loss = m.read_metrics(b, &mut metrics)?.loss();
        xs.extend(x);
        ys.extend(labels);
    }
    let (x, labels) = (xs, ys);
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
    if update {
        for (name, t) in m.weights(b)? {
            tensors.push((format!("final/{name}"), t));
        }
        tensors.push(("lr".into(), HostTensor::new(Shape::new(&[1]), vec![lr])?));
        let k = vec![steps as f32];
        tensors.push(("steps".into(), HostTensor::new(Shape::new(&[1]), k)?));
    }
    tensors.push((
        "x".into(),
        HostTensor::new(Shape::new(&[steps * batch, c, h, w]), x)?,
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
