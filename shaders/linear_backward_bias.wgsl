// linear_backward_bias: db[o] = sum over n of dy[n, o].
// Layout: dy [N, O], db [O] (the channel sum with one pixel per channel).
// One workgroup of 256 invocations per output feature (common/channel_sum.wgsl).
// Dispatch: O workgroups, linearised over x and y.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_bias.
//#tensor 1 dy read
//#tensor 2 db write
//#include channel_sum_params
//#include channel_sum

@compute @workgroup_size(256, 1, 1)
fn linear_backward_bias(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    channel_sum(wid, nwg, lindex);
}
