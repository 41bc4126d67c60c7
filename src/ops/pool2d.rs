//! max_pool2d and avg_pool2d: shapes, validation, costs and their shared uniform.

use super::spec::{arg, Arg, Draw, OpRun, OpSpec, Signature, Value};
use super::{positive, u32_of, Act, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::{DType, Shape};

/// A square pooling window over NCHW tensors (floor output size, like PyTorch's default).
/// Windows may overlap (kernel > stride) and hang off the edge into the padding; max pooling
/// treats padding as -inf, average pooling as 0 counted in the divisor (count_include_pad).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    pub batch: usize,
    pub channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    /// The activation whose output is this pool's input, when its backward pass is folded
    /// into the pool's: backward_input then also multiplies by the activation's derivative,
    /// read from that output (the pool's forward input). Forward ignores it.
    pub act: Act,
    /// PyTorch's `ceil_mode`: the output size rounds up, so a last window may hang past the
    /// padded input (never starting in the right padding); max pooling only.
    pub ceil_mode: bool,
    /// `Some(s)`: PyTorch's `adaptive_avg_pool2d` to s x s — output o averages input rows
    /// floor(o*H/s) to ceil((o+1)*H/s) (exclusive; the same for columns), windows that may
    /// overlap or repeat rows, each divided by its own size; kernel, stride and padding are
    /// unused. Average pooling only.
    pub adaptive: Option<usize>,
}

/// The input rows (or columns) `[start, end)` that adaptive pooling's output `o` of `out`
/// averages over an input of `len`.
pub fn adaptive_window(o: usize, len: usize, out: usize) -> (usize, usize) {
    (o * len / out, ((o + 1) * len).div_ceil(out))
}

/// Mirror of `Pool2dUniform` in shaders/common/pool2d_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Pool2dUniform {
    pub batch: u32,
    pub channels: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub kernel: u32,
    pub stride: u32,
    pub padding: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

impl Pool2dParams {
    pub fn out_h(&self) -> usize {
        self.out_len(self.in_h)
    }
    pub fn out_w(&self) -> usize {
        self.out_len(self.in_w)
    }
    /// PyTorch's formula: floor (or with `ceil_mode`, ceil) of (len + 2p - k) / s, plus one;
    /// in ceil mode a last window that would start in the right padding is dropped.
    fn out_len(&self, len: usize) -> usize {
        if let Some(s) = self.adaptive {
            return s;
        }
        let span = len + 2 * self.padding - self.kernel;
        if !self.ceil_mode {
            return span / self.stride + 1;
        }
        let out = span.div_ceil(self.stride) + 1;
        if (out - 1) * self.stride >= len + self.padding {
            out - 1
        } else {
            out
        }
    }
    pub fn input_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.in_h, self.in_w])
    }
    pub fn output_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.out_h(), self.out_w()])
    }

    pub fn validate(&self) -> Result<()> {
        positive("pool batch", self.batch)?;
        positive("pool channels", self.channels)?;
        positive("pool kernel", self.kernel)?;
        positive("pool stride", self.stride)?;
        if let Some(s) = self.adaptive {
            positive("adaptive pool output size", s)?;
            if self.ceil_mode {
                return Err(Error::invalid("adaptive pool", "has no ceil mode"));
            }
            return u32_of("pool input size", self.input_shape().numel()).map(|_| ());
        }
        if 2 * self.padding > self.kernel {
            return Err(Error::invalid(
                "pool padding",
                format!(
                    "{} is more than half the kernel {}",
                    self.padding, self.kernel
                ),
            ));
        }
        if self.in_h + 2 * self.padding < self.kernel || self.in_w + 2 * self.padding < self.kernel
        {
            return Err(Error::invalid(
                "pool kernel",
                format!(
                    "{} is larger than the padded {}x{} input",
                    self.kernel,
                    self.in_h + 2 * self.padding,
                    self.in_w + 2 * self.padding
                ),
            ));
        }
        u32_of("pool input size", self.input_shape().numel())?;
        Ok(())
    }

    /// Comparisons or adds of the forward pass.
    pub fn flops(&self) -> u64 {
        let Some(s) = self.adaptive else {
            return (self.output_shape().numel() * self.kernel * self.kernel) as u64;
        };
        // Every window's own area: the row spans times the column spans.
        let spans = |len: usize| -> usize {
            (0..s)
                .map(|o| adaptive_window(o, len, s))
                .map(|(a, b)| b - a)
                .sum()
        };
        (self.batch * self.channels * spans(self.in_h) * spans(self.in_w)) as u64
    }

    pub fn uniform(&self, batch: usize) -> Pool2dUniform {
        Pool2dUniform {
            batch: batch as u32,
            channels: self.channels as u32,
            in_h: self.in_h as u32,
            in_w: self.in_w as u32,
            out_h: self.out_h() as u32,
            out_w: self.out_w() as u32,
            kernel: self.kernel as u32,
            stride: self.stride as u32,
            padding: self.padding as u32,
            ..Default::default()
        }
    }
}

