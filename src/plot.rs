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

/// Ten well separated hues (matplotlib's tab10) for series and classes, repeating.
pub fn color(i: usize) -> RGBColor {
    const TAB10: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    TAB10[i % 10]
}

/// Maps a plotters drawing error into ours.
pub fn drawing<E: std::fmt::Display>(e: E) -> Error {
    Error::invalid("drawing", e.to_string())
}

/// A u8 image stored as planes [C, H, W] with C = 1 (grey) or 3 (RGB).
pub struct Planar<'a> {
    pub data: &'a [u8],
    pub channels: usize,
    pub height: usize,
    pub width: usize,
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

    /// Copies `img` to (x, y), each pixel scaled to `scale` x `scale` (nearest neighbour);
    /// parts outside the picture are clipped.
    pub fn blit(&mut self, x: u32, y: u32, img: &Planar<'_>, scale: u32) {
        let (planes, channels, h, w) = (img.data, img.channels, img.height, img.width);
        let plane = h * w;
        for yy in 0..h * scale as usize {
            let py = y as usize + yy;
            if py >= self.height as usize {
                break;
            }
            for xx in 0..w * scale as usize {
                let px = x as usize + xx;
                if px >= self.width as usize {
                    break;
                }
                let src = (yy / scale as usize) * w + xx / scale as usize;
                let o = 3 * (py * self.width as usize + px);
                for c in 0..3 {
                    self.rgb[o + c] = planes[src + if channels == 3 { c * plane } else { 0 }];
                }
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y).
    pub fn text(&mut self, x: i32, y: i32, text: &str, size: f64, color: RGBColor) -> Result<()> {
        self.draw(|root| {
            root.draw(&Text::new(
                text.to_string(),
                (x, y),
                ("sans-serif", size).into_font().color(&color),
            ))
            .map_err(drawing)
        })
    }

    /// The pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let o = 3 * (y * self.width + x) as usize;
        [self.rgb[o], self.rgb[o + 1], self.rgb[o + 2]]
    }

    /// Variance of all channel values: 0 for a blank picture.
    pub fn variance(&self) -> f64 {
        let n = self.rgb.len() as f64;
        let mean = self.rgb.iter().map(|&v| v as f64).sum::<f64>() / n;
        self.rgb
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n
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
