// add_forward: y = a + b, element-wise (a residual connection).
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::CpuBackend::add_forward.
//#tensor 1 a read
//#tensor 2 b read
//#tensor 3 y write
//#include flat
//#include elementwise_params

@compute @workgroup_size(256, 1, 1)
fn add_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        y_st(i, a_ld(i) + b_ld(i));
    }
}
