//! Pictures: sizes, not blank, the right colours in the right places, the HTML parses, and
//! the same seed gives the same bytes.

mod common;

use cnngpu::data::Dataset;
use cnngpu::plot::Picture;
use cnngpu::tensor::{HostTensor, Shape, SplitMix64};
use cnngpu::train::EpochRecord;
use cnngpu::viz::{self, charts, html, Prediction};
use common::{cnngpu, gpu};

fn dataset(n: usize, channels: usize, side: usize) -> Dataset {
    let mut rng = SplitMix64(9);
    Dataset {
        images: (0..n * channels * side * side)
            .map(|_| (rng.next_u64() % 256) as u8)
            .collect(),
        channels,
        height: side,
        width: side,
        labels: (0..n as u32).map(|i| i % 3).collect(),
        class_names: vec!["cat".into(), "dog".into(), "bird".into()],
        masks: None,
    }
}

/// (red, green) pixel counts in a box.
fn colours(p: &Picture, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> (usize, usize) {
    let (mut red, mut green) = (0, 0);
    for y in y0..y1 {
        for x in x0..x1 {
            let [r, g, b] = p.pixel(x, y);
            if r > 150 && g < 90 && b < 90 {
                red += 1;
            }
            if g > 100 && r < 90 && b < 90 {
                green += 1;
            }
        }
    }
    (red, green)
}

#[test]
fn a_wrong_prediction_has_a_red_label_and_a_right_one_green() {
    let ds = dataset(5, 1, 28);
    let preds = [
        Prediction {
            index: 0,
            label: 0,
            predicted: 0,
        },
        Prediction {
            index: 1,
            label: 1,
            predicted: 2,
        },
        Prediction {
            index: 2,
            label: 2,
            predicted: 2,
        },
    ];
    let (pic, layout) = viz::predictions_grid(&ds, &preds, 2, "test").unwrap();
    assert_eq!((pic.width, pic.height), (2 * 128, 36 + 2 * 142));
    assert!(pic.variance() > 100.0);
    let (red, green) = colours(&pic, layout.predicted_box(1));
    assert!(
        red > 20 && green == 0,
        "wrong: {red} red, {green} green pixels"
    );
    for i in [0, 2] {
        let (red, green) = colours(&pic, layout.predicted_box(i));
        assert!(
            green > 20 && red == 0,
            "right {i}: {red} red, {green} green pixels"
        );
    }
    // The image itself is drawn at the top of its cell (28 px scaled to 96).
    let (x, y) = layout.cell(1);
    assert_ne!(pic.pixel(x + 64, y + 40), [255, 255, 255]);
}

#[test]
fn filter_mosaics_have_the_expected_size_and_normalise_each_filter() {
    let mut rng = SplitMix64(2);
    let grey = HostTensor::new(
        Shape::new(&[6, 1, 5, 5]),
        (0..150).map(|_| rng.next_f32() - 0.5).collect(),
    )
    .unwrap();
    let pic = viz::filter_mosaic(&grey, "conv1").unwrap();
    // 6 filters: 3 a row, 2 rows, 5 taps x 19 px + 6 gap; at least 480 wide for the title.
    assert_eq!((pic.width, pic.height), (480, 36 + 2 * 101 + 6));
    assert!(pic.variance() > 100.0);
    // Each filter spans black to white on its own, even one with tiny weights.
    let mut data = grey.data.clone();
    for v in &mut data[..25] {
        *v *= 1e-3;
    }
    let small =
        viz::filter_mosaic(&HostTensor::new(grey.shape.clone(), data).unwrap(), "").unwrap();
    let cell: Vec<u8> = (0..95)
        .flat_map(|y| (0..95).map(move |x| (x, y)))
        .map(|(x, y)| small.pixel(6 + x, 39 + y)[0])
        .collect();
    assert_eq!(*cell.iter().min().unwrap(), 0);
    assert_eq!(*cell.iter().max().unwrap(), 255);
    let rgb = HostTensor::new(
        Shape::new(&[4, 3, 11, 11]),
        (0..4 * 3 * 121).map(|_| rng.next_f32()).collect(),
    )
    .unwrap();
    let pic = viz::filter_mosaic(&rgb, "conv1 rgb").unwrap();
    assert!(pic.variance() > 100.0);
    let coloured = (0..pic.height)
        .flat_map(|y| (0..pic.width).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b] = pic.pixel(x, y);
            r != g || g != b
        })
        .count();
    assert!(coloured > 1000, "RGB filters are drawn in colour");
}

