// Uniform parameters of the concat kernels; mirrors ops::concat::ConcatUniform.
struct ConcatUniform {
    batch: u32, channels: u32, total: u32, offset: u32,
    pixels: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: ConcatUniform;

// Where element i of the input [N, channels, H, W] sits in the output [N, total, H, W].
fn concat_index(i: u32) -> u32 {
    let per_image = params.channels * params.pixels;
    let n = i / per_image;
    return (n * params.total + params.offset) * params.pixels + i % per_image;
}
