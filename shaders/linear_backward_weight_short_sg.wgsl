// linear_backward_weight_short_sg: linear_backward_weight for a short batch (the subgroup
// family, batch <= gemm_sg::SHORT_WGRAD_MAX_BATCH): dw[o][i] = sum over b of dy[b][row0 + o] *
// x[b][i] for the weight rows [row0, row0 + rows) bound at dw, with x and dy read straight
// from their buffers (no packing launches). A lane keeps its columns of x for the whole
// batch and runs down ROWS_PER_WG weight rows, a quad of rows at a time: the batch is too
// short for a GEMM tile's k loop to pay for its setup and its 128 stored sums (AlexNet fc6
// at batch 32 on Mesa 22.3 lavapipe: 39-45 ms for 2,048 rows with the packs and the NN core,
// 25-27 here; see gemm_sg::short_wgrad).
// Needs in_features % 4 == 0 and out_features % 4 == 0 (rows of whole vec4s).
// Layout: dy [batch, out], x [batch, in], dw [rows, in] (this chunk).
// One workgroup: one subgroup, SG * Q quads of columns and ROWS_PER_WG rows.
// Dispatch: ceil(in / (4 * SG * Q)) * ceil(rows / ROWS_PER_WG), linearised.
// Precision: storage precision in and out, f32 sums in batch order.
// CPU reference: cpu::linear::backward_weight.
//#tensor4 1 dy read
//#tensor4 2 x read
//#tensor4 3 dw write
//#include linear_sg_params
//#include linear_wgrad_short
override ROWS_PER_WG: u32 = 512u;

fn short_x4(b: u32, q: u32) -> vec4<f32> { return x_ld4(b * (params.in_features / 4u) + q); }
fn short_dy4(b: u32, r: u32) -> vec4<f32> {
    return dy_ld4((b * params.out_features + params.row0 + r) / 4u);
}
fn short_store4(r: u32, q: u32, v: vec4<f32>) { dw_st4(r * (params.in_features / 4u) + q, v); }

@compute @workgroup_size(SG, 1, 1)
fn linear_backward_weight_short_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let n4 = params.in_features / 4u;
    let tiles_n = (n4 + SG * Q - 1u) / (SG * Q);
    let tile = wid.x + wid.y * nwg.x;
    let r0 = (tile / tiles_n) * ROWS_PER_WG;
    if r0 >= params.rows {
        return; // the same for every lane of the workgroup
    }
    short_run(lane, (tile % tiles_n) * SG * Q, r0, min(params.rows, r0 + ROWS_PER_WG), n4);
}