fn record(epoch: usize, loss: f64, top1: f64) -> EpochRecord {
    EpochRecord {
        epoch,
        lr: 0.01,
        train_loss: loss,
        train_top1: top1,
        train_top5: 0.99,
        test_loss: loss * 1.1,
        test_top1: top1 - 0.02,
        test_top5: 0.98,
        epoch_s: 1.0,
        train_images_per_s: 100.0,
        skipped_steps: 0,
        loss_scale: 1.0,
        train_mean_iou: None,
        test_mean_iou: None,
        test_mean_dice: None,
    }
}

#[test]
fn curves_and_confusion_are_drawn() {
    let records: Vec<_> = (1..=5)
        .map(|e| record(e, 1.0 / e as f64, 0.5 + 0.08 * e as f64))
        .collect();
    let pic = charts::curves(&records, "curves").unwrap();
    assert_eq!((pic.width, pic.height), (1200, 480));
    assert!(pic.variance() > 100.0);
    let m: Vec<Vec<u64>> = (0..10)
        .map(|i| {
            (0..10)
                .map(|j| if i == j { 90 } else { (i + j) as u64 % 3 })
                .collect()
        })
        .collect();
    let names: Vec<String> = (0..10).map(|i| format!("class {i}")).collect();
    let pic = charts::confusion_heatmap(&m, &names, "confusion").unwrap();
    assert_eq!((pic.width, pic.height), (170 + 560 + 110, 80 + 560 + 50));
    assert!(pic.variance() > 100.0);
    // A diagonal cell (high share) is bright yellow-green; an off-diagonal one is dark.
    let diag = pic.pixel(170 + 3 * 56 + 50, 80 + 3 * 56 + 50);
    let off = pic.pixel(170 + 4 * 56 + 50, 80 + 3 * 56 + 50);
    assert!(diag[1] > 180 && off[1] < 100, "{diag:?} {off:?}");
    assert!(charts::confusion_heatmap(&[vec![1, 2]], &names, "").is_err());
}

#[test]
fn embeddings_png_and_html() {
    let (n, d) = (60, 8);
    let mut rng = SplitMix64(4);
    let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
    let x: Vec<f32> = (0..n * d)
        .map(|k| {
            rng.next_f32()
                + if k % d == labels[k / d] as usize {
                    10.0
                } else {
                    0.0
                }
        })
        .collect();
    let tsne = viz::embed::tsne(&x, n, d, 1).unwrap();
    let umap = viz::embed::umap(&x, n, d, 1).unwrap();
    let names = vec!["a".to_string(), "b & c".to_string(), "<d>".to_string()];
    let pic = charts::embeddings_picture(&tsne, &umap, &labels, &names, "emb").unwrap();
    assert_eq!((pic.width, pic.height), (1560, 700));
    // Not blank (a few dozen points on white and no legend box: a lower bar than the charts).
    assert!(pic.variance() > 20.0, "{}", pic.variance());
    // The legend has a strip of its own right of the UMAP panel, which ends at x = 1400:
    // drawn (one coloured dot per class at x = 1414), and no point lies under it.
    for c in 0..3 {
        let y = 22 + 60 + 24 * c; // below the 22-pixel title
        let [r, g, b] = pic.pixel(1414, y);
        assert!(
            !(r == g && g == b),
            "legend dot {c} at y = {y} is grey or white"
        );
    }
    let ds = dataset(n, 3, 16);
    let images: Vec<String> = (0..n)
        .map(|i| viz::thumbnail_data_uri(&ds, i, 32).unwrap())
        .collect();
    let points: Vec<html::Point> = (0..n)
        .map(|i| html::Point {
            label: labels[i],
            predicted: Some(0),
            image: &images[i],
        })
        .collect();
    let page = html::embeddings_html("emb <test>", &tsne, &umap, &points, &names);
    let doc = parse_html(&page);
    let circles = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(circles, 2 * n);
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("emb <test>"));
    let script = doc
        .descendants()
        .find(|n| n.has_tag_name("script"))
        .unwrap();
    let code: String = script.descendants().filter_map(|n| n.text()).collect();
    assert!(code.contains("data:image/png;base64,") && code.contains("true: b & c"));
    let legend: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("li"))
        .map(|n| n.descendants().filter_map(|t| t.text()).collect())
        .collect();
    assert_eq!(legend, names);
}

