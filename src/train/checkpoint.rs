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
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Serialises named f32 tensors with string metadata to safetensors bytes.
pub fn to_safetensors(
    tensors: &[(String, HostTensor)],
    metadata: &HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                bytemuck::cast_slice(&t.data).to_vec(),
                t.shape.0.clone(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(n, b, s)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map_err(|e| Error::invalid(n, e.to_string()))?;
            Ok((n.clone(), v))
        })
        .collect::<Result<_>>()?;
    safetensors::serialize(views, Some(metadata.clone()))
        .map_err(|e| Error::invalid("checkpoint", e.to_string()))
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

/// Reads a safetensors file (F32 or F16 tensors). A PyTorch pickle (`.pt`, `.pth`) or anything
/// else is a clear error naming the file.
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(b"PK\x03\x04") || bytes.first() == Some(&0x80) {
        return Err(Error::data(
            path,
            "is a PyTorch pickle (torch.save), not safetensors; convert it with \
             `python3 scripts/pytorch_interop.py to-safetensors IN.pt OUT.safetensors`",
        ));
    }
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::data(path, format!("not a safetensors file: {e}")))?;
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
            other => {
                return Err(Error::data(
                    path,
                    format!("tensor {name} is {other:?}; only F32 and F16 are supported"),
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
                let model = self
                    .metadata
                    .get("model")
                    .map_or(String::new(), |m| format!(" (it holds a {m})"));
                Error::data(
                    path,
                    format!(
                        "has no tensor '{name}': not a {} checkpoint{model}",
                        graph.name
                    ),
                )
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
            out.push(t.clone());
        }
        if let Some(extra) = self
            .tensors
            .keys()
            .find(|k| !specs.iter().any(|(n, _, _)| n == *k))
        {
            return Err(Error::data(
                path,
                format!("holds tensor '{extra}', which {} does not have", graph.name),
            ));
        }
        Ok(out)
    }
}
