// linear_pack_pair: both operands of the subgroup family's linear weight gradient in one launch
// — dy^T into dyt (linear_pack's layout) and x as it is into xt — so that LeNet-5's conv3 and
// fc1 weight gradients pay one launch for their packs, not two: a launch costs a wake-up of
// every worker thread on CPU drivers, and the two packs are small (conv3 at batch 64: 1,920
// and 6,400 texels).
//   dyt[f][b] = dy[b][row0 + f]   for f < prows_dy, b < batch (zero to k4_dy * 4)
//   xt[b][c]  = x[b][c]           for b < batch, c < in_features (rows to prows_x zero)
// One invocation: one vec4 of a packed row. Dispatch: groups_dy workgroups for dy^T, then
// ceil(prows_x * k4_x / 256) for x, linearised. Index math divides through f32 (div_u):
// packed operands hold at most 2^24 floats (gpu::kernels::linear_sg::supports).
// Precision: dy and x in storage precision, dyt and xt f32.
// CPU reference: none of its own (checked through linear_backward_weight's parity cases).
//#tensor 1 dy read
//#tensor 3 x read
//#include flat
//#include div
struct PackPairUniform {
    batch: u32, out_features: u32, in_features: u32, row0: u32,
    k4_dy: u32, len_dy: u32, k4_x: u32, len_x: u32,
    groups_dy: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: PackPairUniform;
@group(0) @binding(2) var dyt: texture_storage_2d<rgba32float, write>;
@group(0) @binding(4) var xt: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(256, 1, 1)
fn linear_pack_pair(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let group = wid.x + wid.y * nwg.x;
    var v = vec4<f32>(0.0);
    if group < params.groups_dy {
        // The same for every invocation of the workgroup.
        let i = group * 256u + lindex;
        if i * 4u >= params.len_dy {
            return;
        }
        let row = div_u(i, params.k4_dy);
        let col = (i - row * params.k4_dy) * 4u;
        for (var j = 0u; j < 4u; j++) {
            if col + j < params.batch {
                v[j] = dy_ld((col + j) * params.out_features + params.row0 + row);
            }
        }
        textureStore(dyt, vec2<u32>(i & 2047u, i >> 11u), v);
        return;
    }
    let i = (group - params.groups_dy) * 256u + lindex;
    if i * 4u >= params.len_x {
        return;
    }
    let row = div_u(i, params.k4_x);
    let col = (i - row * params.k4_x) * 4u;
    for (var j = 0u; j < 4u; j++) {
        if col + j < params.in_features && row < params.batch {
            v[j] = x_ld(row * params.in_features + col + j);
        }
    }
    textureStore(xt, vec2<u32>(i & 2047u, i >> 11u), v);
}
