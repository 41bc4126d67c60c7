// Texel-load microbenchmark for examples/kernel_lab.rs: two vec4 loads per lane and step from a
// sampled rgba32float texture (texel_load_storage.wgsl: the same from a read-only storage
// texture). 2026-12-05, 2-core Zen 4: 0.50 ms on Mesa 22.3 lavapipe against 0.24 for the storage
// texture; Mesa 25 0.57 / 0.28; llvmpipe GL 0.74 / 0.28.
//   LAB_TEX=2:2048:8 cargo run --release --example kernel_lab -- examples/lab/texel_load_sampled.wgsl \
//     main 256 409600 2048 -- 100
@group(0) @binding(0) var<uniform> u: array<vec4<u32>, 4>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(2) var t: texture_2d<f32>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    var a = vec4<f32>(0.0); var b = vec4<f32>(0.0);
    for (var it = 0u; it < u[0].x; it++) {
        let c = g.x * 4u + it * 8u;
        let v0 = textureLoad(t, vec2<u32>((c+0u) & 2047u, ((c+0u) >> 11u) & 7u), 0);
        let c1 = c + 1u;
        let v1 = textureLoad(t, vec2<u32>(c1 & 2047u, (c1 >> 11u) & 7u), 0);
        a = fma(v0, v1, a);
        b = fma(v1, v0, b);
    }
    o[g.x] = a + b;
}
