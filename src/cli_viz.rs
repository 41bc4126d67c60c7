//! `cnngpu viz <what>` and the pictures `cnngpu train --plots` writes.

use crate::cli_train::{open_checkpoint, Opened};
use anyhow::Result;
use clap::{Args, ValueEnum};
use cnngpu::data::{Dataset, Preprocess};
use cnngpu::nn::{LayerKind, Model};
use cnngpu::ops::Backend;
use cnngpu::train::infer;
use cnngpu::viz::{self, charts, embed, html, Prediction};
use cnngpu::Error;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum What {
    /// A grid of test images with true and predicted labels (green right, red wrong).
    Predictions,
    /// The first conv layer's kernels, each normalised on its own.
    Filters,
    /// Features of a layer for N test images projected by t-SNE and UMAP (PNG + HTML).
    Embeddings,
    /// Loss and top-1/top-5 per epoch, train against test, from metrics.jsonl.
    Curves,
    /// The confusion matrix on the test set as a heat map.
    Confusion,
    /// A segmentation model's test images beside their true and predicted masks, classes
    /// coloured, with a legend (--count images, default 6).
    Segmentation,
}

#[derive(Args)]
pub struct VizArgs {
    pub what: What,
    /// A checkpoint written by `cnngpu train` (curves: its metrics.jsonl is read from beside it).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Model, when the checkpoint does not say.
    #[arg(long)]
    pub model: Option<String>,
    /// mnist, fashion-mnist, stl10, folder, fashion-scenes or segfolder: its test split is
    /// used (default: the checkpoint's dataset, else fashion-mnist).
    #[arg(long)]
    pub dataset: Option<String>,
    /// The dataset's folder (default for fashion-mnist: the bundled sample).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The PNG to write (embeddings also write the HTML page beside it, same name, .html).
    #[arg(long)]
    pub out: PathBuf,
    /// predictions: show only wrong predictions.
    #[arg(long)]
    pub mistakes: bool,
    /// Images shown (predictions, default 64) or projected (embeddings, default 1000).
    #[arg(long)]
    pub count: Option<usize>,
    /// predictions: images per row.
    #[arg(long, default_value_t = 8)]
    pub cols: usize,
    /// embeddings: the layer whose output is projected (default: the last one before the
    /// first linear layer).
    #[arg(long)]
    pub layer: Option<String>,
    /// curves: the metrics.jsonl to plot (default: beside --checkpoint).
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Which images are picked and how the projections start.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Images per forward pass (default 250 for LeNet-5, 16 for AlexNet).
    #[arg(long)]
    pub batch_size: Option<usize>,
}

fn batch_for(a: &VizArgs, model: &str) -> usize {
    a.batch_size
        .unwrap_or(if model == "alexnet" { 16 } else { 250 })
        .max(1)
}

fn need_checkpoint(a: &VizArgs) -> Result<&Path> {
    a.checkpoint
        .as_deref()
        .ok_or_else(|| Error::invalid("--checkpoint", "is required for this picture").into())
}

/// Runs `cnngpu viz`. Curves need no backend; everything else runs the model on `b`.
pub fn viz<B: Backend>(b: &B, a: &VizArgs) -> Result<u8> {
    if a.what == What::Curves {
        return curves(a).map(|_| 0);
    }
    let Opened {
        mut model,
        model_name,
        dataset,
        test,
        prep,
    } = open_checkpoint(
        b,
        need_checkpoint(a)?,
        a.model.clone(),
        a.dataset.as_deref(),
        (a.data_dir.clone(), false),
    )?;
    let title = format!("{model_name} on {dataset}");
    let batch = batch_for(a, &model_name);
    let per_image = matches!(
        a.what,
        What::Predictions | What::Embeddings | What::Confusion
    );
    if per_image && model.graph.segmentation() {
        return Err(Error::invalid(
            "viz",
            format!("{model_name} labels pixels, not images: draw segmentation (or filters)"),
        )
        .into());
    }
    match a.what {
        What::Predictions => {
            predictions(b, &mut model, &test, &prep, a, batch, &title)?;
        }
        What::Filters => filters(b, &model, &a.out, &title)?,
        What::Embeddings => embeddings(b, &mut model, &test, &prep, a, batch, &title)?,
        What::Confusion => confusion(b, &mut model, &test, &prep, batch, &a.out, &title)?,
        What::Segmentation => {
            let count = a.count.unwrap_or(6);
            segmentation(
                b,
                &mut model,
                &test,
                &prep,
                (count, a.seed, batch),
                &a.out,
                &title,
            )?
        }
        What::Curves => unreachable!("handled above"),
    }
    Ok(0)
}

