//! The binary as a user runs it.

mod common;

use cnngpu::gpu::context;
use common::cnngpu;

#[test]
fn adapters_lists_every_adapter_with_its_capabilities() {
    let (code, out, err) = cnngpu(&["adapters"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cpu  the reference backend"), "{out}");
    if common::gpu().is_none() {
        return;
    }
    // Whatever adapters this machine has (Vulkan, or only GL as on a machine without a Vulkan
    // driver), each one the library sees is printed as a block with its id, its name and
    // every capability, and the values are the adapter's.
    let seen = context::summaries(&context::adapters());
    assert!(!seen.is_empty(), "a GPU opened, so wgpu sees an adapter");
    for a in &seen {
        let head = format!("{}  {}", a.id, a.name);
        let start = out
            .find(&head)
            .unwrap_or_else(|| panic!("no block for '{head}' in:\n{out}"));
        let block: Vec<&str> = out[start..]
            .lines()
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with(' '))
            .map(|(_, l)| l)
            .collect();
        let text = block.join("\n");
        for field in [
            format!("backend {}, type {}", a.backend, a.device_type),
            format!("f16 storage: {}", a.f16.name()),
            format!("timestamps: {}", if a.timestamps { "yes" } else { "no" }),
            format!(
                "subgroup sizes: {}..{}",
                a.subgroup_sizes.0, a.subgroup_sizes.1
            ),
            format!("max storage binding: {} MiB", a.max_storage_binding >> 20),
            format!("max buffer: {} MiB", a.max_buffer >> 20),
        ] {
            assert!(
                text.contains(&field),
                "'{field}' missing for {head}:\n{text}"
            );
        }
        // Mesa's lavapipe (Vulkan on the CPU) has SHADER_F16: its f16 path is native.
        if a.backend == "vulkan" && a.name.contains("llvmpipe") {
            assert!(text.contains("f16 storage: native"), "{text}");
        }
    }
    let ids = out.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(
        ids,
        seen.len() + 1,
        "one block per adapter, and cpu:\n{out}"
    );
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
            // The number of cases that ran this kernel (not every case of the table).
            let cases: usize = row.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert!((1..100).contains(&cases), "{row}");
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

#[test]
fn profile_and_bench_on_the_cpu_backend_say_why_not() {
    for cmd in ["profile", "bench"] {
        let (code, _, err) = cnngpu(&[cmd, "--adapter", "cpu"]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            err.contains("'cpu' is the reference backend") && !err.contains("no adapter matches"),
            "{cmd}: {err}"
        );
    }
}

/// On a CPU adapter (Linux), opening it pins the driver's pool of compute workers one per CPU:
/// each pinned thread may run on its CPU only, a pool's threads are on different CPUs, and
/// `CNNGPU_PIN_THREADS=0` leaves them alone.
#[test]
fn cpu_driver_workers_are_pinned_one_per_cpu_unless_turned_off() {
    use cnngpu::gpu::pinning;
    let Some(gpu) = common::gpu() else { return };
    let cpu_adapter = gpu.ctx.info.device_type == wgpu::DeviceType::Cpu;
    let cpus = pinning::affinity(0).unwrap_or_default();
    if !cpu_adapter || !cfg!(target_os = "linux") || cpus.len() < 2 {
        assert!(gpu.ctx.pinned.threads.is_empty(), "{:?}", gpu.ctx.pinned);
        eprintln!("SKIPPED: pinning applies to CPU adapters on Linux with 2 or more CPUs");
        return;
    }
    let pinned = &gpu.ctx.pinned.threads;
    assert!(pinned.len() >= 2, "{}", gpu.ctx.pinned.describe());
    for &(tid, cpu) in pinned {
        assert_eq!(pinning::affinity(tid), Some(vec![cpu]), "thread {tid}");
    }
    for pair in pinned.windows(2) {
        if pair[1].0 == pair[0].0 + 1 {
            assert_ne!(pair[0].1, pair[1].1, "one pool, one CPU: {pinned:?}");
        }
    }
    let run = |pin: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
            .args(["check", "--quick", "--kernel", "sgd_update"])
            .env("CNNGPU_PIN_THREADS", pin)
            .output()
            .expect("the binary runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run("1").contains("driver workers pinned one per CPU"));
    assert!(run("0").contains("driver threads not pinned: CNNGPU_PIN_THREADS=0"));
}

/// Output piped into a reader that stops early ends the process without a panic (`adapters`
/// lists the adapters, which takes a while, before it prints: the pipe is closed by then).
#[test]
fn a_closed_output_pipe_is_not_a_panic() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .arg("adapters")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("it ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}
