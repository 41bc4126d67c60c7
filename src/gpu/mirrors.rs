//! Mirrors: a tensor's values kept in a texture as well, written by the launch that produces
//! the tensor, for a later launch that reads the tensor as a packed operand. LeNet-5's conv3
//! runs as a GEMM whose weight gradient reads x — pool2's output — through a texture: packing
//! it there cost 6,400 texel stores and as many loads of x, a quarter of that pass (on Mesa
//! 22.3 lavapipe a texel store runs lane by lane, component by component), while pool2's
//! forward holds every value of x in a register once.
//!
//! The consumer asks ([`GpuBackend::mirror`]): the first time, that makes the mirror and finds
//! it unfilled (the consumer packs for itself); from then on the producer's launch finds it
//! asked for ([`GpuBackend::mirror_to_fill`]) and fills it beside the tensor, and the consumer
//! takes it while no write since ([`Recorder::written_since`]) has touched the tensor. A
//! producer fills a mirror only when it was asked for since its last fill, so forward passes
//! without a backward (evaluation) write it at most once.
//!
//! Layout: the consumer's packed operand, rgba32float (whatever the tensor's storage; the
//! values as the tensor stores them): vec4 i of the tensor at texel (i % TEXTURE_ROW,
//! i / TEXTURE_ROW), texels past the tensor's end, up to the length the consumer asked for,
//! zero (the rows of a batch padded to a multiple of 4).
//!
//! [`Recorder::written_since`]: super::recorder::Recorder::written_since

use super::backend::TEXTURE_ROW;
use super::buffers::GpuTensor;
use super::GpuBackend;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most bytes of mirrors kept; past it the map starts again.
const BUDGET: u64 = 256 << 20;

/// A tensor's range: its buffer, byte offset and byte length.
type Key = (wgpu::Buffer, u64, u64);

struct Entry {
    view: Arc<wgpu::TextureView>,
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

fn key(t: &GpuTensor) -> Key {
    ((*t.buffer).clone(), t.offset, t.bytes())
}

impl GpuBackend {
    fn mirror_entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.mirrors
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The mirror of `t` as `texels` texels, if the launch that produced `t` filled it and
    /// nothing has written `t` since; asks for it either way, so that the producer's next
    /// launch fills it. None while mirrors are off, while planning, or where the texture
    /// cannot be made.
    pub(crate) fn mirror(&self, t: &GpuTensor, texels: usize) -> Option<Arc<wgpu::TextureView>> {
        let rows = texels.div_ceil(TEXTURE_ROW as usize).max(1);
        if self.mirrors.off.load(Ordering::Relaxed)
            || texels * 4 < t.shape.numel()
            || rows > self.ctx.limits.max_texture_dimension_2d as usize
        {
            return None;
        }
        let mut entries = self.mirror_entries();
        let k = key(t);
        let stale = entries.get(&k).is_some_and(|e| e.texels != texels as u32);
        if stale || !entries.contains_key(&k) {
            let bytes = rows as u64 * TEXTURE_ROW as u64 * 16;
            let held: u64 = entries.len() as u64 * bytes;
            if held + bytes > BUDGET {
                entries.clear();
            }
            let (_, view) = self.row_texture(
                "tensor mirror",
                rows as u32,
                wgpu::TextureFormat::Rgba32Float,
                wgpu::TextureUsages::STORAGE_BINDING,
            );
            let entry = Entry {
                view,
                texels: texels as u32,
                asked: false,
                filled: None,
            };
            entries.insert(k.clone(), entry);
        }
        let e = entries.get_mut(&k).expect("inserted above");
        e.asked = true;
        let mark = e.filled?;
        if self.recorder.planning()
            || self
                .recorder
                .written_since(mark, &t.buffer, t.offset, t.offset + t.bytes())
        {
            return None;
        }
        self.mirrors.taken.fetch_add(1, Ordering::Relaxed);
        Some(e.view.clone())
    }

    /// The mirror a launch producing `t` should fill, and its length in texels: one asked for
    /// since it was last filled. The launch must fill every texel, then call
    /// [`Self::mirror_filled`].
    pub(crate) fn mirror_to_fill(&self, t: &GpuTensor) -> Option<(Arc<wgpu::TextureView>, u32)> {
        if self.mirrors.off.load(Ordering::Relaxed) || self.recorder.planning() {
            return None;
        }
        let entries = self.mirror_entries();
        let e = entries.get(&key(t)).filter(|e| e.asked)?;
        Some((e.view.clone(), e.texels))
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
