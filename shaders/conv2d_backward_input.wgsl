// conv2d_backward_input: dx = the gradient of conv2d_forward's loss with respect to x.
// dx[n, ci, ih, iw] = sum over co in ci's group, kh, kw of
//   dy[n, co, oh, ow] * w[co, ci, kh, kw] where oh*stride - pad + kh = ih (and likewise for w).
// Layout: dy [N, Cout, OH, OW], w [Cout, Cin/G, KH, KW], dx [N, Cin, H, W].
// GEMM per group g: M = Cin/G, N = batch*H*W, K = Cout/G*KH*KW; B gathers dy, skipping
// taps whose output position is fractional (stride > 1) or outside the image.
// One invocation: a 4x4 block of outputs (common/gemm.wgsl).
// Dispatch: kernels::gemm_workgroups(M, N, G) workgroups of 256 (common/gemm.wgsl).
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::conv2d::backward_input.
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx write
//#include gemm
//#include div
//#include conv2d_params


// A: w[co, ci, kh, kw] for input channel m = ci of group g; k = (co, kh, kw).
struct ARow { ci: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(m, m < params.in_channels / params.groups);
}
fn gemm_a_at(g: u32, k: u32, row: ARow) -> f32 {
    if !row.valid {
        return 0.0;
    }
    let cin_g = params.in_channels / params.groups;
    let cout_g = params.out_channels / params.groups;
    let taps = params.kernel_h * params.kernel_w;
    let co = g * cout_g + k / taps;
    return w_ld((co * cin_g + row.ci) * taps + k % taps);
}

// B: dy at the output pixel whose window puts tap (kh, kw) on input pixel n = (image, ih, iw).
struct BCol { base: u32, th0: i32, tw0: i32, valid: bool }
fn gemm_b_col(g: u32, n: u32) -> BCol {
    let pixels = params.in_h * params.in_w;
    let img = div_u(n, pixels);
    let p = n - img * pixels;
    let ih = div_u(p, params.in_w);
    let iw = p - ih * params.in_w;
    let cout_g = params.out_channels / params.groups;
    return BCol(
        (img * params.out_channels + g * cout_g) * params.out_h * params.out_w,
        i32(ih + params.padding),
        i32(iw + params.padding),
        n < params.batch * pixels,
    );
}
fn gemm_b_at(g: u32, k: u32, col: BCol) -> f32 {
    let taps = params.kernel_h * params.kernel_w;
    let co = k / taps;
    let kh = (k % taps) / params.kernel_w;
    let kw = k % params.kernel_w;
    let th = col.th0 - i32(kh);
    let tw = col.tw0 - i32(kw);
    if !col.valid || th < 0 || tw < 0 {
        return 0.0;
    }
    let s = params.stride;
    var oh = u32(th);
    var ow = u32(tw);
    if s != 1u {
        oh = div_u(u32(th), s);
        ow = div_u(u32(tw), s);
        if oh * s != u32(th) || ow * s != u32(tw) {
            return 0.0;
        }
    }
    if oh >= params.out_h || ow >= params.out_w {
        return 0.0;
    }
    return dy_ld(col.base + (co * params.out_h + oh) * params.out_w + ow);
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let ci = g * (params.in_channels / params.groups) + m;
    let pixels = params.in_h * params.in_w;
    let img = n / pixels;
    dx_st((img * params.in_channels + ci) * pixels + n % pixels, acc);
}

@compute @workgroup_size(16, 16, 1)
fn conv2d_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let dims = vec4<u32>(
        params.in_channels / params.groups,
        params.batch * params.in_h * params.in_w,
        params.out_channels / params.groups * params.kernel_h * params.kernel_w,
        params.groups,
    );
    gemm_run(wid, nwg, lindex, dims, 1u);
}
