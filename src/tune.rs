//! Autotuning of the kernel families ([`crate::gpu::Family`]). The first time a GEMM-shaped
//! pass (conv2d and linear forward, backward_input, backward_weight) runs at a shape on an
//! adapter, each family the adapter has is checked against the CPU reference at that layer's
//! geometry (batch 1) and those that pass are timed at the real batch; the fastest is used
//! from then on. A family that fails the check is never chosen, however fast.
//!
//! Choices are cached in `tune.json` in the cache directory ([`crate::data::cache_dir`]), per
//! (adapter, driver, cnngpu version and a hash of its GPU code — shaders and launchers, so a
//! build with other kernels tunes again —, kernel pass, shape, storage), so later runs reuse
//! them without timing; a corrupt cache file is set aside and rebuilt. Runs that must behave the
//! same on every machine skip tuning (`--no-tune`) and use the adapter's default family.

use crate::bench::time_gpu;
use crate::error::{Error, Result};
use crate::gpu::kernels::Gemm;
use crate::gpu::{Family, GpuBackend, Storage};
use crate::nn::graph::{Graph, LayerKind};
use crate::ops::{Conv2dParams, ConvTranspose2dParams, LinearParams, Pass};
use crate::parity::{self, Case, Op};
use crate::tensor::Precision;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What tuning found for one (kernel pass, shape, storage) on one adapter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The family used from now on.
    pub family: String,
    /// Milliseconds per launch of each family that passed the check.
    pub ms: BTreeMap<String, f64>,
    /// Families that failed the check against the CPU reference.
    pub rejected: Vec<String>,
    /// When a run last used it, tuning or reading it (seconds since the Unix epoch, refreshed
    /// at most daily; 0: before the cache kept the time).
    #[serde(default)]
    pub used_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    choices: BTreeMap<String, Choice>,
}

const CACHE_VERSION: u32 = 1;

/// The on-disk cache of choices.
#[derive(Debug)]
pub struct TuneCache {
    path: PathBuf,
    choices: BTreeMap<String, Choice>,
    /// Why the file on disk was not used (corrupt, another version), if it was not.
    pub note: Option<String>,
    /// Stale choices dropped when the file was read ([`prune`]); the next save leaves them out.
    pub pruned: usize,
    /// Whether a choice's use time was refreshed since the file was read.
    touched: bool,
}

impl TuneCache {
    /// The default file: `tune.json` in the cache directory.
    pub fn default_path() -> PathBuf {
        crate::data::cache_dir().join("tune.json")
    }

    /// Reads the cache at `path` without its stale choices ([`prune`]): missing is empty;
    /// unreadable or corrupt is empty too, with a note (the file is replaced at the next save,
    /// never fatal).
    pub fn open(path: &Path) -> Self {
        let mut cache = TuneCache {
            path: path.to_path_buf(),
            choices: BTreeMap::new(),
            note: None,
            pruned: 0,
            touched: false,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return cache,
            Err(e) => {
                cache.note = Some(format!("{}: {e}; tuning again", path.display()));
                return cache;
            }
        };
        match serde_json::from_slice::<CacheFile>(&bytes) {
            Ok(f) if f.version == CACHE_VERSION => {
                cache.choices = prune(&f.choices, &build_tag(), now());
                cache.pruned = f.choices.len() - cache.choices.len();
            }
            Ok(f) => {
                cache.note = Some(format!(
                    "{}: cache version {} (expected {CACHE_VERSION}); tuning again",
                    path.display(),
                    f.version
                ))
            }
            Err(e) => {
                cache.note = Some(format!(
                    "{}: not a tuning cache ({e}); tuning again",
                    path.display()
                ))
            }
        }
        cache
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, key: &str) -> Option<&Choice> {
        self.choices.get(key)
    }

    /// Records that a run used the choice at `key` (at most once a day per choice, so a build
    /// in use keeps its choices however long ago it tuned them).
    pub fn touch(&mut self, key: &str) {
        let t = now();
        if let Some(c) = self.choices.get_mut(key) {
            if t.saturating_sub(c.used_at) > 24 * 3600 {
                c.used_at = t;
                self.touched = true;
            }
        }
    }

    /// Whether the file is out of date: choices dropped or used since it was read.
    pub fn changed(&self) -> bool {
        self.pruned > 0 || self.touched
    }

