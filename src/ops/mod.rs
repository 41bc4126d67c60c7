//! The op definitions: parameter structs (shape math, validation, FLOP and byte counts, the
//! `#[repr(C)]` mirrors of the WGSL uniforms) and the [`Backend`] trait with one method per pass.

pub mod activation;
pub mod add;
pub mod batch_norm;
pub mod concat;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dropout;
pub mod linear;
pub mod loss_scale;
pub mod lrn;
pub mod pixel_loss;
pub mod pool2d;
pub mod sgd;
pub mod softmax_cross_entropy;
pub mod spec;
pub mod topk;

pub use activation::{Act, ElementwiseUniform, Relu, Tanh};
pub use add::Add;
pub use batch_norm::{BatchNormParams, BatchNormUniform};
pub use concat::{ConcatParams, ConcatUniform};
pub use conv2d::{Conv2dParams, Conv2dUniform};
pub use conv_transpose2d::ConvTranspose2dParams;
pub use dropout::{DropoutParams, DropoutUniform};
pub use linear::{LinearParams, LinearUniform};
pub use loss_scale::{LossScaleParams, LossScaleUniform};
pub use lrn::{LrnParams, LrnUniform};
pub use pixel_loss::{
    PixelCrossEntropyParams, PixelLossUniform, PixelMetricsParams, SegmentationScores,
};
pub use pool2d::{AvgPool2d, MaxPool2d, Pool2dParams, Pool2dUniform};
pub use sgd::{Sgd, SgdParams, SgdUniform};
pub use softmax_cross_entropy::{SoftmaxCrossEntropyParams, SoftmaxCrossEntropyUniform};
pub use spec::{Op, OpRun, OpSpec, Signature};
pub use topk::{TopkParams, TopkUniform};

use crate::error::{Error, Result};
use crate::tensor::{DType, HostTensor, Shape};

/// Losses that [`Backend::loss_accumulate`] sums in index order before it adds the chunk
/// sums in order (on the GPU a loop stays far below llvmpipe's 65,535-iteration limit).
pub const LOSS_CHUNK: usize = 1024;

/// One pass of an op: the second half of every kernel, test and bench name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pass {
    Forward,
    BackwardInput,
    BackwardWeight,
    BackwardBias,
    /// Ops that are neither (the optimizer update, metric accumulation).
    Update,
}

impl Pass {
    /// `forward`, `backward_input`, ...
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "forward",
            Pass::BackwardInput => "backward_input",
            Pass::BackwardWeight => "backward_weight",
            Pass::BackwardBias => "backward_bias",
            Pass::Update => "update",
        }
    }
}

/// The backward pass of the activation a conv2d or linear layer's forward fused, run by that
/// layer's weight-gradient kernels ([`Backend::linear_backward_weight_bias`]): `y` is the
/// activation's output, the pass's dy the gradient of `y`, and `dx` receives dy times the
/// activation's derivative at `y` — the gradient of the layer's output, which its weight, bias
/// and input gradients then use (relu: 1 where y > 0; tanh: 1 - y^2).
pub struct ActFold<'a, T> {
    pub act: Act,
    pub y: &'a T,
    pub dx: &'a mut T,
}

/// A compute backend: the CPU reference or a wgpu device. Every op pass is one method.
///
/// Argument order follows the kernels: parameters, inputs, then outputs (`&mut`). Outputs are
/// overwritten, except where a method says it accumulates. On the GPU the methods only record
/// work; it runs at the next [`Backend::sync`] or download, so a sequence of calls (a whole
/// training step) goes to the device as one submission.
pub trait Backend {
    type Tensor;

