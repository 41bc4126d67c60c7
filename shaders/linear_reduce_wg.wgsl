// linear_reduce_wg: the second half of a split-k linear_forward_wg or linear_backward_input_wg
// (the workgroup family): out[m][n] = sum over s < splits of partial[s][m][n], in order of s,
// then, by MODE (a pipeline constant):
//   0  forward: + b[row0 + n], stored at y[m][row0 + n] (M = batch, N = rows of this chunk)
//   1  backward_input: + dx[m][n] when accumulate = 1 (weight chunks), stored at dx[m][n]
//      (M = batch, N = in_features)
// Layout: partial [splits][M][N] f32, b [O] (MODE 0; unused otherwise), out = y [N, O] or dx [N, I].
// One invocation: one output. Dispatch: ceil(M*N / 256) workgroups, linearised.
// Precision: partials f32, b and out in storage precision.
// CPU reference: cpu::linear::forward, cpu::linear::backward_input (through the passes).
//#tensor 2 b read
//#tensor 3 out write
//#include linear_wg_params
//#include flat
//#include activation
@group(0) @binding(1) var<storage, read> partial: array<f32>;
override MODE: u32 = 0u;

@compute @workgroup_size(256, 1, 1)
fn linear_reduce_wg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let cols = select(params.in_features, params.rows, MODE == 0u);
    let len = params.batch * cols;
    let i = flat_index(wid, nwg, lindex);
    if i >= len {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        sum += partial[s * len + i];
    }
    let m = i / cols;
    let n = i - m * cols;
    if MODE == 0u {
        let o = params.row0 + n;
        if params.has_bias != 0u {
            sum += b_ld(o);
        }
        sum = activate(sum, params.act);
        out_st(m * params.out_features + o, sum);
    } else {
        if params.accumulate != 0u {
            sum += out_ld(i);
        }
        out_st(i, sum);
    }
}
