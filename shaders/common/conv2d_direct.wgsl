// Shared by conv2d_forward_direct and conv2d_backward_weight_direct (needs `x` bound as a
// read-only tensor4): the geometry as pipeline constants (set by gpu::kernels::conv2d_direct),
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

// Output pixels of one invocation, along a row.
const PX: u32 = 4u;
// Bounds of the launcher's eligibility tests (kernels::conv2d_direct).
const MAX_COUT: u32 = 16u;
const MAX_ROW: u32 = 20u;

// x[base + iw0 .. base + iw0 + (PX-1)*STRIDE + KW) of one input row (0 outside the row and
// when `row_in` is false: the row lies in the padding).
fn input_row(base: u32, iw0: i32, row_in: bool) -> array<f32, MAX_ROW> {
    let row_len = (PX - 1u) * STRIDE + KW;
    var row: array<f32, MAX_ROW>;
    if ALIGNED {
        for (var j = 0u; j < row_len; j += 4u) {
            let iw = iw0 + i32(j);
            var v = vec4<f32>(0.0);
            if row_in && iw >= 0 && iw < i32(IN_W) {
                v = x_ld4((base + u32(iw)) / 4u);
            }
            row[j] = v.x;
            row[j + 1u] = v.y;
            row[j + 2u] = v.z;
            row[j + 3u] = v.w;
        }
    } else {
        for (var j = 0u; j < row_len; j++) {
            let iw = iw0 + i32(j);
            var v = 0.0;
            if row_in && iw >= 0 && iw < i32(IN_W) {
                v = x_ld(base + u32(iw));
            }
            row[j] = v;
        }
    }
    return row;
}

// The four windows' inputs under tap kw of a row loaded by input_row.
fn windows(row: array<f32, MAX_ROW>, kw: u32) -> vec4<f32> {
    return vec4<f32>(row[kw], row[kw + STRIDE], row[kw + 2u * STRIDE], row[kw + 3u * STRIDE]);
}
