//! Launchers of the linear passes. A weight larger than one storage binding (AlexNet fc6 in
//! f32: 9216x4096x4 bytes > 128 MiB) is processed in chunks of rows bound at aligned offsets;
//! backward_input accumulates the chunks in a fixed order. The GEMM passes go to
//! [`super::linear_sg`] when the subgroup family is chosen and the shape allows it, and to
//! [`super::linear_wg`] when the workgroup family is chosen.

use super::conv2d::ChannelSumUniform;
use super::{gemm_workgroups, linear_sg, linear_wg, Family, Gemm};
use crate::error::Result;
use crate::gpu::backend_check::Fold;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::LinearParams;

/// The family that runs pass `kernel`: the chosen one, except that the subgroup families
/// fall back for shapes they do not take ([`Gemm::runs`]).
fn family(b: &GpuBackend, kernel: &'static str, p: &LinearParams, s: Storage) -> Family {
    let gemm = Gemm::Linear(*p);
    gemm.runs(b.family_for(kernel, gemm, s))
}

fn row_bytes(p: &LinearParams, w: &GpuTensor) -> u64 {
    (p.in_features * w.dtype.size()) as u64
}

pub fn encode_forward(
    b: &GpuBackend,
    p: &LinearParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    let mut ts = vec![x, w, y];
    ts.extend(bias);
    let storage = b.storage_of("linear_forward", &ts)?;
    b.fits("linear input", x)?;
    b.fits("linear output", y)?;
    match family(b, "linear_forward", p, storage) {
        f @ (Family::Subgroup | Family::SubgroupWide) => {
            return linear_sg::encode_forward(b, (f, storage), p, x, w, bias, y)
        }
        Family::Workgroup => return linear_wg::encode_forward(b, storage, p, x, w, bias, y),
        Family::Tiled => {}
    }
    let rb = row_bytes(p, w);
    for c in b.chunks("linear weight", p.out_features, &[rb])? {
        let views = [
            View::whole(x),
            View::items(w, c, rb),
            bias.map_or(b.dummy(), View::whole),
            View::whole(y),
        ];
        let u = p.uniform(c.start, c.count, false);
        if few_outputs(p) {
            let wg = super::flat_workgroups(p.batch * c.count);
            b.dispatch("linear_forward_dot", storage, &u, &views, wg)?;
            continue;
        }
        b.dispatch(
            "linear_forward",
            storage,
            &u,
            &views,
            gemm_workgroups(p.batch, c.count, 1),
        )?;
    }
    Ok(())
}

