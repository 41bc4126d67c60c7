// conv2d_backward_bias: db[c] = sum over n, oh, ow of dy[n, c, oh, ow].
// Layout: dy [N, C, OH, OW], db [C].
// One workgroup of 256 invocations per channel (common/channel_sum.wgsl), fixed-order tree.
// Dispatch: C workgroups, linearised over x and y.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::conv2d::backward_bias.
//#tensor 1 dy read
//#tensor 2 db write
//#include channel_sum_params
//#include channel_sum

@compute @workgroup_size(256, 1, 1)
fn conv2d_backward_bias(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    channel_sum(wid, nwg, lindex);
}
