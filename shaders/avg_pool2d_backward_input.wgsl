// avg_pool2d_backward_input: dx[n, c, ih, iw] = sum over the windows covering (ih, iw) of
// dy / (kernel * kernel), or with ADAPTIVE dy / that window's size (the windows covering row
// ih are oh in [ih*OUT_H/IN_H, ceil((ih+1)*OUT_H/IN_H))). A gather in a fixed order: no
// atomics.
// With ACT (common/act_backward) the backward pass of the activation before the pool is
// folded in: dx is also multiplied by its derivative at act_out, the pool's forward input.
// Layout: dy [N, C, OH, OW], dx and act_out [N, C, H, W].
// One invocation: one input element; with QUADS (2x2 windows, stride 2, no padding, rows of
// whole vec4s: LeNet-5's pool1) four input elements of a row, whose two windows' dy it loads
// once, with vec4 loads of act_out and a vec4 store.
// Dispatch: ceil(N*C*H*W / 256) workgroups (/ 4 with QUADS), linearised.
// Precision: storage precision in and out, f32 accumulation.
// Where a later launch reads dx through a texture, avg_pool2d_backward_input_mirror computes
// the same values and fills that texture too (gpu::mirrors).
// CPU reference: cpu::pool2d::avg_backward_input.
//#tensor 1 dy read
//#tensor4 2 dx write
//#tensor4 3 act_out read
//#include flat
//#include pool2d_params
//#include act_derivative
//#include act_backward
//#include avg_dx

// The vec4 path (a pipeline constant: compiled away elsewhere).
override QUADS: bool = false;

// Input values 4q .. 4q+3 (one row, two windows): the same arithmetic as the scalar path.
fn quad_backward(q: u32) {
    let e = q * 4u;
    let in_pixels = IN_H * IN_W;
    if e >= params.batch * CHANNELS * in_pixels {
        return;
    }
    let plane = e / in_pixels;
    let r = e - plane * in_pixels;
    let ih = r / IN_W;
    let iw = r - ih * IN_W;
    var d = vec4<f32>(0.0);
    if ih / 2u < OUT_H {
        let o = (plane * OUT_H + ih / 2u) * OUT_W + iw / 2u;
        let d0 = dy_ld(o) / 4.0;
        let d1 = select(0.0, dy_ld(o + 1u) / 4.0, iw / 2u + 1u < OUT_W);
        d = vec4<f32>(d0, d0, d1, d1);
    }
    if ACT == 1u {
        d = select(vec4<f32>(0.0), d, act_out_ld4(q) > vec4<f32>(0.0));
    }
    if ACT == 2u {
        let y = act_out_ld4(q);
        d = d * (vec4<f32>(1.0) - y * y);
    }
    dx_st4(q, d);
}

@compute @workgroup_size(256, 1, 1)
fn avg_pool2d_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let in_pixels = IN_H * IN_W;
    if QUADS {
        quad_backward(i);
        return;
    }
    if i >= params.batch * CHANNELS * in_pixels {
        return;
    }
    dx_st(i, avg_dx(i));
}
