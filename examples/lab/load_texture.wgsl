// Load-cost microbenchmark for examples/kernel_lab.rs: a vec4 texture load per lane (11.1 ms on
// Mesa 22.3 there against 69 ms for the storage load of load_storage_vec4.wgsl; 15.5 on Mesa 25).
//   LAB_TEX=3:1024:1024 cargo run --release --example kernel_lab -- examples/lab/load_texture.wgsl \
//     tex_ld 2048 134217728 16 65536 -- 256
struct U { k: u32, a1: u32, a2: u32, a3: u32, a4: vec4<u32>, a5: vec4<u32>, a6: vec4<u32> }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var tex: texture_2d<f32>;

@compute @workgroup_size(8, 1, 1)
fn tex_ld(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let row = wid.x & 1023u;
    var a0 = vec4<f32>(0.0); var a1 = a0; var a2 = a0; var a3 = a0;
    for (var k = 0u; k < u.k; k++) {
        let v = textureLoad(tex, vec2<u32>((k * 8u + lane) & 1023u, row), 0);
        a0 = fma(v, vec4<f32>(1.0001), a0);
        a1 = fma(v, vec4<f32>(1.0002), a1);
        a2 = fma(v, vec4<f32>(1.0003), a2);
        a3 = fma(v, vec4<f32>(1.0004), a3);
    }
    dst[wid.x * 8u + lane] = a0 + a1 + a2 + a3 + vec4<f32>(src[0]);
}
