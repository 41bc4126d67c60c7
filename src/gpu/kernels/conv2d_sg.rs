//! Launchers of the subgroup family's conv2d passes (see [`super::Family::Subgroup`]): pack
//! the operands k-contiguous in f32 (conv2d_pack), run the subgroup GEMM, then finish —
//! col2im for backward_input, the fixed-order split-k reduce for backward_weight.
//!
//! Tensors are bound in the binding-sized chunks of [`GpuBackend::chunks`]; within a chunk,
//! images go in sub-chunks whose packed operands fit [`SCRATCH_FLOATS`] (which also keeps the
//! packed indices below 2^24 for the kernels' f32 index division).

use super::conv2d::{encode_reduce, image_bytes};
use super::Family;
use crate::error::{Error, Result};
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{Chunk, GpuTensor, View};
use crate::gpu::gemm_sg::SgTile;
use crate::gpu::{GpuBackend, Storage};
use crate::ops::conv2d::Conv2dUniform;
use crate::ops::Conv2dParams;

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

/// Records conv2d_pack of `src` into scratch texture `slot` (f32, `groups * rows` rows of
/// `cols`, a vec4 a texel): the GEMM reads its operands as textures, whose loads CPU drivers
/// run several times faster than storage-buffer loads (examples/lab/gemm_operands.py).
#[allow(clippy::too_many_arguments)]
fn pack(
    b: &GpuBackend,
    storage: Storage,
    conv: Conv2dUniform,
    first: usize,
    mode: Pack,
    src: View<'_>,
    slot: Scratch,
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
    if once && whole_vec4s {
        let dst = b.scratch_texture(slot, len / 4)?;
        u.first = first as u32;
        let views = [src, View::Texture(&dst)];
        b.dispatch_with("conv2d_pack_buf", storage, &constants, &u, &views, wg)?;
        return Ok(dst);
    }
    let source =
        super::texture_pack::pack_range(b, storage, src, (start, values), Scratch::Source)?;
    let dst = b.scratch_texture(slot, len / 4)?;
    let views = [View::Texture(&source), View::Texture(&dst)];
    b.dispatch_with("conv2d_pack", storage, &constants, &u, &views, wg)?;
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
        Scratch::PackA,
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
                Scratch::PackB,
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
        Scratch::PackB,
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
                Scratch::PackA,
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

/// How many k slices a subgroup weight gradient is split into: about 64 workgroups for the
/// device, slices of at least 64 vec4s, partial sums within the scratch.
fn splits(tiles: u64, k4: usize, len: usize) -> usize {
    let by_work = 64usize.div_ceil(tiles as usize);
    let by_length = (k4 / 64).max(1);
    let by_memory = (SCRATCH_FLOATS / len.max(1)).max(1);
    by_work.min(by_length).min(by_memory).clamp(1, 64)
}

/// How conv2d_backward_weight's operands are packed and which kernel reads them.
struct WeightGradLayout {
    kernel: &'static str,
    /// Whether the kernel is on the NN core (B read along its rows; no split-k).
    nn: bool,
    dy: Pack,
    x: Pack,
    /// Floats of k an image (both operands' row length).
    k: usize,
    /// Rows of packed x an image, and floats a row.
    x_rows: usize,
    x_cols: usize,
    constants: Vec<(&'static str, u32)>,
}

impl WeightGradLayout {
    /// For a conv of one group with input channels in fours and at most 128 output channels,
    /// dy over each image's pixels padded to whole vec4s and x channels-last, which
    /// conv2d_backward_weight_nhwc_sg (the NN core) reads where it lies: im2col^T's cost
    /// against the GEMM's goes as 1 / Cout, and with more output channels (AlexNet conv2–5:
    /// 256, 384) the NT core on im2col^T measured faster (AlexNet b32 conv3–5 weight
    /// gradients at 11–15% of the FMA ceiling on the NN core, 24–33% before). Otherwise
    /// dy and im2col^T over each image's pixels padded to whole vec4s (zeros in both
    /// operands), so that no vec4 spans two images: conv2d_pack reads a vec4 of dy, and of x
    /// for "same" convs, from two texels. A stride-1 conv of one group whose output rows are
    /// narrower than its input's (LeNet-5's conv2), whose im2col^T would gather x a value at
    /// a time, or a strided conv of one group with a kernel of 5 or more (AlexNet's conv1, whose
    /// im2col^T holds each value of x up to 9 times: the pass at batch 16 took 172 ms with it,
    /// 106 without, on Mesa 22.3 lavapipe): dy with each output row padded to whole quads and x
    /// in rows of texels (split by stride phase), which conv2d_backward_weight_rows_sg reads
    /// where they lie (see its header).
    fn of(p: &Conv2dParams) -> Self {
        let (_, kc, pixels) = dims(p);
        if p.groups == 1 && p.in_channels.is_multiple_of(4) && p.out_channels <= 128 {
            let pix4 = pixels.div_ceil(4) * 4;
            let (x_rows, mut constants) = channels_last(p);
            constants.push(("PIX4", pix4 as u32));
            return WeightGradLayout {
                kernel: "conv2d_backward_weight_nhwc_sg",
                nn: true,
                dy: Pack::DyByChannel,
                x: Pack::ChannelsLast,
                k: pix4,
                x_rows,
                x_cols: p.in_channels,
                constants,
            };
        }
        // Strided convs with wide kernels (AlexNet's conv1, 11 x 11 at stride 4; ResNet's and
        // GoogLeNet's 7 x 7 at stride 2), whose im2col^T copies each value of x up to
        // (KW / S)^2 times: texel rows split by stride phase instead.
        let phases = p.groups == 1 && p.stride > 1 && p.kernel_w >= 5;
        if !phases && (p.stride != 1 || p.groups != 1 || p.out_w() == p.in_w) {
            let same = p.stride == 1 && p.out_w() == p.in_w;
            return WeightGradLayout {
                kernel: "conv2d_backward_weight_sg",
                nn: false,
                dy: Pack::DyByChannel,
                x: if same {
                    Pack::Im2colTSame
                } else {
                    Pack::Im2colT
                },
                k: pixels.div_ceil(4) * 4,
                x_rows: kc,
                x_cols: 0,
                constants: Vec::new(),
            };
        }
        let quads = p.out_w().div_ceil(4);
        let st = p.stride;
        let hp = p.in_h + 2 * p.padding;
        let wt = quads + ((p.kernel_w - 1) / st).div_ceil(4);
        WeightGradLayout {
            kernel: "conv2d_backward_weight_rows_sg",
            nn: false,
            dy: Pack::DyRowQuads,
            x: if st == 1 {
                Pack::TexelRows
            } else {
                Pack::PhaseRows
            },
            k: p.out_h() * quads * 4,
            x_rows: p.in_channels * hp * st,
            x_cols: wt * 4,
            constants: vec![
                ("KH", p.kernel_h as u32),
                ("KW", p.kernel_w as u32),
                ("S", st as u32),
                ("Q", quads as u32),
                ("OHQ", (p.out_h() * quads) as u32),
                ("HP", hp as u32),
                ("WT", wt as u32),
            ],
        }
    }

    /// (rows, floats a row) of packed x for `images` images: im2col^T's rows span the
    /// images' k; texel rows are per image.
    fn x_shape(&self, images: usize) -> (usize, usize) {
        match self.x {
            Pack::TexelRows | Pack::PhaseRows | Pack::ChannelsLast => {
                (images * self.x_rows, self.x_cols)
            }
            _ => (self.x_rows, images * self.k),
        }
    }
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    (family, storage): (Family, Storage),
    p: &Conv2dParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let sg = subgroup_size(b)?;
    let (cg, kc, _) = dims(p);
    let g = p.groups;
    let (xb, yb) = image_bytes(p, x);
    let len = p.out_channels * kc;
    let l = WeightGradLayout::of(p);
    let (x_rows, x_cols) = l.x_shape(1);
    let per_image = (g * cg * l.k).max(packed_len(g, x_rows, x_cols));
    let mut first_launch = true;
    for c in b.chunks("conv2d_backward_weight", p.batch, &[xb, yb])? {
        for s in subs("conv2d_backward_weight", c, per_image, 0)? {
            let conv = p.uniform(s.count, !first_launch);
            first_launch = false;
            let q = s.count * l.k;
            let dyv = View::items(dy, c, yb);
            let a = pack(
                b,
                storage,
                conv,
                s.first,
                l.dy,
                dyv,
                Scratch::PackA,
                (cg, q),
            )?;
            let xv = View::items(x, c, xb);
            let x_shape = l.x_shape(s.count);
            let bm = pack(b, storage, conv, s.first, l.x, xv, Scratch::PackB, x_shape)?;
            let mut u = gemm_uniform(conv, s.first, (cg, kc, q));
            if l.nn {
                // The NN tile of linear's weight gradient (2 rows, 4 quads of columns a lane).
                let t = SgTile::for_nn(sg, 2, 4);
                let views = [View::Texture(&a), View::Texture(&bm), View::whole(dw)];
                let wg = t.workgroups_nn(cg, kc);
                b.dispatch_sg(l.kernel, storage, (t, &l.constants), &u, &views, wg)?;
                continue;
            }
            let t = family.sg_tile(sg, cg);
            let n = splits(t.workgroups(cg, kc, g, 1), q.div_ceil(4), len);
            u.conv.splits = n as u32;
            let partial = (n > 1).then(|| b.scratch(Scratch::Partial, (n * len * 4) as u64));
            let views = [
                View::Texture(&a),
                View::Texture(&bm),
                View::whole(dw),
                partial.as_deref().map_or(b.dummy(), View::buffer),
            ];
            // SPLIT picks the store (partial sums or dw) at compile time.
            let mut constants = l.constants.clone();
            constants.push(("SPLIT", (n > 1) as u32));
            let wg = t.workgroups(cg, kc, g, n);
            b.dispatch_sg(l.kernel, storage, (t, &constants), &u, &views, wg)?;
            if let Some(partial) = &partial {
                let (partial, accumulate) = (View::buffer(partial), u.conv.accumulate != 0);
                encode_reduce(b, storage, (partial, n, len), accumulate, dw, None)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Act;

    fn conv(
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

    /// Convs of one group with input channels in fours take the channels-last weight
    /// gradient; other stride-1 convs with output rows narrower than the input's, and strided
    /// ones with kernels of 5 or more, the rows one; "same" convs and other strided ones keep
    /// im2col^T.
    #[test]
    fn weight_gradients_without_im2col_t_are_stride_one_and_narrower() {
        let lenet_conv2 = WeightGradLayout::of(&conv(6, 14, 16, 5, 1, 0));
        assert_eq!(lenet_conv2.kernel, "conv2d_backward_weight_rows_sg");
        // 10 output columns in 3 quads, 10 rows; 14 input columns in 3 + 1 texels.
        assert_eq!(lenet_conv2.k, 120);
        assert_eq!((lenet_conv2.x_rows, lenet_conv2.x_cols), (6 * 14, 16));
        assert_eq!(lenet_conv2.x_shape(3), (3 * 6 * 14, 16));
        let same = WeightGradLayout::of(&conv(3, 13, 384, 3, 1, 1));
        assert_eq!(same.kernel, "conv2d_backward_weight_sg");
        assert!(matches!(same.x, Pack::Im2colTSame));
        assert_eq!((same.k, same.x_shape(2)), (172, (3 * 9, 344)));
        let alexnet_conv3 = WeightGradLayout::of(&conv(256, 13, 384, 3, 1, 1));
        assert!(matches!(alexnet_conv3.x, Pack::Im2colTSame));
        let nhwc = WeightGradLayout::of(&conv(256, 13, 128, 3, 1, 1));
        assert_eq!(
            (nhwc.kernel, nhwc.nn, nhwc.k),
            ("conv2d_backward_weight_nhwc_sg", true, 172)
        );
        assert_eq!(nhwc.x_shape(2), (2 * 15 * 15, 256));
        // AlexNet's conv1: 55 output columns in 14 quads; phase rows of 14 + 1 texels (the
        // widest tap starts 10 / 4 = 2 columns in), 4 phases of each of 227 rows.
        let phases = WeightGradLayout::of(&conv(3, 227, 96, 11, 4, 0));
        assert_eq!(phases.kernel, "conv2d_backward_weight_rows_sg");
        assert!(matches!(phases.x, Pack::PhaseRows));
        assert_eq!(
            (phases.k, phases.x_rows, phases.x_cols),
            (55 * 14 * 4, 3 * 227 * 4, 60)
        );
        let strided = WeightGradLayout::of(&conv(3, 32, 64, 3, 2, 1));
        assert!(matches!(strided.x, Pack::Im2colT));
    }
}
