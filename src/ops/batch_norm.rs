//! batch_norm2d: PyTorch's `BatchNorm2d` — per-channel statistics over (N, H, W), an affine
//! weight and bias, running estimates for evaluation.

use super::spec::{arg, sum_scale, Arg, Before, Draw, OpRun, OpSpec, Signature, Ty, Value};
use super::{positive, u32_of, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::{round_to_f16, DType, Shape};

/// Training normalises with the batch's mean and biased variance and moves the running
/// estimates by `momentum` towards the batch's mean and *unbiased* variance; evaluation
/// normalises with the running estimates (PyTorch's semantics, eps inside the square root).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormParams {
    pub batch: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub eps: f32,
    pub momentum: f32,
    /// Batch statistics (and running estimates updated) when true, running estimates when false.
    pub train: bool,
}

/// Mirror of `BatchNormUniform` in shaders/common/batch_norm_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct BatchNormUniform {
    /// Images in this launch (a chunk of the batch).
    pub batch: u32,
    pub channels: u32,
    pub pixels: u32,
    /// Values per channel over the whole batch (the divisor of the statistics).
    pub count: u32,
    pub eps: f32,
    pub momentum: f32,
    /// 1: add this chunk's sums to the ones already held (not the batch's first chunk).
    pub accumulate: u32,
    /// 1: the batch's last chunk: turn the sums into statistics.
    pub finish: u32,
    /// 1: training (batch statistics), 0: evaluation (running estimates).
    pub train: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

/// The rows of a batch-norm layer's f32 state tensor (`[STATE_ROWS, C]`): the running
/// estimates (what checkpoints hold), then what the training forward pass leaves for the
/// backward pass (the batch's mean and 1/sqrt(var + eps)), then the backward pass's sums of
/// dy and dy * x̂.
pub const STATE_ROWS: usize = 6;
pub const RUNNING_MEAN: usize = 0;
pub const RUNNING_VAR: usize = 1;
pub const BATCH_MEAN: usize = 2;
pub const BATCH_INVSTD: usize = 3;
pub const SUM_DY: usize = 4;
pub const SUM_DY_XHAT: usize = 5;

impl BatchNormParams {
    /// PyTorch's defaults (eps 1e-5, momentum 0.1) on the given shape.
    pub fn new(batch: usize, channels: usize, h: usize, w: usize) -> Self {
        BatchNormParams {
            batch,
            channels,
            h,
            w,
            eps: 1e-5,
            momentum: 0.1,
            train: true,
        }
    }
    pub fn shape(&self) -> Shape {
        Shape::new(&[self.batch, self.channels, self.h, self.w])
    }
    pub fn channel_shape(&self) -> Shape {
        Shape::new(&[self.channels])
    }
    /// The f32 state tensor (see [`STATE_ROWS`]).
    pub fn state_shape(&self) -> Shape {
        Shape::new(&[STATE_ROWS, self.channels])
    }
    /// Values each channel's statistics are taken over.
    pub fn count(&self) -> usize {
        self.batch * self.h * self.w
    }
    pub fn validate(&self) -> Result<()> {
        positive("batch_norm batch", self.batch)?;
        positive("batch_norm channels", self.channels)?;
        positive("batch_norm height", self.h)?;
        positive("batch_norm width", self.w)?;
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(Error::invalid(
                "batch_norm eps",
                format!("{} must be positive", self.eps),
            ));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                "batch_norm momentum",
                format!("{} is not in [0, 1]", self.momentum),
            ));
        }
        u32_of("batch_norm size", self.shape().numel())?;
        // A batch of one 1x1 image has no variance (PyTorch raises the same error).
        if self.train && self.count() < 2 {
            return Err(Error::invalid(
                "batch_norm",
                "training needs more than one value per channel (batch 1 of a 1x1 map)",
            ));
        }
        Ok(())
    }
    /// Arithmetic of the training forward pass: two reductions and the normalisation.
    pub fn flops(&self) -> u64 {
        (self.shape().numel() * 6) as u64
    }
    pub fn uniform(&self, batch: usize) -> BatchNormUniform {
        BatchNormUniform {
            batch: batch as u32,
            channels: self.channels as u32,
            pixels: (self.h * self.w) as u32,
            count: self.count() as u32,
            eps: self.eps,
            momentum: self.momentum,
            train: self.train as u32,
            ..Default::default()
        }
    }
}

