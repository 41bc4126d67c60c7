//! The shader-vs-CPU parity harness, shared by `cnngpu check` and the tests.
//!
//! A [`Case`] is a named op at one shape (every LeNet-5 and AlexNet layer, plus edge cases).
//! For each pass of a case, inputs are drawn from a seed and rounded to f16 (so one CPU result
//! serves the f32 and both f16 variants), run on [`CpuBackend`] in f64 and on the GPU with
//! outputs pre-filled with NaN, and compared element by element:
//! `|got - want| <= abs + rel * |want|`, with f32 or f16 tolerances by the output's type.

use crate::cpu::CpuBackend;
use crate::error::Result;
use crate::gpu::{GpuBackend, Storage};
use crate::ops::*;
use crate::tensor::{round_to_f16, DType, HostTensor, Shape, SplitMix64};

/// An op at one shape.
#[derive(Clone, Debug)]
pub enum Op {
    Conv2d(Conv2dParams),
    MaxPool2d(Pool2dParams),
    AvgPool2d(Pool2dParams),
    Lrn(LrnParams),
    Linear(LinearParams),
    Relu(Shape),
    Tanh(Shape),
    Dropout(DropoutParams),
    SoftmaxCrossEntropy(SoftmaxCrossEntropyParams),
    Topk(TopkParams),
    Sgd(SgdParams),
}

impl Op {
    /// The op stem of kernel names.
    pub fn stem(&self) -> &'static str {
        match self {
            Op::Conv2d(_) => "conv2d",
            Op::MaxPool2d(_) => "max_pool2d",
            Op::AvgPool2d(_) => "avg_pool2d",
            Op::Lrn(_) => "lrn",
            Op::Linear(_) => "linear",
            Op::Relu(_) => "relu",
            Op::Tanh(_) => "tanh",
            Op::Dropout(_) => "dropout",
            Op::SoftmaxCrossEntropy(_) => "softmax_cross_entropy",
            Op::Topk(_) => "topk",
            Op::Sgd(_) => "sgd",
        }
    }

    /// The passes this op has.
    pub fn passes(&self) -> Vec<Pass> {
        use Pass::*;
        match self {
            Op::Conv2d(p) if p.bias => vec![Forward, BackwardInput, BackwardWeight, BackwardBias],
            Op::Linear(p) if p.bias => vec![Forward, BackwardInput, BackwardWeight, BackwardBias],
            Op::Conv2d(_) | Op::Linear(_) => vec![Forward, BackwardInput, BackwardWeight],
            Op::Topk(_) | Op::Sgd(_) => vec![Update],
            _ => vec![Forward, BackwardInput],
        }
    }

    /// The kernel that runs `pass` (`conv2d_backward_weight`, `topk_accumulate`, `sgd_update`).
    pub fn kernel(&self, pass: Pass) -> String {
        match (self, pass) {
            (Op::Topk(_), _) => "topk_accumulate".into(),
            (Op::Sgd(_), _) => "sgd_update".into(),
            _ => format!("{}_{}", self.stem(), pass.name()),
        }
    }

    /// Floating-point work of a pass, for the benchmark's GFLOP/s.
    pub fn flops(&self, pass: Pass) -> u64 {
        match self {
            Op::Conv2d(p) => p.flops(pass),
            Op::Linear(p) => p.flops(pass),
            Op::MaxPool2d(p) | Op::AvgPool2d(p) => p.flops(),
            Op::Lrn(p) => p.flops(),
            Op::Relu(s) | Op::Tanh(s) => s.numel() as u64,
            Op::Dropout(p) => p.len as u64,
            Op::SoftmaxCrossEntropy(p) => (3 * p.batch * p.classes) as u64,
            Op::Topk(p) => (p.batch * p.classes) as u64,
            Op::Sgd(p) => 6 * p.len as u64,
        }
    }
}

/// A named op at one shape.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub op: Op,
    /// Inputs drawn from a coarse grid, so that max-pool windows and top-k logits hold ties.
    pub ties: bool,
}

fn case(name: &str, op: Op) -> Case {
    Case {
        name: name.into(),
        op,
        ties: false,
    }
}

#[allow(clippy::too_many_arguments)] // a row of the case table
fn conv(
    batch: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: usize,
    groups: usize,
) -> Op {
    Op::Conv2d(Conv2dParams {
        batch,
        in_channels: cin,
        in_h: h,
        in_w: w,
        out_channels: cout,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding,
        groups,
        bias: true,
    })
}

