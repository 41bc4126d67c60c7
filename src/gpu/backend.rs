//! `GpuBackend`: the [`Backend`] trait on a wgpu device. Methods validate, then call the
//! launchers in [`super::kernels`], which only record; work runs at `sync` or a download.

use super::buffers::{plan_chunks, Chunk, GpuTensor, View};
use super::context::GpuContext;
use super::gemm_sg::SgTile;
use super::kernels::{Family, Gemm};
use super::recorder::{Constants, DispatchStats, Recorder};
use super::shaders::{PerStep, Storage, KERNELS};
use crate::error::{Error, Result};
use crate::tensor::{DType, Shape};
use std::collections::HashMap;
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// The wgpu backend.
pub struct GpuBackend {
    pub ctx: GpuContext,
    pub(super) recorder: Recorder,
    f16: std::sync::Mutex<Storage>,
    max_binding: u64,
    /// Bound in place of an absent optional tensor (no bias, no weight copy); never accessed.
    dummy: wgpu::Buffer,
    /// A loss-scale state of scale 1 that never overflows, bound when no state is given.
    pub(super) unit_scale: wgpu::Buffer,
    /// The persistent MAP_READ buffer that [`Self::read_together`] copies into (created with
    /// the backend; grown, once, only by a read larger than it).
    readback: std::sync::Mutex<wgpu::Buffer>,
    /// f32 scratch buffers (split-k partial sums, packed GEMM operands, column gradients),
    /// one per [`Scratch`] slot, grown on first need and then reused.
    scratch: std::sync::Mutex<[Option<Arc<wgpu::Buffer>>; Scratch::COUNT]>,
    /// Scratch textures, one per [`Scratch`] slot and texel format (rgba32float, then
    /// rgba16float), grown on first need and then reused.
    textures: std::sync::Mutex<[Option<ScratchTexture>; 2 * Scratch::COUNT]>,
    /// The subgroup GEMM tile for this adapter (None without a fixed subgroup size).
    tile: Option<SgTile>,
    family: std::sync::Mutex<Family>,
    /// A family forced for everything (parity runs and tuning try each family in turn).
    forced: std::sync::Mutex<Option<Family>>,
    /// The family chosen per (kernel pass, shape, storage) by tuning ([`crate::tune`]).
    choices: std::sync::Mutex<HashMap<(&'static str, Gemm, Storage), Family>>,
    /// Weights copied into textures for the linear GEMMs ([`super::weight_textures`]).
    pub(super) weight_textures: super::weight_textures::WeightTextures,
    /// Tensors kept in textures by the launches that produce them ([`super::mirrors`]).
    pub(super) mirrors: super::mirrors::Mirrors,
}

/// The scratch slots: buffers that are live at the same time within one launch need
/// different slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scratch {
    /// Split-k partial sums.
    Partial = 0,
    /// The packed A operand of a subgroup GEMM.
    PackA = 1,
    /// The packed B operand of a subgroup GEMM.
    PackB = 2,
    /// An intermediate result that the pass's next kernel finishes (the column gradient of
    /// conv2d, the window terms of lrn's input gradient).
    Columns = 3,
    /// The per-plane sums of a bias gradient (conv2d_backward_bias_sg).
    PlaneSums = 4,
    /// The chunk sums of a long loss vector (loss_accumulate).
    LossSums = 5,
    /// A tensor copied into a texture for the packing kernel that reads it (conv2d_pack).
    Source = 6,
}

impl Scratch {
    const COUNT: usize = 7;
}

/// A scratch texture and the view kernels bind.
type ScratchTexture = (wgpu::Texture, Arc<wgpu::TextureView>);

/// The texel format of a texture in `storage`'s precision, its bytes a texel and whether it
/// is half precision.
pub(crate) fn storage_texels(storage: Storage) -> (wgpu::TextureFormat, u64, bool) {
    match storage {
        Storage::F32 => (wgpu::TextureFormat::Rgba32Float, 16, false),
        Storage::F16Native | Storage::F16Packed => (wgpu::TextureFormat::Rgba16Float, 8, true),
    }
}

