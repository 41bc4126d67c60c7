//! Mirrors: a tensor's values kept in a texture as well, written by the launch that produces
//! the tensor, for a later launch that reads the tensor as a packed operand. LeNet-5's conv3
//! runs as a GEMM whose weight gradient reads x — pool2's output — through a texture: packing
//! it there took 6,400 vec4 loads of x (lane by lane on Mesa 22.3 lavapipe) and 25 workgroups
//! of their own, a quarter of that pass, while pool2's forward holds every value of x in a
//! register once (its texel stores cost it nothing measurable: 0.172 -> 0.174 ms). A mirror
//! may have several consumers, each reading it in its own way: pool1's output is read by
//! conv2's direct forward and by its weight gradient (conv2d_backward_weight_rows_sg, B as
//! rows of the tensor), pool2's input gradient by conv2's direct input gradient and by that
//! weight gradient (A, quads of the tensor's rows); they ask for the same texels.
//!
//! A producer that can fill a mirror offers it ([`GpuBackend::mirror_to_fill`]); the consumer
//! asks ([`GpuBackend::mirror`]): the first time, that makes the mirror and finds it unfilled
//! (the consumer packs for itself); from then on the producer's launch finds it asked for and
//! fills it beside the tensor, and the consumer takes it while no write since
//! ([`Recorder::written_since`]) has touched the tensor. A producer fills a mirror only when
//! it was asked for since its last fill, so forward passes without the backward pass that
//! reads a mirror (evaluation) fill it at most once.
//!
//! Layout: texture_pack's, in the storage's precision (rgba16float in the f16 storages), the
//! values as the tensor holds them: vec4 i of the tensor at texel (i % TEXTURE_ROW,
//! i / TEXTURE_ROW), texels past the tensor's end, up to the length the consumer asked for,
//! zero (the rows of a batch padded to a multiple of 4).
//!
//! [`Recorder::written_since`]: super::recorder::Recorder::written_since

use super::backend::{storage_texels, TEXTURE_ROW};
use super::buffers::GpuTensor;
use super::{GpuBackend, Storage};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most mirrors offered or made; past it the map starts again (a test suite that makes
/// many networks must not keep a texture for each).
const MAX_ENTRIES: usize = 64;

/// A tensor's range: its buffer, byte offset and byte length.
type Key = (wgpu::Buffer, u64, u64);

struct Entry {
    /// Made when a consumer first asks (None: only offered by the producer).
    view: Option<Arc<wgpu::TextureView>>,
    format: wgpu::TextureFormat,
    /// Texels the consumer reads (the tensor's, then zeros).
    texels: u32,
    /// Whether a consumer asked for the mirror since the producer last filled it.
    asked: bool,
    /// The recorder's write mark just after the launch that last filled it.
    filled: Option<u64>,
}

/// The mirrors of one backend.
#[derive(Default)]
pub struct Mirrors {
    entries: Mutex<HashMap<Key, Entry>>,
    /// Set to turn mirrors off (tests of the packing kernels, A/B runs).
    off: AtomicBool,
    /// Mirrors a consumer took instead of packing (tests prove the path ran).
    taken: AtomicU64,
}

/// The tensor range `bytes` of `buffer` from `offset`, whose mirror a consumer asks for.
pub(crate) struct Range<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub bytes: u64,
}

impl Range<'_> {
    fn key(&self) -> Key {
        (self.buffer.clone(), self.offset, self.bytes)
    }
}

fn key(t: &GpuTensor) -> Key {
    Range::from(t).key()
}

impl<'a> From<&'a GpuTensor> for Range<'a> {
    fn from(t: &'a GpuTensor) -> Self {
        Range {
            buffer: &t.buffer,
            offset: t.offset,
            bytes: t.bytes(),
        }
    }
}

impl GpuBackend {
    fn mirror_entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.mirrors
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The mirror of `t` as `texels` texels in `storage`'s precision, if the launch that
    /// produced `t` filled it and nothing has written `t` since. Where that launch can fill
    /// one (it offered, [`Self::mirror_to_fill`]), asks for it either way, so that its next
    /// launch does. None while mirrors are off, while planning, or where the texture cannot
    /// be made.
    pub(crate) fn mirror(
        &self,
        t: Range<'_>,
        texels: usize,
        storage: Storage,
    ) -> Option<Arc<wgpu::TextureView>> {
        let (format, texel_bytes, _) = storage_texels(storage);
        let rows = texels.div_ceil(TEXTURE_ROW as usize).max(1);
        if self.mirrors.off.load(Ordering::Relaxed)
            || (texels as u64) * texel_bytes < t.bytes
            || rows > self.ctx.limits.max_texture_dimension_2d as usize
        {
            return None;
        }
        let mut entries = self.mirror_entries();
        let e = entries.get_mut(&t.key())?;
        let fits = e.texels == texels as u32 && e.format == format;
        if e.view.is_none() || !fits {
            let (_, view) = self.row_texture(
                "tensor mirror",
                rows as u32,
                format,
                wgpu::TextureUsages::STORAGE_BINDING,
            );
            *e = Entry {
                view: Some(view),
                format,
                texels: texels as u32,
                asked: false,
                filled: None,
            };
        }
        e.asked = true;
        let mark = e.filled?;
        if self.recorder.planning()
            || self
                .recorder
                .written_since(mark, t.buffer, t.offset, t.offset + t.bytes)
        {
            return None;
        }
        self.mirrors.taken.fetch_add(1, Ordering::Relaxed);
        e.view.clone()
    }

    /// The mirror a launch producing `t` in `storage` should fill, and its length in texels:
    /// one a consumer asked for since it was last filled. Offers one otherwise (a consumer
    /// asks only for mirrors offered). A launch given one must fill every texel, then call
    /// [`Self::mirror_filled`].
    pub(crate) fn mirror_to_fill(
        &self,
        t: &GpuTensor,
        storage: Storage,
    ) -> Option<(Arc<wgpu::TextureView>, u32)> {
        if self.mirrors.off.load(Ordering::Relaxed) {
            return None;
        }
        let format = storage_texels(storage).0;
        let mut entries = self.mirror_entries();
        if !entries.contains_key(&key(t)) {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            let offer = Entry {
                view: None,
                format,
                texels: 0,
                asked: false,
                filled: None,
            };
            entries.insert(key(t), offer);
        }
        let e = entries.get(&key(t)).expect("inserted above");
        if self.recorder.planning() || !e.asked || e.format != format {
            return None;
        }
        Some((e.view.clone()?, e.texels))
    }

    /// Notes that the launch recorded last filled `t`'s mirror.
    pub(crate) fn mirror_filled(&self, t: &GpuTensor) {
        if let Some(e) = self.mirror_entries().get_mut(&key(t)) {
            e.asked = false;
            e.filled = Some(self.recorder.write_mark());
        }
    }

    /// Turns mirrors off (producers fill none, consumers pack for themselves) or back on.
    pub fn set_mirrors(&self, on: bool) {
        self.mirrors.off.store(!on, Ordering::Relaxed);
    }

    /// How many times a consumer took a mirror instead of packing.
    pub fn mirrors_taken(&self) -> u64 {
        self.mirrors.taken.load(Ordering::Relaxed)
    }
}
