//! CPU reference for softmax cross-entropy, generic over f32 and f64.

use crate::ops::SoftmaxCrossEntropyParams;
use num_traits::Float;

fn row_stats<F: Float>(row: &[F]) -> (F, F) {
    let mx = row.iter().copied().fold(F::neg_infinity(), F::max);
    let sum = row.iter().fold(F::zero(), |a, &v| a + (v - mx).exp());
    (mx, sum)
}

/// losses[n] = logsumexp(logits[n]) - logits[n, label[n]].
pub fn forward<F: Float>(p: &SoftmaxCrossEntropyParams, logits: &[F], labels: &[u32]) -> Vec<F> {
    logits
        .chunks(p.classes)
        .zip(labels)
        .map(|(row, &l)| {
            let (mx, sum) = row_stats(row);
            sum.ln() + mx - row[(l as usize).min(p.classes - 1)]
        })
        .collect()
}

/// dlogits[n, c] = (softmax[n, c] - [c == label]) * grad_scale.
pub fn backward_input<F: Float>(
    p: &SoftmaxCrossEntropyParams,
    logits: &[F],
    labels: &[u32],
) -> Vec<F> {
    let scale = F::from(p.grad_scale).unwrap();
    let mut d = Vec::with_capacity(logits.len());
    for (row, &l) in logits.chunks(p.classes).zip(labels) {
        let (mx, sum) = row_stats(row);
        for (c, &v) in row.iter().enumerate() {
            let target = if c == l as usize { F::one() } else { F::zero() };
            d.push(((v - mx).exp() / sum - target) * scale);
        }
    }
    d
}
