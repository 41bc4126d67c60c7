// The average of output i (flat over [N, C, OH, OW]) of avg_pool2d's scalar path: the
// window's values summed row by row, left to right, zero padding counted (PyTorch's
// count_include_pad=True); with ADAPTIVE, adaptive_avg_pool2d's window divided by its size.
// Needs `x` bound with x_ld (avg_pool2d_forward, avg_pool2d_forward_mirror).
fn avg_window(i: u32) -> f32 {
    let out_pixels = OUT_H * OUT_W;
    let plane = i / out_pixels;
    let oh = (i % out_pixels) / OUT_W;
    let ow = i % OUT_W;
    let base = plane * IN_H * IN_W;
    var sum = 0.0;
    if ADAPTIVE != 0u {
        let h0 = adaptive_start(oh, IN_H, OUT_H);
        let h1 = adaptive_end(oh, IN_H, OUT_H);
        let w0 = adaptive_start(ow, IN_W, OUT_W);
        let w1 = adaptive_end(ow, IN_W, OUT_W);
        for (var ih = h0; ih < h1; ih++) {
            for (var iw = w0; iw < w1; iw++) {
                sum += x_ld(base + ih * IN_W + iw);
            }
        }
        return sum / f32((h1 - h0) * (w1 - w0));
    }
    for (var kh = 0u; kh < KERNEL; kh++) {
        let ih = i32(oh * STRIDE + kh) - i32(PADDING);
        if ih < 0 || ih >= i32(IN_H) {
            continue;
        }
        for (var kw = 0u; kw < KERNEL; kw++) {
            let iw = i32(ow * STRIDE + kw) - i32(PADDING);
            if iw >= 0 && iw < i32(IN_W) {
                sum += x_ld(base + u32(ih) * IN_W + u32(iw));
            }
        }
    }
    return sum / f32(KERNEL * KERNEL);
}

// Outputs 2p and 2p + 1 (one row; OUT_W is even) of the vec4 path (2x2 windows, stride 2, no
// padding, rows of whole vec4s): the four input values under each window summed in the
// scalar path's order (row by row, left to right). Needs x_ld4.
fn avg_pair(p: u32) -> vec2<f32> {
    let o = p * 2u;
    let out_pixels = OUT_H * OUT_W;
    let plane = o / out_pixels;
    let r = o - plane * out_pixels;
    let oh = r / OUT_W;
    let ow = r - oh * OUT_W;
    let at = (plane * IN_H + oh * 2u) * IN_W + ow * 2u;
    let top = x_ld4(at / 4u);
    let bottom = x_ld4((at + IN_W) / 4u);
    return vec2<f32>(((top.x + top.y) + bottom.x) + bottom.y, ((top.z + top.w) + bottom.z) + bottom.w) / 4.0;
}
