// conv2d_forward_sg: conv2d_forward as a GEMM over packed operands (the subgroup family):
// y[n, g*cg + m, p] = sum over k of wpack[g][m][k] * colpack[g][(n, p)][k] (+ b[g*cg + m]).
// Layout: apack = conv2d_pack mode 0 [G][cg][k4] vec4, bpack = mode 1 [G][pixels][k4] vec4
// (cg = Cout/G, pixels = N*OH*OW of this chunk), b [Cout], y [N, Cout, OH, OW].
// GEMM per group: M = cg, N = pixels, K = Cin/G*KH*KW (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: G * ceil(M/TM) * ceil(N/TN), linearised.
// Precision: packed operands f32, b and y in storage precision, f32 accumulation.
// CPU reference: cpu::conv2d::forward.
//#tensor 3 b read
//#tensor 4 y write
//#include conv2d_sg_params
//#include div
//#texture 1 apack
//#texture 2 bpack
//#include conv2d_sg_operands
//#include conv2d_sg_packed_b
//#include gemm_sg
//#include activation
//#include conv2d_forward_store

@compute @workgroup_size(SG, 1, 1)
fn conv2d_forward_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, params.groups), 1u);
}