fn pool(
    batch: usize,
    c: usize,
    h: usize,
    w: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Pool2dParams {
    Pool2dParams {
        batch,
        channels: c,
        in_h: h,
        in_w: w,
        kernel,
        stride,
        padding,
    }
}

fn linear(batch: usize, i: usize, o: usize, bias: bool) -> Op {
    Op::Linear(LinearParams {
        batch,
        in_features: i,
        out_features: o,
        bias,
    })
}

/// The LeNet-5 layers at batch 4.
pub fn lenet5_cases() -> Vec<Case> {
    lenet5_layers(4)
}

/// The LeNet-5 layers at batch `b`.
pub fn lenet5_layers(b: usize) -> Vec<Case> {
    vec![
        case("lenet5_conv1", conv(b, 1, 32, 32, 6, 5, 1, 0, 1)),
        case("lenet5_tanh1", Op::Tanh(Shape::new(&[b, 6, 28, 28]))),
        case("lenet5_pool1", Op::AvgPool2d(pool(b, 6, 28, 28, 2, 2, 0))),
        case("lenet5_conv2", conv(b, 6, 14, 14, 16, 5, 1, 0, 1)),
        case("lenet5_tanh2", Op::Tanh(Shape::new(&[b, 16, 10, 10]))),
        case("lenet5_pool2", Op::AvgPool2d(pool(b, 16, 10, 10, 2, 2, 0))),
        case("lenet5_conv3", conv(b, 16, 5, 5, 120, 5, 1, 0, 1)),
        case("lenet5_fc1", linear(b, 120, 84, true)),
        case("lenet5_tanh4", Op::Tanh(Shape::new(&[b, 84]))),
        case("lenet5_fc2", linear(b, 84, 10, true)),
        case(
            "lenet5_loss",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams::mean(b, 10)),
        ),
        case(
            "lenet5_topk",
            Op::Topk(TopkParams {
                batch: b,
                classes: 10,
                ks: vec![1, 5],
            }),
        ),
        case(
            "lenet5_sgd_conv2",
            Op::Sgd(SgdParams {
                len: 16 * 6 * 25,
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 0.0,
                nesterov: false,
                grad_scale: 1.0,
            }),
        ),
    ]
}

/// The AlexNet layers at batch 2 (single tower, and the paper's two towers where it had them).
pub fn alexnet_cases() -> Vec<Case> {
    alexnet_layers(2)
}

/// The AlexNet layers at batch `b`.
pub fn alexnet_layers(b: usize) -> Vec<Case> {
    vec![
        case("alexnet_conv1", conv(b, 3, 227, 227, 96, 11, 4, 0, 1)),
        case("alexnet_relu1", Op::Relu(Shape::new(&[b, 96, 55, 55]))),
        case("alexnet_lrn1", Op::Lrn(LrnParams::alexnet(b, 96, 55, 55))),
        case("alexnet_pool1", Op::MaxPool2d(pool(b, 96, 55, 55, 3, 2, 0))),
        case("alexnet_conv2", conv(b, 96, 27, 27, 256, 5, 1, 2, 1)),
        case("alexnet_conv2_g2", conv(b, 96, 27, 27, 256, 5, 1, 2, 2)),
        case("alexnet_lrn2", Op::Lrn(LrnParams::alexnet(b, 256, 27, 27))),
        case(
            "alexnet_pool2",
            Op::MaxPool2d(pool(b, 256, 27, 27, 3, 2, 0)),
        ),
        case("alexnet_conv3", conv(b, 256, 13, 13, 384, 3, 1, 1, 1)),
        case("alexnet_conv4", conv(b, 384, 13, 13, 384, 3, 1, 1, 1)),
        case("alexnet_conv4_g2", conv(b, 384, 13, 13, 384, 3, 1, 1, 2)),
        case("alexnet_conv5", conv(b, 384, 13, 13, 256, 3, 1, 1, 1)),
        case("alexnet_conv5_g2", conv(b, 384, 13, 13, 256, 3, 1, 1, 2)),
        case(
            "alexnet_pool5",
            Op::MaxPool2d(pool(b, 256, 13, 13, 3, 2, 0)),
        ),
        case("alexnet_fc6", linear(b, 9216, 4096, true)),
        case("alexnet_relu6", Op::Relu(Shape::new(&[b, 4096]))),
        case(
            "alexnet_dropout6",
            Op::Dropout(DropoutParams {
                len: b * 4096,
                p: 0.5,
                seed: 42,
                step: 7,
            }),
        ),
        case("alexnet_fc7", linear(b, 4096, 4096, true)),
        case("alexnet_fc8", linear(b, 4096, 10, true)),
        case(
            "alexnet_loss",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams::mean(b, 10)),
        ),
        case(
            "alexnet_topk",
            Op::Topk(TopkParams {
                batch: b,
                classes: 10,
                ks: vec![1, 5],
            }),
        ),
        case(
            "alexnet_sgd_fc7",
            Op::Sgd(SgdParams {
                len: 4096 * 4096,
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: false,
                grad_scale: 1.0,
            }),
        ),
    ]
}

