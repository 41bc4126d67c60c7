// Load-cost microbenchmarks for examples/kernel_lab.rs (2026-12-03, Mesa 22.3 lavapipe on a
// 2-core AMD EPYC Zen 3): each entry runs a 256-step loop of one load and four vec4 FMAs per
// lane; 2048 workgroups of 8. Measured: nonuni (per-lane vec4 storage load) 68 ms, uni (the
// same address in every lane) 69 ms, unisel (8 uniform loads + lane select) 504 ms; no load in
// the loop 5.4 ms. Mesa 25: 16.5 / 13.8 / 94 ms.
//   cargo run --release --example kernel_lab -- examples/lab/load_storage_vec4.wgsl nonuni \
//     2048 134217728 16777216 65536 -- 256
struct U { k: u32, a1: u32, a2: u32, a3: u32, a4: vec4<u32>, a5: vec4<u32>, a6: vec4<u32> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(8, 1, 1)
fn nonuni(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let base = (wid.x * 8u + lane) * u.k;
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = src[base + k];
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}

@compute @workgroup_size(8, 1, 1)
fn uni(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let base = wid.x * u.k;
    var a0 = vec4<f32>(f32(lane)); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = src[base + k];
        a0 = fma(v, a0, vec4<f32>(1.0001));
        a1 = fma(v, a1, vec4<f32>(1.0002));
        a2 = fma(v, a2, vec4<f32>(1.0003));
        a3 = fma(v, a3, vec4<f32>(1.0004));
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}

// Each lane picks its vec4 from eight loads at addresses the same in every lane.
@compute @workgroup_size(8, 1, 1)
fn unisel(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let base = wid.x * 8u * u.k;
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let b = base + k * 8u;
        var v = src[b];
        v = select(v, src[b + 1u], lane == 1u);
        v = select(v, src[b + 2u], lane == 2u);
        v = select(v, src[b + 3u], lane == 3u);
        v = select(v, src[b + 4u], lane == 4u);
        v = select(v, src[b + 5u], lane == 5u);
        v = select(v, src[b + 6u], lane == 6u);
        v = select(v, src[b + 7u], lane == 7u);
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}

// The same loop with no load in it (one load before the loop).
@compute @workgroup_size(8, 1, 1)
fn noload(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let s0 = src[0];
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = vec4<f32>(f32(k)) + s0;
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}
