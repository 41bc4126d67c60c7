// pixel_cross_entropy_forward: losses[n, p] = log(sum_c exp(logits[n, c, p])) - logits[n, label, p],
// with the maximum subtracted; 0 where the label is ignored. The mean over counted pixels is
// taken by the caller from these values and the count.
// One invocation: one pixel. Dispatch: ceil(N*P / 256) workgroups, linearised.
// Precision: logits in storage precision; losses always f32.
// CPU reference: cpu::pixel_loss::forward.
//#tensor 1 logits read
//#include flat
//#include pixel_loss_params
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn pixel_cross_entropy_forward(
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
        losses[i] = 0.0;
        return;
    }
    let stats = pixel_stats(i);
    losses[i] = log(stats.y) + stats.x - logits_ld(logit_index(i, min(label, params.classes - 1u)));
}
