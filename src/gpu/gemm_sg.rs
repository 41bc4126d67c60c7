//! The subgroup GEMM core of the CPU-driver kernel family, generated as WGSL for one tile.
//!
//! On CPU Vulkan drivers (lavapipe) one invocation is one SIMD lane and a subgroup is one
//! vector register; a load whose address differs per lane runs lane by lane, so loads, not
//! FMAs, bound a GEMM. This core gets the most FMAs per load: every load is a vec4 along k
//! (operands are packed k-contiguous, f32, zero-padded to whole vec4s), and the rows of A are
//! loaded once per subgroup — lane l loads row l — then broadcast to every lane with
//! `subgroupBroadcast`, whose lane index must be a constant: hence the generated text, with
//! every row, column and accumulator unrolled for the adapter's subgroup size.
//! Measured with examples/kernel_lab.rs on lavapipe (Mesa 22.3, 256-bit): 13.5 GFLOP/s on a
//! 256x4096x1024 GEMM against 4.7 for 4x4 per-lane register tiles with vec4 loads.
//! What bounds it there now is code size: lavapipe splits each fma into a multiply and an add
//! and masks every accumulator write in the k loop, so a 64x64 tile's loop body (~6,000
//! instructions) overflows the CPU's op cache and runs at half the FMA ceiling even with its
//! loads removed, while small tiles reach the ceiling without loads but pay a texel gather per
//! 8 rows or columns (examples/lab/gemm_operands.py, `fake` mode).
//!
//! The including kernel defines where rows start and how a vec4 is read —
//! `gemm_a_row(g, m) -> u32` and `gemm_a_at(row, k) -> vec4<f32>` (row m of A of problem g
//! starts at `gemm_a_row(g, m)`, and `gemm_a_at` reads vec4 k of the row that starts at `row`:
//! `gemm_a4(row + k)` for packed rows; the NN core reads `gemm_a4(row + k)` itself),
//! `gemm_b_row(g, n) -> u32` and `gemm_b_at(row, k) -> vec4<f32>` likewise for the rows of B,
//! which are the columns of C — and
//! `gemm_store(g, split, m, n, v)`; the core defines `const SG`
//! (for `@workgroup_size(SG, 1, 1)`) and `gemm_sg_run(wid, nwg, lane, dims = (M, N, K4, G),
//! splits)`.

/// The shape one subgroup computes: `sg` lanes; each lane loads `rows_per_lane` rows of A
/// (broadcast to all) and owns `cols_per_lane` columns of B, so a subgroup computes
/// (rows_per_lane * sg) x (cols_per_lane * sg) outputs with that many f32 accumulators a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SgTile {
    pub sg: u32,
    pub rows_per_lane: u32,
    pub cols_per_lane: u32,
}

impl SgTile {
    /// The tile for a subgroup size: 16 rows (at least one per lane) and 2 columns a lane,
    /// 32 accumulators at 8 lanes, which fit the register file with the operands.
    pub fn for_subgroup(sg: u32) -> Self {
        SgTile {
            sg,
            rows_per_lane: (16 / sg).max(1),
            cols_per_lane: 2,
        }
    }

