//! Checkpoints: safetensors files whose tensor names and layouts are those of the equivalent
//! PyTorch module's state_dict (conv weights OIHW, linear weights [out, in]), written
//! atomically so a crash or a full disk leaves the previous file whole.

use crate::error::{Error, Result};
use crate::nn::Graph;
use crate::tensor::{HostTensor, Shape};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk and
/// renamed over the target: readers see the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_at(path, bytes, "")
}

/// [`write_atomic`] with the fault-injection points `write:POINT` (half the bytes written)
/// and `rename:POINT` (the file complete, before the rename) of [`super::fault`].
pub fn write_atomic_at(path: &Path, bytes: &[u8], point: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let faults = !point.is_empty();
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        let half = bytes.len() / 2;
        f.write_all(&bytes[..half])?;
        if faults {
            f.flush()?;
            super::fault::io(&format!("write:{point}"))?;
        }
        f.write_all(&bytes[half..])?;
        f.sync_all()?;
        if faults {
            super::fault::io(&format!("rename:{point}"))?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Whether tensor `name` is a counter PyTorch keeps as int64 (batch norm's
/// `num_batches_tracked`): written as I64, read back as a float like every other tensor.
fn is_counter(name: &str) -> bool {
    name.ends_with(".num_batches_tracked")
}

/// Serialises named f32 tensors (counters as I64, see [`is_counter`]) with string metadata
/// to safetensors bytes.
pub fn to_safetensors(
    tensors: &[(String, HostTensor)],
    metadata: &HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>, safetensors::Dtype)> = tensors
        .iter()
        .map(|(n, t)| {
            if is_counter(n) {
                let ints: Vec<u8> = t
                    .data
                    .iter()
                    .flat_map(|&v| (v as i64).to_le_bytes())
                    .collect();
                return (n.clone(), ints, t.shape.0.clone(), safetensors::Dtype::I64);
            }
            (
                n.clone(),
                bytemuck::cast_slice(&t.data).to_vec(),
                t.shape.0.clone(),
                safetensors::Dtype::F32,
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(n, b, s, dtype)| {
            let v = safetensors::tensor::TensorView::new(*dtype, s.clone(), b)
                .map_err(|e| Error::invalid(n, e.to_string()))?;
            Ok((n.clone(), v))
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, Some(metadata.clone()))
        .map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
    canonical_metadata(bytes)
}

/// Rewrites the header of safetensors `bytes` with the metadata's keys in sorted order: the
/// crate writes them in a HashMap's order, which changes from run to run, so two saves of the
/// same weights would differ byte for byte. The header is padded with spaces to 8 bytes as the
/// format asks; the tensor data (offsets from the header's end) is unchanged.
fn canonical_metadata(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let bad = |why: &str| Error::invalid("checkpoint", format!("serialised header: {why}"));
    let n = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| bad("too short"))?) as usize;
    let header = bytes.get(8..8 + n).ok_or_else(|| bad("too short"))?;
    let mut value: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    if let Some(meta) = value.get_mut("__metadata__") {
        let sorted: std::collections::BTreeMap<String, String> =
            serde_json::from_value(meta.take()).map_err(|e| bad(&e.to_string()))?;
        *meta = serde_json::to_value(sorted).map_err(|e| bad(&e.to_string()))?;
    }
    let mut text = serde_json::to_vec(&value).map_err(|e| bad(&e.to_string()))?;
    text.resize(text.len().div_ceil(8) * 8, b' ');
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Saves named tensors to `path` atomically.
pub fn save(
    path: &Path,
    tensors: &[(String, HostTensor)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    write_atomic(path, &to_safetensors(tensors, metadata)?)
}

/// A loaded checkpoint: metadata and tensors by name.
pub struct Checkpoint {
    pub metadata: HashMap<String, String>,
    pub tensors: HashMap<String, HostTensor>,
}

/// Whether `bytes` look like a file written by `torch.save`: a zip archive (PyTorch >= 1.6) or
/// a bare pickle (protocol 2 to 5: 0x80 then the protocol byte). Only asked of files that are
/// not valid safetensors: a safetensors header length may start with 0x80 too.
pub fn looks_like_pickle(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        || (bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]))
}

/// Reads a safetensors file (F32 or F16 tensors). A PyTorch pickle (`.pt`, `.pth`) or anything
/// else is a clear error naming the file.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, meta) = match safetensors::SafeTensors::read_metadata(&bytes) {
        Ok(m) => m,
        Err(_) if looks_like_pickle(&bytes) => {
            return Err(Error::data(
                path,
                "is a PyTorch pickle (torch.save), not safetensors; convert it with \
                 `python3 scripts/pytorch_interop.py to-safetensors IN.pt OUT.safetensors`",
            ))
        }
        Err(e) => return Err(Error::data(path, format!("not a safetensors file: {e}"))),
    };
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::data(path, format!("corrupt safetensors file: {e}")))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        let data: Vec<f32> = match view.dtype() {
            safetensors::Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            safetensors::Dtype::F16 => view
                .data()
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            safetensors::Dtype::I64 if is_counter(&name) => view
                .data()
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
                .collect(),
            other => {
                return Err(Error::data(
                    path,
                    format!(
                        "tensor {name} is {other:?}; only F32 and F16 are supported (and I64 \
                         for num_batches_tracked)"
                    ),
                ))
            }
        };
        tensors.insert(
            name,
            HostTensor {
                shape: Shape(view.shape().to_vec()),
                data,
            },
        );
    }
    Ok(Checkpoint {
        metadata: meta.metadata().clone().unwrap_or_default(),
        tensors,
    })
}

