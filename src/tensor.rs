//! Shapes, element types and host-side tensors (always f32 on the host; f16 is a storage format).

use crate::error::{Error, Result};
use half::f16;

/// Element type of a tensor as it is stored on a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE binary32.
    F32,
    /// IEEE binary16 storage; arithmetic is done in f32.
    F16,
    /// Unsigned 32-bit integers (labels, pooling indices, counters).
    U32,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F16 => 2,
            DType::F32 | DType::U32 => 4,
        }
    }

    /// Lower-case name used in tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::U32 => "u32",
        }
    }
}

/// Floating-point storage precision of activations, weights and gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Everything in f32.
    F32,
    /// f16 storage with f32 accumulation; master weights and optimizer state stay f32.
    F16,
}

impl Precision {
    /// `f32` or `f16` (what `--precision` takes).
    pub fn parse(name: &str) -> crate::Result<Self> {
        match name {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            p => Err(crate::Error::invalid(
                "--precision",
                format!("'{p}'; expected f32 or f16"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        }
    }

    /// The element type of tensors stored in this precision.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F16 => DType::F16,
        }
    }
}

/// A tensor's dimensions, outermost first (NCHW for images, [out, in] for linear weights).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    /// Builds a shape from its dimensions.
    pub fn new(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Turns a flat index into per-dimension coordinates (for error messages).
    pub fn unravel(&self, mut index: usize) -> Vec<usize> {
        let mut coords = vec![0; self.0.len()];
        for (c, &d) in coords.iter_mut().zip(&self.0).rev() {
            *c = index % d.max(1);
            index /= d.max(1);
        }
        coords
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.0.iter().map(|d| d.to_string()).collect();
        write!(f, "[{}]", dims.join("x"))
    }
}

/// A float tensor in host memory.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Shape,
    pub data: Vec<f32>,
}

impl HostTensor {
    /// Wraps `data`, checking that it has `shape.numel()` elements.
    pub fn new(shape: Shape, data: Vec<f32>) -> Result<Self> {
        if shape.numel() != data.len() {
            return Err(Error::invalid(
                "tensor data",
                format!(
                    "shape {shape} needs {} values, got {}",
                    shape.numel(),
                    data.len()
                ),
            ));
        }
        Ok(HostTensor { shape, data })
    }

    /// A tensor filled with one value.
    pub fn full(shape: Shape, value: f32) -> Self {
        let n = shape.numel();
        HostTensor {
            shape,
            data: vec![value; n],
        }
    }
}

/// Rounds every value to the nearest f16 (what storing it in f16 does).
pub fn round_to_f16(data: &mut [f32]) {
    for v in data {
        *v = f16::from_f32(*v).to_f32();
    }
}

/// Elements between the starts of a parameter arena's tensors are multiples of this: 256
/// bytes in f16 and 512 in f32, so every tensor starts at an offset any adapter can bind
/// (WebGPU's `minStorageBufferOffsetAlignment` is at most 256).
pub const ARENA_ALIGN: usize = 128;

/// Where tensors of `numels` elements start in one arena (in elements), and its length.
pub fn arena_layout(numels: impl IntoIterator<Item = usize>) -> (Vec<usize>, usize) {
    let mut starts = Vec::new();
    let mut end = 0usize;
    for n in numels {
        let start = end.next_multiple_of(ARENA_ALIGN);
        starts.push(start);
        end = start + n;
    }
    (starts, end)
}

/// Encodes f32 values as little-endian bytes of `dtype` (F32 or F16), padded to 4 bytes.
pub fn encode(data: &[f32], dtype: DType) -> Vec<u8> {
    let mut bytes = match dtype {
        DType::F32 => bytemuck::cast_slice(data).to_vec(),
        DType::F16 => {
            let halves: Vec<f16> = data.iter().map(|&v| f16::from_f32(v)).collect();
            bytemuck::cast_slice(&halves).to_vec()
        }
        DType::U32 => data
            .iter()
            .flat_map(|&v| (v as u32).to_le_bytes())
            .collect(),
    };
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    bytes
}

/// Decodes `n` values of `dtype` (F32 or F16) from little-endian bytes.
pub fn decode(bytes: &[u8], dtype: DType, n: usize) -> Vec<f32> {
    match dtype {
        DType::F32 => bytemuck::cast_slice::<u8, f32>(&bytes[..n * 4]).to_vec(),
        DType::F16 => bytes[..n * 2]
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        DType::U32 => bytemuck::cast_slice::<u8, u32>(&bytes[..n * 4])
            .iter()
            .map(|&v| v as f32)
            .collect(),
    }
}

/// A small deterministic generator (SplitMix64) for test data and seeded initialisation.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next_f32()
    }

    /// `n` values uniform in [lo, hi).
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}
