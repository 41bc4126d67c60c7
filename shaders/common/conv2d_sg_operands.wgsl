// The packed operands of the subgroup-family conv2d GEMMs (conv2d_pack's output): rows of
// params.k4 vec4s, problem (group) after problem; the row hooks of the gemm_sg core.
@group(0) @binding(1) var<storage, read> apack: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bpack: array<vec4<f32>>;
fn gemm_a_row(g: u32, m: u32) -> u32 { return (g * params.m + m) * params.k4; }
fn gemm_b_row(g: u32, n: u32) -> u32 { return (g * params.n + n) * params.k4; }
fn gemm_a4(i: u32) -> vec4<f32> { return apack[i]; }
fn gemm_b4(i: u32) -> vec4<f32> { return bpack[i]; }
