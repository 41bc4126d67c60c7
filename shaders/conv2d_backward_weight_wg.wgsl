// conv2d_backward_weight_wg: conv2d_backward_weight on the workgroup-memory GEMM core (the
// GPU family): dw[co, ci, kh, kw] = sum over n, oh, ow of dy[n, co, oh, ow] * x[n, g*Cin/G + ci, ih, iw]
// with ih = oh*stride - pad + kh, iw = ow*stride - pad + kw (0 outside the image); the tile
// loader gathers dy's rows and x under each tap straight into workgroup memory.
// Layout: dy [N, Cout, OH, OW], x [N, Cin, H, W], dw [Cout, Cin/G, KH, KW].
// GEMM per group g: M = Cout/G, N = Cin/G*KH*KW, K = batch*OH*OW (summed in a fixed order).
// With accumulate = 1 the result is added to dw (batch chunks, in a fixed order).
// Few outputs and a long k (first layers, large batches): k is split into `splits` slices
// whose partial sums go to `partial` [splits, Cout, Cin/G*KH*KW] (f32) and are added in
// order by conv2d_backward_weight_reduce.
// One workgroup: a TM x TN tile, 4x4 outputs an invocation (common/gemm_wg.wgsl).
// Dispatch: kernels::wg_workgroups(M, N, G, splits) workgroups of 256, WG_TY from wg_threads_m.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 dw write
//#include conv2d_params
//#include div
//#include conv2d_positions
//#include gemm_wg
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

// A: dy of output channel m of group g; k = (image, output pixel).
struct ARow { co: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    let cout_g = params.out_channels / params.groups;
    return ARow(g * cout_g + m, m < cout_g);
}
fn gemm_a4(g: u32, row: ARow, k: u32) -> vec4<f32> {
    let pixels = params.out_h * params.out_w;
    let len = params.batch * pixels;
    var v = vec4<f32>(0.0);
    if !row.valid {
        return v;
    }
    var img = div_u(k, pixels);
    var p = k - img * pixels;
    for (var j = 0u; j < 4u; j++) {
        if k + j < len {
            v[j] = dy_ld((img * params.out_channels + row.co) * pixels + p);
        }
        p += 1u;
        if p == pixels {
            p = 0u;
            img += 1u;
        }
    }
    return v;
}

// B: x under tap n = (ci, kh, kw) of the window of output pixel k = (image, oh, ow).
struct BRow { plane: u32, kh: u32, kw: u32, valid: bool }
fn gemm_b_row(g: u32, n: u32) -> BRow {
    let cin_g = params.in_channels / params.groups;
    let t = tap_of(n);
    return BRow(g * cin_g + t.ci, t.kh, t.kw, n < cin_g * params.kernel_h * params.kernel_w);
}
fn gemm_b4(g: u32, row: BRow, k: u32) -> vec4<f32> {
    let len = params.batch * params.out_h * params.out_w;
    var v = vec4<f32>(0.0);
    if !row.valid {
        return v;
    }
    var q = pixel_of(k);
    for (var j = 0u; j < 4u; j++) {
        let ih = i32(q.oh * params.stride + row.kh) - i32(params.padding);
        let iw = i32(q.ow * params.stride + row.kw) - i32(params.padding);
        if k + j < len && ih >= 0 && iw >= 0 && ih < i32(params.in_h) && iw < i32(params.in_w) {
            let plane = q.img * params.in_channels + row.plane;
            v[j] = x_ld((plane * params.in_h + u32(ih)) * params.in_w + u32(iw));
        }
        q = next_pixel(q);
    }
    return v;
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let cout_g = params.out_channels / params.groups;
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    let i = (g * cout_g + m) * kdim + n;
    if params.splits > 1u {
        partial[split * params.out_channels * kdim + i] = acc;
        return;
    }
    var v = acc;
    if params.accumulate != 0u {
        v += dw_ld(i);
    }
    dw_st(i, v);
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_backward_weight_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let dims = vec4<u32>(
        params.out_channels / params.groups,
        params.in_channels / params.groups * params.kernel_h * params.kernel_w,
        params.batch * params.out_h * params.out_w,
        params.groups,
    );
    gemm_run(wid, nwg, lindex, dims, params.splits);
}
