//! The run folder as one consistent set. Everything an epoch (or an interrupt) commits — the
//! weights, the optimizer state, `best` when it improved, the trainer state and the metrics
//! records — is written as new generation files (`last-000007.safetensors`, ...), and then one
//! manifest, `run.json`, naming them with their sizes and MD5s, is renamed into place: that
//! rename is the commit. A crash or a full disk before it leaves the previous manifest and
//! every file it names untouched; after it, the new set is complete.
//!
//! The familiar names (`last.safetensors`, `last.optim.safetensors`, `best.safetensors`,
//! `last.state.json`, `metrics.jsonl`) are views published from the manifest after each
//! commit (hard links, or copies, renamed into place; metrics.jsonl rewritten from the
//! committed records), and published again when a run starts, so a crash between the commit
//! and the views heals. Generation files the manifest no longer names, and temporary files
//! of crashed writers, are removed.

use super::checkpoint::write_atomic_at;
use super::{fault, EpochRecord, TrainState};
use crate::error::{Error, Result};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST: &str = "run.json";
const FORMAT: &str = "cnngpu-run/1";

/// A file of the committed set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub md5: String,
}

/// What `run.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub generation: u64,
    pub state: TrainState,
    pub last: FileEntry,
    pub optim: FileEntry,
    pub best: Option<FileEntry>,
    /// Every epoch's record up to `state.epoch`.
    pub records: Vec<EpochRecord>,
}

/// The contents of one commit.
pub struct Commit<'a> {
    pub generation: u64,
    pub weights: &'a [u8],
    pub optim: &'a [u8],
    /// New best weights, or the best file of the previous commit to keep naming.
    pub best: Best<'a>,
    pub state: TrainState,
    pub records: Vec<EpochRecord>,
}

/// The `best` of a commit.
pub enum Best<'a> {
    New(&'a [u8]),
    Keep(Option<FileEntry>),
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_entry(dir: &Path, name: String, bytes: &[u8], point: &str) -> Result<FileEntry> {
    write_atomic_at(&dir.join(&name), bytes, point)?;
    Ok(FileEntry {
        name,
        bytes: bytes.len() as u64,
        md5: md5_hex(bytes),
    })
}

/// Syncs the folder itself, so the renames in it are on disk (Unix; elsewhere a no-op).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))?;
    Ok(())
}

