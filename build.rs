//! Records the git commit the binary was built from (for benchmark reports) and a hash of
//! the GPU code (shaders and their launchers), which keys the autotuning cache: a tuned
//! choice is only reused by a build whose kernels are the ones that were timed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file under `dir`, sorted.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// FNV-1a over the paths and contents of the GPU code.
fn kernels_hash() -> String {
    let mut paths = Vec::new();
    for dir in ["shaders", "src/gpu"] {
        files(Path::new(dir), &mut paths);
    }
    paths.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in paths {
        let bytes = std::fs::read(&p).unwrap_or_default();
        for b in p.to_string_lossy().bytes().chain(bytes) {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .is_some_and(|o| !o.stdout.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=CNNGPU_GIT_COMMIT={commit}{suffix}");
    println!("cargo:rustc-env=CNNGPU_KERNELS_HASH={}", kernels_hash());
    println!("cargo:rerun-if-changed=build.rs");
    // The sources too, so that the "-dirty" mark follows edits that are not yet staged.
    for f in [
        ".git/HEAD",
        ".git/logs/HEAD",
        ".git/index",
        "src",
        "shaders",
        "Cargo.toml",
    ] {
        if Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
}
