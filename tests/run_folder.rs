//! The run folder survives any crash: a fault injected at every named point of the save path
//! (each file written, each rename, the manifest, the views, the clean-up) as an I/O error,
//! a full disk or an abort, and real `kill -9` at random moments, each leave a folder that
//! `--resume` continues to exactly the losses of an unbroken run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cnngpu-runfolder-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The first `train` and `test` images of the bundled sample as raw IDX files in a folder of
/// its own (tests run in parallel): small, so that the many runs below stay quick.
fn small_dataset(name: &str, train: usize, test: usize) -> PathBuf {
    let dir = tmp(&format!("data-{name}"));
    let src = cnngpu::data::bundled_sample_dir();
    for (stem, n) in [
        ("train-images-idx3-ubyte", train),
        ("train-labels-idx1-ubyte", train),
        ("t10k-images-idx3-ubyte", test),
        ("t10k-labels-idx1-ubyte", test),
    ] {
        let idx = cnngpu::data::idx::read(&src.join(format!("{stem}.gz"))).unwrap();
        let mut dims = idx.dims.clone();
        let per: usize = dims[1..].iter().product();
        dims[0] = n;
        std::fs::write(
            dir.join(stem),
            cnngpu::data::idx::encode(&dims, &idx.data[..n * per]),
        )
        .unwrap();
    }
    dir
}

/// Runs the binary: (exit code, -1 when killed by a signal; stdout; stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const KEYS: [&str; 5] = [
    "train_loss",
    "train_top1",
    "test_loss",
    "test_top1",
    "test_top5",
];

fn losses(dir: &Path) -> Vec<Vec<serde_json::Value>> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: bad line {l:?}: {e}", dir.display()));
            KEYS.iter().map(|k| v[*k].clone()).collect()
        })
        .collect()
}

/// The folder holds one consistent committed set (or nothing committed yet) and no
/// generation files outside the set — except right after a fault (`after_fault`): files of
/// the uncommitted next generation, or of the previous one not yet removed, which nothing
/// names (the next run removes them).
fn assert_consistent(dir: &Path, what: &str, after_fault: bool) -> bool {
    let committed = match cnngpu::train::load_resume(dir) {
        Ok(r) => {
            let m = r.manifest.expect("a manifest");
            let named = [Some(&m.last), Some(&m.optim), m.best.as_ref()];
            for e in std::fs::read_dir(dir).unwrap() {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let generation = name.starts_with("last-") || name.starts_with("best-");
                assert!(
                    !generation || after_fault || named.iter().flatten().any(|e| e.name == name),
                    "{what}: {name} is not in the manifest (generation {})",
                    m.generation
                );
            }
            true
        }
        Err(e) => {
            assert!(
                !dir.join("run.json").exists(),
                "{what}: the manifest exists but does not verify: {e}"
            );
            false
        }
    };
    committed
}

/// Finishes the run in `dir` (resuming it, or starting it again when nothing was committed)
/// and checks the folder and its losses.
fn finish_and_compare(
    dir: &Path,
    args: &[&str],
    want: &[Vec<serde_json::Value>],
    what: &str,
    after_fault: bool,
) {
    let committed = assert_consistent(dir, what, after_fault);
    let (code, out, err) = if committed {
        run(&["train", "--resume", s(dir)], &[])
    } else {
        run(&[args, &["--out", s(dir)]].concat(), &[])
    };
    assert_eq!(code, 0, "{what}: {out}\n{err}");
    assert_consistent(dir, what, false);
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".tmp-")),
        "{what}: temporary files left: {names:?}"
    );
    assert_eq!(losses(dir), want, "{what}: the losses of an unbroken run");
}