impl Checkpoint {
    /// The tensors `graph` needs, in its parameter order; a missing tensor, an extra one or a
    /// wrong shape is an error naming the file and the tensor.
    pub fn parameters_for(&self, graph: &Graph, path: &Path) -> Result<Vec<HostTensor>> {
        let specs = graph.parameters();
        let mut out = Vec::new();
        for (name, shape, _) in &specs {
            let t = self.tensors.get(name).ok_or_else(|| {
                let g = &graph.name;
                let why = match self.metadata.get("model") {
                    // The same network with other options (e.g. GoogLeNet without its
                    // auxiliary classifiers).
                    Some(m) if m == g => {
                        format!("this {g} checkpoint was built with other options")
                    }
                    Some(m) => format!("not a {g} checkpoint (it holds a {m})"),
                    None => format!("not a {g} checkpoint"),
                };
                Error::data(path, format!("has no tensor '{name}': {why}"))
            })?;
            if &t.shape.0 != shape {
                return Err(Error::data(
                    path,
                    format!(
                        "tensor '{name}' has shape {:?}, {} needs {:?}",
                        t.shape.0, graph.name, shape
                    ),
                ));
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                return Err(Error::data(
                    path,
                    format!(
                        "tensor '{name}' holds {} at index {i}: the weights are unusable \
                         (a diverged run?)",
                        t.data[i]
                    ),
                ));
            }
            out.push(t.clone());
        }
        let buffers = graph.buffers();
        if let Some(extra) = self.tensors.keys().find(|k| {
            !specs.iter().any(|(n, _, _)| n == *k) && !buffers.iter().any(|(n, _)| n == *k)
        }) {
            return Err(Error::data(
                path,
                format!("holds tensor '{extra}', which {} does not have", graph.name),
            ));
        }
        Ok(out)
    }

