// linear_backward_weight_dot: linear_backward_weight for a layer with few outputs (see
// linear_forward_dot): one invocation four weights of a row, the sums over the batch of a value
// of dy times a vec4 of x, in order of n. LeNet-5's fc2 at batch 64 took 0.18 ms on Mesa 22.3
// lavapipe in the tiled GEMM (one workgroup, scalar loads).
//   dw[o, 4q .. 4q + 4] = sum_n dy[n, row0 + o] * x[n, 4q .. 4q + 4]   for o < rows
// Layout: dy [N, O], x [N, I], dw [O, I] bound from row row0; I a multiple of 4.
// With BIAS the invocations of the first quad (q = 0) also sum the values of dy they load into
// db[row0 + o], in order of n: the layer's bias gradient without a launch of its own.
// One invocation: four weights. Dispatch: ceil(rows * I / 4 / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::backward_weight.
//#tensor 1 dy read
//#tensor4 2 x read
//#tensor4 3 dw write
//#tensor 4 db write
//#include flat
//#include linear_params
override BIAS: bool = false;

@compute @workgroup_size(256, 1, 1)
fn linear_backward_weight_dot(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let k4 = params.in_features / 4u;
    if i >= params.rows * k4 {
        return;
    }
    let o = i / k4;
    let q = i - o * k4;
    var acc = vec4<f32>(0.0);
    var bias = 0.0;
    for (var n = 0u; n < params.batch; n++) {
        let d = dy_ld(n * params.out_features + params.row0 + o);
        acc = fma(vec4<f32>(d), x_ld4(n * k4 + q), acc);
        bias += d;
    }
    dw_st4(i, acc);
    if BIAS && q == 0u {
        db_st(params.row0 + o, bias);
    }
}
