//! Dataset readers: IDX, STL-10 and image folders, good files and bad ones.

mod common;

use cnngpu::data::{self, idx, images, DatasetKind, Preprocess};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cnngpu-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn idx_round_trips_and_rejects_bad_headers() {
    let bytes = idx::encode(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let parsed = idx::parse(&bytes).unwrap();
    assert_eq!(parsed.dims, vec![2, 3]);
    assert_eq!(parsed.data, vec![1, 2, 3, 4, 5, 6]);
    assert!(idx::parse(&bytes[..bytes.len() - 1])
        .unwrap_err()
        .contains("need 6 data bytes, the file has 5"));
    assert!(idx::parse(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0])
        .unwrap_err()
        .contains("0x0d"));
    assert!(idx::parse(&[1, 0, 8, 1])
        .unwrap_err()
        .contains("not an IDX file"));
    assert!(idx::parse(&[0, 0]).unwrap_err().contains("truncated"));
}

#[test]
fn the_bundled_sample_loads_and_pads_to_lenet_input() {
    let s = data::load(
        DatasetKind::FashionMnist,
        &data::bundled_sample_dir(),
        0,
        None,
    )
    .unwrap();
    assert_eq!((s.train.len(), s.test.len()), (5000, 1000));
    assert_eq!(
        (s.train.height, s.train.width, s.train.channels),
        (28, 28, 1)
    );
    let prep = Preprocess::padded(2, vec![0.2860], vec![0.3530]);
    let mut out = Vec::new();
    prep.push(&s.train, 0, &mut out, None);
    assert_eq!(out.len(), 32 * 32);
    let background = (0.0 - 0.2860) / 0.3530;
    assert_eq!(out[0], background, "padding is the normalised 0 pixel");
    assert!(out.iter().any(|&v| v > 1.0), "the image itself is there");
}

#[test]
fn grey_images_feed_alexnet_as_three_equal_channels_and_splits_truncate() {
    let mut s = data::load(
        DatasetKind::FashionMnist,
        &data::bundled_sample_dir(),
        0,
        None,
    )
    .unwrap();
    s.train.truncate(7);
    assert_eq!((s.train.len(), s.train.images.len()), (7, 7 * 28 * 28));
    let prep = cnngpu::train::preprocess_for(
        "alexnet",
        DatasetKind::FashionMnist,
        [3, 227, 227],
        &s.train,
    )
    .unwrap();
    let mut out = Vec::new();
    prep.push(&s.train, 6, &mut out, None);
    let plane = 227 * 227;
    assert_eq!(out.len(), 3 * plane);
    assert!(out[..plane].iter().any(|&v| v > 1.0), "the image is there");
    assert_eq!(out[..plane], out[plane..2 * plane]);
    assert_eq!(out[..plane], out[2 * plane..]);
    // A 2-channel model is not fed by repetition.
    assert!(cnngpu::train::preprocess_for(
        "alexnet",
        DatasetKind::FashionMnist,
        [2, 227, 227],
        &s.train
    )
    .is_err());
}

#[test]
fn stl10_binary_is_read_column_major_and_truncation_is_reported() {
    let dir = tmp("stl");
    let side = 96;
    let mut x = vec![0u8; 2 * 3 * side * side];
    // Image 1, channel 2, row 5, column 7, stored column-major.
    x[3 * side * side + 2 * side * side + 7 * side + 5] = 200;
    for (split, labels) in [("train", [1u8, 10]), ("test", [3, 4])] {
        std::fs::write(dir.join(format!("{split}_X.bin")), &x).unwrap();
        std::fs::write(dir.join(format!("{split}_y.bin")), labels).unwrap();
    }
    let s = data::load(DatasetKind::Stl10, &dir, 0, None).unwrap();
    assert_eq!(s.train.labels, vec![0, 9]);
    assert_eq!(s.train.class_names[9], "truck");
    assert_eq!(
        s.train.images[3 * side * side + 2 * side * side + 5 * side + 7],
        200
    );

    std::fs::write(dir.join("train_X.bin"), &x[..x.len() - 10]).unwrap();
    let err = data::load(DatasetKind::Stl10, &dir, 0, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_X.bin") && err.contains("truncated"),
        "{err}"
    );
    std::fs::write(dir.join("train_X.bin"), &x).unwrap();
    std::fs::write(dir.join("train_y.bin"), [0u8, 1]).unwrap();
    let err = data::load(DatasetKind::Stl10, &dir, 0, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_y.bin") && err.contains("label 0"),
        "{err}"
    );
}

