//! Weights as textures for the subgroup family's linear GEMMs. On Mesa 22.3 lavapipe a
//! storage-buffer load runs lane by lane while a texture load is one gather, so the GEMMs
//! that stream a large weight matrix read it from a texture: AlexNet fc6's forward at batch
//! 16 (half its rows, examples/lab/gemm_operands.py) ran in 112-126 ms with both operands in
//! buffers, 56-62 with the weights in a texture and 31-46 with x too; copying the 151 MB of
//! fc6's weights into textures takes 27-32 ms (a transfer, which lavapipe runs as a memcpy;
//! examples/lab_copy.rs), while a kernel copying them would load the buffer lane by lane.
//! Mesa 25 loads buffers about as fast (31-56 ms either way), so there the copy is the cost.
//!
//! A weight's texture is made on first use and kept (keyed by the weight's buffer range); it
//! is refilled once per submit, before the step's compute pass ([`Recorder::with_prologue`]),
//! so a training step's forward and backward passes share one copy and the step stays one
//! compute pass.
//!
//! [`Recorder::with_prologue`]: super::recorder::Recorder::with_prologue

use super::backend::TEXTURE_ROW;
use super::buffers::GpuTensor;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::tensor::DType;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The most bytes of weight textures kept; past it the cache starts again (a test suite that
/// makes many layers must not hold a texture for each).
const BUDGET: u64 = 1 << 30;

/// A weight range: its buffer, byte offset and byte length.
type Key = (wgpu::Buffer, u64, u64);

struct Entry {
    texture: wgpu::Texture,
    view: Arc<wgpu::TextureView>,
    bytes: u64,
    /// The parameters' epoch the texture was last filled in (see `Recorder::params_epoch`).
    filled: Option<u64>,
}

/// The weight textures of one backend, and its tensor copies ([`GpuBackend::tensor_texture`]).
#[derive(Default)]
pub struct WeightTextures {
    entries: Mutex<HashMap<Key, Entry>>,
    /// Tensor ranges copied into textures; `filled` holds the submit whose prologue copies.
    copies: Mutex<HashMap<Key, Entry>>,
    /// Set to pack every operand with a kernel instead (tests of the packing kernels).
    copies_off: std::sync::atomic::AtomicBool,
}

/// The texture format of a weight stored as `dtype` (weights are f32 or f16) and its bytes
/// a texel: one texel holds four weights.
fn format(dtype: DType) -> (wgpu::TextureFormat, u32) {
    match dtype {
        DType::F16 => (wgpu::TextureFormat::Rgba16Float, 8),
        _ => (wgpu::TextureFormat::Rgba32Float, 16),
    }
}

impl GpuBackend {
    /// The most rows of `cols` weights one weight texture holds on this adapter.
    pub(crate) fn weight_texture_rows(&self, cols: usize) -> usize {
        let texels = TEXTURE_ROW as usize * self.ctx.limits.max_texture_dimension_2d as usize;
        texels * 4 / cols.max(1)
    }

    /// Rows [start, start + count) of the weight `w` (rows of `cols` weights, cols % 4 == 0)
    /// as a texture for textureLoad: vec4 i of the range at texel (i % TEXTURE_ROW,
    /// i / TEXTURE_ROW), rgba32float for f32 weights and rgba16float for f16 ones. Filled
    /// from the buffer before the pending work unless already filled since the parameters
    /// last changed (the last submit or optimizer update).
    pub(crate) fn weight_texture(
        &self,
        w: &GpuTensor,
        (start, count): (usize, usize),
        cols: usize,
    ) -> Result<Arc<wgpu::TextureView>> {
        let (format, texel_bytes) = format(w.dtype);
        let texels = (count * cols / 4) as u32;
        let rows = texels.div_ceil(TEXTURE_ROW).max(1);
        let limit = self.ctx.limits.max_texture_dimension_2d;
        if rows > limit || TEXTURE_ROW > limit || !cols.is_multiple_of(4) {
            return Err(Error::Limit {
                what: format!("a weight texture ({count} rows of {cols})"),
                needed: texels as u64 * texel_bytes as u64,
                limit: limit.min(TEXTURE_ROW) as u64 * limit as u64 * texel_bytes as u64,
            });
        }
        let offset = w.offset + (start * cols * w.dtype.size()) as u64;
        let bytes = texels as u64 * texel_bytes as u64;
        let key: Key = ((*w.buffer).clone(), offset, bytes);
        let mut entries = self
            .weight_textures
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let entry = self.cached(&mut entries, key, rows, format, "weight texture");
        let epoch = self.recorder.params_epoch();
        if self.recorder.planning() || entry.filled == Some(epoch) {
            return Ok(entry.view.clone());
        }
        entry.filled = Some(epoch);
        let texture = &entry.texture;
        self.recorder.with_prologue(&self.ctx, |e| {
            copy_rows(e, (&w.buffer, offset), texture, texels, texel_bytes)
        });
        Ok(entry.view.clone())
    }

    /// The entry of `key` (buffer, offset, bytes) in `entries`: a texture of `rows` rows made
    /// on first use (unfilled); past [`BUDGET`] the map starts again. (A buffer hashes and
    /// compares by its id, which never changes, whatever clippy infers from its interior.)
    #[allow(clippy::mutable_key_type)]
    fn cached<'a>(
        &self,
        entries: &'a mut HashMap<Key, Entry>,
        key: Key,
        rows: u32,
        format: wgpu::TextureFormat,
        label: &'static str,
    ) -> &'a mut Entry {
        if !entries.contains_key(&key) {
            let held: u64 = entries.values().map(|e| e.bytes).sum();
            if held + key.2 > BUDGET {
                entries.clear();
            }
            let (texture, view) =
                self.row_texture(label, rows, format, wgpu::TextureUsages::COPY_DST);
            let entry = Entry {
                texture,
                view,
                bytes: key.2,
                filled: None,
            };
            entries.insert(key.clone(), entry);
        }
        entries.get_mut(&key).expect("inserted above")
    }

    /// Turns the copies of [`Self::tensor_texture`] off (None from it) or back on, so that
    /// tests run the packing kernels on tensors that a copy would serve.
    pub fn set_tensor_copies(&self, on: bool) {
        let off = &self.weight_textures.copies_off;
        off.store(!on, std::sync::atomic::Ordering::Relaxed);
    }

    /// `len` values of `storage` from byte `offset` of `buffer` (`len` a multiple of 4) as a
    /// texture in the storage's precision, vec4 i at texel
    /// (i % TEXTURE_ROW, i / TEXTURE_ROW), copied before the pending work — where no launch
    /// recorded since the last submit writes them (the network's input, read by its first
    /// layer forward and backward); None where one does, or where the copy cannot be made.
    /// A copy is a transfer, not a launch: on Mesa 22.3 lavapipe LeNet-5's conv1 packed its
    /// input with texture_pack4 in 0.1 ms of a 0.8 ms forward pass, a launch of its own.
    pub(crate) fn tensor_texture(
        &self,
        buffer: &wgpu::Buffer,
        (offset, len): (u64, u64),
        storage: super::Storage,
    ) -> Option<Arc<wgpu::TextureView>> {
        let (format, texel_bytes, _) = super::backend::storage_texels(storage);
        let bytes = len * texel_bytes / 4;
        let rows = (len / 4).div_ceil(TEXTURE_ROW as u64).max(1);
        let copies_off = self
            .weight_textures
            .copies_off
            .load(std::sync::atomic::Ordering::Relaxed);
        if copies_off
            || len == 0
            || !len.is_multiple_of(4)
            || !offset.is_multiple_of(texel_bytes)
            || rows > self.ctx.limits.max_texture_dimension_2d as u64
            || !self.recorder.unwritten(buffer, offset, offset + bytes)
        {
            return None;
        }
        let key: Key = (buffer.clone(), offset, bytes);
        let mut entries = self
            .weight_textures
            .copies
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let entry = self.cached(&mut entries, key, rows as u32, format, "tensor texture");
        let submit = self.recorder.submit_id();
        if self.recorder.planning() || entry.filled == Some(submit) {
            return Some(entry.view.clone());
        }
        entry.filled = Some(submit);
        let texture = &entry.texture;
        let texels = (len / 4) as u32;
        self.recorder.in_prologue(&self.ctx, |e| {
            copy_rows(e, (buffer, offset), texture, texels, texel_bytes as u32)
        });
        Some(entry.view.clone())
    }
}

/// Records the copy of `texels` texels from `buffer` at byte `offset` into `texture`,
/// [`TEXTURE_ROW`] a row: the whole rows, then the rest of the last one.
fn copy_rows(
    e: &mut wgpu::CommandEncoder,
    (buffer, offset): (&wgpu::Buffer, u64),
    texture: &wgpu::Texture,
    texels: u32,
    texel_bytes: u32,
) {
    let (full, rest) = (texels / TEXTURE_ROW, texels % TEXTURE_ROW);
    let row_bytes = TEXTURE_ROW * texel_bytes;
    let mut copy = |first_row: u32, width: u32, height: u32| {
        e.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: offset + first_row as u64 * row_bytes as u64,
                    bytes_per_row: Some(row_bytes),
                    rows_per_image: None,
                },
            },
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: first_row,
                    z: 0,
                },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
    };
    if full > 0 {
        copy(0, TEXTURE_ROW, full);
    }
    if rest > 0 {
        copy(full, rest, 1);
    }
}
