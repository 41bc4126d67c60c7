// linear_backward_input: dx[n, i] (+)= sum_o dy[n, o] * w[o, i] over the rows o in [row0, row0 + rows).
// Layout: dy [N, O], w [O, I] bound from row row0, dx [N, I].
// With accumulate = 1 the result is added to dx (the second and later row chunks of a
// weight too large for one binding); chunks run in a fixed order, so results are reproducible.
// GEMM: M = batch, N = in_features, K = rows. One invocation: a 4x4 block (common/gemm.wgsl).
// Dispatch: ceil(batch/64) * ceil(in_features/64) workgroups of 16x16.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_input.
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx write
//#include gemm
//#include linear_params

fn gemm_load_a(g: u32, m: u32, k: u32) -> f32 {
    if m >= params.batch || k >= params.rows {
        return 0.0;
    }
    return dy_ld(m * params.out_features + params.row0 + k);
}

fn gemm_load_b(g: u32, k: u32, n: u32) -> f32 {
    if k >= params.rows || n >= params.in_features {
        return 0.0;
    }
    return w_ld(k * params.in_features + n);
}

fn gemm_store(g: u32, m: u32, n: u32, acc: f32) {
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
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    gemm_run(wid, nwg, lid, lindex, vec4<u32>(params.batch, params.in_features, params.rows, 1u));
}
