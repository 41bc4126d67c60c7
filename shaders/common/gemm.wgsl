// Shared register-tiled GEMM core, included by every conv2d and linear pass.
//
// Computes C[g][m][n] = sum_k A[g][m][k] * B[g][k][n] for g < G, m < M, n < N, k < K.
// The including shader supplies two small structs and five hooks:
//   gemm_a_row(g, m) -> ARow        per-row state (offsets, validity), computed once
//   gemm_a_at(g, k, row) -> f32     A[g][m][k], 0 for an invalid row
//   gemm_b_col(g, n) -> BCol        per-column state, computed once
//   gemm_b_at(g, k, col) -> f32     B[g][k][n], 0 for an invalid column or a padding tap
//   gemm_store(g, s, m, n, acc)     called once per output with m < M and n < N; s is the
//                                   k split (see below), 0 unless the op splits k
// Every invocation keeps a 4x4 block of independent f32 accumulators (rows ly + TY*i,
// columns lx + TX*j) and reads its operands straight from memory: all index math that
// depends on the row or the column is hoisted out of the k loop, and what depends on k alone
// is the same for every invocation (uniform), so it costs one scalar computation per subgroup.
// No workgroup memory and no barriers: on GPUs neighbouring invocations share operands
// through the cache (lanes along n read consecutive addresses); on CPU Vulkan drivers
// (lavapipe) barriers are expensive.
// The workgroup of 256 invocations is TY x TX = 16x16 (tiles of 64x64), 4x64 when M <= 16,
// 1x256 when M <= 4 (gemm_threads_m mirrors kernels::gemm_threads_m on the host).
// Split k: with splits S > 1, problem g is computed as S partial products over consecutive
// slices of k (for the few-outputs, long-k shape of weight gradients), which the op stores
// apart and sums afterwards in a fixed order.
// Dispatch: G * S * ceil(M / 4TY) * ceil(N / 4TX) workgroups, linearised over x and y.
// The k loop runs in a fixed order: two runs give bit-identical results.

fn gemm_threads_m(m: u32) -> u32 {
    if m <= 4u {
        return 1u;
    }
    if m <= 16u {
        return 4u;
    }
    return 16u;
}

// dims = (M, N, K, G); splits = S
fn gemm_run(wid: vec3<u32>, nwg: vec3<u32>, lindex: u32, dims: vec4<u32>, splits: u32) {
    let ty_n = gemm_threads_m(dims.x);
    let tx_n = 256u / ty_n;
    let tiles_m = (dims.x + 4u * ty_n - 1u) / (4u * ty_n);
    let tiles_n = (dims.y + 4u * tx_n - 1u) / (4u * tx_n);
    let tile = wid.x + wid.y * nwg.x;
    if tile >= tiles_m * tiles_n * dims.w * splits {
        return;
    }
    let problem = tile / (tiles_m * tiles_n);
    let g = problem % dims.w;
    let split = problem / dims.w;
    let slice = (dims.z + splits - 1u) / splits;
    let k_begin = split * slice;
    let k_end = min(k_begin + slice, dims.z);
    let r = tile % (tiles_m * tiles_n);
    let ly = lindex / tx_n;
    let lx = lindex % tx_n;
    let m0 = (r / tiles_n) * 4u * ty_n + ly;
    let n0 = (r % tiles_n) * 4u * tx_n + lx;
    if m0 >= dims.x || n0 >= dims.y {
        return; // this invocation's whole 4x4 block lies outside C (no barriers follow)
    }

    var rows: array<ARow, 4>;
    var cols: array<BCol, 4>;
    for (var i = 0u; i < 4u; i++) {
        rows[i] = gemm_a_row(g, m0 + ty_n * i);
        cols[i] = gemm_b_col(g, n0 + tx_n * i);
    }
    var acc: array<vec4<f32>, 4>;
    for (var k = k_begin; k < k_end; k++) {
        let b = vec4<f32>(
            gemm_b_at(g, k, cols[0]),
            gemm_b_at(g, k, cols[1]),
            gemm_b_at(g, k, cols[2]),
            gemm_b_at(g, k, cols[3]),
        );
        for (var i = 0u; i < 4u; i++) {
            acc[i] = fma(vec4<f32>(gemm_a_at(g, k, rows[i])), b, acc[i]);
        }
    }
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + ty_n * i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + tx_n * j;
            if m < dims.x && n < dims.y {
                gemm_store(g, split, m, n, acc[i][j]);
            }
        }
    }
}