    pub fn len(&self) -> usize {
        self.choices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }

    /// Writes the cache atomically (temporary file, then rename). Choices another run saved
    /// since this one read the file are kept (this run's win where both have a key), so runs
    /// tuning side by side do not drop each other's work.
    pub fn save(&self) -> Result<()> {
        let mut choices = self.choices.clone();
        for (k, c) in TuneCache::open(&self.path).choices {
            choices.entry(k).or_insert(c);
        }
        let file = CacheFile {
            version: CACHE_VERSION,
            choices,
        };
        let json = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::invalid("tuning cache", e.to_string()))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = self
            .path
            .with_extension(format!("json.tmp-{}", std::process::id()));
        std::fs::write(&tmp, json).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

/// How long choices of other cnngpu builds are kept after their last use (another build
/// installed beside this one may still use them — each use refreshes them; one that is gone
/// never will).
pub const STALE_AFTER_SECS: u64 = 30 * 24 * 3600;

/// The part of a cache key that names this build: `cnngpu <version> kernels <hash>`.
fn build_tag() -> String {
    format!(
        "cnngpu {} kernels {}",
        env!("CARGO_PKG_VERSION"),
        env!("CNNGPU_KERNELS_HASH")
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The choices worth keeping: this build's (`build` in the key), and other builds' used
/// within [`STALE_AFTER_SECS`] of `now` (those without a time are from before the cache kept
/// one, so at least that old). Every kernel change makes a new build, so without this the
/// file only grew.
pub fn prune(
    choices: &BTreeMap<String, Choice>,
    build: &str,
    now: u64,
) -> BTreeMap<String, Choice> {
    choices
        .iter()
        .filter(|(key, c)| {
            key.contains(&format!("| {build} |"))
                || (c.used_at > 0 && now.saturating_sub(c.used_at) < STALE_AFTER_SECS)
        })
        .map(|(k, c)| (k.clone(), c.clone()))
        .collect()
}

/// Rounds of timing in [`pick`]: the candidates are timed in turn, round after round, and
/// each keeps its best time, so that a slow spell of the host falls on every candidate, not
/// on the one timed during it (on the 2-core development VM, where kernels run 1.3-1.5x
/// slower for minutes at a time, one pass of sequential timing once put LeNet-5's fc1 weight
/// gradient on the workgroup family: 1.07 ms measured for the subgroup one, which runs it in
/// 0.17-0.19, against 0.45 for the workgroup one, which took 0.50 in the step).
const ROUNDS: usize = 3;

/// A candidate this many times slower than the best after a round is timed no more: its loss
/// is not noise (the tiled and workgroup families run LeNet-5's conv1 weight gradient 100x
/// slower than the subgroup one, and each timing runs it at least twice).
const HOPELESS: f64 = 4.0;

/// Picks among `candidates`: each is validated, those that pass are timed ([`ROUNDS`]
/// rounds, each keeping its best), the fastest wins. A candidate that fails validation is
/// never chosen; None when none passes.
/// Returns (choice, best times of the validated, rejected).
#[allow(clippy::type_complexity)]
pub fn pick<C: Copy + PartialEq>(
    candidates: &[C],
    mut validate: impl FnMut(C) -> Result<bool>,
    mut time: impl FnMut(C) -> Result<f64>,
) -> Result<(Option<C>, Vec<(C, f64)>, Vec<C>)> {
    let (mut timed, mut rejected) = (Vec::new(), Vec::new());
    for &c in candidates {
        if validate(c)? {
            timed.push((c, f64::INFINITY));
        } else {
            rejected.push(c);
        }
    }
    for _ in 0..ROUNDS {
        let best = timed.iter().map(|t| t.1).fold(f64::INFINITY, f64::min);
        for (c, t) in timed.iter_mut() {
            if *t <= HOPELESS * best {
                *t = t.min(time(*c)?);
            }
        }
    }
    let best = timed
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|&(c, _)| c);
    Ok((best, timed, rejected))
}

/// One tuned launch, for reports.
#[derive(Clone, Debug)]
pub struct Tuned {
    pub layer: String,
    pub kernel: String,
    pub key: String,
    pub choice: Choice,
    /// Whether the choice came from the cache (no timing in this run).
    pub cached: bool,
}

/// The cache key of `kernel` at `case`'s shape in `storage` on `gpu`.
pub fn key(gpu: &GpuBackend, kernel: &str, op: &Op, storage: Storage) -> String {
    let shape = match op {
        Op::Conv2d(p) => format!(
            "b{} {}x{}x{} -> {} k{}x{} s{} p{} g{}{}",
            p.batch,
            p.in_channels,
            p.in_h,
            p.in_w,
            p.out_channels,
            p.kernel_h,
            p.kernel_w,
            p.stride,
            p.padding,
            p.groups,
            if p.bias { " bias" } else { "" }
        ),
        Op::Linear(p) => format!(
            "b{} {} -> {}{}",
            p.batch,
            p.in_features,
            p.out_features,
            if p.bias { " bias" } else { "" }
        ),
        other => format!("{other:?}"),
    };
    format!(
        "{} | {} {} | {} | {kernel} | {shape} | {}",
        gpu.ctx.info.name,
        gpu.ctx.info.driver,
        gpu.ctx.info.driver_info,
        build_tag(),
        storage.name()
    )
}

fn with_batch(op: &Op, batch: usize) -> Op {
    match op {
        Op::Conv2d(p) => Op::Conv2d(Conv2dParams { batch, ..*p }),
        Op::Linear(p) => Op::Linear(LinearParams { batch, ..*p }),
        other => other.clone(),
    }
}

/// The GEMM-shaped passes a training step of `graph` at `batch` runs: (layer, op, pass).
pub fn graph_passes(graph: &Graph, batch: usize) -> Vec<(String, Op, Pass)> {
    let mut out = Vec::new();
    for (i, layer) in graph.layers.iter().enumerate() {
        let op = match &layer.kind {
            LayerKind::Conv2d(p) => Op::Conv2d(Conv2dParams { batch, ..*p }),
            LayerKind::Linear(p) => Op::Linear(LinearParams { batch, ..*p }),
            LayerKind::ConvTranspose2d(p) => {
                // Its passes are the passes of the convolution it transposes: forward = the
                // dual's input gradient, input gradient = the dual's forward pass.
                let dual = Op::Conv2d(ConvTranspose2dParams { batch, ..*p }.dual());
                let mut passes = vec![Pass::BackwardInput, Pass::BackwardWeight];
                if i > 0 {
                    passes.push(Pass::Forward);
                }
                for pass in passes {
                    out.push((layer.name.clone(), dual.clone(), pass));
                }
                continue;
            }
            _ => continue,
        };
        let mut passes = vec![Pass::Forward, Pass::BackwardWeight];
        if i > 0 {
            passes.push(Pass::BackwardInput);
        }
        for pass in passes {
            out.push((layer.name.clone(), op.clone(), pass));
        }
    }
    out
}

/// Tunes one pass: uses the cached choice when there is one for a family this adapter has,
/// else checks and times every family, records the choice on the device and in the cache.
pub fn tune_pass(
    gpu: &GpuBackend,
    cache: &mut TuneCache,
    layer: &str,
    op: &Op,
    pass: Pass,
    precision: Precision,
) -> Result<Tuned> {
    let kernel: &'static str = kernel_name(op, pass)?;
    let storage = match precision {
        Precision::F32 => Storage::F32,
        Precision::F16 => gpu.f16_storage(),
    };
    let gemm = Gemm::of(op).ok_or_else(|| Error::invalid("tuning", "not a GEMM-shaped op"))?;
    let key = key(gpu, kernel, op, storage);
    let families = gemm.families(&gpu.families());
    if let Some(c) = cache.get(&key).cloned() {
        if let Some(f) = Family::parse(&c.family).filter(|f| families.contains(f)) {
            gpu.choose(kernel, gemm, storage, f);
            cache.touch(&key);
            return Ok(Tuned {
                layer: layer.into(),
                kernel: kernel.into(),
                key,
                choice: c,
                cached: true,
            });
        }
    }
    // The check: this layer's geometry at batch 1, against the CPU reference.
    let small = Case {
        name: format!("tune {layer}"),
        op: with_batch(op, 1),
        ties: false,
    };
    let small_inputs = parity::make_inputs(&small, pass)?;
    let want = parity::reference(&small, pass, &small_inputs)?;
    let full = Case {
        name: format!("tune {layer}"),
        op: op.clone(),
        ties: false,
    };
    let full_inputs = parity::make_inputs(&full, pass)?;
    let variant = storage;
    let (best, timed, rejected) = pick(
        &families,
        |f| {
            gpu.with_family(f, || {
                let o = parity::check_variant(gpu, &small, pass, &small_inputs, &want, variant)?;
                Ok(o.passed())
            })
        },
        |f| {
            gpu.with_family(f, || {
                let mut prepared =
                    parity::Prepared::new(gpu, &full, pass, &full_inputs, precision.dtype())?;
                time_gpu(gpu, || prepared.run(gpu), 0.02)
            })
        },
    )?;
    let best = best.ok_or_else(|| {
        Error::gpu(
            "tuning",
            format!(
                "no kernel family computes {kernel} correctly at {layer}'s shape on this adapter"
            ),
        )
    })?;
    gpu.choose(kernel, gemm, storage, best);
    let choice = Choice {
        family: best.name().into(),
        ms: timed
            .iter()
            .map(|(f, s)| (f.name().to_string(), s * 1e3))
            .collect(),
        rejected: rejected.iter().map(|f| f.name().to_string()).collect(),
        used_at: now(),
    };
    cache.choices.insert(key.clone(), choice.clone());
    Ok(Tuned {
        layer: layer.into(),
        kernel: kernel.into(),
        key,
        choice,
        cached: false,
    })
}

fn kernel_name(op: &Op, pass: Pass) -> Result<&'static str> {
    Ok(match (op, pass) {
        (Op::Conv2d(_), Pass::Forward) => "conv2d_forward",
        (Op::Conv2d(_), Pass::BackwardInput) => "conv2d_backward_input",
        (Op::Conv2d(_), Pass::BackwardWeight) => "conv2d_backward_weight",
        (Op::Linear(_), Pass::Forward) => "linear_forward",
        (Op::Linear(_), Pass::BackwardInput) => "linear_backward_input",
        (Op::Linear(_), Pass::BackwardWeight) => "linear_backward_weight",
        _ => {
            return Err(Error::invalid(
                "tuning",
                format!("no tunable kernel for {pass:?}"),
            ))
        }
    })
}

/// Tunes every GEMM-shaped pass of a training step of `graph` at `batch` in `precision`, and
/// saves the cache when anything new was timed.
pub fn tune_graph(
    gpu: &GpuBackend,
    cache: &mut TuneCache,
    graph: &Graph,
    batch: usize,
    precision: Precision,
) -> Result<Vec<Tuned>> {
    tune_graph_with(gpu, cache, graph, batch, precision, |_, _| {})
}

/// [`tune_graph`], calling `progress(done, of)` before each pass (0..of) and at the end
/// (of, of): a first tuning of a large model times every family of every pass (AlexNet at
/// batch 32 on lavapipe: about 6 minutes, most of it the wide family's pipeline compiles).
pub fn tune_graph_with(
    gpu: &GpuBackend,
    cache: &mut TuneCache,
    graph: &Graph,
    batch: usize,
    precision: Precision,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Tuned>> {
    let passes = graph_passes(graph, batch);
    let mut out = Vec::new();
    for (i, (layer, op, pass)) in passes.iter().enumerate() {
        progress(i, passes.len());
        out.push(tune_pass(gpu, cache, layer, op, *pass, precision)?);
    }
    progress(passes.len(), passes.len());
    if out.iter().any(|t| !t.cached) || cache.changed() {
        cache.save()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_never_chooses_a_candidate_that_failed_validation() {
        // "planted" is the fastest and wrong; "slow" and "ok" are right.
        let candidates = ["slow", "planted", "ok"];
        let (best, timed, rejected) = pick(
            &candidates,
            |c| Ok(c != "planted"),
            |c| {
                Ok(match c {
                    "planted" => 0.001,
                    "ok" => 0.5,
                    _ => 1.0,
                })
            },
        )
        .unwrap();
        assert_eq!(best, Some("ok"));
        assert_eq!(rejected, vec!["planted"]);
        assert!(
            timed.iter().all(|(c, _)| *c != "planted"),
            "never even timed"
        );
        let (best, _, _) = pick(&candidates, |_| Ok(false), |_| Ok(1.0)).unwrap();
        assert_eq!(best, None);
    }

    /// A candidate timed during a slow spell in one round wins on its best round, and one
    /// many times slower than the best is not timed again.
    #[test]
    fn pick_keeps_each_candidates_best_round_and_drops_the_hopeless() {
        let mut calls: Vec<&str> = Vec::new();
        let (best, timed, _) = pick(
            &["spiked", "steady", "hopeless"],
            |_| Ok(true),
            |c| {
                calls.push(c);
                let round = calls.iter().filter(|&&d| d == c).count();
                Ok(match (c, round) {
                    ("spiked", 1) => 1.0,
                    ("spiked", _) => 0.2,
                    ("steady", _) => 0.3,
                    _ => 5.0,
                })
            },
        )
        .unwrap();
        assert_eq!(best, Some("spiked"));
        assert_eq!(timed[0], ("spiked", 0.2));
        let rounds = |c| calls.iter().filter(|&&d| d == c).count();
        assert_eq!((rounds("spiked"), rounds("steady")), (ROUNDS, ROUNDS));
        assert_eq!(rounds("hopeless"), 1, "{calls:?}");
    }

    #[test]
    fn a_corrupt_cache_is_set_aside_and_rebuilt() {
        let dir = std::env::temp_dir().join(format!("cnngpu-tune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tune.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let mut cache = TuneCache::open(&path);
        assert!(cache.is_empty());
        assert!(cache
            .note
            .as_deref()
            .unwrap()
            .contains("not a tuning cache"));
        let k = format!("gpu | driver | {} | conv2d_forward | b1 | f32", build_tag());
        cache.choices.insert(
            k.clone(),
            Choice {
                family: "tiled".into(),
                ms: BTreeMap::from([("tiled".into(), 1.0)]),
                rejected: vec![],
                used_at: 0,
            },
        );
        cache.save().unwrap();
        let again = TuneCache::open(&path);
        assert!(again.note.is_none());
        assert_eq!(again.get(&k).unwrap().family, "tiled");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn runs_saving_side_by_side_keep_each_others_choices() {
        let dir = std::env::temp_dir().join(format!("cnngpu-tune-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tune.json");
        let key = |pass: &str| format!("gpu | driver | {} | {pass} | b1 | f32", build_tag());
        let choice = |family: &str| Choice {
            family: family.into(),
            ms: BTreeMap::new(),
            rejected: vec![],
            used_at: 0,
        };
        // Both runs read the same (empty) file, then each tunes a pass and saves.
        let mut first = TuneCache::open(&path);
        let mut second = TuneCache::open(&path);
        first.choices.insert(key("conv2d_forward"), choice("tiled"));
        first.choices.insert(key("linear_forward"), choice("tiled"));
        second
            .choices
            .insert(key("linear_forward"), choice("subgroup"));
        second
            .choices
            .insert(key("conv2d_backward_input"), choice("subgroup"));
        first.save().unwrap();
        second.save().unwrap();
        let both = TuneCache::open(&path);
        assert_eq!(both.len(), 3, "neither run's choices lost");
        assert_eq!(both.get(&key("conv2d_forward")).unwrap().family, "tiled");
        assert_eq!(
            both.get(&key("linear_forward")).unwrap().family,
            "subgroup",
            "the later save wins a key both tuned"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn choices_of_builds_gone_for_a_month_are_pruned() {
        let build = build_tag();
        let choice = |used_at| Choice {
            family: "subgroup".into(),
            ms: BTreeMap::new(),
            rejected: vec![],
            used_at,
        };
        let now = 100 * STALE_AFTER_SECS;
        let key = |b: &str| format!("gpu | driver | {b} | conv2d_forward | b1 | f32");
        let choices = BTreeMap::from([
            (key(&build), choice(0)),
            (key("cnngpu 0.0.9 kernels old"), choice(0)),
            (
                key("cnngpu 0.1.0 kernels stale"),
                choice(now - STALE_AFTER_SECS),
            ),
            (key("cnngpu 0.1.0 kernels recent"), choice(now - 60)),
        ]);
        let kept = prune(&choices, &build, now);
        let kept: Vec<&String> = kept.keys().collect();
        assert_eq!(
            kept,
            vec![&key(&build), &key("cnngpu 0.1.0 kernels recent")],
            "this build's choices stay, however old; others' for a month"
        );
    }
}