/// Texels a row of a scratch texture: texel i is at (i % TEXTURE_ROW, i / TEXTURE_ROW). 2048
/// (the smallest max_texture_dimension_2d of any adapter) rows of 2048 hold 2^24 floats, the
/// most a packed operand holds (conv2d_sg's SCRATCH_FLOATS).
pub const TEXTURE_ROW: u32 = 2048;

impl GpuBackend {
    /// Wraps an open device; f16 tensors use native f16 where the device has it.
    pub fn new(ctx: GpuContext) -> Self {
        let f16 = if ctx.has_f16() {
            Storage::F16Native
        } else {
            Storage::F16Packed
        };
        let max_binding = ctx.limits.max_storage_buffer_binding_size;
        let tile = subgroup_tile(&ctx);
        let family = Family::default_for(&ctx, tile.is_some());
        let dummy = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("absent tensor"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let unit_scale = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("unit loss scale"),
                contents: bytemuck::cast_slice(&crate::ops::loss_scale::initial_state(1.0)),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let recorder = Recorder::for_adapter(&ctx, per_step_mode(&ctx));
        let readback = std::sync::Mutex::new(readback_buffer(&ctx.device, READBACK_BYTES));
        GpuBackend {
            ctx,
            readback,
            recorder,
            f16: std::sync::Mutex::new(f16),
            max_binding,
            unit_scale,
            dummy,
            scratch: Default::default(),
            textures: Default::default(),
            tile,
            family: std::sync::Mutex::new(family),
            forced: Default::default(),
            choices: Default::default(),
            weight_textures: Default::default(),
            mirrors: Default::default(),
        }
    }

    /// The family a launch of `kernel` (a pass: `conv2d_forward`, ...) at `gemm` in `storage`
    /// uses: a forced family, else the tuned choice, else the adapter's default family.
    pub fn family_for(&self, kernel: &'static str, gemm: Gemm, storage: Storage) -> Family {
        if let Some(f) = *self.forced.lock().unwrap_or_else(|p| p.into_inner()) {
            return f;
        }
        let choices = self.choices.lock().unwrap_or_else(|p| p.into_inner());
        choices
            .get(&(kernel, gemm.choice_key(), storage))
            .copied()
            .unwrap_or_else(|| self.family())
    }

    /// Runs `f` with every launch forced to `family` (then restores what was forced before).
    pub fn with_family<R>(&self, family: Family, f: impl FnOnce() -> Result<R>) -> Result<R> {
        if !self.families().contains(&family) {
            return Err(Error::invalid(
                "kernel family",
                format!(
                    "{} cannot run the {} family: it needs subgroups of one fixed size",
                    self.ctx.info.name,
                    family.name()
                ),
            ));
        }
        let before = self
            .forced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(family);
        let r = f();
        *self.forced.lock().unwrap_or_else(|p| p.into_inner()) = before;
        r
    }

    /// Records the family tuning chose for `kernel` at `gemm` in `storage`.
    pub fn choose(&self, kernel: &'static str, gemm: Gemm, storage: Storage, family: Family) {
        self.choices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((kernel, gemm.choice_key(), storage), family);
    }

    /// The kernel family the GEMM-shaped passes use.
    pub fn family(&self) -> Family {
        *self.family.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every family this adapter can run: tiled and workgroup everywhere (the workgroup
    /// family needs 10 KiB of workgroup memory and 256 invocations, WebGPU's minimum
    /// limits), subgroup and subgroup-wide with a fixed subgroup size.
    pub fn families(&self) -> Vec<Family> {
        let mut v = vec![Family::Tiled];
        if self.tile.is_some() {
            v.push(Family::Subgroup);
            v.push(Family::SubgroupWide);
        }
        v.push(Family::Workgroup);
        v
    }

    /// Forces a kernel family (tests run both on one adapter; `CNNGPU_KERNELS` does it for
    /// a whole run).
    pub fn set_family(&self, family: Family) -> Result<()> {
        if !self.families().contains(&family) {
            return Err(Error::invalid(
                "kernel family",
                format!(
                    "{} cannot run the {} family: it needs subgroups of one fixed size",
                    self.ctx.info.name,
                    family.name()
                ),
            ));
        }
        *self.family.lock().unwrap_or_else(|p| p.into_inner()) = family;
        Ok(())
    }

    /// The subgroup size of the subgroup family (Some exactly when it is available).
    pub fn subgroup_size(&self) -> Option<u32> {
        self.tile.map(|t| t.sg)
    }

    /// Opens the adapter `spec` names (see [`super::context::choose`]).
    pub fn open(spec: &str) -> Result<Self> {
        Ok(Self::new(GpuContext::open(spec)?))
    }

    /// Forces the storage of F16 tensors: `F16Packed` works everywhere; `F16Native` needs
    /// SHADER_F16. (Tests use this to run both paths on one adapter.)
    pub fn set_f16_storage(&self, storage: Storage) -> Result<()> {
        match storage {
            Storage::F16Native if !self.ctx.has_f16() => Err(Error::invalid(
                "f16 storage",
                format!(
                    "{} has no SHADER_F16; use the packed path",
                    self.ctx.info.name
                ),
            )),
            Storage::F32 => Err(Error::invalid("f16 storage", "F32 is not an f16 storage")),
            s => {
                *self.f16.lock().unwrap_or_else(|p| p.into_inner()) = s;
                Ok(())
            }
        }
    }

    /// Lowers the largest storage binding this backend uses below the adapter's, so tests can
    /// exercise the chunked paths with small tensors.
    pub fn with_max_binding(mut self, bytes: u64) -> Self {
        self.max_binding = bytes.min(self.ctx.limits.max_storage_buffer_binding_size);
        self
    }

    /// Reads the per-step values as `mode` says (tests run the uniform path on adapters that
    /// have immediates). Call before any launch: the pipelines are built again.
    pub fn with_per_step(mut self, mode: PerStep) -> Result<Self> {
        if mode == PerStep::Immediates && !has_immediates(&self.ctx) {
            return Err(Error::invalid(
                "per-step values",
                format!("{} has no immediates (IMMEDIATES)", self.ctx.info.name),
            ));
        }
        self.recorder = Recorder::for_adapter(&self.ctx, mode);
        Ok(self)
    }

    /// How kernels read the per-step values on this backend.
    pub fn per_step_mode(&self) -> PerStep {
        self.recorder.per_step_mode()
    }

    /// Updates the per-step values (None: unchanged) for the launches recorded next.
    pub(crate) fn set_per_step(&self, step: Option<u32>, lr: Option<f32>) -> Result<()> {
        self.recorder.set_per_step(&self.ctx, step, lr)
    }

    /// The storage F16 tensors use on this backend.
    pub fn f16_storage(&self) -> Storage {
        *self.f16.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Builds every pipeline for f32 and this backend's f16 storage now, so that no shader
    /// compiles in the middle of a training step.
    pub fn prepare_all(&self) -> Result<()> {
        for k in KERNELS
            .iter()
            .filter(|k| self.tile.is_some() || !k.needs_subgroups())
        {
            for s in [Storage::F32, self.f16_storage()] {
                let tile = self.tile.filter(|_| k.needs_subgroups());
                self.recorder.pipeline(&self.ctx, k.name, s, tile, &[])?;
                // The workgroup family's tile shapes are pipeline constants: each is a pipeline.
                if k.source.contains("//#include gemm_wg") {
                    for ty in super::kernels::WG_THREADS_M {
                        let constants = [("WG_TY", ty)];
                        self.recorder
                            .pipeline(&self.ctx, k.name, s, tile, &constants)?;
                    }
                }
            }
        }
        Ok(())
    }

    pub fn stats(&self) -> DispatchStats {
        self.recorder.stats()
    }

    /// The storage variant for a call whose float tensors are `ts` (all must share a dtype).
    pub(crate) fn storage_of(&self, what: &str, ts: &[&GpuTensor]) -> Result<Storage> {
        let dtype = ts[0].dtype;
        if let Some(t) = ts.iter().find(|t| t.dtype != dtype) {
            return Err(Error::invalid(
                what,
                format!("mixed tensor types {} and {}", dtype.name(), t.dtype.name()),
            ));
        }
        match dtype {
            DType::F32 => Ok(Storage::F32),
            DType::F16 => Ok(self.f16_storage()),
            DType::U32 => Err(Error::invalid(what, "expected float tensors, got u32")),
        }
    }

    /// Chunks of `total` items for tensors of `item_bytes` each (see [`plan_chunks`]).
    pub(crate) fn chunks(
        &self,
        what: &str,
        total: usize,
        item_bytes: &[u64],
    ) -> Result<Vec<Chunk>> {
        let align = self.ctx.limits.min_storage_buffer_offset_alignment as u64;
        plan_chunks(what, total, item_bytes, self.max_binding, align)
    }

    /// Fails unless the whole tensor fits one binding.
    pub(crate) fn fits(&self, what: &str, t: &GpuTensor) -> Result<()> {
        if t.size > self.max_binding {
            return Err(Error::Limit {
                what: format!("{what} {} as one storage binding", t.shape),
                needed: t.size,
                limit: self.max_binding,
            });
        }
        Ok(())
    }

    /// The largest binding this backend uses (the adapter's limit unless lowered for tests).
    pub fn max_binding(&self) -> u64 {
        self.max_binding
    }

    /// An f32 scratch buffer of at least `bytes` in `slot`, shared by all launches (work is
    /// recorded in order, and each user writes before it reads, so sharing is safe).
    pub(crate) fn scratch(&self, slot: Scratch, bytes: u64) -> Arc<wgpu::Buffer> {
        let mut slots = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut slots[slot as usize];
        match slot.as_ref() {
            Some(b) if b.size() >= bytes => b.clone(),
            _ => {
                self.recorder.count_objects(1);
                let b = Arc::new(self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("scratch"),
                    size: bytes.max(16).next_multiple_of(256),
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                }));
                *slot = Some(b.clone());
                b
            }
        }
    }

    /// The given loss-scale state, or the unit one.
    pub(crate) fn scale_view<'a>(&'a self, state: Option<&'a GpuTensor>) -> View<'a> {
        state.map_or(View::buffer(&self.unit_scale), View::whole)
    }

    pub(crate) fn dummy(&self) -> View<'_> {
        View::buffer(&self.dummy)
    }

    /// A scratch texture of at least `texels` rgba32float texels, [`TEXTURE_ROW`] a row, which
    /// kernels write as a storage texture and read with textureLoad (see
    /// shaders/common/conv2d_sg_operands.wgsl); one per slot like [`Self::scratch`].
    pub(crate) fn scratch_texture(
        &self,
        slot: Scratch,
        texels: usize,
    ) -> Result<Arc<wgpu::TextureView>> {
        self.scratch_texture_in(slot, texels, Storage::F32)
    }

    /// [`Self::scratch_texture`] in the texel format of `storage`'s precision
    /// ([`super::shaders::texel_format`]: rgba16float in the f16 storages).
    pub(crate) fn scratch_texture_in(
        &self,
        slot: Scratch,
        texels: usize,
        storage: Storage,
    ) -> Result<Arc<wgpu::TextureView>> {
        let (format, bytes, half) = storage_texels(storage);
        let rows = texels.div_ceil(TEXTURE_ROW as usize).max(1) as u32;
        let limit = self.ctx.limits.max_texture_dimension_2d;
        if rows > limit || TEXTURE_ROW > limit {
            return Err(Error::Limit {
                what: format!("a packed operand (a texture of {format:?})"),
                needed: texels as u64 * bytes,
                limit: limit.min(TEXTURE_ROW) as u64 * limit as u64 * bytes,
            });
        }
        let mut slots = self.textures.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut slots[slot as usize + half as usize * Scratch::COUNT];
        match slot.as_ref() {
            Some((t, v)) if t.height() >= rows => Ok(v.clone()),
            _ => {
                let (t, v) = self.row_texture(
                    "scratch texture",
                    rows,
                    format,
                    wgpu::TextureUsages::STORAGE_BINDING,
                );
                *slot = Some((t, v.clone()));
                Ok(v)
            }
        }
    }

    /// A texture of `rows` rows of [`TEXTURE_ROW`] texels that kernels read with textureLoad
    /// as a read-only storage texture (see `shaders::texture_decl`), and `usage` besides, and
    /// its view; counted as two wgpu objects.
    pub(crate) fn row_texture(
        &self,
        label: &'static str,
        rows: u32,
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
    ) -> ScratchTexture {
        self.recorder.count_objects(2);
        let t = self.ctx.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d {
                width: TEXTURE_ROW,
                height: rows,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: usage | wgpu::TextureUsages::STORAGE_BINDING,
            view_formats: &[],
        });
        let v = Arc::new(t.create_view(&Default::default()));
        (t, v)
    }

