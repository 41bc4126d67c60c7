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

/// Invocations along M in a GEMM workgroup of 256 (mirrors `gemm_threads_m` in
/// shaders/common/gemm.wgsl): narrow problems get tall, thin tiles instead of idle rows.
pub fn gemm_threads_m(m: usize) -> usize {
    match m {
        0..=4 => 1,
        5..=16 => 4,
        _ => 16,
    }
}

/// Workgroups of the register-tiled GEMM core: each invocation computes 4x4 outputs, a
/// workgroup (4 * threads_m) x (4 * 256 / threads_m), and there are `g` independent problems.
pub fn gemm_workgroups(m: usize, n: usize, g: usize) -> u64 {
    let ty = gemm_threads_m(m);
    let tx = 256 / ty;
    (g * m.div_ceil(4 * ty) * n.div_ceil(4 * tx)) as u64
}

/// Workgroups of a one-output-per-invocation kernel (256 invocations each).
pub(crate) fn flat_workgroups(len: usize) -> u64 {
    len.div_ceil(256) as u64
}
