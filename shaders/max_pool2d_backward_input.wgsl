// max_pool2d_backward_input: dx[n, c, ih, iw] = sum of dy over the windows whose chosen
// element (indices, from max_pool2d_forward) is (ih, iw). A gather, not a scatter: no atomics,
// windows visited in a fixed order.
// With ACT (common/act_backward) the backward pass of the activation before the pool is
// folded in: dx is also multiplied by its derivative at act_out, the pool's forward input.
// Layout: dy and indices [N, C, OH, OW], dx and act_out [N, C, H, W].
// One invocation: one input element. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::pool2d::max_backward_input.
//#tensor 1 dy read
//#tensor 3 dx write
//#tensor 4 act_out read
//#include flat
//#include pool2d_params
//#include act_derivative
//#include act_backward
@group(0) @binding(2) var<storage, read> indices: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn max_pool2d_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let in_pixels = IN_H * IN_W;
    if i >= params.batch * CHANNELS * in_pixels {
        return;
    }
    let plane = i / in_pixels;
    let at = i % in_pixels;
    let ih = at / IN_W;
    let iw = at % IN_W;
    let oh_end = min((ih + PADDING) / STRIDE + 1u, OUT_H);
    let ow_end = min((iw + PADDING) / STRIDE + 1u, OUT_W);
    var sum = 0.0;
    for (var oh = first_window(ih); oh < oh_end; oh++) {
        for (var ow = first_window(iw); ow < ow_end; ow++) {
            let o = (plane * OUT_H + oh) * OUT_W + ow;
            if indices[o] == at {
                sum += dy_ld(o);
            }
        }
    }
    dx_st(i, act_backward(i, sum));
}
