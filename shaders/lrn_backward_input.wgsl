// lrn_backward_input: dx_j = dy_j * s_j^-beta
//   - 2*alpha*beta/size * x_j * sum over channels c whose window holds j of t_c,
// with t_c = dy_c * x_c * s_c^(-beta-1) computed by lrn_backward_terms just before.
// s is recomputed from x (nothing is stored by the forward pass).
// Layout: x, dy, terms, dx [N, C, H, W].
// One invocation: one input element. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic and terms.
// CPU reference: cpu::lrn::backward_input.
//#tensor 1 x read
//#tensor 2 dy read
//#tensor 4 dx write
//#include flat
//#include lrn_params
@group(0) @binding(3) var<storage, read> terms: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn lrn_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * CHANNELS * PIXELS {
        return;
    }
    let j = lrn_channel(i);
    let base = lrn_base(i);
    // Channel j lies in the window of c for c in [j - (size-1)/2, j + size/2].
    let lo = max(i32(j) - i32((SIZE - 1u) / 2u), 0);
    let hi = min(j + SIZE / 2u, CHANNELS - 1u);
    var cross_sum = 0.0;
    for (var c = u32(lo); c <= hi; c++) {
        cross_sum += terms[base + c * PIXELS];
    }
    let own = dy_ld(i) * pow(lrn_scale(base, j), -params.beta);
    dx_st(i, own - 2.0 * params.alpha * params.beta / f32(SIZE) * x_ld(i) * cross_sum);
}
