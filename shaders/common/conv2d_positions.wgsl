// Positions of the conv2d gathers of conv2d_pack and the workgroup family (needs `params`
// with the Conv2dUniform fields, and div_u): a tap (ci, kh, kw) in the k = (ci, kh, kw) order of a weight row, and
// an output pixel (image, oh, ow) in the (image, oh, ow) order of a bound chunk. The first
// of 4 consecutive positions is found by division, the next three by stepping (with selects,
// not branches: CPU drivers run both sides of a branch under a lane mask).
struct Tap { ci: u32, kh: u32, kw: u32 }
fn tap_of(k: u32) -> Tap {
    let taps = params.kernel_h * params.kernel_w;
    let ci = div_u(k, taps);
    let t = k - ci * taps;
    let kh = div_u(t, params.kernel_w);
    return Tap(ci, kh, t - kh * params.kernel_w);
}
fn next_tap(t: Tap) -> Tap {
    let row_end = t.kw + 1u == params.kernel_w;
    let kh = select(t.kh, t.kh + 1u, row_end);
    let plane_end = kh == params.kernel_h;
    return Tap(select(t.ci, t.ci + 1u, plane_end), select(kh, 0u, plane_end), select(t.kw + 1u, 0u, row_end));
}

struct Pixel { img: u32, oh: u32, ow: u32 }
fn pixel_of(q: u32) -> Pixel {
    let pixels = params.out_h * params.out_w;
    let img = div_u(q, pixels);
    let p = q - img * pixels;
    let oh = div_u(p, params.out_w);
    return Pixel(img, oh, p - oh * params.out_w);
}
fn next_pixel(p: Pixel) -> Pixel {
    let row_end = p.ow + 1u == params.out_w;
    let oh = select(p.oh, p.oh + 1u, row_end);
    let image_end = oh == params.out_h;
    return Pixel(select(p.img, p.img + 1u, image_end), select(oh, 0u, image_end), select(p.ow + 1u, 0u, row_end));
}