    /// A one-line description ("cpu reference", "Vulkan: llvmpipe ...").
    fn describe(&self) -> String;
    /// Copies a host tensor to the backend, stored as `dtype` (F32 or F16).
    fn upload(&self, host: &HostTensor, dtype: DType) -> Result<Self::Tensor>;
    /// Copies integers (labels, indices) to the backend.
    fn upload_u32(&self, shape: Shape, data: &[u32]) -> Result<Self::Tensor>;
    /// A new tensor with every element set to `value` (for U32, `value as u32`).
    fn full(&self, shape: Shape, dtype: DType, value: f32) -> Result<Self::Tensor>;
    /// Float tensors of `dtype` holding `values` (zeros where `None`), one per shape: the
    /// parameters of a model. A backend that can lays them out side by side at the offsets
    /// of [`crate::tensor::arena_layout`] in as few buffers as its limits allow, so that the
    /// passes over every parameter ([`Backend::sgd_update`], [`Backend::grad_check_finite`])
    /// cover each buffer in one launch; the default allocates them one by one.
    fn arena(
        &self,
        shapes: &[Shape],
        dtype: DType,
        values: Option<&[HostTensor]>,
    ) -> Result<Vec<Self::Tensor>> {
        match values {
            Some(v) => v.iter().map(|h| self.upload(h, dtype)).collect(),
            None => shapes
                .iter()
                .map(|s| self.full(s.clone(), dtype, 0.0))
                .collect(),
        }
    }
    /// Runs pending work and copies a float tensor back.
    fn download(&self, t: &Self::Tensor) -> Result<HostTensor>;
    /// Runs pending work and copies an integer tensor back.
    fn download_u32(&self, t: &Self::Tensor) -> Result<Vec<u32>>;
    /// Runs pending work and reads small tensors back together: each tensor of `floats` as
    /// floats, each (U32) tensor of `ints` as integers. A GPU copies them all into one
    /// persistent readback buffer and maps it once (the trainer's loss, top-k and loss-scale
    /// read-back).
    #[allow(clippy::type_complexity)]
    fn read_together(
        &self,
        floats: &[&Self::Tensor],
        ints: &[&Self::Tensor],
    ) -> Result<(Vec<Vec<f32>>, Vec<Vec<u32>>)> {
        let f = floats
            .iter()
            .map(|t| Ok(self.download(t)?.data))
            .collect::<Result<_>>()?;
        let i = ints
            .iter()
            .map(|t| self.download_u32(t))
            .collect::<Result<_>>()?;
        Ok((f, i))
    }
    /// Runs all recorded work and waits for it.
    fn sync(&self) -> Result<()>;
    /// Starts all recorded work without waiting.
    fn submit(&self) -> Result<()>;
    /// Overwrites a float tensor with host data (converted to its dtype). Work recorded
    /// earlier sees the old contents.
    fn write(&self, t: &mut Self::Tensor, data: &[f32]) -> Result<()>;
    /// Overwrites an integer tensor.
    fn write_u32(&self, t: &mut Self::Tensor, data: &[u32]) -> Result<()>;
    /// Records setting every element to zero.
    fn zero(&self, t: &mut Self::Tensor) -> Result<()>;
    /// Turns planning on or off and says whether this backend plans. While planning, the
    /// calls that follow build what their launches need (pipelines, scratch buffers) and
    /// record and run nothing; the model plans a training step this way before recording it
    /// the first time, so the uniforms and bind groups its first recording creates are final
    /// and later steps create no GPU object. A backend that runs ops as they are called (the
    /// CPU reference) does not plan: it returns false and must not be given a planning step.
    fn planning(&self, _on: bool) -> bool {
        false
    }
    /// Sets the values that change every step — the dropout masks' step counter and the
    /// learning rate — before the step is recorded, so that a GPU passes them once per step
    /// (as immediates, or one small uniform write) and rewrites no other uniform. Ops given
    /// other values still compute with theirs.
    fn per_step(&self, _step: u32, _lr: f32) -> Result<()> {
        Ok(())
    }
    /// A view of the first `shape.numel()` elements of `t` with that shape, sharing its
    /// storage, where the backend can alias tensors (a GPU: the same buffer and offset);
    /// `None` where it cannot (the CPU reference) or `t` is too small. The model's smaller
    /// batch sizes view a larger one's buffers this way. Past a view's end lie the larger
    /// tensor's values, not the zeros a new tensor is padded with: only kernels that never
    /// read past a tensor's length may be given views (every per-batch kernel; `sgd_update`,
    /// which runs over its last vec4, reads parameters, never views).
    fn prefix(&self, _t: &Self::Tensor, _shape: Shape) -> Option<Self::Tensor> {
        None
    }
    /// Names what the following calls compute — a layer (or "loss") and a pass ("forward",
    /// "backward_input", "backward_weight", "backward_bias", "optimizer") — for profilers;
    /// others ignore it.
    fn scope(&self, _layer: &str, _pass: &'static str) {}

    fn conv2d_forward(
        &self,
        p: &Conv2dParams,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    fn conv2d_backward_input(
        &self,
        p: &Conv2dParams,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;
    fn conv2d_backward_weight(
        &self,
        p: &Conv2dParams,
        dy: &Self::Tensor,
        x: &Self::Tensor,
        dw: &mut Self::Tensor,
    ) -> Result<()>;
    fn conv2d_backward_bias(
        &self,
        p: &Conv2dParams,
        dy: &Self::Tensor,
        db: &mut Self::Tensor,
    ) -> Result<()>;
    /// Both of the above from one read of dy, where the backend has a kernel that sums the
    /// bias gradient while it computes the weight gradient: true then; false, computing
    /// nothing, where it has none for `p` (the default), and the caller runs the two passes.
    /// With `fold`, dy is the gradient of the output of the activation the layer's forward
    /// fused, and the kernels run that activation's backward pass too ([`ActFold`]).
    fn conv2d_backward_weight_bias(
        &self,
        _p: &Conv2dParams,
        _dy_x: (&Self::Tensor, &Self::Tensor),
        _dw: &mut Self::Tensor,
        _db: &mut Self::Tensor,
        _fold: Option<ActFold<'_, Self::Tensor>>,
    ) -> Result<bool> {
        Ok(false)
    }

    fn conv_transpose2d_forward(
        &self,
        p: &ConvTranspose2dParams,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    fn conv_transpose2d_backward_input(
        &self,
        p: &ConvTranspose2dParams,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;
    fn conv_transpose2d_backward_weight(
        &self,
        p: &ConvTranspose2dParams,
        dy: &Self::Tensor,
        x: &Self::Tensor,
        dw: &mut Self::Tensor,
    ) -> Result<()>;
    fn conv_transpose2d_backward_bias(
        &self,
        p: &ConvTranspose2dParams,
        dy: &Self::Tensor,
        db: &mut Self::Tensor,
    ) -> Result<()>;

    /// `indices` (U32, shaped like `y`) records each window's chosen element for the backward pass.
    fn max_pool2d_forward(
        &self,
        p: &Pool2dParams,
        x: &Self::Tensor,
        y: &mut Self::Tensor,
        indices: &mut Self::Tensor,
    ) -> Result<()>;
    /// With `p.act` (an activation's backward folded in), `act_out` is that activation's
    /// output — this pool's forward input — and dx is also multiplied by the activation's
    /// derivative there (relu: 1 where the output is > 0; tanh: 1 - y^2).
    fn max_pool2d_backward_input(
        &self,
        p: &Pool2dParams,
        dy: &Self::Tensor,
        indices: &Self::Tensor,
        act_out: Option<&Self::Tensor>,
        dx: &mut Self::Tensor,
    ) -> Result<()>;
    fn avg_pool2d_forward(
        &self,
        p: &Pool2dParams,
        x: &Self::Tensor,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    /// `act_out` as for [`Backend::max_pool2d_backward_input`].
    fn avg_pool2d_backward_input(
        &self,
        p: &Pool2dParams,
        dy: &Self::Tensor,
        act_out: Option<&Self::Tensor>,
        dx: &mut Self::Tensor,
    ) -> Result<()>;

    fn lrn_forward(&self, p: &LrnParams, x: &Self::Tensor, y: &mut Self::Tensor) -> Result<()>;
    fn lrn_backward_input(
        &self,
        p: &LrnParams,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;

    fn linear_forward(
        &self,
        p: &LinearParams,
        x: &Self::Tensor,
        w: &Self::Tensor,
        b: Option<&Self::Tensor>,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    fn linear_backward_input(
        &self,
        p: &LinearParams,
        dy: &Self::Tensor,
        w: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;
    fn linear_backward_weight(
        &self,
        p: &LinearParams,
        dy: &Self::Tensor,
        x: &Self::Tensor,
        dw: &mut Self::Tensor,
    ) -> Result<()>;
    fn linear_backward_bias(
        &self,
        p: &LinearParams,
        dy: &Self::Tensor,
        db: &mut Self::Tensor,
    ) -> Result<()>;
    /// As [`Backend::conv2d_backward_weight_bias`], for a linear layer.
    fn linear_backward_weight_bias(
        &self,
        _p: &LinearParams,
        _dy_x: (&Self::Tensor, &Self::Tensor),
        _dw: &mut Self::Tensor,
        _db: &mut Self::Tensor,
        _fold: Option<ActFold<'_, Self::Tensor>>,
    ) -> Result<bool> {
        Ok(false)
    }

    fn relu_forward(&self, x: &Self::Tensor, y: &mut Self::Tensor) -> Result<()>;
    /// Uses the forward input `x`.
    fn relu_backward_input(
        &self,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;
    fn tanh_forward(&self, x: &Self::Tensor, y: &mut Self::Tensor) -> Result<()>;
    /// Uses the forward output `y`.
    fn tanh_backward_input(
        &self,
        y: &Self::Tensor,
        dy: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;

    /// y = a + b, element-wise (a residual connection).
    fn add_forward(&self, a: &Self::Tensor, b: &Self::Tensor, y: &mut Self::Tensor) -> Result<()>;
    /// y += x, element-wise: the gradients of a node that several others read are summed
    /// into its gradient one after another, in a fixed order.
    fn accumulate(&self, x: &Self::Tensor, y: &mut Self::Tensor) -> Result<()>;
    /// y = x.
    fn copy(&self, x: &Self::Tensor, y: &mut Self::Tensor) -> Result<()>;
    /// Writes `x` into channels `p.offset..` of `y`; the other channels keep their values
    /// (a concatenation of k inputs is k calls).
    fn concat_forward(
        &self,
        p: &ConcatParams,
        x: &Self::Tensor,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    /// dx = channels `p.offset..` of dy.
    fn concat_backward_input(
        &self,
        p: &ConcatParams,
        dy: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;

    /// `state` is the layer's F32 `[STATE_ROWS, C]` tensor ([`batch_norm::STATE_ROWS`]).
    /// Training (`p.train`): normalises with the batch's statistics, keeps them in `state`
    /// for the backward pass and moves the running estimates; evaluation: normalises with the
    /// running estimates and writes nothing but `y`.
    fn batch_norm_forward(
        &self,
        p: &BatchNormParams,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        state: &mut Self::Tensor,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    /// The training-mode gradients, from the statistics the forward pass of the same batch
    /// left in `state` (which also receives the channel sums of dy and dy * x̂).
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_backward(
        &self,
        p: &BatchNormParams,
        x: &Self::Tensor,
        dy: &Self::Tensor,
        weight: &Self::Tensor,
        state: &mut Self::Tensor,
        dweight: &mut Self::Tensor,
        dbias: &mut Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;

    fn dropout_forward(
        &self,
        p: &DropoutParams,
        x: &Self::Tensor,
        y: &mut Self::Tensor,
    ) -> Result<()>;
    fn dropout_backward_input(
        &self,
        p: &DropoutParams,
        dy: &Self::Tensor,
        dx: &mut Self::Tensor,
    ) -> Result<()>;

    /// Per-sample losses (F32, `[batch]`); the mean is the caller's.
    fn softmax_cross_entropy_forward(
        &self,
        p: &SoftmaxCrossEntropyParams,
        logits: &Self::Tensor,
        labels: &Self::Tensor,
        losses: &mut Self::Tensor,
    ) -> Result<()>;
    /// With `scale_state` (see [`loss_scale`]) the gradient is also multiplied by the loss scale.
    fn softmax_cross_entropy_backward_input(
        &self,
        p: &SoftmaxCrossEntropyParams,
        logits: &Self::Tensor,
        labels: &Self::Tensor,
        scale_state: Option<&Self::Tensor>,
        dlogits: &mut Self::Tensor,
    ) -> Result<()>;
    /// `totals[0] += sum(losses)`, `totals[1] += len` (F32 tensors), in a fixed order (chunks of
    /// [`LOSS_CHUNK`] summed in order, then their sums in order).
    fn loss_accumulate(&self, losses: &Self::Tensor, totals: &mut Self::Tensor) -> Result<()>;

    /// Adds to `counts[j]` (U32) the samples whose label is in the top `p.ks[j]` logits.
    fn topk_accumulate(
        &self,
        p: &TopkParams,
        logits: &Self::Tensor,
        labels: &Self::Tensor,
        counts: &mut Self::Tensor,
    ) -> Result<()>;

    /// Per-pixel losses (F32 `[N, P]`) of logits `[N, C, P]` against labels `[N, P]` (U32).
    fn pixel_cross_entropy_forward(
        &self,
        p: &PixelCrossEntropyParams,
        logits: &Self::Tensor,
        labels: &Self::Tensor,
        losses: &mut Self::Tensor,
    ) -> Result<()>;
    /// The gradient of the mean loss over the `counted[0]` pixels not ignored (U32 `[1]`),
    /// times the loss scale of `scale_state` where given.
    fn pixel_cross_entropy_backward_input(
        &self,
        p: &PixelCrossEntropyParams,
        logits: &Self::Tensor,
        labels: &Self::Tensor,
        counted: &Self::Tensor,
        scale_state: Option<&Self::Tensor>,
        dlogits: &mut Self::Tensor,
    ) -> Result<()>;
    /// Adds the segmentation counters of a batch to `counts` (U32, see [`PixelMetricsParams`]).
    fn pixel_metrics_accumulate(
        &self,
        p: &PixelMetricsParams,
        logits: &Self::Tensor,
        labels: &Self::Tensor,
        counts: &mut Self::Tensor,
    ) -> Result<()>;

    /// Updates each parameter `i`: its F32 master weights `w[i]` and `velocity[i]` in place
    /// from `grads[i]`, and writes `w_copy[i]` if given. With `scale_state` the gradients are
    /// divided by the loss scale and the whole update is skipped when the state's found_inf
    /// flag is set. Tensors of one [`Backend::arena`], given in its order, are updated
    /// together (a GPU: one launch per arena buffer, where a binding holds it).
    fn sgd_update(
        &self,
        p: &SgdParams,
        grads: &[&Self::Tensor],
        w: &mut [&mut Self::Tensor],
        velocity: &mut [&mut Self::Tensor],
        w_copy: Option<&mut [&mut Self::Tensor]>,
        scale_state: Option<&Self::Tensor>,
    ) -> Result<()>;
    /// Sets the found_inf flag of `scale_state` if any value of any of `grads` is inf or NaN
    /// (a GPU checks the tensors of one arena in one launch, others up to six per launch).
    fn grad_check_finite(
        &self,
        grads: &[&Self::Tensor],
        scale_state: &mut Self::Tensor,
    ) -> Result<()>;
    /// Adjusts the loss scale after a step and clears found_inf.
    fn loss_scale_update(&self, p: &LossScaleParams, scale_state: &mut Self::Tensor) -> Result<()>;
}

/// Checks that the lists of a pass over several tensors are equally long (and not empty).
pub fn expect_lists(what: &str, lens: &[usize]) -> Result<()> {
    if lens[0] == 0 || lens.iter().any(|&n| n != lens[0]) {
        return Err(Error::invalid(
            what,
            format!("expected equally long, non-empty tensor lists, got lengths {lens:?}"),
        ));
    }
    Ok(())
}

/// Checks that a tensor of `have` elements can serve as `what`, which needs `shape` (both
/// backends call this before every pass, so a wrong shape is the same error everywhere).
pub fn expect_len(what: &str, have: usize, shape: &Shape) -> Result<()> {
    if have != shape.numel() {
        return Err(Error::invalid(
            what,
            format!(
                "expected {} values (shape {shape}), got {have}",
                shape.numel()
            ),
        ));
    }
    Ok(())
}

/// Checks that a dimension is non-zero.
pub(crate) fn positive(what: &str, v: usize) -> Result<()> {
    if v == 0 {
        return Err(Error::invalid(what, "must be at least 1"));
    }
    Ok(())
}

/// Converts a size to u32 for a uniform, failing clearly on overflow.
pub(crate) fn u32_of(what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::invalid(what, format!("{v} does not fit in 32 bits")))
}
