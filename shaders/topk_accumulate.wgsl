// topk_accumulate: counts[j] += number of samples whose label is among the top ks[j] logits.
// The rank of the label is the number of classes with a larger logit, ties broken by class
// index (a lower index ranks first); a NaN label logit counts as wrong.
// Counts are integers, so the integer atomicAdd is exact and order-independent.
// Layout: logits [N, C], labels [N] u32, counts [num_k] u32 (accumulated across calls).
// One invocation: one sample. Dispatch: ceil(N / 256) workgroups, linearised.
// Precision: logits in storage precision.
// CPU reference: cpu::topk::accumulate.
//#tensor 1 logits read
//#include flat
struct TopkUniform {
    batch: u32, classes: u32, num_k: u32, _pad0: u32,
    ks: vec4<u32>,
}
@group(0) @binding(0) var<uniform> params: TopkUniform;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;

@compute @workgroup_size(256, 1, 1)
fn topk_accumulate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let n = flat_index(wid, nwg, lindex);
    if n >= params.batch {
        return;
    }
    let row = n * params.classes;
    let label = labels[n];
    var rank = params.classes;
    if label < params.classes {
        let own = logits_ld(row + label);
        if own == own {
            rank = 0u;
            for (var c = 0u; c < params.classes; c++) {
                let v = logits_ld(row + c);
                if v > own || (v == own && c < label) {
                    rank++;
                }
            }
        }
    }
    for (var j = 0u; j < params.num_k; j++) {
        if rank < params.ks[j] {
            atomicAdd(&counts[j], 1u);
        }
    }
}
