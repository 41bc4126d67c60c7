//! 2-D projections of learned features: t-SNE (the bhtsne crate, Barnes-Hut, fed our own exact
//! neighbour lists and a seeded start, run on one thread so the result depends only on the
//! seed) and UMAP (written here: no UMAP crate is both light and reproducible — see the
//! README), following McInnes et al. 2018 and umap-learn's optimisation (min_dist 0.1,
//! spread 1, 500 epochs, 5 negative samples per edge) with 15 neighbours besides the point
//! itself (umap-learn's n_neighbors=16) and a seeded uniform start in [-10, 10]² instead of
//! umap-learn's spectral one.

use crate::error::{Error, Result};
use crate::tensor::SplitMix64;
use std::collections::HashMap;

/// Exact k nearest neighbours of each row of `x` ([n, d], Euclidean), nearest first, the point
/// itself excluded; ties broken by index, so the lists are deterministic.
pub fn knn(x: &[f32], n: usize, d: usize, k: usize) -> Vec<Vec<(usize, f32)>> {
    let k = k.min(n.saturating_sub(1));
    let norms: Vec<f64> = (0..n)
        .map(|i| {
            x[i * d..(i + 1) * d]
                .iter()
                .map(|&v| (v as f64).powi(2))
                .sum()
        })
        .collect();
    (0..n)
        .map(|i| {
            let xi = &x[i * d..(i + 1) * d];
            let mut dists: Vec<(usize, f32)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let dot: f64 = xi
                        .iter()
                        .zip(&x[j * d..(j + 1) * d])
                        .map(|(&a, &b)| a as f64 * b as f64)
                        .sum();
                    (j, (norms[i] + norms[j] - 2.0 * dot).max(0.0).sqrt() as f32)
                })
                .collect();
            dists.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            dists.truncate(k);
            dists
        })
        .collect()
}

fn check(n: usize, what: &str) -> Result<()> {
    if n < 8 {
        return Err(Error::invalid(
            what,
            format!("needs at least 8 points, got {n}"),
        ));
    }
    Ok(())
}

/// t-SNE of `x` ([n, d]) to 2-D: perplexity 30 (less for small n), 1000 epochs, theta 0.5.
pub fn tsne(x: &[f32], n: usize, d: usize, seed: u64) -> Result<Vec<[f32; 2]>> {
    check(n, "t-SNE")?;
    let perplexity = 30f32.min(((n - 1) / 3) as f32).max(1.0);
    let k = (3.0 * perplexity) as usize;
    let neighbours: Vec<Vec<bhtsne::Neighbor<f32>>> = knn(x, n, d, k)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|(index, distance)| bhtsne::Neighbor { index, distance })
                .collect()
        })
        .collect();
    let samples: Vec<&[f32]> = x.chunks_exact(d).collect();
    let mut rng = SplitMix64(seed);
    let start: Vec<f32> = (0..2 * n).map(|_| (rng.next_f32() - 0.5) * 2e-4).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::invalid("t-SNE", e.to_string()))?;
    let flat = pool.install(|| {
        bhtsne::tSNE::<f32, &[f32], 2>::new(&samples)
            .perplexity(perplexity)
            .epochs(1000)
            .initial_embedding(start)
            .barnes_hut_with_neighbors(0.5, &neighbours)
            .embedding()
    });
    Ok(flat.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
}

/// UMAP of `x` ([n, d]) to 2-D.
pub fn umap(x: &[f32], n: usize, d: usize, seed: u64) -> Result<Vec<[f32; 2]>> {
    check(n, "UMAP")?;
    let k = 15.min(n - 1);
    let graph = fuzzy_graph(&knn(x, n, d, k), k);
    Ok(layout(&graph, n, seed))
}

