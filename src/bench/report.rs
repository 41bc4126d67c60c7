//! The benchmark JSON (one schema for cnngpu and the PyTorch script), loading with clear
//! errors, and `bench compare`: results side by side with ratios.

use super::suite::Work;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The schema tag every report carries.
pub const SCHEMA: &str = "cnngpu-bench/1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Ceiling,
    Kernel,
    Train,
}

/// One measured (or skipped) item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub group: Group,
    /// The headline number: GFLOP/s or GB/s (ceilings), ms (kernels), images/s (training).
    pub value: Option<f64>,
    pub unit: String,
    pub higher_is_better: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images_per_s: Option<f64>,
    /// Why this run did not measure the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The kernel family that ran (`subgroup`, `tiled`) for GEMM-shaped kernels and training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Entry {
    pub fn new(id: &str, work: &Work) -> Self {
        let (group, unit, higher) = match work {
            Work::FmaPeak => (Group::Ceiling, "GFLOP/s", true),
            Work::Copy => (Group::Ceiling, "GB/s", true),
            Work::Kernel { .. } => (Group::Kernel, "ms", false),
            Work::Train { .. } => (Group::Train, "images/s", true),
        };
        Entry {
            id: id.into(),
            group,
            value: None,
            unit: unit.into(),
            higher_is_better: higher,
            ms: None,
            gflops: None,
            gbps: None,
            images_per_s: None,
            skipped: None,
            variant: None,
        }
    }

    pub fn set_value(&mut self, v: f64) {
        self.value = Some(v);
    }

    /// Fills the entry from seconds per repetition and the work of one repetition.
    pub fn set_timing(&mut self, secs: f64, flops: u64, bytes: u64, images: usize) {
        let ms = secs * 1e3;
        self.ms = Some(ms);
        self.gflops = (flops > 0).then(|| flops as f64 / secs / 1e9);
        self.gbps = (bytes > 0).then(|| bytes as f64 / secs / 1e9);
        self.images_per_s = (images > 0).then(|| images as f64 / secs);
        self.value = match self.group {
            Group::Train => self.images_per_s,
            _ => Some(ms),
        };
    }
}

/// Where the numbers were measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct System {
    pub adapter: String,
    /// vulkan, metal, dx12, gl — or the framework's device for other tools ("cpu").
    pub backend: String,
    pub driver: String,
    pub device_type: String,
    pub os: String,
    pub cpu: String,
    /// On a CPU adapter, which of the driver's threads were pinned (or why none was); empty
    /// elsewhere and in reports written before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub driver_threads: String,
}

impl System {
    /// The adapter of `b`, this OS and CPU.
    pub fn detect(b: &crate::gpu::GpuBackend) -> Self {
        let info = &b.ctx.info;
        System {
            adapter: info.name.clone(),
            backend: crate::gpu::context::backend_name(info.backend).into(),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            device_type: format!("{:?}", info.device_type),
            os: os_name(),
            cpu: cpu_name(),
            driver_threads: b.ctx.threads_note().unwrap_or_default(),
        }
    }
}

/// `Debian GNU/Linux 12 (bookworm), linux x86_64` where /etc/os-release exists.
pub fn os_name() -> String {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
    let base = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    pretty.map_or(base.clone(), |p| format!("{p}, {base}"))
}

/// The CPU model and logical core count (model from /proc/cpuinfo on Linux).
pub fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{}, {cores} logical cores",
        model.unwrap_or_else(|| std::env::consts::ARCH.into())
    )
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    /// "cnngpu" or "pytorch".
    pub tool: String,
    pub version: String,
    pub git_commit: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub quick: bool,
    pub system: System,
    pub results: Vec<Entry>,
}

impl Report {
    /// An empty cnngpu report for `system`, stamped with this build and the time now.
    pub fn new(system: System, quick: bool) -> Self {
        Report {
            schema: SCHEMA.into(),
            tool: "cnngpu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: env!("CNNGPU_GIT_COMMIT").into(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            quick,
            system,
            results: Vec::new(),
        }
    }

    /// A short label for tables and charts: tool and backend.
    pub fn label(&self) -> String {
        format!("{} {}", self.tool, self.system.backend)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }

    /// Parses a report, naming `path` in every error.
    pub fn parse(text: &str, path: &Path) -> Result<Report> {
        let bad = |why: String| Error::data(path, why);
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(bad(format!(
                    "schema '{other}' is not supported (expected '{SCHEMA}')"
                )))
            }
            None => {
                return Err(bad(format!(
                    "no \"schema\": \"{SCHEMA}\" field: not a cnngpu bench report"
                )))
            }
        }
        serde_json::from_value(value).map_err(|e| bad(format!("not a bench report: {e}")))
    }

    pub fn load(path: &Path) -> Result<Report> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Report::parse(&text, path)
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.results.iter().find(|e| e.id == id)
    }
}

