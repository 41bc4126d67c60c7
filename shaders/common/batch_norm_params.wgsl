// Uniform parameters of the batch_norm2d kernels; mirrors ops::batch_norm::BatchNormUniform.
// The layer's f32 state holds, per channel, rows (ops::batch_norm::STATE_ROWS): 0 running
// mean, 1 running variance, 2 the batch's mean, 3 its 1/sqrt(var + eps), 4 sum of dy,
// 5 sum of dy * x̂.
struct BatchNormUniform {
    batch: u32, channels: u32, pixels: u32, count: u32,
    eps: f32, momentum: f32, accumulate: u32, finish: u32,
    train: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: BatchNormUniform;
// The geometry as pipeline constants (set by gpu::kernels::batch_norm), so index division
// compiles to multiplies instead of per-lane integer divisions on CPU drivers (ResNet-18's
// batch-norm passes about 15% faster on lavapipe, measured A/B); the uniform's copies serve
// the rest.
override CHANNELS: u32 = 1u;
override PIXELS: u32 = 1u;

// The channel of element i of an NCHW tensor.
fn bn_channel(i: u32) -> u32 {
    return (i / PIXELS) % CHANNELS;
}

// Element i (of this launch's images) of channel c.
fn bn_index(c: u32, i: u32) -> u32 {
    let img = i / PIXELS;
    return (img * CHANNELS + c) * PIXELS + i % PIXELS;
}

// This channel's mean and 1/sqrt(var + eps): the batch's in training, the running estimates'
// in evaluation.
fn bn_norm(c: u32) -> vec2<f32> {
    let k = params.channels;
    if params.train != 0u {
        return vec2<f32>(state[2u * k + c], state[3u * k + c]);
    }
    return vec2<f32>(state[c], 1.0 / sqrt(state[k + c] + params.eps));
}
