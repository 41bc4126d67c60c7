// Parameters shared by max_pool2d and avg_pool2d. The uniform (mirrors ops::pool2d::Pool2dUniform)
// carries the images of this launch; the geometry is pipeline constants (set by
// gpu::kernels::pool2d from the same Pool2dParams), so index division compiles to multiplies
// instead of per-lane integer divisions on CPU drivers.
struct Pool2dUniform {
    batch: u32, channels: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32, kernel: u32, stride: u32,
    padding: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: Pool2dUniform;
override CHANNELS: u32 = 1u;
override IN_H: u32 = 1u;
override IN_W: u32 = 1u;
override OUT_H: u32 = 1u;
override OUT_W: u32 = 1u;
override KERNEL: u32 = 1u;
override STRIDE: u32 = 1u;
override PADDING: u32 = 0u;
// Average pooling only: 1 for adaptive_avg_pool2d to OUT_H x OUT_W (kernel, stride and
// padding unused; see adaptive_start/adaptive_end).
override ADAPTIVE: u32 = 0u;

// Adaptive pooling: output o of n over an input of len averages rows [start, end).
fn adaptive_start(o: u32, len: u32, n: u32) -> u32 {
    return o * len / n;
}
fn adaptive_end(o: u32, len: u32, n: u32) -> u32 {
    return ((o + 1u) * len + n - 1u) / n;
}

// First output row (or column) whose window covers input position i.
fn first_window(i: u32) -> u32 {
    let t = i32(i + PADDING) - i32(KERNEL) + 1;
    if t <= 0 {
        return 0u;
    }
    return (u32(t) + STRIDE - 1u) / STRIDE;
}
