// Shared register-tiled GEMM core, included by every conv2d and linear pass.
//
// Computes C[g][m][n] = sum_k A[g][m][k] * B[g][k][n] for g < G, m < M, n < N, k < K.
// The including shader supplies the operands and the epilogue as three hooks:
//   gemm_load_a(g, m, k) -> f32   (0 outside the matrix)
//   gemm_load_b(g, k, n) -> f32   (0 outside the matrix)
//   gemm_store(g, m, n, acc)      (called once per output, m < M and n < N)
// A workgroup of 16x16 invocations computes one 64x64 tile of C; each invocation keeps a
// 4x4 block of independent f32 accumulators (rows ly + 16i, columns lx + 16j), and the
// operands are staged through workgroup memory 16 values of k at a time.
// Dispatch: G * ceil(M/64) * ceil(N/64) workgroups, linearised over x and y
// (x <= 65535) so that large problems never exceed the per-dimension limit.
// The k loop runs in a fixed order: two runs give bit-identical results.

const GEMM_TILE_M: u32 = 64u;
const GEMM_TILE_N: u32 = 64u;
const GEMM_TILE_K: u32 = 16u;
const GEMM_THREADS: u32 = 256u;

var<workgroup> gemm_tile_a: array<f32, 1024>; // [GEMM_TILE_M][GEMM_TILE_K]
var<workgroup> gemm_tile_b: array<f32, 1024>; // [GEMM_TILE_K][GEMM_TILE_N]

// dims = (M, N, K, G)
fn gemm_run(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, lindex: u32, dims: vec4<u32>) {
    let tiles_m = (dims.x + GEMM_TILE_M - 1u) / GEMM_TILE_M;
    let tiles_n = (dims.y + GEMM_TILE_N - 1u) / GEMM_TILE_N;
    let tile = wid.x + wid.y * nwg.x;
    if tile >= tiles_m * tiles_n * dims.w {
        return;
    }
    let g = tile / (tiles_m * tiles_n);
    let r = tile % (tiles_m * tiles_n);
    let m0 = (r / tiles_n) * GEMM_TILE_M;
    let n0 = (r % tiles_n) * GEMM_TILE_N;

    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < dims.z; k0 += GEMM_TILE_K) {
        for (var l = 0u; l < 4u; l++) {
            let e = lindex + l * GEMM_THREADS;
            gemm_tile_a[e] = gemm_load_a(g, m0 + e / GEMM_TILE_K, k0 + e % GEMM_TILE_K);
            gemm_tile_b[e] = gemm_load_b(g, k0 + e / GEMM_TILE_N, n0 + e % GEMM_TILE_N);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < GEMM_TILE_K; kk++) {
            let row = kk * GEMM_TILE_N + lid.x;
            let b = vec4<f32>(gemm_tile_b[row], gemm_tile_b[row + 16u], gemm_tile_b[row + 32u], gemm_tile_b[row + 48u]);
            for (var i = 0u; i < 4u; i++) {
                let a = gemm_tile_a[(lid.y + 16u * i) * GEMM_TILE_K + kk];
                acc[i] = fma(vec4<f32>(a), b, acc[i]);
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y + 16u * i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x + 16u * j;
            if m < dims.x && n < dims.y {
                gemm_store(g, m, n, acc[i][j]);
            }
        }
    }
}
