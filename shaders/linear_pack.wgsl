// linear_pack: copies a linear operand into the rgba32float texture the subgroup GEMMs read
// (common/linear_sg_operands: vec4 i at texel (i % 2048, i / 2048)): `prows` rows of k4 vec4s,
// zero past `pcols` columns.
// Layout, from a [batch][features]: dst[f][b] = a[b][row0 + f] (backward_weight's A = dy^T,
// the batch as k): the pieces of dy^T after the first, which linear_pack_pair packs with x.
// One invocation: one vec4 of a packed row. Dispatch: ceil(prows * k4 / 256) workgroups,
// linearised. Index math divides through f32 (div_u): packed operands hold at most 2^24
// floats (gpu::kernels::linear_sg::supports).
// Precision: src in storage precision, dst f32.
// CPU reference: none of its own (checked through the linear passes it feeds).
//#tensor 1 src read
//#include linear_sg_params
//#include flat
//#include div
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(256, 1, 1)
fn linear_pack(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i * 4u >= params.len {
        return;
    }
    let row = div_u(i, params.k4);
    let col = (i - row * params.k4) * 4u;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if col + j < params.pcols {
            v[j] = src_ld((col + j) * params.features + params.row0 + row);
        }
    }
    textureStore(dst, vec2<u32>(i & 2047u, i >> 11u), v);
}
