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
// Precision: src in storage precision, dst f32 (an rgba32float storage texture).
// CPU reference: none of its own (checked through the conv2d passes it feeds).
//#texture 1 src
//#include conv2d_sg_params
//#include flat
//#include div
//#include conv2d_positions
// dst: vec4 i at texel (i % 2048, i / 2048) (see common/conv2d_sg_operands.wgsl).
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
// The layout, as a pipeline constant: CPU drivers would run every case of a switch on a
// uniform value under a lane mask.
override MODE: u32 = 0u;

// x under tap t of the window of output pixel p, 0 in the padding: a load at the clamped
// position and a select, no branch (lavapipe runs every branch under a lane mask, and this
// kernel's cost is mostly such control and index math: branch-free x_at, div_u and stepping
// ran the AlexNet conv2 forward pack at batch 32 in 312-412 ms against 457-487 with branches,
// alternating three times on Mesa 22.3, examples/kernel_lab.rs).
fn x_at(g: u32, p: Pixel, t: Tap) -> f32 {
    let ih = i32(p.oh * params.stride + t.kh) - i32(params.padding);
    let iw = i32(p.ow * params.stride + t.kw) - i32(params.padding);
    let inside = (ih >= 0) & (iw >= 0) & (ih < i32(params.in_h)) & (iw < i32(params.in_w));
    let h = u32(clamp(ih, 0, i32(params.in_h) - 1));
    let w = u32(clamp(iw, 0, i32(params.in_w) - 1));
    let plane = (params.first + p.img) * params.in_channels + g * (params.in_channels / params.groups) + t.ci;
    return select(0.0, src_ld((plane * params.in_h + h) * params.in_w + w), inside);
}

// dy of output channel c of group g at output pixel p.
fn dy_at(g: u32, c: u32, p: Pixel) -> f32 {
    let co = g * (params.out_channels / params.groups) + c;
    return src_ld((((params.first + p.img) * params.out_channels + co) * params.out_h + p.oh) * params.out_w + p.ow);
}

// Column col of modes 4-6 as (image, pixel q of the image): each image's OH*OW pixels are
// rounded up to a multiple of 4.
fn padded_pixel(col: u32) -> vec2<u32> {
    let padded = (params.out_h * params.out_w + 3u) & ~3u;
    let img = div_u(col, padded);
    return vec2<u32>(img, col - img * padded);
}

// Which of pixels q..q+3 lie in the image (the rest are the padding of modes 4-6).
fn in_image(q: u32) -> vec4<bool> {
    return vec4<u32>(q) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.out_h * params.out_w);
}

// The values of x that src holds (the launch's images).
fn x_values() -> u32 {
    return (params.first + params.batch) * params.in_channels * params.in_h * params.in_w;
}

// Texel t of src, clamped into it (src holds `values` values): what a clamped texel holds
// lies outside the run a caller wants, and the caller masks it.
fn src_texel(t: i32, values: u32) -> vec4<f32> {
    let c = u32(clamp(t, 0, i32((values + 3u) / 4u) - 1));
    return textureLoad(src_tex, vec2<u32>(c & 2047u, c >> 11u), 0);
}

// Values f..f+3 of src (f may be negative; callers mask the values outside [0, values)),
// from the two texels that hold them: a texel load is a gather on CPU drivers, and the
// shift is three vector selects.
fn src_run4(f: i32, values: u32) -> vec4<f32> {
    let t0 = src_texel(f >> 2u, values);
    let t1 = src_texel((f >> 2u) + 1, values);
    let s = f & 3;
    var v = t0;
    v = select(v, vec4<f32>(t0.yzw, t1.x), s == 1);
    v = select(v, vec4<f32>(t0.zw, t1.xy), s == 2);
    v = select(v, vec4<f32>(t0.w, t1.xyz), s == 3);
    return v;
}

