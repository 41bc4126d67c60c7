// linear_backward_input: dx[n, i] (+)= sum_o dy[n, o] * w[o, i] over the rows o in [row0, row0 + rows).
// Layout: dy [N, O], w [O, I] bound from row row0, dx [N, I].
// With accumulate = 1 the result is added to dx (the second and later row chunks of a
// weight too large for one binding); chunks run in a fixed order, so results are reproducible.
// GEMM: M = batch, N = in_features, K = rows. One invocation: a 4x4 block (common/gemm.wgsl).
// Dispatch: kernels::gemm_workgroups(M, N, G) workgroups of 256 (common/gemm.wgsl).
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_input.
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx write
//#include gemm
//#include linear_params

// A: dy[m, row0 + k]; B: w[k, n] of the weight chunk.
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(m * params.out_features + params.row0, m < params.batch);
}
fn gemm_a_at(g: u32, k: u32, row: ARow) -> f32 {
    if !row.valid {
        return 0.0;
    }
    return dy_ld(row.base + k);
}
struct BCol { n: u32, valid: bool }
fn gemm_b_col(g: u32, n: u32) -> BCol {
    return BCol(n, n < params.in_features);
}
fn gemm_b_at(g: u32, k: u32, col: BCol) -> f32 {
    if !col.valid {
        return 0.0;
    }
    return w_ld(k * params.in_features + col.n);
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let i = m * params.in_features + n;
    var v = acc;
    if params.accumulate != 0u {
        v += dx_ld(i);
    }
    dx_st(i, v);
}

@compute @workgroup_size(16, 16, 1)
fn linear_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    gemm_run(wid, nwg, lindex, vec4<u32>(params.batch, params.in_features, params.rows, 1u), 1u);
}
