// linear_forward: y[n, o] = sum_i x[n, i] * w[o, i] + b[o] for the rows o in [row0, row0 + rows).
// Layout: x [N, I], w [O, I] bound from row row0, b [O], y [N, O].
// GEMM: M = batch, N = rows, K = in_features. One invocation: a 4x4 block (common/gemm.wgsl).
// Dispatch: kernels::gemm_workgroups(M, N, G) workgroups of 256 (common/gemm.wgsl).
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::forward.
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include gemm
//#include linear_params
//#include activation

// A: row m of x; B: row n of the weight chunk (w[n, k], read along k).
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(m * params.in_features, m < params.batch);
}
fn gemm_a_at(g: u32, k: u32, row: ARow) -> f32 {
    if !row.valid {
        return 0.0;
    }
    return x_ld(row.base + k);
}
struct BCol { base: u32, valid: bool }
fn gemm_b_col(g: u32, n: u32) -> BCol {
    return BCol(n * params.in_features, n < params.rows);
}
fn gemm_b_at(g: u32, k: u32, col: BCol) -> f32 {
    if !col.valid {
        return 0.0;
    }
    return w_ld(col.base + k);
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let o = params.row0 + n;
    var v = acc;
    if params.has_bias != 0u {
        v += b_ld(o);
    }
    v = activate(v, params.act);
    y_st(m * params.out_features + o, v);
}

@compute @workgroup_size(16, 16, 1)
fn linear_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    gemm_run(wid, nwg, lindex, vec4<u32>(params.batch, params.rows, params.in_features, 1u), 1u);
}