    /// The tile for an M x N GEMM: one row a lane (sg rows) and 4 columns a lane when M is at
    /// most one subgroup (LeNet conv1's 6 channels, a batch of 8) so that fewer rows are
    /// wasted, else [`SgTile::for_subgroup`].
    pub fn for_gemm(sg: u32, m: usize) -> Self {
        if m <= sg as usize {
            SgTile {
                sg,
                rows_per_lane: 1,
                cols_per_lane: (32 / sg).max(1),
            }
        } else {
            Self::for_subgroup(sg)
        }
    }
    /// The tile of the wide subgroup family ([`crate::gpu::kernels::Family::SubgroupWide`])
    /// for an M x N GEMM: up to 64 rows (as many whole subgroups of rows as M needs) and
    /// 64 / sg columns a lane (at most 8), so each vec4 loaded serves four to eight times the
    /// FMAs of [`SgTile::for_gemm`]'s tile; at 8 lanes a lane holds 512 accumulators, most
    /// of them spilled to the stack. On a host where a driver's buffer loads cost far more
    /// than stack traffic this wins: Mesa 22.3 lavapipe on a 2-core AMD EPYC (Zen 3, AVX2, 16
    /// vector registers), AlexNet conv3 forward at batch 1: 96-110 ms with the 16x16 tile,
    /// 57-61 at 32x32, 51-56 at 32x64 or 64x32, 36-37 at 64x64, 43-51 at 128x64 or 64x128.
    /// Its generated text is long (about 7 s to compile a pipeline there), so the family is
    /// offered only for large GEMMs ([`crate::gpu::kernels::Gemm::families`]).
    /// M is split into as few tiles as 64 rows allow, of equal height, so that a tile wastes
    /// no more than a subgroup of rows: AlexNet conv1's 96 channels run as two 48-row tiles,
    /// not a 64-row tile and a half-empty one (a quarter of the multiply-adds thrown away).
    pub fn wide(sg: u32, m: usize) -> Self {
        let most = (64 / sg).max(1) as usize;
        let tiles = m.div_ceil(most * sg as usize).max(1);
        let rows_per_lane = (m.div_ceil(tiles * sg as usize) as u32).clamp(1, most as u32);
        SgTile {
            sg,
            rows_per_lane,
            cols_per_lane: (64 / sg).clamp(1, 8),
        }
    }

    /// Rows of the output tile (TM).
    pub fn rows(&self) -> u32 {
        self.rows_per_lane * self.sg
    }
    /// Columns of the output tile (TN).
    pub fn cols(&self) -> u32 {
        self.cols_per_lane * self.sg
    }
    /// The tile of the NN core: `rows_per_lane` rows a lane (TM = rows_per_lane x SG) and
    /// `quads` quads of columns a lane; each lane holds rows_per_lane x SG x quads vec4
    /// accumulators. On lavapipe more rows and quads pay although they spill: each quad of B
    /// loaded serves TM rows, each row broadcast `quads` quads (AlexNet fc7's input gradient at
    /// batch 32 ran at 13 GFLOP/s with 1 row and 1 quad a lane, 32 with 4 rows, 46 with 2 rows
    /// and 4 quads; see the callers in kernels/linear_sg.rs).
    pub fn for_nn(sg: u32, rows_per_lane: u32, quads: u32) -> Self {
        SgTile {
            sg,
            rows_per_lane,
            cols_per_lane: quads,
        }
    }

    /// Workgroups of an M x N GEMM on the NN core (4 columns a lane and quad).
    pub fn workgroups_nn(&self, m: usize, n: usize) -> u64 {
        (m.div_ceil(self.rows() as usize) * n.div_ceil(4 * self.cols() as usize)) as u64
    }
    /// Workgroups (one subgroup each) of an M x N GEMM over `g` problems and `splits` k slices.
    pub fn workgroups(&self, m: usize, n: usize, g: usize, splits: usize) -> u64 {
        (m.div_ceil(self.rows() as usize) * n.div_ceil(self.cols() as usize) * g * splits) as u64
    }
}

/// The rows of A this lane loads (clamped to the last row past the edge): `ra{i}`.
fn a_rows(tile: SgTile) -> String {
    (0..tile.rows_per_lane)
        .map(|i| {
            format!(
                "    let ra{i} = gemm_a_row(g, min(m0 + lane + {o}u, dims.x - 1u));\n",
                o = i * tile.sg
            )
        })
        .collect()
}

/// One vec4 of each of this lane's rows of A at step k: `a{i}`, broadcast by the caller;
/// `load(row)` is the WGSL that reads vec4 k of the row that starts at `row`.
fn a_loads(tile: SgTile, load: impl Fn(&str) -> String) -> String {
    (0..tile.rows_per_lane)
        .map(|i| format!("        let a{i} = {};\n", load(&format!("ra{i}"))))
        .collect()
}

