// Uniform parameters of the subgroup-family linear kernels (linear_pack and the GEMMs);
// mirrors gpu::kernels::linear_sg::LinearSgUniform. The GEMM covers weight rows
// [row0, row0 + rows) with M x N outputs and a reduction of k4 vec4s. linear_pack writes
// `prows` rows of k4 * 4 floats (the first `pcols` hold data) from a matrix whose rows hold
// `features` floats, `len` floats in all.
struct LinearSgUniform {
    batch: u32, in_features: u32, out_features: u32, has_bias: u32,
    row0: u32, rows: u32, m: u32, n: u32,
    k4: u32, prows: u32, pcols: u32, len: u32,
    features: u32, act: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: LinearSgUniform;
