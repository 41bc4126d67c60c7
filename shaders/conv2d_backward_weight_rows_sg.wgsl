// conv2d_backward_weight_rows_sg: conv2d_backward_weight_sg for a stride-1 conv of one group
// without im2col^T (LeNet-5's conv2, whose output rows, 10 wide, are narrower than its input
// rows, 14: im2col^T gathered x a value at a time and took twice the GEMM's time). k runs
// over (image, output row, quad of 4 output columns), each row's columns padded to whole
// quads with zeros in dy (conv2d_pack mode 9), so the 4 pixels of a vec4 of k lie in one row
// and read 4 consecutive values of x under tap (ci, kh, kw): x is packed in rows of texels,
// its padding included (mode 7: padded row r holds x[r - pad][c - pad] at column c, zero
// outside), and the run starts at column 4q + kw of padded row oh + kh — two texel loads and
// three selects, at an offset that is the column's part (set once) plus k's part (the same
// in every lane; divisions by pipeline constants compile to multiplications).
// At stride S > 1 (AlexNet's conv1) the 4 pixels of a vec4 read x every S columns: x is packed
// split by phase (mode 13: padded row r has S phase rows, phase ph holding x[r - pad][S * c +
// ph - pad] at column c), and tap (kh, kw)'s run starts at column 4q + kw / S of phase kw % S
// of padded row S * oh + kh — im2col^T copied each value up to (KW / S)^2 times, this once.
// Where the pass's x is the output of a launch that filled its mirror (gpu::mirrors: LeNet-5's
// pool1), B is that mirror, x as the tensor holds it: a stride-1 conv without padding reads
// the same runs there, each row ROW = W floats long instead of WT texels — a run's values past
// the row's end (the next row's) meet the zeros dy's quads are padded with. Where dy's
// producer filled dy's mirror (pool2's backward), A is that mirror (A_TENSOR): a quad of dy
// is a run of two texels too, masked to zero past the row's end.
// dw[m][(ci, kh, kw)] = sum over k of dy4[m][k] * x4[(ci, kh, kw)][k], the long sum split into
// `splits` slices as conv2d_backward_weight_sg's.
// Layout: apack = conv2d_pack mode 9 [Cout][k4] vec4, bpack = mode 7 [N][Cin][HP][WT] texels
// (mode 13 [N][Cin][HP][S][WT] at stride S > 1), or x [N][Cin][H][W] (the mirror); with
// A_TENSOR apack is dy [N][Cout][OH][OW];
// dw [Cout, Cin, KH, KW]; with accumulate = 1 the result is added to dw (batch chunks).
// Pipeline constants: KH, KW, S the stride, Q = ceil(OW / 4) quads a row, OHQ = OH * Q,
// HP = H + 2 * pad padded rows a plane, ROW floats a phase row of B (WT * 4 packed, WT =
// Q + ceil(((KW - 1) / S) / 4); W for the mirror).
// GEMM: M = Cout, N = Cin * KH * KW, K = images * OHQ vec4s (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: splits * ceil(M/TM) * ceil(N/TN).
// Precision: packed operands in storage precision (exact copies; rgba16float in the f16
// storages), partials f32, dw in storage precision, f32 accumulation.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor 3 dw write
//#include conv2d_sg_params
//#texture 1 apack storage
//#texture 2 bpack storage
//#include gemm_sg
//#include conv2d_backward_weight_store
override KH: u32 = 1u;
override KW: u32 = 1u;
override S: u32 = 1u;
override Q: u32 = 1u;
override OHQ: u32 = 1u;
override HP: u32 = 1u;
override ROW: u32 = 4u;
// A is dy as the tensor holds it (its mirror), not packed by row quads.
override A_TENSOR: bool = false;

// Values f..f+3 of a row from the two texels t0 (holding f) and t1 after it: three selects.
fn run4(t0: vec4<f32>, t1: vec4<f32>, f: u32) -> vec4<f32> {
    let s = f & 3u;
    var v = t0;
    v = select(v, vec4<f32>(t0.yzw, t1.x), s == 1u);
    v = select(v, vec4<f32>(t0.zw, t1.xy), s == 2u);
    v = select(v, vec4<f32>(t0.w, t1.xyz), s == 3u);
    return v;
}

// Where row m of A starts: vec4 m * k4 of the pack, or float m * OH * OW of the tensor
// (channel m's plane in the launch's first image).
fn gemm_a_row(g: u32, m: u32) -> u32 {
    if A_TENSOR {
        return m * params.out_h * params.out_w;
    }
    return (g * params.m + m) * params.k4;
}

// Vec4 k = (image, output row, quad) of the row of A that starts at `row`: with A_TENSOR the
// quad's 4 values of dy, zero past the row's end.
fn gemm_a_at(row: u32, k: u32) -> vec4<f32> {
    if !A_TENSOR {
        return apack_ld4(row + k);
    }
    let img = k / OHQ;
    let r = k - img * OHQ;
    let oh = r / Q;
    let ow = (r - oh * Q) * 4u;
    let f = row + (img * params.out_channels * params.out_h + oh) * params.out_w + ow;
    let v = run4(apack_ld4(f >> 2u), apack_ld4((f >> 2u) + 1u), f);
    let real = vec4<u32>(ow) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.out_w);
    return select(vec4<f32>(0.0), v, real);
}

fn gemm_b4(i: u32) -> vec4<f32> { return bpack_ld4(i); }

// The float of packed x where column n = (ci, kh, kw)'s runs start: tap (kh, kw) of plane ci.
fn gemm_b_row(g: u32, n: u32) -> u32 {
    let ci = n / (KH * KW);
    let t = n - ci * KH * KW;
    let kh = t / KW;
    let kw = t - kh * KW;
    return ((ci * HP + kh) * S + kw % S) * ROW + kw / S;
}

// Vec4 k = (image, output row, quad) of the column whose runs start at float `row`.
fn gemm_b_at(row: u32, k: u32) -> vec4<f32> {
    let img = k / OHQ;
    let r = k - img * OHQ;
    let oh = r / Q;
    let f = row + (img * params.in_channels * HP + S * oh) * S * ROW + (r - oh * Q) * 4u;
    return run4(gemm_b4(f >> 2u), gemm_b4((f >> 2u) + 1u), f);
}

@compute @workgroup_size(SG, 1, 1)
fn conv2d_backward_weight_rows_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u), params.splits);
}
