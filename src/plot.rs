//! Pictures without system fonts: plotters draws into an RGB buffer with the bundled DejaVu
//! Sans (assets/fonts, Bitstream Vera licence), and the `image` crate writes the PNG.

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font as plotters' "sans-serif" (the family its labels use), once.
pub fn ensure_font() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "bundled font",
            "assets/fonts/DejaVuSans.ttf could not be parsed",
        ))
    }
}

/// Maps a plotters drawing error into ours.
pub fn drawing<E: std::fmt::Display>(e: E) -> Error {
    Error::invalid("drawing", e.to_string())
}

/// An RGB8 picture, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Picture {
    pub fn new(width: u32, height: u32) -> Self {
        Picture {
            width,
            height,
            rgb: vec![255; (width * height * 3) as usize],
        }
    }

    /// Draws on the picture with plotters (the font registered first).
    pub fn draw(
        &mut self,
        f: impl FnOnce(DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
    ) -> Result<()> {
        ensure_font()?;
        let root = BitMapBackend::with_buffer(&mut self.rgb, (self.width, self.height))
            .into_drawing_area();
        f(root)
    }

    /// Writes the picture as PNG, atomically (a temporary file renamed into place).
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let mut bytes = Vec::new();
        image::write_buffer_with_format(
            &mut std::io::Cursor::new(&mut bytes),
            &self.rgb,
            self.width,
            self.height,
            image::ExtendedColorType::Rgb8,
            image::ImageFormat::Png,
        )
        .map_err(|e| Error::invalid("PNG encoding", e.to_string()))?;
        crate::train::checkpoint::write_atomic(path, &bytes)
    }
}
