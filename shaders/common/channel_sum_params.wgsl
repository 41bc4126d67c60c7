// Uniform parameters of the bias-gradient channel sums (conv2d_backward_bias*, linear_backward_bias*);
// mirrors gpu::kernels::conv2d::ChannelSumUniform. With accumulate = 1 the sum is added to
// db (batch chunks of a tensor larger than one storage binding, processed in a fixed order).
struct ChannelSumUniform {
    batch: u32, channels: u32, pixels: u32, accumulate: u32,
}
@group(0) @binding(0) var<uniform> params: ChannelSumUniform;
