//! Inference over a dataset: evaluation's loss and accuracy, and the logits and features the
//! pictures need.

use crate::data::{self, Dataset, Preprocess};
use crate::error::Result;
use crate::nn::{MetricsValue, Model, StepConfig};
use crate::ops::Backend;

/// Labels (images, or pixels of a segmentation model) counted on the device between two reads
/// of its counters: the loss sum and sample count are f32 there, exact for integers up to 2^24,
/// and the pixel counters u32; the host adds the reads up in f64 and u64. A classification eval
/// reads once at the end; a 64×64 segmentation eval once every 4,096 images.
const READ_BACK_LABELS: usize = 1 << 24;

/// What a pass of inference over some images gives back.
pub struct Inference {
    /// Loss, top-1 and top-5 over the images.
    pub metrics: MetricsValue,
    /// Every image's logits ([n, classes]), when asked for.
    pub logits: Vec<f32>,
    /// Every image's output of the asked layer, flattened ([n, width]).
    pub features: Vec<f32>,
    pub width: usize,
    /// How many times the device's metric counters were read back and added up.
    pub metric_reads: usize,
}

/// Forward passes in inference mode (dropout off, central crops) over images `indices` of `ds`
/// in batches of `batch` (plus one remainder batch), keeping the logits when `keep_logits` and
/// the output of `layer` when given.
#[allow(clippy::too_many_arguments)] // the model, the data and what to keep
pub fn infer<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    ds: &Dataset,
    prep: &Preprocess,
    indices: &[usize],
    batch: usize,
    keep_logits: bool,
    layer: Option<usize>,
) -> Result<Inference> {
    infer_reading_every(
        b,
        model,
        ds,
        prep,
        (indices, batch),
        (keep_logits, layer),
        READ_BACK_LABELS,
    )
}

/// [`infer`], reading the metric counters back whenever the next batch would take the labels
/// counted since the last read past `read_every`.
fn infer_reading_every<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    ds: &Dataset,
    prep: &Preprocess,
    (indices, batch): (&[usize], usize),
    (keep_logits, layer): (bool, Option<usize>),
    read_every: usize,
) -> Result<Inference> {
    let mut metrics = model.metrics(b)?;
    let mut total = MetricsValue::default();
    let (mut counted, mut metric_reads) = (0, 0);
    let cfg = StepConfig::inference();
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let (mut logits, mut features, mut width) = (Vec::new(), Vec::new(), 0);
    for chunk in indices.chunks(batch.max(1)) {
        model.plan_inference(b, chunk.len())?;
        data::make_batch(ds, prep, chunk, &mut x, &mut labels, None);
        if counted > 0 && counted + labels.len() > read_every {
            total.add(&model.read_metrics(b, &mut metrics)?);
            (counted, metric_reads) = (0, metric_reads + 1);
        }
        counted += labels.len();
        model.load_batch(b, &x, &labels)?;
        model.forward(b, chunk.len(), false, &cfg, &mut metrics)?;
        if keep_logits {
            logits.extend(model.logits(b, chunk.len())?.data);
        }
        if let Some(i) = layer {
            let t = model.activation(b, chunk.len(), i)?;
            width = t.data.len() / chunk.len();
            features.extend(t.data);
        }
        if !keep_logits && layer.is_none() {
            b.submit()?;
        }
    }
    total.add(&model.read_metrics(b, &mut metrics)?);
    Ok(Inference {
        metrics: total,
        logits,
        features,
        width,
        metric_reads: metric_reads + 1,
    })
}

/// Evaluates all of `ds`: loss, top-1, top-5 and, when asked, every sample's logits.
pub fn evaluate<B: Backend>(
    b: &B,
    model: &mut Model<B>,
    ds: &Dataset,
    prep: &Preprocess,
    batch: usize,
    keep_logits: bool,
) -> Result<(MetricsValue, Vec<f32>)> {
    let all: Vec<usize> = (0..ds.len()).collect();
    let r = infer(b, model, ds, prep, &all, batch, keep_logits, None)?;
    Ok((r.metrics, r.logits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuBackend;
    use crate::nn::models::{build, initial_parameters, ModelOptions};
    use crate::tensor::{Precision, SplitMix64};

    #[test]
    fn an_eval_read_back_in_parts_adds_up_to_one_read() {
        // Garments on 16x16 canvases: 512 pixel labels a batch of 2, so reads at most
        // every 1,100 labels split 12 images after every second batch.
        let mut rng = SplitMix64(3);
        let src = Dataset {
            images: (0..12 * 64).map(|_| (rng.next_u64() % 256) as u8).collect(),
            channels: 1,
            height: 8,
            width: 8,
            labels: (0..12).map(|i| i % 3).collect(),
            class_names: ["a", "b", "c"].map(String::from).to_vec(),
            masks: None,
        };
        let ds = crate::data::segment::scenes(&src, 12, 16, 2, 7);
        let options = ModelOptions {
            size: Some(16),
            base_channels: Some(2),
            ..ModelOptions::new(4)
        };
        let (graph, init) = build("unet", &options).unwrap();
        let values = initial_parameters(&graph, init, 1);
        let mut model = Model::new(&CpuBackend, graph, Precision::F32, &values).unwrap();
        let prep = Preprocess::padded(0, vec![0.5], vec![0.25]);
        let all: Vec<usize> = (0..ds.len()).collect();
        let mut run = |every| {
            infer_reading_every(
                &CpuBackend,
                &mut model,
                &ds,
                &prep,
                (&all, 2),
                (false, None),
                every,
            )
            .unwrap()
        };
        let (whole, parts) = (run(READ_BACK_LABELS), run(1100));
        assert_eq!(whole.metric_reads, 1);
        assert_eq!(
            parts.metric_reads, 3,
            "read after batches 2 and 4, and at the end"
        );
        let (w, p) = (&whole.metrics, &parts.metrics);
        assert!(w.samples > 2000 && w.classes.len() == 12, "{w:?}");
        assert_eq!(
            (w.samples, w.top1, &w.classes),
            (p.samples, p.top1, &p.classes),
            "the counts add up exactly"
        );
        assert!(
            (w.loss_sum - p.loss_sum).abs() <= 1e-5 * w.loss_sum,
            "{} vs {}",
            w.loss_sum,
            p.loss_sum
        );
    }
}
