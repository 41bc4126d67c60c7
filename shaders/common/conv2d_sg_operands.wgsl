// The packed operands of the subgroup-family conv2d GEMMs (conv2d_pack's output): rows of
// params.k4 vec4s, problem (group) after problem, vec4 i at texel (i % 2048, i / 2048) of an
// rgba32float texture (TEXTURE_ROW in src/gpu/backend.rs); A's hooks of the gemm_sg core and
// the texel loads (B's row hooks: conv2d_sg_packed_b, or the kernel's own).
// Textures, not storage buffers: lavapipe runs a texture load 2.5x (Mesa 22.3) and 1.5x
// (Mesa 25) faster in this GEMM (examples/lab/gemm_operands.py); read-only storage textures,
// not sampled ones: half the cost of a sampled texel fetch there (gpu::shaders::texture_decl).
// The kernel binds them at 1 and 2 as `apack` and `bpack` (`//#texture`).
fn gemm_a_row(g: u32, m: u32) -> u32 { return (g * params.m + m) * params.k4; }
fn gemm_a4(i: u32) -> vec4<f32> { return apack_ld4(i); }
fn gemm_a_at(row: u32, k: u32) -> vec4<f32> { return gemm_a4(row + k); }
fn gemm_b4(i: u32) -> vec4<f32> { return bpack_ld4(i); }