    /// Times every launch recorded from now on by `clock` (see [`super::timing`]).
    pub fn arm_timer(&self, clock: super::timing::Clock) -> Result<()> {
        self.recorder.arm_timer(&self.ctx, clock)
    }

    /// Stops timing without reading anything back.
    pub fn disarm_timer(&self) {
        self.recorder.disarm_timer()
    }

    /// Runs pending work and returns the timing of each launch since [`Self::arm_timer`].
    pub fn finish_timer(&self) -> Result<Vec<super::timing::KernelTiming>> {
        self.recorder.finish_timer(&self.ctx)
    }

    /// Records a buffer copy of `src` into `dst` (same size).
    pub fn copy(&self, src: &GpuTensor, dst: &GpuTensor) {
        let size = src.size.min(dst.size);
        self.recorder.with_encoder(&self.ctx, |e| {
            e.copy_buffer_to_buffer(&src.buffer, src.offset, &dst.buffer, dst.offset, size)
        });
        let end = dst.offset + size;
        self.recorder
            .note_written(&self.ctx, &dst.buffer, dst.offset, end);
    }

    /// Records the clearing of `t` to zeros, after the work recorded before.
    pub(crate) fn clear(&self, t: &GpuTensor) {
        self.recorder.with_encoder(&self.ctx, |e| {
            e.clear_buffer(&t.buffer, t.offset, Some(t.size))
        });
        let end = t.offset + t.size;
        self.recorder
            .note_written(&self.ctx, &t.buffer, t.offset, end);
    }

