// linear_backward_weight: dw[o, i] = sum_n dy[n, o] * x[n, i] for the rows o in [row0, row0 + rows).
// Layout: dy [N, O], x [N, I], dw [O, I] bound from row row0.
// GEMM: M = rows, N = in_features, K = batch. One invocation: a 4x4 block (common/gemm.wgsl).
// Dispatch: kernels::gemm_workgroups(M, N, G) workgroups of 256 (common/gemm.wgsl).
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_weight.
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 dw write
//#include gemm
//#include linear_params

// A: dy[k, row0 + m]; B: x[k, n].
struct ARow { o: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(params.row0 + m, m < params.rows);
}
fn gemm_a_at(g: u32, k: u32, row: ARow) -> f32 {
    if !row.valid {
        return 0.0;
    }
    return dy_ld(k * params.out_features + row.o);
}
struct BCol { n: u32, valid: bool }
fn gemm_b_col(g: u32, n: u32) -> BCol {
    return BCol(n, n < params.in_features);
}
fn gemm_b_at(g: u32, k: u32, col: BCol) -> f32 {
    if !col.valid {
        return 0.0;
    }
    return x_ld(k * params.in_features + col.n);
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    dw_st(m * params.in_features + n, acc);
}

@compute @workgroup_size(16, 16, 1)
fn linear_backward_weight(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    gemm_run(wid, nwg, lindex, vec4<u32>(params.rows, params.in_features, params.batch, 1u), 1u);
}
