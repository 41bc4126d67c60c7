//! Autotuning on the GPU: choices are checked, cached, reused after a restart, and a corrupt
//! cache is rebuilt; a planted wrong candidate is never chosen through the real check.

mod common;

use cnngpu::gpu::{Family, Gemm, GpuBackend, Storage};
use cnngpu::nn::models;
use cnngpu::ops::{Act, Conv2dParams, Pass};
use cnngpu::parity::{self, Op};
use cnngpu::tensor::Precision;
use cnngpu::tune::{self, TuneCache};

fn temp_cache(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cnngpu-tune-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("tune.json")
}

#[test]
fn tuning_checks_caches_and_reuses_choices() {
    let Some(gpu) = common::gpu() else { return };
    let (graph, _) = models::by_name("lenet5", 10, 1, None).unwrap();
    let path = temp_cache("reuse");
    let mut cache = TuneCache::open(&path);
    let first = tune::tune_graph(&gpu, &mut cache, &graph, 8, Precision::F32).unwrap();
    assert_eq!(
        first.len(),
        14,
        "3 convs and 2 linears: forward, weight, input (not conv1)"
    );
    assert!(
        first.iter().all(|t| !t.cached),
        "an empty cache times everything"
    );
    for t in &first {
        let f = Family::parse(&t.choice.family).expect("a family name");
        assert!(gpu.families().contains(&f));
        assert!(
            t.choice.ms.contains_key(&t.choice.family),
            "the choice was timed"
        );
        assert!(!t.choice.rejected.contains(&t.choice.family));
        // The workgroup family runs on every adapter and every shape: always a candidate.
        assert!(
            t.choice.ms.contains_key("workgroup")
                || t.choice.rejected.iter().any(|f| f == "workgroup"),
            "{}: the workgroup family was not considered",
            t.key
        );
    }
    assert!(path.exists(), "the cache is written");

    // A restart: a new cache read from disk gives the same choices without timing.
    let mut again = TuneCache::open(&path);
    assert!(again.note.is_none());
    let mut calls = Vec::new();
    let progress = |done, of| calls.push((done, of));
    let second =
        tune::tune_graph_with(&gpu, &mut again, &graph, 8, Precision::F32, progress).unwrap();
    let expected: Vec<(usize, usize)> = (0..=14).map(|done| (done, 14)).collect();
    assert_eq!(calls, expected, "progress before each pass and at the end");
    assert!(
        second.iter().all(|t| t.cached),
        "everything comes from the cache"
    );
    for (a, b) in first.iter().zip(&second) {
        assert_eq!((&a.key, &a.choice.family), (&b.key, &b.choice.family));
    }

    // A corrupt cache is not fatal: set aside with a note, tuned again, written anew.
    std::fs::write(&path, b"\x00garbage").unwrap();
    let mut broken = TuneCache::open(&path);
    assert!(broken.note.is_some());
    let third = tune::tune_graph(&gpu, &mut broken, &graph, 8, Precision::F32).unwrap();
    assert!(third.iter().all(|t| !t.cached));
    assert!(TuneCache::open(&path).note.is_none(), "rebuilt");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// A family tuning chose for a layer (timed without its activation, as the graph holds it)
/// holds for the layer as the model runs it, its activation fused: LeNet-5's conv2 at batch 256
/// ran the adapter's default family while the choice was keyed with the activation.
#[test]
fn a_tuned_choice_holds_for_the_layer_with_its_activation_fused() {
    let Some(gpu) = common::gpu() else { return };
    let (graph, _) = models::by_name("lenet5", 10, 1, None).unwrap();
    // conv2 as tuning times it (the graph's layer, no activation).
    let p = tune::graph_passes(&graph, 257)
        .into_iter()
        .find_map(|(layer, op, _)| match op {
            Op::Conv2d(p) if layer == "conv2" => Some(p),
            _ => None,
        })
        .expect("LeNet-5 has conv2");
    assert_eq!(p.act, Act::None);
    for f in gpu.families() {
        gpu.choose("conv2d_backward_input", Gemm::Conv2d(p), Storage::F32, f);
        for act in [Act::None, Act::Tanh, Act::Relu] {
            let fused = Gemm::Conv2d(Conv2dParams { act, ..p });
            let runs = gpu.family_for("conv2d_backward_input", fused, Storage::F32);
            assert_eq!(runs, f, "{act:?}");
        }
    }
}

/// A candidate of the check below: a real family, or a planted kernel that computes conv2d
/// on wrong inputs (as a broken variant would) and is the fastest of all.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Candidate {
    Real(Family),
    Planted,
}

#[test]
fn a_planted_wrong_variant_is_never_chosen() {
    let Some(gpu) = common::gpu() else { return };
    let case = parity::lenet5_cases()
        .into_iter()
        .find(|c| matches!(c.op, Op::Conv2d(_)))
        .unwrap();
    let pass = Pass::Forward;
    let inputs = parity::make_inputs(&case, pass).unwrap();
    let want = parity::reference(&case, pass, &inputs).unwrap();
    let mut wrong = parity::make_inputs(&case, pass).unwrap();
    for v in wrong.values[0].floats_mut().data.iter_mut().step_by(7) {
        *v += 0.5;
    }
    let mut candidates: Vec<Candidate> = gpu.families().into_iter().map(Candidate::Real).collect();
    candidates.insert(0, Candidate::Planted);
    let check = |gpu: &GpuBackend, c: Candidate| -> cnngpu::Result<bool> {
        let (family, used) = match c {
            Candidate::Real(f) => (f, &inputs),
            Candidate::Planted => (gpu.family(), &wrong),
        };
        gpu.with_family(family, || {
            let o =
                parity::check_variant(gpu, &case, pass, used, &want, cnngpu::gpu::Storage::F32)?;
            Ok(o.passed())
        })
    };
    let (best, timed, rejected) = tune::pick(
        &candidates,
        |c| check(&gpu, c),
        |c| Ok(if c == Candidate::Planted { 1e-9 } else { 1.0 }),
    )
    .unwrap();
    assert_eq!(
        rejected,
        vec![Candidate::Planted],
        "the real check catches it"
    );
    assert!(matches!(best, Some(Candidate::Real(_))), "{best:?}");
    assert_eq!(timed.len(), gpu.families().len());
}
