// peak_fma: the adapter's FMA ceiling, the denominator of every "% of peak" we print.
// Each invocation runs CHAINS independent vec4 FMA chains, 64 vec4 FMAs (512 FLOPs) a loop
// step, for `iterations` steps, with no memory traffic, then writes one value so nothing is
// optimised away. What reaches the ceiling depends on the driver and the host, so the host
// times CHAINS = 2, 4, 8, 16 and keeps the best. Measured on Mesa 22.3 lavapipe (2 cores,
// AVX2): a CPU driver keeps each vec4 component of a subgroup in its own vector register and
// pays a fixed cost per loop step (lane-mask and loop-limit checks): 16 chains with one FMA
// each a step read 34-39 GFLOP/s, the same FMAs four to a step 50-73; too few chains stall on
// FMA latency (2 chains: 44). On an AVX-512 host 8 chains read 58 where 16 read 79.
// The chain and round loops have constant trip counts once CHAINS is set, so drivers unroll
// them and keep the array in registers.
// One invocation: one sink element. Dispatch: ceil(len / 256) workgroups, linearised.
// Precision: f32 arithmetic. CPU reference: none (a measurement, not an op).
//#include flat
struct PeakUniform {
    len: u32, iterations: u32, _pad0: u32, _pad1: u32,
}
@group(0) @binding(0) var<uniform> params: PeakUniform;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

override CHAINS: u32 = 16u;

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
    var a: array<vec4<f32>, 16>;
    for (var j = 0u; j < CHAINS; j++) {
        a[j] = vec4<f32>(seed, seed + 0.1, seed + 0.2, seed + 0.3) + f32(j);
    }
    let m = vec4<f32>(0.9999999);
    let c = vec4<f32>(1e-7);
    for (var k = 0u; k < params.iterations; k++) {
        for (var r = 0u; r < 64u / CHAINS; r++) {
            for (var j = 0u; j < CHAINS; j++) {
                a[j] = fma(a[j], m, c);
            }
        }
    }
    var sum = vec4<f32>(0.0);
    for (var j = 0u; j < CHAINS; j++) {
        sum += a[j];
    }
    sink[i] = dot(sum, vec4<f32>(1.0));
}