#[test]
fn a_fault_at_every_save_point_leaves_a_folder_that_resumes_exactly() {
    if common::gpu().is_none() {
        return;
    }
    let data = small_dataset("faults", 256, 128);
    let args = [
        "train",
        "--data-dir",
        s(&data),
        "--epochs",
        "2",
        "--max-steps",
        "3",
        "--log-every",
        "1",
    ];
    let whole = tmp("whole");
    let (code, out, err) = run(&[&args[..], &["--out", s(&whole)]].concat(), &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let want = losses(&whole);
    assert_eq!(want.len(), 2);
    // Each point is reached once per commit (best: when it improves, always in epoch 1);
    // ":2" is the commit at the end of epoch 2, with epoch 1's set there to fall back on.
    let points = [
        ("write:last", 2),
        ("rename:last", 2),
        ("write:optim", 2),
        ("rename:optim", 2),
        ("write:best", 1),
        ("rename:best", 1),
        ("write:manifest", 2),
        ("rename:manifest", 2),
        ("write:metrics", 2),
        ("rename:metrics", 2),
        ("write:state", 2),
        ("publish:last.safetensors", 2),
        ("publish:last.optim.safetensors", 2),
        ("publish:best.safetensors", 1),
        ("tidy", 1),
    ];
    let mut trials = 0;
    for (point, nth) in points {
        for action in ["eio", "abort", "enospc"] {
            // A full disk is the same error path as EIO: two points are enough for it.
            if action == "enospc" && !matches!(point, "write:last" | "write:metrics") {
                continue;
            }
            let fault = format!("{point}:{action}:{nth}");
            let dir = tmp(&fault.replace(':', "-"));
            let (code, out, err) = run(
                &[&args[..], &["--out", s(&dir)]].concat(),
                &[("CNNGPU_FAULT", &fault)],
            );
            match action {
                "abort" => assert_eq!(code, -1, "{fault}: killed\n{out}\n{err}"),
                _ => {
                    assert_eq!(code, 5, "{fault}: exit 5\n{out}\n{err}");
                    let os = if action == "eio" {
                        "Input/output error"
                    } else {
                        "No space left on device"
                    };
                    assert!(err.contains(os), "{fault}: {err}");
                }
            }
            finish_and_compare(&dir, &args, &want, &fault, true);
            trials += 1;
        }
    }
    eprintln!("{trials} injected faults, each resumed to the unbroken run's losses");
}

#[test]
fn kill_9_at_random_moments_leaves_a_folder_that_resumes_exactly() {
    if common::gpu().is_none() {
        return;
    }
    let data = small_dataset("kill", 256, 128);
    let args = [
        "train",
        "--data-dir",
        s(&data),
        "--epochs",
        "3",
        "--max-steps",
        "3",
        "--log-every",
        "1",
    ];
    let whole = tmp("kwhole");
    let started = std::time::Instant::now();
    let (code, out, err) = run(&[&args[..], &["--out", s(&whole)]].concat(), &[]);
    let span = started.elapsed().as_millis() as u64;
    assert_eq!(code, 0, "{out}\n{err}");
    let want = losses(&whole);
    // Kill times spread over the whole run (seeded, so a failure can be repeated).
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let trials = 8;
    for t in 0..trials {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let at = seed % span.max(1);
        let dir = tmp(&format!("kill{t}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_cnngpu"))
            .args([&args[..], &["--out", s(&dir)]].concat())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(at));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let what = format!("kill -9 after {at} ms of {span} ({status})");
        finish_and_compare(&dir, &args, &want, &what, true);
    }
    eprintln!("{trials} kill -9 trials, each resumed to the unbroken run's losses");
}

/// SIGTERM (`kill`, a job scheduler's stop) is handled as Ctrl-C: the run writes its resume
/// checkpoint and exits 130, and `--resume` continues to the unbroken run's losses (before,
/// it died on the spot and lost the epoch in progress).
#[test]
fn sigterm_writes_the_resume_checkpoint_like_ctrl_c() {
    if common::gpu().is_none() {
        return;
    }
    use std::io::BufRead;
    let data = small_dataset("term", 256, 128);
    let args = [
        "train",
        "--data-dir",
        s(&data),
        "--epochs",
        "3",
        "--max-steps",
        "40",
        "--batch-size",
        "4",
        "--log-every",
        "1",
    ];
    let whole = tmp("twhole");
    let (code, out, err) = run(&[&args[..], &["--out", s(&whole)]].concat(), &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let want = losses(&whole);
    let dir = tmp("term");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .args([&args[..], &["--out", s(&dir)]].concat())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The handler is installed before the memory plan is printed.
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().starts_with("planned device memory") {
            break;
        }
    }
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("interrupted") && l.contains("checkpoint written")),
        "{rest:?}"
    );
    finish_and_compare(&dir, &args, &want, "SIGTERM", false);
}

