//! Launchers of the subgroup family's conv2d passes (see [`super::Family::Subgroup`]): pack
//! the operands k-contiguous in f32 (conv2d_pack), run the subgroup GEMM, then finish —
//! col2im for backward_input, the fixed-order split-k reduce for backward_weight.
//!
//! Tensors are bound in the binding-sized chunks of [`GpuBackend::chunks`]; within a chunk,
//! images go in sub-chunks whose packed operands fit [`SCRATCH_FLOATS`] (which also keeps the
//! packed indices below 2^24 for the kernels' f32 index division).

use super::conv2d::image_bytes;
use super::Family;
use crate::error::{Error, Result};
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{Chunk, GpuTensor, View};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::conv2d::Conv2dUniform;
use crate::ops::Conv2dParams;

mod wgrad;
pub use wgrad::encode_backward_weight;

/// The most floats one packed operand (or column gradient) holds: 64 MiB of f32.
pub const SCRATCH_FLOATS: usize = 1 << 24;

/// Mirror of `SgUniform` in shaders/common/conv2d_sg_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct SgUniform {
    pub conv: Conv2dUniform,
    pub m: u32,
    pub n: u32,
    pub k4: u32,
    pub rows: u32,
    pub cols: u32,
    pub len: u32,
    pub mode: u32,
    pub first: u32,
}

/// The layouts of conv2d_pack (see its header).
#[derive(Clone, Copy)]
enum Pack {
    Weights = 0,
    Im2col = 1,
    DyByPixel = 2,
    WeightsT = 3,
    DyByChannel = 4,
    Im2colT = 5,
    /// Im2colT of a stride-1 conv whose output is as wide as its input: each vec4 of k is a
    /// run of 4 values of x, read from two texels.
    Im2colTSame = 6,
    /// x in rows of texels of 4 pixels, padding included (conv2d_forward_rows_sg's B).
    TexelRows = 7,
    /// The weights with each kernel row padded to whole vec4s (conv2d_forward_rows_sg's A).
    WeightsRows = 8,
    /// dy by channel, k over (image, output row, quad of 4 columns), each row padded to whole
    /// quads (conv2d_backward_weight_rows_sg's A).
    DyRowQuads = 9,
    /// x channels-last, padding included, a texel 4 channels (conv2d_forward_nhwc_sg's B).
    ChannelsLast = 10,
    /// The weights with k in the order (kh, kw, ci) (conv2d_forward_nhwc_sg's A).
    WeightsChannelsLast = 11,
    /// The weights of a stride-1 conv's input gradient as a conv: channels swapped, taps
    /// turned 180 degrees, k in the order (kh, kw, co) (conv2d_forward_nhwc_sg's A).
    WeightsFlippedChannelsLast = 12,
    /// x in rows of texels split by stride phase, padding included: phase row (y, ph) holds
    /// x[y - pad][S * c + ph - pad] at column c (conv2d_backward_weight_rows_sg's B at stride
    /// S > 1, where the 4 pixels of a vec4 of k read x every S columns).
    PhaseRows = 13,
}

/// Images [first, first + count) of a bound chunk.
#[derive(Clone, Copy)]
pub(super) struct Sub {
    pub first: usize,
    pub count: usize,
}

/// Splits a bound chunk into sub-chunks whose scratch (`floats_per_image`, plus `fixed`)
/// stays within [`SCRATCH_FLOATS`].
pub(super) fn subs(
    what: &str,
    chunk: Chunk,
    floats_per_image: usize,
    fixed: usize,
) -> Result<Vec<Sub>> {
    let room = SCRATCH_FLOATS.saturating_sub(fixed);
    let per = room / floats_per_image.max(1);
    if per == 0 {
        return Err(Error::Limit {
            what: format!("{what}: packed operands of one image"),
            needed: ((floats_per_image + fixed) * 4) as u64,
            limit: (SCRATCH_FLOATS * 4) as u64,
        });
    }
    Ok((0..chunk.count)
        .step_by(per)
        .map(|first| Sub {
            first,
            count: per.min(chunk.count - first),
        })
        .collect())
}

