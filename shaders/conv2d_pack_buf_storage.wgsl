// conv2d_pack_buf_storage: conv2d_pack_buf with dst in the storage's texel format
// (rgba16float in the f16 storages), for kernels that read their packed operands as
// `//#texture ... storage` — conv2d_backward_weight_rows_sg, which reads a tensor's mirror
// (gpu::mirrors) in place of a pack where the launch that produced the tensor filled one. The
// layouts copy values (zeros elsewhere), so a pack in the storage's precision is exact.
// Layouts, dispatch: conv2d_pack's (common/conv2d_pack_modes). src: conv2d_pack_buf's.
// Precision: src and dst in storage precision.
// CPU reference: none of its own (checked through the conv2d passes it feeds).
//#tensor4 1 src read
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
fn conv2d_pack_buf_storage(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    conv2d_pack_run(wid, nwg, lindex);
}
