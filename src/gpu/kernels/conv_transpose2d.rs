//! Launchers of the conv_transpose2d passes: each is a pass of the convolution it transposes
//! ([`ConvTranspose2dParams::dual`]), run by that convolution's launchers in whichever family
//! is chosen for it — forward = the dual's input gradient (then the bias), input gradient =
//! the dual's forward pass, weight gradient = the dual's weight gradient with dy as its input
//! and x as its output gradient, bias gradient = channel sums of dy.

use super::conv2d;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::kernels::conv2d::ChannelSumUniform;
use crate::gpu::GpuBackend;
use crate::ops::{Act, Conv2dParams, ConvTranspose2dParams};

pub fn encode_forward(
    b: &GpuBackend,
    p: &ConvTranspose2dParams,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    y: &GpuTensor,
) -> Result<()> {
    conv2d::encode_backward_input(b, &p.dual(), x, w, y)?;
    let Some(bias) = bias else { return Ok(()) };
    let kernel = "conv_transpose2d_bias";
    let storage = b.storage_of(kernel, &[bias, y])?;
    let pixels = p.out_h() * p.out_w();
    let yb = (p.out_channels * pixels * y.dtype.size()) as u64;
    for c in b.chunks(kernel, p.batch, &[yb])? {
        let u = ChannelSumUniform {
            batch: c.count as u32,
            channels: p.out_channels as u32,
            pixels: pixels as u32,
            accumulate: 0,
        };
        let views = [View::whole(bias), View::items(y, c, yb)];
        let wg = super::flat_workgroups(c.count * p.out_channels * pixels);
        b.dispatch(kernel, storage, &u, &views, wg)?;
    }
    Ok(())
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &ConvTranspose2dParams,
    dy: &GpuTensor,
    w: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    conv2d::encode_forward(b, &p.dual(), dy, w, None, dx)
}

pub fn encode_backward_weight(
    b: &GpuBackend,
    p: &ConvTranspose2dParams,
    dy: &GpuTensor,
    x: &GpuTensor,
    dw: &GpuTensor,
) -> Result<()> {
    conv2d::encode_backward_weight(b, &p.dual(), x, dy, dw)
}

pub fn encode_backward_bias(
    b: &GpuBackend,
    p: &ConvTranspose2dParams,
    dy: &GpuTensor,
    db: &GpuTensor,
) -> Result<()> {
    // The bias gradient of a 1x1 convolution whose output is dy.
    let sums = Conv2dParams {
        batch: p.batch,
        in_channels: p.out_channels,
        in_h: p.out_h(),
        in_w: p.out_w(),
        out_channels: p.out_channels,
        kernel_h: 1,
        kernel_w: 1,
        stride: 1,
        padding: 0,
        groups: 1,
        bias: true,
        act: Act::None,
    };
    conv2d::encode_backward_bias(b, &sums, dy, db)
}
