//! Records the git commit the binary was built from (for benchmark reports).

use std::path::Path;
use std::process::Command;

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
