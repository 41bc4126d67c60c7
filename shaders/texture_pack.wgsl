// texture_pack: copies values [start, start + len) of a tensor into the texture (in its storage
// precision) that kernels read with `//#texture N name storage` (vec4 i at texel (i % 2048,
// i / 2048), TEXTURE_ROW in src/gpu/backend.rs), 0 past the end: one storage load a value.
// texture_pack4 copies tensors of whole vec4s with one load a texel.
// One invocation: one texel. Dispatch: ceil(ceil(len / 4) / 256) workgroups, linearised.
// Precision: src and dst in storage precision (dst rgba16float in the f16 storages: the values
// are copied as they are).
// CPU reference: none of its own (checked through the kernels that read the texture).
//#tensor 1 src read
//#include flat
struct PackUniform { len: u32, start: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> params: PackUniform;
//#texture_out 2 dst

@compute @workgroup_size(256, 1, 1)
fn texture_pack(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i * 4u >= params.len {
        return;
    }
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if i * 4u + j < params.len {
            v[j] = src_ld(params.start + i * 4u + j);
        }
    }
    textureStore(dst, vec2<u32>(i & 2047u, i >> 11u), v);
}
