// conv2d_backward_weight: dw = the gradient of conv2d_forward's loss with respect to w.
// dw[co, ci, kh, kw] = sum over n, oh, ow of dy[n, co, oh, ow] * x[n, g*Cin/G + ci, ih, iw]
//   with ih = oh*stride - pad + kh, iw = ow*stride - pad + kw (0 outside the image).
// Layout: dy [N, Cout, OH, OW], x [N, Cin, H, W], dw [Cout, Cin/G, KH, KW].
// GEMM per group g: M = Cout/G, N = Cin/G*KH*KW, K = batch*OH*OW (summed in a fixed order).
// With accumulate = 1 the result is added to dw (batch chunks of tensors larger than one
// storage binding, processed in a fixed order).
// When few outputs face a long k (first layers, large batches), k is split into `splits`
// slices whose partial sums go to `partial` [splits, Cout, Cin/G*KH*KW] (f32) and are added
// in order by conv2d_backward_weight_reduce.
// One invocation: a 4x4 block of outputs (common/gemm.wgsl).
// Dispatch: kernels::gemm_workgroups(M, N, G) workgroups of 256 (common/gemm.wgsl).
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 dw write
//#include gemm
//#include div
//#include conv2d_params
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;


// A: dy of output channel m of group g; k = (image, output pixel).
struct ARow { co: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    let cout_g = params.out_channels / params.groups;
    return ARow(g * cout_g + m, m < cout_g);
}
fn gemm_a_at(g: u32, k: u32, row: ARow) -> f32 {
    if !row.valid {
        return 0.0;
    }
    let pixels = params.out_h * params.out_w;
    let img = k / pixels;
    return dy_ld((img * params.out_channels + row.co) * pixels + k % pixels);
}

// B: x under tap n = (ci, kh, kw) of the window of output pixel k = (image, oh, ow).
struct BCol { plane: u32, kh: u32, kw: u32, valid: bool }
fn gemm_b_col(g: u32, n: u32) -> BCol {
    let cin_g = params.in_channels / params.groups;
    let taps = params.kernel_h * params.kernel_w;
    let ci = div_u(n, taps);
    let t = n - ci * taps;
    let kh = div_u(t, params.kernel_w);
    return BCol(g * cin_g + ci, kh, t - kh * params.kernel_w, n < cin_g * taps);
}
fn gemm_b_at(g: u32, k: u32, col: BCol) -> f32 {
    let pixels = params.out_h * params.out_w;
    let img = k / pixels;
    let oh = (k % pixels) / params.out_w;
    let ow = k % params.out_w;
    let ih = i32(oh * params.stride + col.kh) - i32(params.padding);
    let iw = i32(ow * params.stride + col.kw) - i32(params.padding);
    if !col.valid || ih < 0 || iw < 0 || ih >= i32(params.in_h) || iw >= i32(params.in_w) {
        return 0.0;
    }
    return x_ld(((img * params.in_channels + col.plane) * params.in_h + u32(ih)) * params.in_w + u32(iw));
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let cout_g = params.out_channels / params.groups;
    let kdim = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    let i = (g * cout_g + m) * kdim + n;
    if params.splits > 1u {
        // Partial sums of k slices, reduced by conv2d_backward_weight_reduce.
        partial[split * params.out_channels * kdim + i] = acc;
        return;
    }
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
