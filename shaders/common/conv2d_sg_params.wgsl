// Uniform parameters of the subgroup-family conv2d kernels (pack, GEMMs, col2im); mirrors
// gpu::kernels::conv2d_sg::SgUniform. The first sixteen fields are Conv2dUniform's.
// m, n, k4: the GEMM's rows, columns and reduction length in vec4s. Pack: `rows` rows per
// group of `k4 * 4` floats, of which the first `cols` hold data (the rest are zero);
// `len` floats in all; `mode` is unused (conv2d_pack's layout is its MODE constant). `first`: the image of the
// bound tensors where this launch's images begin (sub-chunks of one binding).
struct SgUniform {
    batch: u32, in_channels: u32, in_h: u32, in_w: u32,
    out_channels: u32, out_h: u32, out_w: u32, kernel_h: u32,
    kernel_w: u32, stride: u32, padding: u32, groups: u32,
    has_bias: u32, accumulate: u32, splits: u32, act: u32,
    m: u32, n: u32, k4: u32, rows: u32,
    cols: u32, len: u32, mode: u32, first: u32,
}
@group(0) @binding(0) var<uniform> params: SgUniform;
