// pixel_metrics_accumulate: over pixels not ignored, counts += [correct, counted,
// intersection[C], predicted[C], labelled[C]]; the prediction is the first largest logit.
// Counts are integers, so the integer atomicAdd is exact and order-independent.
// One invocation: one pixel. Dispatch: ceil(N*P / 256) workgroups, linearised.
// Precision: logits in storage precision.
// CPU reference: cpu::pixel_loss::metrics_accumulate.
//#tensor 1 logits read
//#include flat
//#include pixel_loss_params
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(256, 1, 1)
fn pixel_metrics_accumulate(
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
        return;
    }
    let classes = params.classes;
    var pred = 0u;
    var best = logits_ld(logit_index(i, 0u));
    for (var c = 1u; c < classes; c++) {
        let v = logits_ld(logit_index(i, c));
        if v > best {
            best = v;
            pred = c;
        }
    }
    atomicAdd(&counts[1], 1u);
    atomicAdd(&counts[2u + classes + pred], 1u);
    if label < classes {
        atomicAdd(&counts[2u + 2u * classes + label], 1u);
    }
    if pred == label {
        atomicAdd(&counts[0], 1u);
        atomicAdd(&counts[2u + pred], 1u);
    }
}
