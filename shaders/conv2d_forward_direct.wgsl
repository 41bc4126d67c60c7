// conv2d_forward_direct: y = conv(x, w) + b computed directly, for convolutions with few output
// channels and a short kernel row (LeNet-5's conv1: 1 -> 6 channels, 5x5), where packing the
// operands for a GEMM costs several times the GEMM itself.
// Layout: x [N, Cin, H, W], w [Cout, Cin, KH, KW] (OIHW, groups 1), b [Cout], y [N, Cout, OH, OW].
// The geometry is pipeline constants, so every loop has a constant trip count (unrolled, no
// integer division, no tap bounds tests in the FMA loop) and the weight addresses are the same
// for every invocation (one load shared by the subgroup on CPU drivers).
// One invocation: PX = 4 neighbouring output pixels of one row (OW is a multiple of 4), every
// output channel. For each (ci, kh) it loads the input row segment under the four windows once
// ((PX-1)*STRIDE + KW values, 0 in the padding; as whole vec4s when ALIGNED: stride 1, W and
// the padding multiples of 4), then runs KW * COUT vec4 FMAs on it; each channel's four
// outputs are one vec4 store.
// Dispatch: ceil(N * OH * ceil(OW/4) / 256) workgroups of 256, linearised (common/flat.wgsl).
// Precision: x, w, b, y in storage precision; f32 accumulation in a fixed order.
// CPU reference: cpu::conv2d::forward.
//#tensor4 1 x read
//#tensor 2 w read
//#tensor 3 b read
//#tensor4 4 y write
//#include conv2d_params
//#include flat
//#include conv2d_direct
//#include activation

@compute @workgroup_size(256, 1, 1)
fn conv2d_forward_direct(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let quads = OUT_W / PX;
    let per_image = OUT_H * quads;
    let img = i / per_image;
    if img >= params.batch {
        return;
    }
    let r = i - img * per_image;
    let oh = r / quads;
    let ow0 = (r - oh * quads) * PX;
    let iw0 = i32(ow0 * STRIDE) - i32(PAD);

    var acc: array<vec4<f32>, MAX_COUT>;
    for (var co = 0u; co < COUT; co++) {
        acc[co] = vec4<f32>(0.0);
    }
    for (var ci = 0u; ci < CIN; ci++) {
        for (var kh = 0u; kh < KH; kh++) {
            let ih = i32(oh * STRIDE + kh) - i32(PAD);
            let row_in = ih >= 0 && ih < i32(IN_H);
            let base = ((img * CIN + ci) * IN_H + u32(max(ih, 0))) * IN_W;
            let row = input_row(base, iw0, row_in);
            for (var kw = 0u; kw < KW; kw++) {
                let xv = windows(row, kw);
                for (var co = 0u; co < COUT; co++) {
                    acc[co] += w_ld(((co * CIN + ci) * KH + kh) * KW + kw) * xv;
                }
            }
        }
    }
    for (var co = 0u; co < COUT; co++) {
        var o = acc[co];
        if params.has_bias != 0u {
            o += vec4<f32>(b_ld(co));
        }
        for (var j = 0u; j < 4u; j++) {
            o[j] = activate(o[j], params.act);
        }
        y_st4((((img * COUT + co) * OUT_H + oh) * OUT_W + ow0) / 4u, o);
    }
}
