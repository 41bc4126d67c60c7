//! Real sizes: tensors larger than one storage binding and dispatches larger than 65,535
//! workgroups in one dimension run correctly by splitting the work.

mod common;

use cnngpu::cpu::CpuBackend;
use cnngpu::gpu::GpuBackend;
use cnngpu::ops::*;
use cnngpu::parity::{self, Case, Op};
use cnngpu::tensor::{DType, HostTensor, Shape, SplitMix64};

fn fail_report(outcomes: &[parity::Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.report())
        .collect()
}

#[test]
fn alexnet_fc6_f32_weight_larger_than_one_binding_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let fc6_bytes = 9216u64 * 4096 * 4;
    let limit = gpu.ctx.limits.max_storage_buffer_binding_size;
    eprintln!("fc6 weight: {fc6_bytes} bytes; this adapter binds at most {limit}");
    if fc6_bytes <= limit {
        eprintln!(
            "this adapter binds fc6 whole; the chunked path is covered by chunked_paths_match_cpu"
        );
    }
    let cases: Vec<Case> = parity::alexnet_cases()
        .into_iter()
        .filter(|c| c.name == "alexnet_fc6")
        .collect();
    let mut cases = cases;
    cases.push(Case {
        name: "alexnet_sgd_fc6".into(),
        op: Op::Sgd(Sgd(
            SgdParams {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: true,
                grad_scale: 1.0,
            },
            9216 * 4096,
        )),
        ties: false,
    });
    let outcomes = parity::run(&gpu, &cases, "").expect("fc6 passes ran");
    let failed = fail_report(&outcomes);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // fc6's three GEMM passes in every kernel family, its bias pass and the SGD update.
    let per_variant = 3 * gpu.families().len() + 2;
    assert_eq!(outcomes.len(), per_variant * parity::variants(&gpu).len());
}

/// Compares images `images` of a GPU result with the CPU reference run on those images alone.
fn assert_images_match(what: &str, got: &HostTensor, want_per_image: &[(usize, Vec<f32>)]) {
    let per = got.data.len() / got.shape.dims()[0];
    for (n, want) in want_per_image {
        let g = &got.data[n * per..(n + 1) * per];
        let tol = parity::Tolerance::F32;
        let bad =
            g.iter().zip(want).enumerate().find(|(_, (&g, &w))| {
                (g - w).is_nan() || (g - w).abs() > tol.abs + tol.rel * w.abs()
            });
        if let Some((i, (g, w))) = bad {
            panic!(
                "{what}: image {n}, element {i} ({:?}): got {g} want {w}",
                Shape::new(&got.shape.dims()[1..]).unravel(i)
            );
        }
    }
}

