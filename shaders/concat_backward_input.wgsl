// concat_backward_input: dx[n, c, h, w] = dy[n, offset + c, h, w] — one input's share of a
// channel concatenation's gradient.
// One invocation: one element of dx. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out.
// CPU reference: cpu::CpuBackend::concat_backward_input.
//#tensor 1 dy read
//#tensor 2 dx write
//#include flat
//#include concat_params

@compute @workgroup_size(256, 1, 1)
fn concat_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.batch * params.channels * params.pixels {
        dx_st(i, dy_ld(concat_index(i)));
    }
}
