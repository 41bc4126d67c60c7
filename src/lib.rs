//! cnngpu: the classic convolutional networks trained on any GPU through wgpu, with
//! hand-written WGSL kernels and a CPU reference for every op.
//!
//! Layers (imports point down only): [`error`] → [`tensor`] → [`ops`] (parameters and the
//! [`ops::Backend`] trait) → [`cpu`] (the reference) and [`gpu`] (wgpu kernels) → [`parity`]
//! (the shader-vs-CPU harness shared by `cnngpu check` and the tests).

pub mod bench;
pub mod cpu;
pub mod data;
pub mod error;
pub mod gpu;
pub mod nn;
pub mod ops;
pub mod parity;
pub mod plot;
pub mod profile;
pub mod tensor;
pub mod train;
pub mod tune;
pub mod viz;

pub use error::{Error, Result};
