//! The WGSL sources (compiled into the binary) and their composition into one module per
//! kernel and storage variant.
//!
//! A kernel file declares its precision-dependent tensors with directive comments,
//! `//#tensor <binding> <name> <read|write>`, and pulls shared code with `//#include <name>`
//! (shaders/common/<name>.wgsl). [`compose`] turns each tensor into a storage binding of the
//! variant's element type plus two accessors the kernel body uses, `<name>_ld(i) -> f32` and
//! `<name>_st(i, v)`; `//#tensor4 <binding> <name> <read|write>` binds a tensor accessed as
//! vec4s (`<name>_ld4(i)`, `<name>_st4(i, v)`); `//#texture <binding> <name>` reads a packed
//! operand (rgba32float) through the same two accessors, `//#texture <binding> <name> storage`
//! a texture in the storage's precision (rgba16float in the f16 storages: a weight texture, a
//! tensor texture_pack or a copy filled as it is), and `//#texture_out <binding> <name>`
//! declares such a texture written; everything else is plain WGSL that naga validates as
//! written.

use super::gemm_sg::SgTile;
use crate::error::{Error, Result};

/// How a kernel stores its precision-dependent tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// `array<f32>`.
    F32,
    /// `array<f16>` with `enable f16;` (adapters with SHADER_F16).
    F16Native,
    /// Pairs of f16 packed in `array<u32>` (pack2x16float / unpack2x16float) for adapters
    /// without SHADER_F16. Stores use integer atomics on the 16-bit halves (atomicAnd then
    /// atomicOr) so neighbouring invocations never overwrite each other's element; integer
    /// bit operations are exact, so results stay bit-reproducible.
    F16Packed,
}

impl Storage {
    /// All variants, in table order.
    pub const ALL: [Storage; 3] = [Storage::F32, Storage::F16Native, Storage::F16Packed];

    /// Name in tables and messages.
    pub fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16Native => "f16-native",
            Storage::F16Packed => "f16-packed",
        }
    }
}

/// How kernels read the values that change every step (`//#include per_step`: the step counter
/// of the dropout masks and the learning rate), so that no uniform is rewritten per step:
/// immediates (wgpu's IMMEDIATES feature) where the adapter has them, else one small uniform
/// buffer at binding [`PER_STEP_BINDING`] that the backend writes once per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PerStep {
    Immediates,
    Uniform,
}

/// The binding of the per-step uniform (when the adapter has no immediates).
pub const PER_STEP_BINDING: u32 = 15;

/// The per-step values as the kernels declare them (mirrored by the 16 bytes the backend
/// writes: step, lr bits, two zero words).
fn per_step_decl(mode: PerStep) -> String {
    let var = match mode {
        PerStep::Immediates => "var<immediate> per_step: PerStep;".to_string(),
        PerStep::Uniform => {
            format!("@group(0) @binding({PER_STEP_BINDING}) var<uniform> per_step: PerStep;")
        }
    };
    format!("struct PerStep {{ step: u32, lr: f32, _pad0: u32, _pad1: u32 }}\n{var}\n")
}

/// One kernel: its entry point (= file stem) and source.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    pub name: &'static str,
    pub source: &'static str,
}

macro_rules! wgsl_table {
    ($($name:literal),* $(,)?) => {
        &[$(Kernel { name: $name, source: include_str!(concat!("../../shaders/", $name, ".wgsl")) }),*]
    };
}

