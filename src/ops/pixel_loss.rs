//! Segmentation's loss and metrics: softmax cross-entropy at every pixel of NCHW logits with
//! a label per pixel (PyTorch's `CrossEntropyLoss(ignore_index=255)`: the mean over the
//! pixels not ignored), and the counters that pixel accuracy, IoU and Dice derive from.

use super::spec::{arg, Arg, Before, Draw, OpRun, OpSpec, Signature, Ty, Value};
use super::{positive, u32_of, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// The label of a pixel that counts nowhere (PyTorch's customary `ignore_index`).
pub const IGNORE_LABEL: u32 = 255;

/// Logits `[batch, classes, pixels]`, labels `[batch, pixels]`. The gradient of the mean over
/// counted pixels is `grad_scale` (1, or the loss scale's share in f16) divided by the count,
/// which the backward pass reads from a tensor the caller fills (it changes every batch).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelCrossEntropyParams {
    pub batch: usize,
    pub classes: usize,
    pub pixels: usize,
    pub grad_scale: f32,
}

/// Mirror of `PixelLossUniform` in shaders/common/pixel_loss_params.wgsl (shared with the
/// metrics kernel).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct PixelLossUniform {
    pub batch: u32,
    pub classes: u32,
    pub pixels: u32,
    pub ignore: u32,
    pub grad_scale: f32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}

fn validate(what: &str, batch: usize, classes: usize, pixels: usize) -> Result<()> {
    positive(&format!("{what} batch"), batch)?;
    positive(&format!("{what} classes"), classes)?;
    positive(&format!("{what} pixels"), pixels)?;
    if classes > IGNORE_LABEL as usize {
        return Err(Error::invalid(
            format!("{what} classes"),
            format!("{classes}; at most {IGNORE_LABEL} (label {IGNORE_LABEL} is ignored)"),
        ));
    }
    u32_of(&format!("{what} logits"), batch * classes * pixels).map(|_| ())
}

fn uniform(batch: usize, classes: usize, pixels: usize, grad_scale: f32) -> PixelLossUniform {
    PixelLossUniform {
        batch: batch as u32,
        classes: classes as u32,
        pixels: pixels as u32,
        ignore: IGNORE_LABEL,
        grad_scale,
        ..Default::default()
    }
}

/// Parity labels: every class and some ignored pixels.
fn labels(batch: usize, classes: usize, pixels: usize) -> Vec<u32> {
    let v = (0..batch * pixels).map(|i| match (i * 7 + 3) % (classes + 1) {
        c if c == classes => IGNORE_LABEL,
        c => c as u32,
    });
    v.collect()
}

impl PixelCrossEntropyParams {
    pub fn new(batch: usize, classes: usize, pixels: usize) -> Self {
        PixelCrossEntropyParams {
            batch,
            classes,
            pixels,
            grad_scale: 1.0,
        }
    }
    pub fn validate(&self) -> Result<()> {
        validate("pixel_cross_entropy", self.batch, self.classes, self.pixels)
    }
    pub fn uniform(&self) -> PixelLossUniform {
        uniform(self.batch, self.classes, self.pixels, self.grad_scale)
    }
    pub fn logits_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.classes, self.pixels])
    }
    pub fn labels_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.pixels])
    }
}

impl OpSpec for PixelCrossEntropyParams {
    fn stem(&self) -> &'static str {
        "pixel_cross_entropy"
    }
    fn validate(&self) -> Result<()> {
        PixelCrossEntropyParams::validate(self)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        (3 * self.batch * self.classes * self.pixels) as u64
    }
    /// Per-pixel losses in f32 (0 where ignored); the backward pass reads the count of
    /// pixels not ignored (U32 `[1]`) and may take the loss-scale state (parity leaves it out).
    fn signature(&self, pass: Pass) -> Signature {
        let logits = self.logits_shape();
        let labels = Arg::ints("labels", self.labels_shape());
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("logits", logits, 8.0), labels],
                vec![Arg::out("losses", self.labels_shape()).ty(Ty::F32)],
            ),
            _ => Signature::new(
                vec![
                    Arg::float("logits", logits.clone(), 8.0),
                    labels,
                    Arg::ints("counted", Shape::new(&[1])),
                    Arg::ints("scale_state", Shape::new(&[4])).when(false),
                ],
                vec![Arg::out("dlogits", logits)],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "pixel_cross_entropy", "batch": self.batch,
            "classes": self.classes, "pixels": self.pixels})
    }
}

