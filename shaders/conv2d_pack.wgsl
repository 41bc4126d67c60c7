// conv2d_pack: copies a conv2d operand into the row-major f32 layout the subgroup GEMM core
// reads as vec4 along k (rows of k4 * 4 floats, zero beyond `cols`), one group after another.
// Layouts (MODE; g = group, cg = Cout/G, kc = Cin/G*KH*KW, P = OH*OW, pixel = (image, oh, ow)):
//   0  w          [G][cg][kc]      rows: output channel, k: (ci, kh, kw)      (forward A)
//   1  im2col(x)  [G][pixels][kc]  rows: output pixel, k: (ci, kh, kw), 0 in the padding (forward B)
//   2  dy         [G][pixels][cg]  rows: output pixel, k: output channel    (backward_input A)
//   3  w^T        [G][kc][cg]      rows: (ci, kh, kw), k: output channel    (backward_input B)
//   4  dy         [G][cg][pixels4] rows: output channel, k: output pixel    (backward_weight A)
//   5  im2col^T   [G][kc][pixels4] rows: (ci, kh, kw), k: output pixel      (backward_weight B)
//   6  as 5, for a stride-1 conv whose output is as wide as its input ("same" padding)
//   7  x in texel rows [images][Cin][H + 2*pad][k4] texel t of padded row r: x[r - pad][4t - pad ..
//      4t - pad + 4], 0 in the padding                          (conv2d_forward_rows_sg B)
//   8  w, kernel rows padded to whole vec4s [Cout][Cin][KH][KWQ*4], 0 past KW  (its A)
//  13  as 7 split by stride phase S > 1 [images][Cin][H + 2*pad][S][k4]: texel t of phase ph of
//      padded row r: x[r - pad][S * (4t + j) + ph - pad] for j = 0..3, 0 in the padding
//      (conv2d_backward_weight_rows_sg B at stride S)
//  10  x channels-last [images][HP][WP][Cin/4] texels, padding included: texel
//      ((img * HP + py) * WP + px) * C4 + cq holds x[4cq .. 4cq + 4][py - pad][px - pad]
//      (rows: padded pixels, k: channels; conv2d_forward_nhwc_sg B)
//  11  w with k in the order (kh, kw, ci) [Cout][KH * KW * Cin]     (its A)
//  12  for a stride-1 conv's input gradient run as a conv (params: that conv's, whose input
//      channels are w's output channels): w with channels swapped and taps turned 180
//      degrees, k in the order (kh, kw, co) [Cin][KH * KW * Cout]   (its A)
//   9  dy by row quads [G][cg][images * OH * Q] vec4s: quad q of output row oh holds
//      dy[..][oh][4q .. 4q + 4], 0 past OW (Q = ceil(OW / 4); conv2d_backward_weight_rows_sg A)
// pixels4: each image's OH*OW pixels padded with zeros to whole vec4s (padded_pixel()), so
// that a vec4 of k never spans two images: the 4 values of mode 4's vec4 are consecutive in
// dy, and those of mode 6's in x (output pixels p..p+3 of one image read input positions
// p + (kh - pad) * W + kw - pad when OW = W) — two texel loads (src_run4) instead of four.
// src is a texture that texture_pack filled with the values read (the weights, or the
// launch's images of x or dy): each input value is read once per tap that covers it, and on
// Mesa 22.3 lavapipe a texel load costs a fifth of a storage load.
// Images are counted from `first` (added where x and dy are read; 0 when src holds just them). Index math divides through f32 (div_u): the launcher keeps every packed index below 2^24.
// One invocation: one vec4 of a packed row (4 consecutive k; the row's index math is done once
// and the taps or pixels advance without division). Dispatch: ceil(len / 1024) workgroups,
// linearised.
// Precision: src in storage precision (a texture of its precision), dst f32 (an rgba32float
// storage texture).
// CPU reference: none of its own (checked through the conv2d passes it feeds).
//#texture 1 src storage
//#include conv2d_sg_params
//#include flat
//#include div
//#include conv2d_positions
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
//#include conv2d_pack_modes

// Texel t of src, clamped into it (src holds `values` values): what a clamped texel holds
// lies outside the run a caller wants, and the caller masks it.
fn src_texel(t: i32, values: u32) -> vec4<f32> {
    return src_ld4(u32(clamp(t, 0, i32((values + 3u) / 4u) - 1)));
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_pack(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    conv2d_pack_run(wid, nwg, lindex);
}