impl OpSpec for BatchNormParams {
    fn stem(&self) -> &'static str {
        "batch_norm"
    }
    /// Evaluation mode has no backward pass.
    fn passes(&self) -> Vec<Pass> {
        if self.train {
            vec![Pass::Forward, Pass::BackwardInput]
        } else {
            vec![Pass::Forward]
        }
    }
    fn validate(&self) -> Result<()> {
        BatchNormParams::validate(self)
    }
    /// The backward pass: two reductions, then dx from both.
    fn flops(&self, pass: Pass) -> u64 {
        let n = self.shape().numel() as u64;
        if pass == Pass::Forward {
            BatchNormParams::flops(self)
        } else {
            8 * n
        }
    }
    /// The f32 state is updated in place in both passes (see [`STATE_ROWS`]); x is drawn off
    /// centre so that the mean matters.
    fn signature(&self, pass: Pass) -> Signature {
        let (s, c) = (self.shape(), self.channel_shape());
        let state = || Arg::float("state", self.state_shape(), 1.0).ty(Ty::F32);
        match pass {
            Pass::Forward => Signature::new(
                vec![
                    Arg::float("x", s.clone(), 2.0),
                    Arg::float("weight", c.clone(), 1.0),
                    Arg::float("bias", c, 1.0),
                    state(),
                ],
                vec![Arg::out("y", s), state().before(Before::Input(3))],
            ),
            _ => Signature::new(
                vec![
                    Arg::float("x", s.clone(), 2.0),
                    Arg::float("dy", s.clone(), sum_scale(self.count())),
                    Arg::float("weight", c.clone(), 1.0),
                    state(),
                ],
                vec![
                    Arg::out("dx", s),
                    Arg::out("dweight", c.clone()),
                    Arg::out("dbias", c),
                    state().before(Before::Input(3)),
                ],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
}

impl OpRun for BatchNormParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match (pass, o) {
            (Pass::Forward, [y, state]) => {
                b.batch_norm_forward(self, arg(i, 0)?, arg(i, 1)?, arg(i, 2)?, state, y)
            }
            (_, [dx, dw, db, state]) => {
                b.batch_norm_backward(self, arg(i, 0)?, arg(i, 1)?, arg(i, 2)?, state, dw, db, dx)
            }
            _ => Err(Error::invalid("batch_norm", "wrong number of outputs")),
        }
    }

    /// x off centre; the running variance positive; for the backward pass, the batch's
    /// statistics as a training forward pass on `reference` leaves them in the state.
    fn relate<B: Backend>(
        &self,
        reference: &B,
        pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        let x = inputs[0].floats_mut();
        x.data.iter_mut().for_each(|v| *v += 0.5);
        round_to_f16(&mut x.data);
        let c = self.channels;
        let state = inputs[3].floats_mut();
        let rv = RUNNING_VAR * c;
        state.data[rv..rv + c]
            .iter_mut()
            .for_each(|v| *v = v.abs() + 0.5);
        if pass == Pass::Forward {
            return Ok(());
        }
        let upload = |v: &mut Value| reference.upload(v.floats_mut(), DType::F32);
        let (x, weight) = (upload(&mut inputs[0])?, upload(&mut inputs[2])?);
        let mut st = upload(&mut inputs[3])?;
        let bias = reference.full(self.channel_shape(), DType::F32, 0.0)?;
        let mut y = reference.full(self.shape(), DType::F32, 0.0)?;
        let train = BatchNormParams {
            train: true,
            ..*self
        };
        reference.batch_norm_forward(&train, &x, &weight, &bias, &mut st, &mut y)?;
        let kept = reference.download(&st)?;
        let state = inputs[3].floats_mut();
        for row in [BATCH_MEAN, BATCH_INVSTD] {
            state.data[row * c..(row + 1) * c].copy_from_slice(&kept.data[row * c..(row + 1) * c]);
        }
        Ok(())
    }
}