/// Edge cases: batch 1, odd sizes, padding, stride, groups, rectangular kernels, overlapping
/// and edge-hanging pool windows, ties, even LRN windows, Nesterov.
pub fn edge_cases() -> Vec<Case> {
    let mut rect = Conv2dParams {
        batch: 3,
        in_channels: 6,
        in_h: 11,
        in_w: 8,
        out_channels: 9,
        kernel_h: 3,
        kernel_w: 5,
        stride: 1,
        padding: 2,
        groups: 3,
        bias: false,
    };
    let mut cases = vec![
        case("conv_b1_odd_stride2_pad1", conv(1, 3, 7, 9, 5, 3, 2, 1, 1)),
        case("conv_groups3_rect_nobias", Op::Conv2d(rect)),
        case("conv_1x1", conv(2, 8, 5, 5, 4, 1, 1, 0, 1)),
        case("conv_stride3_pad2", conv(2, 2, 13, 10, 3, 4, 3, 2, 1)),
        case("conv_many_channels_b1", conv(1, 70, 6, 6, 67, 3, 1, 1, 1)),
        case(
            "maxpool_overlap_pad_b1",
            Op::MaxPool2d(pool(1, 3, 7, 7, 3, 2, 1)),
        ),
        case(
            "maxpool_odd_hang",
            Op::MaxPool2d(pool(2, 2, 10, 9, 3, 3, 0)),
        ),
        Case {
            name: "maxpool_ties".into(),
            op: Op::MaxPool2d(pool(2, 3, 9, 9, 3, 2, 1)),
            ties: true,
        },
        case(
            "avgpool_overlap_pad",
            Op::AvgPool2d(pool(2, 3, 9, 6, 3, 2, 1)),
        ),
        case(
            "avgpool_b1_hang",
            Op::AvgPool2d(pool(1, 2, 10, 10, 3, 3, 0)),
        ),
        case(
            "lrn_size3_odd",
            Op::Lrn(LrnParams {
                batch: 1,
                channels: 7,
                h: 5,
                w: 3,
                size: 3,
                alpha: 0.01,
                beta: 0.75,
                k: 1.0,
            }),
        ),
        case(
            "lrn_size4_even",
            Op::Lrn(LrnParams {
                batch: 2,
                channels: 6,
                h: 3,
                w: 3,
                size: 4,
                alpha: 0.5,
                beta: 0.6,
                k: 2.0,
            }),
        ),
        case("linear_b1_odd_nobias", linear(1, 7, 13, false)),
        case("linear_odd", linear(3, 65, 67, true)),
        case("relu_odd", Op::Relu(Shape::new(&[1001]))),
        case("tanh_odd", Op::Tanh(Shape::new(&[3, 7, 11]))),
        case(
            "dropout_odd",
            Op::Dropout(DropoutParams {
                len: 999,
                p: 0.3,
                seed: 1,
                step: 123_456,
            }),
        ),
        case(
            "sce_odd",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams {
                batch: 3,
                classes: 7,
                grad_scale: 0.25,
            }),
        ),
        case(
            "sce_b1",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams::mean(1, 1000)),
        ),
        Case {
            name: "topk_ties".into(),
            op: Op::Topk(TopkParams {
                batch: 9,
                classes: 7,
                ks: vec![1, 3, 5, 7],
            }),
            ties: true,
        },
        case(
            "sgd_nesterov_wd",
            Op::Sgd(SgdParams {
                len: 1001,
                lr: 0.05,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: true,
                grad_scale: 1.0 / 128.0,
            }),
        ),
    ];
    rect.bias = true;
    rect.groups = 1;
    cases.push(case("conv_rect_bias", Op::Conv2d(rect)));
    cases
}

