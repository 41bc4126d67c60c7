//! A microbenchmark bench for WGSL experiments: runs one compute shader on the chosen adapter
//! and prints its time and GFLOP/s. Used to measure what a driver's compiler makes of a load
//! pattern before it becomes a kernel variant.
//!
//! `cargo run --release --example kernel_lab -- FILE.wgsl ENTRY WORKGROUPS FLOPS BUF_FLOATS... [-- U0 U1 ...]`
//! Binding 0 is a uniform of 16 u32 (the values after `--`), bindings 1.. are f32 storage
//! buffers of the given lengths filled with small values.

use cnngpu::gpu::context::GpuContext;
use std::time::Instant;
use wgpu::util::DeviceExt;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (main, uni) = args.split_at(split);
    let file = &main[0];
    let entry = &main[1];
    let wgs: u32 = main[2].parse().unwrap();
    let flops: f64 = main[3].parse().unwrap();
    let lens: Vec<usize> = main[4..].iter().map(|s| s.parse().unwrap()).collect();
    let mut u = [0u32; 16];
    for (i, v) in uni.iter().skip(1).enumerate() {
        u[i] = v.parse().unwrap();
    }
    let ctx = GpuContext::open(&std::env::var("CNNGPU_ADAPTER").unwrap_or("auto".into())).unwrap();
    eprintln!("{}", ctx.describe());
    let src = std::fs::read_to_string(file).unwrap();
    let dev = &ctx.device;
    let desc = wgpu::ShaderModuleDescriptor {
        label: None,
        source: wgpu::ShaderSource::Wgsl(src.into()),
    };
    // LAB_UNCHECKED=1: without naga's bounds checks (to measure what they cost).
    let module = if std::env::var("LAB_UNCHECKED").is_ok() {
        unsafe { dev.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
    } else {
        dev.create_shader_module(desc)
    };
    let pipe = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: None,
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    let ub = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&u),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let bufs: Vec<wgpu::Buffer> = lens
        .iter()
        .map(|&n| {
            let data: Vec<f32> = (0..n).map(|i| ((i % 97) as f32) * 0.01).collect();
            dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(&data),
                usage: wgpu::BufferUsages::STORAGE,
            })
        })
        .collect();
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: ub.as_entire_binding(),
    }];
    for (i, b) in bufs.iter().enumerate() {
        entries.push(wgpu::BindGroupEntry {
            binding: i as u32 + 1,
            resource: b.as_entire_binding(),
        });
    }
    // LAB_TEX=BINDING:WIDTH:HEIGHT[,BINDING:WIDTH:HEIGHT...] adds rgba32float textures; a
    // fourth field `:s` gives one storage usage instead of sampled (for a write-only or a
    // read-only storage texture).
    let texes: Vec<(u32, wgpu::TextureView)> = std::env::var("LAB_TEX")
        .ok()
        .into_iter()
        .flat_map(|t| t.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .map(|t| {
            let storage = t.ends_with(":s");
            let v: Vec<u32> = t
                .trim_end_matches(":s")
                .split(':')
                .map(|x| x.parse().unwrap())
                .collect();
            let size = wgpu::Extent3d {
                width: v[1],
                height: v[2],
                depth_or_array_layers: 1,
            };
            let data: Vec<f32> = (0..v[1] * v[2] * 4)
                .map(|i| ((i % 89) as f32) * 0.01)
                .collect();
            let t = dev.create_texture_with_data(
                &ctx.queue,
                &wgpu::TextureDescriptor {
                    label: None,
                    size,
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: wgpu::TextureFormat::Rgba32Float,
                    usage: match storage {
                        true => wgpu::TextureUsages::STORAGE_BINDING,
                        false => wgpu::TextureUsages::TEXTURE_BINDING,
                    },
                    view_formats: &[],
                },
                wgpu::util::TextureDataOrder::LayerMajor,
                bytemuck::cast_slice(&data),
            );
            (v[0], t.create_view(&Default::default()))
        })
        .collect();
    for (binding, view) in &texes {
        entries.push(wgpu::BindGroupEntry {
            binding: *binding,
            resource: wgpu::BindingResource::TextureView(view),
        });
    }
    let group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipe.get_bind_group_layout(0),
        entries: &entries,
    });
    let run = |reps: usize| {
        let mut enc = dev.create_command_encoder(&Default::default());
        for _ in 0..reps {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipe);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(wgs, 1, 1);
        }
        ctx.queue.submit([enc.finish()]);
        dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    };
    run(1);
    let t = Instant::now();
    run(1);
    let once = t.elapsed().as_secs_f64();
    let reps = ((0.5 / once).ceil() as usize).clamp(1, 100);
    // LAB_ROUNDS=N: time N rounds of `reps` launches and report the fastest (the least
    // disturbed by a shared host) and the median.
    let rounds: usize = std::env::var("LAB_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut times: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            run(reps);
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let s = times[0];
    let median = times[times.len() / 2];
    println!(
        "{entry}: {:.3} ms, {:.2} GFLOP/s (median of {} rounds {:.3} ms)",
        s * 1e3,
        flops / s / 1e9,
        times.len(),
        median * 1e3
    );
    ctx.check("lab").unwrap();
}
