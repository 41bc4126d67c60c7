//! Argument checks of the [`Backend`](crate::ops::Backend) passes on [`GpuBackend`](super::GpuBackend)
//! (backend_ops.rs): element counts and stored types against each op's signature.

use super::buffers::GpuTensor;
use crate::error::{Error, Result};
use crate::ops::*;
use crate::tensor::{DType, Shape};

/// Checks that a tensor has the element count an op expects of it.
pub(super) fn expect(t: &GpuTensor, shape: &Shape, what: &str) -> Result<()> {
    expect_len(what, t.shape.numel(), shape)
}

/// Checks a pass's arguments against its op's signature ([`OpSpec::signature`]): the op's
/// parameters, element counts, and the stored type where the signature fixes one (integers,
/// f32 state). Returns the inputs as the launch is to use them (unused optional ones `None`).
pub(super) fn check<'a>(
    op: &dyn OpSpec,
    pass: Pass,
    inputs: &[Option<&'a GpuTensor>],
    outputs: &[&GpuTensor],
) -> Result<Vec<Option<&'a GpuTensor>>> {
    op.validate()?;
    let sig = op.signature(pass);
    let used = sig.check(op.stem(), inputs, outputs, |t| t.shape.numel())?;
    let given = used.iter().zip(&sig.inputs);
    let given = given.filter_map(|(t, arg)| t.map(|t| (t, arg)));
    for (t, arg) in given.chain(outputs.iter().copied().zip(&sig.outputs)) {
        let what = || format!("{} {}", op.stem(), arg.name);
        match arg.ty {
            spec::Ty::Float if t.dtype == DType::U32 => {
                return Err(Error::invalid(what(), "must be F32 or F16, is U32"));
            }
            spec::Ty::Float => {}
            ty if t.dtype != ty.dtype(DType::F32) => {
                expect_dtype(t, ty.dtype(DType::F32), &what())?
            }
            _ => {}
        }
    }
    Ok(used)
}

pub(super) fn expect_dtype(t: &GpuTensor, dtype: DType, what: &str) -> Result<()> {
    if t.dtype != dtype {
        return Err(Error::invalid(
            what,
            format!("must be {}, is {}", dtype.name(), t.dtype.name()),
        ));
    }
    Ok(())
}

/// An activation fold as the launchers take it: the activation, its output y, and the tensor
/// that receives the gradient before it (see [`ActFold`]).
pub type Fold<'a> = (Act, &'a GpuTensor, &'a GpuTensor);

/// Checks a fused weight-and-bias pass (`conv2d_backward_weight_bias`,
/// `linear_backward_weight_bias`): both passes' arguments, and the fold's with
/// [`check_fold`]. Returns the fold for the launchers.
pub(super) fn check_weight_bias<'a>(
    op: &dyn OpSpec,
    (dy, x): (&GpuTensor, &GpuTensor),
    (dw, db): (&GpuTensor, &GpuTensor),
    fold: Option<ActFold<'a, GpuTensor>>,
) -> Result<Option<Fold<'a>>> {
    check(op, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
    check(op, Pass::BackwardBias, &[Some(dy)], &[db])?;
    check_fold(dy, fold)
}

/// Checks an activation fold's tensors against the pass's dy: its output and the gradient it
/// writes have dy's element count. Returns (act, y, dx) for the launchers.
fn check_fold<'a>(
    dy: &GpuTensor,
    fold: Option<ActFold<'a, GpuTensor>>,
) -> Result<Option<Fold<'a>>> {
    let Some(ActFold { act, y, dx }) = fold else {
        return Ok(None);
    };
    let dx: &'a GpuTensor = dx;
    for (t, what) in [
        (y, "the folded activation's output"),
        (dx, "its input gradient"),
    ] {
        if t.shape.numel() != dy.shape.numel() {
            return Err(Error::invalid(
                what,
                format!("has {} values, dy {}", t.shape.numel(), dy.shape.numel()),
            ));
        }
    }
    Ok(Some((act, y, dx)))
}
