//! Measures copy_buffer_to_texture of a weight-sized buffer (default: AlexNet fc6, 9216 x 4096
//! f32) into a 2048-wide rgba32float texture, what src/gpu/weight_textures.rs does once a step.
//! `cargo run --release --example lab_copy -- [TEXELS]`. Measured 2026-12-03 on a 2-core AMD
//! EPYC (Zen 3): 151 MB in 27-32 ms on Mesa 22.3 lavapipe, 24 ms on Mesa 25.
use cnngpu::gpu::context::GpuContext;
use std::time::Instant;

fn main() {
    let ctx = GpuContext::open(&std::env::var("CNNGPU_ADAPTER").unwrap_or("auto".into())).unwrap();
    eprintln!("{}", ctx.describe());
    let dev = &ctx.device;
    let texels: u32 = std::env::args()
        .nth(1)
        .map_or(9216 * 4096 / 4, |s| s.parse().unwrap());
    let width = 2048u32;
    let rows = texels / width;
    let buf = dev.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: texels as u64 * 16,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let tex = dev.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d {
            width,
            height: rows,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let run = |reps: usize| {
        let mut enc = dev.create_command_encoder(&Default::default());
        for _ in 0..reps {
            enc.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: &buf,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(width * 16),
                        rows_per_image: None,
                    },
                },
                tex.as_image_copy(),
                wgpu::Extent3d {
                    width,
                    height: rows,
                    depth_or_array_layers: 1,
                },
            );
        }
        ctx.queue.submit([enc.finish()]);
        dev.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    };
    run(1);
    let t = Instant::now();
    run(5);
    let s = t.elapsed().as_secs_f64() / 5.0;
    println!(
        "copy {} MB: {:.3} ms, {:.2} GB/s",
        texels as u64 * 16 / 1_000_000,
        s * 1e3,
        texels as f64 * 16.0 / s / 1e9
    );
}
