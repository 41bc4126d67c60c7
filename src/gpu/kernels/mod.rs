//! Launchers: one function per kernel pass that picks the pipeline variant, splits tensors
//! larger than one binding into chunks, fills the uniform and records the dispatch.
//! They encode only; they never submit.

pub mod conv2d;
mod conv2d_direct;
mod conv2d_sg;
pub mod dropout;
pub mod elementwise;
pub mod linear;
mod linear_sg;
pub mod lrn;
pub mod pool2d;
pub mod sgd;
pub mod softmax_cross_entropy;

use super::context::GpuContext;

/// The kernel families of the GEMM-shaped passes (conv2d today).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// The register-tiled GEMM core (shaders/common/gemm.wgsl): operands gathered in the k
    /// loop, no workgroup memory, no subgroups. Runs everywhere.
    Tiled,
    /// The CPU-driver family: operands packed k-contiguous, a subgroup GEMM core whose rows
    /// are shared by `subgroupBroadcast` (src/gpu/gemm_sg.rs), column gradients finished by
    /// col2im. Needs subgroups of one fixed size.
    Subgroup,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Tiled, Family::Subgroup];

    pub fn name(self) -> &'static str {
        match self {
            Family::Tiled => "tiled",
            Family::Subgroup => "subgroup",
        }
    }

    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }

    /// `CNNGPU_KERNELS=tiled|subgroup` when set (and runnable), else the subgroup family on
    /// CPU drivers that can run it and the tiled family elsewhere.
    pub fn default_for(ctx: &GpuContext, has_subgroup_tile: bool) -> Family {
        match std::env::var("CNNGPU_KERNELS")
            .ok()
            .as_deref()
            .and_then(Family::parse)
        {
            Some(Family::Subgroup) if has_subgroup_tile => Family::Subgroup,
            Some(f) if f != Family::Subgroup => f,
            _ if has_subgroup_tile && ctx.info.device_type == wgpu::DeviceType::Cpu => {
                Family::Subgroup
            }
            _ => Family::Tiled,
        }
    }
}

/// A GEMM-shaped op at one shape (batch included): what a kernel-family choice is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gemm {
    Conv2d(crate::ops::Conv2dParams),
    Linear(crate::ops::LinearParams),
}

impl Gemm {
    /// The families that run this op's passes: the subgroup family only for shapes it
    /// supports (linear rows of whole vec4s; others fall back to the tiled kernels).
    pub fn families(&self, available: &[Family]) -> Vec<Family> {
        let sg_ok = match self {
            Gemm::Conv2d(_) => true,
            Gemm::Linear(p) => linear_sg::supports(p),
        };
        available
            .iter()
            .copied()
            .filter(|&f| f != Family::Subgroup || sg_ok)
            .collect()
    }
}

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
