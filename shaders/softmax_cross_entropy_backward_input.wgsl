// softmax_cross_entropy_backward_input: dlogits[n, c] = (softmax(logits[n])[c] - [c == label[n]]) * grad_scale.
// Layout: logits [N, C], labels [N] u32, dlogits [N, C].
// One invocation: one sample (a row of C gradients). Dispatch: ceil(N / 256) workgroups, linearised.
// Precision: storage precision in and out, f32 arithmetic.
// CPU reference: cpu::softmax_cross_entropy::backward_input.
//#tensor 1 logits read
//#tensor 3 dlogits write
//#include flat
//#include softmax_cross_entropy_params
@group(0) @binding(2) var<storage, read> labels: array<u32>;
// [loss scale (f32 bits), good steps, found_inf, skipped steps]: see loss_scale_update.wgsl.
@group(0) @binding(4) var<storage, read> scale_state: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn softmax_cross_entropy_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let n = flat_index(wid, nwg, lindex);
    if n >= params.batch {
        return;
    }
    let stats = softmax_stats(n);
    let row = n * params.classes;
    let scale = params.grad_scale * bitcast<f32>(scale_state[0]);
    for (var c = 0u; c < params.classes; c++) {
        let p = exp(logits_ld(row + c) - stats.x) / stats.y;
        let target_p = select(0.0, 1.0, c == labels[n]);
        dlogits_st(row + c, (p - target_p) * scale);
    }
}