/// Every case of the parity table.
pub fn all_cases() -> Vec<Case> {
    let mut v = lenet5_cases();
    v.extend(alexnet_cases());
    v.extend(edge_cases());
    v
}

/// Named inputs of one pass (floats already rounded to f16) and integer inputs.
pub struct Inputs {
    pub floats: Vec<HostTensor>,
    pub ints: Vec<Vec<u32>>,
}

/// One output of a pass.
#[derive(Clone, Debug)]
pub struct Output {
    pub name: &'static str,
    pub shape: Shape,
    pub dtype: DType,
    pub floats: Vec<f32>,
    pub ints: Vec<u32>,
}

fn seed_of(name: &str, pass: Pass) -> u64 {
    name.bytes()
        .chain(pass.name().bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
}

/// Draws the inputs of `case`'s `pass`, scaled so that outputs are of order 1.
pub fn make_inputs(case: &Case, pass: Pass) -> Inputs {
    let mut rng = SplitMix64(seed_of(&case.name, pass));
    let mut draw = |shape: Shape, scale: f32| -> HostTensor {
        let mut data = rng.uniform_vec(shape.numel(), -scale, scale);
        if case.ties {
            for v in &mut data {
                *v = (*v * 4.0 / scale).round() / 4.0 * scale;
            }
        }
        round_to_f16(&mut data);
        HostTensor { shape, data }
    };
    let s = |n: usize| (3.0 / n.max(1) as f32).sqrt();
    let mut ints = Vec::new();
    let floats = match &case.op {
        Op::Conv2d(p) => {
            let fan_in = p.in_channels / p.groups * p.kernel_h * p.kernel_w;
            let reduction = p.batch * p.out_h() * p.out_w();
            match pass {
                Pass::Forward => vec![
                    draw(p.input_shape(), 1.0),
                    draw(p.weight_shape(), s(fan_in)),
                    draw(p.bias_shape(), 1.0),
                ],
                Pass::BackwardInput => vec![
                    draw(p.output_shape(), 1.0),
                    draw(p.weight_shape(), s(fan_in)),
                ],
                Pass::BackwardWeight => vec![
                    draw(p.output_shape(), s(reduction)),
                    draw(p.input_shape(), 1.0),
                ],
                _ => vec![draw(p.output_shape(), s(reduction))],
            }
        }
        Op::Linear(p) => match pass {
            Pass::Forward => vec![
                draw(p.input_shape(), 1.0),
                draw(p.weight_shape(), s(p.in_features)),
                draw(p.bias_shape(), 1.0),
            ],
            Pass::BackwardInput => vec![
                draw(p.output_shape(), 1.0),
                draw(p.weight_shape(), s(p.out_features)),
            ],
            Pass::BackwardWeight => vec![
                draw(p.output_shape(), s(p.batch)),
                draw(p.input_shape(), 1.0),
            ],
            _ => vec![draw(p.output_shape(), s(p.batch))],
        },
        Op::MaxPool2d(p) | Op::AvgPool2d(p) => match pass {
            Pass::Forward => vec![draw(p.input_shape(), 1.0)],
            _ => {
                // The backward pass needs the forward indices: both backends get the CPU's.
                let x = draw(p.input_shape(), 1.0);
                let (_, idx) = crate::cpu::pool2d::max_forward(p, &x.data);
                ints.push(idx);
                vec![draw(p.output_shape(), 1.0)]
            }
        },
        Op::Lrn(p) => match pass {
            // Large activations make the normalisation matter (ReLU outputs of order 10).
            Pass::Forward => vec![draw(p.shape(), 10.0)],
            _ => vec![draw(p.shape(), 10.0), draw(p.shape(), 1.0)],
        },
        Op::Relu(shape) | Op::Tanh(shape) => match pass {
            Pass::Forward => vec![draw(shape.clone(), 2.0)],
            _ => {
                let x = draw(shape.clone(), 2.0);
                let first = if matches!(case.op, Op::Tanh(_)) {
                    let mut y = x.clone();
                    y.data.iter_mut().for_each(|v| *v = v.tanh());
                    round_to_f16(&mut y.data);
                    y
                } else {
                    x
                };
                vec![first, draw(shape.clone(), 1.0)]
            }
        },
        Op::Dropout(p) => vec![draw(Shape::new(&[p.len]), 1.0)],
        Op::SoftmaxCrossEntropy(p) => {
            ints.push(
                (0..p.batch)
                    .map(|n| ((n * 7 + 3) % p.classes) as u32)
                    .collect(),
            );
            vec![draw(Shape::new(&[p.batch, p.classes]), 8.0)]
        }
        Op::Topk(p) => {
            ints.push(
                (0..p.batch)
                    .map(|n| ((n * 5 + 1) % p.classes) as u32)
                    .collect(),
            );
            vec![draw(Shape::new(&[p.batch, p.classes]), 2.0)]
        }
        Op::Sgd(p) => {
            let shape = Shape::new(&[p.len]);
            vec![
                draw(shape.clone(), 1.0),
                draw(shape.clone(), 0.5),
                draw(shape, 0.1),
            ]
        }
    };
    Inputs { floats, ints }
}

/// The tensors of one pass on one backend: inputs uploaded, outputs allocated, ready to run
/// any number of times (the benchmark times [`Prepared::run`] alone).
pub struct Prepared<B: Backend> {
    op: Op,
    pass: Pass,
    floats: Vec<B::Tensor>,
    ints: Vec<B::Tensor>,
    /// Outputs: name, tensor, stored type.
    outputs: Vec<(&'static str, B::Tensor, DType)>,
}

/// The outputs of each op pass and the type each is stored in (`main` is the pass's dtype).
fn output_specs(op: &Op, pass: Pass, main: DType) -> Vec<(&'static str, Shape, DType)> {
    let f32 = DType::F32;
    match (op, pass) {
        (Op::Conv2d(p), Pass::Forward) => vec![("y", p.output_shape(), main)],
        (Op::Conv2d(p), Pass::BackwardInput) => vec![("dx", p.input_shape(), main)],
        (Op::Conv2d(p), Pass::BackwardWeight) => vec![("dw", p.weight_shape(), main)],
        (Op::Conv2d(p), _) => vec![("db", p.bias_shape(), main)],
        (Op::Linear(p), Pass::Forward) => vec![("y", p.output_shape(), main)],
        (Op::Linear(p), Pass::BackwardInput) => vec![("dx", p.input_shape(), main)],
        (Op::Linear(p), Pass::BackwardWeight) => vec![("dw", p.weight_shape(), main)],
        (Op::Linear(p), _) => vec![("db", p.bias_shape(), main)],
        (Op::MaxPool2d(p), Pass::Forward) => {
            vec![
                ("y", p.output_shape(), main),
                ("indices", p.output_shape(), DType::U32),
            ]
        }
        (Op::AvgPool2d(p), Pass::Forward) => vec![("y", p.output_shape(), main)],
        (Op::MaxPool2d(p) | Op::AvgPool2d(p), _) => vec![("dx", p.input_shape(), main)],
        (Op::Lrn(p), Pass::Forward) => vec![("y", p.shape(), main)],
        (Op::Lrn(p), _) => vec![("dx", p.shape(), main)],
        (Op::Relu(s) | Op::Tanh(s), Pass::Forward) => vec![("y", s.clone(), main)],
        (Op::Relu(s) | Op::Tanh(s), _) => vec![("dx", s.clone(), main)],
        (Op::Dropout(p), Pass::Forward) => vec![("y", Shape::new(&[p.len]), main)],
        (Op::Dropout(p), _) => vec![("dx", Shape::new(&[p.len]), main)],
        (Op::SoftmaxCrossEntropy(p), Pass::Forward) => {
            vec![("losses", Shape::new(&[p.batch]), f32)]
        }
        (Op::SoftmaxCrossEntropy(p), _) => {
            vec![("dlogits", Shape::new(&[p.batch, p.classes]), main)]
        }
        (Op::Topk(p), _) => vec![("counts", Shape::new(&[p.ks.len()]), DType::U32)],
        (Op::Sgd(p), _) => {
            let s = Shape::new(&[p.len]);
            vec![
                ("w", s.clone(), f32),
                ("velocity", s.clone(), f32),
                ("w_copy", s, main),
            ]
        }
    }
}

impl<B: Backend> Prepared<B> {
    /// Uploads the inputs as `dtype` and fills the outputs with NaN (the top-k counts, which
    /// accumulate, with 5; the SGD state with its inputs).
    pub fn new(b: &B, case: &Case, pass: Pass, inputs: &Inputs, dtype: DType) -> Result<Self> {
        let mut floats = Vec::new();
        for t in &inputs.floats {
            floats.push(b.upload(t, dtype)?);
        }
        let mut ints = Vec::new();
        for (i, v) in inputs.ints.iter().enumerate() {
            let shape = match (&case.op, i) {
                (Op::MaxPool2d(p) | Op::AvgPool2d(p), _) => p.output_shape(),
                _ => Shape::new(&[v.len()]),
            };
            ints.push(b.upload_u32(shape, v)?);
        }
        let mut outputs = Vec::new();
        for (name, shape, dt) in output_specs(&case.op, pass, dtype) {
            let t = match name {
                "counts" => b.full(shape, dt, 5.0)?,
                "w" => b.upload(&inputs.floats[1], DType::F32)?,
                "velocity" => b.upload(&inputs.floats[2], DType::F32)?,
                _ => b.full(shape, dt, f32::NAN)?,
            };
            outputs.push((name, t, dt));
        }
        Ok(Prepared {
            op: case.op.clone(),
            pass,
            floats,
            ints,
            outputs,
        })
    }

    /// Records the pass (on the GPU: nothing runs until a sync or download).
    pub fn run(&mut self, b: &B) -> Result<()> {
        let f = &self.floats;
        let mut outs = self.outputs.iter_mut().map(|(_, t, _)| t);
        let mut out = || outs.next().expect("output_specs lists every output");
        match (&self.op, self.pass) {
            (Op::Conv2d(p), Pass::Forward) => b.conv2d_forward(p, &f[0], &f[1], Some(&f[2]), out()),
            (Op::Conv2d(p), Pass::BackwardInput) => b.conv2d_backward_input(p, &f[0], &f[1], out()),
            (Op::Conv2d(p), Pass::BackwardWeight) => {
                b.conv2d_backward_weight(p, &f[0], &f[1], out())
            }
            (Op::Conv2d(p), _) => b.conv2d_backward_bias(p, &f[0], out()),
            (Op::Linear(p), Pass::Forward) => {
                b.linear_forward(p, &f[0], &f[1], p.bias.then_some(&f[2]), out())
            }
            (Op::Linear(p), Pass::BackwardInput) => b.linear_backward_input(p, &f[0], &f[1], out()),
            (Op::Linear(p), Pass::BackwardWeight) => {
                b.linear_backward_weight(p, &f[0], &f[1], out())
            }
            (Op::Linear(p), _) => b.linear_backward_bias(p, &f[0], out()),
            (Op::MaxPool2d(p), Pass::Forward) => {
                let y = out();
                b.max_pool2d_forward(p, &f[0], y, out())
            }
            (Op::MaxPool2d(p), _) => b.max_pool2d_backward_input(p, &f[0], &self.ints[0], out()),
            (Op::AvgPool2d(p), Pass::Forward) => b.avg_pool2d_forward(p, &f[0], out()),
            (Op::AvgPool2d(p), _) => b.avg_pool2d_backward_input(p, &f[0], out()),
            (Op::Lrn(p), Pass::Forward) => b.lrn_forward(p, &f[0], out()),
            (Op::Lrn(p), _) => b.lrn_backward_input(p, &f[0], &f[1], out()),
            (Op::Relu(_), Pass::Forward) => b.relu_forward(&f[0], out()),
            (Op::Relu(_), _) => b.relu_backward_input(&f[0], &f[1], out()),
            (Op::Tanh(_), Pass::Forward) => b.tanh_forward(&f[0], out()),
            (Op::Tanh(_), _) => b.tanh_backward_input(&f[0], &f[1], out()),
            (Op::Dropout(p), Pass::Forward) => b.dropout_forward(p, &f[0], out()),
            (Op::Dropout(p), _) => b.dropout_backward_input(p, &f[0], out()),
            (Op::SoftmaxCrossEntropy(p), Pass::Forward) => {
                b.softmax_cross_entropy_forward(p, &f[0], &self.ints[0], out())
            }
            (Op::SoftmaxCrossEntropy(p), _) => {
                b.softmax_cross_entropy_backward_input(p, &f[0], &self.ints[0], None, out())
            }
            (Op::Topk(p), _) => b.topk_accumulate(p, &f[0], &self.ints[0], out()),
            (Op::Sgd(p), _) => {
                let (w, v, copy) = (out(), out(), out());
                b.sgd_update(p, &f[0], w, v, Some(copy), None)
            }
        }
    }

    /// Downloads every output.
    pub fn outputs(&self, b: &B) -> Result<Vec<Output>> {
        self.outputs
            .iter()
            .map(|(name, t, dtype)| {
                if *dtype == DType::U32 {
                    let ints = b.download_u32(t)?;
                    let shape = Shape::new(&[ints.len()]);
                    return Ok(Output {
                        name,
                        shape,
                        dtype: DType::U32,
                        floats: vec![],
                        ints,
                    });
                }
                let host = b.download(t)?;
                Ok(Output {
                    name,
                    shape: host.shape,
                    dtype: *dtype,
                    floats: host.data,
                    ints: vec![],
                })
            })
            .collect()
    }
}

/// Runs one pass once on any backend and returns its outputs (see [`Prepared`]).
pub fn execute<B: Backend>(
    b: &B,
    case: &Case,
    pass: Pass,
    inputs: &Inputs,
    dtype: DType,
) -> Result<Vec<Output>> {
    let mut prepared = Prepared::new(b, case, pass, inputs, dtype)?;
    prepared.run(b)?;
    prepared.outputs(b)
}

/// Tolerances: `|got - want| <= abs + rel * |want|`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub abs: f32,
    pub rel: f32,
}

impl Tolerance {
    /// f32 storage, f32 accumulation against an f64 reference.
    pub const F32: Tolerance = Tolerance {
        abs: 1e-4,
        rel: 1e-4,
    };
    /// f16 storage: the output's own rounding is 2^-11 relative; 4x that covers the f16
    /// intermediate of chunked accumulation.
    pub const F16: Tolerance = Tolerance {
        abs: 2e-3,
        rel: 2e-3,
    };

    pub fn for_dtype(dtype: DType) -> Self {
        if dtype == DType::F16 {
            Self::F16
        } else {
            Self::F32
        }
    }
}

/// The comparison of one output.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub output: &'static str,
    /// Largest |got - want| (integers: number of mismatches).
    pub max_err: f64,
    /// Largest error as a fraction of the allowed error (> 1 fails).
    pub worst_ratio: f64,
    pub failures: usize,
    /// Human-readable detail of the worst element and the first mismatches.
    pub detail: String,
}

