// texture_pack4: texture_pack for whole vec4s (start and len multiples of 4): one vector load
// a texel.
// One invocation: one texel. Dispatch: ceil(len / 4 / 256) workgroups, linearised.
// Precision: src and dst in storage precision (dst rgba16float in the f16 storages: the values
// are copied as they are).
// CPU reference: none of its own (checked through the kernels that read the texture).
//#tensor4 1 src read
//#include flat
struct PackUniform { len: u32, start: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> params: PackUniform;
//#texture_out 2 dst

@compute @workgroup_size(256, 1, 1)
fn texture_pack4(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i * 4u < params.len {
        textureStore(dst, vec2<u32>(i & 2047u, i >> 11u), src_ld4(params.start / 4u + i));
    }
}
