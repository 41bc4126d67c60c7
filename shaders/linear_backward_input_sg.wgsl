// linear_backward_input_sg: linear_backward_input as a GEMM read straight from the tensors
// (the subgroup family, "NN" core): dx[b][i] (+)= sum over o in [row0, row0 + rows) of
// dy[b][o] * w[o][i], dy's rows read from its buffer as vec4s along o, w's rows as vec4s
// along i from their weight texture (common/linear_sg_operands) — no transposed w. Needs in
// and out % 4 == 0 and row0, rows % 4 == 0. Weight chunks accumulate in order (ACCUMULATE, a
// pipeline constant).
// Layout: dy [batch, out], w [rows, in] (this chunk) as a texture, dx [batch, in].
// GEMM: M = batch, N = in, K = rows (see the generated gemm_sg_nn core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: ceil(M/TM) * ceil(N/TN), linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_input.
//#tensor4 3 dx write
//#texture 2 bpack storage
//#include linear_sg_params
//#tensor4 1 dy read
//#include linear_sg_operands
//#include gemm_sg_nn
override ACCUMULATE: bool = false;

fn gemm_a_row(g: u32, m: u32) -> u32 { return (m * params.out_features + params.row0) / 4u; }
fn gemm_a4(i: u32) -> vec4<f32> { return dy_ld4(i); }
fn gemm_b_quad(g: u32, k: u32, n: u32) -> vec4<f32> { return operand_b4((k * params.in_features + n) / 4u); }

fn gemm_store4(g: u32, m: u32, n: u32, v: vec4<f32>) {
    let i = (m * params.in_features + n) / 4u;
    var out = v;
    if ACCUMULATE {
        out += dx_ld4(i);
    }
    dx_st4(i, out);
}

@compute @workgroup_size(SG, 1, 1)
fn linear_backward_input_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_nn_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u));
}
