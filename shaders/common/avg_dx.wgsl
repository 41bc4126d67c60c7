// dx[i] of avg_pool2d_backward_input's scalar path (flat over [N, C, H, W]), with the folded
// activation's backward (ACT). Needs dy (dy_ld), act_out and the pool's constants
// (avg_pool2d_backward_input, avg_pool2d_backward_input_mirror).
fn avg_dx(i: u32) -> f32 {
    let in_pixels = IN_H * IN_W;
    let plane = i / in_pixels;
    let ih = (i % in_pixels) / IN_W;
    let iw = i % IN_W;
    if ADAPTIVE != 0u {
        let oh1 = ((ih + 1u) * OUT_H + IN_H - 1u) / IN_H;
        let ow1 = ((iw + 1u) * OUT_W + IN_W - 1u) / IN_W;
        var sum = 0.0;
        for (var oh = ih * OUT_H / IN_H; oh < oh1; oh++) {
            let rows = adaptive_end(oh, IN_H, OUT_H) - adaptive_start(oh, IN_H, OUT_H);
            for (var ow = iw * OUT_W / IN_W; ow < ow1; ow++) {
                let cols = adaptive_end(ow, IN_W, OUT_W) - adaptive_start(ow, IN_W, OUT_W);
                sum += dy_ld((plane * OUT_H + oh) * OUT_W + ow) / f32(rows * cols);
            }
        }
        return act_backward(i, sum);
    }
    if KERNEL == STRIDE && PADDING == 0u {
        // Windows that tile the input (LeNet-5's 2x2/2): at most one covers (ih, iw), and no
        // loop (a pipeline-constant branch: the other side is compiled away).
        let oh = ih / STRIDE;
        let ow = iw / STRIDE;
        var d = 0.0;
        if oh < OUT_H && ow < OUT_W {
            d = dy_ld((plane * OUT_H + oh) * OUT_W + ow) / f32(KERNEL * KERNEL);
        }
        return act_backward(i, d);
    }
    let oh_end = min((ih + PADDING) / STRIDE + 1u, OUT_H);
    let ow_end = min((iw + PADDING) / STRIDE + 1u, OUT_W);
    var sum = 0.0;
    for (var oh = first_window(ih); oh < oh_end; oh++) {
        for (var ow = first_window(iw); ow < ow_end; ow++) {
            sum += dy_ld((plane * OUT_H + oh) * OUT_W + ow);
        }
    }
    return act_backward(i, sum / f32(KERNEL * KERNEL));
}
