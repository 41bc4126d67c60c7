//! relu and tanh: element-wise, no parameters beyond the length.

/// Mirror of `ElementwiseUniform` in shaders/common/elementwise_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ElementwiseUniform {
    pub len: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}
