// Uniform parameters of the workgroup-family linear passes that may split k (forward,
// backward_input) and of their reduce; mirrors gpu::kernels::linear_wg::WgUniform: the
// LinearUniform fields (see linear_params), then `splits`, the number of k slices (1: the
// GEMM stores the result itself; more: it stores partial sums for linear_reduce_wg).
struct LinearWgUniform {
    batch: u32, in_features: u32, out_features: u32, has_bias: u32,
    row0: u32, rows: u32, accumulate: u32, act: u32,
    splits: u32, _pad1: u32, _pad2: u32, _pad3: u32,
}
@group(0) @binding(0) var<uniform> params: LinearWgUniform;
