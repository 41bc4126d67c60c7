//! Graphs that branch and merge: a node read by three others, a diamond, a node added to
//! itself, an auxiliary loss head. Their parameter gradients on the GPU agree with the CPU reference, the CPU's agree
//! with finite differences of the loss, and two GPU runs are bit-identical.

mod common;

use cnngpu::cpu::CpuBackend;
use cnngpu::nn::models::{self, linear};
use cnngpu::nn::{initial_parameters, Graph, Init, LayerKind, Model, StepConfig};
use cnngpu::ops::Backend;
use cnngpu::tensor::{HostTensor, Precision, SplitMix64};

fn conv(out_channels: usize, k: usize) -> LayerKind {
    models::conv(out_channels, k, 1, k / 2, 1)
}

/// Node `a` read by three others (relu, tanh, a 1x1 conv), merged back by two adds.
fn fan_out_three() -> Graph {
    let mut g = Graph::new("fan_out", [2, 5, 5], 4);
    let a = Some(g.node("a", conv(3, 3), &[None]).unwrap());
    let b = Some(g.node("b", LayerKind::Relu, &[a]).unwrap());
    let c = Some(g.node("c", LayerKind::Tanh, &[a]).unwrap());
    let d = Some(g.node("d", conv(3, 1), &[a]).unwrap());
    let e = Some(g.node("e", LayerKind::Add, &[b, c]).unwrap());
    g.node("f", LayerKind::Add, &[e, d]).unwrap();
    g.push("fc", linear(4)).unwrap();
    g.validate().unwrap();
    assert_eq!(g.readers(0), 3);
    g
}

/// x → conv a → (tanh b, conv c) → add d → add d to itself → fc.
fn diamond() -> Graph {
    let mut g = Graph::new("diamond", [3, 4, 4], 3);
    let a = Some(g.node("a", conv(4, 3), &[None]).unwrap());
    let b = Some(g.node("b", LayerKind::Tanh, &[a]).unwrap());
    let c = Some(g.node("c", conv(4, 3), &[a]).unwrap());
    let d = Some(g.node("d", LayerKind::Add, &[b, c]).unwrap());
    g.node("twice", LayerKind::Add, &[d, d]).unwrap();
    g.push("fc", linear(3)).unwrap();
    g.validate().unwrap();
    assert_eq!(g.readers(3), 2, "d is read twice by one node");
    g
}

/// An inception-like block: conv a read by three branches (a 1x1 conv, a 3x3 conv, a
/// ceil-mode max pool), concatenated with a itself and the network input → fc.
fn concatenation() -> Graph {
    use cnngpu::ops::Pool2dParams;
    let mut g = Graph::new("concat", [2, 5, 5], 3);
    let a = Some(g.node("a", conv(3, 3), &[None]).unwrap());
    let b = Some(g.node("b", conv(2, 1), &[a]).unwrap());
    let c = Some(g.node("c", conv(4, 3), &[a]).unwrap());
    let pool = LayerKind::MaxPool2d(Pool2dParams {
        padding: 1,
        ceil_mode: true,
        ..models::pool(3, 1)
    });
    let d = Some(g.node("d", pool, &[a]).unwrap());
    let cat = g
        .node("cat", LayerKind::Concat, &[b, c, d, a, None])
        .unwrap();
    assert_eq!(g.layers[cat].out_shape, [2 + 4 + 3 + 3 + 2, 5, 5]);
    g.push("fc", linear(3)).unwrap();
    g.validate().unwrap();
    assert_eq!(
        g.readers(0),
        4,
        "a is read by three branches and the concatenation"
    );
    g
}

/// conv a → relu b, read by an auxiliary head (fc `aux`, weight 0.4) and by conv c → relu →
/// a second auxiliary head on c (weight 0.3, behind a tanh) → fc.
fn auxiliary_heads() -> Graph {
    let mut g = Graph::new("aux", [2, 5, 5], 3);
    let a = Some(g.node("a", conv(3, 3), &[None]).unwrap());
    let b = Some(g.node("b", LayerKind::Relu, &[a]).unwrap());
    let aux = g.node("aux", linear(3), &[b]).unwrap();
    g.aux_head(aux, 0.4).unwrap();
    let c = Some(g.node("c", conv(2, 3), &[b]).unwrap());
    let d = Some(g.node("d", LayerKind::Relu, &[c]).unwrap());
    let t = Some(g.node("t", LayerKind::Tanh, &[d]).unwrap());
    let aux2 = g.node("aux2", linear(3), &[t]).unwrap();
    g.aux_head(aux2, 0.3).unwrap();
    g.node("fc", linear(3), &[d]).unwrap();
    g.validate().unwrap();
    assert_eq!(
        g.main_path(),
        [true, true, false, true, true, false, false, true],
        "evaluation runs the nodes the logits depend on"
    );
    g
}

