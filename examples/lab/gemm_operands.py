# Operand-load microbenchmark for examples/kernel_lab.rs: writes the subgroup GEMM core of
# src/gpu/gemm_sg.rs (same unrolled text) for a 384 x 1352 x 2304 GEMM (AlexNet conv3 forward at
# batch 8) reading its operands from storage buffers (`buf`) or from rgba32float textures
# (`tex`), with ROWS_PER_LANE x COLS_PER_LANE of 8 x 8 (the subgroup-wide tile) or 4 x 4.
#   python3 examples/lab/gemm_operands.py tex 8 8 > /tmp/g_tex_8x8.wgsl
#   LAB_TEX=4:8192:27,5:8192:96 cargo run --release --example kernel_lab -- /tmp/g_tex_8x8.wgsl \
#     gemm 132 2392326144 884736 3114496 519168 -- 1
#   python3 examples/lab/gemm_operands.py buf 8 8 > /tmp/g_buf_8x8.wgsl
#   cargo run --release --example kernel_lab -- /tmp/g_buf_8x8.wgsl gemm 132 2392326144 884736 3114496 519168 -- 1
# (workgroups: 132 for 8 x 8, 516 for 4 x 4.) Measured 2026-12-03 on a 2-core AMD EPYC (Zen 3,
# AVX2), two rounds each, ms:
#                 buf 8x8   tex 8x8   buf 4x4   tex 4x4
#   Mesa 22.3     250-260   101-104   381-430   120-138
#   Mesa 25.0     147-148    99-104   160-176   112-116
# So the subgroup conv2d GEMMs read their packed operands as textures
# (shaders/common/conv2d_sg_operands.wgsl).
# Optional M N K4 after the tile set another shape; `mix` reads A from a buffer and B from a
# texture. Half of AlexNet fc6's forward at batch 16 (16 x 2048 x 9216, tile 2 x 8: 32
# workgroups), 2026-12-03, same host, ms:
#   python3 examples/lab/gemm_operands.py mix 2 8 16 2048 2304 > /tmp/h_mix.wgsl
#   LAB_TEX=5:8192:576 cargo run --release --example kernel_lab -- /tmp/h_mix.wgsl gemm 32 \
#     603979776 147456 16 65536 -- 1        (buf: buffers of 147456 and 18874368 floats;
#     tex: LAB_TEX=4:8192:5,5:8192:576 and buffers of 16 and 16)
#                 buf       mix       tex
#   Mesa 22.3     112-126   56-62     31-46
#   Mesa 25.0     34-56     31-45     36-38
# So the linear GEMMs read weights, x and dy as textures (src/gpu/weight_textures.rs).
# `fake` computes each operand vec4 from its index instead of loading it: the core's
# arithmetic alone. 2026-12-04, same host, Mesa 22.3, the 384 x 1352 x 2304 GEMM, ms (best of
# 3 launches of ~0.5 s, two rounds; LAB_ROUNDS=3):
#   python3 examples/lab/gemm_operands.py fake 2 4 > /tmp/g_f2x4.wgsl
#   LAB_ROUNDS=3 cargo run --release --example kernel_lab -- /tmp/g_f2x4.wgsl gemm 1032 \
#     2392326144 884736 3114496 519168 -- 1
#                 2x4 (16x32)  4x4 (32x32)  4x8 (32x64)  8x8 (64x64)
#   fake          29 / 29      30 / 29      36 / 35      45 / 58
#   tex           70 / 74      72 / 62      60 / 62      56 / 61
# Without loads a small tile runs at the adapter's FMA ceiling (2.39 GFLOP in 29 ms, 82
# GFLOP/s), the 64x64 tile at half of it: lavapipe lowers fma to a multiply and an add and
# masks every accumulator write in the k loop (vmulps, vaddps, vblendvps, a load and a store of
# the spilled accumulator: ~11 instructions per 8 multiply-adds a lane), so the 64x64 loop body
# is ~6,000 instructions, more than Zen 3's 4K-op cache, and the core is fetch-bound; small
# tiles fit but pay a texel gather (~100 cycles) per 8 rows or columns a k step.
# GEMM_K2=1 generates two k steps an iteration (K4 even). 64x64 tile, tex, three alternating
# pairs in a slow hour of the host: 105/102/103 ms -> 96/98/98 (a first pair read 104 -> 68-77).
# GEMM_K2=chain takes both steps in one nested fma chain, the one-step loop's order (its sums
# bit-identical to the core's; GEMM_K2=1's tree order moved GoogLeNet's model parity past its
# tolerance). 2026-12-04 08:00, five rounds each interleaved, best of 3 launches, ms: one step
# 59/75/72/57/55, K2 tree 70/55/59/54/51, K2 chain 63/61/54/60/55: the chain gains nothing
# measurable here, the tree ~5%; neither is in the core.
import os
import sys

