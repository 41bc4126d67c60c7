//! The shader-vs-CPU parity harness, shared by `cnngpu check` and the tests.
//!
//! A [`Case`] is a named op at one shape (every LeNet-5 and AlexNet layer, plus edge cases).
//! For each pass of a case, inputs are drawn from a seed and rounded to f16 (so one CPU result
//! serves the f32 and both f16 variants), run on [`CpuBackend`] in f64 and on the GPU with
//! outputs pre-filled with NaN, and compared element by element:
//! `|got - want| <= abs + rel * |want|`, with f32 or f16 tolerances by the output's type.

mod cases;

pub use cases::*;

use crate::cpu::CpuBackend;
use crate::error::Result;
use crate::gpu::{GpuBackend, Storage};
use crate::ops::*;
use crate::tensor::{round_to_f16, DType, HostTensor, Shape, SplitMix64};

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
                // A folded activation's output (the pool's input) is its function of a draw.
                let mut x = draw(p.input_shape(), 1.0);
                match p.act {
                    Act::None => {}
                    Act::Relu => x.data.iter_mut().for_each(|v| *v = v.max(0.0)),
                    Act::Tanh => x.data.iter_mut().for_each(|v| *v = v.tanh()),
                }
                round_to_f16(&mut x.data);
                let (_, idx) = crate::cpu::pool2d::max_forward(p, &x.data);
                ints.push(idx);
                let dy = draw(p.output_shape(), 1.0);
                if p.act == Act::None {
                    vec![dy]
                } else {
                    vec![dy, x]
                }
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
        Op::Sgd(_, len) => {
            let shape = Shape::new(&[*len]);
            vec![
                draw(shape.clone(), 1.0),
                draw(shape.clone(), 0.5),
                draw(shape, 0.1),
            ]
        }
        Op::Add(shape) => vec![draw(shape.clone(), 1.0), draw(shape.clone(), 1.0)],
        Op::BatchNorm(p) => {
            // Inputs off centre (the mean matters); the state's running variance positive.
            let mut x = draw(p.shape(), 2.0);
            x.data.iter_mut().for_each(|v| *v += 0.5);
            round_to_f16(&mut x.data);
            let weight = draw(p.channel_shape(), 1.0);
            let bias = draw(p.channel_shape(), 1.0);
            let mut state = draw(p.state_shape(), 1.0);
            let c = p.channels;
            let rv = batch_norm::RUNNING_VAR * c;
            state.data[rv..rv + c]
                .iter_mut()
                .for_each(|v| *v = v.abs() + 0.5);
            match pass {
                Pass::Forward => vec![x, weight, bias, state],
                _ => {
                    // The backward pass reads the batch's statistics the forward pass kept.
                    let xs: Vec<f64> = x.data.iter().map(|&v| v as f64).collect();
                    let (mean, var) = crate::cpu::batch_norm::statistics(p, &xs);
                    for ch in 0..c {
                        state.data[batch_norm::BATCH_MEAN * c + ch] = mean[ch] as f32;
                        state.data[batch_norm::BATCH_INVSTD * c + ch] =
                            (1.0 / (var[ch] + p.eps as f64).sqrt()) as f32;
                    }
                    let dy = draw(p.shape(), s(p.count()));
                    vec![x, dy, weight, state]
                }
            }
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
        (Op::Add(s), Pass::Forward) => vec![("y", s.clone(), main)],
        (Op::Add(s), Pass::BackwardInput) => vec![("dx", s.clone(), main)],
        (Op::Add(s), _) => vec![("sum", s.clone(), main)],
        (Op::BatchNorm(p), Pass::Forward) => {
            vec![("y", p.shape(), main), ("state", p.state_shape(), f32)]
        }
        (Op::BatchNorm(p), _) => vec![
            ("dx", p.shape(), main),
            ("dweight", p.channel_shape(), main),
            ("dbias", p.channel_shape(), main),
            ("state", p.state_shape(), f32),
        ],
        (Op::Sgd(_, len), _) => {
            let s = Shape::new(&[*len]);
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
            // A batch-norm layer's state is F32 in every precision (see `output_specs`).
            let state = matches!(&case.op, Op::BatchNorm(p) if t.shape == p.state_shape());
            floats.push(b.upload(t, if state { DType::F32 } else { dtype })?);
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
                "sum" => b.upload(&inputs.floats[1], dtype)?,
                "state" => b.upload(&inputs.floats[3], DType::F32)?,
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
            (Op::MaxPool2d(p), _) => {
                b.max_pool2d_backward_input(p, &f[0], &self.ints[0], f.get(1), out())
            }
            (Op::AvgPool2d(p), Pass::Forward) => b.avg_pool2d_forward(p, &f[0], out()),
            (Op::AvgPool2d(p), _) => b.avg_pool2d_backward_input(p, &f[0], f.get(1), out()),
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
            (Op::Add(_), Pass::Forward) => b.add_forward(&f[0], &f[1], out()),
            (Op::Add(_), Pass::BackwardInput) => b.copy(&f[0], out()),
            (Op::Add(_), _) => b.accumulate(&f[0], out()),
            (Op::BatchNorm(p), Pass::Forward) => {
                let (y, state) = (out(), out());
                b.batch_norm_forward(p, &f[0], &f[1], &f[2], state, y)
            }
            (Op::BatchNorm(p), _) => {
                let (dx, dw, db, state) = (out(), out(), out(), out());
                b.batch_norm_backward(p, &f[0], &f[1], &f[2], state, dw, db, dx)
            }
            (Op::Sgd(p, _), _) => {
                let (w, v, copy) = (out(), out(), out());
                b.sgd_update(p, &[&f[0]], &mut [w], &mut [v], Some(&mut [copy]), None)
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

/// Whether a kernel pass exists in several kernel families (see [`crate::gpu::Family`]): the parity
/// table then runs it in each family the adapter has.
pub fn has_families(kernel: &str) -> bool {
    matches!(
        kernel,
        "conv2d_forward"
            | "conv2d_backward_input"
            | "conv2d_backward_weight"
            | "linear_forward"
            | "linear_backward_input"
            | "linear_backward_weight"
    )
}

/// Runs every pass of every case whose kernel name starts with `kernel_prefix` (empty: all)
/// in every variant, and in every kernel family for passes that have several (those
/// outcomes name the kernel `pass[family]`). Returns every outcome; the caller decides what
/// failing means.
pub fn run(gpu: &GpuBackend, cases: &[Case], kernel_prefix: &str) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    let original = (gpu.f16_storage(), gpu.family());
    for case in cases {
        for pass in case.op.passes() {
            let kernel = case.op.kernel(pass);
            if !kernel.starts_with(kernel_prefix) {
                continue;
            }
            let inputs = make_inputs(case, pass);
            let want = reference(case, pass, &inputs)?;
            let families = if has_families(&kernel) {
                gpu.families()
            } else {
                vec![original.1]
            };
            for &family in &families {
                gpu.with_family(family, || {
                    for v in variants(gpu) {
                        let mut o = check_variant(gpu, case, pass, &inputs, &want, v)?;
                        if families.len() > 1 {
                            o.kernel = format!("{}[{}]", o.kernel, family.name());
                        }
                        outcomes.push(o);
                    }
                    Ok(())
                })?;
            }
        }
    }
    gpu.set_f16_storage(original.0)?;
    Ok(outcomes)
}
