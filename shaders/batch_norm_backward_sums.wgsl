// batch_norm_backward_sums: per channel, sum(dy) (the bias gradient) and sum(dy * x̂) (the
// weight gradient), x̂ = (x - mean) * invstd from the batch's statistics.
// Layout: x, dy [N, C, H, W]; state [6, C] f32 (rows 4 and 5 receive the sums); dweight,
// dbias [C].
// LANES invocations per channel, 64 / LANES channels per workgroup, fixed-order tree as in
// batch_norm_stats; batch chunks accumulate in the state and the last one (finish) writes the
// gradients.
// Dispatch: ceil(C / (64 / LANES)) workgroups, linearised over x and y.
// Precision: storage precision in and out, f32 sums.
// CPU reference: cpu::batch_norm::backward.
//#tensor 1 x read
//#tensor 2 dy read
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
//#tensor 4 dweight write
//#tensor 5 dbias write
//#include batch_norm_params

override LANES: u32 = 64u;

var<workgroup> partial_dy: array<f32, 64>;
var<workgroup> partial_dyx: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn batch_norm_backward_sums(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let k = params.channels;
    let c = (wid.x + wid.y * nwg.x) * (64u / LANES) + lindex / LANES;
    let lane = lindex % LANES;
    let live = c < k;
    var s_dy = 0.0;
    var s_dyx = 0.0;
    if live {
        let mean = state[2u * k + c];
        let invstd = state[3u * k + c];
        let total = params.batch * params.pixels;
        for (var i = lane; i < total; i += LANES) {
            let at = bn_index(c, i);
            let d = dy_ld(at);
            s_dy += d;
            s_dyx += d * (x_ld(at) - mean) * invstd;
        }
    }
    partial_dy[lindex] = s_dy;
    partial_dyx[lindex] = s_dyx;
    // One lane per channel: nothing to share, no barrier (LANES is a constant: uniform).
    if LANES > 1u {
        workgroupBarrier();
    }
    for (var span = LANES / 2u; span > 0u; span >>= 1u) {
        if lane < span {
            partial_dy[lindex] += partial_dy[lindex + span];
            partial_dyx[lindex] += partial_dyx[lindex + span];
        }
        workgroupBarrier();
    }
    if !live || lane != 0u {
        return;
    }
    var sum_dy = partial_dy[lindex];
    var sum_dyx = partial_dyx[lindex];
    if params.accumulate != 0u {
        sum_dy += state[4u * k + c];
        sum_dyx += state[5u * k + c];
    }
    state[4u * k + c] = sum_dy;
    state[5u * k + c] = sum_dyx;
    if params.finish != 0u {
        dbias_st(c, sum_dy);
        dweight_st(c, sum_dyx);
    }
}
