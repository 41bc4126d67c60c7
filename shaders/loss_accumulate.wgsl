// loss_accumulate: totals[0] += the sum of losses[0..len), totals[1] += len — the running loss
// of an epoch, kept on the GPU and read back every few steps. The sum runs in a fixed order:
// consecutive chunks of `chunk` values each summed in index order, then the chunk sums in
// order (a loop of one invocation must stay under llvmpipe's 65,535 iterations; a
// segmentation batch has a loss per pixel).
// MODE 0: invocation j writes the sum of chunk j into partials[j].
// MODE 1: one invocation adds the first `count` values of src (the losses themselves when
// they fit one chunk, else the chunk sums) to totals[0], and len to totals[1].
// Layout: losses [len] f32, partials [ceil(len / chunk)] f32, totals [2] f32.
// CPU reference: cpu::CpuBackend::loss_accumulate.
//#include flat
struct LossSumUniform {
    len: u32, chunk: u32, _pad0: u32, _pad1: u32,
}
@group(0) @binding(0) var<uniform> params: LossSumUniform;
@group(0) @binding(1) var<storage, read> losses: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> totals: array<f32>;
override MODE: u32 = 1u;

@compute @workgroup_size(256, 1, 1)
fn loss_accumulate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let chunks = (params.len + params.chunk - 1u) / params.chunk;
    if MODE == 0u {
        let j = flat_index(wid, nwg, lindex);
        if j >= chunks {
            return;
        }
        let end = min(params.len, (j + 1u) * params.chunk);
        var sum = 0.0;
        for (var i = j * params.chunk; i < end; i++) {
            sum += losses[i];
        }
        partials[j] = sum;
        return;
    }
    if flat_index(wid, nwg, lindex) != 0u {
        return;
    }
    var sum = 0.0;
    if chunks == 1u {
        for (var i = 0u; i < params.len; i++) {
            sum += losses[i];
        }
    } else {
        for (var j = 0u; j < chunks; j++) {
            sum += partials[j];
        }
    }
    totals[0] += sum;
    totals[1] += f32(params.len);
}
