// The packed operands of the subgroup-family conv2d GEMMs (conv2d_pack's output): rows of
// params.k4 vec4s, problem (group) after problem, vec4 i at texel (i % 2048, i / 2048) of an
// rgba32float texture (TEXTURE_ROW in src/gpu/backend.rs); A's hooks of the gemm_sg core and
// the texel loads (B's row hooks: conv2d_sg_packed_b, or the kernel's own).
// Textures, not storage buffers: lavapipe runs a texture load 2.5x (Mesa 22.3) and 1.5x
// (Mesa 25) faster in this GEMM (examples/lab/gemm_operands.py); read-only storage textures,
// not sampled ones: half the cost of a sampled texel fetch there (gpu::shaders::texture_decl).
@group(0) @binding(1) var apack: texture_storage_2d<rgba32float, read>;
@group(0) @binding(2) var bpack: texture_storage_2d<rgba32float, read>;
fn gemm_a_row(g: u32, m: u32) -> u32 { return (g * params.m + m) * params.k4; }
fn gemm_a4(i: u32) -> vec4<f32> { return textureLoad(apack, vec2<u32>(i & 2047u, i >> 11u)); }
fn gemm_b4(i: u32) -> vec4<f32> { return textureLoad(bpack, vec2<u32>(i & 2047u, i >> 11u)); }
