//! What every op states once, in its own module: its passes and their kernels, the tensors
//! each pass reads and writes (shapes, storage, the scale of parity inputs), its validation
//! and its FLOPs — from which the backends' argument checks, the parity harness, `check`,
//! the bench suite and the profiler's costs all derive — and how a pass runs on a backend.
//!
//! An op implements [`OpSpec`] (the description) and [`OpRun`] (one `match` on the pass that
//! calls its [`Backend`] methods), and takes one line in the [`Op`] table at the bottom.

use super::{Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::{DType, HostTensor, Shape};

/// How a tensor of a pass is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// In the pass's precision (f32, or f16 storage).
    Float,
    /// F32 in every precision (batch-norm state, master weights).
    F32,
    /// Integers (labels, max-pool indices, counters).
    U32,
}

impl Ty {
    /// The stored type when the pass runs in `float`.
    pub fn dtype(self, float: DType) -> DType {
        match self {
            Ty::Float => float,
            Ty::F32 => DType::F32,
            Ty::U32 => DType::U32,
        }
    }
}

/// What an output holds before its pass runs, for harnesses that allocate it: every element
/// is written (NaN beforehand, so an unwritten one shows), a counter the pass adds to, or
/// state updated in place (the values of input `i`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Before {
    Nan,
    Value(f32),
    Input(usize),
}

/// One tensor a pass reads or writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: &'static str,
    pub shape: Shape,
    pub ty: Ty,
    /// Parity inputs are drawn uniformly from [-scale, scale] (chosen so outputs are of order 1).
    pub scale: f32,
    /// Outputs only.
    pub before: Before,
    /// An optional argument the op's parameters do not use (a conv without bias): checks
    /// ignore it and harnesses pass nothing.
    pub present: bool,
}

impl Arg {
    /// A tensor in the pass's precision, parity inputs drawn from [-scale, scale].
    pub fn float(name: &'static str, shape: Shape, scale: f32) -> Self {
        Arg {
            name,
            shape,
            ty: Ty::Float,
            scale,
            before: Before::Nan,
            present: true,
        }
    }
    /// An output in the pass's precision, every element written.
    pub fn out(name: &'static str, shape: Shape) -> Self {
        Arg::float(name, shape, 1.0)
    }
    /// Integers (filled by the op's [`OpRun::relate`] for parity).
    pub fn ints(name: &'static str, shape: Shape) -> Self {
        Arg {
            ty: Ty::U32,
            ..Arg::float(name, shape, 1.0)
        }
    }
    pub fn ty(self, ty: Ty) -> Self {
        Arg { ty, ..self }
    }
    pub fn before(self, before: Before) -> Self {
        Arg { before, ..self }
    }
    /// Present only when `used` (an optional argument).
    pub fn when(self, used: bool) -> Self {
        Arg {
            present: used,
            ..self
        }
    }
    /// Bytes of the tensor when the pass runs with `elem`-byte floats.
    pub fn bytes(&self, elem: usize) -> u64 {
        let size = if self.ty == Ty::Float { elem } else { 4 };
        (self.shape.numel() * size) as u64
    }
}

/// The tensors of one pass, in the order its [`Backend`] method takes them.
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub inputs: Vec<Arg>,
    pub outputs: Vec<Arg>,
}

impl Signature {
    pub fn new(inputs: Vec<Arg>, outputs: Vec<Arg>) -> Self {
        Signature { inputs, outputs }
    }

    /// Compulsory traffic: every input read once, every output written once (and read first
    /// when it is updated in place).
    pub fn bytes(&self, elem: usize) -> u64 {
        let read: u64 = self
            .inputs
            .iter()
            .filter(|a| a.present)
            .map(|a| a.bytes(elem))
            .sum();
        let written: u64 = self.outputs.iter().map(|a| a.bytes(elem)).sum();
        read + written
    }

