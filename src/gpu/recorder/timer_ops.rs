//! The recorder's timer: launches timed by timestamp queries or by the host's clock, for
//! `cnngpu profile`.

use super::{lock, wait, Recorder};
use crate::error::{Error, Result};
use crate::gpu::context::GpuContext;
use crate::gpu::timing::{self, Clock, KernelTiming, Timer};
use std::time::Instant;

impl Recorder {
    /// Starts timing every launch recorded from now on by `clock` (timestamps need
    /// TIMESTAMP_QUERY).
    pub fn arm_timer(&self, ctx: &GpuContext, clock: Clock) -> Result<()> {
        if clock == Clock::Timestamps && !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            return Err(Error::gpu(
                "profiling",
                format!(
                    "{} has no timestamp queries (TIMESTAMP_QUERY), so kernels cannot be timed",
                    ctx.describe()
                ),
            ));
        }
        let submit_ns = match clock {
            Clock::Wall => self.empty_submit_ns(ctx)?,
            Clock::Timestamps => 0.0,
        };
        *lock(&self.timer) = Some(Timer::new(&ctx.device, clock, submit_ns));
        Ok(())
    }

    /// The least time, of [`timing::SUBMIT_SAMPLES`], that a command buffer holding one empty
    /// compute pass takes to submit and wait for: what the host clock adds to every launch
    /// it times alone, beyond the launch.
    fn empty_submit_ns(&self, ctx: &GpuContext) -> Result<f64> {
        self.submit(ctx, "profiling")?;
        let mut least = f64::INFINITY;
        for _ in 0..timing::SUBMIT_SAMPLES {
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("empty submission"),
                });
            encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("empty"),
                timestamp_writes: None,
            });
            let begin = Instant::now();
            ctx.queue.submit([encoder.finish()]);
            wait(ctx, "profiling")?;
            least = least.min(begin.elapsed().as_nanos() as f64);
        }
        Ok(least)
    }

    /// Tags the launches that follow with a scope (a layer name) and a pass, when armed.
    pub fn set_scope(&self, scope: &str, pass: &'static str) {
        if let Some(t) = lock(&self.timer).as_mut() {
            t.log.set_scope(scope, pass);
        }
    }

    /// Stops timing without reading anything back (after an error).
    pub fn disarm_timer(&self) {
        lock(&self.timer).take();
    }

    /// Runs what is pending, disarms the timer and returns one timing per timed launch.
    pub fn finish_timer(&self, ctx: &GpuContext) -> Result<Vec<KernelTiming>> {
        let Some(timer) = lock(&self.timer).take() else {
            return Ok(Vec::new());
        };
        let Some(queries) = &timer.queries else {
            self.submit(ctx, "profiling")?;
            let origin = timer.origin();
            return timer.log.finish_wall(origin, timer.submit_ns);
        };
        let count = 2 * timer.log.len() as u64;
        if count == 0 {
            return timer.log.finish(&[], 1.0);
        }
        let size = count * 8;
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.with_encoder(ctx, |e| {
            e.resolve_query_set(queries, 0..count as u32, &resolve, 0);
            e.copy_buffer_to_buffer(&resolve, 0, &staging, 0, size);
        });
        self.submit(ctx, "reading timestamps")?;
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::gpu("reading timestamps", e.to_string()))?;
        rx.recv()
            .map_err(|e| Error::gpu("reading timestamps", e.to_string()))?
            .map_err(|e| Error::gpu("reading timestamps", e.to_string()))?;
        let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(
            &staging
                .get_mapped_range(..)
                .map_err(|e| Error::gpu("reading timestamps", e.to_string()))?[..],
        );
        staging.unmap();
        timer.log.finish(&ticks, ctx.queue.get_timestamp_period())
    }
}
