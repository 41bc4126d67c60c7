// conv2d_backward_weight_sg: conv2d_backward_weight as a GEMM over packed operands (the
// subgroup family): dw[g*cg + m][(ci, kh, kw)] = sum over output pixels q of
// dy[g][m][q] * im2col(x)[g][(ci, kh, kw)][q], the long sum split into `splits` slices whose
// partial sums go to `partial` [splits][Cout * kc] and are added in order by
// conv2d_backward_weight_reduce (few weights, long sums: LeNet conv1 has 150 weights and
// 50,176-long sums at batch 64).
// Layout: apack = conv2d_pack mode 4 [G][cg][k4] vec4, bpack = mode 5 [G][kc][k4] vec4,
// dw [Cout, Cin/G, KH, KW]; with accumulate = 1 the result is added to dw (batch chunks).
// GEMM per group: M = cg, N = kc, K = pixels (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: splits * G * ceil(M/TM) * ceil(N/TN).
// Precision: packed operands and partials f32, dw in storage precision, f32 accumulation.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor 3 dw write
//#include conv2d_sg_params
//#texture 1 apack
//#texture 2 bpack
//#include conv2d_sg_operands
//#include conv2d_sg_packed_b
//#include gemm_sg
//#include conv2d_backward_weight_store

@compute @workgroup_size(SG, 1, 1)
fn conv2d_backward_weight_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, params.groups), params.splits);
}
