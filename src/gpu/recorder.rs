//! Pipelines (built once, errors captured with error scopes) and the recorder: every kernel
//! launch is a dispatch in one open compute pass of one pending command encoder, submitted
//! only when results are needed — so a whole training step is one compute pass, one command
//! buffer and one submit. (Inside a pass wgpu tracks each dispatch's bindings in a usage scope
//! of its own and inserts a barrier before a dispatch whose storage buffers an earlier one
//! wrote, so dispatches see each other's results as with one pass per kernel.) While the timer
//! is armed, each timed launch gets a pass of its own carrying its timestamp writes.

use super::buffers::View;
use super::context::GpuContext;
use super::gemm_sg::SgTile;
use super::shaders::{self, PerStep, Storage};
use super::timing::Timer;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

mod timer_ops;
mod write_log;

use write_log::WriteLog;

/// The most workgroups one dispatch dimension may have (WebGPU's guaranteed limit).
pub const MAX_WORKGROUPS_PER_DIM: u64 = 65_535;

/// A compiled kernel.
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// Whether the kernel reads the per-step values.
    pub per_step: bool,
    /// The bindings the kernel can write (read_write storage buffers).
    pub writes: Vec<u32>,
}

/// The bindings of the storage buffers `source` declares read_write (none if it does not
/// parse: the pipeline's creation reports that).
fn written_bindings(source: &str) -> Vec<u32> {
    let Ok(module) = naga::front::wgsl::parse_str(source) else {
        return Vec::new();
    };
    module
        .global_variables
        .iter()
        .filter_map(|(_, g)| match (g.space, &g.binding) {
            (naga::AddressSpace::Storage { access }, Some(b))
                if access.contains(naga::StorageAccess::STORE) =>
            {
                Some(b.binding)
            }
            _ => None,
        })
        .collect()
}

/// Whether kernels keep naga's bounds checks: `CNNGPU_CHECKED_SHADERS=1` turns them back on
/// (to hunt an out-of-bounds access; slower).
pub fn checked_shaders() -> bool {
    std::env::var("CNNGPU_CHECKED_SHADERS").is_ok_and(|v| v == "1")
}

/// Counters of what was dispatched (tests use them to prove large work was split).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchStats {
    pub dispatches: u64,
    /// The most workgroups any single dispatch needed.
    pub max_workgroups: u64,
    /// Dispatches whose workgroups were spread over x and y because they exceeded one dimension.
    pub two_dimensional: u64,
    /// wgpu objects created: shader modules and pipelines, launches' uniform buffers and bind
    /// groups (a launch whose kernel, uniform and bindings were seen before reuses them and
    /// creates none), scratch, readback and download buffers. Command encoders (one per
    /// submit, which wgpu cannot reuse) are not counted.
    pub objects_created: u64,
    /// Compute passes begun (one per submit unless the timer is armed or the encoder was
    /// needed for a copy in between).
    pub passes: u64,
    /// Command buffers submitted.
    pub submits: u64,
    /// Bytes written to buffers through the queue (batches, the per-step uniform, zeroed
    /// counters).
    pub bytes_written: u64,
}

/// A launch's bind group, reused by every later launch with the same key.
type GroupKey = (PipelineKey, Vec<u8>, Vec<BoundKey>);

/// What a binding of a cached bind group binds (a [`View`], owned).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum BoundKey {
    Buffer(wgpu::Buffer, u64, Option<u64>),
    Texture(wgpu::TextureView),
}

impl From<&View<'_>> for BoundKey {
    fn from(v: &View<'_>) -> Self {
        match *v {
            View::Buffer {
                buffer,
                offset,
                size,
            } => BoundKey::Buffer(buffer.clone(), offset, size),
            View::Texture(t) => BoundKey::Texture(t.clone()),
        }
    }
}

/// At most this many bind groups are kept (a schedule that changes a uniform every step must
/// not grow the cache without bound); past it the cache starts again.
const MAX_GROUPS: usize = 4096;

