//! `cnngpu viz <what>` and the pictures `cnngpu train --plots` writes.

use crate::cli_train::{open_checkpoint, Opened};
use anyhow::Result;
use clap::{Args, ValueEnum};
use cnngpu::data::{Dataset, Preprocess};
use cnngpu::nn::{LayerKind, Model};
use cnngpu::ops::Backend;
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
    #[arg(long, default_value = "fashion-mnist")]
    pub dataset: String,
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
    #[arg(long, default_value_t = 250)]
    pub batch_size: usize,
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
        test,
        prep,
    } = open_checkpoint(
        b,
        need_checkpoint(a)?,
        a.model.clone(),
        &a.dataset,
        a.data_dir.clone(),
    )?;
    let title = format!("{model_name} on {}", a.dataset);
    match a.what {
        What::Predictions => predictions(b, &mut model, &test, &prep, a, &title)?,
        What::Filters => filters(b, &model, &a.out, &title)?,
        What::Embeddings => embeddings(b, &mut model, &test, &prep, a, &title)?,
        What::Confusion => confusion(b, &mut model, &test, &prep, a.batch_size, &a.out, &title)?,
        What::Curves => unreachable!("handled above"),
    }
    Ok(0)
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

fn predictions<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    a: &VizArgs,
    title: &str,
) -> Result<()> {
    let count = a.count.unwrap_or(64);
    // Mistakes: evaluate everything (seeded order), keep the first `count` wrong ones.
    let candidates = if a.mistakes {
        viz::sample_indices(test.len(), test.len(), a.seed)
    } else {
        viz::sample_indices(test.len(), count, a.seed)
    };
    let (logits, _, _) = viz::collect(b, model, test, prep, &candidates, a.batch_size, None)?;
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
    let right = preds.iter().filter(|p| p.correct()).count();
    let what = if a.mistakes {
        "mistakes"
    } else {
        "test images"
    };
    let title = format!("{title}: {} {what}, {right} right", preds.len());
    viz::predictions_grid(test, &preds, a.cols, &title)?
        .0
        .save_png(&a.out)?;
    written(&a.out);
    Ok(())
}

fn filters<B: Backend>(b: &B, model: &Model<B>, out: &Path, title: &str) -> Result<()> {
    let first = model
        .graph
        .layers
        .iter()
        .find(|l| matches!(l.kind, LayerKind::Conv2d(_)))
        .ok_or_else(|| Error::invalid("filters", "the model has no conv layer"))?;
    let name = format!("{}.weight", first.name);
    let (_, w) = model
        .weights(b)?
        .into_iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| Error::invalid("filters", format!("no parameter {name}")))?;
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
    let (logits, _, _) = viz::collect(b, model, test, prep, &all, batch, None)?;
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
    title: &str,
) -> Result<()> {
    let layer = viz::feature_layer(&model.graph, a.layer.as_deref())?;
    let layer_name = model.graph.layers[layer].name.clone();
    let indices = viz::sample_indices(test.len(), a.count.unwrap_or(1000), a.seed);
    let (logits, features, width) =
        viz::collect(b, model, test, prep, &indices, a.batch_size, Some(layer))?;
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

/// `cnngpu train --plots`: every picture of the finished run into `dir`.
pub fn plots<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    test: &Dataset,
    prep: &Preprocess,
    dir: &Path,
    title: &str,
) -> Result<()> {
    let mut a = VizArgs {
        what: What::Curves,
        checkpoint: None,
        model: None,
        dataset: String::new(),
        data_dir: None,
        out: dir.join("curves.png"),
        mistakes: false,
        count: None,
        cols: 8,
        layer: None,
        metrics: Some(dir.join("metrics.jsonl")),
        seed: 1,
        batch_size: 250,
    };
    let records = charts::read_metrics(&dir.join("metrics.jsonl"))?;
    charts::curves(&records, &format!("Training curves: {title}"))?.save_png(&a.out)?;
    written(&a.out);
    a.out = dir.join("predictions.png");
    predictions(b, model, test, prep, &a, title)?;
    a.out = dir.join("mistakes.png");
    a.mistakes = true;
    predictions(b, model, test, prep, &a, title)?;
    filters(b, model, &dir.join("filters.png"), title)?;
    confusion(
        b,
        model,
        test,
        prep,
        a.batch_size,
        &dir.join("confusion.png"),
        title,
    )?;
    a.out = dir.join("embeddings.png");
    a.count = Some(1000.min(test.len()));
    embeddings(b, model, test, prep, &a, title)?;
    Ok(())
}
