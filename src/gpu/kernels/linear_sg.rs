//! Launchers of the subgroup family's linear passes (see [`super::Family::Subgroup`]): the
//! subgroup GEMMs read the weights from their weight textures
//! ([`crate::gpu::weight_textures`]) and the rows the subgroup broadcasts — x forward, dy for
//! the input gradient — straight from their buffers (a lane loads one row's vec4 a step, so
//! a packing launch cost more than it saved: LeNet-5's conv3 forward, 0.11 ms of packing
//! beside a 0.27 ms GEMM); backward_weight reads them from their buffers too where the batch
//! is short and the weight large (linear_backward_weight_short_sg: AlexNet's fc6 and fc7 up
//! to batch 64), and elsewhere packs dy transposed and x (linear_pack_pair) so that the batch is
//! the reduction (forward on the NT core; backward_input and backward_weight on the NN core,
//! which reads w and x along their rows). Measured on
//! Mesa 22.3 lavapipe (`CNNGPU_KERNELS=subgroup-wide cnngpu bench --filter linear_`, two
//! alternating runs against buffer operands), AlexNet fc6 at batch 16: forward 194-210 ->
//! 49-82 ms, input gradient 280-333 -> 40-41, weight gradient 274-336 -> 80-81; fc7 82-86 ->
//! 18-19, 111-119 -> 17-21, 114-136 -> 39.
//!
//! Weights are processed in pieces of rows that start on a vec4 and on a binding offset the
//! adapter accepts, fit one binding and one texture, and whose transposed operand fits the
//! scratch.

use super::conv2d_sg::{subgroup_size, SCRATCH_FLOATS};
use super::Family;
use crate::error::{Error, Result};
use crate::gpu::backend::Scratch;
use crate::gpu::backend_check::Fold;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::gemm_sg::{short_wgrad_tile, SHORT_WGRAD_MAX_BATCH};
use crate::gpu::{GpuBackend, SgTile, Storage};
use crate::ops::LinearParams;
use std::sync::Arc;

/// Mirror of `LinearSgUniform` in shaders/common/linear_sg_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct LinearSgUniform {
    batch: u32,
    in_features: u32,
    out_features: u32,
    has_bias: u32,
    row0: u32,
    rows: u32,
    m: u32,
    n: u32,
    k4: u32,
    prows: u32,
    pcols: u32,
    len: u32,
    features: u32,
    act: u32,
    _pad: [u32; 2],
}

/// Whether the subgroup family can run linear passes of this shape: rows of x, w and dy
/// read as whole vec4s, and x and dy (the batch's rows rounded up to 4) packed within the
/// scratch texture.
pub fn supports(p: &LinearParams) -> bool {
    let packed = p.batch.next_multiple_of(4) * p.in_features.max(p.out_features);
    p.in_features.is_multiple_of(4) && p.out_features.is_multiple_of(4) && packed <= SCRATCH_FLOATS
}

