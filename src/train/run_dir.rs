//! The run folder (`--out`, `--resume`): created and proven writable before any work starts,
//! and locked while a run writes it.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside a run folder.
pub const LOCK_FILE: &str = ".cnngpu.lock";

/// An advisory lock on a run folder, held until dropped (or the process dies: the OS releases
/// it, so a lock left by a killed run never blocks the next one).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// Creates `dir` if needed, checks that it is a folder we can write (by writing, syncing and
/// removing a probe file), and takes its lock. Errors are [`Error::Io`] naming the folder: it
/// is a file, it cannot be created or written, or another run (its pid in the message) holds
/// the lock.
pub fn prepare(dir: &Path) -> Result<RunLock> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                ErrorKind::NotADirectory,
                "exists and is not a folder; --out needs a folder for the run's files",
            ),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    let written = (|| {
        let mut f = File::create(&probe)?;
        f.write_all(b"cnngpu checks that it can write here\n")?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| Error::io(dir, e))?;
    lock(dir)
}

/// Takes the lock of run folder `dir` (which must exist).
pub fn lock(dir: &Path) -> Result<RunLock> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another cnngpu run".to_string()
            } else {
                format!("another cnngpu run (pid {holder})")
            };
            return Err(Error::io(
                dir,
                std::io::Error::new(
                    ErrorKind::WouldBlock,
                    format!(
                        "{who} is writing this run folder; wait for it to end or choose \
                         another --out"
                    ),
                ),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let pid = std::process::id().to_string();
    (|| {
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(pid.as_bytes())?;
        file.sync_all()
    })()
    .map_err(|e| Error::io(&path, e))?;
    Ok(RunLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cnngpu-rundir-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_held_lock_names_its_holder_and_a_released_one_does_not_block() {
        let dir = tmp("lock");
        let first = prepare(&dir).expect("a new folder");
        let e = prepare(&dir).expect_err("the folder is locked").to_string();
        assert!(
            e.contains(&format!("(pid {})", std::process::id()))
                && e.contains(dir.to_str().unwrap()),
            "{e}"
        );
        drop(first);
        // The pid of the last holder is still in the file; the lock itself is gone.
        let again = prepare(&dir).expect("a released lock does not block");
        drop(again);
        assert!(
            std::fs::read_dir(&dir)
                .unwrap()
                .all(|e| e.unwrap().file_name() == LOCK_FILE),
            "only the lock file is left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_out_that_is_a_file_is_an_io_error() {
        let dir = tmp("isfile");
        std::fs::write(&dir, b"not a folder").unwrap();
        let e = prepare(&dir).expect_err("a file");
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(e.to_string().contains("is not a folder"), "{e}");
        std::fs::remove_file(&dir).unwrap();
    }
}