/// Every kernel of the op library.
pub const KERNELS: &[Kernel] = wgsl_table![
    "conv2d_forward",
    "conv2d_backward_input",
    "conv2d_backward_weight",
    "conv2d_backward_weight_reduce",
    "conv2d_backward_bias",
    "conv2d_backward_bias_sg",
    "conv2d_pack",
    "conv2d_pack_buf",
    "conv2d_pack_storage",
    "conv2d_pack_buf_storage",
    "conv2d_col2im",
    "conv2d_forward_sg",
    "conv2d_forward_rows_sg",
    "conv2d_forward_nhwc_sg",
    "conv2d_forward_direct",
    "conv2d_direct_weights",
    "conv2d_backward_weight_direct",
    "conv2d_backward_weight_direct_taps",
    "conv2d_backward_input_sg",
    "conv2d_backward_weight_sg",
    "conv2d_backward_weight_rows_sg",
    "conv2d_backward_weight_nhwc_sg",
    "conv2d_forward_wg",
    "conv2d_backward_input_wg",
    "conv2d_backward_weight_wg",
    "max_pool2d_forward",
    "max_pool2d_backward_input",
    "avg_pool2d_forward",
    "avg_pool2d_forward_mirror",
    "avg_pool2d_backward_input",
    "avg_pool2d_backward_input_mirror",
    "lrn_forward",
    "lrn_backward_input",
    "linear_forward",
    "linear_forward_dot",
    "linear_backward_input",
    "linear_backward_weight",
    "linear_backward_weight_dot",
    "linear_backward_bias",
    "linear_backward_bias_sg",
    "linear_pack",
    "linear_pack_pair",
    "linear_forward_sg",
    "linear_backward_input_sg",
    "linear_backward_weight_sg",
    "linear_backward_weight_short_sg",
    "linear_forward_wg",
    "linear_backward_input_wg",
    "linear_backward_weight_wg",
    "linear_reduce_wg",
    "relu_forward",
    "relu_backward_input",
    "add_forward",
    "accumulate",
    "tensor_copy",
    "texture_pack",
    "texture_pack4",
    "conv_transpose2d_bias",
    "concat_forward",
    "concat_backward_input",
    "batch_norm_stats",
    "batch_norm_forward",
    "batch_norm_backward_sums",
    "batch_norm_backward_input",
    "tanh_forward",
    "tanh_backward_input",
    "dropout_forward",
    "dropout_backward_input",
    "softmax_cross_entropy_forward",
    "softmax_cross_entropy_backward_input",
    "topk_accumulate",
    "pixel_cross_entropy_forward",
    "pixel_cross_entropy_backward_input",
    "pixel_metrics_accumulate",
    "sgd_update",
    "grad_check_finite",
    "loss_scale_update",
    "loss_accumulate",
    "peak_fma",
];

macro_rules! include_table {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../shaders/common/", $name, ".wgsl")))),*]
    };
}

/// Includes generated for a subgroup tile (src/gpu/gemm_sg.rs): name, what the text is (for
/// the error when no tile is given) and its generator.
type Generator = fn(SgTile) -> String;
const GENERATED: &[(&str, &str, Generator)] = &[
    ("gemm_sg", "the subgroup GEMM core", super::gemm_sg::core),
    (
        "gemm_sg_nn",
        "the subgroup GEMM core",
        super::gemm_sg::core_nn,
    ),
    (
        "conv2d_direct_sg",
        "the direct kernel's broadcasts",
        super::gemm_sg::direct_taps,
    ),
    (
        "conv2d_wgrad_taps",
        "the direct weight gradient's taps",
        super::gemm_sg::direct_wgrad_taps,
    ),
    (
        "linear_wgrad_short",
        "the short weight gradient's sums",
        super::gemm_sg::short_wgrad,
    ),
];

/// The generated include named `name`, if it is one.
fn generated(name: &str) -> Option<&'static (&'static str, &'static str, Generator)> {
    GENERATED.iter().find(|(n, _, _)| *n == name)
}

/// Shared code that kernels pull in with `//#include`.
const INCLUDES: &[(&str, &str)] = include_table![
    "conv2d_pack_modes",
    "conv2d_backward_weight_store",
    "gemm",
    "gemm_wg",
    "conv2d_positions",
    "conv2d_direct",
    "div",
    "conv2d_sg_params",
    "conv2d_sg_operands",
    "conv2d_sg_packed_b",
    "conv2d_forward_store",
    "linear_sg_params",
    "linear_sg_operands",
    "linear_wg_params",
    "channel_sum_params",
    "channel_sum",
    "conv2d_params",
    "linear_params",
    "pool2d_params",
    "avg_window",
    "avg_dx",
    "mirror_texel",
    "lrn_params",
    "batch_norm_params",
    "concat_params",
    "pixel_loss_params",
    "elementwise_params",
    "dropout_params",
    "softmax_cross_entropy_params",
    "flat",
    "activation",
    "act_derivative",
    "act_backward",
];