/// The symmetric fuzzy neighbourhood graph: per point, distances past the nearest neighbour
/// scaled so the weights sum to log2(k); then the fuzzy union w + wᵀ - w·wᵀ.
fn fuzzy_graph(knn: &[Vec<(usize, f32)>], k: usize) -> Vec<(usize, usize, f32)> {
    let target = (k as f64).log2();
    let mean_all = knn.iter().flatten().map(|e| e.1 as f64).sum::<f64>()
        / knn.iter().map(|r| r.len()).sum::<usize>().max(1) as f64;
    let mut directed: HashMap<(usize, usize), f64> = HashMap::new();
    for (i, row) in knn.iter().enumerate() {
        let rho = row
            .iter()
            .map(|e| e.1 as f64)
            .find(|&d| d > 0.0)
            .unwrap_or(0.0);
        let (mut lo, mut hi, mut sigma) = (0.0, f64::INFINITY, 1.0);
        for _ in 0..64 {
            let s: f64 = row
                .iter()
                .map(|e| (-((e.1 as f64 - rho).max(0.0)) / sigma).exp())
                .sum();
            if (s - target).abs() < 1e-5 {
                break;
            }
            if s > target {
                hi = sigma;
                sigma = (lo + hi) / 2.0;
            } else {
                lo = sigma;
                sigma = if hi.is_infinite() {
                    sigma * 2.0
                } else {
                    (lo + hi) / 2.0
                };
            }
        }
        let mean_i = row.iter().map(|e| e.1 as f64).sum::<f64>() / row.len().max(1) as f64;
        let floor = if rho > 0.0 {
            1e-3 * mean_i
        } else {
            1e-3 * mean_all
        };
        let sigma = sigma.max(floor);
        for &(j, dist) in row {
            let w = (-((dist as f64 - rho).max(0.0)) / sigma).exp();
            directed.insert((i, j), w);
        }
    }
    // Both directions of every pair carry the symmetric weight (as umap-learn's symmetric
    // sparse matrix does): each point is the head of its own edges, so attraction and the
    // negative samples, which move only the head, treat every point alike.
    let mut pairs: Vec<(usize, usize)> = directed.keys().copied().collect();
    pairs.extend(directed.keys().map(|&(i, j)| (j, i)));
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .into_iter()
        .map(|(i, j)| {
            let a = directed.get(&(i, j)).copied().unwrap_or(0.0);
            let b = directed.get(&(j, i)).copied().unwrap_or(0.0);
            (i, j, (a + b - a * b) as f32)
        })
        .collect()
}

