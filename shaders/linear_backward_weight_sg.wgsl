// linear_backward_weight_sg: linear_backward_weight as a GEMM (the subgroup family, "NN"
// core): dw[o][i] = sum over b of dy[b][row0 + o] * x[b][i] for the weight rows
// [row0, row0 + rows) bound at dw; dy transposed by linear_pack (zero past the batch) so that
// its rows are broadcast, x packed as it is (zero rows past the batch; in the storage's
// precision) and read along its rows as vec4s (both textures, common/linear_sg_operands), dw
// stored as vec4s.
// Needs in_features % 4 == 0.
// Layout: dyt [rows][k4] vec4 and x [k4 * 4][in] as textures, dw [rows, in] (this chunk).
// GEMM: M = rows, N = in, K = batch (see the generated gemm_sg_nn core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: ceil(M/TM) * ceil(N/TN), linearised.
// Precision: x and dw in storage precision, f32 accumulation.
// CPU reference: cpu::linear::backward_weight.
//#tensor4 3 dw write
//#texture 2 bpack storage
//#include linear_sg_params
//#texture 1 dyt
//#include linear_sg_operands
//#include gemm_sg_nn
fn gemm_a_row(g: u32, m: u32) -> u32 { return m * params.k4; }
fn gemm_a4(i: u32) -> vec4<f32> { return dyt_ld4(i); }
// Rows past the batch (the last vec4 of k) are zeros in both packed operands.
fn gemm_b_quad(g: u32, k: u32, n: u32) -> vec4<f32> {
    return operand_b4((k * params.in_features + n) / 4u);
}

fn gemm_store4(g: u32, m: u32, n: u32, v: vec4<f32>) {
    dw_st4((m * params.in_features + n) / 4u, v);
}

@compute @workgroup_size(SG, 1, 1)
fn linear_backward_weight_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_nn_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u));
}
