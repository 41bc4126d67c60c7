// softmax_cross_entropy_forward: losses[n] = log(sum_c exp(logits[n, c])) - logits[n, label[n]],
// computed with the row maximum subtracted. The batch mean is taken by the caller (trainer or
// test) from these per-sample values, in a fixed order.
// Layout: logits [N, C], labels [N] u32, losses [N] f32.
// One invocation: one sample. Dispatch: ceil(N / 256) workgroups, linearised.
// Precision: logits in storage precision; losses always f32.
// CPU reference: cpu::softmax_cross_entropy::forward.
//#tensor 1 logits read
//#include flat
//#include softmax_cross_entropy_params
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn softmax_cross_entropy_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let n = flat_index(wid, nwg, lindex);
    if n >= params.batch {
        return;
    }
    let stats = softmax_stats(n);
    let label = min(labels[n], params.classes - 1u);
    losses[n] = log(stats.y) + stats.x - logits_ld(n * params.classes + label);
}
