//! naga parses and validates every kernel in every storage variant — no GPU needed — and
//! translates each to MSL and HLSL, so a shader that could not reach Metal or DX12 fails here.

use cnngpu::gpu::shaders::{compose, compose_with, Storage, KERNELS};
use cnngpu::gpu::SgTile;
use naga::valid::{Capabilities, ShaderStages, SubgroupOperationSet, ValidationFlags, Validator};

/// Subgroup sizes the subgroup family is generated for here: lavapipe's 8 and 16 (256- and
/// 512-bit vectors) and a GPU's 32.
const SUBGROUP_SIZES: [u32; 3] = [8, 16, 32];

/// Every (kernel, storage, tile) to validate: kernels on the subgroup core once per size.
fn builds() -> Vec<(&'static str, Storage, Option<SgTile>)> {
    let mut v = Vec::new();
    for k in KERNELS {
        for s in Storage::ALL {
            if k.needs_subgroups() {
                for sg in SUBGROUP_SIZES {
                    v.push((k.name, s, Some(SgTile::for_subgroup(sg))));
                }
            } else {
                v.push((k.name, s, None));
            }
        }
    }
    v
}

fn validate(
    name: &str,
    storage: Storage,
    tile: Option<SgTile>,
) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let src = compose_with(cnngpu::gpu::shaders::kernel(name).unwrap(), storage, tile)
        .map_err(|e| e.to_string())?;
    let module = naga::front::wgsl::parse_str(&src).map_err(|e| e.emit_to_string(&src))?;
    // What wgpu grants on Vulkan, Metal and DX12: pack2x16float needs SHADER_FLOAT16_IN_FLOAT32
    // (wgpu's downlevel flag SHADER_F16_IN_F32), native f16 needs SHADER_FLOAT16 (SHADER_F16).
    let caps = match storage {
        Storage::F16Native => {
            Capabilities::SHADER_FLOAT16 | Capabilities::SHADER_FLOAT16_IN_FLOAT32
        }
        _ => Capabilities::SHADER_FLOAT16_IN_FLOAT32,
    };
    let info = Validator::new(ValidationFlags::all(), caps | Capabilities::SUBGROUP)
        .subgroup_stages(ShaderStages::COMPUTE)
        .subgroup_operations(SubgroupOperationSet::all())
        .validate(&module)
        .map_err(|e| e.emit_to_string(&src))?;
    Ok((module, info))
}

