// pixel_cross_entropy_backward_input: dlogits[n, c, p] = (softmax[c] - [c == label]) * grad_scale
// * loss scale / counted, 0 at ignored pixels (the gradient of the mean over counted pixels).
// One invocation: one pixel (its C gradients). Dispatch: ceil(N*P / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::pixel_loss::backward_input.
//#tensor 1 logits read
//#tensor 4 dlogits write
//#include flat
//#include pixel_loss_params
@group(0) @binding(2) var<storage, read> labels: array<u32>;
// The number of pixels not ignored in the batch, written with the labels.
@group(0) @binding(3) var<storage, read> counted: array<u32>;
// [loss scale (f32 bits), good steps, found_inf, skipped steps]: see loss_scale_update.wgsl.
@group(0) @binding(5) var<storage, read> scale_state: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn pixel_cross_entropy_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.batch * params.pixels {
        return;
    }
    let label = labels[i];
    if label == params.ignore {
        for (var c = 0u; c < params.classes; c++) {
            dlogits_st(logit_index(i, c), 0.0);
        }
        return;
    }
    let stats = pixel_stats(i);
    let scale = params.grad_scale * bitcast<f32>(scale_state[0]) / f32(max(counted[0], 1u));
    for (var c = 0u; c < params.classes; c++) {
        let p = exp(logits_ld(logit_index(i, c)) - stats.x) / stats.y;
        let target_p = select(0.0, 1.0, c == label);
        dlogits_st(logit_index(i, c), (p - target_p) * scale);
    }
}
