// grad_check_finite: sets scale_state[2] (found_inf) when any value of up to six gradient
// tensors is inf or NaN — the overflow check of mixed-precision training, one launch for
// several parameters. Only ever writes 1, so the integer atomicOr gives the same result
// whatever the order.
// Layout: g0..g5 [lens[k]] (absent ones bound to a dummy with length 0); scale_state [4] u32
// (see loss_scale_update.wgsl).
// One invocation: one vec4 of the tensors laid end to end, each read as vec4s (a tensor's last
// one runs into its padding, which holds zeros: gpu::buffers pads every tensor to 16 bytes,
// and chunks other than the last are whole vec4s). On Mesa 22.3 lavapipe a storage load runs
// lane by lane whatever its width, so a vec4 a lane does a quarter of the loads of a value a
// lane. Dispatch: ceil(total4 / 256) workgroups, linearised.
// Precision: gradients in storage precision.
// CPU reference: cpu::CpuBackend::grad_check_finite.
//#tensor4 1 g0 read
//#tensor4 2 g1 read
//#tensor4 3 g2 read
//#tensor4 4 g3 read
//#tensor4 5 g4 read
//#tensor4 6 g5 read
//#include flat
// len0..len5: each piece's vec4s; total: their sum.
struct GradCheckUniform {
    len0: u32, len1: u32, len2: u32, len3: u32,
    len4: u32, len5: u32, total: u32, _pad0: u32,
}
@group(0) @binding(0) var<uniform> params: GradCheckUniform;
@group(0) @binding(7) var<storage, read_write> scale_state: array<atomic<u32>>;

// Vec4 i of the tensors laid end to end.
fn value4(i: u32) -> vec4<f32> {
    var j = i;
    if j < params.len0 {
        return g0_ld4(j);
    }
    j -= params.len0;
    if j < params.len1 {
        return g1_ld4(j);
    }
    j -= params.len1;
    if j < params.len2 {
        return g2_ld4(j);
    }
    j -= params.len2;
    if j < params.len3 {
        return g3_ld4(j);
    }
    j -= params.len3;
    if j < params.len4 {
        return g4_ld4(j);
    }
    return g5_ld4(j - params.len4);
}

@compute @workgroup_size(256, 1, 1)
fn grad_check_finite(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i < params.total {
        // Infinities and NaNs are the values whose exponent bits are all set. Tested on the
        // bits: a float comparison can be rewritten by the driver's compiler in a way that
        // NaN breaks (llvmpipe's GL turned `!all(abs(v) <= max)` into one that missed it).
        let exponent = vec4<u32>(0x7f800000u);
        if any((bitcast<vec4<u32>>(value4(i)) & exponent) == exponent) {
            atomicOr(&scale_state[2], 1u);
        }
    }
}