/// The WGSL of the core for `tile`.
pub fn core(tile: SgTile) -> String {
    let (sg, rl, cl) = (tile.sg, tile.rows_per_lane, tile.cols_per_lane);
    let mut s = format!(
        "const SG: u32 = {sg}u;\nconst TM: u32 = {tm}u;\nconst TN: u32 = {tn}u;\n\n\
         fn gemm_sg_run(wid: vec3<u32>, nwg: vec3<u32>, lane: u32, dims: vec4<u32>, splits: u32) {{\n\
         \x20   let tiles_m = (dims.x + TM - 1u) / TM;\n\
         \x20   let tiles_n = (dims.y + TN - 1u) / TN;\n\
         \x20   let tile = wid.x + wid.y * nwg.x;\n\
         \x20   if tile >= tiles_m * tiles_n * dims.w * splits {{\n\
         \x20       return; // the same for every lane of the workgroup\n\
         \x20   }}\n\
         \x20   let problem = tile / (tiles_m * tiles_n);\n\
         \x20   let g = problem % dims.w;\n\
         \x20   let split = problem / dims.w;\n\
         \x20   let slice = (dims.z + splits - 1u) / splits;\n\
         \x20   let k_begin = split * slice;\n\
         \x20   let k_end = min(k_begin + slice, dims.z);\n\
         \x20   let r = tile % (tiles_m * tiles_n);\n\
         \x20   let m0 = (r / tiles_n) * TM;\n\
         \x20   let n0 = (r % tiles_n) * TN;\n\
         \x20   // Rows and columns past the edge load the last one (in bounds) and are not stored.\n",
        tm = tile.rows(),
        tn = tile.cols(),
    );
    s += &a_rows(tile);
    for j in 0..cl {
        s += &format!(
            "    let cb{j} = gemm_b_row(g, min(n0 + lane + {o}u, dims.y - 1u));\n",
            o = j * sg
        );
    }
    for j in 0..cl {
        for t in 0..rl * sg {
            s += &format!("    var c{j}_{t} = 0.0;\n");
        }
    }
    s += "    for (var k = k_begin; k < k_end; k++) {\n";
    s += &a_loads(tile, |row| format!("gemm_a_at({row}, k)"));
    for j in 0..cl {
        s += &format!("        let b{j} = gemm_b_at(cb{j}, k);\n");
    }
    for i in 0..rl {
        for l in 0..sg {
            let t = i * sg + l;
            s += &format!("        let s{t} = subgroupBroadcast(a{i}, {l}u);\n");
            for j in 0..cl {
                s += &format!(
                    "        c{j}_{t} = fma(s{t}.w, b{j}.w, fma(s{t}.z, b{j}.z, fma(s{t}.y, b{j}.y, fma(s{t}.x, b{j}.x, c{j}_{t}))));\n"
                );
            }
        }
    }
    s += "    }\n";
    s += &store_loop(
        tile,
        ("f32", "n0 + lane + {j}u * SG"),
        "gemm_store(g, split, m0 + t, col{j}, acc{j}[t])",
    );
    s += "}\n";
    s
}

/// The epilogue of both cores: the accumulators `c{j}_{t}` (of WGSL type `ty`) copied into
/// one private array per column block j and stored in a loop over rows t, `col(j)` the
/// block's column: one store site per column block, not one per accumulator (512 in the wide
/// tile), each a lane-by-lane loop of basic blocks on CPU drivers, which made compiling a wide
/// pipeline take minutes on Mesa 25 (LLVM's coroutine frame pass: lavapipe runs a workgroup
/// as a coroutine). An array per block, not one for the tile: a private array read at a run
/// time index compiles to a chain of selects over its length on lavapipe, and with one array
/// of 64 vec4 sums the epilogue of linear's weight gradient (AlexNet fc6 at batch 16, 4 steps
/// of k) took as long as its k loop: 72-93 ms with one array, 57-73 with an array per block.
fn store_loop(tile: SgTile, (ty, col): (&str, &str), store: &str) -> String {
    let (rows, cl) = (tile.rows(), tile.cols_per_lane);
    let mut s = String::new();
    for j in 0..cl {
        s += &format!("    var acc{j}: array<{ty}, {rows}>;\n");
        for t in 0..rows {
            s += &format!("    acc{j}[{t}] = c{j}_{t};\n");
        }
    }
    s += "    for (var t = 0u; t < TM; t++) {\n        if m0 + t < dims.x {\n";
    for j in 0..cl {
        let col = col.replace("{j}", &j.to_string());
        let store = store.replace("{j}", &j.to_string());
        s += &format!(
            "            let col{j} = {col};\n            if col{j} < dims.y {{ {store}; }}\n"
        );
    }
    s += "        }\n    }\n";
    s
}

