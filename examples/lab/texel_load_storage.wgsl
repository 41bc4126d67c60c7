// Texel-load microbenchmark for examples/kernel_lab.rs: texel_load_sampled.wgsl's loads from a
// read-only storage texture (see there for the times).
//   LAB_TEX=2:2048:8:s cargo run --release --example kernel_lab -- examples/lab/texel_load_storage.wgsl \
//     main 256 409600 2048 -- 100
@group(0) @binding(0) var<uniform> u: array<vec4<u32>, 4>;
@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(2) var t: texture_storage_2d<rgba32float, read>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    var a = vec4<f32>(0.0); var b = vec4<f32>(0.0);
    for (var it = 0u; it < u[0].x; it++) {
        let c = g.x * 4u + it * 8u;
        let v0 = textureLoad(t, vec2<u32>((c+0u) & 2047u, ((c+0u) >> 11u) & 7u));
        let c1 = c + 1u;
        let v1 = textureLoad(t, vec2<u32>(c1 & 2047u, (c1 >> 11u) & 7u));
        a = fma(v0, v1, a);
        b = fma(v1, v0, b);
    }
    o[g.x] = a + b;
}