    /// The backends' argument check: each given tensor has the element count the pass needs
    /// (`len` measures one); optional inputs must be given exactly when the parameters use
    /// them and are returned as they are to be used (`None` where unused). `op` names the op
    /// in messages (`conv2d x: expected ...`).
    pub fn check<'a, T>(
        &self,
        op: &str,
        inputs: &[Option<&'a T>],
        outputs: &[&T],
        len: impl Fn(&T) -> usize,
    ) -> Result<Vec<Option<&'a T>>> {
        if inputs.len() != self.inputs.len() || outputs.len() != self.outputs.len() {
            return Err(Error::invalid(
                op,
                format!(
                    "takes {} inputs and {} outputs, got {} and {}",
                    self.inputs.len(),
                    self.outputs.len(),
                    inputs.len(),
                    outputs.len()
                ),
            ));
        }
        // Messages are formatted only on failure: this runs for every recorded pass.
        let fits = |arg: &Arg, have: usize| {
            if have == arg.shape.numel() {
                return Ok(());
            }
            super::expect_len(&format!("{op} {}", arg.name), have, &arg.shape)
        };
        let mut used = Vec::with_capacity(inputs.len());
        for (arg, t) in self.inputs.iter().zip(inputs) {
            match (arg.present, t) {
                (true, Some(t)) => {
                    fits(arg, len(t))?;
                    used.push(Some(*t));
                }
                (true, None) => {
                    return Err(Error::invalid(
                        format!("{op} {}", arg.name),
                        "the parameters use this argument but none was given",
                    ))
                }
                (false, _) => used.push(None),
            }
        }
        for (arg, t) in self.outputs.iter().zip(outputs) {
            fits(arg, len(t))?;
        }
        Ok(used)
    }
}

/// A parity input as drawn: floats (already rounded to f16), integers, or nothing (an
/// optional argument the parameters do not use).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Floats(HostTensor),
    Ints(Vec<u32>),
    Absent,
}

impl Value {
    /// The floats (panics on integers: for harness code that knows the signature).
    pub fn floats_mut(&mut self) -> &mut HostTensor {
        match self {
            Value::Floats(t) => t,
            other => panic!("expected floats, have {other:?}"),
        }
    }
}

/// Draws a tensor of a shape from [-scale, scale], rounded to f16 (see [`OpRun::relate`]).
pub type Draw<'a> = dyn FnMut(Shape, f32) -> HostTensor + 'a;

/// The description of an op at one shape.
pub trait OpSpec: std::fmt::Debug {
    /// The stem of its kernel names (`conv2d`).
    fn stem(&self) -> &'static str;
    /// The passes it has.
    fn passes(&self) -> Vec<Pass> {
        vec![Pass::Forward, Pass::BackwardInput]
    }
    /// The kernel that runs `pass` (`conv2d_backward_weight`).
    fn kernel(&self, pass: Pass) -> String {
        format!("{}_{}", self.stem(), pass.name())
    }
    fn validate(&self) -> Result<()>;
    /// Floating-point work of a pass (2 per multiply-add).
    fn flops(&self, pass: Pass) -> u64;
    /// The tensors `pass` reads and writes.
    fn signature(&self, pass: Pass) -> Signature;
    /// Compulsory bytes of `pass` with `elem`-byte floats: by default its signature's
    /// ([`Signature::bytes`]); an op that touches part of a tensor says so.
    fn bytes(&self, pass: Pass, elem: usize) -> u64 {
        self.signature(pass).bytes(elem)
    }
    /// How much work, for benchmark ids: `b64` (its batch) or `n65536` (elements).
    fn size(&self) -> String;
    /// Its parameters, for benchmark records.
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({ "op": self.stem() })
    }
}

/// How an op's passes run on a backend: `inputs` and `outputs` in the order of
/// [`OpSpec::signature`] (`None` for optional inputs left out).
pub trait OpRun {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        inputs: &[Option<&B::Tensor>],
        outputs: &mut [&mut B::Tensor],
    ) -> Result<()>;

    /// Makes independently drawn parity inputs consistent where a pass needs it: max-pool
    /// indices and batch-norm statistics from a forward pass on `reference` (the CPU), an
    /// activation's output from its input, labels in range; `draw` gives further tensors.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        _pass: Pass,
        _inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        Ok(())
    }
}