/// Floats of a packed operand: `groups * rows` rows of `cols` rounded up to whole vec4s.
fn packed_len(groups: usize, rows: usize, cols: usize) -> usize {
    groups * rows * cols.div_ceil(4) * 4
}

/// Records conv2d_pack of `src` into scratch texture `slot` (`groups * rows` rows of `cols`,
/// a vec4 a texel; f32, or with `in_storage` the storage's texel format): the GEMM reads its
/// operands as textures, whose loads CPU drivers run several times faster than storage-buffer
/// loads (examples/lab/gemm_operands.py).
#[allow(clippy::too_many_arguments)]
fn pack(
    b: &GpuBackend,
    storage: Storage,
    conv: Conv2dUniform,
    first: usize,
    mode: Pack,
    src: View<'_>,
    (slot, in_storage): (Scratch, bool),
    (rows, cols): (usize, usize),
) -> Result<std::sync::Arc<wgpu::TextureView>> {
    let groups = conv.groups as usize;
    let len = packed_len(groups, rows, cols);
    // The values the layout reads (conv.batch images from `first`, or the weights); im2col
    // reads each input value once per tap that covers it, from a texture copy.
    let c = conv;
    let (x_image, y_image) = (
        (c.in_channels * c.in_h * c.in_w) as usize,
        (c.out_channels * c.out_h * c.out_w) as usize,
    );
    let (start, values) = match mode {
        Pack::Weights
        | Pack::WeightsT
        | Pack::WeightsRows
        | Pack::WeightsChannelsLast
        | Pack::WeightsFlippedChannelsLast => (
            0,
            (c.out_channels * c.in_channels / c.groups * c.kernel_h * c.kernel_w) as usize,
        ),
        Pack::Im2col
        | Pack::Im2colT
        | Pack::Im2colTSame
        | Pack::TexelRows
        | Pack::PhaseRows
        | Pack::ChannelsLast => (first * x_image, c.batch as usize * x_image),
        Pack::DyByPixel | Pack::DyByChannel | Pack::DyRowQuads => {
            (first * y_image, c.batch as usize * y_image)
        }
    };
    let mut u = SgUniform {
        conv,
        k4: cols.div_ceil(4) as u32,
        rows: rows as u32,
        cols: cols as u32,
        len: len as u32,
        mode: mode as u32,
        first: 0,
        ..Default::default()
    };
    let constants = [("MODE", mode as u32)];
    let wg = super::flat_workgroups(len / 4);
    // Layouts that read each value once or twice read the buffer (conv2d_pack_buf, the
    // images counted from `first`), when it binds as whole vec4s; im2col's copy src into a
    // texture first.
    let once = !matches!(mode, Pack::Im2col | Pack::Im2colT | Pack::Im2colTSame);
    let whole_vec4s = matches!(src, View::Buffer { size, .. } if size.is_none_or(|s| s % 16 == 0));
    let texels = if in_storage { storage } else { Storage::F32 };
    let dst = b.scratch_texture_in(slot, len / 4, texels)?;
    if once && whole_vec4s {
        u.first = first as u32;
        let views = [src, View::Texture(&dst)];
        let kernel = match in_storage {
            true => "conv2d_pack_buf_storage",
            false => "conv2d_pack_buf",
        };
        b.dispatch_with(kernel, storage, &constants, &u, &views, wg)?;
        return Ok(dst);
    }
    let source =
        super::texture_pack::pack_range(b, storage, src, (start, values), Scratch::Source)?;
    let views = [View::Texture(&source), View::Texture(&dst)];
    let kernel = match in_storage {
        true => "conv2d_pack_storage",
        false => "conv2d_pack",
    };
    b.dispatch_with(kernel, storage, &constants, &u, &views, wg)?;
    Ok(dst)
}

