//! Prints a kernel's complete WGSL module as the backend composes it (f32 storage, per-step
//! values in a uniform at binding 15), to run it in examples/kernel_lab.rs or read what a
//! driver compiles: `cargo run --release --example dump_wgsl -- sgd_update > /tmp/sgd.wgsl`.
//! Kernels built on the subgroup GEMM core need a tile and are composed by the backend only.

fn main() {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: dump_wgsl KERNEL (a file name under shaders/, without .wgsl)");
        std::process::exit(2);
    };
    let source = cnngpu::gpu::shaders::kernel(&name)
        .and_then(|k| cnngpu::gpu::shaders::compose(k, cnngpu::gpu::Storage::F32));
    match source {
        Ok(s) => print!("{s}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
