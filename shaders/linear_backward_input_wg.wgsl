// linear_backward_input_wg: linear_backward_input on the workgroup-memory GEMM core (the GPU
// family): dx[n, i] (+)= sum_o dy[n, o] * w[o, i] over the rows o in [row0, row0 + rows).
// Layout: dy [N, O], w [O, I] bound from row row0, dx [N, I].
// With accumulate = 1 the result is added to dx (the second and later row chunks of a
// weight too large for one binding); chunks run in a fixed order.
// GEMM: M = batch, N = in_features, K = rows; A = dy's rows, B = w's columns (strided).
// Few tiles and a long k (small batches): k is split into `splits` slices whose partial sums
// go to `partial` [splits][batch][in_features] (f32), added in order by linear_reduce_wg.
// One workgroup: a TM x TN tile, 4x4 outputs an invocation (common/gemm_wg.wgsl).
// Dispatch: kernels::wg_workgroups(M, N, 1, splits) workgroups of 256, WG_TY from wg_threads_m.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_input.
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx write
//#include linear_wg_params
//#include gemm_wg
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

// A: dy[m, row0 + k]; B: w[k, n] of the weight chunk.
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(m * params.out_features + params.row0, m < params.batch);
}
fn gemm_a4(g: u32, row: ARow, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < params.rows {
            v[j] = dy_ld(row.base + k + j);
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
        if row.valid && k + j < params.rows {
            v[j] = w_ld((k + j) * params.in_features + row.n);
        }
    }
    return v;
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    let i = m * params.in_features + n;
    if params.splits > 1u {
        partial[split * params.batch * params.in_features + i] = acc;
        return;
    }
    var v = acc;
    if params.accumulate != 0u {
        v += dx_ld(i);
    }
    dx_st(i, v);
}

@compute @workgroup_size(256, 1, 1)
fn linear_backward_input_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    gemm_run(wid, nwg, lindex, vec4<u32>(params.batch, params.in_features, params.rows, 1u), params.splits);
}