/// How much faster `other` is than `base` (> 1: faster), from their headline values.
pub fn speedup(base: &Entry, other: &Entry) -> Option<f64> {
    let (a, b) = (base.value?, other.value?);
    if a <= 0.0 || b <= 0.0 {
        return None;
    }
    Some(if base.higher_is_better { b / a } else { a / b })
}

/// One row of a comparison: an id and each report's entry (if it has one).
pub struct CompareRow<'a> {
    pub id: &'a str,
    pub unit: &'a str,
    pub entries: Vec<Option<&'a Entry>>,
}

/// The ids of all reports in first-seen order, each with every report's entry.
pub fn rows<'a>(reports: &'a [Report]) -> Vec<CompareRow<'a>> {
    let mut ids: Vec<&str> = Vec::new();
    for r in reports {
        for e in &r.results {
            if !ids.contains(&e.id.as_str()) {
                ids.push(&e.id);
            }
        }
    }
    ids.into_iter()
        .map(|id| {
            let entries: Vec<Option<&Entry>> = reports.iter().map(|r| r.get(id)).collect();
            let unit = entries
                .iter()
                .flatten()
                .next()
                .map_or("", |e| e.unit.as_str());
            CompareRow { id, unit, entries }
        })
        .collect()
}

fn cell(e: Option<&Entry>) -> String {
    match e {
        None => "—".into(),
        Some(e) if e.skipped.is_some() => "skipped".into(),
        Some(e) => e.value.map_or("—".into(), |v| {
            if v >= 100.0 {
                format!("{v:.0}")
            } else if v >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.4}")
            }
        }),
    }
}

/// A Markdown table: one column per report, then each report's speed relative to the first
/// ("2.00x" = twice as fast), and the geometric mean of the ratios per group.
pub fn compare_table(reports: &[Report]) -> String {
    let mut out = String::new();
    for (i, r) in reports.iter().enumerate() {
        out.push_str(&format!(
            "{}: {} — {} ({}, driver {}{}), {} {}, {}, commit {}{}\n",
            (b'A' + i as u8) as char,
            r.label(),
            r.system.adapter,
            r.system.device_type,
            r.system.driver,
            match r.system.driver_threads.as_str() {
                "" => String::new(),
                note => format!("; {note}"),
            },
            r.tool,
            r.version,
            r.created,
            r.git_commit,
            if r.quick { ", --quick" } else { "" }
        ));
    }
    out.push('\n');
    let names: Vec<String> = (0..reports.len())
        .map(|i| ((b'A' + i as u8) as char).to_string())
        .collect();
    out.push_str("| id | unit |");
    for n in &names {
        out.push_str(&format!(" {n} |"));
    }
    for n in names.iter().skip(1) {
        out.push_str(&format!(" {n} vs A |"));
    }
    out.push('\n');
    out.push_str("|---|---|");
    out.push_str(&"---:|".repeat(2 * reports.len() - 1));
    out.push('\n');
    let rows = rows(reports);
    for row in &rows {
        out.push_str(&format!("| {} | {} |", row.id, row.unit));
        for e in &row.entries {
            out.push_str(&format!(" {} |", cell(*e)));
        }
        for e in row.entries.iter().skip(1) {
            let ratio = match (row.entries[0], e) {
                (Some(a), Some(b)) => speedup(a, b),
                _ => None,
            };
            out.push_str(&format!(
                " {} |",
                ratio.map_or("—".into(), |r| format!("{r:.2}x"))
            ));
        }
        out.push('\n');
    }
    if reports.len() > 1 {
        out.push_str("\nGeometric mean of the speed ratios (items both measured):\n");
        for (i, n) in names.iter().enumerate().skip(1) {
            for group in [Group::Ceiling, Group::Kernel, Group::Train] {
                let ratios: Vec<f64> = rows
                    .iter()
                    .filter_map(|row| match (row.entries[0], row.entries[i]) {
                        (Some(a), Some(b)) if a.group == group => speedup(a, b),
                        _ => None,
                    })
                    .collect();
                if ratios.is_empty() {
                    continue;
                }
                let g = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
                out.push_str(&format!(
                    "- {n} vs A, {:?} ({} items): {g:.2}x\n",
                    group,
                    ratios.len()
                ));
            }
        }
    }
    out
}