const BATCH: usize = 3;

fn batch(graph: &Graph) -> (Vec<f32>, Vec<u32>) {
    let [c, h, w] = graph.input;
    let x = SplitMix64(5).uniform_vec(BATCH * c * h * w, -1.0, 1.0);
    let labels = (0..BATCH as u32)
        .map(|i| i % graph.classes as u32)
        .collect();
    (x, labels)
}

/// The loss and the parameter gradients of one batch (a step with learning rate 0).
fn loss_and_gradients<B: Backend>(
    b: &B,
    graph: &Graph,
    values: &[HostTensor],
) -> (f64, Vec<(String, HostTensor)>) {
    let mut model = Model::new(b, graph.clone(), Precision::F32, values).unwrap();
    model.plan(b, BATCH).unwrap();
    let mut metrics = model.metrics(b).unwrap();
    let (x, labels) = batch(graph);
    let cfg = StepConfig {
        lr: 0.0,
        ..StepConfig::inference()
    };
    model.load_batch(b, &x, &labels).unwrap();
    model.forward(b, BATCH, true, &cfg, &mut metrics).unwrap();
    model.backward_and_update(b, BATCH, &cfg).unwrap();
    let loss = model.read_metrics(b, &mut metrics).unwrap().loss();
    (loss, model.gradients(b).unwrap())
}

/// The training loss: the last node's plus each auxiliary head's times its weight (a head's
/// loss is that of the graph cut after it, whose parameters are a prefix of the whole's).
fn total_loss(graph: &Graph, values: &[HostTensor]) -> f64 {
    let mut loss = loss_and_gradients(&CpuBackend, graph, values).0;
    for h in &graph.aux_heads {
        let mut cut = graph.clone();
        cut.layers.truncate(h.node + 1);
        cut.aux_heads.retain(|a| a.node < h.node); // its reported loss is its last node's
        let n = cut.parameters().len();
        loss += h.weight as f64 * loss_and_gradients(&CpuBackend, &cut, &values[..n]).0;
    }
    loss
}

fn check(graph: Graph) {
    let values = initial_parameters(&graph, Init::PyTorchDefault, 3);
    let (_, cpu) = loss_and_gradients(&CpuBackend, &graph, &values);
    // Finite differences of the CPU's loss (f32 storage; h = 1e-3 crosses no relu kink here)
    // for
    // a few elements of every parameter tensor.
    let h = 1e-3f32;
    for (k, (name, grad)) in cpu.iter().enumerate() {
        for i in [0, grad.data.len() / 2, grad.data.len() - 1] {
            let mut plus = values.to_vec();
            plus[k].data[i] += h;
            let mut minus = values.to_vec();
            minus[k].data[i] -= h;
            let fd = (total_loss(&graph, &plus) - total_loss(&graph, &minus)) / (2.0 * h as f64);
            let g = grad.data[i] as f64;
            assert!(
                (fd - g).abs() <= 2e-3 * (1.0 + fd.abs()),
                "{}: {name}[{i}] backward {g}, finite difference {fd}",
                graph.name
            );
        }
    }
    let Some(gpu) = common::gpu() else { return };
    let (_, first) = loss_and_gradients(&*gpu, &graph, &values);
    let (_, second) = loss_and_gradients(&*gpu, &graph, &values);
    for (((name, g), (_, c)), (_, again)) in first.iter().zip(&cpu).zip(&second) {
        assert_eq!(
            g.data, again.data,
            "{}: {name} differs between runs",
            graph.name
        );
        let scale = c.data.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in g.data.iter().zip(&c.data).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{}: {name}[{i}] gpu {a} cpu {b}",
                graph.name
            );
        }
    }
}

#[test]
fn a_node_read_by_three_others_gets_the_sum_of_their_gradients() {
    check(fan_out_three());
}

#[test]
fn a_diamond_and_a_node_added_to_itself_get_the_sum_of_their_gradients() {
    check(diamond());
}

#[test]
fn the_inputs_of_a_concatenation_get_their_channels_of_its_gradient() {
    check(concatenation());
}

#[test]
fn auxiliary_heads_add_their_weighted_loss_gradients() {
    check(auxiliary_heads());
}

