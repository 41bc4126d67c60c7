// avg_pool2d_backward_input_mirror: avg_pool2d_backward_input (its scalar path: any window,
// ADAPTIVE and the folded activation too) that also fills dx's mirror (gpu::mirrors), the
// texture a later launch reads dx through — LeNet-5's pool2, whose input gradient (conv2's
// output gradient, after tanh2's backward) conv2's direct input-gradient pass reads.
//   dx[i] as avg_pool2d_backward_input; mirror texel t = (dx[4t], ..., dx[4t + 3]) as dx holds
//   them, for t < TEXELS (zero past dx's end)
// One invocation: one texel, the four input values 4t..4t+3 (dx's length is a multiple of 4:
// gpu::kernels::pool2d), stored as one vec4.
// With READ_BACK (the f16 storages) the texel is dx's vec4 loaded back (common/mirror_texel).
// Dispatch: ceil(TEXELS / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation; the mirror in the storage's
// precision (rgba16float in the f16 storages).
// CPU reference: cpu::pool2d::avg_backward_input (the mirror: tests/gpu_behaviour.rs compares
// the convolution that reads it with the packed path's, bit for bit).
//#tensor 1 dy read
//#tensor4 2 dx write
//#tensor4 3 act_out read
//#include flat
//#include pool2d_params
//#include act_derivative
//#include act_backward
//#include avg_dx
//#texture_out 4 mirror
//#include mirror_texel

@compute @workgroup_size(256, 1, 1)
fn avg_pool2d_backward_input_mirror(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let t = flat_index(wid, nwg, lindex);
    let i = t * 4u;
    let inside = t < TEXELS && i < params.batch * CHANNELS * IN_H * IN_W;
    var v = vec4<f32>(0.0);
    if inside {
        v = vec4<f32>(avg_dx(i), avg_dx(i + 1u), avg_dx(i + 2u), avg_dx(i + 3u));
        dx_st4(t, v);
    }
    if READ_BACK {
        storageBarrier();
        if inside {
            v = dx_ld4(t);
        }
    }
    mirror_store(t, v);
}
