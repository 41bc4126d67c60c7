// loss_scale_update: dynamic loss scaling after a mixed-precision step, like PyTorch's
// GradScaler: on overflow (found_inf) the scale is multiplied by backoff and the step counted
// as skipped; after `interval` good steps in a row it is multiplied by growth. found_inf is
// then cleared for the next step.
// scale_state [4] u32: [loss scale (f32 bits), good steps, found_inf, skipped steps].
// One invocation. Dispatch: 1 workgroup.
// CPU reference: cpu::CpuBackend::loss_scale_update.
struct LossScaleUniform {
    interval: u32, _pad0: u32, growth: f32, backoff: f32,
}
@group(0) @binding(0) var<uniform> params: LossScaleUniform;
@group(0) @binding(1) var<storage, read_write> scale_state: array<u32>;

@compute @workgroup_size(1, 1, 1)
fn loss_scale_update() {
    var scale = bitcast<f32>(scale_state[0]);
    if scale_state[2] != 0u {
        scale *= params.backoff;
        scale_state[1] = 0u;
        scale_state[3] += 1u;
    } else {
        scale_state[1] += 1u;
        if scale_state[1] >= params.interval {
            scale *= params.growth;
            scale_state[1] = 0u;
        }
    }
    scale_state[0] = bitcast<u32>(scale);
    scale_state[2] = 0u;
}