/// Records conv2d_col2im: the `len` elements of `dx` from the column gradient `cols` (`u`: the
/// backward_input GEMM's uniform, whose images and geometry col2im shares).
pub(super) fn col2im(
    b: &GpuBackend,
    storage: Storage,
    u: SgUniform,
    len: usize,
    cols: &wgpu::Buffer,
    dx: View<'_>,
) -> Result<()> {
    let u = SgUniform {
        len: len as u32,
        ..u
    };
    let views = [View::buffer(cols), dx];
    b.dispatch(
        "conv2d_col2im",
        storage,
        &u,
        &views,
        super::flat_workgroups(len),
    )
}

/// The GEMM uniform: M x N outputs per group, a reduction of `k` floats.
fn gemm_uniform(conv: Conv2dUniform, first: usize, (m, n, k): (usize, usize, usize)) -> SgUniform {
    SgUniform {
        conv,
        m: m as u32,
        n: n as u32,
        k4: k.div_ceil(4) as u32,
        first: first as u32,
        ..Default::default()
    }
}

/// The subgroup size of the subgroup family on this adapter.
pub(super) fn subgroup_size(b: &GpuBackend) -> Result<u32> {
    b.subgroup_size().ok_or_else(|| {
        Error::invalid(
            "kernel family",
            "the subgroup family needs subgroups of one fixed size",
        )
    })
}

/// (Cout/G, Cin/G*KH*KW, OH*OW)
fn dims(p: &Conv2dParams) -> (usize, usize, usize) {
    (
        p.out_channels / p.groups,
        p.in_channels / p.groups * p.kernel_h * p.kernel_w,
        p.out_h() * p.out_w(),
    )
}