/// Splits `n` workgroups into (x, y) with x ≤ 65,535 and as few surplus workgroups as the
/// fewest rows allow (fewer than y); kernels linearise `x + y * num_workgroups.x` and skip the
/// surplus. Balanced rows matter: a driver that hands out contiguous ranges of the grid to
/// its threads (lavapipe) gave 65,536 workgroups as (65,535, 2) all to one thread, and the
/// other one the 65,534 empty ones — AlexNet fc7's weight gradient ran at half speed.
pub fn split_workgroups(n: u64) -> Result<(u32, u32)> {
    let y = n.div_ceil(MAX_WORKGROUPS_PER_DIM).max(1);
    let x = n.div_ceil(y).max(1);
    if y > MAX_WORKGROUPS_PER_DIM {
        return Err(Error::Limit {
            what: "workgroups of one dispatch".into(),
            needed: n,
            limit: MAX_WORKGROUPS_PER_DIM * MAX_WORKGROUPS_PER_DIM,
        });
    }
    Ok((x as u32, y as u32))
}

/// Values of a kernel's `override` constants, by name.
pub type Constants = [(&'static str, u32)];

/// A pipeline: kernel, storage variant, subgroup tile (kernels on the generated subgroup
/// core) and override-constant values.
type PipelineKey = (
    &'static str,
    Storage,
    Option<SgTile>,
    Vec<(&'static str, u32)>,
);

/// Owns the pipeline cache and the pending encoder of one device.
pub struct Recorder {
    pipelines: Mutex<HashMap<PipelineKey, Arc<Pipeline>>>,
    /// Uniform buffers and bind groups of earlier launches, so a step recorded again creates
    /// no wgpu object: the step is planned by its first recording.
    groups: Mutex<HashMap<GroupKey, Arc<wgpu::BindGroup>>>,
    pending: Mutex<Option<Pending>>,
    stats: Mutex<DispatchStats>,
    timer: Mutex<Option<Timer>>,
    per_step: PerStep,
    /// While set, launches build their pipelines and record nothing (see
    /// [`crate::ops::Backend::planning`]).
    planning: Mutex<bool>,
    /// The per-step values of the launches recorded next: step, lr bits, 0, 0.
    per_step_values: Mutex<[u32; 4]>,
    /// The per-step uniform (uniform mode; created on first need unless made up front).
    per_step_buffer: Mutex<Option<Arc<wgpu::Buffer>>>,
    /// Bumped by every submit and every optimizer update recorded: copies of the parameters
    /// made in the same epoch are still current ([`Recorder::params_epoch`]).
    params_epoch: Mutex<u64>,
    /// Bumped by every submit ([`Recorder::submit_id`]).
    submit_id: Mutex<u64>,
    /// Every buffer write recorded or queued, in order ([`Recorder::write_mark`]).
    writes: Mutex<WriteLog>,
}

/// The work recorded for the next submit.
struct Pending {
    /// The open compute pass untimed launches share (declared first: it ends before the
    /// encoder is finished or dropped). Copies and clears on the encoder end it.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: wgpu::CommandEncoder,
    /// Copies that run before everything in `encoder`, submitted with it (parameters into
    /// textures, see [`Recorder::with_prologue`]).
    prologue: Option<wgpu::CommandEncoder>,
    /// Whether `encoder` holds an optimizer update (parameters written).
    params_written: bool,
    /// The buffer ranges the recorded work writes: (buffer, start, end) in bytes.
    written: Vec<(wgpu::Buffer, u64, u64)>,
}

impl Pending {
    fn new(ctx: &GpuContext) -> Self {
        Pending {
            pass: None,
            encoder: ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("cnngpu step"),
                }),
            prologue: None,
            params_written: false,
            written: Vec::new(),
        }
    }

    /// The prologue encoder: copies that run before everything in `encoder`.
    fn prologue(&mut self, ctx: &GpuContext) -> &mut wgpu::CommandEncoder {
        self.prologue.get_or_insert_with(|| {
            ctx.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("cnngpu step copies"),
                })
        })
    }

    /// Ends the open pass, if any, and finishes the prologue (if any) and the encoder, in the
    /// order they run.
    fn finish(mut self) -> Vec<wgpu::CommandBuffer> {
        self.pass.take();
        let mut buffers: Vec<_> = self.prologue.map(|p| p.finish()).into_iter().collect();
        buffers.push(self.encoder.finish());
        buffers
    }
}

