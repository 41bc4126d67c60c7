//! `cnngpu train` and `cnngpu eval` through the binary: the run folder, resume, and every bad
//! input with its exit code and message.

mod common;

use common::cnngpu;

use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cnngpu-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn records(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn train_writes_the_run_folder_and_eval_agrees_with_it() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("run");
    let (code, out, err) = cnngpu(&[
        "train",
        "--epochs",
        "1",
        "--max-steps",
        "6",
        "--out",
        s(&dir),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("planned device memory:"), "{out}");
    assert!(
        out.contains("epoch 1/1:") && out.contains("final test accuracy"),
        "{out}"
    );
    for f in [
        "metrics.jsonl",
        "best.safetensors",
        "last.safetensors",
        "last.optim.safetensors",
        "last.state.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let r = &records(&dir)[0];
    assert_eq!(r["epoch"], 1);
    let csv = dir.join("predictions.csv");
    let (code, out, err) = cnngpu(&[
        "eval",
        "--checkpoint",
        s(&dir.join("best.safetensors")),
        "--json",
        "--predictions",
        s(&csv),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["samples"], 1000);
    assert_eq!(
        v["top1"].as_f64().unwrap(),
        r["test_top1"].as_f64().unwrap(),
        "eval repeats the trainer's test pass"
    );
    assert!((v["loss"].as_f64().unwrap() - r["test_loss"].as_f64().unwrap()).abs() < 1e-6);
    assert!(v["top5"].as_f64().unwrap() >= v["top1"].as_f64().unwrap());
    let confusion: Vec<Vec<u64>> = serde_json::from_value(v["confusion"].clone()).unwrap();
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 1000);
    let diagonal: u64 = (0..10).map(|i| confusion[i][i]).sum();
    assert_eq!(diagonal as f64 / 1000.0, v["top1"].as_f64().unwrap());
    let lines: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 1001);
    assert_eq!(lines[0], "index,label,predicted,top5,top5_probabilities");
    // --images keeps the first N of the split; --train-split evaluates the training images.
    let labels = |split: &[&str]| -> Vec<String> {
        let (part, best) = (dir.join("part.csv"), dir.join("best.safetensors"));
        let mut a = vec!["eval", "--checkpoint", s(&best)];
        a.extend(["--json", "--images", "100", "--predictions", s(&part)]);
        a.extend(split);
        let (code, out, err) = cnngpu(&a);
        assert_eq!(code, 0, "{out}\n{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["samples"], 100);
        let csv = std::fs::read_to_string(&part).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_string())
            .collect()
    };
    let first: Vec<String> = lines[1..101]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(labels(&[]), first);
    assert_ne!(labels(&["--train-split"]), first);
    let p: f64 = lines[1]
        .split(',')
        .nth(4)
        .unwrap()
        .split(' ')
        .map(|v| v.parse::<f64>().unwrap())
        .sum();
    assert!(
        p > 0.0 && p <= 1.0 + 1e-5,
        "top-5 probabilities sum to at most 1: {p}"
    );
}

#[test]
fn resumed_training_gives_the_same_losses_as_an_uninterrupted_run() {
    if common::gpu().is_none() {
        return;
    }
    let common_args = ["train", "--max-steps", "5", "--log-every", "2"];
    let whole = tmp("whole");
    let (code, out, err) =
        cnngpu(&[&common_args[..], &["--epochs", "2", "--out", s(&whole)]].concat());
    assert_eq!(code, 0, "{out}\n{err}");
    // Stopped inside epoch 1 (after 3 of its 5 steps), then resumed to the end of epoch 2.
    let split = tmp("split");
    let (code, out, err) = cnngpu(
        &[
            &common_args[..],
            &[
                "--epochs",
                "2",
                "--out",
                s(&split),
                "--stop-after-steps",
                "3",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 130, "{out}\n{err}");
    assert!(out.contains("interrupted in epoch 1, step 3"), "{out}");
    // Options that define the run may not change on resume; those that may change, may.
    let state = std::fs::read(split.join("last.state.json")).unwrap();
    let (code, out, err) = cnngpu(&["train", "--resume", s(&split), "--lr", "0.5"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("--lr") && err.contains("0.5 differs from the run's 0.01"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(split.join("last.state.json")).unwrap(),
        state,
        "nothing ran"
    );
    let (code, out, err) = cnngpu(&[
        "train",
        "--resume",
        s(&split),
        "--max-steps",
        "5",
        "--log-every",
        "2",
        "--epochs",
        "2",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("resuming at epoch 1, step 3"), "{out}");
    let (a, b) = (records(&whole), records(&split));
    assert_eq!(a.len(), 2);
    assert_eq!(b.len(), 2);
    for (ra, rb) in a.iter().zip(&b) {
        for key in [
            "train_loss",
            "train_top1",
            "test_loss",
            "test_top1",
            "test_top5",
        ] {
            assert_eq!(ra[key], rb[key], "epoch {}: {key}", ra["epoch"]);
        }
    }
}

/// A copy of the bundled sample with one file replaced.
fn broken_dataset(name: &str, file: &str, bytes: &[u8]) -> PathBuf {
    let dir = tmp(name);
    let src = cnngpu::data::bundled_sample_dir();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "gz") {
            std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::remove_file(dir.join(format!("{file}.gz"))).unwrap();
    std::fs::write(dir.join(file), bytes).unwrap();
    dir
}

fn sample_bytes(file: &str) -> Vec<u8> {
    let path = cnngpu::data::bundled_sample_dir().join(format!("{file}.gz"));
    let mut out = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn a_truncated_idx_file_names_the_file_and_what_was_expected() {
    let raw = sample_bytes("train-images-idx3-ubyte");
    let dir = broken_dataset("trunc", "train-images-idx3-ubyte", &raw[..50_000]);
    let (code, _, err) = cnngpu(&["train", "--data-dir", s(&dir), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("train-images-idx3-ubyte")
            && err.contains("truncated")
            && err.contains("need 3920000 data bytes"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_wrong_magic_number_is_rejected() {
    let mut raw = sample_bytes("t10k-labels-idx1-ubyte");
    raw[0] = 0x42;
    let dir = broken_dataset("magic", "t10k-labels-idx1-ubyte", &raw);
    let (code, _, err) = cnngpu(&["train", "--data-dir", s(&dir), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("t10k-labels-idx1-ubyte") && err.contains("not an IDX file"),
        "{err}"
    );
}

#[test]
fn a_missing_dataset_says_where_to_put_the_files() {
    // MNIST is missing and its source unreachable (a closed local port stands in for being
    // offline): the error names the folder to put the files in.
    let dir = tmp("empty");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .args([
            "train",
            "--dataset",
            "mnist",
            "--data-dir",
            s(&dir),
            "--adapter",
            "cpu",
        ])
        .env("CNNGPU_MNIST_URL", "http://127.0.0.1:9/")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("Offline? Put the dataset's files in") && err.contains(s(&dir)),
        "{err}"
    );
    // STL-10 is never downloaded: a missing file is named.
    let (code, _, err) = cnngpu(&[
        "train",
        "--dataset",
        "stl10",
        "--model",
        "alexnet",
        "--data-dir",
        s(&dir),
        "--adapter",
        "cpu",
    ]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains(s(&dir)), "{err}");
}

#[test]
fn checkpoints_of_another_shape_and_pickles_are_clear_errors() {
    let dir = tmp("ckpt");
    // A LeNet-5 checkpoint whose conv1 has 8 filters instead of 6.
    let mut tensors = Vec::new();
    let graph = cnngpu::nn::models::lenet5(10).unwrap();
    for (name, mut shape, _) in graph.parameters() {
        if name.starts_with("conv1") {
            shape[0] = 8;
        }
        let n = shape.iter().product();
        tensors.push((
            name,
            cnngpu::tensor::HostTensor {
                shape: cnngpu::tensor::Shape(shape),
                data: vec![0.0; n],
            },
        ));
    }
    let wrong = dir.join("wrong.safetensors");
    cnngpu::train::checkpoint::save(&wrong, &tensors, &Default::default()).unwrap();
    let (code, _, err) = cnngpu(&["eval", "--checkpoint", s(&wrong), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("wrong.safetensors")
            && err.contains("conv1.weight")
            && err.contains("[8, 1, 5, 5]"),
        "{err}"
    );

    let pickle = dir.join("model.pt");
    std::fs::write(&pickle, b"PK\x03\x04 a zip archive as torch.save writes").unwrap();
    let (code, _, err) = cnngpu(&["eval", "--checkpoint", s(&pickle), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("model.pt") && err.contains("PyTorch pickle"),
        "{err}"
    );

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(
        &garbage,
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......",
    )
    .unwrap();
    let (code, _, err) = cnngpu(&["eval", "--checkpoint", s(&garbage), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("garbage.safetensors"), "{err}");
}

#[test]
fn a_nan_loss_in_f32_stops_with_exit_6_and_keeps_the_last_good_checkpoint() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("nan");
    // Epoch 2's learning rate is 0.01 * 1e38: the weights and then the loss become NaN.
    let (code, out, err) = cnngpu(&[
        "train",
        "--epochs",
        "2",
        "--max-steps",
        "5",
        "--log-every",
        "1",
        "--schedule",
        "step",
        "--step-size",
        "1",
        "--gamma",
        "1e38",
        "--out",
        s(&dir),
    ]);
    assert_eq!(code, 6, "{out}\n{err}");
    assert!(
        err.contains("training diverged")
            && (err.contains("NaN") || err.contains("became inf"))
            && err.contains("last good checkpoint is kept"),
        "{err}"
    );
    assert_eq!(records(&dir).len(), 1, "epoch 1 was recorded");
    let (code, out, err) = cnngpu(&[
        "eval",
        "--checkpoint",
        s(&dir.join("last.safetensors")),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v["loss"].as_f64().unwrap().is_finite(),
        "the kept checkpoint is epoch 1's"
    );
}

#[test]
fn f16_training_runs_with_loss_scaling() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("f16");
    let (code, out, err) = cnngpu(&[
        "train",
        "--precision",
        "f16",
        "--epochs",
        "1",
        "--max-steps",
        "8",
        "--out",
        s(&dir),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("loss scale"), "{out}");
    let r = &records(&dir)[0];
    assert!(
        r["train_loss"].as_f64().unwrap().is_finite() && r["test_top1"].as_f64().unwrap() > 0.1,
        "{r}"
    );
}

#[test]
fn early_stopping_ends_the_run_when_test_accuracy_stalls() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("patience");
    // With a learning rate of 0 nothing ever improves on epoch 1.
    let (code, out, err) = cnngpu(&[
        "train",
        "--epochs",
        "5",
        "--max-steps",
        "1",
        "--lr",
        "0",
        "--patience",
        "2",
        "--out",
        s(&dir),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("early stop after epoch 3"), "{out}");
    assert_eq!(records(&dir).len(), 3);
}

/// Runs the binary with extra environment variables: (exit code, stdout, stderr).
fn cnngpu_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
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

/// A LeNet-5 checkpoint of small finite weights with `metadata`, `poison` applied to the
/// tensors.
fn lenet_checkpoint(path: &Path, metadata: &[(&str, &str)], poison: impl Fn(&str, &mut Vec<f32>)) {
    let graph = cnngpu::nn::models::lenet5(10).unwrap();
    let mut tensors = Vec::new();
    for (name, shape, _) in graph.parameters() {
        let n: usize = shape.iter().product();
        let mut data: Vec<f32> = (0..n).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
        poison(&name, &mut data);
        tensors.push((
            name,
            cnngpu::tensor::HostTensor {
                shape: cnngpu::tensor::Shape(shape),
                data,
            },
        ));
    }
    let meta = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    cnngpu::train::checkpoint::save(path, &tensors, &meta).unwrap();
}

#[test]
fn a_checkpoint_with_nan_weights_is_rejected_naming_the_tensor() {
    let dir = tmp("nanckpt");
    let path = dir.join("nan.safetensors");
    lenet_checkpoint(&path, &[("model", "lenet5")], |name, data| {
        if name == "conv2.weight" {
            data[17] = f32::NAN;
        }
    });
    let (code, out, err) = cnngpu(&["eval", "--checkpoint", s(&path), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("nan.safetensors")
            && err.contains("'conv2.weight' holds NaN at index 17")
            && !out.contains("top-1"),
        "{out}\n{err}"
    );
}

#[test]
fn an_unknown_model_in_checkpoint_metadata_is_the_checkpoints_fault() {
    let dir = tmp("unknownmodel");
    let path = dir.join("m.safetensors");
    lenet_checkpoint(&path, &[("model", "resnet9000")], |_, _| {});
    let (code, _, err) = cnngpu(&["eval", "--checkpoint", s(&path), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("m.safetensors")
            && err.contains("metadata names the model 'resnet9000'")
            && err.contains("pass --model")
            && !err.contains("invalid --model"),
        "{err}"
    );
}

#[test]
fn an_io_error_prints_the_os_message_once() {
    let dir = tmp("ioonce");
    let missing = dir.join("missing.safetensors");
    let (code, _, err) = cnngpu(&["eval", "--checkpoint", s(&missing), "--adapter", "cpu"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("missing.safetensors"), "{err}");
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the OS message once: {err}"
    );
}

#[test]
fn ctrl_c_during_the_final_evaluation_exits_130_with_the_epoch_committed() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("sigeval");
    // The fault hook presses Ctrl-C as the last epoch's test pass starts.
    let (code, out, err) = cnngpu_env(
        &[
            "train",
            "--epochs",
            "1",
            "--max-steps",
            "2",
            "--out",
            s(&dir),
        ],
        &[("CNNGPU_FAULT", "evaluate:interrupt")],
    );
    assert_eq!(code, 130, "{out}\n{err}");
    assert!(out.contains("interrupted after epoch 1"), "{out}");
    assert!(!out.contains("final test accuracy"), "{out}");
    assert_eq!(records(&dir).len(), 1, "the epoch was committed");
    let (code, out, err) = cnngpu(&["train", "--resume", s(&dir)]);
    assert_eq!(code, 0, "nothing left to do: {out}\n{err}");
    assert_eq!(records(&dir).len(), 1);
}

#[test]
fn bad_options_exit_2_before_any_work() {
    for (flag, value, says) in [
        ("--lr", "nan", "finite"),
        ("--lr", "-1", "at least 0"),
        ("--momentum", "inf", "finite"),
        ("--momentum", "1.5", "at most 1"),
        ("--weight-decay", "-0.1", "at least 0"),
        ("--gamma", "0", "above 0"),
        ("--max-steps", "0", "at least 1"),
        ("--batch-size", "0", "at least 1"),
        ("--epochs", "0", "at least 1"),
        ("--log-every", "0", "at least 1"),
        ("--patience", "0", "at least 1"),
        ("--groups", "3", "1 or 2"),
        ("--precision", "f8", "f32"),
        ("--model", "resnet", "lenet5"),
    ] {
        let arg = format!("{flag}={value}");
        let (code, out, err) = cnngpu(&["train", &arg, "--adapter", "cpu"]);
        assert_eq!(code, 2, "{flag} {value}: {out}\n{err}");
        assert!(
            err.contains(flag) && err.contains(says) && !out.contains("device:"),
            "{flag} {value}: {err}"
        );
    }
}

#[test]
fn the_out_folder_is_checked_and_locked_before_the_data_is_read() {
    let dir = tmp("outcheck");
    let missing_data = dir.join("no-such-data");
    let train = |out: &Path| {
        cnngpu(&[
            "train",
            "--data-dir",
            s(&missing_data),
            "--out",
            s(out),
            "--adapter",
            "cpu",
        ])
    };
    // An --out that is a file: exit 5 naming it, before the (missing) data is looked at.
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let (code, _, err) = train(&file);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("a-file") && err.contains("not a folder"),
        "{err}"
    );
    // A folder another run holds: exit 5 with the holder's pid.
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let lock_path = run.join(cnngpu::train::run_dir::LOCK_FILE);
    std::fs::write(&lock_path, b"4242").unwrap();
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock_path)
        .unwrap();
    held.try_lock().unwrap();
    let (code, _, err) = train(&run);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("another cnngpu run (pid 4242)") && err.contains(s(&run)),
        "{err}"
    );
    // The holder dies (its lock goes with it; its pid stays in the file): no longer blocked,
    // the run gets as far as the missing data (exit 4).
    drop(held);
    let (code, _, err) = train(&run);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no-such-data"), "{err}");
}

#[test]
fn train_and_test_images_of_different_sizes_are_rejected_before_training() {
    let raw = sample_bytes("t10k-images-idx3-ubyte");
    let n = cnngpu::data::idx::parse(&raw).unwrap().dims[0];
    let bytes = cnngpu::data::idx::encode(&[n, 28, 29], &vec![0u8; n * 28 * 29]);
    let dir = broken_dataset("shapes", "t10k-images-idx3-ubyte", &bytes);
    let (code, out, err) = cnngpu(&["train", "--data-dir", s(&dir), "--adapter", "cpu"]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("1x28x28") && err.contains("1x28x29") && !out.contains("epoch 1"),
        "{out}\n{err}"
    );
}

#[test]
fn a_plan_larger_than_free_memory_exits_3_with_the_batch_that_fits() {
    // The bundled sample has 5,000 training images; 200 MiB of (declared) host memory holds
    // LeNet-5's activations for about a thousand of them, not for batch 4,000.
    let (code, out, err) = cnngpu_env(
        &["train", "--batch-size", "4000", "--adapter", "cpu"],
        &[("CNNGPU_HOST_MEMORY", "200MiB")],
    );
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(
        err.contains("not enough memory for a training batch of 4000")
            && err.contains("200.0 MiB is free")
            && err.contains("the largest batch that fits is --batch-size")
            && !out.contains("epoch 1"),
        "{out}\n{err}"
    );
}

#[test]
fn train_images_and_test_images_take_the_first_images_of_each_split() {
    if common::gpu().is_none() {
        return;
    }
    let (code, out, err) = cnngpu(&[
        "train",
        "--train-images",
        "100",
        "--test-images",
        "30",
        "--epochs",
        "1",
        "--init",
        "kaiming",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("(100 train, 30 test images)"), "{out}");
    let (code, _, err) = cnngpu(&["train", "--init", "xavier"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--init"), "{err}");
}

#[test]
fn a_batch_larger_than_the_dataset_is_capped_with_a_note() {
    if common::gpu().is_none() {
        return;
    }
    let (code, out, err) = cnngpu(&[
        "train",
        "--batch-size",
        "100000",
        "--epochs",
        "1",
        // Not tuning's test: tuning at a batch of 5000 would time every family there.
        "--no-tune",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(
            "note: --batch-size 100000 is larger than the 5000 training images; using 5000"
        ),
        "{out}"
    );
}

#[test]
fn one_class_folders_and_non_utf8_data_folders_are_rejected_before_work() {
    let dir = tmp("oneclass");
    for split in ["train", "test"] {
        let d = dir.join(split).join("only");
        std::fs::create_dir_all(&d).unwrap();
        image::RgbImage::from_pixel(8, 8, image::Rgb([10, 20, 30]))
            .save(d.join("a.png"))
            .unwrap();
    }
    let (code, out, err) = cnngpu(&[
        "train",
        "--dataset",
        "folder",
        "--model",
        "alexnet",
        "--data-dir",
        s(&dir),
        "--adapter",
        "cpu",
    ]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("1 class (only)") && err.contains("at least two"),
        "{err}"
    );
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"/tmp/not-utf8-\xff");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .arg("train")
        .arg("--data-dir")
        .arg(bad)
        .args(["--adapter", "cpu"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not valid UTF-8"), "{err}");
}

/// A ResNet through the binary at a size of its own: trained, its running statistics and
/// input size in the checkpoint, and `eval` (which normalises with them at that size)
/// repeating the trainer's test pass; a checkpoint without them is a clear data error.
#[test]
fn resnet18_trains_and_eval_uses_the_running_statistics() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("resnet");
    let (code, out, err) = cnngpu(&[
        "train",
        "--model",
        "resnet18",
        "--image-size",
        "40",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--train-images",
        "64",
        "--test-images",
        "48",
        "--no-tune",
        "--out",
        s(&dir),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("gradients shared by liveness"), "{out}");
    let (code, _, err) = cnngpu(&["train", "--image-size", "40"]);
    assert!(code == 2 && err.contains("lenet5 takes 32x32"), "{err}");
    let r = &records(&dir)[0];
    let best = dir.join("best.safetensors");
    let (code, out, err) = cnngpu(&["eval", "--checkpoint", s(&best), "--images", "48", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["top1"].as_f64(), r["test_top1"].as_f64());
    assert!((v["loss"].as_f64().unwrap() - r["test_loss"].as_f64().unwrap()).abs() < 1e-6);
    // The same weights without their running statistics.
    let bytes = std::fs::read(&best).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("running_var"))
        .collect();
    let stripped = dir.join("stripped.safetensors");
    std::fs::write(&stripped, safetensors::serialize(kept, None).unwrap()).unwrap();
    let (code, out, err) = cnngpu(&["eval", "--checkpoint", s(&stripped), "--model", "resnet18"]);
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(
        err.contains("running_var") && err.contains("running statistics"),
        "{err}"
    );
}
