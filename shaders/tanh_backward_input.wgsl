// tanh_backward_input: dx = dy * (1 - y^2), from the forward output y, element-wise.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::activation::tanh_backward_input.
//#tensor 1 y read
//#tensor 2 dy read
//#tensor 3 dx write
//#include flat
//#include elementwise_params

@compute @workgroup_size(256, 1, 1)
fn tanh_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        dx_st(i, dy_ld(i) * (1.0 - y_ld(i) * y_ld(i)));
    }
}
