// Uniform parameters shared by the lrn passes; mirrors ops::lrn::LrnUniform.
// PyTorch's LocalResponseNorm: s_c = k + alpha/size * sum of x_j^2 over
// j in [c - size/2, c + (size-1)/2] (clipped to the channels), y_c = x_c * s_c^-beta.
struct LrnUniform {
    batch: u32, channels: u32, pixels: u32, size: u32,
    alpha: f32, beta: f32, k: f32, _pad0: u32,
}
@group(0) @binding(0) var<uniform> params: LrnUniform;
// The geometry as pipeline constants (set by gpu::kernels::lrn), so index division compiles to
// multiplies instead of per-lane integer divisions on CPU drivers, and the window loops have
// constant bounds (unrolled, the window held in registers); `params.batch` is the launch's.
override CHANNELS: u32 = 1u;
override PIXELS: u32 = 1u;
override SIZE: u32 = 1u;
// The widest window a pass holds (gpu::kernels::lrn::MAX_SIZE checks SIZE against it).
const MAX_SIZE: u32 = 16u;
// Channels of the window before and after its own: [c - LRN_BEFORE, c + LRN_AFTER].
override LRN_BEFORE: u32 = SIZE / 2u;
override LRN_AFTER: u32 = SIZE - 1u - SIZE / 2u;

// Invocation i walks the channels of pixel i % PIXELS of image i / PIXELS: the index of its
// channel-0 element; channel c is at base + c * PIXELS.
fn lrn_base(i: u32) -> u32 {
    return (i / PIXELS) * CHANNELS * PIXELS + i % PIXELS;
}

// x of channel j of the pixel at `base`, 0 past the last channel.
fn lrn_x(base: u32, j: u32) -> f32 {
    var v = 0.0;
    if j < CHANNELS {
        v = x_ld(base + j * PIXELS);
    }
    return v;
}

// s from the window `win` (x of channels c - LRN_BEFORE .. c + LRN_AFTER, 0 outside the
// channels), summed in channel order as the CPU reference does.
fn lrn_scale(win: ptr<function, array<f32, MAX_SIZE>>) -> f32 {
    var sum = 0.0;
    for (var t = 0u; t < SIZE; t++) {
        sum += (*win)[t] * (*win)[t];
    }
    return params.k + params.alpha / f32(SIZE) * sum;
}

// Moves the window one channel on: drops its first entry and appends `v`.
fn lrn_shift(win: ptr<function, array<f32, MAX_SIZE>>, v: f32) {
    for (var t = 0u; t + 1u < SIZE; t++) {
        (*win)[t] = (*win)[t + 1u];
    }
    (*win)[SIZE - 1u] = v;
}
