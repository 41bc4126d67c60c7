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

/// An activation applied in the epilogue of a conv2d or linear forward pass, after the bias
/// (the model fuses a conv2d or linear layer with the relu or tanh that follows it). Its
/// uniform code: 0 none, 1 relu, 2 tanh (shaders/common/activation.wgsl).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Act {
    #[default]
    None,
    Relu,
    Tanh,
}

impl Act {
    /// The code the kernels' uniforms carry.
    pub fn code(self) -> u32 {
        match self {
            Act::None => 0,
            Act::Relu => 1,
            Act::Tanh => 2,
        }
    }
    /// The name in profiles and messages ("" for none).
    pub fn name(self) -> &'static str {
        match self {
            Act::None => "",
            Act::Relu => "relu",
            Act::Tanh => "tanh",
        }
    }
}
