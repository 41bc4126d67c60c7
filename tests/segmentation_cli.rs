//! Segmentation through the binary: U-Net trains on the built-in fashion-scenes, reports pixel
//! accuracy, mean IoU and Dice, evaluates and draws its masks; mismatched models and datasets
//! are usage errors.

mod common;

use common::cnngpu;

#[test]
fn unet_trains_evaluates_and_draws_on_fashion_scenes() {
    if common::gpu().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("cnngpu-test-{}-unet", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out_dir = dir.to_str().unwrap();
    let (code, out, err) = cnngpu(&[
        "train",
        "--model",
        "unet",
        "--base-channels",
        "4",
        "--train-images",
        "8",
        "--test-images",
        "4",
        "--batch-size",
        "4",
        "--epochs",
        "2",
        "--lr",
        "0.05",
        "--no-tune",
        "--out",
        out_dir,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("data: fashion-scenes"), "{out}");
    assert!(
        out.contains("epoch 2/2:") && out.contains("mIoU") && out.contains("Dice"),
        "{out}"
    );
    assert!(out.contains("final test: pixel accuracy"), "{out}");
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let iou = last["test_mean_iou"]
        .as_f64()
        .expect("a mean IoU per epoch");
    assert!((0.0..=1.0).contains(&iou), "{last}");
    // The pixel accuracy is a share of labelled pixels (64x64 canvases).
    let acc = last["test_top1"].as_f64().unwrap();
    assert!(acc > 0.0 && acc <= 1.0, "{last}");

    let ck = dir.join("last.safetensors");
    let ck_s = ck.to_str().unwrap();
    let (code, out, err) = cnngpu(&["eval", "--checkpoint", ck_s, "--images", "4", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["iou"].as_array().unwrap().len(), 11, "{v}");
    assert!(
        (v["mean_iou"].as_f64().unwrap() - iou).abs() < 1e-9,
        "{v} vs {last}"
    );
    assert!(v["pixels"].as_u64().unwrap() > 4 * 64 * 64 / 2, "{v}");

    let png = dir.join("seg.png");
    let (code, _, err) = cnngpu(&[
        "viz",
        "segmentation",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--count",
        "2",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    let (code, _, err) = cnngpu(&[
        "viz",
        "predictions",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("draw segmentation"), "{err}");
    let ds = ["--dataset", "fashion-mnist"];
    let (code, _, err) = cnngpu(&[&["eval", "--checkpoint", ck_s][..], &ds].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("labels pixels"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn models_and_datasets_of_different_tasks_are_usage_errors() {
    for (args, says) in [
        (
            &["--model", "unet", "--dataset", "fashion-mnist"][..],
            "unet segments",
        ),
        (
            &["--model", "lenet5", "--dataset", "fashion-scenes"][..],
            "segmentation model",
        ),
        (
            &["--model", "lenet5", "--base-channels", "8"][..],
            "only unet",
        ),
        (
            &["--model", "unet", "--classes", "3"][..],
            "only a segfolder",
        ),
        (
            &["--model", "resnet18", "--no-aux"][..],
            "only googlenet has auxiliary classifiers",
        ),
    ] {
        let mut all = vec!["train"];
        all.extend(args);
        let (code, out, err) = cnngpu(&all);
        assert_eq!(code, 2, "{args:?}: {out}\n{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
