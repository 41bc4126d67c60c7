// avg_pool2d_backward_input: dx[n, c, ih, iw] = sum over the windows covering (ih, iw) of
// dy / (kernel * kernel). A gather in a fixed order: no atomics.
// Layout: dy [N, C, OH, OW], dx [N, C, H, W].
// One invocation: one input element. Dispatch: ceil(N*C*H*W / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::pool2d::avg_backward_input.
//#tensor 1 dy read
//#tensor 2 dx write
//#include flat
//#include pool2d_params

@compute @workgroup_size(256, 1, 1)
fn avg_pool2d_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let in_pixels = params.in_h * params.in_w;
    if i >= params.batch * params.channels * in_pixels {
        return;
    }
    let plane = i / in_pixels;
    let ih = (i % in_pixels) / params.in_w;
    let iw = i % params.in_w;
    let oh_end = min((ih + params.padding) / params.stride + 1u, params.out_h);
    let ow_end = min((iw + params.padding) / params.stride + 1u, params.out_w);
    var sum = 0.0;
    for (var oh = first_window(ih); oh < oh_end; oh++) {
        for (var ow = first_window(iw); ow < ow_end; ow++) {
            sum += dy_ld((plane * params.out_h + oh) * params.out_w + ow);
        }
    }
    dx_st(i, sum / f32(params.kernel * params.kernel));
}
