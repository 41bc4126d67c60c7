// concat_forward: y[n, offset + c, h, w] = x[n, c, h, w] — one input of a channel
// concatenation written into its channels of the output; the other channels are untouched.
// One invocation: one element of x. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out.
// CPU reference: cpu::CpuBackend::concat_forward.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include concat_params

@compute @workgroup_size(256, 1, 1)
fn concat_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.batch * params.channels * params.pixels {
        y_st(concat_index(i), x_ld(i));
    }
}
