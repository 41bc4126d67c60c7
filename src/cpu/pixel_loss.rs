//! CPU reference for the per-pixel softmax cross-entropy and the segmentation counters,
//! generic over f32 and f64. Logits are `[N, C, P]`: class c of pixel p of image n at
//! `(n*C + c)*P + p`.

use crate::ops::pixel_loss::IGNORE_LABEL;
use crate::ops::{PixelCrossEntropyParams, PixelMetricsParams};
use num_traits::Float;

/// The logits of pixel `p` of image `n`, one per class.
fn pixel<F: Float>(logits: &[F], classes: usize, pixels: usize, n: usize, p: usize) -> Vec<F> {
    (0..classes)
        .map(|c| logits[(n * classes + c) * pixels + p])
        .collect()
}

fn stats<F: Float>(row: &[F]) -> (F, F) {
    let mx = row.iter().copied().fold(F::neg_infinity(), F::max);
    let sum = row.iter().fold(F::zero(), |a, &v| a + (v - mx).exp());
    (mx, sum)
}

/// losses[n, p] = logsumexp over classes - the label's logit; 0 where the label is ignored.
pub fn forward<F: Float>(p: &PixelCrossEntropyParams, logits: &[F], labels: &[u32]) -> Vec<F> {
    let mut out = Vec::with_capacity(p.batch * p.pixels);
    for n in 0..p.batch {
        for q in 0..p.pixels {
            let label = labels[n * p.pixels + q];
            if label == IGNORE_LABEL {
                out.push(F::zero());
                continue;
            }
            let row = pixel(logits, p.classes, p.pixels, n, q);
            let (mx, sum) = stats(&row);
            out.push(sum.ln() + mx - row[(label as usize).min(p.classes - 1)]);
        }
    }
    out
}

/// dlogits[n, c, p] = (softmax - [c == label]) * grad_scale / counted; 0 at ignored pixels.
pub fn backward_input<F: Float>(
    p: &PixelCrossEntropyParams,
    logits: &[F],
    labels: &[u32],
    counted: u32,
) -> Vec<F> {
    let scale = F::from(p.grad_scale).unwrap() / F::from(counted.max(1)).unwrap();
    let mut d = vec![F::zero(); logits.len()];
    for n in 0..p.batch {
        for q in 0..p.pixels {
            let label = labels[n * p.pixels + q];
            if label == IGNORE_LABEL {
                continue;
            }
            let row = pixel(logits, p.classes, p.pixels, n, q);
            let (mx, sum) = stats(&row);
            for (c, &v) in row.iter().enumerate() {
                let target = if c == label as usize {
                    F::one()
                } else {
                    F::zero()
                };
                d[(n * p.classes + c) * p.pixels + q] = ((v - mx).exp() / sum - target) * scale;
            }
        }
    }
    d
}

/// Adds the counters of [`PixelMetricsParams`]: the prediction is the first largest logit.
pub fn metrics_accumulate(
    p: &PixelMetricsParams,
    logits: &[f32],
    labels: &[u32],
    counts: &mut [u32],
) {
    let c_n = p.classes;
    for n in 0..p.batch {
        for q in 0..p.pixels {
            let label = labels[n * p.pixels + q];
            if label == IGNORE_LABEL {
                continue;
            }
            let row = pixel(logits, c_n, p.pixels, n, q);
            let pred = (1..c_n).fold(0, |best, c| if row[c] > row[best] { c } else { best });
            counts[1] += 1;
            counts[2 + c_n + pred] += 1;
            if (label as usize) < c_n {
                counts[2 + 2 * c_n + label as usize] += 1;
            }
            if pred == label as usize {
                counts[0] += 1;
                counts[2 + pred] += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::SegmentationScores;

    /// One image, two classes, four pixels: a tie, a right and a wrong prediction, and an
    /// ignored pixel (its logits would cost 10 if it counted).
    #[test]
    fn loss_gradient_and_metrics_match_a_hand_computed_example() {
        let l3 = 3f64.ln();
        // [C, P]: class 0's logits of the four pixels, then class 1's.
        let logits = [0.0, 0.0, l3, 5.0, 0.0, l3, 0.0, -5.0];
        let labels = [0, 1, 1, IGNORE_LABEL];
        let p = PixelCrossEntropyParams::new(1, 2, 4);
        let losses = forward(&p, &logits, &labels);
        let want = [2f64.ln(), -(0.75f64.ln()), 4f64.ln(), 0.0];
        for (got, want) in losses.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{losses:?}");
        }
        let mean = losses.iter().sum::<f64>() / 3.0;
        assert!((mean - 0.789_041).abs() < 1e-6, "{mean}");
        let d = backward_input(&p, &logits, &labels, 3);
        // Pixel 2: softmax (3/4, 1/4), label 1, over 3 counted pixels; pixel 3: nothing.
        assert!(
            (d[2] - 0.25).abs() < 1e-12 && (d[6] + 0.25).abs() < 1e-12,
            "{d:?}"
        );
        assert_eq!((d[3], d[7]), (0.0, 0.0));
        let m = PixelMetricsParams {
            batch: 1,
            classes: 2,
            pixels: 4,
        };
        let logits32: Vec<f32> = logits.iter().map(|&v| v as f32).collect();
        let mut counts = vec![0u32; m.counters()];
        metrics_accumulate(&m, &logits32, &labels, &mut counts);
        // correct, counted, intersection, predicted, labelled.
        assert_eq!(counts, [2, 3, 1, 1, 2, 1, 1, 2]);
        let s =
            SegmentationScores::from_counts(&counts.iter().map(|&v| v as u64).collect::<Vec<_>>());
        assert!((s.pixel_accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.iou, [Some(0.5), Some(0.5)]);
        assert!((s.mean_iou - 0.5).abs() < 1e-12);
        assert!((s.mean_dice - 2.0 / 3.0).abs() < 1e-12);
    }
}