/// The WGSL of the "NN" core for `tile`: C[m][n] = sum_k A[m][k] * B[k][n] where B is read
/// along its rows, a vec4 of 4 columns at a time (w[o][i..i+4] in linear_backward_input,
/// which the NT core could only read after a transpose). A's rows are broadcast as in
/// [`core`]; each lane owns `cols_per_lane` quads of columns and keeps a vec4 accumulator
/// per row and quad. N must be a multiple of 4; K runs in vec4s (4 rows of B a step).
/// Hooks: `gemm_a_row`, `gemm_a4` as in [`core`], `gemm_b_quad(g, k, n) -> vec4<f32>`
/// (B[k][n..n+4]) and `gemm_store4(g, m, n, v)` (C[m][n..n+4]); defines `const SG` and
/// `gemm_nn_run(wid, nwg, lane, dims = (M, N, K4, G))`.
pub fn core_nn(tile: SgTile) -> String {
    let (sg, rl, cl) = (tile.sg, tile.rows_per_lane, tile.cols_per_lane);
    let mut s = format!(
        "const SG: u32 = {sg}u;\nconst TM: u32 = {tm}u;\nconst TN: u32 = {tn}u;\n\n\
         fn gemm_nn_run(wid: vec3<u32>, nwg: vec3<u32>, lane: u32, dims: vec4<u32>) {{\n\
         \x20   let tiles_m = (dims.x + TM - 1u) / TM;\n\
         \x20   let tiles_n = (dims.y + TN - 1u) / TN;\n\
         \x20   let tile = wid.x + wid.y * nwg.x;\n\
         \x20   if tile >= tiles_m * tiles_n * dims.w {{\n\
         \x20       return; // the same for every lane of the workgroup\n\
         \x20   }}\n\
         \x20   let g = tile / (tiles_m * tiles_n);\n\
         \x20   let r = tile % (tiles_m * tiles_n);\n\
         \x20   let m0 = (r / tiles_n) * TM;\n\
         \x20   let n0 = (r % tiles_n) * TN;\n",
        tm = tile.rows(),
        tn = 4 * tile.cols(),
    );
    s += &a_rows(tile);
    for j in 0..cl {
        s += &format!(
            "    let q{j} = n0 + 4u * (lane + {o}u);\n    let cn{j} = min(q{j}, dims.y - 4u);\n",
            o = j * sg
        );
    }
    for j in 0..cl {
        for t in 0..rl * sg {
            s += &format!("    var c{j}_{t} = vec4<f32>(0.0);\n");
        }
    }
    s += "    for (var k = 0u; k < dims.z; k++) {\n";
    s += &a_loads(tile, |row| format!("gemm_a4({row} + k)"));
    for j in 0..cl {
        for kk in 0..4 {
            s += &format!("        let b{j}_{kk} = gemm_b_quad(g, 4u * k + {kk}u, cn{j});\n");
        }
    }
    for i in 0..rl {
        for l in 0..sg {
            let t = i * sg + l;
            s += &format!("        let s{t} = subgroupBroadcast(a{i}, {l}u);\n");
            for j in 0..cl {
                s += &format!(
                    "        c{j}_{t} = fma(vec4<f32>(s{t}.w), b{j}_3, fma(vec4<f32>(s{t}.z), b{j}_2, fma(vec4<f32>(s{t}.y), b{j}_1, fma(vec4<f32>(s{t}.x), b{j}_0, c{j}_{t}))));\n"
                );
            }
        }
    }
    s += "    }\n";
    s += &store_loop(
        tile,
        ("vec4<f32>", "n0 + 4u * (lane + {j}u * SG)"),
        "gemm_store4(g, m0 + t, col{j}, acc{j}[t])",
    );
    s += "}\n";
    s
}