/// Draws `count` seeded test images with their true and predicted masks.
fn segmentation<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    (count, seed, batch): (usize, u64, usize),
    out: &Path,
    title: &str,
) -> Result<()> {
    if !model.graph.segmentation() {
        return Err(Error::invalid(
            "segmentation",
            "the model classifies images; draw `predictions` instead",
        )
        .into());
    }
    let indices = viz::sample_indices(test.len(), count, seed);
    let logits = infer(b, model, test, prep, &indices, batch, true, None)?.logits;
    let pixels = model.graph.label_pixels();
    let masks = viz::predicted_masks(&logits, model.graph.classes, pixels);
    // Drawn at the data's size: a model of another input size has its masks resized (nearest).
    let [_, mh, mw] = model.graph.input;
    let masks: Vec<Vec<u8>> = masks
        .into_iter()
        .map(|m| viz::segmentation::resize_nearest(&m, (mh, mw), (test.height, test.width)))
        .collect();
    let rows: Vec<(usize, Vec<u8>)> = indices.into_iter().zip(masks).collect();
    let scale = (192 / test.height.max(1)).max(1) as u32;
    let title = format!("Segmentation: {title}");
    viz::segmentation_grid(test, &rows, scale, &title)?.save_png(out)?;
    written(out);
    Ok(())
}

fn written(path: &Path) {
    eprintln!("wrote {}", path.display());
}

pub fn curves(a: &VizArgs) -> Result<()> {
    let metrics = match (&a.metrics, &a.checkpoint) {
        (Some(m), _) => m.clone(),
        (None, Some(ck)) => ck.parent().unwrap_or(Path::new(".")).join("metrics.jsonl"),
        (None, None) => {
            return Err(Error::invalid("--metrics", "give --metrics or --checkpoint").into())
        }
    };
    let records = charts::read_metrics(&metrics)?;
    let title = format!("Training curves ({})", metrics.display());
    charts::curves(&records, &title)?.save_png(&a.out)?;
    written(&a.out);
    Ok(())
}

/// Draws the grid; `false` (and a message, no file) when `--mistakes` finds none.
fn predictions<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    a: &VizArgs,
    batch: usize,
    title: &str,
) -> Result<bool> {
    let count = a.count.unwrap_or(64);
    // Mistakes: evaluate everything (seeded order), keep the first `count` wrong ones.
    let candidates = if a.mistakes {
        viz::sample_indices(test.len(), test.len(), a.seed)
    } else {
        viz::sample_indices(test.len(), count, a.seed)
    };
    let logits = infer(b, model, test, prep, &candidates, batch, true, None)?.logits;
    let predicted = viz::top1(&logits, test.classes());
    let preds: Vec<Prediction> = candidates
        .iter()
        .zip(&predicted)
        .map(|(&index, &p)| Prediction {
            index,
            label: test.labels[index],
            predicted: p,
        })
        .filter(|p| !a.mistakes || !p.correct())
        .take(count)
        .collect();
    let title = if a.mistakes {
        if preds.is_empty() {
            eprintln!(
                "no wrong predictions among the {} test images: {} not drawn",
                test.len(),
                a.out.display()
            );
            return Ok(false);
        }
        let wrong = predicted
            .iter()
            .zip(&candidates)
            .filter(|(&p, &i)| p != test.labels[i])
            .count();
        format!(
            "{title}: {} of the {wrong} mistakes on {} test images",
            preds.len(),
            test.len()
        )
    } else {
        let right = preds.iter().filter(|p| p.correct()).count();
        format!("{title}: {} test images, {right} right", preds.len())
    };
    viz::predictions_grid(test, &preds, a.cols, &title)?
        .0
        .save_png(&a.out)?;
    written(&a.out);
    Ok(true)
}

fn filters<B: Backend>(b: &B, model: &Model<B>, out: &Path, title: &str) -> Result<()> {
    let first = model
        .graph
        .layers
        .iter()
        .find(|l| matches!(l.kind, LayerKind::Conv2d(_)))
        .ok_or_else(|| Error::invalid("filters", "the model has no conv layer"))?;
    let name = format!("{}.weight", first.name);
    let param = model
        .params
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Error::invalid("filters", format!("no parameter {name}")))?;
    let w = b.download(&param.master)?;
    let title = format!("{title}: {name} {}", w.shape);
    viz::filter_mosaic(&w, &title)?.save_png(out)?;
    written(out);
    Ok(())
}

