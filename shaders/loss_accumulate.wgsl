// loss_accumulate: totals[0] += sum of losses[0..len) in index order, totals[1] += len —
// the running loss of an epoch, kept on the GPU and read back every few steps.
// Layout: losses [len] f32, totals [2] f32.
// One invocation (a fixed-order sum). Dispatch: 1 workgroup.
// CPU reference: cpu::CpuBackend::loss_accumulate.
//#include elementwise_params
@group(0) @binding(1) var<storage, read> losses: array<f32>;
@group(0) @binding(2) var<storage, read_write> totals: array<f32>;

@compute @workgroup_size(1, 1, 1)
fn loss_accumulate() {
    var sum = 0.0;
    for (var i = 0u; i < params.len; i++) {
        sum += losses[i];
    }
    totals[0] += sum;
    totals[1] += f32(params.len);
}
