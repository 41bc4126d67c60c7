// conv2d_backward_weight: dw = the gradient of conv2d_forward's loss with respect to w.
// dw[co, ci, kh, kw] = sum over n, oh, ow of dy[n, co, oh, ow] * x[n, g*Cin/G + ci, ih, iw]
//   with ih = oh*stride - pad + kh, iw = ow*stride - pad + kw (0 outside the image).
// Layout: dy [N, Cout, OH, OW], x [N, Cin, H, W], dw [Cout, Cin/G, KH, KW].
// GEMM per group g: M = Cout/G, N = Cin/G*KH*KW, K = batch*OH*OW (summed in a fixed order).
// With accumulate = 1 the result is added to dw (batch chunks of tensors larger than one
// storage binding, processed in a fixed order).
// One invocation: a 4x4 block of outputs (common/gemm.wgsl).
// Dispatch: G * ceil(M/64) * ceil(N/64) workgroups of 16x16.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 dw write
//#include gemm
//#include conv2d_params


fn gemm_load_a(g: u32, m: u32, k: u32) -> f32 {
    let cout_g = params.out_channels / params.groups;
    let pixels = params.out_h * params.out_w;
    if m >= cout_g || k >= params.batch * pixels {
        return 0.0;
    }
    let img = k / pixels;
    return dy_ld((img * params.out_channels + g * cout_g + m) * pixels + k % pixels);
}

fn gemm_load_b(g: u32, k: u32, n: u32) -> f32 {
    let cin_g = params.in_channels / params.groups;
    let taps = params.kernel_h * params.kernel_w;
    let pixels = params.out_h * params.out_w;
    if k >= params.batch * pixels || n >= cin_g * taps {
        return 0.0;
    }
    let img = k / pixels;
    let oh = (k % pixels) / params.out_w;
    let ow = k % params.out_w;
    let ci = n / taps;
    let kh = (n % taps) / params.kernel_w;
    let kw = n % params.kernel_w;
    let ih = i32(oh * params.stride + kh) - i32(params.padding);
    let iw = i32(ow * params.stride + kw) - i32(params.padding);
    if ih < 0 || iw < 0 || ih >= i32(params.in_h) || iw >= i32(params.in_w) {
        return 0.0;
    }
    let c = g * cin_g + ci;
    return x_ld(((img * params.in_channels + c) * params.in_h + u32(ih)) * params.in_w + u32(iw));
}

fn gemm_store(g: u32, m: u32, n: u32, acc: f32) {
    let cout_g = params.out_channels / params.groups;
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    let i = (g * cout_g + m) * kdim + n;
    var v = acc;
    if params.accumulate != 0u {
        v += dw_ld(i);
    }
    dw_st(i, v);
}

@compute @workgroup_size(16, 16, 1)
fn conv2d_backward_weight(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let dims = vec4<u32>(
        params.out_channels / params.groups,
        params.in_channels / params.groups * params.kernel_h * params.kernel_w,
        params.batch * params.out_h * params.out_w,
        params.groups,
    );
    gemm_run(wid, nwg, lid, lindex, dims);
}
