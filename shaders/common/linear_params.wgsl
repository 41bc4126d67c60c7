// Uniform parameters shared by the linear passes; mirrors ops::linear::LinearUniform.
// A pass may cover only the weight rows [row0, row0 + rows) (weights larger than one
// storage binding are processed in chunks); w and dw are then bound at that row.
struct LinearUniform {
    batch: u32, in_features: u32, out_features: u32, has_bias: u32,
    row0: u32, rows: u32, accumulate: u32, act: u32,
}
@group(0) @binding(0) var<uniform> params: LinearUniform;
