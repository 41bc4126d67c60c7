// conv2d_forward: y = conv(x, w) + b, as an implicit GEMM per group.
// Layout: x [N, Cin, H, W], w [Cout, Cin/G, KH, KW] (OIHW), b [Cout], y [N, Cout, OH, OW].
// GEMM per group g: M = Cout/G (output channel), N = batch*OH*OW (image, pixel),
// K = Cin/G*KH*KW (input channel, kernel tap); B is x gathered on the fly (no im2col buffer).
// One invocation: a 4x4 block of outputs (see common/gemm.wgsl).
// Dispatch: kernels::gemm_workgroups(M, N, G) workgroups of 256 (common/gemm.wgsl).
// Precision: x, w, b, y in storage precision; f32 accumulation.
// CPU reference: cpu::conv2d::forward.
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include gemm
//#include div
//#include conv2d_params
//#include activation


// A: the weights of output channel m of group g, [Cin/G * KH * KW] contiguous.
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    let cout_g = params.out_channels / params.groups;
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    return ARow((g * cout_g + m) * kdim, m < cout_g);
}
fn gemm_a_at(g: u32, k: u32, row: ARow) -> f32 {
    if !row.valid {
        return 0.0;
    }
    return w_ld(row.base + k);
}

// B: x at the window of output pixel n = (image, oh, ow); k = (ci, kh, kw) picks the tap.
struct BCol { base: u32, ih0: i32, iw0: i32, valid: bool }
fn gemm_b_col(g: u32, n: u32) -> BCol {
    let pixels = params.out_h * params.out_w;
    let img = div_u(n, pixels);
    let p = n - img * pixels;
    let oh = div_u(p, params.out_w);
    let ow = p - oh * params.out_w;
    let cin_g = params.in_channels / params.groups;
    return BCol(
        (img * params.in_channels + g * cin_g) * params.in_h * params.in_w,
        i32(oh * params.stride) - i32(params.padding),
        i32(ow * params.stride) - i32(params.padding),
        n < params.batch * pixels,
    );
}
fn gemm_b_at(g: u32, k: u32, col: BCol) -> f32 {
    let taps = params.kernel_h * params.kernel_w;
    let ci = k / taps;
    let kh = (k % taps) / params.kernel_w;
    let kw = k % params.kernel_w;
    let ih = col.ih0 + i32(kh);
    let iw = col.iw0 + i32(kw);
    if !col.valid || ih < 0 || iw < 0 || ih >= i32(params.in_h) || iw >= i32(params.in_w) {
        return 0.0;
    }
    return x_ld(col.base + (ci * params.in_h + u32(ih)) * params.in_w + u32(iw));
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let co = g * (params.out_channels / params.groups) + m;
    let pixels = params.out_h * params.out_w;
    let img = n / pixels;
    var v = acc;
    if params.has_bias != 0u {
        v += b_ld(co);
    }
    v = activate(v, params.act);
    y_st((img * params.out_channels + co) * pixels + n % pixels, v);
}

@compute @workgroup_size(16, 16, 1)
fn conv2d_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let dims = vec4<u32>(
        params.out_channels / params.groups,
        params.batch * params.out_h * params.out_w,
        params.in_channels / params.groups * params.kernel_h * params.kernel_w,
        params.groups,
    );
    gemm_run(wid, nwg, lindex, dims, 1u);
}