/// Padded pixels an image of x channels-last (conv2d_pack mode 10), and the pipeline
/// constants of the kernels that read it (C4, KW, HP, WP).
fn channels_last(p: &Conv2dParams) -> (usize, Vec<(&'static str, u32)>) {
    let (hp, wp) = (p.in_h + 2 * p.padding, p.in_w + 2 * p.padding);
    let constants = vec![
        ("C4", (p.in_channels / 4) as u32),
        ("KW", p.kernel_w as u32),
        ("HP", hp as u32),
        ("WP", wp as u32),
    ];
    (hp * wp, constants)
}

/// How conv2d_forward's operands are packed and which kernel reads them.
struct ForwardLayout {
    kernel: &'static str,
    weights: Pack,
    x: Pack,
    /// The reduction, in floats (the weight rows' length).
    k: usize,
    /// Rows of packed x an image, and floats a row.
    x_rows: usize,
    x_cols: usize,
    constants: Vec<(&'static str, u32)>,
}

impl ForwardLayout {
    /// For a conv of one group with input channels in fours (not stride 4), x channels-last,
    /// which conv2d_forward_nhwc_sg reads where it lies, and the weights in the same k order;
    /// for a stride-4 conv of one group (AlexNet's conv1), x in rows of texels of 4 pixels,
    /// which conv2d_forward_rows_sg reads where they lie, and the weights with each kernel row
    /// padded to whole vec4s (see their headers); im2col for any other conv.
    fn of(p: &Conv2dParams) -> Self {
        let (_, kc, pixels) = dims(p);
        if p.groups == 1 && p.stride != 4 && p.in_channels.is_multiple_of(4) {
            let (x_rows, constants) = channels_last(p);
            return ForwardLayout {
                kernel: "conv2d_forward_nhwc_sg",
                weights: Pack::WeightsChannelsLast,
                x: Pack::ChannelsLast,
                k: kc,
                x_rows,
                x_cols: p.in_channels,
                constants,
            };
        }
        if p.stride != 4 || p.groups != 1 {
            return ForwardLayout {
                kernel: "conv2d_forward_sg",
                weights: Pack::Weights,
                x: Pack::Im2col,
                k: kc,
                x_rows: pixels,
                x_cols: kc,
                constants: Vec::new(),
            };
        }
        let kwq = p.kernel_w.div_ceil(4);
        let (hp, wt) = (p.in_h + 2 * p.padding, p.out_w() + kwq - 1);
        ForwardLayout {
            kernel: "conv2d_forward_rows_sg",
            weights: Pack::WeightsRows,
            x: Pack::TexelRows,
            k: p.in_channels * p.kernel_h * kwq * 4,
            x_rows: p.in_channels * hp,
            x_cols: wt * 4,
            constants: vec![
                ("KWQ", kwq as u32),
                ("KH", p.kernel_h as u32),
                ("HP", hp as u32),
                ("WT", wt as u32),
            ],
        }
    }
}

pub fn encode_forward(
    b: &GpuBackend,
    (family, storage): (Family, Storage),
    p: &Conv2dParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    let l = ForwardLayout::of(p);
    forward_gemm(
        b,
        (family, storage),
        p,
        ("conv2d_forward", &l),
        (x, w, bias, y),
    )
}

/// Records the forward GEMM of `p` in layout `l`: y = conv(x, w) (+ bias); `pass` names the
/// pass in chunking errors (conv2d_backward_input where it runs the flipped convolution).
fn forward_gemm(
    b: &GpuBackend,
    (family, storage): (Family, Storage),
    p: &Conv2dParams,
    (pass, l): (&'static str, &ForwardLayout),
    (x, w, bias, y): (&GpuTensor, &GpuTensor, Option<&GpuTensor>, &GpuTensor),
) -> Result<()> {
    let sg = subgroup_size(b)?;
    let (cg, _, pixels) = dims(p);
    let g = p.groups;
    let (xb, yb) = image_bytes(p, x);
    // The weights do not depend on the images: packed once for every chunk.
    let a = pack(
        b,
        storage,
        p.uniform(p.batch, false),
        0,
        l.weights,
        View::whole(w),
        (Scratch::PackA, false),
        (cg, l.k),
    )?;
    let per_image = packed_len(g, l.x_rows, l.x_cols);
    for c in b.chunks(pass, p.batch, &[xb, yb])? {
        for s in subs(pass, c, per_image, packed_len(g, cg, l.k))? {
            let conv = p.uniform(s.count, false);
            let xv = View::items(x, c, xb);
            let bm = pack(
                b,
                storage,
                conv,
                s.first,
                l.x,
                xv,
                (Scratch::PackB, false),
                (s.count * l.x_rows, l.x_cols),
            )?;
            let u = gemm_uniform(conv, s.first, (cg, s.count * pixels, l.k));
            let views = [
                View::Texture(&a),
                View::Texture(&bm),
                bias.map_or(b.dummy(), View::whole),
                View::items(y, c, yb),
            ];
            let t = family.sg_tile(sg, cg);
            let wg = t.workgroups(cg, s.count * pixels, g, 1);
            b.dispatch_sg(l.kernel, storage, (t, &l.constants), &u, &views, wg)?;
        }
    }
    Ok(())
}

/// The input gradient of a stride-1 conv as the forward conv it is — dx = conv(dy padded by
/// KH - 1 - padding, the weights with channels swapped and taps turned 180 degrees) — when
/// that conv runs channels-last (one group, output channels in fours, a square kernel wider
/// than the padding): no column gradient, no col2im.
fn flipped(p: &Conv2dParams) -> Option<Conv2dParams> {
    let eligible = p.stride == 1
        && p.groups == 1
        && p.out_channels.is_multiple_of(4)
        && p.kernel_h == p.kernel_w
        && p.padding < p.kernel_h;
    eligible.then(|| Conv2dParams {
        in_channels: p.out_channels,
        in_h: p.out_h(),
        in_w: p.out_w(),
        out_channels: p.in_channels,
        padding: p.kernel_h - 1 - p.padding,
        bias: false,
        act: crate::ops::Act::None,
        ..*p
    })
}

pub fn encode_backward_input(
    b: &GpuBackend,
    (family, storage): (Family, Storage),
    p: &Conv2dParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    if let Some(f) = flipped(p) {
        let l = ForwardLayout {
            weights: Pack::WeightsFlippedChannelsLast,
            ..ForwardLayout::of(&f)
        };
        let pass = "conv2d_backward_input";
        return forward_gemm(b, (family, storage), &f, (pass, &l), (dy, w, None, dx));
    }
    let sg = subgroup_size(b)?;
    let (cg, kc, pixels) = dims(p);
    let g = p.groups;
    let (xb, yb) = image_bytes(p, dx);
    let weights = packed_len(g, kc, cg);
    // Per image: dy packed by pixel, the column gradient, and dx's elements (col2im's index).
    let per_image = packed_len(g, pixels, cg)
        .max(g * pixels * kc)
        .max(p.in_channels * p.in_h * p.in_w);
    // The transposed weights do not depend on the images: packed once for every chunk.
    let bm = pack(
        b,
        storage,
        p.uniform(p.batch, false),
        0,
        Pack::WeightsT,
        View::whole(w),
        (Scratch::PackB, false),
        (kc, cg),
    )?;
    for c in b.chunks("conv2d_backward_input", p.batch, &[xb, yb])? {
        for s in subs("conv2d_backward_input", c, per_image, weights)? {
            let conv = p.uniform(s.count, false);
            let m = s.count * pixels;
            let dyv = View::items(dy, c, yb);
            let a = pack(
                b,
                storage,
                conv,
                s.first,
                Pack::DyByPixel,
                dyv,
                (Scratch::PackA, false),
                (m, cg),
            )?;
            let cols = b.scratch(Scratch::Columns, (g * m * kc * 4) as u64);
            let u = gemm_uniform(conv, s.first, (m, kc, cg));
            let views = [View::Texture(&a), View::Texture(&bm), View::buffer(&cols)];
            let t = family.sg_tile(sg, m);
            let wg = t.workgroups(m, kc, g, 1);
            b.dispatch_sg(
                "conv2d_backward_input_sg",
                storage,
                (t, &[]),
                &u,
                &views,
                wg,
            )?;
            col2im(
                b,
                storage,
                u,
                s.count * p.in_channels * p.in_h * p.in_w,
                &cols,
                View::items(dx, c, xb),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ops::Act;

    pub(crate) fn conv(
        cin: usize,
        hw: usize,
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Conv2dParams {
        Conv2dParams {
            batch: 2,
            in_channels: cin,
            in_h: hw,
            in_w: hw,
            out_channels: cout,
            kernel_h: k,
            kernel_w: k,
            stride,
            padding: pad,
            groups: 1,
            bias: true,
            act: Act::None,
        }
    }

    /// Convs of one group with input channels in fours run forward channels-last (not
    /// stride 4: AlexNet's conv1 keeps its texel rows), and so do the input gradients of
    /// stride-1 ones whose output channels come in fours; the rest keep im2col.
    #[test]
    fn channels_last_forward_and_input_gradient_where_channels_come_in_fours() {
        let alexnet_conv3 = conv(256, 13, 384, 3, 1, 1);
        assert_eq!(
            ForwardLayout::of(&alexnet_conv3).kernel,
            "conv2d_forward_nhwc_sg"
        );
        let l = ForwardLayout::of(&conv(64, 32, 128, 3, 2, 1));
        assert_eq!(
            (l.kernel, l.k, l.x_rows, l.x_cols),
            ("conv2d_forward_nhwc_sg", 576, 34 * 34, 64)
        );
        assert_eq!(
            ForwardLayout::of(&conv(3, 227, 96, 11, 4, 0)).kernel,
            "conv2d_forward_rows_sg"
        );
        assert_eq!(
            ForwardLayout::of(&conv(3, 32, 64, 3, 1, 1)).kernel,
            "conv2d_forward_sg"
        );
        let f = flipped(&alexnet_conv3).expect("stride 1, 384 output channels");
        assert_eq!((f.in_channels, f.out_channels, f.padding), (384, 256, 1));
        assert_eq!((f.out_h(), f.out_w()), (13, 13));
        let valid = flipped(&conv(6, 14, 16, 5, 1, 0)).expect("16 output channels");
        assert_eq!((valid.in_h, valid.padding, valid.out_h()), (10, 4, 14));
        assert!(flipped(&conv(64, 32, 128, 3, 2, 1)).is_none());
        assert!(flipped(&conv(16, 14, 6, 5, 1, 0)).is_none());
    }
}
