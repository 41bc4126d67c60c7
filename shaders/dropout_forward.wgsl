// dropout_forward: y = x * scale where the counter-based mask keeps element i, else 0
// (scale = 1 / (1 - p)). No mask is stored: the backward pass redraws it from (seed, step, i).
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out.
// CPU reference: cpu::dropout::forward.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include per_step
//#include dropout_params

@compute @workgroup_size(256, 1, 1)
fn dropout_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        y_st(i, select(0.0, x_ld(i) * params.scale, dropout_keep(i)));
    }
}
