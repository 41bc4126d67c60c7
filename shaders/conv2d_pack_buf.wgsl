// conv2d_pack_buf: conv2d_pack reading the tensor's buffer instead of a texture copy, for the
// layouts that read each value once or twice (dy by channel or by row quads, x in texel rows,
// by stride phase or channels-last, the weights): on Mesa 22.3 lavapipe the copy into a
// texture costs a vector load and a texel store a vec4, about 2.5x what the load alone costs
// (examples/kernel_lab.rs, 2-core Zen 4: 2.2 ns a vec4 load, 3.2 a texel store, 1.4 a texel
// load), and it is a launch of its own. The im2col layouts, which read each value once per
// tap that covers it, keep the texture.
// Layouts, dispatch and precision: conv2d_pack's (common/conv2d_pack_modes). src is the bound
// images (counted from `first`) or weights, whole vec4s.
// CPU reference: none of its own (checked through the conv2d passes it feeds).
//#tensor4 1 src read
//#include conv2d_sg_params
//#include flat
//#include div
//#include conv2d_positions
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
//#include conv2d_pack_modes

// Vec4 t of src, clamped into the `values` values it holds.
fn src_texel(t: i32, values: u32) -> vec4<f32> {
    return src_ld4(u32(clamp(t, 0, i32((values + 3u) / 4u) - 1)));
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_pack_buf(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    conv2d_pack_run(wid, nwg, lindex);
}
