// max_pool2d_forward: y[n, c, oh, ow] = max of x over the kernel x kernel window at
// (oh*stride - pad, ow*stride - pad); positions outside the image are skipped (-inf padding).
// Ties go to the first maximum in row-major window order; NaN propagates (as in PyTorch).
// indices[n, c, oh, ow] = ih * W + iw of the chosen element, for the backward pass.
// Layout: x [N, C, H, W], y and indices [N, C, OH, OW].
// One invocation: one output. Dispatch: ceil(N*C*OH*OW / 256) workgroups, linearised.
// Precision: storage precision in and out; indices u32.
// CPU reference: cpu::pool2d::max_forward.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include pool2d_params
@group(0) @binding(3) var<storage, read_write> indices: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn max_pool2d_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let out_pixels = OUT_H * OUT_W;
    if i >= params.batch * CHANNELS * out_pixels {
        return;
    }
    let plane = i / out_pixels;
    let oh = (i % out_pixels) / OUT_W;
    let ow = i % OUT_W;
    let base = plane * IN_H * IN_W;
    // -inf start and the first window position: an all -inf window picks its first element.
    var best = bitcast<f32>(0xff800000u);
    var best_at = 0xffffffffu;
    for (var kh = 0u; kh < KERNEL; kh++) {
        let ih = i32(oh * STRIDE + kh) - i32(PADDING);
        if ih < 0 || ih >= i32(IN_H) {
            continue;
        }
        for (var kw = 0u; kw < KERNEL; kw++) {
            let iw = i32(ow * STRIDE + kw) - i32(PADDING);
            if iw < 0 || iw >= i32(IN_W) {
                continue;
            }
            let at = u32(ih) * IN_W + u32(iw);
            let v = x_ld(base + at);
            if best_at == 0xffffffffu || v > best || v != v {
                best = v;
                best_at = at;
            }
        }
    }
    y_st(i, best);
    indices[i] = best_at;
}