/// The tile of the direct convolution (shaders/conv2d_forward_direct.wgsl): its rows are the
/// `cout` output channels and its columns the `kw` taps of a kernel row, whose weights the
/// subgroup's lanes load in turn and [`direct_taps`] broadcasts.
pub fn direct_tile(sg: u32, cout: usize, kw: usize) -> SgTile {
    SgTile {
        sg,
        rows_per_lane: cout as u32,
        cols_per_lane: kw as u32,
    }
}

/// The WGSL of conv2d_forward_direct's inner step for a [`direct_tile`]: `const SG`,
/// `const WSLOTS` (texels of four weights each lane holds) and `direct_taps(acc, ws, row)`,
/// which adds the KW windows of the input row segment `row`, each times the weight (co, kw)
/// broadcast from the lane that loaded it (weight t = co * KW + kw is component t % 4 of
/// texel q = t / 4, slot q / SG of lane q % SG), to the vec4 accumulator of every output
/// channel co — in the order kw, then co, as unrolled text (a broadcast's lane must be a
/// constant).
pub fn direct_taps(tile: SgTile) -> String {
    let (sg, cout, kw_n) = (tile.sg, tile.rows_per_lane, tile.cols_per_lane);
    let slots = (cout * kw_n).div_ceil(4).div_ceil(sg);
    let mut s = format!(
        "const SG: u32 = {sg}u;\nconst WSLOTS: u32 = {slots}u;\n\n\
         fn direct_taps(acc: ptr<function, array<vec4<f32>, MAX_COUT>>, \
         ws: array<vec4<f32>, WSLOTS>, row: array<f32, MAX_ROW>) {{\n"
    );
    for kw in 0..kw_n {
        s += &format!("    let x{kw} = windows(row, {kw}u);\n");
        for co in 0..cout {
            let (t, comp) = (co * kw_n + kw, ["x", "y", "z", "w"]);
            let q = t / 4;
            s += &format!(
                "    (*acc)[{co}] += subgroupBroadcast(ws[{slot}].{c}, {lane}u) * x{kw};\n",
                slot = q / sg,
                c = comp[(t % 4) as usize],
                lane = q % sg
            );
        }
    }
    s += "}\n";
    s
}

/// The key of conv2d_backward_weight_direct_taps' generated text (the kernel runs no subgroup
/// operations; the tile's three numbers are its shape): `sg` the input rows under a kernel,
/// Cin * KH; `rows_per_lane` the output channels; `cols_per_lane` the taps of a kernel row, KW.
pub fn direct_wgrad_tile(rows: usize, cout: usize, kw: usize) -> SgTile {
    SgTile {
        sg: rows as u32,
        rows_per_lane: cout as u32,
        cols_per_lane: kw as u32,
    }
}

/// The WGSL of conv2d_backward_weight_direct_taps' inner step for a [`direct_wgrad_tile`]:
/// `const NACC` (Cout * Cin * KH * KW sums) and `wgrad_quad(acc, d, img, oh, iw0)`, which
/// loads the input row under each (ci, kh) once and adds, for every tap and output channel
/// co, the dot product of dy's quad `d[co]` with the tap's four windows to its sum (index
/// (co, ci, kh, kw), dw's order); and `wgrad_store(acc, base)`, the sums' stores into
/// `partial` from index `base` (its slice's first). Unrolled text, so that every index is a
/// constant and the compiler keeps the sums as scalars: a loop over a 150-sum array indexed
/// at run time went to the stack (LeNet-5's conv1, 1.55 -> 3.42 ms). The row decomposition (ci = g / KH, kh = g % KH) and the geometry
/// are the kernel's pipeline constants.
pub fn direct_wgrad_taps(tile: SgTile) -> String {
    let (rows, cout, kw_n) = (tile.sg, tile.rows_per_lane, tile.cols_per_lane);
    let n = cout * rows * kw_n;
    let mut s = format!(
        "const NACC: u32 = {n}u;\n\n\
         fn wgrad_quad(acc: ptr<function, array<f32, NACC>>, d: array<vec4<f32>, MAX_COUT>, \
         img: u32, oh: u32, iw0: i32) {{\n"
    );
    for g in 0..rows {
        s += &format!(
            "    let ih{g} = i32(oh * STRIDE + {g}u % KH) - i32(PAD);\n\
             \x20   let row{g} = input_row(((img * CIN + {g}u / KH) * IN_H + \
             u32(clamp(ih{g}, 0, i32(IN_H) - 1))) * IN_W, iw0, (ih{g} >= 0) & (ih{g} < i32(IN_H)));\n"
        );
        for kw in 0..kw_n {
            s += &format!("    let x{g}_{kw} = windows(row{g}, {kw}u);\n");
            for co in 0..cout {
                let k = (co * rows + g) * kw_n + kw;
                s += &format!("    (*acc)[{k}] += dot(d[{co}], x{g}_{kw});\n");
            }
        }
    }
    s += "}\n\nfn wgrad_store(acc: ptr<function, array<f32, NACC>>, base: u32) {\n";
    for k in 0..n {
        s += &format!("    partial[base + {k}u] = (*acc)[{k}];\n");
    }
    s += "}\n";
    s
}

