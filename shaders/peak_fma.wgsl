// peak_fma: the adapter's FMA ceiling, the denominator of every "% of peak" we print.
// Each invocation runs 16 independent vec4 FMA chains for `iterations` steps (16 * 4 * 2 =
// 128 FLOPs a step: with 8 chains, wide-vector CPU drivers stall on FMA latency and the
// ceiling reads low — 58 instead of 79 GFLOP/s on one AVX-512 host) with no memory traffic, then writes one value so nothing is optimised away.
// One invocation: one sink element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: f32 arithmetic. CPU reference: none (a measurement, not an op).
//#include flat
struct PeakUniform {
    len: u32, iterations: u32, _pad0: u32, _pad1: u32,
}
@group(0) @binding(0) var<uniform> params: PeakUniform;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn peak_fma(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if i >= params.len {
        return;
    }
    let seed = f32(i) * 1e-7;
    var a0 = vec4<f32>(seed, seed + 0.1, seed + 0.2, seed + 0.3);
    var a1 = a0 + 1.0;
    var a2 = a0 + 2.0;
    var a3 = a0 + 3.0;
    var a4 = a0 + 4.0;
    var a5 = a0 + 5.0;
    var a6 = a0 + 6.0;
    var a7 = a0 + 7.0;
    var a8 = a0 + 8.0;
    var a9 = a0 + 9.0;
    var a10 = a0 + 10.0;
    var a11 = a0 + 11.0;
    var a12 = a0 + 12.0;
    var a13 = a0 + 13.0;
    var a14 = a0 + 14.0;
    var a15 = a0 + 15.0;
    let m = vec4<f32>(0.9999999);
    let c = vec4<f32>(1e-7);
    for (var k = 0u; k < params.iterations; k++) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
        a8 = fma(a8, m, c);
        a9 = fma(a9, m, c);
        a10 = fma(a10, m, c);
        a11 = fma(a11, m, c);
        a12 = fma(a12, m, c);
        a13 = fma(a13, m, c);
        a14 = fma(a14, m, c);
        a15 = fma(a15, m, c);
    }
    let sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
    sink[i] = dot(sum, vec4<f32>(1.0));
}
