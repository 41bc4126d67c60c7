// relu_forward: y = max(x, 0), element-wise over any shape.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::activation::relu_forward.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include elementwise_params

@compute @workgroup_size(256, 1, 1)
fn relu_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        y_st(i, max(x_ld(i), 0.0));
    }
}
