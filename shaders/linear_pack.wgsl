// linear_pack: copies a linear operand into the row-major f32 layout the subgroup GEMM core
// reads as vec4 along k (rows of k4 * 4 floats, zero beyond `pcols`).
// Layout: a^T [prows][batch] from a [batch][features]: dst[f][b] = a[b][row0 + f]
// (backward_weight's A = dy^T and B = x^T).
// One invocation: one vec4 of a packed row. Dispatch: ceil(len / 1024) workgroups, linearised.
// Precision: src in storage precision, dst f32.
// CPU reference: none of its own (checked through the linear passes it feeds).
//#tensor 1 src read
//#include linear_sg_params
//#include flat
//#include div
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256, 1, 1)
fn linear_pack(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i * 4u >= params.len {
        return;
    }
    let row = div_u(i, params.k4);
    let col = (i - row * params.k4) * 4u;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        if col + j < params.pcols {
            v[j] = src_ld((col + j) * params.features + params.row0 + row);
        }
    }
    dst[i] = v;
}
