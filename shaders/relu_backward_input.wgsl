// relu_backward_input: dx = dy where x > 0, else 0, element-wise.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::activation::relu_backward_input.
//#tensor 1 x read
//#tensor 2 dy read
//#tensor 3 dx write
//#include flat
//#include elementwise_params

@compute @workgroup_size(256, 1, 1)
fn relu_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        dx_st(i, select(0.0, dy_ld(i), x_ld(i) > 0.0));
    }
}