/// Writes a small two-class image folder: red squares and blue discs on noise.
pub fn make_folder(dir: &std::path::Path, per_class: usize, side: u32) {
    let mut rng = cnngpu::tensor::SplitMix64(5);
    for split in ["train", "test"] {
        for (ci, class) in ["disc", "square"].iter().enumerate() {
            let d = dir.join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..per_class {
                let img = image::RgbImage::from_fn(side, side, |x, y| {
                    let (cx, cy) = (x as f32 / side as f32 - 0.5, y as f32 / side as f32 - 0.5);
                    let inside = if ci == 0 {
                        cx * cx + cy * cy < 0.09
                    } else {
                        cx.abs() < 0.3 && cy.abs() < 0.3
                    };
                    let n = (rng.next_f32() * 60.0) as u8;
                    if inside {
                        if ci == 0 {
                            image::Rgb([n, n, 200])
                        } else {
                            image::Rgb([200, n, n])
                        }
                    } else {
                        image::Rgb([n, n, n])
                    }
                });
                img.save(d.join(format!("{i}.png"))).unwrap();
            }
        }
    }
}

#[test]
fn image_folders_load_with_class_names_and_bad_images_are_named() {
    let dir = tmp("folder");
    make_folder(&dir, 3, 40);
    let s = data::load(DatasetKind::Folder, &dir, 32, None).unwrap();
    assert_eq!(s.train.class_names, vec!["disc", "square"]);
    assert_eq!(
        (
            s.train.len(),
            s.test.len(),
            s.train.channels,
            s.train.height
        ),
        (6, 6, 3, 32)
    );
    assert_eq!(s.train.labels, vec![0, 0, 0, 1, 1, 1]);
    // The centre of a disc image is blue.
    let plane = 32 * 32;
    let centre = 16 * 32 + 16;
    assert!(s.train.images[2 * plane + centre] > 150 && s.train.images[centre] < 100);

    std::fs::write(dir.join("train/disc/broken.png"), b"\x89PNG not really").unwrap();
    let err = data::load(DatasetKind::Folder, &dir, 32, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.png") && err.contains("cannot decode"),
        "{err}"
    );

    // A PNG whose header claims 20,000 x 20,000 pixels (1.2 GB of RGB) behind a few bytes of
    // data: refused by the decoder's limits, not allocated.
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(1, 1)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let mut png = png.into_inner();
    // IHDR: length (4), "IHDR" (4), width, height at bytes 16..24, CRC over type and data.
    png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(dir.join("train/disc/broken.png"), &png).unwrap();
    let err = data::load(DatasetKind::Folder, &dir, 32, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.png") && err.contains("limit"), "{err}");

    let flat = tmp("flat");
    let err = data::load(DatasetKind::Folder, &flat, 32, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected train/<class>"), "{err}");
    let _ = images::stl10_class_names(&flat);
}

#[test]
fn alexnet_trains_on_an_image_folder_through_the_binary() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp("alexnet");
    make_folder(&dir, 2, 64);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .args([
            "train",
            "--model",
            "alexnet",
            "--dataset",
            "folder",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .args([
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--max-steps",
            "1",
            "--groups",
            "2",
            // Tuning is tests/tune.rs's subject; here it would time every family at AlexNet's shapes.
            "--no-tune",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("model: alexnet") && stdout.contains("epoch 1/1:"),
        "{stdout}"
    );
}

/// AlexNet's training crops and flips are random draws; without augmentation (`--no-augment`)
/// training sees the central crop, exactly what evaluation sees.
#[test]
fn without_augmentation_training_sees_the_evaluation_crop() {
    let s = data::load(
        DatasetKind::FashionMnist,
        &data::bundled_sample_dir(),
        8,
        None,
    )
    .unwrap();
    let mut prep = cnngpu::train::preprocess_for(
        "alexnet",
        DatasetKind::FashionMnist,
        [3, 227, 227],
        &s.train,
    )
    .unwrap();
    let (mut centre, mut drawn) = (Vec::new(), Vec::new());
    prep.push(&s.train, 3, &mut centre, None);
    let draws = |prep: &Preprocess, out: &mut Vec<f32>| {
        let mut rng = cnngpu::tensor::SplitMix64(5);
        for _ in 0..4 {
            out.clear();
            prep.push(&s.train, 3, out, Some(&mut rng));
            if *out != centre {
                return true;
            }
        }
        false
    };
    assert!(prep.augment);
    assert!(
        draws(&prep, &mut drawn),
        "augmented training draws other crops"
    );
    prep.augment = false;
    assert!(
        !draws(&prep, &mut drawn),
        "no augmentation: the central crop"
    );
    assert_eq!(drawn, centre);
}

/// The built-in segmentation set: the same canvases on every load; every labelled pixel is
/// its garment's class (background 0), rims ignored; garments never overlap.
#[test]
fn fashion_scenes_are_deterministic_canvases_of_labelled_garments() {
    let dir = data::bundled_sample_dir();
    let a = data::load(DatasetKind::FashionScenes, &dir, 0, None).unwrap();
    let b = data::load(DatasetKind::FashionScenes, &dir, 0, None).unwrap();
    assert_eq!((a.train.len(), a.test.len()), (1666, 333));
    assert_eq!(
        (a.train.height, a.train.width, a.train.channels),
        (64, 64, 1)
    );
    assert_eq!(a.train.class_names.len(), 11);
    assert_eq!(a.train.class_names[0], "background");
    assert_eq!(a.train.masks, b.train.masks);
    assert_eq!(a.test.images, b.test.images);
    let masks = a.train.masks.as_ref().unwrap();
    let (mut counts, ignore) = (vec![0usize; 11], 255u8);
    for (&m, &v) in masks.iter().zip(&a.train.images) {
        match m {
            0 => assert_eq!(v, 0, "background is black"),
            255 => assert!(v > 0 && v < 48, "an ignored pixel is a faint rim"),
            c => {
                assert!(v >= 48, "a labelled pixel is bright");
                counts[c as usize] += 1;
            }
        }
    }
    assert!(
        counts[1..].iter().all(|&n| n > 1000),
        "every garment class: {counts:?}"
    );
    assert!(masks.contains(&ignore));
    // The first canvas holds garments of the first training images, their classes + 1.
    let fm = data::load(DatasetKind::FashionMnist, &dir, 0, None).unwrap();
    let first: Vec<u8> = (0..3).map(|i| fm.train.labels[i] as u8 + 1).collect();
    let m0 = a.train.mask(0).unwrap();
    for c in &first {
        assert!(m0.contains(c), "canvas 0 lacks class {c} of {first:?}");
    }
}

fn png_grey(path: &std::path::Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)]))
        .save(path)
        .unwrap();
}

