// The epilogue of the subgroup family's conv2d_forward GEMMs: output m of group g at column
// n (an output pixel of the launch's images), plus the bias, through the activation, into y.
fn gemm_store(g: u32, split: u32, m: u32, n: u32, v: f32) {
    let co = g * (params.out_channels / params.groups) + m;
    let pixels = params.out_h * params.out_w;
    let img = div_u(n, pixels);
    var out = v;
    if params.has_bias != 0u {
        out += b_ld(co);
    }
    out = activate(out, params.act);
    y_st(((params.first + img) * params.out_channels + co) * pixels + n - img * pixels, out);
}
