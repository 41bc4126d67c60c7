//! Launcher of the dropout passes; chunks carry their first element's index so the mask is
//! the same however the tensor is split.

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::DropoutParams;

pub fn encode(
    b: &GpuBackend,
    kernel: &'static str,
    p: &DropoutParams,
    input: &GpuTensor,
    output: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of(kernel, &[input, output])?;
    b.set_per_step(Some(p.step), None)?;
    let e = output.dtype.size() as u64;
    for c in b.chunks(kernel, p.len, &[e])? {
        let views = [View::items(input, c, e), View::items(output, c, e)];
        b.dispatch(
            kernel,
            storage,
            &p.uniform(c.start, c.count),
            &views,
            flat_workgroups(c.count),
        )?;
    }
    Ok(())
}
