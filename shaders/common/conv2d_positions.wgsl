// Positions of the conv2d gathers of conv2d_pack and the workgroup family (needs `params`
// with the Conv2dUniform fields, and div_u): a tap (ci, kh, kw) in the k = (ci, kh, kw) order of a weight row, and
// an output pixel (image, oh, ow) in the (image, oh, ow) order of a bound chunk. The first
// of 4 consecutive positions is found by division, the next three by stepping.
struct Tap { ci: u32, kh: u32, kw: u32 }
fn tap_of(k: u32) -> Tap {
    let taps = params.kernel_h * params.kernel_w;
    let ci = div_u(k, taps);
    let t = k - ci * taps;
    let kh = div_u(t, params.kernel_w);
    return Tap(ci, kh, t - kh * params.kernel_w);
}
fn next_tap(t: Tap) -> Tap {
    var n = Tap(t.ci, t.kh, t.kw + 1u);
    if n.kw == params.kernel_w {
        n.kw = 0u;
        n.kh += 1u;
        if n.kh == params.kernel_h {
            n.kh = 0u;
            n.ci += 1u;
        }
    }
    return n;
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
    var n = Pixel(p.img, p.oh, p.ow + 1u);
    if n.ow == params.out_w {
        n.ow = 0u;
        n.oh += 1u;
        if n.oh == params.out_h {
            n.oh = 0u;
            n.img += 1u;
        }
    }
    return n;
}
