// batch_norm_stats: the batch's per-channel statistics in two launches (MODE 0: the mean;
// MODE 1: the biased variance from it, two-pass for accuracy), then (MODE 1, last chunk) the
// running estimates: r = (1 - momentum) r + momentum s, with the unbiased variance.
// Layout: x [N, C, H, W]; state [6, C] f32 (common/batch_norm_params.wgsl).
// LANES invocations per channel (a power of two up to 64, chosen from the values per channel
// by gpu::kernels::batch_norm: one for ResNet's 1x1 maps, 64 for its stem), 64 / LANES
// channels per workgroup: each invocation sums a strided slice in order, then a fixed tree
// over the channel's lanes (bit-reproducible). Batch chunks add to the sums already held
// (accumulate) and the last one (finish) turns them into statistics.
// Dispatch: ceil(C / (64 / LANES)) workgroups, linearised over x and y.
// Precision: storage precision in, f32 statistics.
// CPU reference: cpu::batch_norm::statistics and update_running.
//#tensor 1 x read
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
//#include batch_norm_params

override MODE: u32 = 0u;
override LANES: u32 = 64u;

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn batch_norm_stats(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let k = params.channels;
    let c = (wid.x + wid.y * nwg.x) * (64u / LANES) + lindex / LANES;
    let lane = lindex % LANES;
    let live = c < k;
    var s = 0.0;
    if live {
        let mean = state[2u * k + c];
        let total = params.batch * params.pixels;
        for (var i = lane; i < total; i += LANES) {
            let v = x_ld(bn_index(c, i));
            if MODE == 0u {
                s += v;
            } else {
                s += (v - mean) * (v - mean);
            }
        }
    }
    partial[lindex] = s;
    // One lane per channel: nothing to share, no barrier (LANES is a constant: uniform).
    if LANES > 1u {
        workgroupBarrier();
    }
    for (var span = LANES / 2u; span > 0u; span >>= 1u) {
        if lane < span {
            partial[lindex] += partial[lindex + span];
        }
        workgroupBarrier();
    }
    if !live || lane != 0u {
        return;
    }
    let mean = state[2u * k + c];
    let row = (2u + MODE) * k + c;
    var sum = partial[lindex];
    if params.accumulate != 0u {
        sum += state[row];
    }
    if params.finish == 0u {
        state[row] = sum;
        return;
    }
    let n = f32(params.count);
    if MODE == 0u {
        state[row] = sum / n;
        return;
    }
    let var_b = sum / n;
    state[row] = 1.0 / sqrt(var_b + params.eps);
    let m = params.momentum;
    state[c] = (1.0 - m) * state[c] + m * mean;
    state[k + c] = (1.0 - m) * state[k + c] + m * var_b * n / max(n - 1.0, 1.0);
}