fn base(p: &LinearParams) -> LinearSgUniform {
    LinearSgUniform {
        batch: p.batch as u32,
        in_features: p.in_features as u32,
        out_features: p.out_features as u32,
        has_bias: p.bias as u32,
        act: p.act.code(),
        ..Default::default()
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Pieces [start, start + count) of `total` weight rows of `row_bytes`: starts on multiples
/// of 4 rows and of the binding alignment, at most `max_rows` rows and one binding each.
fn pieces(
    b: &GpuBackend,
    total: usize,
    row_bytes: u64,
    max_rows: usize,
) -> Result<Vec<(usize, usize)>> {
    let align = (b.ctx.limits.min_storage_buffer_offset_alignment as u64).max(4);
    let step = (align / gcd(align, row_bytes)) as usize;
    let step = step / gcd(step as u64, 4) as usize * 4;
    let fit = ((b.max_binding().saturating_sub(16) / row_bytes) as usize).min(max_rows);
    let per = fit - fit % step;
    if per == 0 {
        return Err(Error::Limit {
            what: format!("linear weight pieces of {step} rows of {row_bytes} bytes"),
            needed: step as u64 * row_bytes,
            limit: b.max_binding(),
        });
    }
    Ok((0..total)
        .step_by(per)
        .map(|s| (s, per.min(total - s)))
        .collect())
}

fn rows_view(t: &GpuTensor, (start, count): (usize, usize), row_bytes: u64) -> View<'_> {
    let last = (start + count) as u64 * row_bytes >= t.bytes();
    let offset = start as u64 * row_bytes;
    View::Buffer {
        buffer: &t.buffer,
        offset: t.offset + offset,
        size: if last {
            t.bounded_size().map(|s| s - offset)
        } else {
            Some(count as u64 * row_bytes)
        },
    }
}

/// Records linear_pack of `src` ([batch][features]) transposed into the scratch texture
/// `slot`: `prows` rows of `pcols` floats (zero past them).
fn pack(
    b: &GpuBackend,
    storage: Storage,
    mut u: LinearSgUniform,
    src: View<'_>,
    slot: Scratch,
    (prows, pcols): (usize, usize),
) -> Result<Arc<wgpu::TextureView>> {
    let k4 = pcols.div_ceil(4);
    let len = prows * k4 * 4;
    let dst = b.scratch_texture(slot, len / 4)?;
    u.k4 = k4 as u32;
    u.prows = prows as u32;
    u.pcols = pcols as u32;
    u.len = len as u32;
    let views = [src, View::Texture(&dst)];
    let wg = super::flat_workgroups(len / 4);
    b.dispatch("linear_pack", storage, &u, &views, wg)?;
    Ok(dst)
}

/// Mirror of `PackPairUniform` in shaders/linear_pack_pair.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PackPairUniform {
    batch: u32,
    out4: u32,
    in4: u32,
    row0: u32,
    k4_dy: u32,
    quads_dy: u32,
    texels_x: u32,
    groups_dy: u32,
}

