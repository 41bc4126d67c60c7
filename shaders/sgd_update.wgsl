// sgd_update: one step of SGD with momentum, Nesterov and weight decay (PyTorch's torch.optim.SGD
// with dampening 0) on f32 master weights:
//   g = grad * grad_scale + weight_decay * w
//   v = momentum * v + g
//   w = w - lr * (nesterov ? g + momentum * v : v)
// The gradient is multiplied by grad_scale / loss scale (scale_state[0]; 1 outside mixed
// precision), and the whole step is skipped when scale_state[2] (found_inf) is set. With has_copy = 1 the new
// weights are also written to w_copy in storage precision (the f16 weights the forward pass reads).
// Layout: every buffer is the flat parameter tensor, len elements, read and written as vec4s:
// the last one may run past len into the tensor's padding, whose zeros stay zeros
// (gpu::buffers pads every tensor to 16 bytes).
// One invocation: four parameters. Dispatch: ceil(len / 1024) workgroups, linearised.
// Precision: grad and w_copy in storage precision; w and velocity always f32.
// The learning rate comes from the per-step values (per_step.lr; the uniform's lr is 0).
// CPU reference: cpu::sgd::update.
//#tensor4 1 grad read
//#tensor4 4 w_copy write
//#include flat
//#include per_step
struct SgdUniform {
    len: u32, nesterov: u32, has_copy: u32, _pad0: u32,
    lr: f32, momentum: f32, weight_decay: f32, grad_scale: f32,
}
@group(0) @binding(0) var<uniform> params: SgdUniform;
@group(0) @binding(2) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> velocity: array<vec4<f32>>;
// [loss scale (f32 bits), good steps, found_inf, skipped steps]: see loss_scale_update.wgsl.
@group(0) @binding(5) var<storage, read> scale_state: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn sgd_update(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let q = flat_index(wid, nwg, lindex);
    // A step whose gradients overflowed (found_inf) is skipped, as by PyTorch's GradScaler.
    if 4u * q >= params.len || scale_state[2] != 0u {
        return;
    }
    let unscale = params.grad_scale / bitcast<f32>(scale_state[0]);
    let wq = w[q];
    let g = grad_ld4(q) * unscale + params.weight_decay * wq;
    let v = params.momentum * velocity[q] + g;
    velocity[q] = v;
    let step = select(v, g + params.momentum * v, params.nesterov != 0u);
    let updated = wq - per_step.lr * step;
    w[q] = updated;
    if params.has_copy != 0u {
        w_copy_st4(q, updated);
    }
}
