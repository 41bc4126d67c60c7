// linear_pack_pair: both operands of the subgroup family's linear weight gradient in one launch
// — dy^T into dyt (linear_pack's layout) and x as it is into xt — so that LeNet-5's conv3 and
// fc1 weight gradients pay one launch for their packs, not two: a launch costs a wake-up of
// every worker thread on CPU drivers, and the two packs are small (conv3 at batch 64: 1,920
// and 6,400 texels).
//   dyt[f][b] = dy[b][row0 + f]   for f < rows, b < batch (zero to k4_dy * 4)
//   xt[b][c]  = x[b][c]           for b < batch, c < in_features (rows to a multiple of 4 zero)
// Every load is a vec4 (out_features and in_features are multiples of 4, gpu::kernels::
// linear_sg::supports; row0 and rows too, linear_sg::pieces): an invocation of the dy^T part runs down the batch for
// four features, loading a 4 x 4 block of dy — four rows of the batch, four features — a step
// and storing its transpose as four texels; one of the x part copies one texel. On Mesa 22.3
// lavapipe, where a load at a per-lane address runs lane by lane, this took the pack of
// LeNet-5's conv3 at batch 64 from 16 scalar loads for four dy^T texels and 4 for each x
// texel to 4 and 1.
// With BIAS the dy^T part also sums its four features over the batch (a vec4 of running sums,
// each block's rows added as (r0 + r1) + (r2 + r3)) and stores them to db[row0 + f]: the
// layer's bias gradient, from the loads the pack makes anyway (no linear_backward_bias launch).
// With ACT (common/act_derivative: the activation the layer's forward fused), dy is the gradient
// of the activation's output y: each value is first multiplied by the activation's derivative
// at y, as tanh_backward_input / relu_backward_input would, and stored to g (the gradient of the
// layer's output, which its input-gradient pass then reads) — that activation's backward pass
// needs no launch of its own.
// Dispatch: groups_dy workgroups for the dy^T feature quads (rows / 4), then
// ceil(texels_x / 256) for x, linearised.
// Precision: dy, x, db, y and g in storage precision, dyt f32, xt in the storage's precision
// (x's values, exact; the layout of x's mirror, gpu::mirrors, which replaces this part where
// the launch producing x filled it).
// CPU reference: none of its own (checked through linear_backward_weight's parity cases, and
// with BIAS against cpu::linear::backward_bias).
//#tensor4 1 dy read
//#tensor4 3 x read
//#tensor4 5 db write
//#tensor4 6 y read
//#tensor4 7 g write
//#include act_derivative
struct PackPairUniform {
    batch: u32, out4: u32, in4: u32, row0: u32,
    k4_dy: u32, quads_dy: u32, texels_x: u32, groups_dy: u32,
}
@group(0) @binding(0) var<uniform> params: PackPairUniform;
@group(0) @binding(2) var dyt: texture_storage_2d<rgba32float, write>;
//#texture_out 4 xt
override BIAS: bool = false;

fn texel(i: u32) -> vec2<u32> {
    return vec2<u32>(i & 2047u, i >> 11u);
}

// Row b of dy at the features [f, f + 4) of this piece (zero past the batch); with ACT times
// the activation's derivative, and stored to g.
fn dy_quad(b: u32, f: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if b < params.batch {
        let at = b * params.out4 + (params.row0 + f) / 4u;
        v = dy_ld4(at);
        if ACT != 0u {
            let y = y_ld4(at);
            v = vec4<f32>(
                act_backward_at(y.x, v.x),
                act_backward_at(y.y, v.y),
                act_backward_at(y.z, v.z),
                act_backward_at(y.w, v.w),
            );
            g_st4(at, v);
        }
    }
    return v;
}

@compute @workgroup_size(256, 1, 1)
fn linear_pack_pair(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let group = wid.x + wid.y * nwg.x;
    if group < params.groups_dy {
        // The same for every invocation of the workgroup.
        let fq = group * 256u + lindex;
        if fq >= params.quads_dy {
            return;
        }
        let f = fq * 4u;
        var sum = vec4<f32>(0.0);
        for (var c4 = 0u; c4 < params.k4_dy; c4++) {
            let r0 = dy_quad(c4 * 4u, f);
            let r1 = dy_quad(c4 * 4u + 1u, f);
            let r2 = dy_quad(c4 * 4u + 2u, f);
            let r3 = dy_quad(c4 * 4u + 3u, f);
            let t = f * params.k4_dy + c4;
            textureStore(dyt, texel(t), vec4<f32>(r0.x, r1.x, r2.x, r3.x));
            textureStore(dyt, texel(t + params.k4_dy), vec4<f32>(r0.y, r1.y, r2.y, r3.y));
            textureStore(dyt, texel(t + 2u * params.k4_dy), vec4<f32>(r0.z, r1.z, r2.z, r3.z));
            textureStore(dyt, texel(t + 3u * params.k4_dy), vec4<f32>(r0.w, r1.w, r2.w, r3.w));
            if BIAS {
                sum += (r0 + r1) + (r2 + r3);
            }
        }
        if BIAS {
            db_st4((params.row0 + f) / 4u, sum);
        }
        return;
    }
    let i = (group - params.groups_dy) * 256u + lindex;
    if i >= params.texels_x {
        return;
    }
    var v = vec4<f32>(0.0);
    if i < params.batch * params.in4 {
        v = x_ld4(i);
    }
    textureStore(xt, texel(i), v);
}
