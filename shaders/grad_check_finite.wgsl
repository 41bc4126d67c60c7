// grad_check_finite: sets scale_state[2] (found_inf) when any gradient is inf or NaN — the
// overflow check of mixed-precision training. Only ever writes 1, so the integer atomicOr
// gives the same result whatever the order.
// Layout: grad [len]; scale_state [4] u32 (see loss_scale_update.wgsl).
// One invocation: one element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: grad in storage precision.
// CPU reference: cpu::CpuBackend::grad_check_finite.
//#tensor 1 grad read
//#include flat
//#include elementwise_params
@group(0) @binding(2) var<storage, read_write> scale_state: array<atomic<u32>>;

@compute @workgroup_size(256, 1, 1)
fn grad_check_finite(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.len {
        let v = grad_ld(i);
        // Comparisons with NaN are false: this catches NaN and both infinities.
        if !(abs(v) <= 3.4028235e38) {
            atomicOr(&scale_state[2], 1u);
        }
    }
}
