//! Fuzzing on stable Rust: every parser of untrusted bytes gets seeded mutations of valid
//! inputs (byte flips, interesting values at word boundaries, truncations, insertions,
//! deletions, duplicated chunks) and must return `Ok` or `Err` — never panic, and never take
//! longer than a second on an input. The iteration count per parser is small in `cargo test`;
//! `CNNGPU_FUZZ_ITERS=200000 cargo test --release --test fuzz` runs a longer campaign, and
//! `CNNGPU_FUZZ_SEED` picks another seed. A crashing input is written to
//! `tests/fuzz-regressions/<parser>-<n>.bin`; every file there is replayed first.
//!
//! Memory: a counting allocator records the most heap each input made its parser hold at once
//! (on the thread that parses it), and an input that made it hold more than its target's bound
//! — a few times the input's length plus a small constant, or for images the decoder's limits —
//! fails like a panic: a length field that claims gigabytes must not be believed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The system allocator, counting the bytes each thread holds and the most it has held.
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // try_with: the thread's counters may already be gone while it exits.
    let _ = HELD.try_with(|h| {
        let now = h.get() + delta;
        h.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns the most heap it held at once beyond what the thread held before.
fn peak_heap(f: impl FnOnce()) -> usize {
    let before = HELD.with(|h| h.get());
    PEAK.with(|p| p.set(before));
    f();
    (PEAK.with(|p| p.get()) - before).max(0) as usize
}

/// The heap a parser may hold for an input of `len` bytes: its parsed form, a copy or two,
/// and a fixed allowance for buffers and messages.
fn proportional(factor: usize) -> impl Fn(usize) -> usize {
    move |len| factor * len + (4 << 20)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four mutations of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                // An interesting 32-bit value at a word boundary (lengths, dimensions).
                let i = rng.below(len / 4) * 4;
                let v: u32 = [0, 1, 0x80, 0xff, 0x7fff_ffff, 0x8000_0000, u32::MAX][rng.below(7)];
                let bytes = if rng.below(2) == 0 {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                b[i..i + 4].copy_from_slice(&bytes);
            }
            3 => b.truncate(rng.below(len + 1)),
            4 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let fill: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(i..i, fill);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                b.drain(i..i + n);
            }
            6 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = b[i..i + n].to_vec();
                let at = rng.below(b.len() + 1);
                b.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    b
}

fn iterations(default: usize) -> usize {
    std::env::var("CNNGPU_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cnngpu-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Replays the saved regressions of `name`, then fuzzes `target` from `seeds`; any panic,
/// slow input or input that made the target hold more heap than `bound(input length)` fails
/// the test with the input saved.
fn fuzz(
    name: &str,
    seeds: &[Vec<u8>],
    default_iters: usize,
    bound: impl Fn(usize) -> usize,
    target: impl Fn(&[u8]),
) {
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(regressions_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    let replayed = inputs.len();
    inputs.extend(seeds.iter().cloned());
    let seed = std::env::var("CNNGPU_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED);
    let mut rng = Rng(seed ^ name.len() as u64);
    let iters = iterations(default_iters);
    let mut most_heap = 0;
    for i in 0..replayed + seeds.len() + iters {
        let input = if i < inputs.len() {
            inputs[i].clone()
        } else {
            let s = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, s)
        };
        let started = Instant::now();
        let mut outcome = Ok(());
        let heap = peak_heap(|| {
            outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        });
        let took = started.elapsed();
        most_heap = most_heap.max(heap);
        let too_much = heap > bound(input.len());
        if outcome.is_err() || took > Duration::from_secs(1) || too_much {
            std::fs::create_dir_all(regressions_dir()).unwrap();
            let path = regressions_dir().join(format!("{name}-{i}.bin"));
            std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(&input))
                .unwrap();
            let what = if outcome.is_err() {
                "panicked".to_string()
            } else if too_much {
                format!("made the parser hold {heap} bytes of heap")
            } else {
                "was slow".to_string()
            };
            panic!(
                "{name}: input {i} of {} bytes {what} ({took:?}); saved as {}",
                input.len(),
                path.display()
            );
        }
    }
    eprintln!(
        "{name}: {replayed} regressions, {iters} mutated inputs, no panic; \
         at most {most_heap} bytes of heap held"
    );
}

fn idx_seed() -> Vec<u8> {
    let data: Vec<u8> = (0..2 * 5 * 4).map(|i| i as u8).collect();
    cnngpu::data::idx::encode(&[2, 5, 4], &data)
}

#[test]
fn fuzz_idx_raw() {
    let seeds = vec![idx_seed(), cnngpu::data::idx::encode(&[3], &[7, 8, 9])];
    fuzz("idx", &seeds, 20_000, proportional(4), |b| {
        if let Ok(idx) = cnngpu::data::idx::parse(b) {
            // Never more data than the input held.
            assert!(idx.data.len() <= b.len());
            assert_eq!(idx.data.len(), idx.dims.iter().product::<usize>());
        }
    });
}

#[test]
fn fuzz_idx_gzip() {
    let dir = scratch("gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&idx_seed()).unwrap();
    let seeds = vec![gz.finish().unwrap()];
    let path = dir.join("f-idx3-ubyte.gz");
    // A gzip stream may expand a thousandfold; the bound is what the decoded IDX header can
    // justify, so the claim is checked against the decompressed bytes as they arrive.
    fuzz("idx-gzip", &seeds, 2_000, proportional(4096), |b| {
        std::fs::write(&path, b).unwrap();
        let _ = cnngpu::data::idx::read(&path);
    });
}

fn lenet_checkpoint_bytes() -> Vec<u8> {
    let graph = cnngpu::nn::models::lenet5(10).unwrap();
    let tensors: Vec<_> = graph
        .parameters()
        .into_iter()
        .map(|(name, shape, _)| {
            let n = shape.iter().product();
            (
                name,
                cnngpu::tensor::HostTensor {
                    shape: cnngpu::tensor::Shape(shape),
                    data: vec![0.5; n],
                },
            )
        })
        .collect();
    let mut meta = std::collections::HashMap::new();
    meta.insert("model".to_string(), "lenet5".to_string());
    cnngpu::train::checkpoint::to_safetensors(&tensors, &meta).unwrap()
}

#[test]
fn fuzz_checkpoints_and_their_shape_checks() {
    let dir = scratch("ckpt");
    let path = dir.join("c.safetensors");
    let graph = cnngpu::nn::models::lenet5(10).unwrap();
    let full = lenet_checkpoint_bytes();
    // Mutations mostly land in the header, where the parser's decisions are.
    let header = 8 + u64::from_le_bytes(full[..8].try_into().unwrap()) as usize;
    let small = full[..header].to_vec();
    fuzz("safetensors", &[full, small], 3_000, proportional(4), |b| {
        std::fs::write(&path, b).unwrap();
        if let Ok(ck) = cnngpu::train::checkpoint::load(&path) {
            let _ = ck.parameters_for(&graph, &path);
        }
    });
}

#[test]
fn fuzz_run_manifest_state_and_metrics() {
    let dir = scratch("state");
    let record = r#"{"epoch":1,"lr":0.01,"train_loss":2.2,"train_top1":0.1,"train_top5":0.5,"test_loss":2.1,"test_top1":0.2,"test_top5":0.6,"epoch_s":1.0,"train_images_per_s":100.0,"skipped_steps":0,"loss_scale":1.0}"#;
    let state = r#"{"config":{"model":"lenet5","dataset":"fashion-mnist","data_dir":"/x","groups":1,"epochs":2,"batch_size":64,"lr":0.01,"momentum":0.9,"weight_decay":0.0,"nesterov":false,"schedule":"Constant","warmup_epochs":0,"precision":"f32","seed":0,"patience":null,"max_steps":3,"log_every":1},"epoch":1,"step":0,"global_step":3,"best_test_top1":0.2,"epochs_since_best":0,"scale_state":null}"#;
    let file = r#"{"name":"last-000001.safetensors","bytes":4,"md5":"00"}"#;
    let manifest = format!(
        r#"{{"format":"cnngpu-run/1","generation":1,"state":{state},"last":{file},"optim":{file},"best":null,"records":[{record}]}}"#
    );
    let metrics = format!("{record}\n{record}\n");
    fuzz(
        "run-manifest",
        &[manifest.into_bytes(), state.as_bytes().to_vec()],
        3_000,
        proportional(16),
        |b| {
            std::fs::write(dir.join("run.json"), b).unwrap();
            std::fs::write(dir.join("last.state.json"), b).unwrap();
            if let Ok(Some(m)) = cnngpu::train::commit::read(&dir) {
                let _ = cnngpu::train::commit::verify(&dir, &m);
            }
            let _ = cnngpu::train::load_resume(&dir);
        },
    );
    fuzz(
        "metrics",
        &[metrics.into_bytes()],
        3_000,
        proportional(16),
        |b| {
            std::fs::write(dir.join("metrics.jsonl"), b).unwrap();
            let _ = cnngpu::viz::charts::read_metrics(&dir.join("metrics.jsonl"));
        },
    );
}

#[test]
fn fuzz_bench_reports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/pytorch-cpu.json");
    let text = std::fs::read(&path).unwrap();
    // The whole report, and its head (mutations of a shorter text reach more of its fields).
    let head = text[..text.len().min(4096)].to_vec();
    fuzz("bench-json", &[text, head], 1_000, proportional(16), |b| {
        let _ = cnngpu::bench::report::Report::parse(&String::from_utf8_lossy(b), &path);
    });
}

#[test]
fn fuzz_stl10() {
    let dir = scratch("stl");
    let n = 2;
    let x: Vec<u8> = (0..n * 3 * 96 * 96).map(|i| (i % 251) as u8).collect();
    let y = vec![1u8, 10];
    let names: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    std::fs::write(dir.join("train_X.bin"), &x).unwrap();
    fuzz(
        "stl10-labels",
        std::slice::from_ref(&y),
        1_000,
        proportional(8),
        |b| {
            std::fs::write(dir.join("train_y.bin"), b).unwrap();
            let _ = cnngpu::data::images::load_stl10_split(&dir, "train", &names);
        },
    );
    std::fs::write(dir.join("train_y.bin"), &y).unwrap();
    fuzz("stl10-images", &[x], 300, proportional(8), |b| {
        std::fs::write(dir.join("train_X.bin"), b).unwrap();
        let _ = cnngpu::data::images::load_stl10_split(&dir, "train", &names);
    });
}

/// The heap an image folder of one image may take to load: what the decoder's limits allow,
/// and as much again for the conversion to RGB and the resize.
const IMAGE_HEAP: usize = 2 * cnngpu::data::images::IMAGE_LIMITS.1 as usize;

/// The allocation counter sees a buffer a parser would hold: the bounds above can fail.
#[test]
fn the_heap_counter_sees_what_a_parser_holds() {
    let claimed = 64 << 20;
    let held = peak_heap(|| {
        let v: Vec<u8> = Vec::with_capacity(claimed);
        std::hint::black_box(&v);
    });
    assert!(held >= claimed, "{held} < {claimed}");
    assert!(
        held > proportional(4)(1000),
        "a believed length field fails its bound"
    );
    assert!(
        peak_heap(|| {}) < 1024,
        "nothing allocated, nothing counted"
    );
}

#[test]
fn fuzz_image_folders() {
    let dir = scratch("folder");
    let class = dir.join("cat");
    std::fs::create_dir_all(&class).unwrap();
    let img = image::RgbImage::from_fn(12, 9, |x, y| image::Rgb([x as u8 * 20, y as u8 * 25, 90]));
    let names = vec!["cat".to_string()];
    for (format, file) in [
        (image::ImageFormat::Png, "a.png"),
        (image::ImageFormat::Jpeg, "a.jpg"),
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).unwrap();
        let seed = bytes.into_inner();
        let path = class.join(file);
        // The seed decodes: the mutations start from a valid image.
        std::fs::write(&path, &seed).unwrap();
        cnngpu::data::images::load_folder_split(&dir, &names, 16).expect("the seed decodes");
        fuzz(
            &format!("image-folder-{file}"),
            &[seed],
            600,
            |_| IMAGE_HEAP,
            |b| {
                std::fs::write(&path, b).unwrap();
                if let Ok(ds) = cnngpu::data::images::load_folder_split(&dir, &names, 16) {
                    assert_eq!(ds.images.len(), ds.len() * 3 * 16 * 16);
                }
            },
        );
        std::fs::remove_file(&path).unwrap();
    }
}
