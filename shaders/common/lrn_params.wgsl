// Uniform parameters shared by the lrn passes; mirrors ops::lrn::LrnUniform.
// PyTorch's LocalResponseNorm: s_c = k + alpha/size * sum of x_j^2 over
// j in [c - size/2, c + (size-1)/2] (clipped to the channels), y_c = x_c * s_c^-beta.
struct LrnUniform {
    batch: u32, channels: u32, pixels: u32, size: u32,
    alpha: f32, beta: f32, k: f32, _pad0: u32,
}
@group(0) @binding(0) var<uniform> params: LrnUniform;
// The geometry as pipeline constants (set by gpu::kernels::lrn), so index division compiles to
// multiplies instead of per-lane integer divisions on CPU drivers; `params.batch` is the launch's.
override CHANNELS: u32 = 1u;
override PIXELS: u32 = 1u;
override SIZE: u32 = 1u;

// Element i's channel and the index of its pixel's channel-0 element (`base`).
fn lrn_channel(i: u32) -> u32 {
    return (i % (CHANNELS * PIXELS)) / PIXELS;
}
fn lrn_base(i: u32) -> u32 {
    let plane = CHANNELS * PIXELS;
    return (i / plane) * plane + i % PIXELS;
}

// s for channel c of the pixel whose channel-0 element is at `base`.
fn lrn_scale(base: u32, c: u32) -> f32 {
    let lo = max(i32(c) - i32(SIZE / 2u), 0);
    let hi = min(c + (SIZE - 1u) / 2u, CHANNELS - 1u);
    var sum = 0.0;
    for (var j = u32(lo); j <= hi; j++) {
        let v = x_ld(base + j * PIXELS);
        sum += v * v;
    }
    return params.k + params.alpha / f32(SIZE) * sum;
}
