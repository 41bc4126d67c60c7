//! Downloads of datasets that are missing, from their official source, with checksums: each
//! file streams into a temporary `.part` file, is verified, and only then renamed into place,
//! so an interrupted or corrupt download never leaves a file that looks complete.

use crate::error::{Error, Result};
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// One file of a source and its MD5 as published by the dataset's authors.
#[derive(Clone, Debug)]
pub struct RemoteFile {
    pub name: String,
    pub md5: String,
}

/// Where a dataset's files come from.
#[derive(Clone, Debug)]
pub struct Source {
    /// Ends with '/'; each file is `base_url + name`.
    pub base_url: String,
    pub files: Vec<RemoteFile>,
}

/// A source of the four MNIST-format IDX files: `base_url` unless `env` names another.
fn idx_source(env: &str, base_url: &str, md5s: [&str; 4]) -> Source {
    let base_url = std::env::var(env).unwrap_or_else(|_| base_url.into());
    let names = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ];
    let files = names
        .iter()
        .zip(md5s)
        .map(|(n, m)| RemoteFile {
            name: n.to_string(),
            md5: m.into(),
        })
        .collect();
    Source {
        base_url: if base_url.ends_with('/') {
            base_url
        } else {
            base_url + "/"
        },
        files,
    }
}

/// Fashion-MNIST's official files and the MD5 checksums of its README. The base URL can be
/// replaced with `CNNGPU_FASHION_MNIST_URL` (a mirror, or a local server in tests).
pub fn fashion_mnist() -> Source {
    idx_source(
        "CNNGPU_FASHION_MNIST_URL",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        [
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ],
    )
}

/// MNIST from Yann LeCun's page (the checksums torchvision verifies). The base URL can be
/// replaced with `CNNGPU_MNIST_URL` (e.g. a mirror; cnngpu speaks plain HTTP only).
pub fn mnist() -> Source {
    idx_source(
        "CNNGPU_MNIST_URL",
        "http://yann.lecun.com/exdb/mnist/",
        [
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ],
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads every file of `source` that `dir` lacks. Errors name the file and the URL, and
/// say where to put the files by hand when offline.
pub fn fetch(source: &Source, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    for f in &source.files {
        let target = dir.join(&f.name);
        if target.is_file() {
            continue;
        }
        let url = format!("{}{}", source.base_url, f.name);
        eprintln!("downloading {url}");
        let part = dir.join(format!(".{}.part", f.name));
        let result = download_one(&agent, &url, &part, &f.md5);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&part);
            return Err(e.into_error(&target, &url, dir));
        }
        std::fs::rename(&part, &target).map_err(|e| Error::io(&target, e))?;
    }
    Ok(())
}

enum Failure {
    Network(String),
    Checksum { want: String, got: String },
    Disk(std::io::Error),
}

impl Failure {
    fn into_error(self, target: &Path, url: &str, dir: &Path) -> Error {
        match self {
            Failure::Network(why) => Error::data(
                target,
                format!(
                    "could not download {url} ({why}). Offline? Put the dataset's files in {}",
                    dir.display()
                ),
            ),
            Failure::Checksum { want, got } => Error::data(
                target,
                format!("download from {url} has MD5 {got}, expected {want}; nothing was kept"),
            ),
            Failure::Disk(e) => Error::io(target, e),
        }
    }
}

fn download_one(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    want_md5: &str,
) -> std::result::Result<(), Failure> {
    let response = agent
        .get(url)
        .call()
        .map_err(|e| Failure::Network(e.to_string()))?;
    let mut reader = response.into_body().into_reader();
    let mut file = std::fs::File::create(part).map_err(Failure::Disk)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Failure::Network(format!("connection lost: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(Failure::Disk)?;
    }
    file.sync_all().map_err(Failure::Disk)?;
    let got = hex(&hasher.finalize());
    if got != want_md5 {
        return Err(Failure::Checksum {
            want: want_md5.into(),
            got,
        });
    }
    Ok(())
}
