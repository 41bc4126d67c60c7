// conv2d_forward_direct: y = act(conv(x, w) + b) computed directly, for convolutions with few
// output channels and short kernel rows (LeNet-5's conv1 and conv2), where packing the operands
// for a GEMM costs several times the GEMM itself. With FLIP it computes conv2d_backward_input
// of such a stride-1 convolution: dx is the convolution of dy, padded by KH - 1 - padding,
// with the weights turned 180 degrees and their channels swapped (x = dy, y = dx, no bias).
// Layout: x [N, Cin, H, W], w [Cout, Cin, KH, KW] (OIHW, groups 1), b [Cout], y [N, Cout, OH, OW].
// The geometry is pipeline constants, so every loop has a constant trip count (no integer
// division by a runtime value, no tap bounds tests in the FMA loop).
// One invocation: PX = 4 neighbouring output pixels of one row (the last quad of a row may be
// partial), every output channel. For each (ci, kh) it loads the input row segment under the
// four windows once ((PX-1)*STRIDE + KW values, 0 in the padding; as whole vec4s when ALIGNED
// or VEC4_ROWS) and its share of the COUT * KW weights of (ci, kh) — lane l the texels
// l, l + SG, ... of the (ci, kh) group conv2d_direct_weights packed, four weights each —
// which the generated direct_taps broadcasts across the subgroup (a load whose address
// depends on a loop counter runs lane by lane on CPU drivers; this way each weight is loaded
// once per subgroup), then runs KW * COUT vec4 FMAs; each channel's four outputs are one vec4
// store when OW is a multiple of 4.
// Dispatch: ceil(N * OH * ceil(OW/4) / SG) workgroups of one subgroup, linearised.
// x is read through a texture that texture_pack fills before the launch, w through the one
// conv2d_direct_weights fills (on Mesa 22.3 lavapipe a storage load runs lane by lane, a
// texel load is one gather).
// Precision: x, w, b, y in storage precision (x in a texture of its precision, w packed as f32);
// f32 accumulation in a fixed order.
// CPU reference: cpu::conv2d::forward (FLIP: cpu::conv2d::backward_input).
//#texture 1 x storage
//#texture 2 w
//#tensor 3 b read
//#tensor4 4 y write
//#include conv2d_params
//#include conv2d_direct
//#include activation
//#include conv2d_direct_sg

@compute @workgroup_size(SG, 1, 1)
fn conv2d_forward_direct(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let quads = (OUT_W + PX - 1u) / PX;
    let count = params.batch * OUT_H * quads;
    let first = (wid.x + wid.y * nwg.x) * SG;
    if first >= count {
        return; // the same for every lane of the subgroup
    }
    // Lanes past the end compute the last quad again (every lane takes part in the
    // broadcasts) and store nothing.
    let i = min(first + lane, count - 1u);
    // Work items in the order (image, output row, quad): a subgroup's windows overlap in x.
    // With padding, (output row, image, quad): the lanes of a subgroup share an output row
    // (unless one ends among them), so they can skip the same kernel rows, those over the
    // padding (the input gradient's dy is padded by KH - 1 - padding: 29% of the (output
    // row, kernel row) pairs at LeNet-5's conv2). kh0..kh1 covers every lane's rows: the loop
    // broadcasts. PAD is a pipeline constant, so only one order is compiled, and without
    // padding the loop keeps its constant trip count.
    var img: u32;
    var oh: u32;
    var kh0 = 0u;
    var kh1 = KH;
    if PAD == 0u {
        img = i / (OUT_H * quads);
        oh = (i - img * OUT_H * quads) / quads;
    } else {
        oh = i / (params.batch * quads);
        img = (i - oh * params.batch * quads) / quads;
        let top = i32(oh * STRIDE) - i32(PAD);
        kh0 = subgroupMin(u32(max(-top, 0)));
        kh1 = subgroupMax(u32(clamp(i32(IN_H) - top, 0, i32(KH))));
    }
    let ow0 = (i % quads) * PX;
    let iw0 = i32(ow0 * STRIDE) - i32(PAD);
    let top = i32(oh * STRIDE) - i32(PAD);

    var acc: array<vec4<f32>, MAX_COUT>;
    for (var co = 0u; co < COUT; co++) {
        acc[co] = vec4<f32>(0.0);
    }
    for (var ci = 0u; ci < CIN; ci++) {
        for (var kh = kh0; kh < kh1; kh++) {
            let ih = top + i32(kh);
            let row_in = (ih >= 0) & (ih < i32(IN_H));
            let base = ((img * CIN + ci) * IN_H + u32(clamp(ih, 0, i32(IN_H) - 1))) * IN_W;
            let row = input_row(base, iw0, row_in);
            let group = (COUT * KW + 3u) / 4u;
            var ws: array<vec4<f32>, WSLOTS>;
            for (var s = 0u; s < WSLOTS; s++) {
                ws[s] = w_ld4((ci * KH + kh) * group + min(lane + s * SG, group - 1u));
            }
            direct_taps(&acc, ws, row);
        }
    }
    if first + lane >= count {
        return;
    }
    for (var co = 0u; co < COUT; co++) {
        var o = acc[co];
        if params.has_bias != 0u {
            o += vec4<f32>(b_ld(co));
        }
        for (var j = 0u; j < 4u; j++) {
            o[j] = activate(o[j], params.act);
        }
        let at = ((img * COUT + co) * OUT_H + oh) * OUT_W + ow0;
        if OUT_W % PX == 0u {
            y_st4(at / 4u, o);
        } else {
            for (var j = 0u; j < PX; j++) {
                if ow0 + j < OUT_W {
                    y_st(at + j, o[j]);
                }
            }
        }
    }
}
