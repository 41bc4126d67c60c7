// accumulate: y += x, element-wise — a node read by several others receives the sum of their
// gradients, added one after another in a fixed order.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::CpuBackend::accumulate.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include elementwise_params

@compute @workgroup_size(256, 1, 1)
fn accumulate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        y_st(i, y_ld(i) + x_ld(i));
    }
}
