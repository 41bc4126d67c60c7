//! Kernel timing with timestamp queries: while a [`Timer`] is armed, every dispatch's compute
//! pass writes a timestamp at its start and end (pass boundaries only, so Apple GPUs time it
//! too), tagged with the scope the model declared (a layer and a pass) and with the CPU span
//! spent encoding it.

use crate::error::{Error, Result};
use std::time::Instant;

/// Dispatches one armed timer can hold (two queries each; wgpu allows 4,096 queries a set).
pub const MAX_TIMED_DISPATCHES: usize = 2048;

/// One timed kernel launch.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTiming {
    /// The scope declared before the launch ("features.0", "loss", ...).
    pub scope: String,
    /// The pass of the scope ("forward", "backward_input", ...).
    pub pass: &'static str,
    pub kernel: &'static str,
    /// GPU begin and end in nanoseconds from the first timed pass's begin.
    pub gpu_begin_ns: f64,
    pub gpu_end_ns: f64,
    /// CPU span spent encoding the launch (bind group, pass).
    pub cpu_begin: Instant,
    pub cpu_end: Instant,
}

impl KernelTiming {
    pub fn gpu_ns(&self) -> f64 {
        self.gpu_end_ns - self.gpu_begin_ns
    }
}

struct Pending {
    scope: String,
    pass: &'static str,
    kernel: &'static str,
    cpu_begin: Instant,
    cpu_end: Instant,
}

/// The armed state: a query set and the log of what each pair of queries belongs to.
pub(super) struct Timer {
    pub(super) queries: wgpu::QuerySet,
    pub(super) log: Log,
}

impl Timer {
    pub(super) fn new(device: &wgpu::Device) -> Self {
        let queries = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("cnngpu kernel timer"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * MAX_TIMED_DISPATCHES as u32,
        });
        Timer {
            queries,
            log: Log::default(),
        }
    }
}

/// Which launch each pair of queries belongs to (no GPU objects: testable on its own).
pub(super) struct Log {
    entries: Vec<Pending>,
    scope: String,
    pass: &'static str,
    dropped: usize,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            entries: Vec::new(),
            scope: "other".into(),
            pass: "other",
            dropped: 0,
        }
    }
}

impl Log {
    pub(super) fn set_scope(&mut self, scope: &str, pass: &'static str) {
        self.scope.clear();
        self.scope.push_str(scope);
        self.pass = pass;
    }

    /// The query indices of the next launch, or `None` when the set is full (counted).
    pub(super) fn next(&mut self, kernel: &'static str, cpu_begin: Instant) -> Option<u32> {
        if self.entries.len() == MAX_TIMED_DISPATCHES {
            self.dropped += 1;
            return None;
        }
        self.entries.push(Pending {
            scope: self.scope.clone(),
            pass: self.pass,
            kernel,
            cpu_begin,
            cpu_end: cpu_begin,
        });
        Some(2 * (self.entries.len() as u32 - 1))
    }

    pub(super) fn encoded(&mut self) {
        if let Some(e) = self.entries.last_mut() {
            e.cpu_end = Instant::now();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Pairs the resolved ticks with their launches. All-zero timestamps (an adapter that
    /// accepts the queries but does not time passes) are an error, not a profile of zeros.
    pub(super) fn finish(self, ticks: &[u64], period_ns: f32) -> Result<Vec<KernelTiming>> {
        if self.dropped > 0 {
            return Err(Error::gpu(
                "profiling",
                format!(
                    "{} launches were not timed: one profiled step may time at most \
                     {MAX_TIMED_DISPATCHES}",
                    self.dropped
                ),
            ));
        }
        if !self.entries.is_empty() && ticks.iter().all(|&t| t == 0) {
            return Err(Error::gpu(
                "profiling",
                "the adapter wrote all-zero timestamps: it accepts timestamp queries but does \
                 not time compute passes, so per-kernel times cannot be measured here",
            ));
        }
        let origin = ticks.iter().step_by(2).copied().min().unwrap_or(0);
        let ns = |t: u64| t.saturating_sub(origin) as f64 * period_ns as f64;
        Ok(self
            .entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| KernelTiming {
                scope: e.scope,
                pass: e.pass,
                kernel: e.kernel,
                gpu_begin_ns: ns(ticks[2 * i]),
                gpu_end_ns: ns(ticks[2 * i + 1]).max(ns(ticks[2 * i])),
                cpu_begin: e.cpu_begin,
                cpu_end: e.cpu_end,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(launches: usize) -> Log {
        let mut log = Log::default();
        log.set_scope("conv1", "forward");
        for _ in 0..launches {
            log.next("conv2d_forward", Instant::now());
            log.encoded();
        }
        log
    }

    #[test]
    fn ticks_become_nanoseconds_from_the_first_begin() {
        let t = log(2).finish(&[1000, 1500, 1600, 2600], 2.0).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].gpu_begin_ns, t[0].gpu_end_ns), (0.0, 1000.0));
        assert_eq!((t[1].gpu_begin_ns, t[1].gpu_ns()), (1200.0, 2000.0));
        assert_eq!((t[1].scope.as_str(), t[1].pass), ("conv1", "forward"));
    }

    #[test]
    fn all_zero_timestamps_are_an_error() {
        let e = log(3).finish(&[0; 6], 1.0).unwrap_err().to_string();
        assert!(e.contains("all-zero timestamps"), "{e}");
    }

    #[test]
    fn launches_past_the_query_set_are_an_error() {
        let e = log(MAX_TIMED_DISPATCHES + 2)
            .finish(&vec![1; 2 * MAX_TIMED_DISPATCHES], 1.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 launches were not timed"), "{e}");
    }
}
