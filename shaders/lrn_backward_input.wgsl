// lrn_backward_input: dx_j = dy_j * s_j^-beta
//   - 2*alpha*beta/size * x_j * sum over channels c whose window holds j of t_c,
// with t_c = dy_c * x_c * s_c^(-beta-1); s is recomputed from x (the forward pass stores
// nothing). Channel j lies in the windows of c in [j - LRN_AFTER, j + LRN_BEFORE].
// Layout: x, dy, dx [N, C, H, W].
// One invocation: one pixel of one image, walking its channels: step c computes s_c and t_c
// from the window of x in registers and emits dx of channel c - LRN_BEFORE, whose windows'
// terms are then all known; x and dy are each loaded once.
// With ACT (common/act_derivative) the backward pass of the activation before the
// normalisation is folded in: dx is also multiplied by its derivative at x, its output.
// Dispatch: ceil(N*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::lrn::backward_input.
//#tensor 1 x read
//#tensor 2 dy read
//#tensor 3 dx write
//#include flat
//#include lrn_params
//#include act_derivative

@compute @workgroup_size(256, 1, 1)
fn lrn_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * PIXELS {
        return;
    }
    let base = lrn_base(i);
    // win[t]: x of channel c - LRN_BEFORE + t (as in lrn_forward); terms[t]: t of channel
    // c - SIZE + 1 + t; own[t]: dy * s^-beta of channel c - LRN_BEFORE + t (t <= LRN_BEFORE).
    // Entries of channels outside [0, CHANNELS) are 0.
    var win: array<f32, MAX_SIZE>;
    var terms: array<f32, MAX_SIZE>;
    var own: array<f32, MAX_SIZE>;
    for (var t = LRN_BEFORE; t < SIZE; t++) {
        win[t] = lrn_x(base, t - LRN_BEFORE);
    }
    let coef = 2.0 * params.alpha * params.beta / f32(SIZE);
    for (var c = 0u; c < CHANNELS + LRN_BEFORE; c++) {
        if c > 0u {
            lrn_shift(&win, lrn_x(base, c + LRN_AFTER));
        }
        var term = 0.0;
        var own_c = 0.0;
        if c < CHANNELS {
            let s = lrn_scale(&win);
            let dy = dy_ld(base + c * PIXELS);
            term = dy * win[LRN_BEFORE] * pow(s, -params.beta - 1.0);
            own_c = dy * pow(s, -params.beta);
        }
        for (var t = 0u; t + 1u < SIZE; t++) {
            terms[t] = terms[t + 1u];
        }
        terms[SIZE - 1u] = term;
        for (var t = 0u; t < LRN_BEFORE; t++) {
            own[t] = own[t + 1u];
        }
        own[LRN_BEFORE] = own_c;
        if c >= LRN_BEFORE {
            // Channel j = c - LRN_BEFORE: its x is win[0], its windows' terms all of terms.
            var cross_sum = 0.0;
            for (var t = 0u; t < SIZE; t++) {
                cross_sum += terms[t];
            }
            let d = own[0] - coef * win[0] * cross_sum;
            dx_st(base + (c - LRN_BEFORE) * PIXELS, act_backward_at(win[0], d));
        }
    }
}
