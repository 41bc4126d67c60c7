// Uniform parameters shared by max_pool2d and avg_pool2d; mirrors ops::pool2d::Pool2dUniform.
struct Pool2dUniform {
    batch: u32, channels: u32, in_h: u32, in_w: u32,
    out_h: u32, out_w: u32, kernel: u32, stride: u32,
    padding: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: Pool2dUniform;

// First output row (or column) whose window covers input position i.
fn first_window(i: u32) -> u32 {
    let t = i32(i + params.padding) - i32(params.kernel) + 1;
    if t <= 0 {
        return 0u;
    }
    return (u32(t) + params.stride - 1u) / params.stride;
}
