//! Dynamic loss scaling for mixed precision (PyTorch's GradScaler): the state lives on the
//! device as four u32 — [scale (f32 bits), good steps, found_inf, skipped steps] — so a step
//! never waits for the host.

/// Growth policy: x`growth` after `interval` overflow-free steps, x`backoff` on overflow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossScaleParams {
    pub interval: u32,
    pub growth: f32,
    pub backoff: f32,
}

impl Default for LossScaleParams {
    /// PyTorch's defaults: growth 2 every 2000 steps, backoff 0.5.
    fn default() -> Self {
        LossScaleParams {
            interval: 2000,
            growth: 2.0,
            backoff: 0.5,
        }
    }
}

/// Mirror of `LossScaleUniform` in shaders/loss_scale_update.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LossScaleUniform {
    pub interval: u32,
    pub _pad0: u32,
    pub growth: f32,
    pub backoff: f32,
}

impl LossScaleParams {
    pub fn uniform(&self) -> LossScaleUniform {
        LossScaleUniform {
            interval: self.interval,
            _pad0: 0,
            growth: self.growth,
            backoff: self.backoff,
        }
    }
}

/// The initial state for a starting scale (PyTorch starts at 65536).
pub fn initial_state(scale: f32) -> [u32; 4] {
    [scale.to_bits(), 0, 0, 0]
}

/// The CPU reference of loss_scale_update.
pub fn update(p: &LossScaleParams, state: &mut [u32]) {
    let mut scale = f32::from_bits(state[0]);
    if state[2] != 0 {
        scale *= p.backoff;
        state[1] = 0;
        state[3] += 1;
    } else {
        state[1] += 1;
        if state[1] >= p.interval {
            scale *= p.growth;
            state[1] = 0;
        }
    }
    state[0] = scale.to_bits();
    state[2] = 0;
}
