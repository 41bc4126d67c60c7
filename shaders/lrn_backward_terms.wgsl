// lrn_backward_terms: the first launch of lrn's input gradient: for every element c,
//   t_c = dy_c * x_c * s_c^(-beta-1)
// in f32 (a scratch tensor), which lrn_backward_input then sums over each channel window —
// so every s is computed once, not once for each of the SIZE windows that hold it.
// Layout: x, dy, terms [N, C, H, W].
// One invocation: one element. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: x and dy in storage precision, f32 arithmetic and terms.
// CPU reference: cpu::lrn::backward_input (its cross-sum's terms).
//#tensor 1 x read
//#tensor 2 dy read
//#include flat
//#include lrn_params
@group(0) @binding(3) var<storage, read_write> terms: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn lrn_backward_terms(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * CHANNELS * PIXELS {
        return;
    }
    let c = lrn_channel(i);
    let base = lrn_base(i);
    terms[i] = dy_ld(i) * x_ld(i) * pow(lrn_scale(base, c), -params.beta - 1.0);
}