/// The most rows of x (the batch) linear_backward_weight_short_sg reduces over: its x columns
/// and its sums are unrolled text, one statement per batch row.
pub const SHORT_WGRAD_MAX_BATCH: usize = 64;

/// The key of linear_backward_weight_short_sg's generated text: `sg` the subgroup size,
/// `rows_per_lane` the batch (the reduction, K), `cols_per_lane` the quads of columns a lane.
/// Four quads up to a batch of 32 and two beyond (AlexNet fc6's rows at batch 64: the same
/// speed, and the pipeline compiles in half the time).
pub fn short_wgrad_tile(sg: u32, batch: usize) -> SgTile {
    SgTile {
        sg,
        rows_per_lane: batch as u32,
        cols_per_lane: if batch <= 32 { 4 } else { 2 },
    }
}

/// The WGSL of linear_backward_weight_short_sg's body for a [`short_wgrad_tile`]: `const SG`,
/// `const Q` (quads of columns a lane) and `short_run(lane, qb, r0, r1, n4)`, which computes
/// the weight rows [r0, r1) (whole quads of rows) at the column quads qb + lane + j * SG of
/// dw[r][c] = sum over b of dy[b][r] * x[b][c]. Each lane first loads its columns of x for
/// every b (they stay in registers or on the stack, read at constant indices); then for each
/// quad of rows the lanes load dy[b][r..r + 4] for b = lane, lane + SG, ... and broadcast it
/// row of the batch by row, so that a load serves SG values of b and a broadcast 4 rows times
/// Q quads. Unrolled over b (a broadcast's lane must be a constant). Hooks: `short_x4(b, q)`,
/// `short_dy4(b, r)` (dy[b][r..r + 4]) and `short_store4(r, q, v)`.
pub fn short_wgrad(tile: SgTile) -> String {
    let (sg, kb, q) = (tile.sg, tile.rows_per_lane, tile.cols_per_lane);
    let comps = ["x", "y", "z", "w"];
    let mut s = format!(
        "const SG: u32 = {sg}u;\nconst Q: u32 = {q}u;\n\n\
         fn short_run(lane: u32, qb: u32, r0: u32, r1: u32, n4: u32) {{\n"
    );
    for j in 0..q {
        s += &format!(
            "    let q{j} = qb + lane + {o}u;\n    let c{j} = min(q{j}, n4 - 1u);\n",
            o = j * sg
        );
    }
    for j in 0..q {
        for b in 0..kb {
            s += &format!("    let x{j}_{b} = short_x4({b}u, c{j});\n");
        }
    }
    s += "    for (var r = r0; r < r1; r += 4u) {\n";
    for c in 0..kb.div_ceil(sg) {
        s += &format!(
            "        let d{c} = short_dy4(min(lane + {o}u, {last}u), r);\n",
            o = c * sg,
            last = kb - 1
        );
    }
    for j in 0..q {
        for i in 0..4 {
            s += &format!("        var a{j}_{i} = vec4<f32>(0.0);\n");
        }
    }
    for b in 0..kb {
        s += &format!(
            "        let s{b} = subgroupBroadcast(d{c}, {l}u);\n",
            c = b / sg,
            l = b % sg
        );
        for j in 0..q {
            for (i, comp) in comps.iter().enumerate() {
                s += &format!(
                    "        a{j}_{i} = fma(vec4<f32>(s{b}.{comp}), x{j}_{b}, a{j}_{i});\n"
                );
            }
        }
    }
    for j in 0..q {
        s += &format!("        if q{j} < n4 {{\n");
        for i in 0..4 {
            s += &format!("            short_store4(r + {i}u, q{j}, a{j}_{i});\n");
        }
        s += "        }\n";
    }
    s += "    }\n}\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_sixteen_rows_and_two_columns_a_lane() {
        let t = SgTile::for_subgroup(8);
        assert_eq!((t.rows(), t.cols()), (16, 16));
        let t = SgTile::for_subgroup(16);
        assert_eq!((t.rows(), t.cols()), (16, 32));
        let t = SgTile::for_subgroup(32);
        assert_eq!((t.rows(), t.cols()), (32, 64));
        assert_eq!(SgTile::for_subgroup(8).workgroups(17, 16, 2, 3), 12);
    }

    #[test]
    fn wide_tiles_are_up_to_64_square_and_fit_m() {
        let t = SgTile::wide(8, 384);
        assert_eq!((t.rows(), t.cols()), (64, 64));
        let t = SgTile::wide(8, 6);
        assert_eq!((t.rows(), t.cols()), (8, 64));
        let t = SgTile::wide(8, 20);
        assert_eq!((t.rows(), t.cols()), (24, 64));
        // 96 rows: two tiles of 48, not 64 + 64 with 32 rows wasted.
        let t = SgTile::wide(8, 96);
        assert_eq!((t.rows(), t.cols()), (48, 64));
        let t = SgTile::wide(8, 130);
        assert_eq!((t.rows(), t.cols()), (48, 64));
        let t = SgTile::wide(16, 1000);
        assert_eq!((t.rows(), t.cols()), (64, 64));
        let t = SgTile::wide(4, 1000);
        assert_eq!((t.rows(), t.cols()), (64, 32));
    }

    #[test]
    fn the_nn_core_reads_four_rows_of_b_a_step_and_stores_quads() {
        let src = core_nn(SgTile::for_nn(8, 1, 1));
        assert_eq!(src.matches("subgroupBroadcast(").count(), 8);
        assert_eq!(src.matches("gemm_b_quad(").count(), 4);
        // One store site (one column block), in a loop over the 8 rows.
        assert_eq!(src.matches("gemm_store4(").count(), 1);
        assert_eq!(src.matches("acc0[").count(), 8 + 1);
        let src = core_nn(SgTile::for_nn(8, 2, 4));
        assert_eq!(src.matches("gemm_store4(").count(), 4);
        assert_eq!(src.matches("array<vec4<f32>, 16>").count(), 4);
    }

    #[test]
    fn the_core_broadcasts_every_lane_once_per_row_block() {
        let src = core(SgTile::for_subgroup(8));
        assert_eq!(src.matches("subgroupBroadcast(").count(), 16);
        // A store site per column block (2), in a loop over the 16 rows.
        assert_eq!(src.matches("gemm_store(").count(), 2);
        assert_eq!(src.matches("acc0[").count(), 16 + 1);
        assert_eq!(src.matches("acc1[").count(), 16 + 1);
    }

    #[test]
    fn the_short_weight_gradient_loads_dy_once_per_subgroup_of_the_batch() {
        let src = short_wgrad(short_wgrad_tile(8, 20));
        // 20 rows of the batch: 3 loads of dy a quad of rows, 20 broadcasts, x loaded once
        // per batch row and quad (4 quads), 4 x 4 store sites.
        assert_eq!(src.matches("short_dy4(").count(), 3);
        assert_eq!(src.matches("subgroupBroadcast(").count(), 20);
        assert_eq!(src.matches("short_x4(").count(), 80);
        assert_eq!(src.matches("short_store4(").count(), 16);
        assert!(src.contains("min(lane + 16u, 19u)"));
        assert_eq!(short_wgrad_tile(8, 64).cols_per_lane, 2);
    }
}