impl Kernel {
    /// Whether the kernel is built on the subgroup GEMM core (`//#include gemm_sg`), which is
    /// generated for a subgroup size, or on other text generated for a tile (the direct
    /// convolutions' taps): such kernels compose only with an [`SgTile`], and run in the
    /// subgroup families.
    pub fn needs_subgroups(&self) -> bool {
        self.source
            .lines()
            .filter_map(|l| l.trim().strip_prefix("//#include "))
            .any(|name| generated(name.trim()).is_some())
    }

    /// Whether the kernel reads the per-step values (`//#include per_step`).
    pub fn uses_per_step(&self) -> bool {
        self.source.contains("//#include per_step")
    }
}

/// Looks a kernel up by name.
pub fn kernel(name: &str) -> Result<&'static Kernel> {
    KERNELS
        .iter()
        .find(|k| k.name == name)
        .ok_or_else(|| Error::invalid("kernel", format!("no kernel named '{name}'")))
}

/// Builds the complete WGSL module of `kernel` for `storage`.
pub fn compose(kernel: &Kernel, storage: Storage) -> Result<String> {
    compose_with(kernel, storage, None)
}

/// Builds the complete WGSL module of `kernel` for `storage`, with the subgroup GEMM core
/// generated for `tile` where the kernel includes it (per-step values in a uniform).
pub fn compose_with(kernel: &Kernel, storage: Storage, tile: Option<SgTile>) -> Result<String> {
    compose_full(kernel, storage, tile, PerStep::Uniform)
}

/// [`compose_with`], with the per-step values read as `per_step` says.
pub fn compose_full(
    kernel: &Kernel,
    storage: Storage,
    tile: Option<SgTile>,
    per_step: PerStep,
) -> Result<String> {
    let mut header = String::new();
    if storage == Storage::F16Native {
        header.push_str("enable f16;\n\n");
    }
    let mut includes = String::new();
    for line in kernel.source.lines() {
        let Some(directive) = line.trim().strip_prefix("//#") else {
            continue;
        };
        let words: Vec<&str> = directive.split_whitespace().collect();
        match words.as_slice() {
            ["tensor", binding, name, access] => {
                let binding: u32 = binding.parse().map_err(|_| {
                    Error::invalid(kernel.name, format!("bad binding in directive '{line}'"))
                })?;
                let write = match *access {
                    "read" => false,
                    "write" => true,
                    _ => {
                        return Err(Error::invalid(
                            kernel.name,
                            format!("bad access in '{line}'"),
                        ))
                    }
                };
                header.push_str(&tensor_decl(binding, name, write, storage));
            }
            ["tensor4", binding, name, access @ ("read" | "write")] => {
                let binding: u32 = binding.parse().map_err(|_| {
                    Error::invalid(kernel.name, format!("bad binding in directive '{line}'"))
                })?;
                header.push_str(&tensor4_decl(binding, name, *access == "write", storage));
            }
            ["texture", binding, name, rest @ ..] if matches!(rest, [] | ["storage"]) => {
                let binding: u32 = binding.parse().map_err(|_| {
                    Error::invalid(kernel.name, format!("bad binding in directive '{line}'"))
                })?;
                header.push_str(&texture_decl(binding, name, !rest.is_empty(), storage));
            }
            ["texture_out", binding, name] => {
                let binding: u32 = binding.parse().map_err(|_| {
                    Error::invalid(kernel.name, format!("bad binding in directive '{line}'"))
                })?;
                let format = texel_format(true, storage);
                header.push_str(&format!(
                    "@group(0) @binding({binding}) var {name}: \
                     texture_storage_2d<{format}, write>;\n"
                ));
            }
            ["include", name] if generated(name).is_some() => {
                let (_, what, text) = generated(name).expect("tested by the guard");
                let tile = tile.ok_or_else(|| {
                    Error::invalid(
                        kernel.name,
                        format!(
                            "needs {what}, generated for a subgroup tile, and none was given \
                             (the adapter has no fixed subgroup size)"
                        ),
                    )
                })?;
                includes.push_str(&text(tile));
                includes.push('\n');
            }
            ["include", "per_step"] => includes.push_str(&per_step_decl(per_step)),
            ["include", name] => {
                let (_, src) = INCLUDES.iter().find(|(n, _)| n == name).ok_or_else(|| {
                    Error::invalid(kernel.name, format!("unknown include '{name}'"))
                })?;
                includes.push_str(src);
                includes.push('\n');
            }
            _ => {
                return Err(Error::invalid(
                    kernel.name,
                    format!("unknown directive '{line}'"),
                ))
            }
        }
    }
    Ok(format!("{header}\n{includes}\n{}", kernel.source))
}