/// Records linear_backward_weight_dot over the rows of `u` (views: dy, x, dw's rows), with
/// `db` the bias gradient of those rows too.
fn dispatch_weight_dot(
    b: &GpuBackend,
    storage: Storage,
    u: &crate::ops::linear::LinearUniform,
    views: [View<'_>; 3],
    db: Option<&GpuTensor>,
) -> Result<()> {
    let [dy, x, dw] = views;
    let views = [dy, x, dw, db.map_or(b.dummy(), View::whole)];
    let wg = super::flat_workgroups(u.rows as usize * u.in_features as usize / 4);
    let constants = [("BIAS", db.is_some() as u32)];
    b.dispatch_with(
        "linear_backward_weight_dot",
        storage,
        &constants,
        u,
        &views,
        wg,
    )
}

/// Whether the tiled family runs a layer's forward and weight gradient as dot products
/// (linear_forward_dot, linear_backward_weight_dot): few outputs — a classifier head — and
/// rows of x and w in whole vec4s. Measured on Mesa 22.3 lavapipe (`cnngpu profile --model
/// lenet5`, 2-core Zen 4): LeNet-5's fc2 at batch 64 forward 0.20 -> 0.09-0.12 ms, weight
/// gradient 0.18 -> 0.10-0.12 (the tiled GEMM gave it one workgroup reading scalars).
fn few_outputs(p: &LinearParams) -> bool {
    p.out_features <= 16 && p.in_features.is_multiple_of(4)
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &LinearParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("linear_backward_input", &[dy, w, dx])?;
    b.fits("linear output gradient", dy)?;
    b.fits("linear input gradient", dx)?;
    match family(b, "linear_backward_input", p, storage) {
        Family::Subgroup | Family::SubgroupWide => {
            return linear_sg::encode_backward_input(b, storage, p, dy, w, dx)
        }
        Family::Workgroup => return linear_wg::encode_backward_input(b, storage, p, dy, w, dx),
        Family::Tiled => {}
    }
    let rb = row_bytes(p, w);
    for c in b.chunks("linear weight", p.out_features, &[rb])? {
        let views = [View::whole(dy), View::items(w, c, rb), View::whole(dx)];
        let u = p.uniform(c.start, c.count, c.start > 0);
        let wg = gemm_workgroups(p.batch, p.in_features, 1);
        b.dispatch("linear_backward_input", storage, &u, &views, wg)?;
    }
    Ok(())
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    p: &LinearParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("linear_backward_weight", &[dy, x, dw])?;
    b.fits("linear output gradient", dy)?;
    b.fits("linear input", x)?;
    match family(b, "linear_backward_weight", p, storage) {
        Family::Subgroup | Family::SubgroupWide => {
            return linear_sg::encode_backward_weight(b, storage, p, dy, x, dw)
        }
        Family::Workgroup => return linear_wg::encode_backward_weight(b, storage, p, dy, x, dw),
        Family::Tiled => {}
    }
    encode_weight_tiled(b, storage, p, (dy, x), dw, None).map(|_| ())
}

/// The tiled family's weight gradient, in chunks of rows; with `db` (a classifier head whose
/// rows are one chunk: its dot kernel sums the bias as it reads dy) the bias gradient too.
/// False, recording nothing, where `db` is given and the layer is not such a head.
fn encode_weight_tiled(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    (dy, x): (&GpuTensor, &GpuTensor),
    dw: &GpuTensor,
    db: Option<&GpuTensor>,
) -> Result<bool> {
    let rb = row_bytes(p, dw);
    let chunks = b.chunks("linear weight gradient", p.out_features, &[rb])?;
    if db.is_some() && !(few_outputs(p) && chunks.len() == 1) {
        return Ok(false);
    }
    for c in chunks {
        let views = [View::whole(dy), View::whole(x), View::items(dw, c, rb)];
        let u = p.uniform(c.start, c.count, false);
        if few_outputs(p) {
            dispatch_weight_dot(b, storage, &u, views, db)?;
            continue;
        }
        let wg = gemm_workgroups(c.count, p.in_features, 1);
        b.dispatch("linear_backward_weight", storage, &u, &views, wg)?;
    }
    Ok(true)
}

/// The weight and bias gradients in one pass where the subgroup family's packing sums the
/// bias, and with `fold` runs the fused activation's backward
/// ([`linear_sg::encode_backward_weight_bias`]); false, recording nothing, elsewhere.
pub fn encode_backward_weight_bias(
    b: &GpuBackend,
    p: &LinearParams,
    (dy, x): (&GpuTensor, &GpuTensor),
    (dw, db): (&GpuTensor, &GpuTensor),
    fold: Option<Fold<'_>>,
) -> Result<bool> {
    let mut ts = vec![dy, x, dw, db];
    ts.extend(fold.iter().flat_map(|&(_, y, g)| [y, g]));
    let storage = b.storage_of("linear_backward_weight", &ts)?;
    b.fits("linear output gradient", dy)?;
    b.fits("linear input", x)?;
    match family(b, "linear_backward_weight", p, storage) {
        Family::Subgroup | Family::SubgroupWide => {
            linear_sg::encode_backward_weight_bias(b, storage, p, (dy, x), (dw, db), fold)
        }
        Family::Tiled if fold.is_none() => {
            encode_weight_tiled(b, storage, p, (dy, x), dw, Some(db))
        }
        _ => Ok(false),
    }
}

pub fn encode_backward_bias(
    b: &GpuBackend,
    p: &LinearParams,
    dy: &GpuTensor,
    db: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("linear_backward_bias", &[dy, db])?;
    b.fits("linear output gradient", dy)?;
    let u = ChannelSumUniform {
        batch: p.batch as u32,
        channels: p.out_features as u32,
        pixels: 1,
        accumulate: 0,
    };
    let views = [View::whole(dy), View::whole(db)];
    // The subgroup family sums each feature in one invocation (no barriers).
    if b.family_for("linear_backward_bias", Gemm::Linear(*p), storage)
        .needs_subgroups()
    {
        return b.dispatch(
            "linear_backward_bias_sg",
            storage,
            &u,
            &views,
            super::flat_workgroups(p.out_features),
        );
    }
    b.dispatch(
        "linear_backward_bias",
        storage,
        &u,
        &views,
        p.out_features as u64,
    )
}