#[test]
fn alexnet_conv1_batch128_splits_workgroups_and_bindings_and_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let conv = Conv2dParams {
        batch: 128,
        in_channels: 3,
        in_h: 227,
        in_w: 227,
        out_channels: 96,
        kernel_h: 11,
        kernel_w: 11,
        stride: 4,
        padding: 0,
        groups: 1,
        bias: true,
        act: Act::None,
    };
    let lrn = LrnParams::alexnet(128, 96, 55, 55);
    let pool = Pool2dParams {
        batch: 128,
        channels: 96,
        in_h: 55,
        in_w: 55,
        kernel: 3,
        stride: 2,
        padding: 0,
        act: Act::None,
        ceil_mode: false,
        adaptive: None,
    };
    let mut rng = SplitMix64(128);
    let x = HostTensor {
        shape: conv.input_shape(),
        data: rng.uniform_vec(conv.input_shape().numel(), -1.0, 1.0),
    };
    let w = HostTensor {
        shape: conv.weight_shape(),
        data: rng.uniform_vec(conv.weight_shape().numel(), -0.09, 0.09),
    };
    let b = HostTensor {
        shape: conv.bias_shape(),
        data: rng.uniform_vec(96, -0.1, 0.1),
    };
    let dy = HostTensor {
        shape: conv.output_shape(),
        data: rng.uniform_vec(conv.output_shape().numel(), -1.0, 1.0),
    };

    let before = gpu.stats();
    let f32 = DType::F32;
    let (gx, gw, gb, gdy) = (
        gpu.upload(&x, f32).unwrap(),
        gpu.upload(&w, f32).unwrap(),
        gpu.upload(&b, f32).unwrap(),
        gpu.upload(&dy, f32).unwrap(),
    );
    let nan = |s: Shape| gpu.full(s, f32, f32::NAN).unwrap();
    let (mut y, mut a, mut n, mut p, mut da) = (
        nan(conv.output_shape()),
        nan(conv.output_shape()),
        nan(conv.output_shape()),
        nan(pool.output_shape()),
        nan(conv.output_shape()),
    );
    let mut idx = gpu.full(pool.output_shape(), DType::U32, 0.0).unwrap();
    gpu.conv2d_forward(&conv, &gx, &gw, Some(&gb), &mut y)
        .unwrap();
    gpu.relu_forward(&y, &mut a).unwrap();
    gpu.lrn_forward(&lrn, &a, &mut n).unwrap();
    gpu.max_pool2d_forward(&pool, &n, &mut p, &mut idx).unwrap();
    gpu.relu_backward_input(&y, &gdy, &mut da).unwrap();
    let (y, a, n, p, da) = (
        gpu.download(&y).unwrap(),
        gpu.download(&a).unwrap(),
        gpu.download(&n).unwrap(),
        gpu.download(&p).unwrap(),
        gpu.download(&da).unwrap(),
    );
    let stats = gpu.stats();

    let out_bytes = conv.output_shape().numel() as u64 * 4;
    let limit = gpu.ctx.limits.max_storage_buffer_binding_size;
    eprintln!(
        "conv1 output {out_bytes} bytes (binding limit {limit}); largest dispatch {} workgroups",
        stats.max_workgroups
    );
    assert!(
        stats.max_workgroups > 65_535,
        "a dispatch needed more than 65,535 workgroups"
    );
    assert!(
        stats.two_dimensional > before.two_dimensional,
        "and was spread over two dimensions"
    );

    // CPU reference for three images (first, middle, last), each run alone.
    let cpu = CpuBackend;
    let one = |p: Conv2dParams| Conv2dParams { batch: 1, ..p };
    let mut want = [vec![], vec![], vec![], vec![], vec![]];
    for img in [0usize, 63, 127] {
        let c1 = one(conv);
        let per_x = c1.input_shape().numel();
        let per_y = c1.output_shape().numel();
        let xi = HostTensor {
            shape: c1.input_shape(),
            data: x.data[img * per_x..(img + 1) * per_x].to_vec(),
        };
        let dyi = HostTensor {
            shape: c1.output_shape(),
            data: dy.data[img * per_y..(img + 1) * per_y].to_vec(),
        };
        let t = |h: &HostTensor| cpu.upload(h, f32).unwrap();
        let (cx, cw, cb, cdy) = (t(&xi), t(&w), t(&b), t(&dyi));
        let full = |s: Shape| cpu.full(s, f32, f32::NAN).unwrap();
        let (mut cy, mut ca, mut cn, mut cda) = (
            full(c1.output_shape()),
            full(c1.output_shape()),
            full(c1.output_shape()),
            full(c1.output_shape()),
        );
        let p1 = Pool2dParams { batch: 1, ..pool };
        let (mut cp, mut ci) = (
            full(p1.output_shape()),
            cpu.full(p1.output_shape(), DType::U32, 0.0).unwrap(),
        );
        cpu.conv2d_forward(&c1, &cx, &cw, Some(&cb), &mut cy)
            .unwrap();
        cpu.relu_forward(&cy, &mut ca).unwrap();
        cpu.lrn_forward(&LrnParams { batch: 1, ..lrn }, &ca, &mut cn)
            .unwrap();
        cpu.max_pool2d_forward(&p1, &cn, &mut cp, &mut ci).unwrap();
        cpu.relu_backward_input(&cy, &cdy, &mut cda).unwrap();
        for (slot, t) in want.iter_mut().zip([&cy, &ca, &cn, &cp, &cda]) {
            slot.push((img, cpu.download(t).unwrap().data));
        }
    }
    for ((name, got), want) in ["conv1", "relu1", "lrn1", "pool1", "relu1 backward"]
        .iter()
        .zip([&y, &a, &n, &p, &da])
        .zip(&want)
    {
        assert_images_match(name, got, want);
    }
}

