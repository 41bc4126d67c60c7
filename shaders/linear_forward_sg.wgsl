// linear_forward_sg: linear_forward as a GEMM on textures (the subgroup family):
// y[b][row0 + o] = sum over i of x[b][i] * w[o][i] (+ bias[row0 + o]) for the weight rows
// [row0, row0 + rows); x read from its buffer as vec4s (each lane loads a row that the
// subgroup broadcasts: a few loads per tile, and no packing launch), w the rows' weight
// texture (common/linear_sg_operands). Needs in_features % 4 == 0 (rows of whole vec4s).
// Layout: x [batch, in], w [rows, in] (this chunk) as a texture, b [out], y [batch, out].
// GEMM: M = batch, N = rows, K = in (see the generated gemm_sg core).
// One workgroup: one subgroup, a TM x TN tile. Dispatch: ceil(M/TM) * ceil(N/TN), linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::forward.
//#tensor 3 b read
//#tensor 4 y write
//#texture 2 bpack storage
//#include linear_sg_params
//#tensor4 1 x read
//#include linear_sg_operands
//#include gemm_sg
//#include activation

fn gemm_a_row(g: u32, m: u32) -> u32 { return m * params.k4; }
fn gemm_b_row(g: u32, n: u32) -> u32 { return n * params.k4; }
fn gemm_a4(i: u32) -> vec4<f32> { return x_ld4(i); }
fn gemm_a_at(row: u32, k: u32) -> vec4<f32> { return gemm_a4(row + k); }
fn gemm_b4(i: u32) -> vec4<f32> { return operand_b4(i); }
fn gemm_b_at(row: u32, k: u32) -> vec4<f32> { return gemm_b4(row + k); }

fn gemm_store(g: u32, split: u32, m: u32, n: u32, v: f32) {
    let o = params.row0 + n;
    var out = v;
    if params.has_bias != 0u {
        out += b_ld(o);
    }
    out = activate(out, params.act);
    y_st(m * params.out_features + o, out);
}

@compute @workgroup_size(SG, 1, 1)
fn linear_forward_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(params.m, params.n, params.k4, 1u), 1u);
}
