// Uniform parameters of the dropout passes; mirrors ops::dropout::DropoutUniform. The step
// comes from the per-step values (per_step.step; the uniform's step is 0), so the uniform and
// its bind group stay the same from step to step. Kernels including this include per_step.
struct DropoutUniform {
    len: u32, seed: u32, step: u32, offset: u32,
    p: f32, scale: f32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> params: DropoutUniform;

// PCG-style integer hash (same constants as ops::dropout::hash on the CPU).
fn dropout_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Counter-based mask: element i = offset + local (offset: the first element of this chunk) is kept when its uniform draw in [0, 1) is >= p.
// It depends only on (seed, step, i), so every backend draws the same mask.
fn dropout_keep(local: u32) -> bool {
    let i = params.offset + local;
    let h = dropout_hash(i ^ dropout_hash(params.seed ^ dropout_hash(per_step.step)));
    return f32(h >> 8u) * (1.0 / 16777216.0) >= params.p;
}