/// Waits until the device has run everything submitted, then checks for errors.
fn wait(ctx: &GpuContext, during: &str) -> Result<()> {
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::gpu(during, e.to_string()))?;
    ctx.check(during)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recorder {
    /// A recorder that passes per-step values in a uniform.
    pub fn new() -> Self {
        Self::with_per_step(PerStep::Uniform)
    }

    /// A recorder for `ctx` passing per-step values as `per_step` says; the per-step uniform
    /// (if used) is created now, before any step.
    pub fn for_adapter(ctx: &GpuContext, per_step: PerStep) -> Self {
        let r = Self::with_per_step(per_step);
        if per_step == PerStep::Uniform {
            r.per_step_buffer(ctx);
        }
        r
    }

    fn with_per_step(per_step: PerStep) -> Self {
        Recorder {
            per_step,
            planning: Mutex::new(false),
            per_step_values: Mutex::new([0; 4]),
            per_step_buffer: Mutex::new(None),
            params_epoch: Mutex::new(0),
            submit_id: Mutex::new(0),
            writes: Mutex::default(),
            pipelines: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            pending: Mutex::new(None),
            stats: Mutex::new(DispatchStats::default()),
            timer: Mutex::new(None),
        }
    }

    /// The pipeline of `kernel` in `storage` (with the subgroup core generated for `tile`,
    /// where the kernel has it) with `constants` for its `override`s (the rest keep their
    /// defaults), compiling it on first use. Shader and pipeline errors come back as `Err`
    /// carrying naga's message.
    pub fn pipeline(
        &self,
        ctx: &GpuContext,
        kernel: &'static str,
        storage: Storage,
        tile: Option<SgTile>,
        constants: &Constants,
    ) -> Result<Arc<Pipeline>> {
        let key = (kernel, storage, tile, constants.to_vec());
        if let Some(p) = lock(&self.pipelines).get(&key) {
            return Ok(p.clone());
        }
        let k = shaders::kernel(kernel)?;
        let source = shaders::compose_full(k, storage, tile, self.per_step)?;
        let writes = written_bindings(&source);
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(kernel),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if checked_shaders() {
            ctx.device.create_shader_module(desc)
        } else {
            // SAFETY: every kernel guards its own indices (each load and store is checked
            // against the tensor sizes in the kernel, or reads a buffer padded for the tile),
            // which the parity table proves on every adapter; naga's per-access clamps on top
            // cost up to 2x on CPU drivers (measured: examples/kernel_lab.rs). Drivers with
            // robust buffer access still bound every access.
            unsafe {
                ctx.device
                    .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        };
        let values: Vec<(&str, f64)> = constants.iter().map(|&(n, v)| (n, v as f64)).collect();
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel),
                layout: None,
                module: &module,
                entry_point: Some(kernel),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &values,
                    // No kernel relies on zeroed workgroup memory.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Shader {
                kernel: kernel.into(),
                variant: storage.name().into(),
                message: e.to_string(),
            });
        }
        let layout = pipeline.get_bind_group_layout(0);
        // A shader module and a pipeline.
        lock(&self.stats).objects_created += 2;
        let p = Arc::new(Pipeline {
            pipeline,
            layout,
            per_step: k.uses_per_step(),
            writes,
        });
        lock(&self.pipelines).insert(key, p.clone());
        Ok(p)
    }

    /// Records one kernel launch: uniform at binding 0, `views` at bindings 1.., `workgroups`
    /// linearised over x and y. Nothing runs until [`Recorder::submit`].
    #[allow(clippy::too_many_arguments)]
    pub fn dispatch<U: bytemuck::Pod>(
        &self,
        ctx: &GpuContext,
        kernel: &'static str,
        storage: Storage,
        tile: Option<SgTile>,
        constants: &Constants,
        uniform: &U,
        views: &[View<'_>],
        workgroups: u64,
    ) -> Result<()> {
        let cpu_begin = Instant::now();
        let pipe = self.pipeline(ctx, kernel, storage, tile, constants)?;
        let (x, y) = split_workgroups(workgroups)?;
        if *lock(&self.planning) {
            return Ok(());
        }
        let bytes = bytemuck::bytes_of(uniform);
        let key: GroupKey = (
            (kernel, storage, tile, constants.to_vec()),
            bytes.to_vec(),
            views.iter().map(BoundKey::from).collect(),
        );
        let cached = lock(&self.groups).get(&key).cloned();
        let group = match cached {
            Some(g) => g,
            None => {
                let per_step = match (pipe.per_step, self.per_step) {
                    (true, PerStep::Uniform) => Some(self.per_step_buffer(ctx)),
                    _ => None,
                };
                let g = Arc::new(Self::create_group(
                    ctx,
                    kernel,
                    &pipe,
                    bytes,
                    views,
                    per_step.as_deref(),
                ));
                let mut groups = lock(&self.groups);
                if groups.len() >= MAX_GROUPS {
                    groups.clear();
                }
                groups.insert(key, g.clone());
                lock(&self.stats).objects_created += 2;
                g
            }
        };
        let immediates = (pipe.per_step && self.per_step == PerStep::Immediates)
            .then(|| *lock(&self.per_step_values));
        let mut timer = lock(&self.timer);
        let query = timer.as_mut().and_then(|t| t.log.next(kernel, cpu_begin));
        let launch = |pass: &mut wgpu::ComputePass<'_>| {
            pass.set_pipeline(&pipe.pipeline);
            pass.set_bind_group(0, &*group, &[]);
            if let Some(v) = &immediates {
                pass.set_immediates(0, bytemuck::cast_slice(v));
            }
            pass.dispatch_workgroups(x, y, 1);
        };
        // What the launch writes, for the copies that may run before the pending work
        // ([`Recorder::unwritten`]).
        for (i, v) in views.iter().enumerate() {
            if let View::Buffer {
                buffer,
                offset,
                size,
            } = *v
            {
                if pipe.writes.contains(&(i as u32 + 1)) {
                    let end = size.map_or(buffer.size(), |s| offset + s);
                    self.note_written(ctx, buffer, offset, end);
                }
            }
        }
        let mut slot = lock(&self.pending);
        let mut passes = 0;
        match (query, timer.as_mut()) {
            (Some(_), Some(t)) if t.queries.is_none() => {
                // Timed by the host's clock: what was recorded before runs first, then this
                // launch alone, each submitted and waited for.
                drop(slot);
                self.submit(ctx, "profiling")?;
                let mut alone = Pending::new(ctx);
                launch(
                    &mut alone
                        .encoder
                        .begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(kernel),
                            timestamp_writes: None,
                        }),
                );
                passes += 1;
                *lock(&self.pending) = Some(alone);
                let begin = Instant::now();
                self.submit(ctx, "profiling")?;
                t.log.ran(begin, Instant::now());
            }
            (Some(i), Some(t)) => {
                // A timed launch: a pass of its own with its timestamp writes.
                let pending = slot.get_or_insert_with(|| Pending::new(ctx));
                pending.pass.take();
                let queries = t.queries.as_ref().expect("the timestamp clock has queries");
                launch(
                    &mut pending
                        .encoder
                        .begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(kernel),
                            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                                query_set: queries,
                                beginning_of_pass_write_index: Some(i),
                                end_of_pass_write_index: Some(i + 1),
                            }),
                        }),
                );
                passes += 1;
            }
            _ => {
                let pending = slot.get_or_insert_with(|| Pending::new(ctx));
                if pending.pass.is_none() {
                    let pass = pending
                        .encoder
                        .begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some("cnngpu step"),
                            timestamp_writes: None,
                        })
                        .forget_lifetime();
                    pending.pass = Some(pass);
                    passes += 1;
                }
                launch(pending.pass.as_mut().expect("opened above"));
            }
        }
        if let (Some(_), Some(t)) = (query, timer.as_mut()) {
            t.log.encoded();
        }
        let mut stats = lock(&self.stats);
        stats.passes += passes;
        stats.dispatches += 1;
        stats.max_workgroups = stats.max_workgroups.max(workgroups);
        stats.two_dimensional += (y > 1) as u64;
        Ok(())
    }

    /// The uniform buffer and bind group of a launch. The uniform is created empty and written
    /// through the queue (staged before the submit that uses it): unlike a buffer mapped at
    /// creation, this reports a lost device as an error at the next check instead of panicking
    /// inside wgpu.
    fn create_group(
        ctx: &GpuContext,
        kernel: &'static str,
        pipe: &Pipeline,
        bytes: &[u8],
        views: &[View<'_>],
        per_step: Option<&wgpu::Buffer>,
    ) -> wgpu::BindGroup {
        let params = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(kernel),
            size: bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&params, 0, bytes);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        for (i, v) in views.iter().enumerate() {
            let resource = match *v {
                View::Buffer {
                    buffer,
                    offset,
                    size,
                } => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer,
                    offset,
                    size: size.and_then(NonZeroU64::new),
                }),
                View::Texture(t) => wgpu::BindingResource::TextureView(t),
            };
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource,
            });
        }
        if let Some(b) = per_step {
            entries.push(wgpu::BindGroupEntry {
                binding: shaders::PER_STEP_BINDING,
                resource: b.as_entire_binding(),
            });
        }
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel),
            layout: &pipe.layout,
            entries: &entries,
        })
    }

    /// Runs `f` on the pending encoder (copies, clears), creating it if needed; an open
    /// compute pass ends first (a copy cannot be recorded inside a pass).
    pub fn with_encoder<R>(
        &self,
        ctx: &GpuContext,
        f: impl FnOnce(&mut wgpu::CommandEncoder) -> R,
    ) -> R {
        let mut pending = lock(&self.pending);
        let pending = pending.get_or_insert_with(|| Pending::new(ctx));
        pending.pass.take();
        f(&mut pending.encoder)
    }

    /// Records `f` (copies out of parameters) so that it runs before all the pending work —
    /// in the prologue, outside the compute pass — while that work holds no optimizer
    /// update, the only kernel that writes parameters; after one, in order on the encoder
    /// (ending the open pass). Either way the copy sees the parameters that the launches
    /// recorded next read.
    pub fn with_prologue<R>(
        &self,
        ctx: &GpuContext,
        f: impl FnOnce(&mut wgpu::CommandEncoder) -> R,
    ) -> R {
        let mut guard = lock(&self.pending);
        let pending = guard.get_or_insert_with(|| Pending::new(ctx));
        if !pending.params_written {
            return f(pending.prologue(ctx));
        }
        drop(guard);
        self.with_encoder(ctx, f)
    }

    /// Notes that the work recorded next writes bytes [start, end) of `buffer`.
    pub fn note_written(&self, ctx: &GpuContext, buffer: &wgpu::Buffer, start: u64, end: u64) {
        if *lock(&self.planning) {
            return;
        }
        self.log_write(buffer, start, end);
        lock(&self.pending)
            .get_or_insert_with(|| Pending::new(ctx))
            .written
            .push((buffer.clone(), start, end));
    }

    /// Whether no work recorded since the last submit writes any of bytes [start, end) of
    /// `buffer`: a copy of them made before that work ([`Recorder::in_prologue`]) holds what
    /// a launch recorded now would read.
    pub fn unwritten(&self, buffer: &wgpu::Buffer, start: u64, end: u64) -> bool {
        lock(&self.pending).as_ref().is_none_or(|p| {
            !p.written
                .iter()
                .any(|(b, s, e)| b == buffer && *s < end && start < *e)
        })
    }

    /// Records `f` (copies) to run before all the pending work, outside the compute pass;
    /// for copies of buffer ranges that work does not write ([`Recorder::unwritten`]).
    pub fn in_prologue<R>(
        &self,
        ctx: &GpuContext,
        f: impl FnOnce(&mut wgpu::CommandEncoder) -> R,
    ) -> R {
        let mut guard = lock(&self.pending);
        f(guard.get_or_insert_with(|| Pending::new(ctx)).prologue(ctx))
    }

    /// Counts submits: a copy made in the prologue of submit n serves the launches recorded
    /// until it is submitted.
    pub fn submit_id(&self) -> u64 {
        *lock(&self.submit_id)
    }

    /// Notes that an optimizer update (a write of parameters) is being recorded: copies of
    /// parameters made before it are stale from here on.
    pub fn note_params_written(&self, ctx: &GpuContext) {
        if *lock(&self.planning) {
            return;
        }
        lock(&self.pending)
            .get_or_insert_with(|| Pending::new(ctx))
            .params_written = true;
        *lock(&self.params_epoch) += 1;
    }

    /// Which copies of parameters are current: one made in this epoch (since the last
    /// submit and the last optimizer update recorded).
    pub fn params_epoch(&self) -> u64 {
        *lock(&self.params_epoch)
    }

    /// Whether launches are only being planned (nothing recorded).
    pub fn planning(&self) -> bool {
        *lock(&self.planning)
    }

    /// Submits the pending work (if any): its prologue and its encoder, one submit.
    fn submit_pending(&self, ctx: &GpuContext) {
        if let Some(pending) = lock(&self.pending).take() {
            ctx.queue.submit(pending.finish());
            lock(&self.stats).submits += 1;
            *lock(&self.params_epoch) += 1;
            *lock(&self.submit_id) += 1;
        }
    }

    /// Submits the pending encoder (if any) as one command buffer, without waiting.
    pub fn flush(&self, ctx: &GpuContext, during: &str) -> Result<()> {
        self.submit_pending(ctx);
        ctx.check(during)
    }

    /// Submits the pending encoder (if any) as one command buffer and waits for the device.
    pub fn submit(&self, ctx: &GpuContext, during: &str) -> Result<()> {
        self.submit_pending(ctx);
        wait(ctx, during)
    }

    /// Turns planning on or off (see [`crate::ops::Backend::planning`]).
    pub fn set_planning(&self, on: bool) {
        *lock(&self.planning) = on;
    }

    /// How kernels read the per-step values.
    pub fn per_step_mode(&self) -> PerStep {
        self.per_step
    }

    /// The per-step uniform, created on first need.
    fn per_step_buffer(&self, ctx: &GpuContext) -> Arc<wgpu::Buffer> {
        lock(&self.per_step_buffer)
            .get_or_insert_with(|| {
                lock(&self.stats).objects_created += 1;
                let b = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("per-step values"),
                    size: 16,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                ctx.queue
                    .write_buffer(&b, 0, bytemuck::bytes_of(&*lock(&self.per_step_values)));
                Arc::new(b)
            })
            .clone()
    }

    /// Sets the per-step values of the launches recorded from now on (None: unchanged). With
    /// immediates each launch carries them; with the uniform, a change submits the work
    /// recorded so far (which must see the old values) and writes the 16 bytes once.
    pub fn set_per_step(&self, ctx: &GpuContext, step: Option<u32>, lr: Option<f32>) -> Result<()> {
        let mut values = *lock(&self.per_step_values);
        if let Some(s) = step {
            values[0] = s;
        }
        if let Some(lr) = lr {
            values[1] = lr.to_bits();
        }
        if values == *lock(&self.per_step_values) || *lock(&self.planning) {
            return Ok(());
        }
        if self.per_step == PerStep::Uniform {
            self.flush(ctx, "writing the per-step values")?;
            let buffer = self.per_step_buffer(ctx);
            ctx.queue
                .write_buffer(&buffer, 0, bytemuck::cast_slice(&values));
            lock(&self.stats).bytes_written += 16;
        }
        *lock(&self.per_step_values) = values;
        Ok(())
    }

    /// Writes `data` to `buffer` from byte `offset` through the queue (it lands before the
    /// next submit), counts its bytes and logs the write ([`Recorder::log_write`]).
    pub fn queue_write(
        &self,
        ctx: &GpuContext,
        (buffer, offset): (&wgpu::Buffer, u64),
        data: &[u8],
    ) {
        ctx.queue.write_buffer(buffer, offset, data);
        lock(&self.stats).bytes_written += data.len() as u64;
        self.log_write(buffer, offset, offset + data.len() as u64);
    }

    /// Counts wgpu objects created outside dispatches (a grown readback buffer).
    pub fn count_objects(&self, n: u64) {
        lock(&self.stats).objects_created += n;
    }

    /// Whether work is recorded and not yet submitted.
    pub fn has_pending(&self) -> bool {
        lock(&self.pending).is_some()
    }

    pub fn stats(&self) -> DispatchStats {
        *lock(&self.stats)
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_dispatches_split_into_balanced_rows() {
        for n in [
            1,
            2,
            65_535,
            65_536,
            65_537,
            131_040,
            131_071,
            1 << 20,
            4_000_000_000,
        ] {
            let (x, y) = split_workgroups(n).unwrap();
            let (x, y) = (x as u64, y as u64);
            assert!(x <= MAX_WORKGROUPS_PER_DIM && x * y >= n, "{n}: ({x}, {y})");
            // The surplus is less than one workgroup a row.
            assert!(x * y - n < y, "{n}: ({x}, {y})");
            assert_eq!(y, n.div_ceil(MAX_WORKGROUPS_PER_DIM), "{n}: fewest rows");
        }
        assert_eq!(split_workgroups(65_536).unwrap(), (32_768, 2));
        assert_eq!(split_workgroups(0).unwrap(), (1, 1));
        assert!(split_workgroups(MAX_WORKGROUPS_PER_DIM.pow(2) + 1).is_err());
    }
}
