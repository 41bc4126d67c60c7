// avg_pool2d_forward_mirror: avg_pool2d_forward (any window, ADAPTIVE too, and its vec4 path
// with QUADS) that also fills y's mirror (gpu::mirrors), the texture a later launch reads y
// through — LeNet-5's pool1, whose output conv2's direct forward reads, and pool2, whose output
// conv3's weight gradient (a GEMM) reads as its packed B operand.
//   y[i] as avg_pool2d_forward; mirror texel t = (y[4t], ..., y[4t + 3]) as y holds them, for
//   t < TEXELS (zero past y's end: the rows of a batch padded to a multiple of 4)
// One invocation: one texel, the four outputs 4t..4t+3 (y's length is a multiple of 4:
// gpu::kernels::pool2d), with QUADS as two pairs of the vec4 path (OUT_W is even, so a pair
// lies in one row).
// With READ_BACK (the f16 storages) the texel is y's four values loaded back after a storage
// barrier, not the sums rounded in registers: on Mesa 25 lavapipe f32(f16(v)) in registers
// and the f16 the store kept differ in the last bit (conv3's weight gradient then differed
// from the packed path's by an f16 ulp), and without the barrier the load is folded into the
// store.
// Dispatch: ceil(TEXELS / 256) workgroups, linearised.
// Precision: x and y in storage precision; the mirror in the storage's precision too
// (rgba16float in the f16 storages), holding y's values.
// CPU reference: cpu::pool2d::avg_forward (the mirror: tests/gpu_behaviour.rs compares the
// weight gradient that reads it with the packed path's, bit for bit).
//#tensor4 1 x read
//#tensor 2 y write
//#include flat
//#include pool2d_params
//#include avg_window
//#texture_out 3 mirror
override TEXELS: u32 = 0u;
override QUADS: bool = false;
override READ_BACK: bool = false;

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
        y_st(i, v.x);
        y_st(i + 1u, v.y);
        y_st(i + 2u, v.z);
        y_st(i + 3u, v.w);
    }
    if READ_BACK {
        storageBarrier();
        if inside {
            v = vec4<f32>(y_ld(i), y_ld(i + 1u), y_ld(i + 2u), y_ld(i + 3u));
        }
    }
    if t < TEXELS {
        textureStore(mirror, vec2<u32>(t & 2047u, t >> 11u), v);
    }
}
