//! The subgroup family's conv2d weight gradient: its operand layouts (which kernel reads
//! which packs), the split-k plan and the launches.

use super::{
    channels_last, dims, gemm_uniform, pack, packed_len, subgroup_size, subs, Pack, Sub,
    SCRATCH_FLOATS,
};
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{Chunk, GpuTensor, View};
use crate::gpu::gemm_sg::SgTile;
use crate::gpu::kernels::conv2d::{encode_reduce, image_bytes};
use crate::gpu::kernels::Family;
use crate::gpu::{GpuBackend, Storage};
use crate::ops::Conv2dParams;

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
    // conv2d_backward_weight_rows_sg reads its operands in the storage's texel format, dy and
    // x where their producers mirrored them (LeNet-5's conv2: pool2's backward and pool1's
    // forward), as the tensors hold them; x's runs lie in its rows where the conv has stride 1
    // and no padding.
    let rows = matches!(l.x, Pack::TexelRows | Pack::PhaseRows);
    let plain = matches!(l.x, Pack::TexelRows) && p.padding == 0;
    let x_image = p.in_channels * p.in_h * p.in_w;
    let y_image = p.out_channels * p.out_h() * p.out_w();
    let mut first_launch = true;
    for c in b.chunks("conv2d_backward_weight", p.batch, &[xb, yb])? {
        for s in subs("conv2d_backward_weight", c, per_image, 0)? {
            let conv = p.uniform(s.count, !first_launch);
            first_launch = false;
            let q = s.count * l.k;
            let dyv = View::items(dy, c, yb);
            let xv = View::items(x, c, xb);
            let mut constants = l.constants.clone();
            let dy_mirror = if rows {
                mirror(b, storage, (dyv, c, s), y_image)
            } else {
                None
            };
            let a = match dy_mirror {
                Some(mirror) => {
                    constants.push(("A_TENSOR", 1));
                    mirror
                }
                None => {
                    let slot = (Scratch::PackA, rows);
                    pack(b, storage, conv, s.first, l.dy, dyv, slot, (cg, q))?
                }
            };
            let x_mirror = if plain {
                mirror(b, storage, (xv, c, s), x_image)
            } else {
                None
            };
            // Floats a row of B: the tensor's rows in its mirror, else the packed rows'.
            let row = if x_mirror.is_some() { p.in_w } else { l.x_cols };
            if rows {
                constants.push(("ROW", row as u32));
            }
            let bm = match x_mirror {
                Some(mirror) => mirror,
                None => {
                    let (slot, x_shape) = ((Scratch::PackB, rows), l.x_shape(s.count));
                    pack(b, storage, conv, s.first, l.x, xv, slot, x_shape)?
                }
            };
            let mut u = gemm_uniform(conv, s.first, (cg, kc, q));
            if l.nn {
                // The NN tile of linear's weight gradient (2 rows, 4 quads of columns a lane).
                let t = SgTile::for_nn(sg, 2, 4);
                let views = [View::Texture(&a), View::Texture(&bm), View::whole(dw)];
                let wg = t.workgroups_nn(cg, kc);
                b.dispatch_sg(l.kernel, storage, (t, &constants), &u, &views, wg)?;
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

/// The mirror of the chunk's images of a tensor (`image` values each) where the launch that
/// produced it filled one ([`crate::gpu::mirrors`]) and this launch covers the chunk.
fn mirror(
    b: &GpuBackend,
    storage: Storage,
    (view, c, s): (View<'_>, Chunk, Sub),
    image: usize,
) -> Option<std::sync::Arc<wgpu::TextureView>> {
    if s.count != c.count {
        return None;
    }
    crate::gpu::kernels::texture_pack::mirror(b, storage, view, (0, c.count * image))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::kernels::conv2d_sg::tests::conv;

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
