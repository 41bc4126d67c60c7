//! Pins a CPU driver's compute workers one per core (Linux).
//!
//! lavapipe and llvmpipe run a dispatch's workgroups on a pool of worker threads, as many as
//! the host has CPUs, that sleep on a condition variable between dispatches. Woken together
//! by one thread, the workers are often placed on one core by the scheduler, and a dispatch of
//! a millisecond ends before load balancing moves one away: on the 2-core host of 2026-12-05
//! (Mesa 22.3) LeNet-5 conv1's forward pass took 1.40–1.49 ms a repetition with both workers
//! on one core and 0.81–0.87 ms with one per core, and each process fell into either state by
//! chance, sometimes switching midway — the "1.6× drift" between runs measured for weeks.
//!
//! The pool's threads are found without the driver's help: they are the threads that opening
//! the adapter created, carry the name of the thread that created them (the driver does not
//! name them, unlike its `llvmpipe-N` raster threads) and were created back to back, so their
//! thread ids are consecutive. Each such run of two or more threads is spread over the CPUs
//! this thread may run on, one thread a CPU in turn. `CNNGPU_PIN_THREADS=0` turns this off.

/// The threads of this process: (thread id, name).
#[derive(Clone, Debug, Default)]
pub struct Threads(Vec<(i32, String)>);

/// What [`pin_new_pools`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pinned {
    /// (thread id, CPU) for each thread pinned.
    pub threads: Vec<(i32, usize)>,
    /// Why nothing was pinned, when nothing was.
    pub why_not: Option<String>,
}

impl Pinned {
    /// `2 driver workers pinned one per CPU (0, 1)` or why not.
    pub fn describe(&self) -> String {
        if let Some(why) = &self.why_not {
            return format!("driver threads not pinned: {why}");
        }
        let cpus: Vec<String> = self.threads.iter().map(|(_, c)| c.to_string()).collect();
        format!(
            "{} driver workers pinned one per CPU ({})",
            self.threads.len(),
            cpus.join(", ")
        )
    }

    fn not(why: impl Into<String>) -> Self {
        Pinned {
            threads: Vec::new(),
            why_not: Some(why.into()),
        }
    }
}

/// Whether `CNNGPU_PIN_THREADS` leaves pinning on (it is on unless set to `0`).
pub fn enabled() -> bool {
    std::env::var("CNNGPU_PIN_THREADS").map_or(true, |v| v.trim() != "0")
}

impl Threads {
    /// This process's threads now (empty where /proc is not there).
    pub fn now() -> Self {
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return Threads::default();
        };
        let mut list: Vec<(i32, String)> = dir
            .flatten()
            .filter_map(|e| {
                let tid: i32 = e.file_name().to_str()?.parse().ok()?;
                let name = std::fs::read_to_string(e.path().join("comm")).ok()?;
                Some((tid, name.trim_end().to_string()))
            })
            .collect();
        list.sort();
        Threads(list)
    }
}

/// The runs of two or more consecutive ids in `tids` (sorted ascending).
pub fn pools(tids: &[i32]) -> Vec<Vec<i32>> {
    let mut runs: Vec<Vec<i32>> = Vec::new();
    for &t in tids {
        match runs.last_mut() {
            Some(run) if run.last() == Some(&(t - 1)) => run.push(t),
            _ => runs.push(vec![t]),
        }
    }
    runs.retain(|r| r.len() >= 2);
    runs
}

/// Pins each pool of worker threads created since `before` one thread per CPU.
pub fn pin_new_pools(before: &Threads) -> Pinned {
    if !enabled() {
        return Pinned::not("CNNGPU_PIN_THREADS=0");
    }
    let cpus = match sys::allowed_cpus() {
        Some(c) if c.len() >= 2 => c,
        Some(_) => return Pinned::not("this thread may run on one CPU only"),
        None => return Pinned::not("thread affinity is not available on this system"),
    };
    let me = std::fs::read_to_string("/proc/thread-self/comm")
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default();
    let new: Vec<i32> = Threads::now()
        .0
        .into_iter()
        .filter(|(tid, name)| *name == me && !before.0.iter().any(|(b, _)| b == tid))
        .map(|(tid, _)| tid)
        .collect();
    let mut threads = Vec::new();
    for pool in pools(&new) {
        for (i, tid) in pool.into_iter().enumerate() {
            let cpu = cpus[i % cpus.len()];
            if sys::pin(tid, cpu) {
                threads.push((tid, cpu));
            }
        }
    }
    if threads.is_empty() {
        return Pinned::not("opening the adapter started no pool of worker threads");
    }
    Pinned {
        threads,
        why_not: None,
    }
}

/// The CPUs thread `tid` may run on (0: this thread), where the system says.
pub fn affinity(tid: i32) -> Option<Vec<usize>> {
    sys::affinity(tid)
}

#[cfg(target_os = "linux")]
mod sys {
    fn set_of(cpus: &[usize]) -> libc::cpu_set_t {
        // SAFETY: cpu_set_t is a plain bit array; all zeros is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &c in cpus.iter().filter(|&&c| c < libc::CPU_SETSIZE as usize) {
            // SAFETY: `c` is below CPU_SETSIZE, inside the set.
            unsafe { libc::CPU_SET(c, &mut set) };
        }
        set
    }

    pub fn affinity(tid: i32) -> Option<Vec<usize>> {
        let mut set = set_of(&[]);
        // SAFETY: the size passed is the size of `set`, which the call fills.
        let rc = unsafe {
            libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set)
        };
        (rc == 0).then(|| {
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| {
                    // SAFETY: `c` is below CPU_SETSIZE, inside the set.
                    unsafe { libc::CPU_ISSET(c, &set) }
                })
                .collect()
        })
    }

    pub fn allowed_cpus() -> Option<Vec<usize>> {
        affinity(0)
    }

    pub fn pin(tid: i32, cpu: usize) -> bool {
        let set = set_of(&[cpu]);
        // SAFETY: `set` lives across the call and its size is passed with it.
        unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0 }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    pub fn affinity(_tid: i32) -> Option<Vec<usize>> {
        None
    }
    pub fn allowed_cpus() -> Option<Vec<usize>> {
        None
    }
    pub fn pin(_tid: i32, _cpu: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_runs_of_two_or_more_consecutive_ids() {
        assert_eq!(
            pools(&[10, 13, 14, 20, 21, 22, 30]),
            vec![vec![13, 14], vec![20, 21, 22]]
        );
        assert!(pools(&[5]).is_empty());
        assert!(pools(&[]).is_empty());
    }

    #[test]
    fn describe_says_what_was_pinned_or_why_not() {
        let p = Pinned {
            threads: vec![(7, 0), (8, 1)],
            why_not: None,
        };
        assert_eq!(p.describe(), "2 driver workers pinned one per CPU (0, 1)");
        assert_eq!(
            Pinned::not("CNNGPU_PIN_THREADS=0").describe(),
            "driver threads not pinned: CNNGPU_PIN_THREADS=0"
        );
    }
}
