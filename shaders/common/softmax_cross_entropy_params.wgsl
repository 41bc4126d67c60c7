// Uniform parameters of the softmax cross-entropy passes; mirrors
// ops::softmax_cross_entropy::SoftmaxCrossEntropyUniform.
// grad_scale multiplies the gradient: 1 / batch for the batch mean, times the loss scale in f16.
struct SoftmaxCrossEntropyUniform {
    batch: u32, classes: u32, _pad0: u32, _pad1: u32,
    grad_scale: f32, _pad2: u32, _pad3: u32, _pad4: u32,
}
@group(0) @binding(0) var<uniform> params: SoftmaxCrossEntropyUniform;

// Row maximum and sum of exp(logit - max) of sample n.
fn softmax_stats(n: u32) -> vec2<f32> {
    let row = n * params.classes;
    var mx = logits_ld(row);
    for (var c = 1u; c < params.classes; c++) {
        mx = max(mx, logits_ld(row + c));
    }
    var sum = 0.0;
    for (var c = 0u; c < params.classes; c++) {
        sum += exp(logits_ld(row + c) - mx);
    }
    return vec2<f32>(mx, sum);
}