/// The page parsed strictly (it is also well-formed XML, doctype included).
fn parse_html(page: &str) -> roxmltree::Document<'_> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(page, options).expect("the page is well-formed")
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cnngpu-viz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn png(path: &std::path::Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn not_blank(img: &image::RgbImage) -> bool {
    let n = img.as_raw().len() as f64;
    let mean = img.as_raw().iter().map(|&v| v as f64).sum::<f64>() / n;
    img.as_raw()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n
        > 100.0
}

#[test]
fn train_plots_and_viz_commands_write_every_picture() {
    if gpu().is_none() {
        return;
    }
    let run = tmp("run");
    let (code, _, err) = cnngpu(&[
        "train",
        "--epochs",
        "2",
        "--max-steps",
        "10",
        "--out",
        run.to_str().unwrap(),
        "--plots",
    ]);
    assert_eq!(code, 0, "{err}");
    for (name, size) in [
        ("curves.png", Some((1200, 480))),
        ("predictions.png", Some((8 * 128, 36 + 8 * 142))),
        ("mistakes.png", None),
        ("filters.png", Some((480, 36 + 2 * 101 + 6))),
        ("confusion.png", Some((840, 690))),
        ("embeddings.png", Some((1560, 700))),
    ] {
        let img = png(&run.join(name));
        if let Some(size) = size {
            assert_eq!(img.dimensions(), size, "{name}");
        }
        assert!(not_blank(&img), "{name} is blank");
    }
    let page = std::fs::read_to_string(run.join("embeddings.html")).unwrap();
    let doc = parse_html(&page);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count(),
        2000
    );

    // `viz` from the checkpoint: the same picture twice for one seed, another for another.
    let ck = run.join("best.safetensors");
    let viz = |what: &str, out: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "viz",
            what,
            "--checkpoint",
            ck.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = cnngpu(&args);
        assert_eq!(code, 0, "{what}: {err}");
        std::fs::read(out).unwrap()
    };
    let a = viz(
        "predictions",
        &tmp("p1.png"),
        &["--mistakes", "--count", "16"],
    );
    let b = viz(
        "predictions",
        &tmp("p2.png"),
        &["--mistakes", "--count", "16"],
    );
    assert_eq!(a, b, "same seed, same picture");
    let c = viz(
        "predictions",
        &tmp("p3.png"),
        &["--mistakes", "--count", "16", "--seed", "2"],
    );
    assert_ne!(a, c);
    let mistakes = png(&tmp("p1.png"));
    assert_eq!(mistakes.dimensions(), (8 * 128, 36 + 2 * 142));
    let e1 = viz("embeddings", &tmp("e1.png"), &["--count", "200"]);
    let e2 = viz("embeddings", &tmp("e2.png"), &["--count", "200"]);
    assert_eq!(e1, e2, "embeddings are deterministic for a seed");
    assert!(tmp("e1.html").exists());
    viz("curves", &tmp("c.png"), &[]);
    assert_eq!(png(&tmp("c.png")).dimensions(), (1200, 480));

    // Bad input: a missing metrics file is an I/O error naming it.
    let (code, _, err) = cnngpu(&[
        "viz",
        "curves",
        "--metrics",
        "/nonexistent/metrics.jsonl",
        "--out",
        tmp("x.png").to_str().unwrap(),
    ]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("/nonexistent/metrics.jsonl"), "{err}");
}
