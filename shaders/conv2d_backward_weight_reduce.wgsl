// conv2d_backward_weight_reduce: dw[i] (+)= sum over s < splits of partial[s * len + i], in order
// of s — the second half of a split-k conv2d_backward_weight; with `bias` > 0 the slices also
// hold `bias` bias-gradient sums after the weights' (conv2d_backward_weight_direct_taps with
// BIAS), and db[j] (+)= sum over s of partial[s * (len + bias) + len + j] in the same way.
// Layout: partial [splits, len + bias] f32, dw [len] (len = Cout * Cin/G * KH * KW), db [bias]
// (the dummy buffer where bias is 0).
// One invocation: one weight or bias. Dispatch: ceil((len + bias) / 256) workgroups, linearised.
// Precision: partials f32, dw and db in storage precision.
// CPU reference: cpu::conv2d::backward_weight (through conv2d_backward_weight) and
// cpu::conv2d::backward_bias (through conv2d_backward_weight_bias).
//#tensor 2 dw write
//#tensor 3 db write
//#include flat
struct ReduceUniform {
    len: u32, splits: u32, accumulate: u32, bias: u32,
}
@group(0) @binding(0) var<uniform> params: ReduceUniform;
@group(0) @binding(1) var<storage, read> partial: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn conv2d_backward_weight_reduce(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let stride = params.len + params.bias;
    if i >= stride {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        sum += partial[s * stride + i];
    }
    if i < params.len {
        if params.accumulate != 0u {
            sum += dw_ld(i);
        }
        dw_st(i, sum);
    } else {
        let j = i - params.len;
        if params.accumulate != 0u {
            sum += db_ld(j);
        }
        db_st(j, sum);
    }
}