fn confusion<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    batch: usize,
    out: &Path,
    title: &str,
) -> Result<()> {
    let all: Vec<usize> = (0..test.len()).collect();
    let logits = infer(b, model, test, prep, &all, batch, true, None)?.logits;
    let predicted = viz::top1(&logits, test.classes());
    let m = viz::confusion(&test.labels, &predicted, test.classes());
    let right: u64 = (0..m.len()).map(|i| m[i][i]).sum();
    let title = format!(
        "{title}: confusion matrix, {} test images, top-1 {:.2}%",
        test.len(),
        100.0 * right as f64 / test.len().max(1) as f64
    );
    charts::confusion_heatmap(&m, &test.class_names, &title)?.save_png(out)?;
    written(out);
    Ok(())
}

fn embeddings<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    a: &VizArgs,
    batch: usize,
    title: &str,
) -> Result<()> {
    let layer = viz::feature_layer(&model.graph, a.layer.as_deref())?;
    let layer_name = model.graph.layers[layer].name.clone();
    let indices = viz::sample_indices(test.len(), a.count.unwrap_or(1000), a.seed);
    let r = infer(b, model, test, prep, &indices, batch, true, Some(layer))?;
    let (logits, features, width) = (r.logits, r.features, r.width);
    let n = indices.len();
    eprintln!("projecting {n} x {width} features of {layer_name} (t-SNE, UMAP)");
    let tsne = embed::tsne(&features, n, width, a.seed)?;
    let umap = embed::umap(&features, n, width, a.seed)?;
    let labels: Vec<u32> = indices.iter().map(|&i| test.labels[i]).collect();
    let title = format!("{title}: {layer_name} features of {n} test images");
    charts::embeddings_picture(&tsne, &umap, &labels, &test.class_names, &title)?
        .save_png(&a.out)?;
    written(&a.out);
    let predicted = viz::top1(&logits, test.classes());
    let images = indices
        .iter()
        .map(|&i| viz::thumbnail_data_uri(test, i, 64))
        .collect::<cnngpu::Result<Vec<_>>>()?;
    let points: Vec<html::Point> = (0..n)
        .map(|k| html::Point {
            label: labels[k],
            predicted: Some(predicted[k]),
            image: &images[k],
        })
        .collect();
    let page = html::embeddings_html(&title, &tsne, &umap, &points, &test.class_names);
    let html_path = a.out.with_extension("html");
    cnngpu::train::checkpoint::write_atomic(&html_path, page.as_bytes())?;
    written(&html_path);
    Ok(())
}

/// `cnngpu train --plots`: every picture of the finished run (the model as it ended, not the
/// best checkpoint) into `dir`, with the run's seed and batch size.
#[allow(clippy::too_many_arguments)] // the pieces of a finished run
pub fn plots<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    dir: &Path,
    title: &str,
    seed: u64,
    batch: usize,
) -> Result<()> {
    let out = dir.join("curves.png");
    let records = charts::read_metrics(&dir.join("metrics.jsonl"))?;
    charts::curves(&records, &format!("Training curves: {title}"))?.save_png(&out)?;
    written(&out);
    if model.graph.segmentation() {
        filters(b, model, &dir.join("filters.png"), title)?;
        let out = dir.join("segmentation.png");
        return segmentation(b, model, test, prep, (6, seed, batch), &out, title);
    }
    let mut a = VizArgs {
        what: What::Predictions,
        checkpoint: None,
        model: None,
        dataset: None,
        data_dir: None,
        out: dir.join("predictions.png"),
        mistakes: false,
        count: None,
        cols: 8,
        layer: None,
        metrics: None,
        seed,
        batch_size: Some(batch),
    };
    predictions(b, model, test, prep, &a, batch, title)?;
    a.out = dir.join("mistakes.png");
    a.mistakes = true;
    predictions(b, model, test, prep, &a, batch, title)?;
    filters(b, model, &dir.join("filters.png"), title)?;
    confusion(
        b,
        model,
        test,
        prep,
        batch,
        &dir.join("confusion.png"),
        title,
    )?;
    if test.len() < 8 {
        eprintln!(
            "embeddings need at least 8 test images ({} here): not drawn",
            test.len()
        );
        return Ok(());
    }
    a.out = dir.join("embeddings.png");
    a.mistakes = false;
    a.count = Some(1000.min(test.len()));
    embeddings(b, model, test, prep, &a, batch, title)
}
