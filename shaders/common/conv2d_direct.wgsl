// Shared by conv2d_forward_direct and conv2d_backward_weight_direct (needs `x` bound with
// x_ld and x_ld4: a texture of texture_pack's): the geometry as pipeline constants (set by gpu::kernels::conv2d_direct),
// so every loop has a constant trip count and no index divides by a runtime value, and the
// load of the input row segment under four neighbouring windows.
override CIN: u32 = 1u;
override COUT: u32 = 1u;
override KH: u32 = 1u;
override KW: u32 = 1u;
override STRIDE: u32 = 1u;
override PAD: u32 = 0u;
override IN_H: u32 = 1u;
override IN_W: u32 = 1u;
override OUT_H: u32 = 1u;
override OUT_W: u32 = 4u;
// Stride 1, W and the padding multiples of 4: every row segment is whole vec4s.
override ALIGNED: bool = false;
// Stride 1 and images of whole vec4s, rows of any alignment: a row segment is read as the
// whole vec4s that cover it (at most (MAX_ROW + 6) / 4 loads instead of one per value).
override VEC4_ROWS: bool = false;
// conv2d_forward_direct computes conv2d_backward_input (stride 1): x is dy, the output is dx,
// the weights' channels swap and their taps turn 180 degrees, PAD = KH - 1 - padding.
override FLIP: bool = false;

// Output pixels of one invocation, along a row.
const PX: u32 = 4u;
// Bounds of the launcher's eligibility tests (kernels::conv2d_direct).
const MAX_COUT: u32 = 16u;
const MAX_ROW: u32 = 20u;
// vec4s that cover a row segment of VEC4_ROWS.
const MAX_QUADS: u32 = 6u;

// x[base + iw0 .. base + iw0 + (PX-1)*STRIDE + KW) of one input row (0 outside the row and
// when `row_in` is false: the row lies in the padding). Loads at clamped positions and
// selects, no branches: a CPU driver runs every branch under a lane mask.
fn input_row(base: u32, iw0: i32, row_in: bool) -> array<f32, MAX_ROW> {
    let row_len = (PX - 1u) * STRIDE + KW;
    var row: array<f32, MAX_ROW>;
    if ALIGNED {
        for (var j = 0u; j < row_len; j += 4u) {
            let iw = iw0 + i32(j);
            let inside = row_in & (iw >= 0) & (iw < i32(IN_W));
            let v = select(vec4<f32>(0.0), x_ld4((base + u32(clamp(iw, 0, i32(IN_W) - 4))) / 4u), inside);
            row[j] = v.x;
            row[j + 1u] = v.y;
            row[j + 2u] = v.z;
            row[j + 3u] = v.w;
        }
    } else if VEC4_ROWS {
        // row[0] is element s of x; the vec4s from floor(s / 4) on cover the segment, and
        // row[j] is their element (s & 3) + j, picked with selects (no per-lane indexing).
        let s = i32(base) + iw0;
        let shift = u32(s & 3);
        let q0 = s >> 2u;
        let quads = (shift + row_len + 3u) / 4u;
        var seg: array<f32, 24>;
        // At most ceil((3 + row_len) / 4) vec4s hold the segment: the loop's trip count is
        // a pipeline constant, and no vec4 is loaded that no shift uses.
        for (var k = 0u; k < min(MAX_QUADS, (row_len + 6u) / 4u); k++) {
            // The input column of the vec4's first value; vec4s holding part of the row are
            // read (they lie in x: images are whole vec4s), the others (past the segment or
            // outside the row) load a clamped vec4 of the row and are not used.
            let iw = (q0 + i32(k)) * 4 - i32(base);
            let used = row_in & (k < quads) & (iw + 3 >= 0) & (iw < i32(IN_W));
            let q = clamp(iw, 0, i32(IN_W) - 1) + i32(base);
            let v = x_ld4(u32(q) / 4u);
            for (var e = 0u; e < 4u; e++) {
                let inside = used & (iw + i32(e) >= 0) & (iw + i32(e) < i32(IN_W));
                seg[k * 4u + e] = select(0.0, v[e], inside);
            }
        }
        for (var j = 0u; j < row_len; j++) {
            let lo = select(seg[j], seg[j + 1u], shift == 1u);
            let hi = select(seg[j + 2u], seg[j + 3u], shift == 3u);
            row[j] = select(lo, hi, shift >= 2u);
        }
    } else {
        for (var j = 0u; j < row_len; j++) {
            let iw = iw0 + i32(j);
            let inside = row_in & (iw >= 0) & (iw < i32(IN_W));
            row[j] = select(0.0, x_ld(base + u32(clamp(iw, 0, i32(IN_W) - 1))), inside);
        }
    }
    return row;
}

// The four windows' inputs under tap kw of a row loaded by input_row.
fn windows(row: array<f32, MAX_ROW>, kw: u32) -> vec4<f32> {
    return vec4<f32>(row[kw], row[kw + STRIDE], row[kw + 2u * STRIDE], row[kw + 3u * STRIDE]);
}
