//! The weight and bias gradients of a conv2d or linear layer in a training step: in one fused
//! pass where the backend has one ([`Backend::conv2d_backward_weight_bias`]), else pass by
//! pass; and the backward pass of the activation such a layer's forward fused, run by those
//! fused kernels where they can.

use super::{Param, TWO};
use crate::error::Result;
use crate::nn::graph::LayerKind;
use crate::ops::*;

/// A layer with weights whose bias gradient a fused pass can sum.
#[derive(Clone, Copy)]
pub(super) enum WeightLayer {
    Conv(Conv2dParams),
    Linear(LinearParams),
}

impl WeightLayer {
    /// The conv2d or linear layer of `kind` at `batch`; None for other kinds.
    pub(super) fn of(kind: &LayerKind, batch: usize) -> Option<Self> {
        match kind {
            LayerKind::Conv2d(p) => Some(Self::Conv(Conv2dParams { batch, ..*p })),
            LayerKind::Linear(p) => Some(Self::Linear(LinearParams { batch, ..*p })),
            _ => None,
        }
    }
}

/// Records layer `name`'s weight gradient (scope backward_weight) and bias gradient (in it
/// where fused, else scope backward_bias) from `dy` and the layer's input `x`, and returns
/// true. With `fold`, `dy` is the gradient of the output of the activation the layer's forward
/// fused, and only a fused pass that also runs that activation's backward is tried: false,
/// nothing recorded, where the backend has none.
pub(super) fn weight_and_bias<B: Backend>(
    b: &B,
    name: &str,
    layer: WeightLayer,
    params: &mut [Param<B>],
    (wi, bi): (usize, Option<usize>),
    (dy, x): (&B::Tensor, &B::Tensor),
    fold: Option<ActFold<'_, B::Tensor>>,
) -> Result<bool> {
    let folding = fold.is_some();
    b.scope(name, "backward_weight");
    if let Some(bi) = bi {
        let [w, bias] = params.get_disjoint_mut([wi, bi]).expect(TWO);
        let (dw, db) = (&mut w.grad, &mut bias.grad);
        let fused = match layer {
            WeightLayer::Conv(p) => b.conv2d_backward_weight_bias(&p, (dy, x), dw, db, fold)?,
            WeightLayer::Linear(p) => b.linear_backward_weight_bias(&p, (dy, x), dw, db, fold)?,
        };
        if fused {
            return Ok(true);
        }
    }
    if folding {
        return Ok(false);
    }
    let dw = &mut params[wi].grad;
    match layer {
        WeightLayer::Conv(p) => b.conv2d_backward_weight(&p, dy, x, dw)?,
        WeightLayer::Linear(p) => b.linear_backward_weight(&p, dy, x, dw)?,
    }
    if let Some(bi) = bi {
        b.scope(name, "backward_bias");
        let db = &mut params[bi].grad;
        match layer {
            WeightLayer::Conv(p) => b.conv2d_backward_bias(&p, dy, db)?,
            WeightLayer::Linear(p) => b.linear_backward_bias(&p, dy, db)?,
        }
    }
    Ok(true)
}
