//! Tensors copied into textures for kernels that read them with `//#texture`
//! (shaders/texture_pack.wgsl, texture_pack4.wgsl). On Mesa 22.3 lavapipe a storage load runs
//! lane by lane (about 13 ns a lane on the 2-core EPYC of 2026-12-03) where a texel load is
//! one gather (about 2.6 ns): a kernel that loads a value several times (the direct
//! convolutions load each input row once per kernel row and each weight once per row segment)
//! does better to load it once into a texture.

use crate::error::Result;
use crate::gpu::backend::{Scratch, TEXTURE_ROW};
use crate::gpu::buffers::{plan_chunks, Chunk, View};
use crate::gpu::mirrors::Range;
use crate::gpu::{GpuBackend, Storage};
use std::sync::Arc;

/// texture_pack's uniform: the values to copy, from `start`.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PackUniform {
    len: u32,
    start: u32,
    _pad: [u32; 2],
}

/// The first `len` values of `src` as a texture, as [`pack_range`] makes it.
pub(crate) fn pack(
    b: &GpuBackend,
    storage: Storage,
    src: View<'_>,
    len: usize,
    slot: Scratch,
) -> Result<Arc<wgpu::TextureView>> {
    pack_range(b, storage, src, (0, len), slot)
}

/// Values [start, start + len) of `src` as a texture in the storage's precision (value
/// start + j at component j % 4 of texel j / 4, in rows of TEXTURE_ROW texels): their mirror
/// where the launch that wrote them filled one ([`crate::gpu::mirrors`]), a copy made
/// before the pending work where that work does not write them
/// ([`GpuBackend::tensor_texture`]), else packed into the scratch texture `slot` (0 past
/// `len`) by texture_pack4 (one load a texel) when `start` and `len` are multiples of 4,
/// texture_pack otherwise.
pub(crate) fn pack_range(
    b: &GpuBackend,
    storage: Storage,
    src: View<'_>,
    (start, len): (usize, usize),
    slot: Scratch,
) -> Result<Arc<wgpu::TextureView>> {
    let texels = len.div_ceil(4);
    // The tensor as the launch that produced it also stored it (LeNet-5's pool outputs and
    // input gradients, read by conv2's direct passes); asked before a copy is, so that a step
    // profiled launch by launch reads what an unprofiled one does.
    if let Some(mirror) = mirror(b, storage, src, (start, len)) {
        return Ok(mirror);
    }
    if let View::Buffer { buffer, offset, .. } = src {
        let elem = crate::gpu::backend::storage_texels(storage).1 / 4;
        let at = (offset + start as u64 * elem, len as u64);
        if let Some(copy) = b.tensor_texture(buffer, at, storage) {
            return Ok(copy);
        }
    }
    let dst = b.scratch_texture_in(slot, texels, storage)?;
    let kernel = match len.is_multiple_of(4) && start.is_multiple_of(4) {
        true => "texture_pack4",
        false => "texture_pack",
    };
    let u = PackUniform {
        len: len as u32,
        start: start as u32,
        _pad: [0; 2],
    };
    let views = [src, View::Texture(&dst)];
    b.dispatch(kernel, storage, &u, &views, super::flat_workgroups(texels))?;
    Ok(dst)
}

/// The mirror ([`crate::gpu::mirrors`]) of values [start, start + len) of `src`, in the
/// layout [`pack_range`] makes, where the launch that wrote them filled one (asking for it
/// either way, so that the next such launch fills it).
pub(crate) fn mirror(
    b: &GpuBackend,
    storage: Storage,
    src: View<'_>,
    (start, len): (usize, usize),
) -> Option<Arc<wgpu::TextureView>> {
    let View::Buffer { buffer, offset, .. } = src else {
        return None;
    };
    let elem = crate::gpu::backend::storage_texels(storage).1 / 4;
    let range = Range {
        buffer,
        offset: offset + start as u64 * elem,
        bytes: len as u64 * elem,
    };
    b.mirror(range, len.div_ceil(4), storage)
}

/// Chunks of `total` items as [`GpuBackend::chunks`] plans them, small enough besides that
/// one chunk of each tensor (`item_bytes`, values of `elem_bytes`) fits a scratch texture.
pub(crate) fn chunks(
    b: &GpuBackend,
    what: &str,
    total: usize,
    item_bytes: &[u64],
    elem_bytes: u64,
) -> Result<Vec<Chunk>> {
    let texels = TEXTURE_ROW as u64 * b.ctx.limits.max_texture_dimension_2d as u64;
    let limit = b.max_binding().min(texels * 4 * elem_bytes);
    let align = b.ctx.limits.min_storage_buffer_offset_alignment as u64;
    plan_chunks(what, total, item_bytes, limit, align)
}
