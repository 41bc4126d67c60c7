//! Launchers: one function per kernel pass that picks the pipeline variant, splits tensors
//! larger than one binding into chunks, fills the uniform and records the dispatch.
//! They encode only; they never submit.

pub mod batch_norm;
pub mod concat;
pub mod conv2d;
mod conv2d_direct;
mod conv2d_sg;
mod conv2d_wg;
pub mod conv_transpose2d;
pub mod dropout;
pub mod elementwise;
pub mod linear;
mod linear_sg;
mod linear_wg;
pub mod lrn;
pub mod pixel_loss;
pub mod pool2d;
pub mod sgd;
pub mod softmax_cross_entropy;
mod texture_pack;

use super::context::GpuContext;
use super::gemm_sg::SgTile;

/// The kernel families of the GEMM-shaped passes (conv2d and linear).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// The register-tiled GEMM core (shaders/common/gemm.wgsl): operands gathered in the k
    /// loop, no workgroup memory, no subgroups. Runs everywhere.
    Tiled,
    /// The CPU-driver family: operands packed k-contiguous, a subgroup GEMM core whose rows
    /// are shared by `subgroupBroadcast` (src/gpu/gemm_sg.rs), column gradients finished by
    /// col2im. Needs subgroups of one fixed size.
    Subgroup,
    /// The subgroup family with a 64x64 output tile a subgroup ([`SgTile::wide`]) on its
    /// GEMM passes (conv2d's three, linear's forward; the others are the subgroup family's):
    /// four to eight times the FMAs per load, for hosts where a CPU driver's buffer loads
    /// are dear. Offered for large GEMMs only. Needs subgroups of one fixed size.
    SubgroupWide,
    /// The GPU family: a GEMM core that stages k-slices of 64-wide operand tiles through
    /// workgroup memory (shaders/common/gemm_wg.wgsl), 4x4 outputs an invocation, operands
    /// gathered in place by the tile loader (implicit GEMM), column gradients finished by
    /// col2im, split k when the output has few tiles. Needs only workgroup memory
    /// (10 KiB) and 256 invocations: runs everywhere.
    Workgroup,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Tiled,
        Family::Subgroup,
        Family::SubgroupWide,
        Family::Workgroup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Tiled => "tiled",
            Family::Subgroup => "subgroup",
            Family::SubgroupWide => "subgroup-wide",
            Family::Workgroup => "workgroup",
        }
    }

    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }

    /// `CNNGPU_KERNELS=tiled|subgroup|subgroup-wide|workgroup` when set (and runnable),
    /// else [`Family::for_device`].
    pub fn default_for(ctx: &GpuContext, has_subgroup_tile: bool) -> Family {
        match Family::from_env() {
            Some(f) if !f.needs_subgroups() || has_subgroup_tile => f,
            _ => Family::for_device(ctx.info.device_type, has_subgroup_tile),
        }
    }

    /// Whether the family runs on the subgroup GEMM core (subgroups of one fixed size).
    pub fn needs_subgroups(self) -> bool {
        matches!(self, Family::Subgroup | Family::SubgroupWide)
    }

    /// The subgroup GEMM tile of this family for an M-row GEMM: [`SgTile::wide`] in the
    /// wide family, else [`SgTile::for_gemm`].
    pub fn sg_tile(self, sg: u32, m: usize) -> SgTile {
        if self == Family::SubgroupWide {
            SgTile::wide(sg, m)
        } else {
            SgTile::for_gemm(sg, m)
        }
    }

    /// The family `CNNGPU_KERNELS` names, if it names one.
    pub fn from_env() -> Option<Family> {
        std::env::var("CNNGPU_KERNELS")
            .ok()
            .as_deref()
            .and_then(Family::parse)
    }

    /// The default family of a device type: on CPU drivers (`DeviceType::Cpu`: lavapipe,
    /// llvmpipe, WARP) the wide subgroup family where subgroups run — the subgroup family
    /// below [`WIDE_MIN_FLOPS`], where [`Gemm::runs`] falls back to it; tuning picks the wide
    /// tile for most of AlexNet's GEMM passes on Mesa 22.3 and 25 alike, so untuned runs
    /// (`--no-tune`, `bench`'s training items) run about as fast as tuned ones — else the
    /// tiled one (barriers and workgroup memory cost CPU drivers more than they save); on
    /// every other device type (discrete, integrated, virtual GPUs, and unknown ones) the
    /// workgroup family.
    pub fn for_device(device_type: wgpu::DeviceType, has_subgroup_tile: bool) -> Family {
        match device_type {
            wgpu::DeviceType::Cpu if has_subgroup_tile => Family::SubgroupWide,
            wgpu::DeviceType::Cpu => Family::Tiled,
            _ => Family::Workgroup,
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
    /// What a family choice is keyed by: the op without its fused activation. Tuning times
    /// the graph's layers, whose activations the model fuses into them when it runs them: keyed
    /// with the activation, no choice for a fused layer was ever found, and its passes ran the
    /// adapter's default family (LeNet-5's conv2 forward at batch 256 in the wide subgroup
    /// family, 20 ms, where tuning had timed the direct kernel at 3.1).
    pub fn choice_key(self) -> Gemm {
        use crate::ops::Act;
        match self {
            Gemm::Conv2d(p) => Gemm::Conv2d(crate::ops::Conv2dParams {
                act: Act::None,
                ..p
            }),
            Gemm::Linear(p) => Gemm::Linear(crate::ops::LinearParams {
                act: Act::None,
                ..p
            }),
        }
    }

    /// The GEMM-shaped op `op` is, if it is one (conv2d or linear).
    pub fn of(op: &crate::ops::Op) -> Option<Gemm> {
        match op {
            crate::ops::Op::Conv2d(p) => Some(Gemm::Conv2d(*p)),
            crate::ops::Op::Linear(p) => Some(Gemm::Linear(*p)),
            _ => None,
        }
    }

    /// The families that run this op's passes: the subgroup families only for shapes they
    /// support (linear rows of whole vec4s; others fall back to the tiled kernels), the wide
    /// one only from [`WIDE_MIN_FLOPS`] a pass (its pipelines take seconds to compile on a
    /// CPU driver, which small GEMMs would not win back); the tiled and workgroup families
    /// run every shape.
    pub fn families(&self, available: &[Family]) -> Vec<Family> {
        available
            .iter()
            .copied()
            .filter(|&f| self.runs(f) == f)
            .collect()
    }

    /// The family that runs this op's passes when `family` is chosen or forced: the
    /// subgroup families fall back to the tiled one for shapes they do not support, the
    /// wide one to the subgroup one below [`WIDE_MIN_FLOPS`].
    pub fn runs(&self, family: Family) -> Family {
        let (sg_ok, flops) = match self {
            Gemm::Conv2d(p) => (true, p.flops(crate::ops::Pass::Forward)),
            Gemm::Linear(p) => (linear_sg::supports(p), p.flops(crate::ops::Pass::Forward)),
        };
        match family {
            Family::Subgroup | Family::SubgroupWide if !sg_ok => Family::Tiled,
            Family::SubgroupWide if flops < WIDE_MIN_FLOPS => Family::Subgroup,
            f => f,
        }
    }
}

/// The forward FLOPs from which a GEMM-shaped op is offered the wide subgroup family: 64
/// MFLOP (AlexNet's convolutions and fc6 at batch 1 and up, fc7 from batch 2, ResNet-18's
/// larger convolutions at batch 8; none of LeNet-5's layers at batch 64).
pub const WIDE_MIN_FLOPS: u64 = 64_000_000;

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

/// Invocation rows of a workgroup-family GEMM workgroup of 256 (its `WG_TY` pipeline
/// constant, see shaders/common/gemm_wg.wgsl): tiles of 32x128 when M is at most 32 (few
/// channels, small batches), 128x32 when N is at most 32 and M is larger, else 64x64.
pub fn wg_threads_m(m: usize, n: usize) -> u32 {
    let [few_rows, square, few_columns] = WG_THREADS_M;
    if m <= 32 {
        few_rows
    } else if n <= 32 {
        few_columns
    } else {
        square
    }
}

/// Every value [`wg_threads_m`] returns (the workgroup family's tile shapes).
pub const WG_THREADS_M: [u32; 3] = [8, 16, 32];

/// Workgroups of the workgroup-family GEMM core: `g` problems, `splits` k slices each, tiles
/// of (4 * ty) x (4 * 256 / ty) with ty = [`wg_threads_m`].
pub fn wg_workgroups(m: usize, n: usize, g: usize, splits: usize) -> u64 {
    let ty = wg_threads_m(m, n) as usize;
    (g * splits * m.div_ceil(4 * ty) * n.div_ceil(4 * (256 / ty))) as u64
}

/// Workgroups of a one-output-per-invocation kernel (256 invocations each).
pub(crate) fn flat_workgroups(len: usize) -> u64 {
    len.div_ceil(256) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::DeviceType;

    #[test]
    fn gpus_default_to_the_workgroup_family_and_cpu_drivers_keep_theirs() {
        for t in [
            DeviceType::DiscreteGpu,
            DeviceType::IntegratedGpu,
            DeviceType::VirtualGpu,
            DeviceType::Other,
        ] {
            for sg in [false, true] {
                assert_eq!(Family::for_device(t, sg), Family::Workgroup, "{t:?}");
            }
        }
        assert_eq!(
            Family::for_device(DeviceType::Cpu, true),
            Family::SubgroupWide
        );
        assert_eq!(Family::for_device(DeviceType::Cpu, false), Family::Tiled);
        assert_eq!(Family::parse("workgroup"), Some(Family::Workgroup));
        assert!(Family::ALL
            .iter()
            .all(|&f| Family::parse(f.name()) == Some(f)));
    }

    #[test]
    fn the_wide_family_is_offered_for_large_gemms_and_falls_back_below() {
        use crate::parity::{alexnet_layers, lenet5_layers};
        let all = Family::ALL;
        let gemms = |cases: Vec<crate::parity::Case>| -> Vec<Gemm> {
            cases.iter().filter_map(|c| Gemm::of(&c.op)).collect()
        };
        // None of LeNet-5's GEMMs at batch 64: the wide family runs as the subgroup one.
        let lenet = gemms(lenet5_layers(64));
        assert_eq!(lenet.len(), 5);
        for g in &lenet {
            assert!(!g.families(&all).contains(&Family::SubgroupWide), "{g:?}");
            // (fc2, 10 outputs, is no subgroup shape at all: both run the tiled kernels.)
            let subgroup = g.runs(Family::Subgroup);
            assert_eq!(g.runs(Family::SubgroupWide), subgroup, "{g:?}");
        }
        // Every AlexNet convolution at batch 1, and fc6.
        let alexnet = gemms(alexnet_layers(1));
        let wide: Vec<&Gemm> = alexnet
            .iter()
            .filter(|g| g.families(&all).contains(&Family::SubgroupWide))
            .collect();
        assert!(alexnet
            .iter()
            .filter(|g| matches!(g, Gemm::Conv2d(_)))
            .all(|g| g.runs(Family::SubgroupWide) == Family::SubgroupWide));
        assert!(wide.iter().any(|g| matches!(g, Gemm::Linear(_))), "fc6");
        // Other families run as chosen.
        for g in alexnet.iter().chain(&lenet) {
            assert_eq!(g.runs(Family::Workgroup), Family::Workgroup);
            assert_eq!(g.runs(Family::Tiled), Family::Tiled);
        }
    }

    #[test]
    fn workgroup_tiles_cover_every_output() {
        // 32x128 tiles for few rows, 128x32 for few columns, 64x64 otherwise.
        assert_eq!(wg_threads_m(6, 50_176), 8);
        assert_eq!(wg_threads_m(400, 25), 32);
        assert_eq!(wg_threads_m(120, 400), 16);
        assert_eq!(wg_workgroups(6, 50_176, 1, 1), 392);
        assert_eq!(wg_workgroups(400, 25, 1, 1), 4);
        assert_eq!(wg_workgroups(128, 128, 2, 3), 2 * 3 * 4);
        assert_eq!(wg_workgroups(65, 65, 1, 1), 4);
    }
}

/// Mirror of `LossSumUniform` in shaders/loss_accumulate.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossSumUniform {
    pub len: u32,
    pub chunk: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}
