// linear_forward_wg: linear_forward on the workgroup-memory GEMM core (the GPU family):
// y[n, o] = sum_i x[n, i] * w[o, i] + b[o] for the rows o in [row0, row0 + rows).
// Layout: x [N, I], w [O, I] bound from row row0, b [O], y [N, O].
// GEMM: M = batch, N = rows, K = in_features; both operands read along their rows.
// Few tiles and a long k (small batches): k is split into `splits` slices whose partial sums
// go to `partial` [splits][batch][rows] (f32), added in order (and the bias) by
// linear_reduce_wg.
// One workgroup: a TM x TN tile, 4x4 outputs an invocation (common/gemm_wg.wgsl).
// Dispatch: kernels::wg_workgroups(M, N, 1, splits) workgroups of 256, WG_TY from wg_threads_m.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::forward.
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include linear_wg_params
//#include gemm_wg
//#include activation
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

// A: row m of x; B: row n of the weight chunk, both along k.
struct ARow { base: u32, valid: bool }
fn gemm_a_row(g: u32, m: u32) -> ARow {
    return ARow(m * params.in_features, m < params.batch);
}
fn gemm_a4(g: u32, row: ARow, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < params.in_features {
            v[j] = x_ld(row.base + k + j);
        }
    }
    return v;
}
struct BRow { base: u32, valid: bool }
fn gemm_b_row(g: u32, n: u32) -> BRow {
    return BRow(n * params.in_features, n < params.rows);
}
fn gemm_b4(g: u32, row: BRow, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if row.valid && k + j < params.in_features {
            v[j] = w_ld(row.base + k + j);
        }
    }
    return v;
}

fn gemm_store(g: u32, split: u32, m: u32, n: u32, acc: f32) {
    if params.splits > 1u {
        partial[(split * params.batch + m) * params.rows + n] = acc;
        return;
    }
    let o = params.row0 + n;
    var v = acc;
    if params.has_bias != 0u {
        v += b_ld(o);
    }
    v = activate(v, params.act);
    y_st(m * params.out_features + o, v);
}

@compute @workgroup_size(256, 1, 1)
fn linear_forward_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    gemm_run(wid, nwg, lindex, vec4<u32>(params.batch, params.rows, params.in_features, 1u), params.splits);
}