/// The result of one case, pass and variant.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub case: String,
    pub kernel: String,
    pub variant: Storage,
    pub comparisons: Vec<Comparison>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.comparisons.iter().all(|c| c.failures == 0)
    }
    pub fn max_err(&self) -> f64 {
        self.comparisons
            .iter()
            .map(|c| c.max_err)
            .fold(0.0, f64::max)
    }
    /// One line per failing output, naming case, kernel, variant and the worst element.
    pub fn report(&self) -> String {
        self.comparisons
            .iter()
            .filter(|c| c.failures > 0)
            .map(|c| {
                format!(
                    "{} / {} / {} / {}: {}",
                    self.case,
                    self.kernel,
                    self.variant.name(),
                    c.output,
                    c.detail
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn coords(shape: &Shape, i: usize) -> String {
    let c: Vec<String> = shape.unravel(i).iter().map(|v| v.to_string()).collect();
    format!("({})", c.join(", "))
}

/// Compares one GPU output with the CPU's.
pub fn compare(got: &Output, want: &Output) -> Comparison {
    if want.dtype == DType::U32 {
        let bad: Vec<usize> = (0..want.ints.len())
            .filter(|&i| got.ints.get(i) != Some(&want.ints[i]))
            .collect();
        let detail = bad
            .iter()
            .take(5)
            .map(|&i| {
                format!(
                    "at {} got {:?} want {}",
                    coords(&want.shape, i),
                    got.ints.get(i),
                    want.ints[i]
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Comparison {
            output: want.name,
            max_err: bad.len() as f64,
            worst_ratio: if bad.is_empty() { 0.0 } else { f64::INFINITY },
            failures: bad.len() + (got.ints.len() != want.ints.len()) as usize,
            detail: format!(
                "{} of {} integers differ: {detail}",
                bad.len(),
                want.ints.len()
            ),
        };
    }
    let tol = Tolerance::for_dtype(got.dtype);
    let (mut max_err, mut worst_ratio, mut worst) = (0f64, 0f64, 0usize);
    let mut bad = Vec::new();
    for (i, (&g, &w)) in got.floats.iter().zip(&want.floats).enumerate() {
        let err = (g as f64 - w as f64).abs();
        let allowed = tol.abs as f64 + tol.rel as f64 * (w as f64).abs();
        // NaN (an unwritten output) fails: its ratio is infinite.
        let ratio = if err.is_nan() {
            f64::INFINITY
        } else {
            err / allowed
        };
        if !err.is_nan() {
            max_err = max_err.max(err);
        }
        if ratio > worst_ratio || (i == 0 && ratio.is_nan()) {
            worst_ratio = ratio;
            worst = i;
        }
        if ratio > 1.0 {
            bad.push(i);
        }
    }
    let len_mismatch = got.floats.len() != want.floats.len();
    let mut detail = format!(
        "{} of {} values out of tolerance (abs {}, rel {}); worst at {}: got {} want {}",
        bad.len(),
        want.floats.len(),
        tol.abs,
        tol.rel,
        coords(&want.shape, worst),
        got.floats.get(worst).copied().unwrap_or(f32::NAN),
        want.floats.get(worst).copied().unwrap_or(f32::NAN),
    );
    if !bad.is_empty() {
        let first: Vec<String> = bad
            .iter()
            .take(4)
            .map(|&i| {
                format!(
                    "{} got {} want {}",
                    coords(&want.shape, i),
                    got.floats[i],
                    want.floats[i]
                )
            })
            .collect();
        detail += &format!("; first: {}", first.join(", "));
    }
    if len_mismatch {
        detail += &format!("; length {} vs {}", got.floats.len(), want.floats.len());
    }
    Comparison {
        output: want.name,
        max_err,
        worst_ratio,
        failures: bad.len() + len_mismatch as usize,
        detail,
    }
}

/// The CPU reference outputs of one pass.
pub fn reference(case: &Case, pass: Pass, inputs: &Inputs) -> Result<Vec<Output>> {
    execute(&CpuBackend, case, pass, inputs, DType::F32)
}

/// Runs one pass on the GPU in `variant` and compares it with `want`.
pub fn check_variant(
    gpu: &GpuBackend,
    case: &Case,
    pass: Pass,
    inputs: &Inputs,
    want: &[Output],
    variant: Storage,
) -> Result<Outcome> {
    let dtype = match variant {
        Storage::F32 => DType::F32,
        s => {
            gpu.set_f16_storage(s)?;
            DType::F16
        }
    };
    let got = execute(gpu, case, pass, inputs, dtype)?;
    let comparisons = got.iter().zip(want).map(|(g, w)| compare(g, w)).collect();
    Ok(Outcome {
        case: case.name.clone(),
        kernel: case.op.kernel(pass),
        variant,
        comparisons,
    })
}

/// The variants an adapter can run: f32, native f16 where it has SHADER_F16, packed f16 always.
pub fn variants(gpu: &GpuBackend) -> Vec<Storage> {
    let mut v = vec![Storage::F32];
    if gpu.ctx.has_f16() {
        v.push(Storage::F16Native);
    }
    v.push(Storage::F16Packed);
    v
}

/// Runs every pass of every case whose kernel name starts with `kernel_prefix` (empty: all)
/// in every variant. Returns every outcome; the caller decides what failing means.
pub fn run(gpu: &GpuBackend, cases: &[Case], kernel_prefix: &str) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    let original = gpu.f16_storage();
    for case in cases {
        for pass in case.op.passes() {
            if !case.op.kernel(pass).starts_with(kernel_prefix) {
                continue;
            }
            let inputs = make_inputs(case, pass);
            let want = reference(case, pass, &inputs)?;
            for v in variants(gpu) {
                outcomes.push(check_variant(gpu, case, pass, &inputs, &want, v)?);
            }
        }
    }
    gpu.set_f16_storage(original)?;
    Ok(outcomes)
}
