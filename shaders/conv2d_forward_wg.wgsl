// conv2d_forward_wg: conv2d_forward on the workgroup-memory GEMM core (the GPU family),
// y = conv(x, w) + b as an implicit GEMM per group: the core's tile loader gathers x's
// windows straight into workgroup memory (no im2col buffer).
// Layout: x [N, Cin, H, W], w [Cout, Cin/G, KH, KW] (OIHW), b [Cout], y [N, Cout, OH, OW].
// GEMM per group g: M = Cout/G (output channel), N = batch*OH*OW (image, pixel),
// K = Cin/G*KH*KW (input channel, kernel tap); A = w's rows, B = x under each window.
// One workgroup: a TM x TN tile, 4x4 outputs an invocation (common/gemm_wg.wgsl).
// Dispatch: kernels::wg_workgroups(M, N, G, 1) workgroups of 256, WG_TY from wg_threads_m.
// Precision: x, w, b, y in storage precision; f32 accumulation.
// CPU reference: cpu::conv2d::forward.
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include conv2d_params
//#include div
//#include conv2d_positions
//#include gemm_wg
//#include activation

// A: the weights of output channel m of group g, [Cin/G * KH * KW] contiguous.
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    let cout_g = params.out_channels / params.groups;
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    return ARow((g * cout_g + m) * kdim, m < cout_g);
}
fn gemm_a4(g: u32, row: ARow, k: u32) -> vec4<f32> {
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < kdim {
            v[j] = w_ld(row.base + k + j);
        }
    }
    return v;
}

// B: x under the window of output pixel n = (image, oh, ow); k = (ci, kh, kw) picks the tap.
struct BRow { base: u32, ih0: i32, iw0: i32, valid: bool }
fn gemm_b_row(g: u32, n: u32) -> BRow {
    let p = pixel_of(n);
    let cin_g = params.in_channels / params.groups;
    return BRow(
        (p.img * params.in_channels + g * cin_g) * params.in_h * params.in_w,
        i32(p.oh * params.stride) - i32(params.padding),
        i32(p.ow * params.stride) - i32(params.padding),
        n < params.batch * params.out_h * params.out_w,
    );
}
fn gemm_b4(g: u32, row: BRow, k: u32) -> vec4<f32> {
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    var v = vec4<f32>(0.0);
    if !row.valid {
        return v;
    }
    var t = tap_of(k);
    for (var j = 0u; j < 4u; j++) {
        let ih = row.ih0 + i32(t.kh);
        let iw = row.iw0 + i32(t.kw);
        if k + j < kdim && ih >= 0 && iw >= 0 && ih < i32(params.in_h) && iw < i32(params.in_w) {
            v[j] = x_ld(row.base + (t.ci * params.in_h + u32(ih)) * params.in_w + u32(iw));
        }
        t = next_tap(t);
    }
    return v;
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let co = g * (params.out_channels / params.groups) + m;
    let pixels = params.out_h * params.out_w;
    let img = div_u(n, pixels);
    var v = acc;
    if params.has_bias != 0u {
        v += b_ld(co);
    }
    v = activate(v, params.act);
    y_st((img * params.out_channels + co) * pixels + n - img * pixels, v);
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_forward_wg(
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
