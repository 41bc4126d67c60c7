// avg_pool2d_forward_mirror: avg_pool2d_forward (any window, ADAPTIVE too, and its vec4 path
// with QUADS) that also fills y's mirror (gpu::mirrors), the texture a later launch reads y
// through — LeNet-5's pool1, whose output conv2's direct forward reads, and pool2, whose output
// conv3's weight gradient (a GEMM) reads as its packed B operand.
//   y[i] as avg_pool2d_forward; mirror texel t = (y[4t], ..., y[4t + 3]) as y holds them, for
//   t < TEXELS (zero past y's end: the rows of a batch padded to a multiple of 4;
//   common/mirror_texel)
// One invocation: one texel, the four outputs 4t..4t+3 (y's length is a multiple of 4:
// gpu::kernels::pool2d), with QUADS as two pairs of the vec4 path (OUT_W is even, so a pair
// lies in one row).
// y stored as one vec4; with READ_BACK (the f16 storages) the texel is y's vec4 loaded back
// (common/mirror_texel).
// Dispatch: ceil(TEXELS / 256) workgroups, linearised.
// Precision: x and y in storage precision; the mirror in the storage's precision too
// (rgba16float in the f16 storages), holding y's values.
// CPU reference: cpu::pool2d::avg_forward (the mirror: tests/gpu_behaviour.rs compares the
// weight gradient that reads it with the packed path's, bit for bit).
//#tensor4 1 x read
//#tensor4 2 y write
//#include flat
//#include pool2d_params
//#include avg_window
//#texture_out 3 mirror
//#include mirror_texel
override QUADS: bool = false;

@compute @workgroup_size(256, 1, 1)
fn avg_pool2d_forward_mirror(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let t = flat_index(wid, nwg, lindex);
    let i = t * 4u;
    // Texels of y (the others are zero padding or past the mirror).
    let inside = t < TEXELS && i < params.batch * CHANNELS * OUT_H * OUT_W;
    var v = vec4<f32>(0.0);
    if inside {
        if QUADS {
            v = vec4<f32>(avg_pair(t * 2u), avg_pair(t * 2u + 1u));
        } else {
            v = vec4<f32>(avg_window(i), avg_window(i + 1u), avg_window(i + 2u), avg_window(i + 3u));
        }
        y_st4(t, v);
    }
    if READ_BACK {
        storageBarrier();
        if inside {
            v = y_ld4(t);
        }
    }
    mirror_store(t, v);
}
