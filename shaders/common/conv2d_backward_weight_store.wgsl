// The store hook of the subgroup weight-gradient GEMMs (conv2d_backward_weight_sg and
// _rows_sg): dw, or with SPLIT this launch's slice of the partial sums that
// conv2d_backward_weight_reduce adds in order. Needs `dw` (//#tensor 3 dw write) and params.
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

// Whether k is split (partial sums) or not (dw directly), as a pipeline constant so that the
// untaken store is compiled away.
override SPLIT: bool = false;

fn gemm_store(g: u32, split: u32, m: u32, n: u32, v: f32) {
    let i = (g * params.m + m) * params.n + n;
    if SPLIT {
        partial[split * params.groups * params.m * params.n + i] = v;
        return;
    }
    var out = v;
    if params.accumulate != 0u {
        out += dw_ld(i);
    }
    dw_st(i, out);
}
