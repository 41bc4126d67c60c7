//! The binary as a user runs it.

mod common;

use common::cnngpu;

#[test]
fn adapters_lists_every_adapter_with_its_capabilities() {
    let (code, out, err) = cnngpu(&["adapters"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cpu  the reference backend"), "{out}");
    if common::gpu().is_none() {
        return;
    }
    for field in [
        "backend ",
        "f16 storage: ",
        "timestamps: ",
        "subgroup sizes: ",
        "max storage binding: ",
        "max buffer: ",
    ] {
        assert!(out.contains(field), "missing '{field}' in:\n{out}");
    }
    // On CI (lavapipe) the Vulkan adapter is there with native f16.
    if out.contains("llvmpipe") {
        // The block of lines that describes vulkan:0.
        let start = out.find("vulkan:0").expect("a Vulkan adapter");
        let block: Vec<&str> = out[start..]
            .lines()
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with(' '))
            .map(|(_, l)| l)
            .collect();
        assert!(
            block.iter().any(|l| l.contains("f16 storage: native")),
            "{out}"
        );
    }
}

#[test]
fn a_bad_adapter_is_a_clear_error_listing_what_exists() {
    let (code, out, err) = cnngpu(&["check", "--adapter", "no-such-gpu-xyz"]);
    assert_eq!(code, 3, "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains("no adapter matches 'no-such-gpu-xyz'"),
        "{err}"
    );
    assert!(
        err.contains("Available:") && err.contains("cpu (the reference backend)"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn check_prints_the_matrix_and_passes_on_this_adapter() {
    if common::gpu().is_none() {
        return;
    }
    let (code, out, err) = cnngpu(&["check", "--quick"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    for kernel in [
        "conv2d_backward_weight",
        "lrn_forward",
        "sgd_update",
        "topk_accumulate",
    ] {
        // One row per kernel, or one per kernel family (`conv2d_forward[subgroup]`).
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with(kernel)).collect();
        assert!(!rows.is_empty(), "no row {kernel}:\n{out}");
        for row in rows {
            assert!(row.contains("ok ") && !row.contains("FAIL"), "{row}");
        }
    }
    assert!(out.contains("f16-packed"), "{out}");
    let rows = out.lines().filter(|l| l.contains(" ok ")).count();
    assert!(
        out.contains(&format!("all {rows} kernels match the CPU reference")),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = cnngpu(&["frobnicate"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cnngpu(&["check", "--adapter", "cpu"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("name a GPU adapter"), "{err}");
}