#[test]
fn every_kernel_validates_in_every_storage_variant() {
    let mut failures = Vec::new();
    for (name, s, tile) in builds() {
        {
            match validate(name, s, tile) {
                Ok((module, _)) => {
                    let entry = module
                        .entry_points
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>();
                    assert_eq!(
                        entry,
                        vec![name],
                        "{name}: the entry point is named after the file"
                    );
                }
                Err(e) => failures.push(format!("{name} ({}, {tile:?}):\n{e}", s.name())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} shader variants failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_kernel_translates_to_msl_and_hlsl() {
    let mut failures = Vec::new();
    for (name, s, tile) in builds() {
        {
            let (module, info) = match validate(name, s, tile) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{name} ({}): invalid: {e}", s.name()));
                    continue;
                }
            };
            // Pipeline constants at their defaults, as wgpu resolves them before translating.
            let (module, info) = match naga::back::pipeline_constants::process_overrides(
                &module,
                &info,
                None,
                &naga::back::PipelineConstants::default(),
            ) {
                Ok((m, i)) => (m.into_owned(), i.into_owned()),
                Err(e) => {
                    failures.push(format!("{name} ({}): overrides: {e}", s.name()));
                    continue;
                }
            };
            let msl_options = naga::back::msl::Options {
                lang_version: (2, 4),
                ..Default::default()
            };
            let pipeline = naga::back::msl::PipelineOptions::default();
            if let Err(e) = naga::back::msl::write_string(&module, &info, &msl_options, &pipeline) {
                failures.push(format!("{name} ({}) -> MSL: {e:?}", s.name()));
            }
            let hlsl_options = naga::back::hlsl::Options {
                shader_model: naga::back::hlsl::ShaderModel::V6_2,
                ..Default::default()
            };
            let hlsl_pipeline = naga::back::hlsl::PipelineOptions::default();
            let mut out = String::new();
            let mut w = naga::back::hlsl::Writer::new(&mut out, &hlsl_options, &hlsl_pipeline);
            if let Err(e) = w.write(&module, &info, None) {
                failures.push(format!("{name} ({}) -> HLSL: {e:?}", s.name()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} translations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn unknown_directives_are_rejected() {
    let bad = cnngpu::gpu::shaders::Kernel {
        name: "bad",
        source: "//#tensor one x read\n",
    };
    assert!(compose(&bad, Storage::F32).is_err());
    let bad = cnngpu::gpu::shaders::Kernel {
        name: "bad",
        source: "//#include nothing_here\n",
    };
    assert!(compose(&bad, Storage::F32).is_err());
}

#[test]
fn subgroup_kernels_need_a_tile() {
    let k = cnngpu::gpu::shaders::kernel("conv2d_forward_sg").unwrap();
    assert!(k.needs_subgroups());
    let err = compose(k, Storage::F32).unwrap_err().to_string();
    assert!(err.contains("subgroup"), "{err}");
    assert!(compose_with(k, Storage::F32, Some(SgTile::for_subgroup(8))).is_ok());
}

/// The kernels that read the per-step values (step counter, learning rate) validate with them
/// as immediates (`var<immediate>`, adapters with IMMEDIATES) as well as in the uniform the
/// other tests compose, and only those kernels declare them.
#[test]
fn per_step_kernels_validate_with_immediates() {
    use cnngpu::gpu::shaders::{compose_full, PerStep};
    let users: Vec<&str> = KERNELS
        .iter()
        .filter(|k| k.uses_per_step())
        .map(|k| k.name)
        .collect();
    assert_eq!(
        users,
        ["dropout_forward", "dropout_backward_input", "sgd_update"]
    );
    for name in users {
        let k = cnngpu::gpu::shaders::kernel(name).unwrap();
        for s in Storage::ALL {
            let src = compose_full(k, s, None, PerStep::Immediates).unwrap();
            assert!(src.contains("var<immediate> per_step"), "{name}");
            let module = naga::front::wgsl::parse_str(&src).expect(name);
            let caps = Capabilities::IMMEDIATES
                | Capabilities::SHADER_FLOAT16_IN_FLOAT32
                | if s == Storage::F16Native {
                    Capabilities::SHADER_FLOAT16
                } else {
                    Capabilities::empty()
                };
            Validator::new(ValidationFlags::all(), caps)
                .validate(&module)
                .unwrap_or_else(|e| panic!("{name} ({}): {}", s.name(), e.emit_to_string(&src)));
            let uniform = compose_full(k, s, None, PerStep::Uniform).unwrap();
            assert!(uniform.contains("var<uniform> per_step"), "{name}");
        }
    }
}

/// Kernels read textures as read-only storage textures, never sampled ones (lavapipe's
/// sampled fetch took twice the time: gpu::shaders' `texture_decl`), and weight textures and
/// tensors copied, packed or mirrored as they are in their storage's texel format:
/// rgba16float in the f16 storages, where gpu::weight_textures copies f16 values as they are.
#[test]
fn textures_are_read_only_storage_textures_in_the_storage_format() {
    for (name, storage, tile) in builds() {
        let k = cnngpu::gpu::shaders::kernel(name).unwrap();
        let src = compose_with(k, storage, tile).unwrap();
        assert!(!src.contains("texture_2d<"), "{name} ({})", storage.name());
    }
    let tile = Some(SgTile::for_subgroup(8));
    let bpack = |name: &str, s: Storage| {
        let src = compose_with(cnngpu::gpu::shaders::kernel(name).unwrap(), s, tile).unwrap();
        let decl = src.lines().find(|l| l.contains("var bpack_tex")).unwrap();
        decl.to_string()
    };
    // The weights, and x as linear_pack_pair packs it or its producer mirrors it.
    for b in [
        "linear_forward_sg",
        "linear_backward_input_sg",
        "linear_backward_weight_sg",
    ] {
        assert!(bpack(b, Storage::F32).contains("<rgba32float, read>"));
        for s in [Storage::F16Native, Storage::F16Packed] {
            assert!(bpack(b, s).contains("<rgba16float, read>"), "{b}");
        }
    }
    // texture_pack writes, and the direct convolution reads, x in the storage's format.
    let decl = |name: &str, var: &str, s: Storage| {
        let src = compose_with(cnngpu::gpu::shaders::kernel(name).unwrap(), s, tile).unwrap();
        src.lines().find(|l| l.contains(var)).unwrap().to_string()
    };
    for (s, format) in [
        (Storage::F32, "rgba32float"),
        (Storage::F16Native, "rgba16float"),
        (Storage::F16Packed, "rgba16float"),
    ] {
        for pack in ["texture_pack", "texture_pack4"] {
            let dst = decl(pack, "var dst", s);
            assert!(dst.contains(&format!("<{format}, write>")), "{pack}: {dst}");
        }
        for (writer, var) in [
            ("linear_pack_pair", "var xt"),
            ("avg_pool2d_forward_mirror", "var mirror"),
            ("avg_pool2d_backward_input_mirror", "var mirror"),
        ] {
            let dst = decl(writer, var, s);
            assert!(
                dst.contains(&format!("<{format}, write>")),
                "{writer}: {dst}"
            );
        }
        let x = decl("conv2d_forward_direct", "var x_tex", s);
        assert!(x.contains(&format!("<{format}, read>")), "{x}");
    }
}
