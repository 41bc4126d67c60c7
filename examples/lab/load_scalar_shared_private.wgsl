// Load-cost microbenchmarks for examples/kernel_lab.rs, as load_storage_vec4.wgsl: a scalar
// storage load (21 ms on Mesa 22.3 there, 9.2 on Mesa 25), a workgroup-memory load (27 ms), a
// dynamically indexed private array (6.9 ms).
//   cargo run --release --example kernel_lab -- examples/lab/load_scalar_shared_private.wgsl \
//     scalar_nonuni 2048 134217728 16777216 65536 -- 256
struct U { k: u32, a1: u32, a2: u32, a3: u32, a4: vec4<u32>, a5: vec4<u32>, a6: vec4<u32> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
var<workgroup> wg: array<f32, 256>;

@compute @workgroup_size(8, 1, 1)
fn scalar_nonuni(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let base = (wid.x * 8u + lane) * u.k;
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = vec4<f32>(src[base + k]);
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}

@compute @workgroup_size(8, 1, 1)
fn shared_ld(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    for (var i = lane; i < 256u; i += 8u) { wg[i] = src[wid.x * 256u + i]; }
    workgroupBarrier();
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = vec4<f32>(wg[(k + lane) & 255u]);
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}

@compute @workgroup_size(8, 1, 1)
fn private_ld(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    var p: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) { p[i] = src[wid.x * 16u + i]; }
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = vec4<f32>(p[(k + lane) & 15u]);
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3;
}
