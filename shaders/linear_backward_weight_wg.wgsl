// linear_backward_weight_wg: linear_backward_weight on the workgroup-memory GEMM core (the
// GPU family): dw[o, i] = sum_n dy[n, o] * x[n, i] for the rows o in [row0, row0 + rows).
// Layout: dy [N, O], x [N, I], dw [O, I] bound from row row0.
// GEMM: M = rows, N = in_features, K = batch; both operands read down their columns.
// One workgroup: a TM x TN tile, 4x4 outputs an invocation (common/gemm_wg.wgsl).
// Dispatch: kernels::wg_workgroups(M, N, 1, 1) workgroups of 256, WG_TY from wg_threads_m.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_weight.
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 dw write
//#include linear_params
//#include gemm_wg

// A: dy[k, row0 + m]; B: x[k, n].
struct ARow { o: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(params.row0 + m, m < params.rows);
}
fn gemm_a4(g: u32, row: ARow, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < params.batch {
            v[j] = dy_ld((k + j) * params.out_features + row.o);
        }
    }
    return v;
}
struct BRow { n: u32, valid: bool }
fn gemm_b_row(g: u32, n: u32) -> BRow {
    return BRow(n, n < params.in_features);
}
fn gemm_b4(g: u32, row: BRow, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < params.batch {
            v[j] = x_ld((k + j) * params.in_features + row.n);
        }
    }
    return v;
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    dw_st(m * params.in_features + n, acc);
}

@compute @workgroup_size(256, 1, 1)
fn linear_backward_weight_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    gemm_run(wid, nwg, lindex, vec4<u32>(params.rows, params.in_features, params.batch, 1u), 1u);
}
