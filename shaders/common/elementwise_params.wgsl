// Uniform parameters of the element-wise kernels (relu, tanh); mirrors ops::activation::ElementwiseUniform.
struct ElementwiseUniform {
    len: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: ElementwiseUniform;
