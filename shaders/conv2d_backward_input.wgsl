// conv2d_backward_input: dx = the gradient of conv2d_forward's loss with respect to x.
// dx[n, ci, ih, iw] = sum over co in ci's group, kh, kw of
//   dy[n, co, oh, ow] * w[co, ci, kh, kw] where oh*stride - pad + kh = ih (and likewise for w).
// Layout: dy [N, Cout, OH, OW], w [Cout, Cin/G, KH, KW], dx [N, Cin, H, W].
// GEMM per group g: M = Cin/G, N = batch*H*W, K = Cout/G*KH*KW; B gathers dy, skipping
// taps whose output position is fractional (stride > 1) or outside the image.
// One invocation: a 4x4 block of outputs (common/gemm.wgsl).
// Dispatch: G * ceil(M/64) * ceil(N/64) workgroups of 16x16.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::conv2d::backward_input.
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx write
//#include gemm
//#include conv2d_params


fn gemm_load_a(g: u32, m: u32, k: u32) -> f32 {
    let cin_g = params.in_channels / params.groups;
    let cout_g = params.out_channels / params.groups;
    let taps = params.kernel_h * params.kernel_w;
    if m >= cin_g || k >= cout_g * taps {
        return 0.0;
    }
    let co = g * cout_g + k / taps;
    return w_ld((co * cin_g + m) * taps + k % taps);
}

fn gemm_load_b(g: u32, k: u32, n: u32) -> f32 {
    let cout_g = params.out_channels / params.groups;
    let taps = params.kernel_h * params.kernel_w;
    let pixels = params.in_h * params.in_w;
    if k >= cout_g * taps || n >= params.batch * pixels {
        return 0.0;
    }
    let co = g * cout_g + k / taps;
    let kh = (k % taps) / params.kernel_w;
    let kw = k % params.kernel_w;
    let img = n / pixels;
    let ih = (n % pixels) / params.in_w;
    let iw = n % params.in_w;
    let th = i32(ih + params.padding) - i32(kh);
    let tw = i32(iw + params.padding) - i32(kw);
    if th < 0 || tw < 0 {
        return 0.0;
    }
    let s = params.stride;
    let oh = u32(th) / s;
    let ow = u32(tw) / s;
    if u32(th) % s != 0u || u32(tw) % s != 0u || oh >= params.out_h || ow >= params.out_w {
        return 0.0;
    }
    return dy_ld(((img * params.out_channels + co) * params.out_h + oh) * params.out_w + ow);
}

fn gemm_store(g: u32, m: u32, n: u32, acc: f32) {
    let ci = g * (params.in_channels / params.groups) + m;
    let pixels = params.in_h * params.in_w;
    let img = n / pixels;
    dx_st((img * params.in_channels + ci) * pixels + n % pixels, acc);
}

@compute @workgroup_size(16, 16, 1)
fn conv2d_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let dims = vec4<u32>(
        params.in_channels / params.groups,
        params.batch * params.in_h * params.in_w,
        params.out_channels / params.groups * params.kernel_h * params.kernel_w,
        params.groups,
    );
    gemm_run(wid, nwg, lid, lindex, dims);
}
