// conv2d_forward_nhwc_sg: conv2d_forward_sg for a conv of one group whose input channels come
// in fours, without im2col: x is packed channels-last, padding included — texel
// ((img * HP + py) * WP + px) * C4 + cq holds channels 4cq..4cq+3 of padded pixel (py, px)
// (conv2d_pack mode 10) — and k runs over (kh, kw, channel quad), the weights packed in that
// order (mode 11), so vec4 k of output pixel n is one texel at an offset that is n's part
// (set once a column) plus k's (the same in every lane; divisions by pipeline constants
// compile to multiplications). im2col wrote KH * KW copies of x (U-Net's 64-wide convolutions
// at full resolution: the pack took 4x the GEMM's time); this pack writes x once.
// y[n, m, p] = sum over k of wpack[m][k] * xpack[(n, p)][k] (+ b[m]), through the activation.
// Layout: apack = conv2d_pack mode 11 [Cout][k4] vec4, bpack = mode 10 [N][HP][WP][C4] texels,
// b [Cout], y [N, Cout, OH, OW]. Needs groups 1 and Cin a multiple of 4.
// Pipeline constants: C4 = Cin / 4, KW, HP = H + 2 * pad, WP = W + 2 * pad.
// GEMM: M = Cout, N = pixels, K = KH * KW * Cin (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: ceil(M/TM) * ceil(N/TN), linearised.
// Precision: packed operands f32, b and y in storage precision, f32 accumulation.
// CPU reference: cpu::conv2d::forward.
//#tensor 3 b read
//#tensor 4 y write
//#include conv2d_sg_params
//#include div
//#include conv2d_positions
//#include gemm_sg
//#include activation
//#include conv2d_forward_store
//#texture 1 apack
//#texture 2 bpack
//#include conv2d_sg_operands
override C4: u32 = 1u;
override KW: u32 = 1u;
override HP: u32 = 1u;
override WP: u32 = 1u;

// The texel of output pixel n's first tap (kh, kw, cq) = (0, 0, 0).
fn gemm_b_row(g: u32, n: u32) -> u32 {
    let p = pixel_of(n);
    return ((p.img * HP + p.oh * params.stride) * WP + p.ow * params.stride) * C4;
}

// Vec4 k = (kh, kw, cq) of the column whose first texel is `row`.
fn gemm_b_at(row: u32, k: u32) -> vec4<f32> {
    let kq = k / C4;
    let kh = kq / KW;
    return gemm_b4(row + (kh * WP + kq - kh * KW) * C4 + k - kq * C4);
}

@compute @workgroup_size(SG, 1, 1)
fn conv2d_forward_nhwc_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u), 1u);
}