@compute @workgroup_size(256, 1, 1)
fn conv2d_pack(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i * 4u >= params.len {
        return;
    }
    let t = div_u(i, params.k4);
    let col = (i - t * params.k4) * 4u;
    let g = div_u(t, params.rows);
    let row = t - g * params.rows;
    let cg = params.out_channels / params.groups;
    let kc = params.in_channels / params.groups * params.kernel_h * params.kernel_w;
    var v = vec4<f32>(0.0);
    switch MODE {
        case 0u: {
            for (var j = 0u; j < 4u; j++) { v[j] = select(0.0, src_ld((g * cg + row) * kc + col + j), col + j < params.cols); }
        }
        case 1u: {
            let p = pixel_of(row);
            var tap = tap_of(col);
            for (var j = 0u; j < 4u; j++) { v[j] = select(0.0, x_at(g, p, tap), col + j < params.cols); tap = next_tap(tap); }
        }
        case 2u: {
            let p = pixel_of(row);
            for (var j = 0u; j < 4u; j++) { v[j] = select(0.0, dy_at(g, col + j, p), col + j < params.cols); }
        }
        case 3u: {
            for (var j = 0u; j < 4u; j++) { v[j] = select(0.0, src_ld((g * cg + col + j) * kc + row), col + j < params.cols); }
        }
        case 4u: {
            let pixels = params.out_h * params.out_w;
            let at = padded_pixel(col);
            let plane = (params.first + at.x) * params.out_channels + g * cg + row;
            let values = (params.first + params.batch) * params.out_channels * pixels;
            v = select(vec4<f32>(0.0), src_run4(i32(plane * pixels + at.y), values), in_image(at.y));
        }
        case 5u: {
            let tap = tap_of(row);
            let at = padded_pixel(col);
            let oh = div_u(at.y, params.out_w);
            var p = Pixel(at.x, oh, at.y - oh * params.out_w);
            let real = in_image(at.y);
            for (var j = 0u; j < 4u; j++) { v[j] = select(0.0, x_at(g, p, tap), real[j]); p = next_pixel(p); }
        }
        case 7u: {
            let hp = params.in_h + 2u * params.padding;
            let plane = div_u(row, hp);
            let y = i32(row - plane * hp) - i32(params.padding);
            let x = vec4<i32>(i32(col) - i32(params.padding)) + vec4<i32>(0, 1, 2, 3);
            let run = src_run4(i32((params.first * params.in_channels + plane) * params.in_h * params.in_w) + y * i32(params.in_w) + x.x, x_values());
            let inside = (x >= vec4<i32>(0)) & (x < vec4<i32>(i32(params.in_w))) & vec4<bool>((y >= 0) & (y < i32(params.in_h)));
            v = select(vec4<f32>(0.0), run, inside);
        }
        case 13u: {
            let hp = params.in_h + 2u * params.padding;
            let rr = div_u(row, params.stride);
            let ph = row - rr * params.stride;
            let plane = div_u(rr, hp);
            let y = i32(rr - plane * hp) - i32(params.padding);
            let x = vec4<i32>(i32(params.stride * col + ph) - i32(params.padding)) + vec4<i32>(0, 1, 2, 3) * i32(params.stride);
            let inside = (x >= vec4<i32>(0)) & (x < vec4<i32>(i32(params.in_w))) & vec4<bool>((y >= 0) & (y < i32(params.in_h)));
            let base = ((params.first * params.in_channels + plane) * params.in_h + u32(clamp(y, 0, i32(params.in_h) - 1))) * params.in_w;
            for (var j = 0u; j < 4u; j++) {
                v[j] = select(0.0, src_ld(base + u32(clamp(x[j], 0, i32(params.in_w) - 1))), inside[j]);
            }
        }
        case 10u: {
            let hp = params.in_h + 2u * params.padding;
            let wp = params.in_w + 2u * params.padding;
            let img = div_u(row, hp * wp);
            let r = row - img * hp * wp;
            let py = div_u(r, wp);
            let ih = i32(py) - i32(params.padding);
            let iw = i32(r - py * wp) - i32(params.padding);
            let inside = (ih >= 0) & (ih < i32(params.in_h)) & (iw >= 0) & (iw < i32(params.in_w));
            let at = u32(clamp(ih, 0, i32(params.in_h) - 1)) * params.in_w + u32(clamp(iw, 0, i32(params.in_w) - 1));
            let plane = params.in_h * params.in_w;
            for (var j = 0u; j < 4u; j++) {
                v[j] = select(0.0, src_ld(((params.first + img) * params.in_channels + col + j) * plane + at), inside);
            }
        }
        case 11u: {
            let taps = params.kernel_h * params.kernel_w;
            for (var j = 0u; j < 4u; j++) {
                let t = div_u(col + j, params.in_channels);
                let ci = col + j - t * params.in_channels;
                v[j] = src_ld((row * params.in_channels + ci) * taps + t);
            }
        }
        case 12u: {
            let taps = params.kernel_h * params.kernel_w;
            for (var j = 0u; j < 4u; j++) {
                let t = div_u(col + j, params.in_channels);
                let co = col + j - t * params.in_channels;
                v[j] = src_ld((co * params.out_channels + row) * taps + taps - 1u - t);
            }
        }
        case 9u: {
            let quads = (params.out_w + 3u) / 4u;
            let r = div_u(col / 4u, quads);
            let img = div_u(r, params.out_h);
            let ow = (col / 4u - r * quads) * 4u;
            let plane = (params.first + img) * params.out_channels + g * cg + row;
            let values = (params.first + params.batch) * params.out_channels * params.out_h * params.out_w;
            let at = plane * params.out_h * params.out_w + (r - img * params.out_h) * params.out_w + ow;
            let real = vec4<u32>(ow) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.out_w);
            v = select(vec4<f32>(0.0), src_run4(i32(at), values), real);
        }
        case 8u: {
            let kw4 = (params.kernel_w + 3u) & ~3u;
            let kq = div_u(col, kw4);
            let kw = vec4<u32>(col - kq * kw4) + vec4<u32>(0u, 1u, 2u, 3u);
            for (var j = 0u; j < 4u; j++) {
                v[j] = select(0.0, src_ld((g * cg + row) * kc + kq * params.kernel_w + min(kw[j], params.kernel_w - 1u)), kw[j] < params.kernel_w);
            }
        }
        default: {
            let tap = tap_of(row);
            let at = padded_pixel(col);
            var oh = div_u(at.y, params.out_w);
            var ow = at.y - oh * params.out_w;
            let h = i32(params.in_h);
            let w = i32(params.in_w);
            let pad = i32(params.padding);
            let plane = (params.first + at.x) * params.in_channels + g * (params.in_channels / params.groups) + tap.ci;
            let run = src_run4(i32(plane * params.in_h * params.in_w + at.y) + (i32(tap.kh) - pad) * w + i32(tap.kw) - pad, x_values());
            let real = in_image(at.y);
            for (var j = 0u; j < 4u; j++) {
                let ih = i32(oh + tap.kh) - pad;
                let iw = i32(ow + tap.kw) - pad;
                let inside = (ih >= 0) & (iw >= 0) & (ih < h) & (iw < w) & real[j];
                v[j] = select(0.0, run[j], inside);
                let row_end = ow + 1u == params.out_w;
                oh = select(oh, oh + 1u, row_end);
                ow = select(ow + 1u, 0u, row_end);
            }
        }
    }
    textureStore(dst, vec2<u32>(i & 2047u, i >> 11u), v);
}
