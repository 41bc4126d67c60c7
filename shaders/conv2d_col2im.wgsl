// conv2d_col2im: dx from the column gradient of conv2d_backward_input_sg,
// dx[n, ci, ih, iw] = sum over the taps (kh, kw) whose window position
//   oh = (ih + pad - kh) / stride, ow = (iw + pad - kw) / stride is a whole output pixel
// of dcol[g][(n, oh, ow)][(ci, kh, kw)], in the fixed order of kh, then kw.
// Only those taps are visited: kh starts at (ih + pad) mod stride and steps by the stride.
// Layout: dcol [G][pixels][Cin/G*KH*KW] f32, dx [N, Cin, H, W].
// One invocation: one element of dx (images from `first`). Dispatch: ceil(N*Cin*H*W / 256) workgroups, linearised
// (the launcher keeps the count below 2^24 for div_u).
// Precision: dcol f32, dx in storage precision.
// CPU reference: cpu::conv2d::backward_input (through conv2d_backward_input).
//#tensor 2 dx write
//#include conv2d_sg_params
//#include flat
//#include div
@group(0) @binding(1) var<storage, read> dcol: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn conv2d_col2im(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.len {
        return;
    }
    let hw = params.in_h * params.in_w;
    let plane = div_u(i, hw);
    let q = i - plane * hw;
    let ih = div_u(q, params.in_w);
    let iw = q - ih * params.in_w;
    let img = div_u(plane, params.in_channels);
    let c = plane - img * params.in_channels;
    let cin_g = params.in_channels / params.groups;
    let g = div_u(c, cin_g);
    let ci = c - g * cin_g;
    let s = params.stride;
    let th0 = ih + params.padding;
    let tw0 = iw + params.padding;
    let kh0 = th0 - div_u(th0, s) * s;
    let kw0 = tw0 - div_u(tw0, s) * s;
    let kc = cin_g * params.kernel_h * params.kernel_w;
    let pixels = params.out_h * params.out_w;
    let base = (g * params.batch * pixels + img * pixels) * kc + ci * params.kernel_h * params.kernel_w;
    var sum = 0.0;
    for (var kh = kh0; kh < params.kernel_h && kh <= th0; kh += s) {
        let oh = div_u(th0 - kh, s);
        if oh >= params.out_h {
            continue;
        }
        for (var kw = kw0; kw < params.kernel_w && kw <= tw0; kw += s) {
            let ow = div_u(tw0 - kw, s);
            if ow >= params.out_w {
                continue;
            }
            sum += dcol[base + (oh * params.out_w + ow) * kc + kh * params.kernel_w + kw];
        }
    }
    dx_st(params.first * params.in_channels * hw + i, sum);
}