mode, rl, cl, sg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 8
K2 = os.environ.get("GEMM_K2") in ("1", "chain")
CHAIN = os.environ.get("GEMM_K2") == "chain"  # both steps in one nested fma chain
M, N, K4 = (int(v) for v in sys.argv[4:7]) if len(sys.argv) > 6 else (384, 1352, 576)
tm, tn = rl*sg, cl*sg
s = f"const SG: u32 = {sg}u;\nconst TM: u32 = {tm}u;\nconst TN: u32 = {tn}u;\nconst M: u32 = {M}u; const N: u32 = {N}u; const K4: u32 = {K4}u;\n"
if mode == "buf":
    s += """@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
fn gemm_a4(i: u32) -> vec4<f32> { return a[i]; }
fn gemm_b4(i: u32) -> vec4<f32> { return b[i]; }
"""
elif mode == "mix":
    s += """@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(5) var tb: texture_2d<f32>;
fn gemm_a4(i: u32) -> vec4<f32> { return a[i]; }
fn gemm_b4(i: u32) -> vec4<f32> { return textureLoad(tb, vec2<u32>(i & 8191u, i >> 13u), 0); }
"""
elif mode == "fake":
    s += """@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
fn gemm_a4(i: u32) -> vec4<f32> { let f = f32(i); return vec4<f32>(f, f + 1.0, f + 2.0, f + 3.0); }
fn gemm_b4(i: u32) -> vec4<f32> { let f = f32(i) * 0.5; return vec4<f32>(f, f + 1.0, f + 2.0, f + 3.0); }
"""
else:
    s += """@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var ta: texture_2d<f32>;
@group(0) @binding(5) var tb: texture_2d<f32>;
fn gemm_a4(i: u32) -> vec4<f32> { return textureLoad(ta, vec2<u32>(i & 8191u, i >> 13u), 0); }
fn gemm_b4(i: u32) -> vec4<f32> { return textureLoad(tb, vec2<u32>(i & 8191u, i >> 13u), 0); }
"""
s += "@group(0) @binding(0) var<uniform> u: vec4<u32>;\n"
s += """fn gemm_a_row(g: u32, m: u32) -> u32 { return m * K4; }
fn gemm_b_row(g: u32, n: u32) -> u32 { return n * K4; }
fn gemm_store(g: u32, split: u32, m: u32, n: u32, v: f32) { c[m * N + n] = v; }
fn gemm_sg_run(wid: vec3<u32>, nwg: vec3<u32>, lane: u32, dims: vec4<u32>, splits: u32) {
    let tiles_m = (dims.x + TM - 1u) / TM;
    let tiles_n = (dims.y + TN - 1u) / TN;
    let tile = wid.x + wid.y * nwg.x;
    if tile >= tiles_m * tiles_n * dims.w * splits { return; }
    let problem = tile / (tiles_m * tiles_n);
    let g = problem % dims.w;
    let split = problem / dims.w;
    let slice = (dims.z + splits - 1u) / splits;
    let k_begin = split * slice;
    let k_end = min(k_begin + slice, dims.z);
    let r = tile % (tiles_m * tiles_n);
    let m0 = (r / tiles_n) * TM;
    let n0 = (r % tiles_n) * TN;
"""
for i in range(rl):
    s += f"    let ra{i} = gemm_a_row(g, min(m0 + lane + {i*sg}u, dims.x - 1u));\n"