/// The parity scale for the operands of an n-long sum of products with order-1 partners:
/// uniform on [-s, s] with s = sqrt(3/n) has variance 1/n, so the sum is of order 1.
pub fn sum_scale(n: usize) -> f32 {
    (3.0 / n.max(1) as f32).sqrt()
}

/// The passes of a GEMM-shaped op (conv2d, linear): the bias gradient only with a bias.
pub fn gemm_passes(bias: bool) -> Vec<Pass> {
    let mut passes = vec![Pass::Forward, Pass::BackwardInput, Pass::BackwardWeight];
    if bias {
        passes.push(Pass::BackwardBias);
    }
    passes
}

/// Input `i` of a run, which the signature requires.
pub fn arg<'a, T>(inputs: &[Option<&'a T>], i: usize) -> Result<&'a T> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| Error::invalid("op run", format!("input {i} is required")))
}

macro_rules! op_table {
    ($($(#[$doc:meta])* $variant:ident($ty:ty),)*) => {
        /// Every op, at one shape: what the parity table, `check` and the bench suite iterate
        /// over. Each variant's type states the op in its module ([`OpSpec`], [`OpRun`]).
        #[derive(Clone, Debug)]
        pub enum Op {
            $($(#[$doc])* $variant($ty),)*
        }

        impl Op {
            /// The op's description.
            pub fn spec(&self) -> &dyn OpSpec {
                match self {
                    $(Op::$variant(o) => o,)*
                }
            }
            /// Runs `pass` on `b` (see [`OpRun`]).
            pub fn run<B: Backend>(
                &self,
                b: &B,
                pass: Pass,
                inputs: &[Option<&B::Tensor>],
                outputs: &mut [&mut B::Tensor],
            ) -> Result<()> {
                match self {
                    $(Op::$variant(o) => o.run(b, pass, inputs, outputs),)*
                }
            }
            /// See [`OpRun::relate`].
            pub fn relate<B: Backend>(
                &self,
                reference: &B,
                pass: Pass,
                inputs: &mut [Value],
                draw: &mut Draw<'_>,
            ) -> Result<()> {
                match self {
                    $(Op::$variant(o) => o.relate(reference, pass, inputs, draw),)*
                }
            }
        }

        $(impl From<$ty> for Op {
            fn from(o: $ty) -> Op {
                Op::$variant(o)
            }
        })*
    };
}

op_table! {
    Conv2d(super::Conv2dParams),
    ConvTranspose2d(super::ConvTranspose2dParams),
    MaxPool2d(super::pool2d::MaxPool2d),
    AvgPool2d(super::pool2d::AvgPool2d),
    Lrn(super::LrnParams),
    Linear(super::LinearParams),
    Relu(super::activation::Relu),
    Tanh(super::activation::Tanh),
    Dropout(super::DropoutParams),
    SoftmaxCrossEntropy(super::SoftmaxCrossEntropyParams),
    Topk(super::TopkParams),
    PixelCrossEntropy(super::PixelCrossEntropyParams),
    PixelMetrics(super::PixelMetricsParams),
    /// One parameter tensor's update.
    Sgd(super::sgd::Sgd),
    /// `add_forward`; its backward pass (`tensor_copy`) and gradient sums (`accumulate`).
    Add(super::add::Add),
    BatchNorm(super::BatchNormParams),
    /// One input of a channel concatenation.
    Concat(super::ConcatParams),
}

impl Op {
    pub fn stem(&self) -> &'static str {
        self.spec().stem()
    }
    pub fn passes(&self) -> Vec<Pass> {
        self.spec().passes()
    }
    pub fn kernel(&self, pass: Pass) -> String {
        self.spec().kernel(pass)
    }
    pub fn flops(&self, pass: Pass) -> u64 {
        self.spec().flops(pass)
    }
    pub fn signature(&self, pass: Pass) -> Signature {
        self.spec().signature(pass)
    }
    pub fn bytes(&self, pass: Pass, elem: usize) -> u64 {
        self.spec().bytes(pass, elem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Act, Conv2dParams, MaxPool2d, Pool2dParams};

    fn conv(bias: bool) -> Conv2dParams {
        Conv2dParams {
            batch: 2,
            in_channels: 3,
            in_h: 8,
            in_w: 8,
            out_channels: 4,
            kernel_h: 3,
            kernel_w: 3,
            stride: 1,
            padding: 1,
            groups: 1,
            bias,
            act: Act::None,
        }
    }

    /// Tensors stand in as their lengths.
    fn lens(op: &dyn OpSpec, pass: Pass) -> (Vec<usize>, Vec<usize>) {
        let sig = op.signature(pass);
        let n = |a: &Arg| a.shape.numel();
        (
            sig.inputs.iter().map(n).collect(),
            sig.outputs.iter().map(n).collect(),
        )
    }

    #[test]
    fn check_names_the_argument_whose_length_is_wrong() {
        let p = conv(true);
        let (ins, outs) = lens(&p, Pass::Forward);
        let given: Vec<Option<&usize>> = ins.iter().map(Some).collect();
        let outs: Vec<&usize> = outs.iter().collect();
        let sig = p.signature(Pass::Forward);
        let used = sig.check("conv2d", &given, &outs, |&n| n).unwrap();
        assert_eq!(used, given);
        let wrong = ins[1] + 1;
        let bad = [given[0], Some(&wrong), given[2]];
        let e = sig.check("conv2d", &bad, &outs, |&n| n).unwrap_err();
        assert!(e.to_string().contains("conv2d w"), "{e}");
        // The bias is required when the parameters say bias, and ignored when they do not.
        let e = sig
            .check("conv2d", &[given[0], given[1], None], &outs, |&n| n)
            .unwrap_err();
        assert!(e.to_string().contains("conv2d b"), "{e}");
        let sig = conv(false).signature(Pass::Forward);
        let used = sig.check("conv2d", &given, &outs, |&n| n).unwrap();
        assert_eq!(used[2], None);
        // So many tensors and no others.
        assert!(sig.check("conv2d", &given[..2], &outs, |&n| n).is_err());
    }

    #[test]
    fn bytes_count_every_tensor_read_and_written_once_by_its_stored_size() {
        let p = conv(true);
        let (x, w, y) = (3 * 64 * 2, 4 * 3 * 9, 4 * 64 * 2);
        let sig = p.signature(Pass::Forward);
        assert_eq!(sig.bytes(4), 4 * (x + w + 4 + y) as u64);
        assert_eq!(sig.bytes(2), 2 * (x + w + 4 + y) as u64);
        assert_eq!(
            conv(false).signature(Pass::Forward).bytes(2),
            2 * (x + w + y) as u64
        );
        // Max-pool indices are u32 in every precision.
        let pool = MaxPool2d(Pool2dParams {
            batch: 1,
            channels: 2,
            in_h: 4,
            in_w: 4,
            kernel: 2,
            stride: 2,
            padding: 0,
            act: Act::None,
            ceil_mode: false,
            adaptive: None,
        });
        assert_eq!(
            pool.signature(Pass::Forward).bytes(2),
            2 * 32 + 2 * 8 + 4 * 8
        );
        // One input of a concatenation moves its own channels only.
        let cat = Op::from(crate::ops::ConcatParams {
            batch: 2,
            channels: 3,
            total: 10,
            offset: 4,
            h: 2,
            w: 2,
        });
        assert_eq!(cat.bytes(Pass::Forward, 4), 2 * 4 * 24);
        assert_eq!(cat.bytes(Pass::BackwardInput, 2), 2 * 2 * 24);
    }

    #[test]
    fn the_table_dispatches_to_each_ops_own_description() {
        let op = Op::from(conv(true));
        assert_eq!(op.stem(), "conv2d");
        assert_eq!(op.passes().len(), 4);
        assert_eq!(op.kernel(Pass::BackwardWeight), "conv2d_backward_weight");
        assert_eq!(op.flops(Pass::Forward), conv(true).flops(Pass::Forward));
        assert_eq!(op.spec().size(), "b2");
        let add = Op::from(crate::ops::Add(Shape::new(&[2, 3])));
        assert_eq!(add.kernel(Pass::Update), "accumulate");
        assert_eq!(
            add.signature(Pass::Update).outputs[0].before,
            Before::Input(1)
        );
    }
}
