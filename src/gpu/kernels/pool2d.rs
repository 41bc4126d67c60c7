//! Launchers of max_pool2d and avg_pool2d, split into batch chunks when a tensor is larger
//! than one storage binding.

use super::flat_workgroups;
use crate::error::Result;
use crate::gpu::buffers::{GpuTensor, View};
use crate::gpu::GpuBackend;
use crate::ops::Pool2dParams;

/// The pool's geometry as the kernels' pipeline constants (shaders/common/pool2d_params.wgsl).
fn constants(p: &Pool2dParams) -> [(&'static str, u32); 8] {
    let c = |v: usize| v as u32;
    [
        ("CHANNELS", c(p.channels)),
        ("IN_H", c(p.in_h)),
        ("IN_W", c(p.in_w)),
        ("OUT_H", c(p.out_h())),
        ("OUT_W", c(p.out_w())),
        ("KERNEL", c(p.kernel)),
        ("STRIDE", c(p.stride)),
        ("PADDING", c(p.padding)),
    ]
}

/// The backward kernels' constants: the geometry and the folded activation (ACT).
fn backward_constants(p: &Pool2dParams) -> [(&'static str, u32); 9] {
    let [a, b, c, d, e, f, g, h] = constants(p);
    [a, b, c, d, e, f, g, h, ("ACT", p.act.code())]
}

/// Average pooling's constants: `base`, whether its windows are adaptive (ADAPTIVE) and
/// whether the kernels run the vec4 path (QUADS, see [`quads`]).
fn avg<const N: usize>(
    p: &Pool2dParams,
    base: [(&'static str, u32); N],
) -> Vec<(&'static str, u32)> {
    let mut c = base.to_vec();
    c.push(("ADAPTIVE", u32::from(p.adaptive.is_some())));
    c.push(("QUADS", u32::from(quads(p))));
    c
}

/// Whether average pooling runs its vec4 path: 2x2 windows with stride 2 and no padding
/// over rows of whole vec4s (LeNet-5's pool1), where one invocation covers four input
/// values of a row — the two windows above them — with vector loads and stores (on Mesa 22.3
/// lavapipe each storage access runs lane by lane, so the scalar path's three accesses a value
/// in the input gradient become one).
fn quads(p: &Pool2dParams) -> bool {
    p.adaptive.is_none()
        && p.kernel == 2
        && p.stride == 2
        && p.padding == 0
        && p.in_w.is_multiple_of(4)
}

/// Bytes of one image of the input, the output and the u32 indices.
fn image_bytes(p: &Pool2dParams, t: &GpuTensor) -> (u64, u64, u64) {
    let e = t.dtype.size() as u64;
    let out = (p.channels * p.out_h() * p.out_w()) as u64;
    ((p.channels * p.in_h * p.in_w) as u64 * e, out * e, out * 4)
}

pub fn encode_max_forward(
    b: &GpuBackend,
    p: &Pool2dParams,
    x: &GpuTensor,
    y: &GpuTensor,
    idx: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("max_pool2d_forward", &[x, y])?;
    let (xb, yb, ib) = image_bytes(p, x);
    for c in b.chunks("max_pool2d_forward", p.batch, &[xb, yb, ib])? {
        let views = [
            View::items(x, c, xb),
            View::items(y, c, yb),
            View::items(idx, c, ib),
        ];
        let wg = flat_workgroups(c.count * p.channels * p.out_h() * p.out_w());
        b.dispatch_with(
            "max_pool2d_forward",
            storage,
            &constants(p),
            &p.uniform(c.count),
            &views,
            wg,
        )?;
    }
    Ok(())
}

pub fn encode_max_backward_input(
    b: &GpuBackend,
    p: &Pool2dParams,
    dy: &GpuTensor,
    idx: &GpuTensor,
    act_out: Option<&GpuTensor>,
    dx: &GpuTensor,
) -> Result<()> {
    let mut ts = vec![dy, dx];
    ts.extend(act_out);
    let storage = b.storage_of("max_pool2d_backward_input", &ts)?;
    let (xb, yb, ib) = image_bytes(p, dx);
    // Stride 2: an invocation a 2x2 block of inputs (BLOCKS in the kernel).
    let blocks = p.stride == 2;
    let per_plane = if blocks {
        p.in_h.div_ceil(2) * p.in_w.div_ceil(2)
    } else {
        p.in_h * p.in_w
    };
    let mut k = backward_constants(p).to_vec();
    k.push(("BLOCKS", u32::from(blocks)));
    for c in b.chunks("max_pool2d_backward_input", p.batch, &[xb, yb, ib])? {
        let views = [
            View::items(dy, c, yb),
            View::items(idx, c, ib),
            View::items(dx, c, xb),
            act_out.map_or(b.dummy(), |t| View::items(t, c, xb)),
        ];
        let wg = flat_workgroups(c.count * p.channels * per_plane);
        b.dispatch_with(
            "max_pool2d_backward_input",
            storage,
            &k,
            &p.uniform(c.count),
            &views,
            wg,
        )?;
    }
    Ok(())
}

pub fn encode_avg_forward(
    b: &GpuBackend,
    p: &Pool2dParams,
    x: &GpuTensor,
    y: &GpuTensor,
) -> Result<()> {
    let storage = b.storage_of("avg_pool2d_forward", &[x, y])?;
    let (xb, yb, _) = image_bytes(p, x);
    let chunks = b.chunks("avg_pool2d_forward", p.batch, &[xb, yb])?;
    if let [c] = chunks.as_slice() {
        if encode_avg_forward_mirror(b, storage, p, (x, y), c.count)? {
            return Ok(());
        }
    }
    for c in chunks {
        let views = [View::items(x, c, xb), View::items(y, c, yb)];
        // The vec4 path: one invocation per two outputs of a row.
        let per = if quads(p) { 2 } else { 1 };
        let wg = flat_workgroups(c.count * p.channels * p.out_h() * p.out_w() / per);
        b.dispatch_with(
            "avg_pool2d_forward",
            storage,
            &avg(p, constants(p)),
            &p.uniform(c.count),
            &views,
            wg,
        )?;
    }
    Ok(())
}

/// avg_pool2d_forward that also fills y's mirror (see [`crate::gpu::mirrors`]) where a later
/// launch asked for it, the batch is one launch and y is whole vec4s; false, recording
/// nothing, elsewhere.
fn encode_avg_forward_mirror(
    b: &GpuBackend,
    storage: crate::gpu::Storage,
    p: &Pool2dParams,
    (x, y): (&GpuTensor, &GpuTensor),
    count: usize,
) -> Result<bool> {
    let outputs = p.batch * p.channels * p.out_h() * p.out_w();
    if !outputs.is_multiple_of(4) || count != p.batch {
        return Ok(false);
    }
    let Some((mirror, texels)) = b.mirror_to_fill(y, storage) else {
        return Ok(false);
    };
    let views = [View::whole(x), View::whole(y)];
    let k = avg(p, constants(p));
    fill_mirror(
        b,
        "avg_pool2d_forward_mirror",
        (storage, k),
        p,
        &views,
        (y, mirror, texels),
    )
}

/// Records `kernel`, a pool's pass that also fills `t`'s mirror (bound after `views`, one
/// invocation a texel, common/mirror_texel's constants added to `k`), and notes it filled.
fn fill_mirror(
    b: &GpuBackend,
    kernel: &'static str,
    (storage, mut k): (crate::gpu::Storage, Vec<(&'static str, u32)>),
    p: &Pool2dParams,
    views: &[View<'_>],
    (t, mirror, texels): (&GpuTensor, std::sync::Arc<wgpu::TextureView>, u32),
) -> Result<bool> {
    k.push(("TEXELS", texels));
    k.push(("READ_BACK", u32::from(storage != crate::gpu::Storage::F32)));
    let mut views = views.to_vec();
    views.push(View::Texture(&mirror));
    let wg = flat_workgroups(texels as usize);
    b.dispatch_with(kernel, storage, &k, &p.uniform(p.batch), &views, wg)?;
    b.mirror_filled(t);
    Ok(true)
}

pub fn encode_avg_backward_input(
    b: &GpuBackend,
    p: &Pool2dParams,
    dy: &GpuTensor,
    act_out: Option<&GpuTensor>,
    dx: &GpuTensor,
) -> Result<()> {
    let mut ts = vec![dy, dx];
    ts.extend(act_out);
    let storage = b.storage_of("avg_pool2d_backward_input", &ts)?;
    let (xb, yb, _) = image_bytes(p, dx);
    let chunks = b.chunks("avg_pool2d_backward_input", p.batch, &[xb, yb])?;
    if let [c] = chunks.as_slice() {
        if encode_avg_backward_mirror(b, storage, p, (dy, act_out, dx), c.count)? {
            return Ok(());
        }
    }
    for c in chunks {
        let views = [
            View::items(dy, c, yb),
            View::items(dx, c, xb),
            act_out.map_or(b.dummy(), |t| View::items(t, c, xb)),
        ];
        // The vec4 path: one invocation per four input values of a row.
        let per = if quads(p) { 4 } else { 1 };
        let wg = flat_workgroups(c.count * p.channels * p.in_h * p.in_w / per);
        b.dispatch_with(
            "avg_pool2d_backward_input",
            storage,
            &avg(p, backward_constants(p)),
            &p.uniform(c.count),
            &views,
            wg,
        )?;
    }
    Ok(())
}

/// avg_pool2d_backward_input that also fills dx's mirror (see [`crate::gpu::mirrors`]) where
/// a later launch asked for it, the batch is one launch, the scalar path runs and dx is whole
/// vec4s; false, recording nothing, elsewhere.
fn encode_avg_backward_mirror(
    b: &GpuBackend,
    storage: crate::gpu::Storage,
    p: &Pool2dParams,
    (dy, act_out, dx): (&GpuTensor, Option<&GpuTensor>, &GpuTensor),
    count: usize,
) -> Result<bool> {
    let inputs = p.batch * p.channels * p.in_h * p.in_w;
    if quads(p) || !inputs.is_multiple_of(4) || count != p.batch {
        return Ok(false);
    }
    let Some((mirror, texels)) = b.mirror_to_fill(dx, storage) else {
        return Ok(false);
    };
    let mut k = backward_constants(p).to_vec();
    k.push(("ADAPTIVE", u32::from(p.adaptive.is_some())));
    let views = [
        View::whole(dy),
        View::whole(dx),
        act_out.map_or(b.dummy(), View::whole),
    ];
    let kernel = "avg_pool2d_backward_input_mirror";
    fill_mirror(b, kernel, (storage, k), p, &views, (dx, mirror, texels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Act;

    fn pool(h: usize, w: usize, kernel: usize, stride: usize, padding: usize) -> Pool2dParams {
        Pool2dParams {
            batch: 2,
            channels: 3,
            in_h: h,
            in_w: w,
            kernel,
            stride,
            padding,
            adaptive: None,
            act: Act::None,
            ceil_mode: false,
        }
    }

    /// LeNet-5's pool1 and the parity cases named for it take the vec4 path; pool2 (rows of
    /// 10) and other windows do not.
    #[test]
    fn the_vec4_path_runs_2x2_windows_over_rows_of_whole_vec4s() {
        assert!(quads(&pool(28, 28, 2, 2, 0)));
        assert!(quads(&pool(7, 8, 2, 2, 0)));
        assert!(!quads(&pool(10, 10, 2, 2, 0)));
        assert!(!quads(&pool(28, 28, 3, 2, 0)));
        assert!(!quads(&pool(28, 28, 2, 2, 1)));
        let adaptive = Pool2dParams {
            adaptive: Some(4),
            ..pool(8, 8, 2, 2, 0)
        };
        assert!(!quads(&adaptive));
    }
}
