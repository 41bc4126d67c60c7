// linear_forward_dot: linear_forward for a layer with few outputs (a classifier head: LeNet-5's
// fc2, 84 -> 10; AlexNet's fc8, 4096 -> 10): one invocation a value of y, the dot product of a
// row of x and a row of w read as vec4s, four running sums added as (x + y) + (z + w). The
// tiled GEMM's 64 x 64 tiles of 4 x 4 blocks give such a layer one workgroup (one core on a CPU
// driver, most of its invocations idle) that reads scalars: on Mesa 22.3 lavapipe, LeNet-5's
// fc2 at batch 64 took 0.20 ms and AlexNet's fc8 at batch 32 6.8 ms that way.
//   y[n, row0 + o] = act(sum_k x[n, k] * w[o, k] + b[row0 + o])   for o < rows
// Layout: x [N, I], w [O, I] bound from row row0, b [O], y [N, O]; I a multiple of 4.
// One invocation: one output. Dispatch: ceil(N * rows / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::linear::forward.
//#tensor4 1 x read
//#tensor4 2 w read
//#tensor 3 b read
//#tensor 4 y write
//#include flat
//#include linear_params
//#include activation

@compute @workgroup_size(256, 1, 1)
fn linear_forward_dot(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * params.rows {
        return;
    }
    let n = i / params.rows;
    let o = i - n * params.rows;
    let k4 = params.in_features / 4u;
    var acc = vec4<f32>(0.0);
    for (var k = 0u; k < k4; k++) {
        acc = fma(x_ld4(n * k4 + k), w_ld4(o * k4 + k), acc);
    }
    var v = (acc.x + acc.y) + (acc.z + acc.w);
    if params.has_bias != 0u {
        v += b_ld(params.row0 + o);
    }
    y_st(n * params.out_features + params.row0 + o, activate(v, params.act));
}
