// avg_pool2d_forward: y[n, c, oh, ow] = mean of x over the kernel x kernel window at
// (oh*stride - pad, ow*stride - pad), zero padding counted (PyTorch's count_include_pad=True).
// Layout: x [N, C, H, W], y [N, C, OH, OW].
// One invocation: one output. Dispatch: ceil(N*C*OH*OW / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::pool2d::avg_forward.
//#tensor 1 x read
//#tensor 2 y write
//#include flat
//#include pool2d_params

@compute @workgroup_size(256, 1, 1)
fn avg_pool2d_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let out_pixels = params.out_h * params.out_w;
    if i >= params.batch * params.channels * out_pixels {
        return;
    }
    let plane = i / out_pixels;
    let oh = (i % out_pixels) / params.out_w;
    let ow = i % params.out_w;
    let base = plane * params.in_h * params.in_w;
    var sum = 0.0;
    for (var kh = 0u; kh < params.kernel; kh++) {
        let ih = i32(oh * params.stride + kh) - i32(params.padding);
        if ih < 0 || ih >= i32(params.in_h) {
            continue;
        }
        for (var kw = 0u; kw < params.kernel; kw++) {
            let iw = i32(ow * params.stride + kw) - i32(params.padding);
            if iw >= 0 && iw < i32(params.in_w) {
                sum += x_ld(base + u32(ih) * params.in_w + u32(iw));
            }
        }
    }
    y_st(i, sum / f32(params.kernel * params.kernel));
}
