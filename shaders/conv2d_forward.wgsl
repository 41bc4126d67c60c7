// conv2d_forward: y = conv(x, w) + b, as an implicit GEMM per group.
// Layout: x [N, Cin, H, W], w [Cout, Cin/G, KH, KW] (OIHW), b [Cout], y [N, Cout, OH, OW].
// GEMM per group g: M = Cout/G (output channel), N = batch*OH*OW (image, pixel),
// K = Cin/G*KH*KW (input channel, kernel tap); B is x gathered on the fly (no im2col buffer).
// One invocation: a 4x4 block of outputs (see common/gemm.wgsl).
// Dispatch: G * ceil(M/64) * ceil(N/64) workgroups of 16x16.
// Precision: x, w, b, y in storage precision; f32 accumulation.
// CPU reference: cpu::conv2d::forward.
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include gemm
//#include conv2d_params


fn gemm_load_a(g: u32, m: u32, k: u32) -> f32 {
    let cout_g = params.out_channels / params.groups;
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    if m >= cout_g || k >= kdim {
        return 0.0;
    }
    return w_ld((g * cout_g + m) * kdim + k);
}

fn gemm_load_b(g: u32, k: u32, n: u32) -> f32 {
    let cin_g = params.in_channels / params.groups;
    let taps = params.kernel_h * params.kernel_w;
    let pixels = params.out_h * params.out_w;
    if k >= cin_g * taps || n >= params.batch * pixels {
        return 0.0;
    }
    let ci = k / taps;
    let kh = (k % taps) / params.kernel_w;
    let kw = k % params.kernel_w;
    let img = n / pixels;
    let oh = (n % pixels) / params.out_w;
    let ow = n % params.out_w;
    let ih = i32(oh * params.stride + kh) - i32(params.padding);
    let iw = i32(ow * params.stride + kw) - i32(params.padding);
    if ih < 0 || iw < 0 || ih >= i32(params.in_h) || iw >= i32(params.in_w) {
        return 0.0;
    }
    let c = g * cin_g + ci;
    return x_ld(((img * params.in_channels + c) * params.in_h + u32(ih)) * params.in_w + u32(iw));
}

fn gemm_store(g: u32, m: u32, n: u32, acc: f32) {
    let co = g * (params.out_channels / params.groups) + m;
    let pixels = params.out_h * params.out_w;
    let img = n / pixels;
    var v = acc;
    if params.has_bias != 0u {
        v += b_ld(co);
    }
    y_st((img * params.out_channels + co) * pixels + n % pixels, v);
}

@compute @workgroup_size(16, 16, 1)
fn conv2d_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let dims = vec4<u32>(
        params.out_channels / params.groups,
        params.batch * params.out_h * params.out_w,
        params.in_channels / params.groups * params.kernel_h * params.kernel_w,
        params.groups,
    );
    gemm_run(wid, nwg, lid, lindex, dims);
}