/// With the binding limit lowered to 32 KiB, every op whose tensors exceed it runs in chunks
/// (batch chunks for conv, pooling and lrn; row chunks for linear weights; element chunks for
/// activations, dropout and sgd) and still matches the CPU.
#[test]
fn chunked_paths_match_cpu() {
    if common::gpu().is_none() {
        return;
    }
    let spec = std::env::var("CNNGPU_ADAPTER").unwrap_or_default();
    let gpu = GpuBackend::open(&spec)
        .expect("second device")
        .with_max_binding(32 * 1024);
    let conv = |groups| {
        Op::Conv2d(Conv2dParams {
            batch: 8,
            in_channels: 4,
            in_h: 16,
            in_w: 16,
            out_channels: 8,
            kernel_h: 5,
            kernel_w: 5,
            stride: 1,
            padding: 2,
            groups,
            bias: true,
            act: Act::None,
        })
    };
    let pool = Pool2dParams {
        batch: 8,
        channels: 8,
        in_h: 16,
        in_w: 16,
        kernel: 3,
        stride: 2,
        padding: 1,
        act: Act::None,
        ceil_mode: false,
        adaptive: None,
    };
    let case = |name: &str, op| Case {
        name: name.into(),
        op,
        ties: false,
    };
    let cases = vec![
        case("chunked_conv", conv(1)),
        case("chunked_conv_g2", conv(2)),
        case("chunked_maxpool", Op::MaxPool2d(MaxPool2d(pool))),
        case("chunked_avgpool", Op::AvgPool2d(AvgPool2d(pool))),
        case("chunked_lrn", Op::Lrn(LrnParams::alexnet(8, 8, 16, 16))),
        case("chunked_relu", Op::Relu(Relu(Shape::new(&[8, 8, 16, 16])))),
        case("chunked_tanh", Op::Tanh(Tanh(Shape::new(&[20001])))),
        case(
            "chunked_dropout",
            Op::Dropout(DropoutParams {
                len: 20001,
                p: 0.5,
                seed: 3,
                step: 1,
            }),
        ),
        case(
            "chunked_linear",
            Op::Linear(LinearParams {
                batch: 5,
                in_features: 300,
                out_features: 201,
                bias: true,
                act: Act::None,
            }),
        ),
        case(
            "chunked_sgd",
            Op::Sgd(Sgd(
                SgdParams {
                    lr: 0.1,
                    momentum: 0.9,
                    weight_decay: 1e-3,
                    nesterov: false,
                    grad_scale: 0.5,
                },
                20001,
            )),
        ),
    ];
    let outcomes = parity::run(&gpu, &cases, "").expect("chunked passes ran");
    let failed = fail_report(&outcomes);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(
        gpu.stats().dispatches > outcomes.len() as u64,
        "some passes took several dispatches"
    );
}

/// LeNet-5 conv1's geometry at batch 21: 150 weights and 16,464-long sums, so the workgroup
/// family's weight gradient splits k 64 ways into slices of 272 (whole k steps of 16), and the
/// last three slices start past the end of k (they store zeros); with the bigger linear layer
/// below, the 32x128 and 128x32 tiles of the workgroup core meet ragged edges. Every family.
#[test]
fn long_split_reductions_and_ragged_tiles_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let cases = vec![
        Case {
            name: "lenet5_conv1_b21".into(),
            op: Op::Conv2d(Conv2dParams {
                batch: 21,
                in_channels: 1,
                in_h: 32,
                in_w: 32,
                out_channels: 6,
                kernel_h: 5,
                kernel_w: 5,
                stride: 1,
                padding: 0,
                groups: 1,
                bias: true,
                act: Act::None,
            }),
            ties: false,
        },
        Case {
            name: "linear_b33_tall".into(),
            op: Op::Linear(LinearParams {
                batch: 33,
                in_features: 31,
                out_features: 161,
                bias: true,
                act: Act::None,
            }),
            ties: false,
        },
    ];
    let outcomes = parity::run(&gpu, &cases, "").expect("passes ran");
    let failed = fail_report(&outcomes);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(outcomes.iter().any(|o| o.kernel.ends_with("[workgroup]")));
}
