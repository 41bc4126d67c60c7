// conv2d_pack_storage: conv2d_pack (src a texture that texture_pack filled) with dst in the
// storage's texel format, as conv2d_pack_buf_storage (whose header says why), for the tensors
// that do not bind as whole vec4s.
// Layouts, dispatch: conv2d_pack's (common/conv2d_pack_modes).
// Precision: src and dst in storage precision.
// CPU reference: none of its own (checked through the conv2d passes it feeds).
//#texture 1 src storage
//#texture_out 2 dst
//#include conv2d_sg_params
//#include flat
//#include div
//#include conv2d_positions
//#include conv2d_pack_modes

fn src_texel(t: i32, values: u32) -> vec4<f32> {
    return src_ld4(u32(clamp(t, 0, i32((values + 3u) / 4u) - 1)));
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_pack_storage(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    conv2d_pack_run(wid, nwg, lindex);
}
