// lrn_forward: local response normalisation across channels, y_c = x_c * s_c^-beta
// (semantics of PyTorch's LocalResponseNorm; see common/lrn_params.wgsl).
// Layout: x, y [N, C, H, W].
// One invocation: one output. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::lrn::forward.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include lrn_params

@compute @workgroup_size(256, 1, 1)
fn lrn_forward(
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
    y_st(i, x_ld(i) * pow(lrn_scale(base, c), -params.beta));
}
