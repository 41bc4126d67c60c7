// conv2d_direct_weights: copies a convolution's weights into the texture conv2d_forward_direct
// reads, in the order it uses them: for each (ci, kh) of the convolution it runs, in that
// order, the COUT * KW weights (co, kw) at t = co * KW + kw, four to a texel (texel
// (ci * KH + kh) * GROUP + t / 4, component t % 4; GROUP = ceil(COUT * KW / 4), 0 past the
// last). With FLIP, the weights of conv2d_backward_input's flipped convolution: channels
// swapped, taps turned 180 degrees. A lane of the direct kernel then loads four of the
// weights of a kernel row with one texel load (one a weight before: on Mesa 22.3 lavapipe a
// texel load is a call of a few dozen instructions, and the weights were a third of them).
// Layout: w [Cout, Cin, KH, KW] (OIHW, groups 1) of the forward convolution.
// One invocation: one texel. Dispatch: ceil(texels / 256) workgroups, linearised.
// Precision: w in storage precision, dst f32 (an rgba32float storage texture).
// CPU reference: none of its own (checked through conv2d_forward_direct's parity cases).
//#tensor 1 w read
//#include flat
struct WeightsUniform { texels: u32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: WeightsUniform;
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
// The convolution conv2d_forward_direct runs (kernels::conv2d_direct::constants).
override CIN: u32 = 1u;
override COUT: u32 = 1u;
override KH: u32 = 1u;
override KW: u32 = 1u;
override FLIP: bool = false;

@compute @workgroup_size(256, 1, 1)
fn conv2d_direct_weights(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.texels {
        return;
    }
    let group = (COUT * KW + 3u) / 4u;
    let row = i / group;
    let ci = row / KH;
    let kh = row - ci * KH;
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let t = (i - row * group) * 4u + j;
        let co = t / KW;
        let kw = t - co * KW;
        var wi = ((co * CIN + ci) * KH + kh) * KW + kw;
        if FLIP {
            wi = ((ci * COUT + co) * KH + KH - 1u - kh) * KW + KW - 1u - kw;
        }
        if t < COUT * KW {
            v[j] = w_ld(wi);
        }
    }
    textureStore(dst, vec2<u32>(i & 2047u, i >> 11u), v);
}
