// Shared by conv2d_pack (src a texture that texture_pack filled) and conv2d_pack_buf (src
// the tensor's buffer, read as vec4s): the layouts (MODE) and `pack_vec4(i)`, vec4 i of the
// packed operand. Needs src_ld(i) and src_texel(t, values) (vec4 t of src, clamped into the
// `values` it holds) from the kernel.
// The kernel binds dst at 2 (rgba32float, or the storage's texel format for the *_storage
// variants): vec4 i at texel (i % 2048, i / 2048) (see common/conv2d_sg_operands.wgsl).
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

fn pack_vec4(i: u32) -> vec4<f32> {
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
    return v;
}

// The kernels' body: vec4 i of the packed operand into dst.
fn conv2d_pack_run(wid: vec3<u32>, nwg: vec3<u32>, lindex: u32) {
    let i = flat_index(wid, nwg, lindex);
    if i * 4u >= params.len {
        return;
    }
    textureStore(dst, vec2<u32>(i & 2047u, i >> 11u), pack_vec4(i));
}