/// Records linear_pack_pair: dy^T's weight rows `piece` into scratch PackA and x into PackB
/// (dy^T as [`pack`] transposes it; x as it is, rows past the batch zero up to a multiple
/// of 4 — unless x's mirror holds it, [`crate::gpu::mirrors`]) in one launch, and with `bias` the bias gradient of those rows, after the folded
/// activation's backward (which also writes its gradient) where one is given; (dy^T, x). The piece's
/// start and length are multiples of 4 ([`pieces`]).
fn pack_pair(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    (dy, x, bias): (&GpuTensor, &GpuTensor, Option<BiasFold<'_>>),
    (row0, rows): (usize, usize),
) -> Result<(Arc<wgpu::TextureView>, Arc<wgpu::TextureView>)> {
    let db = bias.map(|(db, _)| db);
    let fold = bias.and_then(|(_, fold)| fold);
    let k4_dy = p.batch.div_ceil(4);
    let k4_x = p.in_features.div_ceil(4);
    let (texels_dy, texels_x) = (rows * k4_dy, p.batch.next_multiple_of(4) * k4_x);
    let dyt = b.scratch_texture(Scratch::PackA, texels_dy)?;
    // x as the launch that produced it stored it in a texture too, if it did (LeNet-5's
    // pool2 for conv3): then only dy^T is packed here.
    let mirror = b.mirror(x.into(), texels_x, storage);
    let xt = match &mirror {
        Some(m) => m.clone(),
        None => b.scratch_texture_in(Scratch::PackB, texels_x, storage)?,
    };
    let quads_dy = rows.div_ceil(4);
    let groups_dy = super::flat_workgroups(quads_dy);
    let u = PackPairUniform {
        batch: p.batch as u32,
        out4: (p.out_features / 4) as u32,
        in4: k4_x as u32,
        row0: row0 as u32,
        k4_dy: k4_dy as u32,
        quads_dy: quads_dy as u32,
        texels_x: texels_x as u32,
        groups_dy: groups_dy as u32,
    };
    let views = [
        View::whole(dy),
        View::Texture(&dyt),
        View::whole(x),
        View::Texture(&xt),
        db.map_or(b.dummy(), View::whole),
        // Without a fold: y's binding is unread, and dy (read here too) fills it, as the
        // dummy, written through g's and db's, may not be bound read-only beside them.
        View::whole(fold.map_or(dy, |(_, y, _)| y)),
        fold.map_or(b.dummy(), |(_, _, g)| View::whole(g)),
    ];
    let wg = groups_dy + mirror.map_or(super::flat_workgroups(texels_x), |_| 0);
    let act = fold.map_or(0, |(act, _, _)| act.code());
    let constants = [("BIAS", db.is_some() as u32), ("ACT", act)];
    b.dispatch_with("linear_pack_pair", storage, &constants, &u, &views, wg)?;
    Ok((dyt, xt))
}

pub fn encode_forward(
    b: &GpuBackend,
    (family, storage): (Family, Storage),
    p: &LinearParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    let sg = subgroup_size(b)?;
    let rb = (p.in_features * w.dtype.size()) as u64;
    let t = family.sg_tile(sg, p.batch);
    let max_rows = b.weight_texture_rows(p.in_features);
    for piece in pieces(b, p.out_features, rb, max_rows)? {
        let u = LinearSgUniform {
            row0: piece.0 as u32,
            rows: piece.1 as u32,
            m: p.batch as u32,
            n: piece.1 as u32,
            k4: (p.in_features / 4) as u32,
            ..base(p)
        };
        let wt = b.weight_texture(w, piece, p.in_features)?;
        let views = [
            View::whole(x),
            View::Texture(&wt),
            bias.map_or(b.dummy(), View::whole),
            View::whole(y),
        ];
        let wg = t.workgroups(p.batch, piece.1, 1, 1);
        b.dispatch_sg("linear_forward_sg", storage, (t, &[]), &u, &views, wg)?;
    }
    Ok(())
}

pub fn encode_backward_input(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    let sg = subgroup_size(b)?;
    let rb = (p.in_features * w.dtype.size()) as u64;
    // M is the batch. Four quads of columns a lane, so that each row broadcast serves 16
    // columns; rows: up to 2 a lane to 4 subgroups of batch, 4 beyond. Measured with
    // examples/lab_linear on lavapipe (Mesa 22.3, 2-core Zen 4), AlexNet fc6 (9216 x 4096):
    // batch 16 66-72 ms with the earlier 2 rows x 1 quad, 46-56 with 2 x 4; batch 32 74-130
    // with 4 x 1, 52 with 2 x 4, 53-58 with 4 x 4; batch 128 190 with 8 x 1, 174 with 4 x 4.
    let rows = match p.batch <= 4 * sg as usize {
        true => p.batch.div_ceil(sg as usize).clamp(1, 2),
        false => 4,
    };
    let t = SgTile::for_nn(sg, rows as u32, 4);
    let max_rows = b.weight_texture_rows(p.in_features);
    for (i, piece) in pieces(b, p.out_features, rb, max_rows)?
        .into_iter()
        .enumerate()
    {
        let u = LinearSgUniform {
            row0: piece.0 as u32,
            rows: piece.1 as u32,
            m: p.batch as u32,
            n: p.in_features as u32,
            k4: (piece.1 / 4) as u32,
            ..base(p)
        };
        let wt = b.weight_texture(w, piece, p.in_features)?;
        let views = [View::whole(dy), View::Texture(&wt), View::whole(dx)];
        let constants = [("ACCUMULATE", (i > 0) as u32)];
        let wg = t.workgroups_nn(p.batch, p.in_features);
        b.dispatch_sg(
            "linear_backward_input_sg",
            storage,
            (t, &constants),
            &u,
            &views,
            wg,
        )?;
    }
    Ok(())
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let sg = subgroup_size(b)?;
    if takes_short_wgrad(sg, p) {
        return encode_backward_weight_short(b, storage, p, (dy, x, dw), sg);
    }
    encode_packed_weight(b, storage, p, (dy, x), dw, None)
}

/// The bias gradient a first pack sums, and the activation fold it runs (see
/// [`encode_backward_weight_bias`]).
type BiasFold<'a> = (&'a GpuTensor, Option<Fold<'a>>);

/// The weight gradient and the bias gradient in one pass where the weight's rows are one
/// piece on the packed path (linear_pack_pair sums the bias as it packs dy^T: LeNet-5's conv3
/// and fc1), with `fold` running the fused activation's backward on dy first (tanh3, tanh4);
/// false, recording nothing, elsewhere.
pub fn encode_backward_weight_bias(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    (dy, x): (&GpuTensor, &GpuTensor),
    (dw, db): (&GpuTensor, &GpuTensor),
    fold: Option<Fold<'_>>,
) -> Result<bool> {
    let sg = subgroup_size(b)?;
    let rb = (p.in_features * dw.dtype.size()) as u64;
    let k4 = p.batch.div_ceil(4);
    let one_piece = pieces(b, p.out_features, rb, SCRATCH_FLOATS / (k4 * 4))?.len() == 1;
    if takes_short_wgrad(sg, p) || !one_piece {
        return Ok(false);
    }
    encode_packed_weight(b, storage, p, (dy, x), dw, Some((db, fold)))?;
    Ok(true)
}

/// backward_weight on the NN core from packed operands (linear_pack_pair, then linear_pack
/// for each further piece of rows); `db` (one piece only) filled by the first pack.
fn encode_packed_weight(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    (dy, x): (&GpuTensor, &GpuTensor),
    dw: &GpuTensor,
    bias: Option<BiasFold<'_>>,
) -> Result<()> {
    let rb = (p.in_features * dw.dtype.size()) as u64;
    let k4 = p.batch.div_ceil(4);
    // M is the weight's rows, K the batch: 2 rows and 4 quads of columns a lane, so that each
    // row broadcast serves 16 columns and each quad of x 16 rows, with 128 accumulators a
    // lane, which a short reduction must store. Measured with examples/lab_linear on
    // lavapipe (Mesa 22.3, 2-core Zen 4) against the earlier tiles of one quad a lane:
    // fc6 (9216 x 4096) at batch 32 113-118 ms with 4 rows, 100-102 with 2 x 4 (4 x 4 the
    // same, 4 x 2 106); fc7 at batch 16 50-75 with 2 or 4 rows, 37-43 with 1 or 2 x 4; fc6 at
    // batch 128 219 with 8 rows, 205 with 2 x 4; LeNet-5's fc1 at batch 64 within noise.
    let t = SgTile::for_nn(subgroup_size(b)?, 2, 4);
    let pieces = pieces(b, p.out_features, rb, SCRATCH_FLOATS / (k4 * 4))?;
    // x and the first piece of dy^T in one launch; each further piece packs dy^T alone.
    debug_assert!(
        bias.is_none() || pieces.len() == 1,
        "bias sums need one piece"
    );
    let (first, xt) = pack_pair(b, storage, p, (dy, x, bias), pieces[0])?;
    for (n, piece) in pieces.into_iter().enumerate() {
        let u = LinearSgUniform {
            row0: piece.0 as u32,
            rows: piece.1 as u32,
            features: p.out_features as u32,
            ..base(p)
        };
        let dyt = match n {
            0 => first.clone(),
            _ => pack(
                b,
                storage,
                u,
                View::whole(dy),
                Scratch::PackA,
                (piece.1, p.batch),
            )?,
        };
        let u = LinearSgUniform {
            m: piece.1 as u32,
            n: p.in_features as u32,
            k4: k4 as u32,
            ..u
        };
        let views = [
            View::Texture(&dyt),
            View::Texture(&xt),
            rows_view(dw, piece, rb),
        ];
        let wg = t.workgroups_nn(piece.1, p.in_features);
        b.dispatch_sg(
            "linear_backward_weight_sg",
            storage,
            (t, &[]),
            &u,
            &views,
            wg,
        )?;
    }
    Ok(())
}

/// The rows a workgroup of linear_backward_weight_short_sg runs down: 512 (its x columns
/// loaded once serve many rows), fewer where that would leave fewer than 64 workgroups.
fn short_rows_per_workgroup(rows: usize, column_tiles: usize) -> usize {
    let mut per = 512;
    while per > 4 && rows.div_ceil(per) * column_tiles < 64 {
        per /= 2;
    }
    per
}

/// Column tiles of linear_backward_weight_short_sg (SG * Q quads each).
fn short_column_tiles(sg: u32, p: &LinearParams) -> usize {
    let q = short_wgrad_tile(sg, p.batch).cols_per_lane;
    (p.in_features / 4).div_ceil((sg * q) as usize)
}

/// Whether backward_weight runs linear_backward_weight_short_sg: a batch of at most
/// [`SHORT_WGRAD_MAX_BATCH`] and enough rows that a workgroup runs down 64 or more (its x
/// columns, K * Q loads a lane, must serve many rows: LeNet-5's conv3 as a GEMM, 400 x 120 at
/// batch 64, took 0.48-0.72 ms with 8 rows a workgroup against 0.39-0.41 on the NN core).
fn takes_short_wgrad(sg: u32, p: &LinearParams) -> bool {
    p.batch <= SHORT_WGRAD_MAX_BATCH
        && short_rows_per_workgroup(p.out_features, short_column_tiles(sg, p)) >= 64
}

/// backward_weight for a batch of at most [`SHORT_WGRAD_MAX_BATCH`]: no packs, x and dy
/// read from their buffers by linear_backward_weight_short_sg. Measured with
/// examples/lab_linear on lavapipe (Mesa 22.3, 2-core Zen 4), AlexNet fc6's rows in two
/// pieces of 2,048: batch 16 28.6 -> 18.8 ms a piece, 32 39-45 -> 25-27, 64 56-57 -> 44-45.
fn encode_backward_weight_short(
    b: &GpuBackend,
    storage: Storage,
    p: &LinearParams,
    (dy, x, dw): (&GpuTensor, &GpuTensor, &GpuTensor),
    sg: u32,
) -> Result<()> {
    let rb = (p.in_features * dw.dtype.size()) as u64;
    let tile = short_wgrad_tile(sg, p.batch);
    let column_tiles = short_column_tiles(sg, p);
    for piece in pieces(b, p.out_features, rb, usize::MAX)? {
        let u = LinearSgUniform {
            row0: piece.0 as u32,
            rows: piece.1 as u32,
            ..base(p)
        };
        let per = short_rows_per_workgroup(piece.1, column_tiles);
        let views = [View::whole(dy), View::whole(x), rows_view(dw, piece, rb)];
        let constants = [("ROWS_PER_WG", per as u32)];
        let wg = (piece.1.div_ceil(per) * column_tiles) as u64;
        b.dispatch_sg(
            "linear_backward_weight_short_sg",
            storage,
            (tile, &constants),
            &u,
            &views,
            wg,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_weight_gradients_keep_64_workgroups_where_they_can() {
        // AlexNet fc6's 4,096 rows over 72 column tiles: 512 rows a workgroup.
        assert_eq!(short_rows_per_workgroup(4096, 72), 512);
        // LeNet-5 fc1 (84 rows, 2 column tiles): 4 rows a workgroup, 42 workgroups.
        assert_eq!(short_rows_per_workgroup(84, 2), 4);
        assert_eq!(short_rows_per_workgroup(256, 1), 4);
        assert_eq!(short_rows_per_workgroup(1024, 4), 64);
    }

    #[test]
    fn alexnet_fc6_and_fc7_take_the_short_weight_gradient_and_lenet5_does_not() {
        let lin = |batch, i, o| LinearParams {
            batch,
            in_features: i,
            out_features: o,
            bias: true,
            act: crate::ops::Act::None,
        };
        assert!(takes_short_wgrad(8, &lin(32, 9216, 4096)));
        assert!(takes_short_wgrad(8, &lin(64, 4096, 4096)));
        assert!(takes_short_wgrad(16, &lin(1, 4096, 4096)));
        assert!(!takes_short_wgrad(8, &lin(128, 4096, 4096)));
        assert!(!takes_short_wgrad(8, &lin(64, 400, 120)));
        assert!(!takes_short_wgrad(8, &lin(64, 120, 84)));
        // The parity case linear_short_wgrad_edges.
        assert!(takes_short_wgrad(8, &lin(13, 1000, 516)));
        assert_eq!(
            short_rows_per_workgroup(516, short_column_tiles(8, &lin(13, 1000, 516))),
            64
        );
    }
}