/// The texel format of a texture a kernel reads or writes: rgba32float, or with `in_storage`
/// the storage's own precision (rgba16float in the f16 storages: a weight texture, a tensor
/// copied as it is).
pub fn texel_format(in_storage: bool, storage: Storage) -> &'static str {
    match (in_storage, storage) {
        (true, Storage::F16Native | Storage::F16Packed) => "rgba16float",
        _ => "rgba32float",
    }
}

/// A tensor read through a texture (vec4 i of the tensor at texel (i % TEXTURE_ROW,
/// i / TEXTURE_ROW)): a packed operand, f32 in every storage precision, or with `in_storage`
/// one in the storage's precision ([`texel_format`]): `<name>_ld4(i)` and
/// `<name>_ld(i)` as for a storage tensor. On Mesa 22.3 lavapipe a texel load is a gather
/// where a storage load runs lane by lane (see gpu::weight_textures). Read as a read-only
/// storage texture, not a sampled one: lavapipe's sampled texel fetch computes the mip level's
/// size and offset lane by lane, and a storage-texture load took half its time on Mesa 22.3,
/// Mesa 25 and llvmpipe's GL (examples/kernel_lab.rs, 2-core Zen 4: 0.24 against 0.50 ms for
/// the same 51,200 subgroup loads on Mesa 22.3).
fn texture_decl(binding: u32, name: &str, in_storage: bool, storage: Storage) -> String {
    let row = super::backend::TEXTURE_ROW;
    let (mask, shift) = (row - 1, row.trailing_zeros());
    let format = texel_format(in_storage, storage);
    format!(
        "@group(0) @binding({binding}) var {name}_tex: texture_storage_2d<{format}, read>;\n\
         fn {name}_ld4(i: u32) -> vec4<f32> {{ \
         return textureLoad({name}_tex, vec2<u32>(i & {mask}u, i >> {shift}u)); }}\n\
         fn {name}_ld(i: u32) -> f32 {{ return {name}_ld4(i >> 2u)[i & 3u]; }}\n"
    )
}