#[test]
fn auxiliary_heads_are_checked() {
    let mut g = Graph::new("heads", [2, 4, 4], 3);
    let a = g.node("a", conv(2, 3), &[None]).unwrap();
    let wide = g.node("wide", linear(4), &[Some(a)]).unwrap();
    let err = g.aux_head(wide, 0.3).unwrap_err().to_string();
    assert!(err.contains("3 logits per image"), "{err}");
    let head = g.node("head", linear(3), &[Some(a)]).unwrap();
    assert!(g.aux_head(head, 0.0).is_err(), "a weight of 0");
    assert!(g.aux_head(head, f32::NAN).is_err(), "a weight of NaN");
    g.aux_head(head, 0.3).unwrap();
    assert!(g.aux_head(head, 0.3).is_err(), "a head twice");
    g.node("fc", linear(3), &[Some(a)]).unwrap();
    // `wide` is read by nothing and is no head.
    let err = g.validate().unwrap_err().to_string();
    assert!(err.contains("no other node reads"), "{err}");
    let mut g = Graph::new("read", [2, 4, 4], 3);
    let a = g.node("a", linear(3), &[None]).unwrap();
    g.aux_head(a, 0.3).unwrap();
    g.node("fc", linear(3), &[Some(a)]).unwrap();
    let err = g.validate().unwrap_err().to_string();
    assert!(err.contains("unread node before the last"), "{err}");
}

#[test]
fn graphs_that_cannot_run_are_refused_when_built() {
    let mut g = Graph::new("bad", [1, 4, 4], 2);
    let a = g.node("a", conv(2, 3), &[None]).unwrap();
    assert!(
        g.node("a", LayerKind::Relu, &[Some(a)]).is_err(),
        "duplicate name"
    );
    assert!(
        g.node("r", LayerKind::Relu, &[Some(7)]).is_err(),
        "unknown input"
    );
    assert!(
        g.node("s", LayerKind::Add, &[Some(a)]).is_err(),
        "add needs two inputs"
    );
    let p = g.node("p", conv(3, 3), &[None]).unwrap();
    assert!(
        g.node("t", LayerKind::Add, &[Some(a), Some(p)]).is_err(),
        "shapes differ"
    );
    assert!(
        g.node("u", LayerKind::Concat, &[Some(a)]).is_err(),
        "a concatenation of one"
    );
    let small = g
        .node("small", models::conv(2, 3, 2, 1, 1), &[None])
        .unwrap();
    let err = g
        .node("v", LayerKind::Concat, &[Some(a), Some(small)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("concatenates 2x2 maps with 4x4"), "{err}");
    g.node("w", LayerKind::Concat, &[Some(small), Some(small)])
        .unwrap();
    let ceil_avg = LayerKind::AvgPool2d(cnngpu::ops::Pool2dParams {
        ceil_mode: true,
        ..models::pool(3, 2)
    });
    let err = g.node("x", ceil_avg, &[Some(a)]).unwrap_err().to_string();
    assert!(err.contains("max pooling only"), "{err}");
    g.push("fc", linear(2)).unwrap();
    // `a` is read by nothing.
    let err = g.validate().unwrap_err().to_string();
    assert!(err.contains("no other node reads"), "{err}");
}

/// `--no-bn-decay`: after one step with weight decay on everything but batch norm, the
/// batch-norm parameters equal those of a step without any decay (the gradients of a first
/// step do not depend on the decay), and the conv weights do not.
#[test]
fn without_norm_decay_batch_norm_parameters_are_not_decayed() {
    let mut g = Graph::new("bn", [2, 6, 6], 3);
    g.push("conv", conv(4, 3)).unwrap();
    g.push("bn", models::bn()).unwrap();
    g.push("relu", LayerKind::Relu).unwrap();
    g.push("fc", linear(3)).unwrap();
    g.validate().unwrap();
    fn step<B: Backend>(
        b: &B,
        g: &Graph,
        weight_decay: f32,
        norm: bool,
    ) -> Vec<(String, HostTensor)> {
        let values = initial_parameters(g, Init::PyTorchDefault, 3);
        let mut model = Model::new(b, g.clone(), Precision::F32, &values).unwrap();
        model.set_norm_weight_decay(norm);
        model.plan(b, BATCH).unwrap();
        let mut metrics = model.metrics(b).unwrap();
        let (x, labels) = batch(g);
        let cfg = StepConfig {
            lr: 0.1,
            weight_decay,
            ..StepConfig::inference()
        };
        model.load_batch(b, &x, &labels).unwrap();
        model.forward(b, BATCH, true, &cfg, &mut metrics).unwrap();
        model.backward_and_update(b, BATCH, &cfg).unwrap();
        model.weights(b).unwrap()
    }
    let check = |none: Vec<(String, HostTensor)>, no_norm: Vec<(String, HostTensor)>| {
        for ((name, a), (_, b)) in none.iter().zip(&no_norm) {
            if name.starts_with("bn.") {
                assert_eq!(a.data, b.data, "{name} was decayed");
            } else {
                assert_ne!(a.data, b.data, "{name} was not decayed");
            }
        }
    };
    check(
        step(&CpuBackend, &g, 0.0, true),
        step(&CpuBackend, &g, 0.5, false),
    );
    let Some(gpu) = common::gpu() else { return };
    check(step(&*gpu, &g, 0.0, true), step(&*gpu, &g, 0.5, false));
}
