//! Adapter choice, device creation with the adapter's real limits and our features, and the
//! error plumbing that turns wgpu's validation errors, out-of-memory and device loss into `Err`.

use super::pinning::{self, Pinned};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};

/// Features we use when the adapter has them.
fn wanted_features() -> wgpu::Features {
    wgpu::Features::SHADER_F16
        | wgpu::Features::TIMESTAMP_QUERY
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
        | wgpu::Features::SUBGROUP
        | wgpu::Features::IMMEDIATES
}

/// A wgpu instance over every backend compiled in.
pub fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

/// Every adapter wgpu can see, in enumeration order.
pub fn adapters() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
}

/// How f16 tensors are stored on an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F16Path {
    /// WGSL `f16` (SHADER_F16).
    Native,
    /// Pairs of f16 in u32 (`pack2x16float`), for adapters without SHADER_F16.
    Packed,
    /// No compute shaders at all.
    None,
}

impl F16Path {
    pub fn name(self) -> &'static str {
        match self {
            F16Path::Native => "native",
            F16Path::Packed => "packed",
            F16Path::None => "none",
        }
    }
}

/// What `cnngpu adapters` prints for one adapter.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// `vulkan:0` — what `--adapter` accepts for exactly this adapter.
    pub id: String,
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub f16: F16Path,
    pub timestamps: bool,
    pub subgroup_sizes: (u32, u32),
    pub max_storage_binding: u64,
    pub max_buffer: u64,
}

pub fn backend_name(b: wgpu::Backend) -> &'static str {
    match b {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        _ => "other",
    }
}

/// The best f16 path an adapter offers.
pub fn f16_path(adapter: &wgpu::Adapter) -> F16Path {
    let downlevel = adapter.get_downlevel_capabilities();
    if !downlevel
        .flags
        .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
    {
        F16Path::None
    } else if adapter.features().contains(wgpu::Features::SHADER_F16) {
        F16Path::Native
    } else {
        F16Path::Packed
    }
}

/// Summaries of every adapter, with `backend:index` ids.
pub fn summaries(list: &[wgpu::Adapter]) -> Vec<AdapterSummary> {
    let mut seen: Vec<wgpu::Backend> = Vec::new();
    list.iter()
        .map(|a| {
            let info = a.get_info();
            let index = seen.iter().filter(|&&b| b == info.backend).count();
            seen.push(info.backend);
            let limits = a.limits();
            AdapterSummary {
                id: format!("{}:{index}", backend_name(info.backend)),
                name: info.name.clone(),
                backend: backend_name(info.backend).to_string(),
                device_type: format!("{:?}", info.device_type),
                driver: format!("{} {}", info.driver, info.driver_info)
                    .trim()
                    .to_string(),
                f16: f16_path(a),
                timestamps: a.features().contains(wgpu::Features::TIMESTAMP_QUERY),
                subgroup_sizes: (info.subgroup_min_size, info.subgroup_max_size),
                max_storage_binding: limits.max_storage_buffer_binding_size,
                max_buffer: limits.max_buffer_size,
            }
        })
        .collect()
}

fn preference(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// Picks the adapter `spec` names: `""`/`auto` (the best device), a backend name, `backend:index`,
/// or a case-insensitive substring of the adapter name. (`cpu`, the reference backend, is the
/// caller's business.) Adapters without compute shaders are never chosen automatically.
pub fn choose(list: Vec<wgpu::Adapter>, spec: &str) -> Result<wgpu::Adapter> {
    let ids = summaries(&list);
    let spec_l = spec.trim().to_lowercase();
    let candidates: Vec<usize> = (0..list.len())
        .filter(|&i| {
            let s = &ids[i];
            match spec_l.as_str() {
                "" | "auto" => s.f16 != F16Path::None,
                "vulkan" | "metal" | "dx12" | "gl" => s.backend == spec_l,
                _ if spec_l.contains(':') => s.id == spec_l,
                _ => s.name.to_lowercase().contains(&spec_l),
            }
        })
        .collect();
    let best = candidates
        .into_iter()
        .min_by_key(|&i| (preference(list[i].get_info().device_type), i));
    match best {
        Some(i) => Ok(list.into_iter().nth(i).expect("index from the same list")),
        None => {
            let mut available: Vec<String> = ids
                .iter()
                .map(|s| format!("{} ({}, {})", s.id, s.name, s.device_type))
                .collect();
            available.push("cpu (the reference backend)".into());
            Err(Error::NoAdapter {
                wanted: spec.to_string(),
                available: available.join("; "),
            })
        }
    }
}

/// An open device on one adapter, with errors collected instead of panicking.
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// The CPU driver's worker threads this context pinned (see [`pinning`]).
    pub pinned: Pinned,
    errors: Arc<Mutex<Vec<String>>>,
}

impl GpuContext {
    /// Opens the adapter `spec` names (see [`choose`]); `CNNGPU_ADAPTER` is the caller's default.
    /// On a CPU adapter, pins the driver's worker threads that opening it started.
    pub fn open(spec: &str) -> Result<Self> {
        let before = pinning::Threads::now();
        let mut ctx = Self::from_adapter(choose(adapters(), spec)?)?;
        if ctx.info.device_type == wgpu::DeviceType::Cpu {
            ctx.pinned = pinning::pin_new_pools(&before);
        }
        Ok(ctx)
    }

    /// Opens a device on `adapter` with its full limits and the features we use that it has.
    pub fn from_adapter(adapter: wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let features = adapter.features() & wanted_features();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("cnngpu"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Device {
            adapter: info.name.clone(),
            why: e.to_string(),
        })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.to_string());
        }));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, message| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!("device lost ({reason:?}): {message}"));
        });
        let pinned = Pinned {
            threads: Vec::new(),
            why_not: Some(if info.device_type == wgpu::DeviceType::Cpu {
                "opened without GpuContext::open".into()
            } else {
                "not a CPU adapter".into()
            }),
        };
        Ok(GpuContext {
            adapter,
            device,
            queue,
            info,
            limits,
            features,
            pinned,
            errors,
        })
    }

    /// Returns `Err` with every error wgpu reported since the last call, if any.
    pub fn check(&self, during: &str) -> Result<()> {
        if self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            return Ok(());
        }
        // A lost device reports itself through its callback when the device is next polled;
        // poll once so that the cause comes with the validation errors it led to, first.
        let _ = self.device.poll(wgpu::PollType::Poll);
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors.sort_by_key(|e| !e.starts_with("device lost"));
        let message = errors.join("\n");
        errors.clear();
        Err(Error::gpu(during, message))
    }

    /// `Vulkan: llvmpipe (LLVM 15.0.6, 256 bits) [Cpu]`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} [{:?}, {}]",
            backend_name(self.info.backend),
            self.info.name,
            self.info.device_type,
            self.info.driver
        )
    }

    /// On a CPU adapter, which of the driver's threads were pinned (or why none was).
    pub fn threads_note(&self) -> Option<String> {
        (self.info.device_type == wgpu::DeviceType::Cpu).then(|| self.pinned.describe())
    }

    /// Whether this device runs f16 natively.
    pub fn has_f16(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_F16)
    }
}
