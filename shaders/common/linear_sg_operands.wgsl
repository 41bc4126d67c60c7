// B of the subgroup-family linear GEMMs, read as a texture (vec4 i at texel (i % 2048,
// i / 2048), TEXTURE_ROW in src/gpu/backend.rs): the weight rows of the launch
// (gpu::weight_textures: rgba32float for f32 weights, rgba16float for f16 ones) or x packed by
// linear_pack. On Mesa 22.3 lavapipe a texture load is a gather where a storage load runs lane
// by lane (gpu::weight_textures). A — x or dy as they are, or dy^T packed by linear_pack — is
// the kernel's: `operand_a4(i)`.
// The kernel binds it at 2 as `bpack` (`//#texture 2 bpack storage` for a weight texture).
fn operand_b4(i: u32) -> vec4<f32> { return bpack_ld4(i); }
