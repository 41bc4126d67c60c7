//! The recorder's write log: every buffer write recorded or queued, numbered in order, so that
//! a copy of a tensor made at one write (a mirror, `gpu::mirrors`) can be checked for later
//! writes.

use super::{lock, Recorder};

/// The most recent buffer writes, numbered in the order they were recorded or queued
/// ([`Recorder::written_since`]); the oldest are forgotten past [`WriteLog::KEPT`].
#[derive(Default)]
pub(super) struct WriteLog {
    /// Writes noted so far.
    count: u64,
    /// The last writes: (number, buffer, start, end).
    recent: std::collections::VecDeque<(u64, wgpu::Buffer, u64, u64)>,
}

impl WriteLog {
    /// A step of the largest network writes a few hundred ranges.
    const KEPT: usize = 4096;
}

impl Recorder {
    /// Numbers a write of bytes [start, end) of `buffer` — recorded work or a queue write —
    /// for [`Recorder::written_since`].
    pub fn log_write(&self, buffer: &wgpu::Buffer, start: u64, end: u64) {
        let mut log = lock(&self.writes);
        log.count += 1;
        let n = log.count;
        if log.recent.len() == WriteLog::KEPT {
            log.recent.pop_front();
        }
        log.recent.push_back((n, buffer.clone(), start, end));
    }

    /// The number of the last write noted ([`Recorder::log_write`]).
    pub fn write_mark(&self) -> u64 {
        lock(&self.writes).count
    }

    /// Whether a write noted after `mark` (or one forgotten since) touches bytes
    /// [start, end) of `buffer`.
    pub fn written_since(&self, mark: u64, buffer: &wgpu::Buffer, start: u64, end: u64) -> bool {
        let log = lock(&self.writes);
        let forgotten = log.recent.front().is_some_and(|w| w.0 > mark + 1);
        forgotten
            || log
                .recent
                .iter()
                .rev()
                .take_while(|w| w.0 > mark)
                .any(|(_, b, s, e)| b == buffer && *s < end && start < *e)
    }
}
