// Uniform parameters of the per-pixel loss and metric kernels; mirrors
// ops::pixel_loss::PixelLossUniform. Logits are [N, C, P]: class c of pixel p of image n at
// (n*C + c)*P + p; labels [N, P]; a pixel labelled `ignore` counts nowhere.
struct PixelLossUniform {
    batch: u32, classes: u32, pixels: u32, ignore: u32,
    grad_scale: f32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: PixelLossUniform;

// Index of class c of flat pixel i (= n*P + p).
fn logit_index(i: u32, c: u32) -> u32 {
    let n = i / params.pixels;
    return (n * params.classes + c) * params.pixels + i % params.pixels;
}

// Maximum and sum of exp(logit - max) over the classes of flat pixel i.
fn pixel_stats(i: u32) -> vec2<f32> {
    var mx = logits_ld(logit_index(i, 0u));
    for (var c = 1u; c < params.classes; c++) {
        mx = max(mx, logits_ld(logit_index(i, c)));
    }
    var sum = 0.0;
    for (var c = 0u; c < params.classes; c++) {
        sum += exp(logits_ld(logit_index(i, c)) - mx);
    }
    return vec2<f32>(mx, sum);
}
