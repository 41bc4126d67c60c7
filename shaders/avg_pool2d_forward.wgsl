// avg_pool2d_forward: y[n, c, oh, ow] = mean of x over the kernel x kernel window at
// (oh*stride - pad, ow*stride - pad), zero padding counted (PyTorch's count_include_pad=True);
// with ADAPTIVE, over adaptive_avg_pool2d's window of (oh, ow), divided by its size.
// Layout: x [N, C, H, W], y [N, C, OH, OW].
// One invocation: one output; with QUADS (2x2 windows, stride 2, no padding, rows of whole
// vec4s: LeNet-5's pool1) two outputs of a row, from two vec4 loads.
// Dispatch: ceil(N*C*OH*OW / 256) workgroups (/ 2 with QUADS), linearised.
// Precision: storage precision in and out, f32 accumulation.
// Where a later launch reads y through a texture, avg_pool2d_forward_mirror computes the same
// values and fills that texture too (gpu::mirrors).
// CPU reference: cpu::pool2d::avg_forward.
//#tensor4 1 x read
//#tensor 2 y write
//#include flat
//#include pool2d_params
//#include avg_window

// The vec4 path (a pipeline constant: compiled away elsewhere).
override QUADS: bool = false;

// Outputs 2p and 2p + 1 (common/avg_window).
fn quad_forward(p: u32) {
    let o = p * 2u;
    if o >= params.batch * CHANNELS * OUT_H * OUT_W {
        return;
    }
    let v = avg_pair(p);
    y_st(o, v.x);
    y_st(o + 1u, v.y);
}

@compute @workgroup_size(256, 1, 1)
fn avg_pool2d_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let out_pixels = OUT_H * OUT_W;
    if QUADS {
        quad_forward(i);
        return;
    }
    if i >= params.batch * CHANNELS * out_pixels {
        return;
    }
    y_st(i, avg_window(i));
}
