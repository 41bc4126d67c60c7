// max_pool2d_backward_input: dx[n, c, ih, iw] = sum of dy over the windows whose chosen
// element (indices, from max_pool2d_forward) is (ih, iw). A gather, not a scatter: no atomics,
// windows visited in a fixed order.
// With ACT (common/act_backward) the backward pass of the activation before the pool is
// folded in: dx is also multiplied by its derivative at act_out, the pool's forward input.
// Layout: dy and indices [N, C, OH, OW], dx and act_out [N, C, H, W].
// One invocation: one input element; with BLOCKS (stride 2) a 2x2 block of input elements,
// whose windows' indices and dy it loads once: on Mesa 22.3 lavapipe, where each storage load
// runs lane by lane, a 3x3/2 pool's per-element gather loaded every window index four times.
// Dispatch: ceil(N*C*H*W / 256) workgroups (ceil(H/2)*ceil(W/2) a plane with BLOCKS),
// linearised.
// Precision: storage precision in and out, f32 accumulation.
// CPU reference: cpu::pool2d::max_backward_input.
//#tensor 1 dy read
//#tensor 3 dx write
//#tensor 4 act_out read
//#include flat
//#include pool2d_params
//#include act_derivative
//#include act_backward
@group(0) @binding(2) var<storage, read> indices: array<u32>;

// The 2x2-block path (a pipeline constant: compiled away elsewhere).
override BLOCKS: bool = false;

// Input rows (or columns) 2b and 2b + 1 lie under windows first_window(2b) .. (2b + 1 +
// PADDING) / 2, at most (KERNEL + 2) / 2 of them: the loops walk that many from the first,
// and `in_span` tells which of them exist.
fn block_span() -> u32 {
    return (KERNEL + 2u) / 2u;
}
fn in_span(o: u32, b: u32, out_len: u32) -> bool {
    return o < out_len && o <= (2u * b + 1u + PADDING) / 2u;
}

// The four input elements (2bh + a, 2bw + c): each window's index and dy loaded once, added
// to the element it chose, windows in the per-element path's order (rows, then columns).
fn block_backward(q: u32) {
    let bh_n = (IN_H + 1u) / 2u;
    let bw_n = (IN_W + 1u) / 2u;
    if q >= params.batch * CHANNELS * bh_n * bw_n {
        return;
    }
    let plane = q / (bh_n * bw_n);
    let r = q % (bh_n * bw_n);
    let bh = r / bw_n;
    let bw = r % bw_n;
    let h0 = 2u * bh;
    let w0 = 2u * bw;
    let at00 = h0 * IN_W + w0;
    let oh0 = first_window(h0);
    let ow0 = first_window(w0);
    var s00 = 0.0;
    var s01 = 0.0;
    var s10 = 0.0;
    var s11 = 0.0;
    for (var th = 0u; th < block_span(); th++) {
        let oh = oh0 + th;
        let row_ok = in_span(oh, bh, OUT_H);
        for (var tw = 0u; tw < block_span(); tw++) {
            let ow = ow0 + tw;
            let ok = row_ok && in_span(ow, bw, OUT_W);
            let o = (plane * OUT_H + min(oh, OUT_H - 1u)) * OUT_W + min(ow, OUT_W - 1u);
            let chosen = indices[o];
            let d = select(0.0, dy_ld(o), ok);
            s00 += select(0.0, d, chosen == at00);
            s01 += select(0.0, d, chosen == at00 + 1u);
            s10 += select(0.0, d, chosen == at00 + IN_W);
            s11 += select(0.0, d, chosen == at00 + IN_W + 1u);
        }
    }
    let i = plane * IN_H * IN_W + at00;
    dx_st(i, act_backward(i, s00));
    if w0 + 1u < IN_W {
        dx_st(i + 1u, act_backward(i + 1u, s01));
    }
    if h0 + 1u < IN_H {
        dx_st(i + IN_W, act_backward(i + IN_W, s10));
        if w0 + 1u < IN_W {
            dx_st(i + IN_W + 1u, act_backward(i + IN_W + 1u, s11));
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn max_pool2d_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if BLOCKS {
        block_backward(i);
        return;
    }
    let in_pixels = IN_H * IN_W;
    if i >= params.batch * CHANNELS * in_pixels {
        return;
    }
    let plane = i / in_pixels;
    let at = i % in_pixels;
    let ih = at / IN_W;
    let iw = at % IN_W;
    let oh_end = min((ih + PADDING) / STRIDE + 1u, OUT_H);
    let ow_end = min((iw + PADDING) / STRIDE + 1u, OUT_W);
    var sum = 0.0;
    for (var oh = first_window(ih); oh < oh_end; oh++) {
        for (var ow = first_window(iw); ow < ow_end; ow++) {
            let o = (plane * OUT_H + oh) * OUT_W + ow;
            if indices[o] == at {
                sum += dy_ld(o);
            }
        }
    }
    dx_st(i, act_backward(i, sum));
}
