// conv_transpose2d_bias: y[n, c, h, w] += b[c] — the bias of a transposed convolution, whose
// products the conv2d input-gradient kernels have written into y.
// One invocation: one element of y. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::conv_transpose2d::forward (the bias term).
//#tensor 1 b read
//#tensor 2 y write
//#include flat
//#include channel_sum_params

@compute @workgroup_size(256, 1, 1)
fn conv_transpose2d_bias(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.batch * params.channels * params.pixels {
        y_st(i, y_ld(i) + b_ld((i / params.pixels) % params.channels));
    }
}
