// tensor_copy: y = x, element-wise (an add node passes its output gradient to its inputs).
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out.
// CPU reference: cpu::CpuBackend::copy.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include elementwise_params

@compute @workgroup_size(256, 1, 1)
fn tensor_copy(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        y_st(i, x_ld(i));
    }
}
