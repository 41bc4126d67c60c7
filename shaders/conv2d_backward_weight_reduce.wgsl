// conv2d_backward_weight_reduce: dw[i] (+)= sum over s < splits of partial[s * len + i], in order
// of s — the second half of a split-k conv2d_backward_weight.
// Layout: partial [splits, len] f32, dw [len] (len = Cout * Cin/G * KH * KW).
// One invocation: one weight. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: partials f32, dw in storage precision.
// CPU reference: cpu::conv2d::backward_weight (through conv2d_backward_weight).
//#tensor 2 dw write
//#include flat
struct ReduceUniform {
    len: u32, splits: u32, accumulate: u32, _pad0: u32,
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
    if i >= params.len {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        sum += partial[s * params.len + i];
    }
    if params.accumulate != 0u {
        sum += dw_ld(i);
    }
    dw_st(i, sum);
}
