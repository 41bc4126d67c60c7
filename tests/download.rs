//! Dataset downloads against a local HTTP server on 127.0.0.1: a good file, a wrong checksum,
//! a dropped connection, and no server at all.

use cnngpu::data::download::{fetch, RemoteFile, Source};
use md5::{Digest, Md5};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cnngpu-dl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn body() -> Vec<u8> {
    (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Serves /good.bin, /bad.bin (other bytes) and /drop.bin (announces more than it sends, then
/// closes) for a bounded number of connections; returns the base URL.
fn serve(connections: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut data = body();
            let announced = match path.as_str() {
                p if p == "/good.bin" || p.ends_with(".gz") => data.len(),
                "/bad.bin" => {
                    data[1000] ^= 0xff;
                    data.len()
                }
                "/drop.bin" => {
                    data.truncate(5000);
                    200_000
                }
                _ => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&data);
            let _ = stream.flush();
        }
    });
    format!("http://127.0.0.1:{port}/")
}

fn source(base: &str, name: &str) -> Source {
    Source {
        base_url: base.into(),
        files: vec![RemoteFile {
            name: name.into(),
            md5: md5_hex(&body()),
        }],
    }
}

#[test]
fn a_good_file_is_downloaded_and_verified() {
    let base = serve(1);
    let dir = tmp("good");
    fetch(&source(&base, "good.bin"), &dir).unwrap();
    assert_eq!(std::fs::read(dir.join("good.bin")).unwrap(), body());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file is left"
    );
    // Present files are not fetched again (the server would refuse: it served its one connection).
    fetch(&source(&base, "good.bin"), &dir).unwrap();
}

#[test]
fn a_wrong_checksum_keeps_nothing() {
    let base = serve(1);
    let dir = tmp("bad");
    let err = fetch(&source(&base, "bad.bin"), &dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.bin") && err.contains("MD5") && err.contains("expected"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no half-written file"
    );
}

#[test]
fn a_dropped_connection_keeps_nothing() {
    let base = serve(1);
    let dir = tmp("drop");
    let err = fetch(&source(&base, "drop.bin"), &dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("drop.bin") && err.contains("could not download"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no half-written file"
    );
}

#[test]
fn offline_says_where_to_put_the_files() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tmp("offline");
    let err = fetch(&source(&format!("http://127.0.0.1:{port}/"), "x.gz"), &dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Offline? Put the dataset's files in") && err.contains(dir.to_str().unwrap()),
        "{err}"
    );
}

/// `cnngpu train --dataset <dataset>` on an empty folder, with `<env>` pointing at the local
/// server (whose bytes match no published checksum): exit 4, naming the file and the MD5 the
/// dataset's source publishes.
fn train_downloads_and_checks(dataset: &str, env: &str, name: &str, md5: &str) {
    let base = serve(1);
    let dir = tmp(&format!("train-{dataset}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnngpu"))
        .args([
            "train",
            "--adapter",
            "cpu",
            "--dataset",
            dataset,
            "--data-dir",
        ])
        .arg(&dir)
        .env(env, base)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(name) && err.contains(&format!("expected {md5}")),
        "{err}"
    );
}

#[test]
fn train_downloads_missing_fashion_mnist_and_checks_it() {
    train_downloads_and_checks(
        "fashion-mnist",
        "CNNGPU_FASHION_MNIST_URL",
        "train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    );
}

#[test]
fn train_downloads_missing_mnist_from_its_own_source() {
    // MNIST has its own source and checksums (torchvision's), and its own URL override.
    train_downloads_and_checks(
        "mnist",
        "CNNGPU_MNIST_URL",
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    );
}
