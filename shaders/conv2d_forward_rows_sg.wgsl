// conv2d_forward_rows_sg: conv2d_forward_sg for a stride-4 conv (AlexNet's conv1) without
// im2col. x is packed in rows of texels of 4 pixels, its padding included (conv2d_pack mode 7:
// texel t of padded row r holds x[r - pad][4t - pad .. 4t - pad + 4], zero outside), so taps
// kw..kw+3 (kw a multiple of 4) of output pixel (oh, ow) are texel ow + kw/4 of padded row
// 4*oh + kh: vec4 k = (ci, kh, kw/4) of output pixel n lies at a texel offset that depends on
// k alone from pixel n's first, and the GEMM reads x where it lies. Each kernel row is padded
// to KWQ whole vec4s with zero weights (mode 8): AlexNet conv1 does 396 multiply-adds an
// output for 363 and packs 1.2 M texels a batch of 32 instead of im2col's 8.8 M.
// y[n, m, p] = sum over k of wpack[m][k] * x4[(n, p)][k] (+ b[m]), through the activation.
// Layout: apack = conv2d_pack mode 8 [Cout][k4] vec4, bpack = mode 7 [N][Cin][HP][WT] texels,
// b [Cout], y [N, Cout, OH, OW]. Needs stride 4 and groups 1.
// Pipeline constants: KWQ = ceil(KW / 4) texels a kernel row, KH, HP = H + 2 * pad padded
// rows a plane, WT = OW + KWQ - 1 texels a padded row.
// GEMM: M = Cout, N = pixels, K = Cin * KH * KWQ vec4s (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: ceil(M/TM) * ceil(N/TN), linearised.
// Precision: packed operands f32, b and y in storage precision, f32 accumulation.
// CPU reference: cpu::conv2d::forward.
//#tensor 3 b read
//#tensor 4 y write
//#include conv2d_sg_params
//#include div
//#include gemm_sg
//#include activation
//#include conv2d_forward_store
//#texture 1 apack
//#texture 2 bpack
//#include conv2d_sg_operands
override KWQ: u32 = 1u;
override KH: u32 = 1u;
override HP: u32 = 1u;
override WT: u32 = 1u;

// The texel of output pixel n's first taps (ci, kh, kw) = (0, 0, 0..3).
fn gemm_b_row(g: u32, n: u32) -> u32 {
    let pixels = params.out_h * params.out_w;
    let img = div_u(n, pixels);
    let p = n - img * pixels;
    let oh = div_u(p, params.out_w);
    return (img * params.in_channels * HP + params.stride * oh) * WT + p - oh * params.out_w;
}

// Vec4 k = (ci, kh, kw / 4) of the column whose first texel is `row`: k is the same in every
// lane, and the divisions by pipeline constants compile to multiplications.
fn gemm_b_at(row: u32, k: u32) -> vec4<f32> {
    let kq = k / KWQ;
    let ci = kq / KH;
    return gemm_b4(row + (kq + ci * (HP - KH)) * WT + k - kq * KWQ);
}

@compute @workgroup_size(SG, 1, 1)
fn conv2d_forward_rows_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u), 1u);
}