/// Max pooling (see [`Pool2dParams`]); the forward pass records each window's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d(pub Pool2dParams);

/// Average pooling (see [`Pool2dParams`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d(pub Pool2dParams);

impl Pool2dParams {
    fn params_json(&self, op: &str) -> serde_json::Value {
        serde_json::json!({"op": op, "batch": self.batch, "channels": self.channels,
            "in_h": self.in_h, "in_w": self.in_w, "kernel": self.kernel,
            "stride": self.stride, "padding": self.padding, "ceil_mode": self.ceil_mode,
            "adaptive": self.adaptive, "act": self.act.name()})
    }
}

impl OpSpec for MaxPool2d {
    fn stem(&self) -> &'static str {
        "max_pool2d"
    }
    fn validate(&self) -> Result<()> {
        if self.0.adaptive.is_some() {
            return Err(Error::invalid(
                "max_pool2d adaptive",
                "is supported for average pooling only",
            ));
        }
        self.0.validate()
    }
    fn flops(&self, _pass: Pass) -> u64 {
        self.0.flops()
    }
    fn signature(&self, pass: Pass) -> Signature {
        let p = &self.0;
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("x", p.input_shape(), 1.0)],
                vec![
                    Arg::out("y", p.output_shape()),
                    Arg::ints("indices", p.output_shape()),
                ],
            ),
            _ => Signature::new(
                vec![
                    Arg::float("dy", p.output_shape(), 1.0),
                    Arg::ints("indices", p.output_shape()),
                    Arg::float("act_out", p.input_shape(), 1.0).when(p.act != Act::None),
                ],
                vec![Arg::out("dx", p.input_shape())],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.0.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        self.0.params_json(self.stem())
    }
}

impl OpRun for MaxPool2d {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match (pass, o) {
            (Pass::Forward, [y, indices]) => b.max_pool2d_forward(&self.0, arg(i, 0)?, y, indices),
            (_, [dx]) => b.max_pool2d_backward_input(&self.0, arg(i, 0)?, arg(i, 1)?, i[2], dx),
            _ => Err(Error::invalid("max_pool2d", "wrong number of outputs")),
        }
    }

    /// The backward pass's indices are those of a forward pass on `reference` over the
    /// pool's input (the folded activation's output where there is one).
    fn relate<B: Backend>(
        &self,
        reference: &B,
        pass: Pass,
        inputs: &mut [Value],
        draw: &mut Draw<'_>,
    ) -> Result<()> {
        if pass == Pass::Forward {
            return Ok(());
        }
        let p = &self.0;
        let mut x = if p.act == Act::None {
            Value::Floats(draw(p.input_shape(), 1.0))
        } else {
            inputs[2].clone()
        };
        p.act.output_of_draw(&mut x);
        let xt = reference.upload(x.floats_mut(), DType::F32)?;
        let mut y = reference.full(p.output_shape(), DType::F32, 0.0)?;
        let mut indices = reference.full(p.output_shape(), DType::U32, 0.0)?;
        reference.max_pool2d_forward(p, &xt, &mut y, &mut indices)?;
        inputs[1] = Value::Ints(reference.download_u32(&indices)?);
        if p.act != Act::None {
            inputs[2] = x;
        }
        Ok(())
    }
}

impl OpSpec for AvgPool2d {
    fn stem(&self) -> &'static str {
        "avg_pool2d"
    }
    /// Its divisor is the whole window, padding included: ceil mode's windows past the padded
    /// input would need another (PyTorch's), so it is max pooling's only.
    fn validate(&self) -> Result<()> {
        if self.0.ceil_mode {
            return Err(Error::invalid(
                "avg_pool2d ceil_mode",
                "is supported for max pooling only",
            ));
        }
        self.0.validate()
    }
    fn flops(&self, _pass: Pass) -> u64 {
        self.0.flops()
    }
    fn signature(&self, pass: Pass) -> Signature {
        let p = &self.0;
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("x", p.input_shape(), 1.0)],
                vec![Arg::out("y", p.output_shape())],
            ),
            _ => Signature::new(
                vec![
                    Arg::float("dy", p.output_shape(), 1.0),
                    Arg::float("act_out", p.input_shape(), 1.0).when(p.act != Act::None),
                ],
                vec![Arg::out("dx", p.input_shape())],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.0.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        self.0.params_json(self.stem())
    }
}

impl OpRun for AvgPool2d {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.avg_pool2d_forward(&self.0, arg(i, 0)?, o[0]),
            _ => b.avg_pool2d_backward_input(&self.0, arg(i, 0)?, i[1], o[0]),
        }
    }

    /// A folded activation's output is that function of a draw.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        if pass != Pass::Forward && self.0.act != Act::None {
            self.0.act.output_of_draw(&mut inputs[1]);
        }
        Ok(())
    }
}
