//! The one error type of the library and its `Result` alias.

use std::path::PathBuf;

/// Everything that can go wrong in cnngpu, with the value that caused it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A shape, parameter or argument that the op cannot accept.
    #[error("invalid {what}: {why}")]
    Invalid { what: String, why: String },

    /// No adapter matched what the user asked for.
    #[error("no adapter matches '{wanted}'. Available: {available}")]
    NoAdapter { wanted: String, available: String },

    /// The adapter exists but could not give us a device.
    #[error("could not open a device on '{adapter}': {why}")]
    Device { adapter: String, why: String },

    /// A WGSL shader that naga or the driver rejected.
    #[error("shader '{kernel}' ({variant}) failed to compile:\n{message}")]
    Shader {
        kernel: String,
        variant: String,
        message: String,
    },

    /// A wgpu validation error, out-of-memory or device loss reported while running.
    #[error("GPU error during {during}: {message}")]
    Gpu { during: String, message: String },

    /// A request larger than the adapter's limits allow.
    #[error("{what} needs {needed} but the adapter allows {limit}")]
    Limit {
        what: String,
        needed: u64,
        limit: u64,
    },

    /// A planned run that does not fit the device's limits or the host's free memory
    /// (checked before anything is allocated); the message says what would fit.
    #[error("not enough memory for {0}")]
    Memory(String),

    /// A data or checkpoint file that exists but is not what it should be (truncated, wrong
    /// magic number, undecodable image, another model's checkpoint).
    #[error("{path}: {why}")]
    Data { path: PathBuf, why: String },

    /// Training produced a non-finite loss (f32) or could not continue.
    #[error("training diverged: {0}")]
    Diverged(String),

    /// A file that could not be read or written. The OS error is part of the message and
    /// deliberately not a `source()`: printing the chain (`{:#}`) would repeat it.
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Data`].
    pub fn data(path: impl Into<PathBuf>, why: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            why: why.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            err: source,
        }
    }

    /// Shorthand for [`Error::Gpu`].
    pub fn gpu(during: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Gpu {
            during: during.into(),
            message: message.into(),
        }
    }
}