/// Stochastic layout: attraction along edges sampled in proportion to their weight,
/// repulsion from random points; learning rate falling linearly to 0.
fn layout(edges: &[(usize, usize, f32)], n: usize, seed: u64) -> Vec<[f32; 2]> {
    // The curve 1 / (1 + a d^2b) fitted to min_dist 0.1, spread 1 (umap-learn's defaults).
    let (a, b) = (1.5769f32, 0.8951f32);
    let epochs = if n <= 10_000 { 500 } else { 200 };
    let negatives = 5.0f32;
    let mut rng = SplitMix64(seed);
    let mut y: Vec<[f32; 2]> = (0..n)
        .map(|_| [rng.next_f32() * 20.0 - 10.0, rng.next_f32() * 20.0 - 10.0])
        .collect();
    let max_w = edges.iter().map(|e| e.2).fold(0.0f32, f32::max);
    let edges: Vec<_> = edges
        .iter()
        .filter(|e| e.2 >= max_w / epochs as f32)
        .collect();
    let every: Vec<f32> = edges.iter().map(|e| max_w / e.2).collect();
    let every_neg: Vec<f32> = every.iter().map(|e| e / negatives).collect();
    let mut next = every.clone();
    let mut next_neg = every_neg.clone();
    let clip = |v: f32| v.clamp(-4.0, 4.0);
    for epoch in 0..epochs {
        let alpha = 1.0 - epoch as f32 / epochs as f32;
        let now = epoch as f32;
        for (e, &&(i, j, _)) in edges.iter().enumerate() {
            if next[e] > now {
                continue;
            }
            let (yi, yj) = (y[i], y[j]);
            let d2 = (yi[0] - yj[0]).powi(2) + (yi[1] - yj[1]).powi(2);
            let coef = if d2 > 0.0 {
                -2.0 * a * b * d2.powf(b - 1.0) / (a * d2.powf(b) + 1.0)
            } else {
                0.0
            };
            for c in 0..2 {
                let g = clip(coef * (yi[c] - yj[c]));
                y[i][c] += alpha * g;
                y[j][c] -= alpha * g;
            }
            next[e] += every[e];
            let samples = ((now - next_neg[e]) / every_neg[e]).floor().max(0.0) as usize;
            for _ in 0..samples {
                let kk = (rng.next_u64() % n as u64) as usize;
                if kk == i {
                    continue;
                }
                let (yi, yk) = (y[i], y[kk]);
                let d2 = (yi[0] - yk[0]).powi(2) + (yi[1] - yk[1]).powi(2);
                if d2 > 0.0 {
                    let coef = 2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0));
                    for c in 0..2 {
                        y[i][c] += alpha * clip(coef * (yi[c] - yk[c]));
                    }
                }
            }
            next_neg[e] += samples as f32 * every_neg[e];
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well separated Gaussian blobs in 10-D.
    fn blobs(per: usize) -> (Vec<f32>, Vec<usize>) {
        let mut rng = SplitMix64(3);
        let (mut x, mut labels) = (Vec::new(), Vec::new());
        for c in 0..3 {
            for _ in 0..per {
                for dim in 0..10 {
                    let centre = if dim == c { 20.0 } else { 0.0 };
                    x.push(centre + rng.next_f32() - 0.5);
                }
                labels.push(c);
            }
        }
        (x, labels)
    }

    /// Each point's nearest embedded neighbour has its class (clusters stay apart).
    fn neighbour_purity(y: &[[f32; 2]], labels: &[usize]) -> f64 {
        let flat: Vec<f32> = y.iter().flat_map(|p| *p).collect();
        let nn = knn(&flat, y.len(), 2, 1);
        let same = nn
            .iter()
            .enumerate()
            .filter(|(i, row)| labels[row[0].0] == labels[*i])
            .count();
        same as f64 / y.len() as f64
    }

    #[test]
    fn knn_finds_the_nearest_points_in_order() {
        let x = [0.0, 0.0, 1.0, 0.0, 3.0, 0.0, 10.0, 0.0];
        let nn = knn(&x, 4, 2, 2);
        assert_eq!(nn[0], vec![(1, 1.0), (2, 3.0)]);
        assert_eq!(nn[3], vec![(2, 7.0), (1, 9.0)]);
    }

    #[test]
    fn umap_separates_blobs_and_depends_only_on_the_seed() {
        let (x, labels) = blobs(30);
        let a = umap(&x, 90, 10, 5).unwrap();
        assert!(neighbour_purity(&a, &labels) > 0.95);
        assert!(a.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        assert_eq!(a, umap(&x, 90, 10, 5).unwrap());
        assert_ne!(a, umap(&x, 90, 10, 6).unwrap());
    }

    #[test]
    fn tsne_separates_blobs_and_depends_only_on_the_seed() {
        let (x, labels) = blobs(30);
        let a = tsne(&x, 90, 10, 5).unwrap();
        assert!(neighbour_purity(&a, &labels) > 0.95);
        assert_eq!(a, tsne(&x, 90, 10, 5).unwrap());
        assert_ne!(a, tsne(&x, 90, 10, 6).unwrap());
    }

    #[test]
    fn too_few_points_is_an_error() {
        assert!(umap(&[0.0; 10], 5, 2, 1).is_err());
        assert!(tsne(&[0.0; 10], 5, 2, 1).is_err());
    }
}
