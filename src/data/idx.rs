//! IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.
//!
//! Header: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then
//! one big-endian u32 per dimension; then the data, row-major.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// An unsigned-byte IDX array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads `path`, decompressing it when it is gzip (by its magic bytes, whatever its name).
pub fn read(path: &Path) -> Result<Idx> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::data(path, format!("corrupt gzip stream: {e}")))?;
        out
    } else {
        raw
    };
    parse(&bytes).map_err(|why| Error::data(path, why))
}

/// Parses IDX bytes; the error says what was expected.
pub fn parse(bytes: &[u8]) -> std::result::Result<Idx, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "truncated: {} bytes, an IDX header needs at least 4",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file: magic number starts {:02x} {:02x}, expected 00 00",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "IDX element type 0x{:02x}; only unsigned bytes (0x08) are supported",
            bytes[2]
        ));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > 4 {
        return Err(format!("IDX with {ndim} dimensions; expected 1 to 4"));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(format!(
            "truncated header: {} bytes, expected {header}",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    // Four u32 dimensions can multiply past usize: that is a corrupt header, not an empty file.
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| {
            format!("dimensions {dims:?} multiply past the largest possible size: a corrupt header")
        })?;
    let have = bytes.len() - header;
    if have < expected {
        return Err(format!(
            "truncated: dimensions {dims:?} need {expected} data bytes, the file has {have}"
        ));
    }
    if have > expected {
        return Err(format!(
            "{} bytes of trailing data after dimensions {dims:?}",
            have - expected
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Encodes an unsigned-byte IDX array (used to write the bundled sample and test files).
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_whose_product_overflows_are_rejected() {
        // 2^32-1 four times overflows u64; 2^16 four times is exactly 2^64, which wraps to 0.
        for d in [u32::MAX as usize, 1 << 16] {
            let bytes = encode(&[d, d, d, d], &[]);
            let e = parse(&bytes).expect_err("not an empty array");
            assert!(
                e.contains("multiply past") && e.contains(&d.to_string()),
                "{e}"
            );
        }
        let ok = parse(&encode(&[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(ok.dims, vec![2, 3]);
        assert_eq!(
            parse(&encode(&[0, 5], &[])).unwrap().data.len(),
            0,
            "a real empty array is fine"
        );
    }
}
