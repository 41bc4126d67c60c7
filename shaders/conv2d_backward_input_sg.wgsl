// conv2d_backward_input_sg: the column gradient of conv2d as a GEMM over packed operands (the
// subgroup family): dcol[g][(n, oh, ow)][(ci, kh, kw)] = sum over c < cg of
// dy[n, g*cg + c, oh, ow] * w[g*cg + c, ci, kh, kw]; conv2d_col2im then adds the taps of each
// input pixel. Every product computed is a real one: no tap is rejected.
// Layout: apack = conv2d_pack mode 2 [G][pixels][k4] vec4, bpack = mode 3 [G][kc][k4] vec4,
// dcol [G][pixels][kc] f32 (kc = Cin/G*KH*KW, pixels = N*OH*OW of this chunk).
// GEMM per group: M = pixels, N = kc, K = cg (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: G * ceil(M/TM) * ceil(N/TN), linearised.
// Precision: f32 throughout (storage precision is read by the pack and written by col2im).
// CPU reference: cpu::conv2d::backward_input (with conv2d_col2im).
//#include conv2d_sg_params
//#texture 1 apack
//#texture 2 bpack
//#include conv2d_sg_operands
//#include conv2d_sg_packed_b
//#include gemm_sg
@group(0) @binding(3) var<storage, read_write> dcol: array<f32>;

fn gemm_store(g: u32, split: u32, m: u32, n: u32, v: f32) {
    dcol[(g * params.m + m) * params.n + n] = v;
}

@compute @workgroup_size(SG, 1, 1)
fn conv2d_backward_input_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, params.groups), 1u);
}
