//! naga parses and validates every kernel in every storage variant — no GPU needed — and
//! translates each to MSL and HLSL, so a shader that could not reach Metal or DX12 fails here.

use cnngpu::gpu::shaders::{compose, Storage, KERNELS};
use naga::valid::{Capabilities, ValidationFlags, Validator};

fn validate(
    name: &str,
    storage: Storage,
) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let src =
        compose(cnngpu::gpu::shaders::kernel(name).unwrap(), storage).map_err(|e| e.to_string())?;
    let module = naga::front::wgsl::parse_str(&src).map_err(|e| e.emit_to_string(&src))?;
    // What wgpu grants on Vulkan, Metal and DX12: pack2x16float needs SHADER_FLOAT16_IN_FLOAT32
    // (wgpu's downlevel flag SHADER_F16_IN_F32), native f16 needs SHADER_FLOAT16 (SHADER_F16).
    let caps = match storage {
        Storage::F16Native => {
            Capabilities::SHADER_FLOAT16 | Capabilities::SHADER_FLOAT16_IN_FLOAT32
        }
        _ => Capabilities::SHADER_FLOAT16_IN_FLOAT32,
    };
    let info = Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| e.emit_to_string(&src))?;
    Ok((module, info))
}

#[test]
fn every_kernel_validates_in_every_storage_variant() {
    let mut failures = Vec::new();
    for k in KERNELS {
        for s in Storage::ALL {
            match validate(k.name, s) {
                Ok((module, _)) => {
                    let entry = module
                        .entry_points
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>();
                    assert_eq!(
                        entry,
                        vec![k.name],
                        "{}: the entry point is named after the file",
                        k.name
                    );
                }
                Err(e) => failures.push(format!("{} ({}):\n{e}", k.name, s.name())),
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
    for k in KERNELS {
        for s in Storage::ALL {
            let (module, info) = match validate(k.name, s) {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!("{} ({}): invalid: {e}", k.name, s.name()));
                    continue;
                }
            };
            let msl_options = naga::back::msl::Options {
                lang_version: (2, 4),
                ..Default::default()
            };
            let pipeline = naga::back::msl::PipelineOptions::default();
            if let Err(e) = naga::back::msl::write_string(&module, &info, &msl_options, &pipeline) {
                failures.push(format!("{} ({}) -> MSL: {e:?}", k.name, s.name()));
            }
            let hlsl_options = naga::back::hlsl::Options {
                shader_model: naga::back::hlsl::ShaderModel::V6_2,
                ..Default::default()
            };
            let hlsl_pipeline = naga::back::hlsl::PipelineOptions::default();
            let mut out = String::new();
            let mut w = naga::back::hlsl::Writer::new(&mut out, &hlsl_options, &hlsl_pipeline);
            if let Err(e) = w.write(&module, &info, None) {
                failures.push(format!("{} ({}) -> HLSL: {e:?}", k.name, s.name()));
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