impl OpRun for PixelCrossEntropyParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.pixel_cross_entropy_forward(self, arg(i, 0)?, arg(i, 1)?, o[0]),
            _ => b.pixel_cross_entropy_backward_input(
                self,
                arg(i, 0)?,
                arg(i, 1)?,
                arg(i, 2)?,
                i.get(3).copied().flatten(),
                o[0],
            ),
        }
    }

    /// Labels over every class with some pixels ignored, and their count.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        let labels = labels(self.batch, self.classes, self.pixels);
        if pass == Pass::BackwardInput {
            let counted = labels.iter().filter(|&&v| v != IGNORE_LABEL).count();
            inputs[2] = Value::Ints(vec![counted as u32]);
        }
        inputs[1] = Value::Ints(labels);
        Ok(())
    }
}

/// Accumulates, over pixels not ignored, the counters of segmentation metrics into a U32
/// tensor of [`PixelMetricsParams::counters`]: `[correct, counted, intersection[C], predicted[C],
/// labelled[C]]` — a pixel's prediction is its largest logit (ties to the lower class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelMetricsParams {
    pub batch: usize,
    pub classes: usize,
    pub pixels: usize,
}

impl PixelMetricsParams {
    /// Counters for `classes` classes.
    pub fn len_for(classes: usize) -> usize {
        2 + 3 * classes
    }
    pub fn counters(&self) -> usize {
        Self::len_for(self.classes)
    }
    pub fn validate(&self) -> Result<()> {
        validate("pixel_metrics", self.batch, self.classes, self.pixels)
    }
    pub fn uniform(&self) -> PixelLossUniform {
        uniform(self.batch, self.classes, self.pixels, 1.0)
    }
}

impl OpSpec for PixelMetricsParams {
    fn stem(&self) -> &'static str {
        "pixel_metrics"
    }
    fn passes(&self) -> Vec<Pass> {
        vec![Pass::Update]
    }
    fn kernel(&self, _pass: Pass) -> String {
        "pixel_metrics_accumulate".into()
    }
    fn validate(&self) -> Result<()> {
        PixelMetricsParams::validate(self)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        (self.batch * self.classes * self.pixels) as u64
    }
    /// The counters accumulate (parity starts them at 5).
    fn signature(&self, _pass: Pass) -> Signature {
        Signature::new(
            vec![
                Arg::float(
                    "logits",
                    Shape::new(&[self.batch, self.classes, self.pixels]),
                    2.0,
                ),
                Arg::ints("labels", Shape::new(&[self.batch, self.pixels])),
            ],
            vec![Arg::ints("counts", Shape::new(&[self.counters()])).before(Before::Value(5.0))],
        )
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
}

impl OpRun for PixelMetricsParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        _pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        b.pixel_metrics_accumulate(self, arg(i, 0)?, arg(i, 1)?, o[0])
    }

    fn relate<B: Backend>(
        &self,
        _reference: &B,
        _pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        inputs[1] = Value::Ints(labels(self.batch, self.classes, self.pixels));
        Ok(())
    }
}

/// Pixel accuracy, per-class IoU and Dice from the counters of [`PixelMetricsParams`].
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentationScores {
    pub pixel_accuracy: f64,
    /// Per class: intersection over union; `None` for a class neither labelled nor predicted.
    pub iou: Vec<Option<f64>>,
    /// The mean over classes with an IoU.
    pub mean_iou: f64,
    /// The mean Dice coefficient (2|A∩B| / (|A| + |B|)) over the same classes.
    pub mean_dice: f64,
}

impl SegmentationScores {
    /// From `[correct, counted, intersection[C], predicted[C], labelled[C]]`.
    pub fn from_counts(counts: &[u64]) -> Self {
        let classes = (counts.len().saturating_sub(2)) / 3;
        let (inter, rest) = counts[2..].split_at(classes);
        let (pred, truth) = rest.split_at(classes);
        let mut iou = Vec::with_capacity(classes);
        let (mut iou_sum, mut dice_sum, mut present) = (0.0, 0.0, 0usize);
        for c in 0..classes {
            let union = pred[c] + truth[c] - inter[c];
            if union == 0 {
                iou.push(None);
                continue;
            }
            let v = inter[c] as f64 / union as f64;
            iou.push(Some(v));
            iou_sum += v;
            dice_sum += 2.0 * inter[c] as f64 / (pred[c] + truth[c]) as f64;
            present += 1;
        }
        let mean = |s: f64| {
            if present == 0 {
                0.0
            } else {
                s / present as f64
            }
        };
        SegmentationScores {
            pixel_accuracy: counts[0] as f64 / counts[1].max(1) as f64,
            iou,
            mean_iou: mean(iou_sum),
            mean_dice: mean(dice_sum),
        }
    }
}
