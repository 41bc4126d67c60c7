//! Launcher of the element-wise kernels (relu and tanh, forward and backward), split into
//! element chunks when a tensor exceeds one binding.

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::ElementwiseUniform;

/// Records `kernel` over `inputs` (bindings 1..) and `output` (the last binding).
pub fn encode(
    b: &GpuBackend,
    kernel: &'static str,
    inputs: &[&GpuTensor],
    output: &GpuTensor,
) -> Result<()> {
    let mut all: Vec<&GpuTensor> = inputs.to_vec();
    all.push(output);
    let storage = b.storage_of(kernel, &all)?;
    let e = output.dtype.size() as u64;
    for c in b.chunks(kernel, output.shape.numel(), &[e])? {
        let views: Vec<View> = all.iter().map(|t| View::items(t, c, e)).collect();
        let u = ElementwiseUniform {
            len: c.count as u32,
            ..Default::default()
        };
        b.dispatch(kernel, storage, &u, &views, flat_workgroups(c.count))?;
    }
    Ok(())
}