/// A tensor accessed four elements at a time: `<name>_ld4(i) -> vec4<f32>` returns elements
/// 4i..4i+3 with one vector load and, when written, `<name>_st4(i, v)` stores them with one
/// vector store (the binding offset and the elements accessed must be whole vec4s; a store
/// owns its four elements, so packed f16 needs no atomics).
fn tensor4_decl(binding: u32, name: &str, write: bool, storage: Storage) -> String {
    let access = if write { "read_write" } else { "read" };
    let b = format!("@group(0) @binding({binding}) var<storage, {access}>");
    let (decl, ld, st) = match storage {
        Storage::F32 => (
            "array<vec4<f32>>",
            format!("return {name}[i];"),
            format!("{name}[i] = v;"),
        ),
        Storage::F16Native if write => (
            "array<vec4<f16>>",
            format!("return vec4<f32>({name}[i]);"),
            format!("{name}[i] = vec4<f16>(v);"),
        ),
        // Written vec4 tensors are atomic words, so that the element stores of a partial vec4
        // (`_st`) can set one half of a word beside another invocation's half.
        Storage::F16Packed if write => (
            "array<atomic<u32>>",
            format!(
                "return vec4<f32>(unpack2x16float(atomicLoad(&{name}[2u * i])), \
                 unpack2x16float(atomicLoad(&{name}[2u * i + 1u])));"
            ),
            format!(
                "atomicStore(&{name}[2u * i], pack2x16float(v.xy)); \
                 atomicStore(&{name}[2u * i + 1u], pack2x16float(v.zw));"
            ),
        ),
        // Read-only f16 vec4s load as pairs of words in the native storage too (the same
        // bytes): on Mesa 22.3 lavapipe that took two thirds of the time of vec4<f16> loads
        // (examples/kernel_lab.rs, 2-core Zen 4: 4.6 against 6.9 ms for 4.2M lane loads).
        Storage::F16Packed | Storage::F16Native => (
            "array<vec2<u32>>",
            format!(
                "let p = {name}[i]; return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));"
            ),
            format!("{name}[i] = vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));"),
        ),
    };
    let mut s = format!("{b} {name}: {decl};\nfn {name}_ld4(i: u32) -> vec4<f32> {{ {ld} }}\n");
    if write {
        s += &format!("fn {name}_st4(i: u32, v: vec4<f32>) {{ {st} }}\n");
        // One element (for rows that are not whole vec4s).
        let st1 = match storage {
            Storage::F32 => format!("{name}[i >> 2u][i & 3u] = v;"),
            Storage::F16Native => format!("{name}[i >> 2u][i & 3u] = f16(v);"),
            Storage::F16Packed => format!(
                "let shift = (i & 1u) * 16u; \
                 let bits = pack2x16float(vec2<f32>(v, 0.0)) & 0xffffu; \
                 atomicAnd(&{name}[i >> 1u], ~(0xffffu << shift)); \
                 atomicOr(&{name}[i >> 1u], bits << shift);"
            ),
        };
        s += &format!("fn {name}_st(i: u32, v: f32) {{ {st1} }}\n");
    } else {
        // One element of a read-only vec4 tensor (for rows that are not whole vec4s).
        let ld1 = match storage {
            Storage::F32 => format!("return {name}[i >> 2u][i & 3u];"),
            Storage::F16Packed | Storage::F16Native => format!(
                "let p = {name}[i >> 2u]; \
                 return unpack2x16float(select(p.x, p.y, (i & 2u) != 0u))[i & 1u];"
            ),
        };
        s += &format!("fn {name}_ld(i: u32) -> f32 {{ {ld1} }}\n");
    }
    s
}

/// The binding and accessors of one tensor in one storage variant.
fn tensor_decl(binding: u32, name: &str, write: bool, storage: Storage) -> String {
    let access = if write { "read_write" } else { "read" };
    let b = format!("@group(0) @binding({binding})");
    match (storage, write) {
        (Storage::F32, _) | (Storage::F16Native, _) => {
            let (ty, to_f32, from_f32) = if storage == Storage::F32 {
                ("f32", "", "")
            } else {
                ("f16", "f32", "f16")
            };
            let mut s = format!(
                "{b} var<storage, {access}> {name}: array<{ty}>;\n\
                 fn {name}_ld(i: u32) -> f32 {{ return {to_f32}({name}[i]); }}\n"
            );
            if write {
                s += &format!("fn {name}_st(i: u32, v: f32) {{ {name}[i] = {from_f32}(v); }}\n");
            }
            s
        }
        (Storage::F16Packed, false) => format!(
            "{b} var<storage, read> {name}: array<u32>;\n\
             fn {name}_ld(i: u32) -> f32 {{ return unpack2x16float({name}[i >> 1u])[i & 1u]; }}\n"
        ),
        (Storage::F16Packed, true) => format!(
            "{b} var<storage, read_write> {name}: array<atomic<u32>>;\n\
             fn {name}_ld(i: u32) -> f32 {{ return unpack2x16float(atomicLoad(&{name}[i >> 1u]))[i & 1u]; }}\n\
             fn {name}_st(i: u32, v: f32) {{\n\
             \x20   let shift = (i & 1u) * 16u;\n\
             \x20   let bits = pack2x16float(vec2<f32>(v, 0.0)) & 0xffffu;\n\
             \x20   atomicAnd(&{name}[i >> 1u], ~(0xffffu << shift));\n\
             \x20   atomicOr(&{name}[i >> 1u], bits << shift);\n\
             }}\n"
        ),
    }
}
