// linear_backward_weight: dw[o, i] = sum_n dy[n, o] * x[n, i] for the rows o in [row0, row0 + rows).
// Layout: dy [N, O], x [N, I], dw [O, I] bound from row row0.
// GEMM: M = rows, N = in_features, K = batch. One invocation: a 4x4 block (common/gemm.wgsl).
// Dispatch: ceil(rows/64) * ceil(in_features/64) workgroups of 16x16.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_weight.
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 dw write
//#include gemm
//#include linear_params

fn gemm_load_a(g: u32, m: u32, k: u32) -> f32 {
    if m >= params.rows || k >= params.batch {
        return 0.0;
    }
    return dy_ld(k * params.out_features + params.row0 + m);
}

fn gemm_load_b(g: u32, k: u32, n: u32) -> f32 {
    if k >= params.batch || n >= params.in_features {
        return 0.0;
    }
    return x_ld(k * params.in_features + n);
}

fn gemm_store(g: u32, m: u32, n: u32, acc: f32) {
    dw_st(m * params.in_features + n, acc);
}

@compute @workgroup_size(16, 16, 1)
fn linear_backward_weight(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    gemm_run(wid, nwg, lid, lindex, vec4<u32>(params.rows, params.in_features, params.batch, 1u));
}