#[test]
fn resume_verifies_the_set_and_repairs_what_is_outside_it() {
    if common::gpu().is_none() {
        return;
    }
    let data = small_dataset("verify", 128, 64);
    let dir = tmp("verify");
    let args = [
        "train",
        "--data-dir",
        s(&data),
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--out",
        s(&dir),
    ];
    let (code, out, err) = run(&args, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let m = cnngpu::train::commit::read(&dir)
        .unwrap()
        .expect("a manifest");
    // A half-written metrics line, a crashed writer's temporary file, an orphan generation.
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    std::fs::write(
        dir.join("metrics.jsonl"),
        format!("{metrics}{{\"epoch\":2,\"lr\":0.0"),
    )
    .unwrap();
    std::fs::write(dir.join(".last.safetensors.tmp-99999"), b"half").unwrap();
    std::fs::write(dir.join("last-000009.safetensors"), b"orphan").unwrap();
    let (code, out, err) = run(&["train", "--resume", s(&dir), "--epochs", "2"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("removed 2 file(s) of an interrupted run")
            && out.contains(".last.safetensors.tmp-99999")
            && out.contains("last-000009.safetensors"),
        "{out}"
    );
    assert_eq!(
        losses(&dir).len(),
        2,
        "the half line is gone, epoch 2 added"
    );
    // A committed file changed behind the manifest's back: --resume says which and how.
    let m2 = cnngpu::train::commit::read(&dir).unwrap().unwrap();
    assert!(m2.generation > m.generation);
    let victim = dir.join(&m2.optim.name);
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&victim, &bytes).unwrap();
    let (code, out, err) = run(&["train", "--resume", s(&dir), "--epochs", "3"], &[]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("run.json")
            && err.contains(&m2.optim.name)
            && err.contains("MD5")
            && err.contains("changed after its last commit"),
        "{err}"
    );
}

/// Destroys the device (as a lost GPU) at step `step` of (0-based) epoch `epoch`.
struct LoseDevice {
    device: wgpu::Device,
    epoch: usize,
    at: (usize, usize),
}

impl cnngpu::train::Observer for LoseDevice {
    fn epoch_started(&mut self, epoch: usize, _steps: usize) {
        self.epoch = epoch;
    }
    fn step(&mut self, done: usize, _running: &cnngpu::nn::MetricsValue) {
        if (self.epoch, done) == self.at {
            self.device.destroy();
        }
    }
}

/// The device is destroyed in epoch 2's first step: the step fails with a GPU error that
/// names the loss (per-dispatch uniforms are written through the queue, so nothing panics
/// inside wgpu), and the last commit resumes to the losses of an unbroken run.
#[test]
fn a_device_lost_mid_training_is_a_gpu_error_and_the_last_commit_resumes() {
    use cnngpu::train::{self, Schedule, TrainConfig, TrainState, Trainer};
    if common::gpu().is_none() {
        return;
    }
    let data = small_dataset("lost", 256, 128);
    let args = [
        "train",
        "--data-dir",
        s(&data),
        "--epochs",
        "2",
        "--max-steps",
        "3",
        "--log-every",
        "1",
    ];
    let whole = tmp("lostwhole");
    let (code, out, err) = run(&[&args[..], &["--out", s(&whole)]].concat(), &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let want = losses(&whole);
    // The same run through the library on a device of its own, lost in epoch 2's first step.
    let b = cnngpu::gpu::GpuBackend::open(&std::env::var("CNNGPU_ADAPTER").unwrap_or_default())
        .unwrap();
    b.prepare_all().unwrap();
    let config = TrainConfig {
        model: "lenet5".into(),
        dataset: "fashion-mnist".into(),
        data_dir: data.clone(),
        groups: 1,
        image_size: None,
        epochs: 2,
        batch_size: 64,
        lr: 0.01,
        momentum: 0.9,
        weight_decay: 0.0,
        nesterov: false,
        no_bn_decay: false,
        no_augment: false,
        no_aux: false,
        schedule: Schedule::Constant,
        warmup_epochs: 0,
        precision: "f32".into(),
        seed: 0,
        patience: None,
        max_steps: Some(3),
        log_every: 1,
        init: None,
        train_images: None,
        test_images: None,
        base_channels: None,
        in_channels: None,
        classes: None,
    };
    let kind = cnngpu::data::DatasetKind::FashionMnist;
    let splits = cnngpu::data::load(kind, &data, 256, None).unwrap();
    let (graph, init) = cnngpu::nn::models::by_name("lenet5", 10, 1, None).unwrap();
    let prep = train::preprocess_for("lenet5", kind, graph.input, &splits.train).unwrap();
    let values = cnngpu::nn::initial_parameters(&graph, init, 0);
    let model = cnngpu::nn::Model::new(&b, graph, cnngpu::tensor::Precision::F32, &values).unwrap();
    let dir = tmp("lost");
    let lock = train::run_dir::prepare(&dir).unwrap();
    let mut trainer = Trainer {
        b: &b,
        model,
        state: TrainState {
            config,
            epoch: 0,
            step: 0,
            global_step: 0,
            best_test_top1: -1.0,
            epochs_since_best: 0,
            scale_state: None,
            partial: Default::default(),
            pending: None,
        },
        train: splits.train,
        test: splits.test,
        prep,
        out: Some(dir.clone()),
        records: Vec::new(),
        interrupt: Default::default(),
        stop_after_steps: None,
        history: Vec::new(),
        best: None,
        generation: 0,
    };
    trainer.plan(500).unwrap();
    let mut lose = LoseDevice {
        device: b.ctx.device.clone(),
        epoch: 0,
        at: (1, 1),
    };
    let e = trainer
        .run(&mut lose, 500)
        .expect_err("training on a lost device fails");
    assert!(
        matches!(e, cnngpu::Error::Gpu { .. }) && e.to_string().contains("lost"),
        "a GPU error (exit 3) naming the loss: {e}"
    );
    drop(trainer);
    drop(lock);
    // Epoch 1's commit is intact, and resuming (on a working device) ends as an unbroken run.
    finish_and_compare(&dir, &args, &want, "device lost in epoch 2", true);
}

#[test]
fn a_googlenet_run_from_before_the_auxiliary_heads_resumes_without_them() {
    if common::gpu().is_none() {
        return;
    }
    let data = small_dataset("googlenet", 8, 4);
    let dir = tmp("googlenet");
    let args = [
        "train",
        "--model",
        "googlenet",
        "--image-size",
        "32",
        "--data-dir",
        s(&data),
        "--batch-size",
        "4",
        "--epochs",
        "1",
        "--no-tune",
        "--no-aux",
        "--out",
        s(&dir),
    ];
    let (code, out, err) = run(&args, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    // What such a run wrote: a state without `no_aux`, weights without aux1/aux2.
    let manifest = dir.join("run.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let config = m["state"]["config"].as_object_mut().unwrap();
    assert_eq!(config.remove("no_aux"), Some(serde_json::Value::Bool(true)));
    std::fs::write(&manifest, serde_json::to_string_pretty(&m).unwrap()).unwrap();

    let d = s(&dir);
    let (code, out, err) = run(&["train", "--resume", d, "--epochs", "2", "--no-tune"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("epoch 2/2:"), "{out}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(m["state"]["config"]["no_aux"], true, "{m}");
}
