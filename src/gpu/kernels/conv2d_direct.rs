//! The direct conv2d forward and weight gradient (shaders/conv2d_forward_direct.wgsl,
//! conv2d_backward_weight_direct.wgsl): for convolutions with few output channels and short
//! kernel rows, where the subgroup family's operand packing costs more than its GEMM (LeNet-5's
//! conv1: packing the 25-tap columns of 50,000 pixels took 5x the GEMM). The geometry is
//! pipeline constants, so the kernels have no runtime index division.

use super::conv2d::{image_bytes, ReduceUniform};
use crate::error::Result;
use crate::gpu::backend::Scratch;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::{GpuBackend, Storage};
use crate::ops::Conv2dParams;

/// Output pixels per invocation (`PX` in the shader).
const PX: usize = 4;

/// Whether the direct kernel runs `p`: one group, at most 16 output channels (its
/// accumulators), input row segments of at most 16 values (`MAX_COUT`, `MAX_ROW` in the
/// shader), output rows of whole vec4s, and a short reduction: at most 32 taps per output
/// (measured on lavapipe: LeNet-5's conv1, 25 taps, 3x faster than packing for the GEMM;
/// conv2, 150 taps, slower).
pub fn eligible(p: &Conv2dParams) -> bool {
    let taps = p.in_channels * p.kernel_h * p.kernel_w;
    p.groups == 1
        && p.out_channels <= 16
        && (PX - 1) * p.stride + p.kernel_w <= 16
        && p.out_w().is_multiple_of(PX)
        && taps <= 32
}

/// Whether the direct weight gradient runs `p`: as [`eligible`], with at most 64 sums per
/// invocation (`MAX_ACC`: Cout * Cin * KW).
pub fn eligible_backward_weight(p: &Conv2dParams) -> bool {
    eligible(p) && p.out_channels * p.in_channels * p.kernel_w <= 64
}

/// Slices of output rows the weight gradient is split into (its split-k): enough invocations
/// (slices x KH) for every core, few enough that the reduction stays short.
const MAX_SLICES: usize = 256;

/// Whether input rows load as whole vec4s: every row segment starts at a multiple of 4.
fn aligned(p: &Conv2dParams) -> bool {
    p.stride == 1 && p.in_w.is_multiple_of(4) && p.padding.is_multiple_of(4)
}

/// The geometry as the kernels' pipeline constants.
fn constants(p: &Conv2dParams) -> [(&'static str, u32); 11] {
    let u32_of = |v: usize| v as u32;
    [
        ("CIN", u32_of(p.in_channels)),
        ("COUT", u32_of(p.out_channels)),
        ("KH", u32_of(p.kernel_h)),
        ("KW", u32_of(p.kernel_w)),
        ("STRIDE", u32_of(p.stride)),
        ("PAD", u32_of(p.padding)),
        ("IN_H", u32_of(p.in_h)),
        ("IN_W", u32_of(p.in_w)),
        ("OUT_H", u32_of(p.out_h())),
        ("OUT_W", u32_of(p.out_w())),
        ("ALIGNED", aligned(p) as u32),
    ]
}

pub fn encode_forward(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    let (xb, yb) = image_bytes(p, x);
    let constants = constants(p);
    for c in b.chunks("conv2d_forward", p.batch, &[xb, yb])? {
        let views = [
            View::items(x, c, xb),
            View::whole(w),
            bias.map_or(b.dummy(), View::whole),
            View::items(y, c, yb),
        ];
        let invocations = c.count * p.out_h() * p.out_w() / PX;
        b.dispatch_with(
            "conv2d_forward_direct",
            storage,
            &constants,
            &p.uniform(c.count, false),
            &views,
            super::flat_workgroups(invocations),
        )?;
    }
    Ok(())
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    storage: Storage,
    p: &Conv2dParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    let (xb, yb) = image_bytes(p, x);
    let constants = constants(p);
    let len = p.out_channels * p.in_channels * p.kernel_h * p.kernel_w;
    for c in b.chunks("conv2d_backward_weight", p.batch, &[xb, yb])? {
        let slices = (c.count * p.out_h()).min(MAX_SLICES);
        let partial = b.scratch(Scratch::Partial, (slices * len * 4) as u64);
        let mut u = p.uniform(c.count, c.start > 0);
        u.splits = slices as u32;
        let views = [
            View::items(dy, c, yb),
            View::items(x, c, xb),
            View::buffer(&partial),
        ];
        b.dispatch_with(
            "conv2d_backward_weight_direct",
            storage,
            &constants,
            &u,
            &views,
            super::flat_workgroups(slices * p.kernel_h),
        )?;
        let r = ReduceUniform {
            len: len as u32,
            splits: slices as u32,
            accumulate: u.accumulate,
            _pad0: 0,
        };
        b.dispatch(
            "conv2d_backward_weight_reduce",
            storage,
            &r,
            &[View::buffer(&partial), View::whole(dw)],
            super::flat_workgroups(len),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Act;

    fn conv(
        cin: usize,
        hw: (usize, usize),
        cout: usize,
        k: usize,
        s: usize,
        pad: usize,
    ) -> Conv2dParams {
        Conv2dParams {
            batch: 2,
            in_channels: cin,
            in_h: hw.0,
            in_w: hw.1,
            out_channels: cout,
            kernel_h: k,
            kernel_w: k,
            stride: s,
            padding: pad,
            groups: 1,
            bias: true,
            act: Act::None,
        }
    }

    /// The parity cases that exercise the kernel (src/parity/cases.rs) do reach it, on the
    /// path each is named for.
    #[test]
    fn lenet_conv1_and_the_direct_parity_cases_take_the_direct_kernel() {
        let lenet_conv1 = conv(1, (32, 32), 6, 5, 1, 0);
        let lenet_conv2 = conv(6, (14, 14), 16, 5, 1, 0);
        let rgb_pad1 = conv(3, (9, 12), 8, 3, 1, 1);
        let stride2 = conv(1, (16, 16), 5, 3, 2, 1);
        let aligned_pad4 = conv(1, (6, 8), 4, 5, 1, 4);
        for p in [lenet_conv1, rgb_pad1, stride2, aligned_pad4] {
            assert!(eligible(&p), "{p:?}");
        }
        assert!(!eligible(&lenet_conv2));
        for p in [lenet_conv1, stride2, aligned_pad4] {
            assert!(eligible_backward_weight(&p), "{p:?}");
        }
        // 8 channels x 3 inputs x 3 taps a row: 72 sums, over MAX_ACC.
        assert!(!eligible_backward_weight(&rgb_pad1));
        assert!(aligned(&lenet_conv1) && aligned(&aligned_pad4));
        assert!(!aligned(&rgb_pad1) && !aligned(&stride2));
    }
}
