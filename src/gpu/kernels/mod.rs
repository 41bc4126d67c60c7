//! Launchers: one function per kernel pass that picks the pipeline variant, splits tensors
//! larger than one binding into chunks, fills the uniform and records the dispatch.
//! They encode only; they never submit.

pub mod conv2d;
pub mod dropout;
pub mod elementwise;
pub mod linear;
pub mod lrn;
pub mod pool2d;
pub mod sgd;
pub mod softmax_cross_entropy;

/// Workgroups of the register-tiled GEMM core (64x64 outputs each, `g` independent problems).
pub(crate) fn gemm_workgroups(m: usize, n: usize, g: usize) -> u64 {
    (g * m.div_ceil(64) * n.div_ceil(64)) as u64
}

/// Workgroups of a one-output-per-invocation kernel (256 invocations each).
pub(crate) fn flat_workgroups(len: usize) -> u64 {
    len.div_ceil(256) as u64
}