    /// Records one launch (see [`Recorder::dispatch`]).
    pub fn dispatch<U: bytemuck::Pod>(
        &self,
        kernel: &'static str,
        storage: Storage,
        uniform: &U,
        views: &[View<'_>],
        workgroups: u64,
    ) -> Result<()> {
        self.dispatch_with(kernel, storage, &[], uniform, views, workgroups)
    }

    /// Records one launch of the pipeline built with `constants` for the kernel's
    /// `override`s. CPU drivers run both sides of a branch under a lane mask, so a branch on
    /// a uniform value costs both sides; as an override, the untaken side is compiled away.
    pub fn dispatch_with<U: bytemuck::Pod>(
        &self,
        kernel: &'static str,
        storage: Storage,
        constants: &Constants,
        uniform: &U,
        views: &[View<'_>],
        workgroups: u64,
    ) -> Result<()> {
        self.recorder.dispatch(
            &self.ctx, kernel, storage, None, constants, uniform, views, workgroups,
        )
    }

    /// Records one launch of a kernel on the subgroup GEMM core, generated for `tile`.
    pub fn dispatch_sg<U: bytemuck::Pod>(
        &self,
        kernel: &'static str,
        storage: Storage,
        (tile, constants): (SgTile, &Constants),
        uniform: &U,
        views: &[View<'_>],
        workgroups: u64,
    ) -> Result<()> {
        self.recorder.dispatch(
            &self.ctx,
            kernel,
            storage,
            Some(tile),
            constants,
            uniform,
            views,
            workgroups,
        )
    }

    pub(super) fn create(&self, shape: Shape, dtype: DType, bytes: &[u8]) -> Result<GpuTensor> {
        // Buffers hold whole vec4s of f32 (16 bytes), zeros past the data, so that kernels
        // that read and write four elements at once (sgd_update) may run over the last one.
        let padded;
        let bytes = if bytes.len().is_multiple_of(16) && !bytes.is_empty() {
            bytes
        } else {
            padded = [bytes, &[0u8; 16][..16 - bytes.len() % 16]].concat();
            &padded[..]
        };
        let size = bytes.len() as u64;
        if size > self.ctx.limits.max_buffer_size {
            return Err(Error::Limit {
                what: format!("a {} {shape} buffer", dtype.name()),
                needed: size,
                limit: self.ctx.limits.max_buffer_size,
            });
        }
        let buffer = self
            .ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            });
        Ok(GpuTensor {
            buffer: Arc::new(buffer),
            offset: 0,
            size,
            shape,
            dtype,
        })
    }

    /// The bytes of each of `ts`, copied into the persistent readback buffer with the pending
    /// work, in one submit and one map.
    pub(super) fn read_many(&self, ts: &[&GpuTensor]) -> Result<Vec<Vec<u8>>> {
        let mut offsets = Vec::with_capacity(ts.len());
        let mut total = 0u64;
        for t in ts {
            offsets.push(total);
            total += t.size.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        }
        let mut readback = self.readback.lock().unwrap_or_else(|p| p.into_inner());
        if readback.size() < total {
            *readback = readback_buffer(&self.ctx.device, total.next_multiple_of(256));
            self.recorder.count_objects(1);
        }
        self.recorder.with_encoder(&self.ctx, |e| {
            for (t, &o) in ts.iter().zip(&offsets) {
                e.copy_buffer_to_buffer(&t.buffer, t.offset, &readback, o, t.size);
            }
        });
        self.recorder.submit(&self.ctx, "reading back")?;
        let (tx, rx) = std::sync::mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, 0..total.max(4), move |r| {
            let _ = tx.send(r);
        });
        let failed = |e: String| Error::gpu("reading back", e);
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| failed(e.to_string()))?;
        rx.recv()
            .map_err(|e| failed(e.to_string()))?
            .map_err(|e| failed(e.to_string()))?;
        let out = {
            let mapped = readback
                .get_mapped_range(0..total.max(4))
                .map_err(|e| failed(e.to_string()))?;
            ts.iter()
                .zip(&offsets)
                .map(|(t, &o)| mapped[o as usize..(o + t.size) as usize].to_vec())
                .collect()
        };
        readback.unmap();
        Ok(out)
    }

    pub(super) fn read_bytes(&self, t: &GpuTensor) -> Result<Vec<u8>> {
        let size = t.size;
        // A download (weights, logits; not part of a step) gets a staging buffer of its own.
        self.recorder.count_objects(1);
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("download"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.recorder.with_encoder(&self.ctx, |e| {
            e.copy_buffer_to_buffer(&t.buffer, t.offset, &staging, 0, size)
        });
        self.recorder.submit(&self.ctx, "download")?;
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::gpu("download", e.to_string()))?;
        rx.recv()
            .map_err(|e| Error::gpu("download", e.to_string()))?
            .map_err(|e| Error::gpu("download", e.to_string()))?;
        let bytes = staging
            .get_mapped_range(..)
            .map_err(|e| Error::gpu("download", e.to_string()))?
            .to_vec();
        staging.unmap();
        Ok(bytes)
    }
}

