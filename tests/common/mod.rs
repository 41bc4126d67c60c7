//! Shared by the GPU test files: one device per test binary, and the skip rule — GPU tests
//! skip only when no adapter exists (and say so); with CNNGPU_REQUIRE_GPU=1 that fails instead.
#![allow(dead_code)]

use cnngpu::gpu::GpuBackend;
use std::sync::{Mutex, MutexGuard, OnceLock};

static GPU: OnceLock<Option<Mutex<GpuBackend>>> = OnceLock::new();

/// The test binary's GPU, locked for the caller (tests switch the f16 path, so they take turns).
pub fn gpu() -> Option<MutexGuard<'static, GpuBackend>> {
    let slot = GPU.get_or_init(|| {
        let spec = std::env::var("CNNGPU_ADAPTER").unwrap_or_default();
        match GpuBackend::open(&spec) {
            Ok(b) => Some(Mutex::new(b)),
            Err(e) => {
                if std::env::var("CNNGPU_REQUIRE_GPU").as_deref() == Ok("1") {
                    panic!("CNNGPU_REQUIRE_GPU=1 but no GPU adapter could be opened: {e}");
                }
                eprintln!(
                    "SKIPPED: no GPU adapter ({e}); set CNNGPU_REQUIRE_GPU=1 to make this fail"
                );
                None
            }
        }
    });
    slot.as_ref()
        .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
}

/// Runs the parity table for every kernel whose name starts with `prefix`, failing with a
/// report of every mismatching case.
pub fn assert_parity(prefix: &str) {
    let Some(gpu) = gpu() else { return };
    let cases = cnngpu::parity::all_cases();
    let outcomes = cnngpu::parity::run(&gpu, &cases, prefix).expect("kernels ran");
    assert!(!outcomes.is_empty(), "no case covers {prefix}");
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.report())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} outcomes failed:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
    eprintln!("{prefix}: {} outcomes passed", outcomes.len());
}

/// Runs the `cnngpu` binary: (exit code, stdout, stderr).
pub fn cnngpu(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