/// Writes the generation files, then the manifest (the commit), then the views; removes what
/// the new manifest no longer names. Returns the committed manifest.
pub fn commit(dir: &Path, c: Commit) -> Result<Manifest> {
    let g = c.generation;
    let mut written = Vec::new();
    let staged = (|| {
        let mut entry = |name: String, bytes: &[u8], point: &str| {
            let e = write_entry(dir, name, bytes, point)?;
            written.push(dir.join(&e.name));
            Ok::<_, Error>(e)
        };
        let last = entry(format!("last-{g:06}.safetensors"), c.weights, "last")?;
        let optim = entry(format!("last-{g:06}.optim.safetensors"), c.optim, "optim")?;
        let best = match c.best {
            Best::New(bytes) => Some(entry(format!("best-{g:06}.safetensors"), bytes, "best")?),
            Best::Keep(e) => e,
        };
        let m = Manifest {
            format: FORMAT.into(),
            generation: g,
            state: c.state,
            last,
            optim,
            best,
            records: c.records,
        };
        let json = serde_json::to_vec_pretty(&m)
            .map_err(|e| Error::invalid("run manifest", e.to_string()))?;
        sync_dir(dir)?;
        // The commit: until this rename, the previous manifest and its files are the run.
        write_atomic_at(&dir.join(MANIFEST), &json, "manifest")?;
        Ok(m)
    })();
    let m = match staged {
        Ok(m) => m,
        Err(e) => {
            // Not committed: the new generation's files are garbage (best effort; a crash
            // leaves them to the next run's tidy).
            for p in &written {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    sync_dir(dir)?;
    publish(dir, &m)?;
    tidy(dir, Some(&m))?;
    Ok(m)
}

/// Reads `dir/run.json`: `None` when there is none (a new folder, or a run from before
/// manifests).
pub fn read(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| Error::data(&path, format!("not a cnngpu run manifest: {e}")))?;
    if m.format != FORMAT {
        return Err(Error::data(
            &path,
            format!("format '{}', expected '{FORMAT}'", m.format),
        ));
    }
    Ok(Some(m))
}

/// Checks that every file the manifest names is there with its size and MD5; the error says
/// which file and what differs.
pub fn verify(dir: &Path, m: &Manifest) -> Result<()> {
    let manifest = dir.join(MANIFEST);
    for e in [Some(&m.last), Some(&m.optim), m.best.as_ref()]
        .into_iter()
        .flatten()
    {
        let path = dir.join(&e.name);
        let bytes = std::fs::read(&path).map_err(|err| {
            Error::data(
                &manifest,
                format!(
                    "names {} (generation {}), which cannot be read ({err}): the run folder \
                     was changed after its last commit",
                    e.name, m.generation
                ),
            )
        })?;
        if bytes.len() as u64 != e.bytes || md5_hex(&bytes) != e.md5 {
            return Err(Error::data(
                &manifest,
                format!(
                    "names {} with {} bytes and MD5 {}, but the file has {} bytes and MD5 {}: \
                     the run folder was changed after its last commit",
                    e.name,
                    e.bytes,
                    e.md5,
                    bytes.len(),
                    md5_hex(&bytes)
                ),
            ));
        }
    }
    check_loss_scale(&m.state, &manifest)?;
    if m.records.len() != m.state.epoch {
        return Err(Error::data(
            &manifest,
            format!(
                "holds {} epoch records for {} finished epochs",
                m.records.len(),
                m.state.epoch
            ),
        ));
    }
    Ok(())
}

/// Checks the f16 loss-scale state a run saved (`file` holds it): a scale that is not a
/// positive finite number would silently zero or skip every step after the resume.
pub fn check_loss_scale(state: &TrainState, file: &Path) -> Result<()> {
    match state.scale_state.map(|s| f32::from_bits(s[0])) {
        Some(scale) if !(scale.is_finite() && scale > 0.0) => Err(Error::data(
            file,
            format!("holds loss scale {scale}; expected a positive finite number"),
        )),
        _ => Ok(()),
    }
}

/// The manifest's file `e` as `dir/view`: a hard link (a copy where links fail) renamed over
/// the view, so readers see the old view or the new one.
fn publish_file(dir: &Path, e: &FileEntry, view: &str) -> Result<()> {
    let target = dir.join(view);
    fault::io(&format!("publish:{view}")).map_err(|err| Error::io(&target, err))?;
    let tmp = dir.join(format!(".{view}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let src = dir.join(&e.name);
    let made = std::fs::hard_link(&src, &tmp)
        .or_else(|_| std::fs::copy(&src, &tmp).map(|_| ()))
        .and_then(|_| std::fs::rename(&tmp, &target));
    // Also when it worked: renaming a link over another link to the same file does nothing
    // (POSIX), leaving the temporary name behind.
    let _ = std::fs::remove_file(&tmp);
    made.map_err(|err| Error::io(&target, err))
}

/// Writes the views of manifest `m`: the checkpoints under their familiar names,
/// `last.state.json`, and `metrics.jsonl` rebuilt from the committed records (so a line
/// half-written by a crash, or a record of an uncommitted epoch, is gone).
pub fn publish(dir: &Path, m: &Manifest) -> Result<()> {
    let mut lines = String::new();
    for r in &m.records {
        lines += &serde_json::to_string(r).map_err(|e| Error::invalid("metrics", e.to_string()))?;
        lines.push('\n');
    }
    write_atomic_at(&dir.join("metrics.jsonl"), lines.as_bytes(), "metrics")?;
    let state =
        serde_json::to_vec_pretty(&m.state).map_err(|e| Error::invalid("state", e.to_string()))?;
    write_atomic_at(&dir.join("last.state.json"), &state, "state")?;
    publish_file(dir, &m.last, "last.safetensors")?;
    publish_file(dir, &m.optim, "last.optim.safetensors")?;
    if let Some(b) = &m.best {
        publish_file(dir, b, "best.safetensors")?;
    }
    Ok(())
}

/// Whether `name` is a generation file (`last-000007.safetensors`, `best-000003...`).
fn is_generation_file(name: &str) -> bool {
    let rest = name
        .strip_prefix("last-")
        .or_else(|| name.strip_prefix("best-"));
    rest.is_some_and(|r| {
        r.len() > 6 && r[..6].bytes().all(|b| b.is_ascii_digit()) && r.ends_with(".safetensors")
    })
}

/// Removes temporary files left by crashed writers (`.NAME.tmp-PID`, `.write-test-PID`) and
/// generation files `m` does not name. Only call it holding the folder's lock. Returns what
/// was removed.
pub fn tidy(dir: &Path, m: Option<&Manifest>) -> Result<Vec<PathBuf>> {
    let keep: Vec<&str> = m
        .map(|m| {
            [Some(&m.last), Some(&m.optim), m.best.as_ref()]
                .into_iter()
                .flatten()
                .map(|e| e.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut removed = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale_tmp =
            name.starts_with('.') && (name.contains(".tmp-") || name.starts_with(".write-test-"));
        // Without a manifest, generation files belong to no committed set only if a manifest
        // never existed; keep them (a crash before the first commit leaves nothing else).
        let stale_gen = m.is_some() && is_generation_file(&name) && !keep.contains(&&*name);
        if stale_tmp || stale_gen {
            fault::io("tidy").map_err(|e| Error::io(entry.path(), e))?;
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_scale_that_is_not_positive_and_finite_is_refused() {
        let mut state: TrainState = serde_json::from_str(
            r#"{"config":{"model":"lenet5","dataset":"fashion-mnist","data_dir":"/x",
            "groups":1,"epochs":2,"batch_size":64,"lr":0.01,"momentum":0.9,"weight_decay":0.0,
            "nesterov":false,"schedule":"Constant","warmup_epochs":0,"precision":"f16",
            "seed":0,"patience":null,"max_steps":3,"log_every":1},"epoch":1,"step":0,
            "global_step":3,"best_test_top1":0.2,"epochs_since_best":0,"scale_state":null}"#,
        )
        .unwrap();
        let file = Path::new("runs/x/run.json");
        assert!(check_loss_scale(&state, file).is_ok(), "none saved (f32)");
        state.scale_state = Some([1024f32.to_bits(), 3, 0, 1]);
        assert!(check_loss_scale(&state, file).is_ok());
        for bad in [0.0, -2.0, f32::NAN, f32::INFINITY] {
            state.scale_state = Some([f32::to_bits(bad), 0, 0, 0]);
            let err = check_loss_scale(&state, file).unwrap_err().to_string();
            assert!(
                err.contains("runs/x/run.json") && err.contains("loss scale"),
                "{err}"
            );
        }
    }

    #[test]
    fn generation_file_names() {
        assert!(is_generation_file("last-000007.safetensors"));
        assert!(is_generation_file("last-000007.optim.safetensors"));
        assert!(is_generation_file("best-123456.safetensors"));
        assert!(!is_generation_file("last.safetensors"));
        assert!(!is_generation_file("best-12.safetensors"));
        assert!(!is_generation_file("last-000007.json"));
    }
}
