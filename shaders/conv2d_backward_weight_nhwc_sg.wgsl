// conv2d_backward_weight_nhwc_sg: conv2d_backward_weight_sg for a conv of one group whose
// input channels come in fours, without im2col^T: the "NN" GEMM core reads B along its rows,
// and row k (output pixel q of an image) of B holds, at columns (kh, kw, ci), x under tap
// (kh, kw) of that pixel's window — 4 channels at a time one texel of x packed channels-last
// (conv2d_pack mode 10, as conv2d_forward_nhwc_sg reads it), at an offset that is k's part
// (the same in every lane; divisions by pipeline constants compile to multiplications) plus
// the column's (set once). im2col^T wrote KH * KW copies of x (U-Net's 64-wide convolutions
// at full resolution: the pack took several times the GEMM's time); this pack writes x once.
// dw[m][(ci, kh, kw)] = sum over k of dy4[m][k] * x[k][(kh, kw, ci)].
// Layout: apack = conv2d_pack mode 4 [Cout][k4] vec4 (each image's pixels padded to whole
// vec4s: zeros), bpack = mode 10 [N][HP][WP][C4] texels, dw [Cout, Cin, KH, KW]; with
// accumulate = 1 the result is added to dw (batch chunks).
// Pipeline constants: C4 = Cin / 4, KW, HP = H + 2 * pad, WP = W + 2 * pad, PIX4 = each
// image's output pixels rounded up to a multiple of 4.
// GEMM: M = Cout, N = KH * KW * Cin, K = images * PIX4 (see the generated gemm_sg_nn core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: ceil(M/TM) * ceil(N/TN), linearised.
// Precision: packed operands f32, dw in storage precision, f32 accumulation.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor 3 dw write
//#include conv2d_sg_params
//#texture 1 apack
//#texture 2 bpack
//#include conv2d_sg_operands
//#include gemm_sg_nn
override C4: u32 = 1u;
override KW: u32 = 1u;
override HP: u32 = 1u;
override WP: u32 = 1u;
override PIX4: u32 = 4u;

// B[k][n..n+4]: channels n % Cin .. + 4 under tap n / Cin of output pixel k (rows in an
// image's padding read its last pixel; A is zero there).
fn gemm_b_quad(g: u32, k: u32, n: u32) -> vec4<f32> {
    let img = k / PIX4;
    let p = min(k - img * PIX4, params.out_h * params.out_w - 1u);
    let oh = p / params.out_w;
    let ow = p - oh * params.out_w;
    let c = n / 4u;
    let t = c / C4;
    let kh = t / KW;
    let pixel = (img * HP + oh * params.stride + kh) * WP + ow * params.stride + t - kh * KW;
    return gemm_b4(pixel * C4 + c - t * C4);
}

// dw[m][n..n+4] in (kh, kw, ci) order: 4 channels of one tap.
fn gemm_store4(g: u32, m: u32, n: u32, v: vec4<f32>) {
    let taps = params.kernel_h * params.kernel_w;
    let t = n / params.in_channels;
    let ci = n - t * params.in_channels;
    for (var j = 0u; j < 4u; j++) {
        let i = (m * params.in_channels + ci + j) * taps + t;
        var out = v[j];
        if params.accumulate != 0u {
            out += dw_ld(i);
        }
        dw_st(i, out);
    }
}

@compute @workgroup_size(SG, 1, 1)
fn conv2d_backward_weight_nhwc_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_nn_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u));
}
