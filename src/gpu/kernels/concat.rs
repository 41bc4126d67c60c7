//! Launchers of the concat passes, split into batch chunks when a tensor exceeds one binding.

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::ConcatParams;

/// Records `kernel` from `src` to `dst`: x into y's channels (forward) or dy's channels into
/// dx (backward_input). `src_is_input`: whether `src` has the input's shape.
fn encode(
    b: &GpuBackend,
    kernel: &'static str,
    p: &ConcatParams,
    src: &GpuTensor,
    dst: &GpuTensor,
    src_is_input: bool,
) -> Result<()> {
    let storage = b.storage_of(kernel, &[src, dst])?;
    let e = src.dtype.size() as u64;
    let pixels = (p.h * p.w) as u64;
    let (input, output) = (p.channels as u64 * pixels * e, p.total as u64 * pixels * e);
    let (src_bytes, dst_bytes) = if src_is_input {
        (input, output)
    } else {
        (output, input)
    };
    for c in b.chunks(kernel, p.batch, &[src_bytes, dst_bytes])? {
        let views = [
            View::items(src, c, src_bytes),
            View::items(dst, c, dst_bytes),
        ];
        let wg = flat_workgroups(c.count * p.channels * p.h * p.w);
        b.dispatch(kernel, storage, &p.uniform(c.count), &views, wg)?;
    }
    Ok(())
}

pub fn encode_forward(
    b: &GpuBackend,
    p: &ConcatParams,
    x: &GpuTensor,
    y: &GpuTensor,
) -> Result<()> {
    encode(b, "concat_forward", p, x, y, true)
}

pub fn encode_backward_input(
    b: &GpuBackend,
    p: &ConcatParams,
    dy: &GpuTensor,
    dx: &GpuTensor,
) -> Result<()> {
    encode(b, "concat_backward_input", p, dy, dx, false)
}
