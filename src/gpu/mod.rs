//! The wgpu side: adapter and device ([`context`]), the WGSL table ([`shaders`]), tensors and
//! binding-size chunking ([`buffers`]), pipelines and the per-step command recorder
//! ([`recorder`]), the launchers that encode each kernel ([`kernels`]) and [`GpuBackend`].

pub mod backend;
pub(crate) mod backend_check;
mod backend_ops;
pub mod buffers;
pub mod context;
pub mod gemm_sg;
pub mod kernels;
pub(crate) mod mirrors;
pub mod pinning;
pub mod recorder;
pub mod shaders;
pub mod timing;
mod weight_textures;

pub use backend::GpuBackend;
pub use buffers::GpuTensor;
pub use context::{F16Path, GpuContext};
pub use gemm_sg::SgTile;
pub use kernels::{Family, Gemm};
pub use shaders::Storage;
pub use timing::KernelTiming;
