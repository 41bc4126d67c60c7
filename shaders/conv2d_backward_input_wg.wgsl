// conv2d_backward_input_wg: the column gradient of conv2d on the workgroup-memory GEMM core
// (the GPU family): dcol[g][(n, oh, ow)][(ci, kh, kw)] = sum over c < cg of
// dy[n, g*cg + c, oh, ow] * w[g*cg + c, ci, kh, kw]; conv2d_col2im then adds the taps of each
// input pixel. Every product computed is a real one: no tap is rejected. The tile loader
// reads dy and w in place (strided along k), no packed copies.
// Layout: dy [N, Cout, OH, OW] (images from `first`), w [Cout, Cin/G, KH, KW],
// dcol [G][pixels][kc] f32 (kc = Cin/G*KH*KW, pixels = m = this launch's images * OH*OW).
// GEMM per group: M = pixels, N = kc, K = cg = Cout/G (common/gemm_wg.wgsl).
// One workgroup: a TM x TN tile, 4x4 outputs an invocation.
// Dispatch: kernels::wg_workgroups(M, N, G, 1) workgroups of 256, WG_TY from wg_threads_m.
// Precision: dy and w in storage precision, dcol f32 (col2im writes dx in storage precision).
// CPU reference: cpu::conv2d::backward_input (with conv2d_col2im).
//#tensor 1 dy read
//#tensor 2 w read
//#include conv2d_sg_params
//#include div
//#include gemm_wg
@group(0) @binding(3) var<storage, read_write> dcol: array<f32>;

// A: dy at output pixel m (of this launch's images) of the group's channels; k = channel.
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    let pixels = params.out_h * params.out_w;
    let img = div_u(m, pixels);
    let cg = params.out_channels / params.groups;
    let base = ((params.first + img) * params.out_channels + g * cg) * pixels + m - img * pixels;
    return ARow(base, m < params.m);
}
fn gemm_a4(g: u32, row: ARow, k: u32) -> vec4<f32> {
    let pixels = params.out_h * params.out_w;
    let cg = params.out_channels / params.groups;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < cg {
            v[j] = dy_ld(row.base + (k + j) * pixels);
        }
    }
    return v;
}

// B: w at position n = (ci, kh, kw) of the group's output channels; k = channel.
struct BRow { base: u32, valid: bool }
fn gemm_b_row(g: u32, n: u32) -> BRow {
    let cg = params.out_channels / params.groups;
    return BRow(g * cg * params.n + n, n < params.n);
}
fn gemm_b4(g: u32, row: BRow, k: u32) -> vec4<f32> {
    let cg = params.out_channels / params.groups;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < cg {
            v[j] = w_ld(row.base + (k + j) * params.n);
        }
    }
    return v;
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, v: f32) {
    dcol[(g * params.m + m) * params.n + n] = v;
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_backward_input_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let cg = params.out_channels / params.groups;
    gemm_run(wid, nwg, lindex, vec4<u32>(params.m, params.n, cg, params.groups), 1u);
}