/// A segfolder: image and mask by file name, resized to the model's side, classes from the
/// masks; an image's mask missing, of another size, or holding a class above the classes is
/// an error naming the mask.
#[test]
fn segfolder_reads_masks_and_names_the_bad_one() {
    let dir = tmp("segfolder");
    for split in ["train", "test"] {
        for sub in ["images", "masks"] {
            std::fs::create_dir_all(dir.join(split).join(sub)).unwrap();
        }
        for i in 0..2 {
            let img = dir.join(split).join(format!("images/s{i}.png"));
            png_grey(&img, 16, 8, |x, _| (x * 16) as u8);
            // Left half class 1, right half class 2, two ignored pixels (one after resizing).
            let mask = dir.join(split).join(format!("masks/s{i}.png"));
            png_grey(&mask, 16, 8, |x, y| match (x, y) {
                (0 | 1, 0) => 255,
                (x, _) if x < 8 => 1,
                _ => 2,
            });
        }
    }
    let s = data::load(DatasetKind::SegFolder, &dir, 8, None).unwrap();
    assert_eq!((s.train.len(), s.train.height, s.train.channels), (2, 8, 3));
    assert_eq!(s.train.classes(), 3);
    let m = s.train.mask(0).unwrap();
    assert_eq!(
        (m[1], m[7]),
        (1, 2),
        "nearest-neighbour resize keeps the classes"
    );
    assert_eq!(m[0], 255);
    // Flipped in training: the mask flips with the image.
    let prep = Preprocess {
        flip: true,
        augment: true,
        ..Preprocess::padded(0, vec![0.0; 3], vec![1.0; 3])
    };
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let mut flipped = false;
    for seed in 0..8 {
        let mut rng = cnngpu::tensor::SplitMix64(seed);
        data::make_batch(&s.train, &prep, &[0], &mut x, &mut labels, Some(&mut rng));
        assert_eq!(labels.len(), 64);
        // Brightness rises to the right unflipped, to the left flipped; class 2 follows it.
        let left_bright = x[0] > x[7];
        assert_eq!(left_bright, labels[1] == 2, "image and mask flip together");
        flipped |= left_bright;
    }
    assert!(flipped, "some of the draws flip");

    let bad = |what: &str, expect: &[&str]| {
        let err = data::load(DatasetKind::SegFolder, &dir, 8, Some(3))
            .unwrap_err()
            .to_string();
        for e in expect {
            assert!(err.contains(e), "{what}: {err}");
        }
    };
    let mask = dir.join("train/masks/s1.png");
    png_grey(&mask, 16, 8, |_, _| 3);
    bad("class 3 of 3", &["s1.png", "class 3", "0..2"]);
    png_grey(&mask, 8, 8, |_, _| 1);
    bad("another size", &["s1.png", "8x8", "16x8"]);
    std::fs::remove_file(&mask).unwrap();
    bad("missing", &["s1.png", "missing"]);
    let _ = std::fs::remove_dir_all(&dir);
}
