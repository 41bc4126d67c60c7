// Uniform parameters shared by the conv2d passes; mirrors ops::conv2d::Conv2dUniform.
struct Conv2dUniform {
    batch: u32, in_channels: u32, in_h: u32, in_w: u32,
    out_channels: u32, out_h: u32, out_w: u32, kernel_h: u32,
    kernel_w: u32, stride: u32, padding: u32, groups: u32,
    has_bias: u32, accumulate: u32, splits: u32, act: u32,
}
@group(0) @binding(0) var<uniform> params: Conv2dUniform;
