// batch_norm_forward: y = (x - mean) * invstd * weight + bias per channel, with the batch's
// statistics (training, from batch_norm_stats) or the running estimates (evaluation).
// Layout: x, y [N, C, H, W]; weight, bias [C]; state [6, C] f32.
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::batch_norm::normalise.
//#tensor 1 x read
//#tensor 2 weight read
//#tensor 3 bias read
@group(0) @binding(4) var<storage, read> state: array<f32>;
//#tensor 5 y write
//#include flat
//#include batch_norm_params

@compute @workgroup_size(256, 1, 1)
fn batch_norm_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * params.channels * params.pixels {
        return;
    }
    let c = bn_channel(i);
    let norm = bn_norm(c);
    y_st(i, (x_ld(i) - norm.x) * norm.y * weight_ld(c) + bias_ld(c));
}
