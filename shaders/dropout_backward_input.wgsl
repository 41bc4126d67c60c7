// dropout_backward_input: dx = dy * scale where the mask of (seed, step, i) keeps i, else 0.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out.
// CPU reference: cpu::dropout::backward_input.
//#tensor 1 dy read
//#tensor 2 dx write
//#include flat
//#include per_step
//#include dropout_params

@compute @workgroup_size(256, 1, 1)
fn dropout_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        dx_st(i, select(0.0, dy_ld(i) * params.scale, dropout_keep(i)));
    }
}
