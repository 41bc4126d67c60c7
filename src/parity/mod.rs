//! The shader-vs-CPU parity harness, shared by `cnngpu check` and the tests.
//!
//! A [`Case`] is a named op at one shape (every LeNet-5 and AlexNet layer, plus edge cases).
//! For each pass of a case, inputs are drawn from a seed and rounded to f16 (so one CPU result
//! serves the f32 and both f16 variants), run on [`CpuBackend`] in f64 and on the GPU with
//! outputs pre-filled with NaN, and compared element by element:
//! `|got - want| <= abs + rel * |want|`, with f32 or f16 tolerances by the output's type.

mod cases;

pub use crate::ops::Op;
pub use cases::*;

use crate::cpu::CpuBackend;
use crate::error::Result;
use crate::gpu::kernels::Gemm;
use crate::gpu::{Family, GpuBackend, Storage};
use crate::ops::spec::{Before, Ty, Value};
use crate::ops::*;
use crate::tensor::{round_to_f16, DType, HostTensor, Shape, SplitMix64};

/// The inputs of one pass, in the order of its signature (floats already rounded to f16).
#[derive(Clone, Debug)]
pub struct Inputs {
    pub values: Vec<Value>,
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

/// Draws the inputs of `case`'s `pass` at the scales its signature gives, then lets the op
/// relate them (see [`OpRun::relate`]; the CPU reference computes what a forward pass would).
pub fn make_inputs(case: &Case, pass: Pass) -> Result<Inputs> {
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
    let mut values: Vec<Value> = case
        .op
        .signature(pass)
        .inputs
        .into_iter()
        .map(|arg| match (arg.present, arg.ty) {
            (false, _) => Value::Absent,
            (true, Ty::U32) => Value::Ints(vec![0; arg.shape.numel()]),
            (true, _) => Value::Floats(draw(arg.shape, arg.scale)),
        })
        .collect();
    case.op.relate(&CpuBackend, pass, &mut values, &mut draw)?;
    Ok(Inputs { values })
}

/// The tensors of one pass on one backend: inputs uploaded, outputs allocated, ready to run
/// any number of times (the benchmark times [`Prepared::run`] alone).
pub struct Prepared<B: Backend> {
    op: Op,
    pass: Pass,
    inputs: Vec<Option<B::Tensor>>,
    /// Outputs: name, tensor, stored type.
    outputs: Vec<(&'static str, B::Tensor, DType)>,
}

impl<B: Backend> Prepared<B> {
    /// Uploads the inputs in the types the signature gives (`dtype` for the pass's floats)
    /// and fills the outputs as it says: NaN where every element is written, a start value
    /// for counters, an input's values for state updated in place.
    pub fn new(b: &B, case: &Case, pass: Pass, inputs: &Inputs, dtype: DType) -> Result<Self> {
        let sig = case.op.signature(pass);
        let mut uploaded = Vec::new();
        for (arg, v) in sig.inputs.iter().zip(&inputs.values) {
            uploaded.push(match v {
                Value::Floats(t) => Some(b.upload(t, arg.ty.dtype(dtype))?),
                Value::Ints(v) => Some(b.upload_u32(arg.shape.clone(), v)?),
                Value::Absent => None,
            });
        }
        let mut outputs = Vec::new();
        for arg in sig.outputs {
            let dt = arg.ty.dtype(dtype);
            let t = match arg.before {
                Before::Nan => b.full(arg.shape, dt, f32::NAN)?,
                Before::Value(v) => b.full(arg.shape, dt, v)?,
                Before::Input(i) => match &inputs.values[i] {
                    Value::Floats(t) => b.upload(t, dt)?,
                    _ => b.full(arg.shape, dt, f32::NAN)?,
                },
            };
            outputs.push((arg.name, t, dt));
        }
        Ok(Prepared {
            op: case.op.clone(),
            pass,
            inputs: uploaded,
            outputs,
        })
    }

    /// Records the pass (on the GPU: nothing runs until a sync or download).
    pub fn run(&mut self, b: &B) -> Result<()> {
        let inputs: Vec<Option<&B::Tensor>> = self.inputs.iter().map(Option::as_ref).collect();
        let mut outputs: Vec<&mut B::Tensor> = self.outputs.iter_mut().map(|(_, t, _)| t).collect();
        self.op.run(b, self.pass, &inputs, &mut outputs)
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
            | "conv_transpose2d_forward"
            | "conv_transpose2d_backward_input"
            | "conv_transpose2d_backward_weight"
    )
}

/// The adapter's families, less the wide subgroup family where it runs as the subgroup one
/// (below [`crate::gpu::kernels::WIDE_MIN_FLOPS`]: the same kernels, checked once).
pub fn distinct_families(gpu: &GpuBackend, op: &Op) -> Vec<Family> {
    // A transposed convolution runs the passes of the convolution it transposes.
    let gemm = match op {
        Op::ConvTranspose2d(p) => Some(Gemm::Conv2d(p.dual())),
        op => Gemm::of(op),
    };
    let Some(gemm) = gemm else {
        return gpu.families();
    };
    gpu.families()
        .into_iter()
        .filter(|&f| f != Family::SubgroupWide || gemm.runs(f) == f)
        .collect()
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
            let inputs = make_inputs(case, pass)?;
            let want = reference(case, pass, &inputs)?;
            let families = if has_families(&kernel) {
                distinct_families(gpu, &case.op)
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
