//! Kernel timing: while a [`Timer`] is armed, every dispatch is timed — by timestamp queries
//! (its compute pass writes a timestamp at its start and end: pass boundaries only, so Apple
//! GPUs time it too) or by the host's clock (the launch submitted alone and waited for) — and
//! tagged with the scope the model declared (a layer and a pass) and with the CPU span spent
//! encoding it.

use crate::error::{Error, Result};
use std::time::Instant;

/// Dispatches one armed timer can hold (two queries each; wgpu allows 4,096 queries a set).
pub const MAX_TIMED_DISPATCHES: usize = 2048;

/// Empty submissions timed when a host-clock timer is armed; the least is taken off each
/// launch's time (the least, so that no launch is credited with more than the submission
/// costs at its cheapest).
pub const SUBMIT_SAMPLES: usize = 16;

/// How an armed timer times each launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Timestamp queries written by the device at the start and end of the launch's pass.
    Timestamps,
    /// The host's clock around the launch submitted on its own and waited for, after the work
    /// recorded before it has run, less what an empty submission and wait took when the timer
    /// was armed (the least of [`SUBMIT_SAMPLES`]: a step submits once, not once a launch):
    /// right on drivers that run kernels on the CPU, where timestamps can be written outside
    /// the kernels' run (Mesa 22.3 lavapipe once a step writes textures).
    Wall,
}

impl Clock {
    pub fn name(self) -> &'static str {
        match self {
            Clock::Timestamps => "timestamps",
            Clock::Wall => "wall",
        }
    }
}

/// One timed kernel launch.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTiming {
    /// The scope declared before the launch ("features.0", "loss", ...).
    pub scope: String,
    /// The pass of the scope ("forward", "backward_input", ...).
    pub pass: &'static str,
    pub kernel: &'static str,
    /// GPU begin and end in nanoseconds from the first timed pass's begin (timestamps), or
    /// from the moment the timer was armed (wall clock).
    pub gpu_begin_ns: f64,
    pub gpu_end_ns: f64,
    /// CPU span spent encoding the launch (bind group, pass).
    pub cpu_begin: Instant,
    pub cpu_end: Instant,
    /// Host clock only: nanoseconds an empty submission and wait took, taken off this
    /// launch's time (0 with timestamps).
    pub submit_ns: f64,
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
    /// The host's clock around the launch run alone (wall-clock timing only).
    wall: Option<(Instant, Instant)>,
}

/// The armed state: a query set (timestamps only) and the log of what each launch is.
pub(super) struct Timer {
    pub(super) queries: Option<wgpu::QuerySet>,
    pub(super) log: Log,
    origin: Instant,
    /// Host clock only: what an empty submission and wait takes (see [`Clock::Wall`]).
    pub(super) submit_ns: f64,
}

impl Timer {
    pub(super) fn new(device: &wgpu::Device, clock: Clock, submit_ns: f64) -> Self {
        let queries = (clock == Clock::Timestamps).then(|| {
            device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("cnngpu kernel timer"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * MAX_TIMED_DISPATCHES as u32,
            })
        });
        Timer {
            queries,
            log: Log::default(),
            origin: Instant::now(),
            submit_ns,
        }
    }

    pub(super) fn origin(&self) -> Instant {
        self.origin
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
            wall: None,
        });
        Some(2 * (self.entries.len() as u32 - 1))
    }

    pub(super) fn encoded(&mut self) {
        if let Some(e) = self.entries.last_mut() {
            e.cpu_end = Instant::now();
        }
    }

    /// Notes the host's clock around the last launch, run alone.
    pub(super) fn ran(&mut self, begin: Instant, end: Instant) {
        if let Some(e) = self.entries.last_mut() {
            e.wall = Some((begin, end));
        }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The launches timed by the host's clock, in nanoseconds from `origin`, each less
    /// `submit_ns` (what an empty submission and wait took; a launch never goes below 0).
    pub(super) fn finish_wall(self, origin: Instant, submit_ns: f64) -> Result<Vec<KernelTiming>> {
        self.check_dropped()?;
        let ns = |t: Instant| t.saturating_duration_since(origin).as_nanos() as f64;
        self.entries
            .into_iter()
            .map(|e| {
                let (begin, end) = e.wall.ok_or_else(|| {
                    Error::gpu(
                        "profiling",
                        format!("launch {} was not run alone", e.kernel),
                    )
                })?;
                Ok(KernelTiming {
                    scope: e.scope,
                    pass: e.pass,
                    kernel: e.kernel,
                    gpu_begin_ns: ns(begin),
                    gpu_end_ns: (ns(end) - submit_ns).max(ns(begin)),
                    cpu_begin: e.cpu_begin,
                    cpu_end: e.cpu_end,
                    submit_ns,
                })
            })
            .collect()
    }

    fn check_dropped(&self) -> Result<()> {
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
        Ok(())
    }

    /// Pairs the resolved ticks with their launches. All-zero timestamps (an adapter that
    /// accepts the queries but does not time passes) are an error, not a profile of zeros.
    pub(super) fn finish(self, ticks: &[u64], period_ns: f32) -> Result<Vec<KernelTiming>> {
        self.check_dropped()?;
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
                submit_ns: 0.0,
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
    fn wall_clock_times_count_from_the_origin() {
        let origin = Instant::now();
        let mut log = Log::default();
        log.next("conv2d_forward", origin);
        let begin = origin + std::time::Duration::from_micros(5);
        log.ran(begin, begin + std::time::Duration::from_micros(20));
        let t = log.finish_wall(origin, 0.0).unwrap();
        assert_eq!((t[0].gpu_begin_ns, t[0].gpu_ns()), (5000.0, 20000.0));
        let mut unrun = Log::default();
        unrun.next("conv2d_forward", origin);
        let e = unrun.finish_wall(origin, 0.0).unwrap_err().to_string();
        assert!(e.contains("was not run alone"), "{e}");
    }

    #[test]
    fn wall_clock_times_are_less_an_empty_submission_and_never_negative() {
        let origin = Instant::now();
        let us = std::time::Duration::from_micros;
        let mut log = Log::default();
        log.next("conv2d_forward", origin);
        log.ran(origin + us(5), origin + us(25));
        log.next("tanh_forward", origin);
        log.ran(origin + us(30), origin + us(33));
        let t = log.finish_wall(origin, 4000.0).unwrap();
        assert_eq!((t[0].gpu_begin_ns, t[0].gpu_ns()), (5000.0, 16000.0));
        assert_eq!((t[1].gpu_begin_ns, t[1].gpu_ns()), (30000.0, 0.0));
        assert_eq!(t[1].submit_ns, 4000.0);
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
