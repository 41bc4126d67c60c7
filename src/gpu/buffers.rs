//! GPU tensors, and the split of tensors larger than one storage binding into aligned chunks.

use crate::error::{Error, Result};
use crate::tensor::{DType, Shape, ARENA_ALIGN};
use std::ops::Range;
use std::sync::Arc;

/// A tensor in a wgpu storage buffer: the whole buffer, or (a parameter of an arena) the
/// range `offset..offset + size` of one shared by several tensors. F16 tensors are tightly
/// packed halves (the same bytes serve the native and the packed shader variants); `size` is
/// the data padded with zeros to 16 bytes (whole vec4s of f32).
#[derive(Debug)]
pub struct GpuTensor {
    pub(crate) buffer: Arc<wgpu::Buffer>,
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub shape: Shape,
    pub dtype: DType,
}

impl GpuTensor {
    /// Bytes of data (without the padding).
    pub fn bytes(&self) -> u64 {
        (self.shape.numel() * self.dtype.size()) as u64
    }

    /// The underlying buffer (for profilers and custom kernels); the tensor is its bytes
    /// [`Self::offset`], [`Self::offset`] + [`Self::size`].
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Where the tensor starts in its buffer, in bytes.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes the tensor spans in its buffer (its data padded to 16 bytes).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The binding size of the whole tensor: `None` (to the end) when it is its buffer.
    pub(crate) fn bounded_size(&self) -> Option<u64> {
        (self.offset > 0 || self.size < self.buffer.size()).then_some(self.size)
    }
}

/// Splits equally long tensor lists into spans of consecutive indices whose tensors, in every
/// list, follow each other in one buffer as [`crate::tensor::arena_layout`] placed them (the
/// parameters of an arena, in its order). Other tensors are spans of one.
pub fn arena_spans(lists: &[&[&GpuTensor]]) -> Vec<Range<usize>> {
    let n = lists.first().map_or(0, |l| l.len());
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 1..=n {
        if i == n || !lists.iter().all(|l| follows(l[i - 1], l[i])) {
            spans.push(start..i);
            start = i;
        }
    }
    spans
}

/// Whether `b` is the tensor an arena placed right after `a`.
fn follows(a: &GpuTensor, b: &GpuTensor) -> bool {
    let e = a.dtype.size() as u64;
    let next = (a.offset / e + a.shape.numel() as u64).next_multiple_of(ARENA_ALIGN as u64);
    Arc::ptr_eq(&a.buffer, &b.buffer)
        && a.dtype == b.dtype
        && a.offset.is_multiple_of(e)
        && b.offset == next * e
}

/// One tensor covering a span of [`arena_spans`]: from the first tensor's start to the last
/// one's end, the zeros between them included.
pub fn span_tensor(ts: &[&GpuTensor]) -> GpuTensor {
    let (first, last) = (ts[0], ts[ts.len() - 1]);
    let e = first.dtype.size() as u64;
    let numel = (last.offset - first.offset) / e + last.shape.numel() as u64;
    GpuTensor {
        buffer: first.buffer.clone(),
        offset: first.offset,
        size: last.offset + last.size - first.offset,
        shape: Shape::new(&[numel as usize]),
        dtype: first.dtype,
    }
}

/// What one binding of a launch binds.
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    /// A range of a tensor's buffer: `size: None` means to the end.
    Buffer {
        buffer: &'a wgpu::Buffer,
        offset: u64,
        size: Option<u64>,
    },
    /// A texture (the packed operands of the subgroup conv2d GEMMs).
    Texture(&'a wgpu::TextureView),
}

impl<'a> View<'a> {
    /// The whole tensor.
    pub fn whole(t: &'a GpuTensor) -> Self {
        View::Buffer {
            buffer: &t.buffer,
            offset: t.offset,
            size: t.bounded_size(),
        }
    }

    /// The whole of a raw buffer (scratch).
    pub fn buffer(buffer: &'a wgpu::Buffer) -> Self {
        View::Buffer {
            buffer,
            offset: 0,
            size: None,
        }
    }

    /// Items [start, start + count) of a tensor whose items are `item_bytes` each; the last
    /// chunk runs to the end of the buffer (which covers its padding).
    pub fn items(t: &'a GpuTensor, chunk: Chunk, item_bytes: u64) -> Self {
        if chunk.is_whole() {
            return Self::whole(t);
        }
        let start = chunk.start as u64 * item_bytes;
        let size = if chunk.is_last() {
            t.bounded_size().map(|s| s - start)
        } else {
            Some(chunk.count as u64 * item_bytes)
        };
        View::Buffer {
            buffer: &t.buffer,
            offset: t.offset + start,
            size,
        }
    }
}

/// Items [start, start + count) of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub count: usize,
    pub total: usize,
}

impl Chunk {
    pub fn is_whole(&self) -> bool {
        self.start == 0 && self.count == self.total
    }
    pub fn is_last(&self) -> bool {
        self.start + self.count == self.total
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Splits `total` items (images, rows or elements) into chunks such that, for every tensor
/// with `item_bytes[i]` bytes per item, a chunk fits in `max_binding` bytes and starts at a
/// multiple of `align` bytes. One chunk when everything fits.
pub fn plan_chunks(
    what: &str,
    total: usize,
    item_bytes: &[u64],
    max_binding: u64,
    align: u64,
) -> Result<Vec<Chunk>> {
    // Chunks start on whole vec4s of f32 too (16 bytes), for kernels that read four at once.
    let align = align.max(16);
    let biggest = item_bytes.iter().copied().max().unwrap_or(0);
    if (total as u64 * biggest).next_multiple_of(16) <= max_binding {
        return Ok(vec![Chunk {
            start: 0,
            count: total,
            total,
        }]);
    }
    // Items per aligned step, for all tensors at once.
    let mut step = 1u64;
    for &b in item_bytes.iter().filter(|&&b| b > 0) {
        let s = align / gcd(align, b);
        step = step / gcd(step, s) * s;
    }
    // Leave room for the last chunk's padding to 16 bytes.
    let fit = (max_binding.saturating_sub(16)) / biggest;
    let per_chunk = fit - fit % step;
    if per_chunk == 0 {
        return Err(Error::Limit {
            what: format!("{what} ({} aligned items of {biggest} bytes)", step),
            needed: step * biggest,
            limit: max_binding,
        });
    }
    let per_chunk = per_chunk as usize;
    Ok((0..total)
        .step_by(per_chunk)
        .map(|start| Chunk {
            start,
            count: per_chunk.min(total - start),
            total,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_when_everything_fits() {
        // 1,000 bytes, padded to whole vec4s: 1,008.
        let c = plan_chunks("t", 10, &[100, 40], 1008, 256).unwrap();
        assert_eq!(
            c,
            vec![Chunk {
                start: 0,
                count: 10,
                total: 10
            }]
        );
    }

    #[test]
    fn chunks_are_aligned_cover_everything_and_fit() {
        let (bytes, max, align) = ([1_161_600u64, 290_400], 134_217_728u64, 256u64);
        let c = plan_chunks("t", 128, &bytes, max, align).unwrap();
        assert!(c.len() > 1);
        let mut next = 0;
        for ch in &c {
            assert_eq!(ch.start, next);
            next += ch.count;
            for b in bytes {
                assert_eq!(ch.start as u64 * b % align, 0, "offset aligned");
                assert!(ch.count as u64 * b + 16 <= max, "chunk fits, padding too");
            }
        }
        assert_eq!(next, 128);
    }

    #[test]
    fn impossible_split_is_an_error() {
        assert!(plan_chunks("t", 4, &[2000], 1000, 4).is_err());
    }
}
