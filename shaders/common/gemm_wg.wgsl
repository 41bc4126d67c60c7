// Workgroup-memory GEMM core of the GPU kernel family (Family::Workgroup), included by the
// *_wg conv2d and linear passes.
//
// Computes C[g][m][n] = sum_k A[g][m][k] * B[g][n][k] for g < G, m < M, n < N, k < K: both
// operands are read along k, so row m of A and row n of B (a column of C) each load 4
// consecutive k at a time. The including shader supplies:
//   struct ARow; gemm_a_row(g, m) -> ARow      per-row state of A (offsets, validity), once
//   gemm_a4(g, row, k) -> vec4<f32>            A[g][m][k..k+3], 0 past K and for m >= M
//   struct BRow; gemm_b_row(g, n) -> BRow      likewise for B
//   gemm_b4(g, row, k) -> vec4<f32>            B[g][n][k..k+3], 0 past K and for n >= N
//   gemm_store(g, s, m, n, v)                  once per output with m < M and n < N; s is
//                                              the k split (0 unless the op splits k)
// A workgroup of 256 invocations computes a TM x TN tile of C: TM = 4 * WG_TY rows,
// TN = 4 * (256 / WG_TY) columns (WG_TY, a pipeline constant: 8, 16 or 32 for 32x128, 64x64
// or 128x32 tiles, chosen by the launcher for the shape: kernels::wg_threads_m). Each
// invocation holds a 4x4 block of f32 accumulators in registers (rows 4ty..4ty+3, columns
// 4tx..4tx+3 of the tile).
// k advances in slices of WG_TK = 16. For each slice, the TM + TN rows of 16 k are loaded
// from memory — 4 x (TM + TN) vec4 loads, one or two per invocation, consecutive
// invocations on consecutive k of a row — and stored transposed, k-major, into workgroup
// memory; after a barrier, every invocation runs 16 steps of 2 vec4 reads of workgroup
// memory and 16 FMAs; a second barrier guards the tile before the next slice overwrites it.
// Workgroup memory: 16 x (TM + TN) floats = 10 KiB for every WG_TY (under WebGPU's 16 KiB).
// Split k: with splits S > 1, problem g is computed as S partial products over consecutive
// slices of k (multiples of WG_TK), which the op stores apart and adds afterwards in a fixed
// order. A split that starts past K stores zeros.
// Dispatch: G * S * ceil(M / TM) * ceil(N / TN) workgroups, linearised over x and y. Control
// flow around the barriers depends only on the workgroup and the uniforms.
// The k loop runs in a fixed order: two runs give bit-identical results.

override WG_TY: u32 = 16u;
const WG_TK: u32 = 16u;
// One k slice of A ([k][m / 4] vec4, TM / 4 a step) then of B ([k][n / 4]): 16 * (TM + TN) / 4
// = 640 vec4 for every WG_TY.
var<workgroup> wg_tile: array<vec4<f32>, 640>;

// Stores row `row` of a slice (k = lk..lk+3 of the slice) of an operand whose tile has
// `quads` = rows / 4 vec4 per k, at vec4 offset `base`.
fn wg_put(base: u32, quads: u32, row: u32, lk: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        wg_tile[base + (lk + j) * quads + row / 4u][row % 4u] = v[j];
    }
}

// dims = (M, N, K, G); splits = S
fn gemm_run(wid: vec3<u32>, nwg: vec3<u32>, lindex: u32, dims: vec4<u32>, splits: u32) {
    let ty_n = WG_TY;
    let tx_n = 256u / ty_n;
    let tm = 4u * ty_n;
    let tn = 4u * tx_n;
    let tiles_m = (dims.x + tm - 1u) / tm;
    let tiles_n = (dims.y + tn - 1u) / tn;
    let tile = wid.x + wid.y * nwg.x;
    if tile >= tiles_m * tiles_n * dims.w * splits {
        return; // the whole workgroup: uniform
    }
    let problem = tile / (tiles_m * tiles_n);
    let g = problem % dims.w;
    let split = problem / dims.w;
    let slice = ((dims.z + splits - 1u) / splits + WG_TK - 1u) / WG_TK * WG_TK;
    let k_begin = split * slice;
    let k_end = min(k_begin + slice, dims.z);
    let r = tile % (tiles_m * tiles_n);
    let m0 = (r / tiles_n) * tm;
    let n0 = (r % tiles_n) * tn;

    // Loading: slot t = lindex + 256 * s (s = 0, 1) is row t / 4, k = 4 * (t % 4) of the slice.
    let lrow = lindex / 4u;
    let lk = 4u * (lindex % 4u);
    var a_rows = array<ARow, 2>(gemm_a_row(g, m0 + lrow), gemm_a_row(g, m0 + lrow + 64u));
    var b_rows = array<BRow, 2>(gemm_b_row(g, n0 + lrow), gemm_b_row(g, n0 + lrow + 64u));
    let a_quads = tm / 4u;
    let b_quads = tn / 4u;
    let b_base = WG_TK * a_quads;
    // Computing: the 4x4 block at rows 4ty.., columns 4tx.. of the tile.
    let ty = lindex / tx_n;
    let tx = lindex % tx_n;

    var acc: array<vec4<f32>, 4>;
    for (var k0 = k_begin; k0 < k_end; k0 += WG_TK) {
        // Global loads first, so they are in flight while the previous slice finishes.
        var a: array<vec4<f32>, 2>;
        var b: array<vec4<f32>, 2>;
        for (var s = 0u; s < 2u; s++) {
            if lrow + 64u * s < tm {
                a[s] = gemm_a4(g, a_rows[s], k0 + lk);
            }
            if lrow + 64u * s < tn {
                b[s] = gemm_b4(g, b_rows[s], k0 + lk);
            }
        }
        workgroupBarrier();
        for (var s = 0u; s < 2u; s++) {
            if lrow + 64u * s < tm {
                wg_put(0u, a_quads, lrow + 64u * s, lk, a[s]);
            }
            if lrow + 64u * s < tn {
                wg_put(b_base, b_quads, lrow + 64u * s, lk, b[s]);
            }
        }
        workgroupBarrier();
        for (var kk = 0u; kk < WG_TK; kk++) {
            let av = wg_tile[kk * a_quads + ty];
            let bv = wg_tile[b_base + kk * b_quads + tx];
            acc[0] = fma(vec4<f32>(av.x), bv, acc[0]);
            acc[1] = fma(vec4<f32>(av.y), bv, acc[1]);
            acc[2] = fma(vec4<f32>(av.z), bv, acc[2]);
            acc[3] = fma(vec4<f32>(av.w), bv, acc[3]);
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + 4u * ty + i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + 4u * tx + j;
            if m < dims.x && n < dims.y {
                gemm_store(g, split, m, n, acc[i][j]);
            }
        }
    }
}