for j in range(cl):
    s += f"    let cb{j} = gemm_b_row(g, min(n0 + lane + {j*sg}u, dims.y - 1u));\n"
for j in range(cl):
    for t in range(rl*sg):
        s += f"    var c{j}_{t} = 0.0;\n"
# Each k step q of an iteration loads A's rows as a{i} (q = 0) or e{i} (q = 1), B's columns as
# b{j} or d{j}, and broadcasts A's as s{t} or r{t}. One step: the core's fma chain; two (K4
# even): one accumulator load, blend and store per 8 multiply-adds instead of per 4.
steps = 2 if K2 else 1
a_, b_, s_ = "ae"[:steps], "bd"[:steps], "sr"[:steps]
at = ["", " + 1u"]
s += f"    for (var k = k_begin; k < k_end; {'k++' if steps == 1 else 'k += 2u'}) {{\n"
for i in range(rl):
    s += "".join(f"        let {a_[q]}{i} = gemm_a4(ra{i} + k{at[q]});\n" for q in range(steps))
for j in range(cl):
    s += "".join(f"        let {b_[q]}{j} = gemm_b4(cb{j} + k{at[q]});\n" for q in range(steps))
for i in range(rl):
    for l in range(sg):
        t = i*sg+l
        s += "".join(f"        let {s_[q]}{t} = subgroupBroadcast({a_[q]}{i}, {l}u);\n" for q in range(steps))
        for j in range(cl):
            if steps == 1:
                s += f"        c{j}_{t} = fma(s{t}.w, b{j}.w, fma(s{t}.z, b{j}.z, fma(s{t}.y, b{j}.y, fma(s{t}.x, b{j}.x, c{j}_{t}))));\n"
            elif CHAIN:
                inner = f"c{j}_{t}"
                for q in range(steps):
                    v, b = f"{s_[q]}{t}", f"{b_[q]}{j}"
                    inner = f"fma({v}.w, {b}.w, fma({v}.z, {b}.z, fma({v}.y, {b}.y, fma({v}.x, {b}.x, {inner}))))"
                s += f"        c{j}_{t} = {inner};\n"
            else:
                pair = [f"(({s_[q]}{t}.x * {b_[q]}{j}.x + {s_[q]}{t}.y * {b_[q]}{j}.y) + ({s_[q]}{t}.z * {b_[q]}{j}.z + {s_[q]}{t}.w * {b_[q]}{j}.w))" for q in range(steps)]
                s += f"        c{j}_{t} = c{j}_{t} + " + " + ".join(pair) + ";\n"
s += "    }\n"
for j in range(cl):
    s += f"    let col{j} = n0 + lane + {j*sg}u;\n    if col{j} < dims.y {{\n"
    for t in range(rl*sg):
        s += f"        if m0 + {t}u < dims.x {{ gemm_store(g, split, m0 + {t}u, col{j}, c{j}_{t}); }}\n"
    s += "    }\n"
s += "}\n"
s += """@compute @workgroup_size(8, 1, 1)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    gemm_sg_run(wid, nwg, lane, vec4<u32>(M, N, K4, u.x), 1u);
"""
if mode != "buf":
    s += "    if lane == 99u { c[0] = a[0].x + b[0].x; }\n"
s += "}\n"
tiles = ((M+tm-1)//tm)*((N+tn-1)//tn)
print(s)
sys.stderr.write(f"workgroups {tiles} flops {2*M*N*K4*4}\n")
