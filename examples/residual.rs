//! Your own network through the library API: a small residual network — a stem, two residual
//! blocks (the second with a downsampling shortcut), global average pooling and a classifier —
//! built node by node with `Graph::node`, trained with SGD on the bundled Fashion-MNIST sample
//! and evaluated, on the GPU if there is one (else the slow CPU reference).
//!
//! `cargo run --release --example residual [-- EPOCHS]`
use cnngpu::cpu::CpuBackend;
use cnngpu::data::{self, DatasetKind, Preprocess};
use cnngpu::gpu::GpuBackend;
use cnngpu::nn::models::{bn, conv_nobias, linear, pool};
use cnngpu::nn::{initial_parameters, Graph, Init, LayerKind, Model, StepConfig};
use cnngpu::ops::Backend;
use cnngpu::tensor::{Precision, SplitMix64};

/// conv → bn → relu → conv → bn, plus the input (or a strided 1x1 conv of it), → relu.
fn block(
    g: &mut Graph,
    name: &str,
    x: Option<usize>,
    width: usize,
    stride: usize,
) -> cnngpu::Result<Option<usize>> {
    let at = |s: &str| format!("{name}.{s}");
    let h = g.node(&at("conv1"), conv_nobias(width, 3, stride, 1), &[x])?;
    let h = g.node(&at("bn1"), bn(), &[Some(h)])?;
    let h = g.node(&at("relu1"), LayerKind::Relu, &[Some(h)])?;
    let h = g.node(&at("conv2"), conv_nobias(width, 3, 1, 1), &[Some(h)])?;
    let h = g.node(&at("bn2"), bn(), &[Some(h)])?;
    let shortcut = if stride == 1 && g.shape_of(x)[0] == width {
        x
    } else {
        let s = g.node(&at("downsample.0"), conv_nobias(width, 1, stride, 0), &[x])?;
        Some(g.node(&at("downsample.1"), bn(), &[Some(s)])?)
    };
    let sum = g.node(&at("add"), LayerKind::Add, &[Some(h), shortcut])?;
    Ok(Some(g.node(&at("relu"), LayerKind::Relu, &[Some(sum)])?))
}

fn network() -> cnngpu::Result<Graph> {
    let mut g = Graph::new("tiny_resnet", [1, 28, 28], 10);
    g.push("conv1", conv_nobias(16, 3, 1, 1))?
        .push("bn1", bn())?
        .push("relu", LayerKind::Relu)?;
    let stem = g.last();
    let x = block(&mut g, "block1", stem, 16, 1)?;
    let x = block(&mut g, "block2", x, 32, 2)?;
    let [_, side, _] = g.shape_of(x);
    g.push("avgpool", LayerKind::AvgPool2d(pool(side, side)))?
        .push("fc", linear(10))?;
    g.validate()?;
    Ok(g)
}

fn train<B: Backend>(b: &B, epochs: usize) -> cnngpu::Result<()> {
    let graph = network()?;
    println!(
        "{} on {}: {} nodes",
        graph.name,
        b.describe(),
        graph.layers.len()
    );
    let splits = data::load(
        DatasetKind::FashionMnist,
        &data::bundled_sample_dir(),
        0,
        None,
    )?;
    let (mean, std) = DatasetKind::FashionMnist.mean_std();
    let prep = Preprocess::padded(0, mean, std);
    let values = initial_parameters(&graph, Init::Torchvision, 0);
    let mut model = Model::new(b, graph, Precision::F32, &values)?;
    let batch = 64;
    model.plan(b, batch)?;
    let mut metrics = model.metrics(b)?;
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let mut rng = SplitMix64(1);
    let mut step = 0;
    for epoch in 1..=epochs {
        let mut order: Vec<usize> = (0..splits.train.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_f32() * (i + 1) as f32) as usize % (i + 1));
        }
        for chunk in order.chunks_exact(batch) {
            data::make_batch(&splits.train, &prep, chunk, &mut x, &mut labels, None);
            let cfg = StepConfig {
                lr: 0.05,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: false,
                seed: 0,
                step,
            };
            model.load_batch(b, &x, &labels)?;
            model.forward(b, batch, true, &cfg, &mut metrics)?;
            model.backward_and_update(b, batch, &cfg)?;
            step += 1;
        }
        let train = model.read_metrics(b, &mut metrics)?;
        // Evaluation: batch norm's running statistics, whole batches of the test split.
        let test: Vec<usize> = (0..splits.test.len()).collect();
        for chunk in test.chunks_exact(batch) {
            data::make_batch(&splits.test, &prep, chunk, &mut x, &mut labels, None);
            model.load_batch(b, &x, &labels)?;
            model.forward(b, batch, false, &StepConfig::inference(), &mut metrics)?;
        }
        let eval = model.read_metrics(b, &mut metrics)?;
        println!(
            "epoch {epoch}: train loss {:.4} top-1 {:.2}%, test loss {:.4} top-1 {:.2}%",
            train.loss(),
            100.0 * train.top1(),
            eval.loss(),
            100.0 * eval.top1()
        );
    }
    Ok(())
}

fn main() -> cnngpu::Result<()> {
    let epochs = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    match GpuBackend::open("auto") {
        Ok(gpu) => train(&gpu, epochs),
        Err(e) => {
            eprintln!("no GPU adapter ({e}): the CPU reference, slowly");
            train(&CpuBackend, epochs)
        }
    }
}
