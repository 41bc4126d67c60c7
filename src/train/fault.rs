//! Fault injection for tests: `CNNGPU_FAULT=POINT:ACTION[:N]` makes the N-th arrival (default
//! the first) of this process at the named point fail, abort or act as a Ctrl-C, so tests can
//! prove what a crash, a full disk or an interrupt at exactly that point leaves behind.
//!
//! Actions: `eio` and `enospc` (the operation fails with that OS error), `abort` (the process
//! dies at once, as with `kill -9`), `interrupt` (as if Ctrl-C were pressed there).
//! Points are named where they are reached: `evaluate` (the test pass of an epoch), and on the
//! save path `write:F` (half of file F written) and `rename:F` (F complete, before its rename)
//! for F in `last`, `optim`, `best`, `manifest`, `metrics`, `state`, then `publish:VIEW` (each
//! view linked into place) and `tidy` (each stale file removed); see [`super::commit`].
//! Unset, every point costs one relaxed atomic load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// What a point was asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail with this OS error number (Linux's: 5 EIO, 28 ENOSPC).
    Os(i32),
    /// Act as if Ctrl-C were pressed here.
    Interrupt,
}

struct Plan {
    point: String,
    action: String,
    nth: u64,
    seen: AtomicU64,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let spec = std::env::var("CNNGPU_FAULT").ok()?;
        // Point names contain ':' (`write:last`): the action and N are read from the right.
        let mut parts: Vec<&str> = spec.split(':').collect();
        let nth = match parts.last().map(|n| n.parse::<u64>()) {
            Some(Ok(n)) => {
                parts.pop();
                n
            }
            _ => 1,
        };
        let action = parts.pop()?.to_string();
        Some(Plan {
            point: parts.join(":"),
            action,
            nth,
            seen: AtomicU64::new(0),
        })
    })
    .as_ref()
}

/// Called at a named point: `None` unless `CNNGPU_FAULT` names it (and this is its N-th
/// arrival). `abort` never returns.
pub fn at(point: &str) -> Option<Fault> {
    let p = plan()?;
    if p.point != point || p.seen.fetch_add(1, Ordering::Relaxed) + 1 != p.nth {
        return None;
    }
    match p.action.as_str() {
        "abort" => {
            eprintln!("CNNGPU_FAULT: aborting at {point}");
            std::process::abort()
        }
        "interrupt" => Some(Fault::Interrupt),
        "enospc" => Some(Fault::Os(28)),
        _ => Some(Fault::Os(5)),
    }
}

/// For points in I/O code: the injected OS error, if any.
pub fn io(point: &str) -> std::io::Result<()> {
    match at(point) {
        Some(Fault::Os(code)) => Err(std::io::Error::from_raw_os_error(code)),
        _ => Ok(()),
    }
}