    /// The buffers `graph` needs (batch norm's running estimates and counters), in
    /// [`Graph::buffers`] order; a missing one or a wrong shape is an error naming the file.
    pub fn buffers_for(&self, graph: &Graph, path: &Path) -> Result<Vec<HostTensor>> {
        let mut out = Vec::new();
        for (name, shape) in graph.buffers() {
            let t = self.tensors.get(&name).ok_or_else(|| {
                Error::data(
                    path,
                    format!(
                        "has no tensor '{name}': the batch-norm running statistics are missing \
                         (a {} checkpoint holds them)",
                        graph.name
                    ),
                )
            })?;
            if t.shape.0 != shape {
                return Err(Error::data(
                    path,
                    format!(
                        "tensor '{name}' has shape {:?}, expected {shape:?}",
                        t.shape.0
                    ),
                ));
            }
            if name.ends_with("running_var") && t.data.iter().any(|v| v.is_nan() || *v < 0.0) {
                return Err(Error::data(
                    path,
                    format!("tensor '{name}' holds a negative or non-finite variance"),
                ));
            }
            if t.data.iter().any(|v| !v.is_finite()) {
                return Err(Error::data(path, format!("tensor '{name}' is not finite")));
            }
            out.push(t.clone());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two saves of the same tensors and metadata are the same bytes, whatever order the
    /// metadata maps hold their keys in, and read back whole.
    #[test]
    fn saves_are_byte_identical_and_read_back() {
        let meta = || -> HashMap<String, String> {
            (0..24)
                .map(|i| (format!("key{i}"), format!("value {i}")))
                .collect()
        };
        let a = to_safetensors(&tensors(), &meta()).unwrap();
        for _ in 0..4 {
            assert_eq!(to_safetensors(&tensors(), &meta()).unwrap(), a);
        }
        let n = u64::from_le_bytes(a[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let st = safetensors::SafeTensors::deserialize(&a).unwrap();
        let (_, read) = safetensors::SafeTensors::read_metadata(&a).unwrap();
        assert_eq!(read.metadata().clone().unwrap(), meta());
        let t = st.tensor("conv1.weight").unwrap();
        let got: &[f32] = bytemuck::cast_slice(t.data());
        assert_eq!(got, &tensors()[0].1.data[..]);
    }

    /// A ResNet-18 checkpoint's state_dict: its parameters and buffers (counters as I64),
    /// through a file.
    fn resnet_checkpoint(drop: Option<&str>) -> (Graph, Checkpoint) {
        let graph = crate::nn::models::resnet18(10, 32).unwrap();
        let mut named: Vec<(String, HostTensor)> = graph
            .parameters()
            .into_iter()
            .map(|(n, shape, _)| {
                (
                    n,
                    HostTensor::new(Shape(shape.clone()), vec![0.5; shape.iter().product()])
                        .unwrap(),
                )
            })
            .collect();
        for (n, shape) in graph.buffers() {
            named.push((
                n,
                HostTensor::new(Shape(shape.clone()), vec![3.0; shape.iter().product()]).unwrap(),
            ));
        }
        named.retain(|(n, _)| Some(n.as_str()) != drop);
        let dir = std::env::temp_dir().join(format!("cnngpu-ck-{}-{drop:?}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.safetensors");
        save(&path, &named, &HashMap::new()).unwrap();
        let ck = load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (graph, ck)
    }

    #[test]
    fn running_statistics_round_trip_and_missing_ones_are_named() {
        let path = Path::new("r.safetensors");
        let (graph, ck) = resnet_checkpoint(None);
        let buffers = ck.buffers_for(&graph, path).unwrap();
        assert_eq!(buffers.len(), graph.buffers().len());
        // num_batches_tracked went through the file as I64 and came back as 3.
        assert_eq!(buffers[2].data, vec![3.0]);
        assert_eq!(
            ck.parameters_for(&graph, path).unwrap().len(),
            graph.parameters().len()
        );
        let (graph, ck) = resnet_checkpoint(Some("layer2.1.bn1.running_var"));
        let err = ck.buffers_for(&graph, path).unwrap_err().to_string();
        assert!(
            err.contains("layer2.1.bn1.running_var") && err.contains("running statistics"),
            "{err}"
        );
        // Another architecture's checkpoint.
        let lenet = crate::nn::models::lenet5(10).unwrap();
        let err = ck.parameters_for(&lenet, path).unwrap_err().to_string();
        assert!(
            err.contains("conv1.weight") && err.contains("lenet5 needs"),
            "{err}"
        );
    }

    /// A tensor missing from a checkpoint of the same network says the network was built with
    /// other options; from another network's, which network it holds.
    #[test]
    fn a_missing_tensor_says_whether_the_network_is_the_same() {
        let with_aux = crate::nn::models::googlenet(10, 32, true).unwrap();
        let without = crate::nn::models::googlenet(10, 32, false).unwrap();
        let tensors = without
            .parameters()
            .into_iter()
            .map(|(n, shape, _)| {
                let len = shape.iter().product();
                (n, HostTensor::new(Shape(shape), vec![0.0; len]).unwrap())
            })
            .collect();
        let mut ck = Checkpoint {
            metadata: HashMap::from([("model".to_string(), "googlenet".to_string())]),
            tensors,
        };
        let path = Path::new("g.safetensors");
        assert!(ck.parameters_for(&without, path).is_ok());
        let err = ck.parameters_for(&with_aux, path).unwrap_err().to_string();
        assert!(
            err.contains("'aux1.conv.conv.weight'") && err.contains("built with other options"),
            "{err}"
        );
        ck.metadata.insert("model".into(), "resnet18".into());
        let err = ck.parameters_for(&with_aux, path).unwrap_err().to_string();
        assert!(
            err.contains("not a googlenet checkpoint (it holds a resnet18)"),
            "{err}"
        );
    }

    fn tensors() -> Vec<(String, HostTensor)> {
        vec![(
            "conv1.weight".to_string(),
            HostTensor {
                shape: Shape(vec![2, 3]),
                data: vec![1.0, -2.0, 3.5, 0.0, 5.0, -6.25],
            },
        )]
    }

    /// Safetensors bytes whose 8-byte little-endian header length starts with 0x80 followed
    /// by a pickle protocol byte (2..=5): the first two bytes are exactly a pickle's.
    fn header_length_starting_0x80() -> Vec<u8> {
        for pad in 0..4096 {
            let mut meta = HashMap::new();
            meta.insert("pad".to_string(), "x".repeat(pad));
            let bytes = to_safetensors(&tensors(), &meta).unwrap();
            if bytes[0] == 0x80 && (2..=5).contains(&bytes[1]) {
                return bytes;
            }
        }
        panic!("no padding gives a header length of 0x0280..0x0580");
    }

    #[test]
    fn a_safetensors_header_length_starting_0x80_is_not_a_pickle() {
        let bytes = header_length_starting_0x80();
        assert!(looks_like_pickle(&bytes), "the first bytes are a pickle's");
        let dir = std::env::temp_dir().join(format!("cnngpu-ck80-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x80.safetensors");
        std::fs::write(&path, &bytes).unwrap();
        let ck = load(&path).expect("a valid safetensors file loads");
        assert_eq!(ck.tensors["conv1.weight"], tensors()[0].1);
        // A real pickle (protocol 2, as torch.save with the legacy format writes) and a zip
        // archive are still recognised.
        for (name, data) in [
            (
                "legacy.pt",
                &b"\x80\x02\x8a\x0alz\xf9\x9c\x92\x9a\x0a\x0a"[..],
            ),
            ("zip.pt", &b"PK\x03\x04\x00\x00archive/data.pkl"[..]),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, data).unwrap();
            let e = load(&p).err().expect("a pickle is rejected").to_string();
            assert!(e.contains(name) && e.contains("PyTorch pickle"), "{e}");
        }
        // Bytes that are neither: the safetensors error.
        let p = dir.join("junk.safetensors");
        std::fs::write(&p, b"\x80\x09junk").unwrap();
        let e = load(&p).err().unwrap().to_string();
        assert!(e.contains("not a safetensors file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
