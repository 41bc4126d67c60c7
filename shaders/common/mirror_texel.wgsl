// The mirror kernels' texel (gpu::mirrors; avg_pool2d_forward_mirror and
// avg_pool2d_backward_input_mirror, which bind `mirror` with //#texture_out): texel t of the
// mirror, TEXELS of them (the tensor's four values each, then zeros). With READ_BACK (the f16
// storages) a kernel stores the four values it loads back from the tensor after a storage
// barrier, not the sums it rounded in registers: on Mesa 25 lavapipe f32(f16(v)) in registers
// and the f16 the store kept differed in the last bit (a weight gradient that read the mirror
// then differed from the packed path's by an f16 ulp), and without the barrier the load is
// folded into the store.
override TEXELS: u32 = 0u;
override READ_BACK: bool = false;

fn mirror_store(t: u32, v: vec4<f32>) {
    if t < TEXELS {
        textureStore(mirror, vec2<u32>(t & 2047u, t >> 11u), v);
    }
}
