// lrn_forward: local response normalisation across channels, y_c = x_c * s_c^-beta
// (semantics of PyTorch's LocalResponseNorm; see common/lrn_params.wgsl).
// Layout: x, y [N, C, H, W].
// One invocation: one pixel of one image, walking its channels with the window of x in
// registers, so each x is loaded once (not once per window that holds it).
// Dispatch: ceil(N*H*W / 256) workgroups, linearised.
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
    if i >= params.batch * PIXELS {
        return;
    }
    let base = lrn_base(i);
    // win[t] = x of channel c - LRN_BEFORE + t; before channel 0 the entries below
    // LRN_BEFORE are the zeros of channels < 0.
    var win: array<f32, MAX_SIZE>;
    for (var t = LRN_BEFORE; t < SIZE; t++) {
        win[t] = lrn_x(base, t - LRN_BEFORE);
    }
    for (var c = 0u; c < CHANNELS; c++) {
        if c > 0u {
            lrn_shift(&win, lrn_x(base, c + LRN_AFTER));
        }
        y_st(base + c * PIXELS, win[LRN_BEFORE] * pow(lrn_scale(&win), -params.beta));
    }
}