/// Whether the device has immediates large enough for the per-step values.
fn has_immediates(ctx: &GpuContext) -> bool {
    ctx.features.contains(wgpu::Features::IMMEDIATES) && ctx.limits.max_immediate_size >= 16
}

/// Immediates where the device has them, unless `CNNGPU_NO_IMMEDIATES=1`.
fn per_step_mode(ctx: &GpuContext) -> PerStep {
    let off = std::env::var("CNNGPU_NO_IMMEDIATES").is_ok_and(|v| v == "1");
    if has_immediates(ctx) && !off {
        PerStep::Immediates
    } else {
        PerStep::Uniform
    }
}

/// The initial size of the persistent readback buffer: metrics, top-k counters and a
/// loss-scale state take 32 bytes.
const READBACK_BYTES: u64 = 256;

fn readback_buffer(device: &wgpu::Device, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// The subgroup GEMM tile of an adapter whose subgroups have one fixed size (lavapipe: 8, or
/// 16 with `LP_NATIVE_VECTOR_WIDTH=512`); None otherwise.
fn subgroup_tile(ctx: &GpuContext) -> Option<SgTile> {
    let info = &ctx.info;
    let fixed = info.subgroup_min_size == info.subgroup_max_size;
    (ctx.features.contains(wgpu::Features::SUBGROUP)
        && fixed
        && (4..=64).contains(&info.subgroup_min_size))
    .then(|| SgTile::for_subgroup(info.subgroup_min_size))
}
