// batch_norm_backward_input: dx = weight * invstd * (dy - sum(dy) / n - x̂ * sum(dy x̂) / n)
// per channel, from the batch's statistics and the sums of batch_norm_backward_sums.
// Layout: x, dy, dx [N, C, H, W]; weight [C]; state [6, C] f32.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::batch_norm::backward.
//#tensor 1 x read
//#tensor 2 dy read
//#tensor 3 weight read
@group(0) @binding(4) var<storage, read> state: array<f32>;
//#tensor 5 dx write
//#include flat
//#include batch_norm_params

@compute @workgroup_size(256, 1, 1)
fn batch_norm_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * params.channels * params.pixels {
        return;
    }
    let c = bn_channel(i);
    let k = params.channels;
    let mean = state[2u * k + c];
    let invstd = state[3u * k + c];
    let n = f32(params.count);
    let xhat = (x_ld(i) - mean) * invstd;
    let g = dy_ld(i) - state[4u * k + c] / n - xhat * state[5u * k + c] / n;
    dx_st(i, weight_ld(c) * invstd * g);
}
