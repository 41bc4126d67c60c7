// linear_backward_bias_sg: db[o] (+)= sum over n of dy[n, o], in order of n — the bias gradient
// without workgroup memory or barriers (the subgroup family: on CPU drivers a barrier suspends
// and resumes every invocation of the workgroup). Also the bias gradient of a convolution
// whose output is 1x1 (dy [N, C, 1, 1] is laid out as [N, C]).
// Layout: dy [N, O], db [O].
// One invocation: one output feature. Dispatch: ceil(O / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_bias.
//#tensor 1 dy read
//#tensor 2 db write
//#include flat
//#include channel_sum_params

@compute @workgroup_size(256, 1, 1)
fn linear_backward_bias_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let o = flat_index(wid, nwg, lindex);
    if o >= params.channels {
        return;
    }
    var sum = 0.0;
    for (var n = 0u; n < params.batch; n++) {
        sum += dy_ld(n * params.channels + o);
    }
    if params.accumulate != 0u {
        sum += db_ld(o);
    }
    db_st(o, sum);
}
