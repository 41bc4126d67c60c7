// linear_forward: y[n, o] = sum_i x[n, i] * w[o, i] + b[o] for the rows o in [row0, row0 + rows).
// Layout: x [N, I], w [O, I] bound from row row0, b [O], y [N, O].
// GEMM: M = batch, N = rows, K = in_features. One invocation: a 4x4 block (common/gemm.wgsl).
// Dispatch: ceil(batch/64) * ceil(rows/64) workgroups of 16x16.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::forward.
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include gemm
//#include linear_params

fn gemm_load_a(g: u32, m: u32, k: u32) -> f32 {
    if m >= params.batch || k >= params.in_features {
        return 0.0;
    }
    return x_ld(m * params.in_features + k);
}

fn gemm_load_b(g: u32, k: u32, n: u32) -> f32 {
    if k >= params.in_features || n >= params.rows {
        return 0.0;
    }
    return w_ld(n * params.in_features + k);
}

fn gemm_store(g: u32, m: u32, n: u32, acc: f32) {
    let o = params.row0 + n;
    var v = acc;
    if params.has_bias != 0u {
        v += b_ld(o);
    }
    y_st(m * params.out_features + o, v);
}

@compute @workgroup_size(16, 16, 1)
fn linear_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    gemm_run(wid, nwg, lid, lindex, vec4<u32>(params.batch, params.rows, params.in_features, 1u));
}
