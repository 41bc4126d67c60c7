// conv2d_backward_weight_direct_taps: conv2d_backward_weight_direct with every tap in one
// invocation (for convolutions with at most MAX_SUMS weights: LeNet-5's conv1, 150), so that dy
// is read once, straight from its buffer (each value once: no texture copy first), and the
// input rows under the kernel once per output quad:
// partial[s][co][ci][kh][kw] = sum over the output rows (image, oh) of slice s, and every ow, of
// dy[n, co, oh, ow] * x[n, ci, oh*STRIDE + kh - PAD, ow*STRIDE + kw - PAD];
// conv2d_backward_weight_reduce then adds the slices in order (fixed-order split-k).
// With BIAS, the bias gradient rides along: the dy quads already loaded are also summed per
// output channel (four running sums a channel, added as (x + y) + (z + w) at the end) into
// partial[s][NACC + co], so that dy is not read a second time by conv2d_backward_bias (LeNet-5's
// conv1 at batch 64: two launches that read its 301,056 values lane by lane).
// Layout: dy [N, Cout, OH, OW] (OW a multiple of 4), x [N, Cin, H, W] (a texture that
// texture_pack fills), partial [splits, Cout*Cin*KH*KW (+ Cout with BIAS)] f32.
// The geometry is pipeline constants (common/conv2d_direct); the taps are generated text
// (gemm_sg::direct_wgrad_taps: every sum a scalar).
// One invocation: one slice of output rows. Dispatch: ceil(splits / 16) workgroups of 16
// (workgroups for both cores: lavapipe runs a workgroup on one thread).
// Precision: dy, x in storage precision (x in a texture of its precision); f32 sums, in a
// fixed order.
// CPU reference: cpu::conv2d::backward_weight.
//#tensor4 1 dy read
//#texture 2 x storage
//#include conv2d_params
//#include conv2d_direct
//#include conv2d_wgrad_taps
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
override BIAS: bool = false;

@compute @workgroup_size(16, 1, 1)
fn conv2d_backward_weight_direct_taps(
    @builtin(global_invocation_id) gid: vec3<u32>,
) {
    let s = gid.x;
    let slices = params.splits;
    if s >= slices {
        return;
    }
    let rows = params.batch * OUT_H;
    let r0 = s * rows / slices;
    let r1 = (s + 1u) * rows / slices;
    var acc: array<f32, NACC>;
    var bias: array<vec4<f32>, MAX_COUT>;
    for (var r = r0; r < r1; r++) {
        let img = r / OUT_H;
        let oh = r - img * OUT_H;
        for (var q = 0u; q < OUT_W / PX; q++) {
            let ow0 = q * PX;
            var d: array<vec4<f32>, MAX_COUT>;
            for (var co = 0u; co < COUT; co++) {
                d[co] = dy_ld4((((img * COUT + co) * OUT_H + oh) * OUT_W + ow0) / 4u);
            }
            wgrad_quad(&acc, d, img, oh, i32(ow0 * STRIDE) - i32(PAD));
            if BIAS {
                for (var co = 0u; co < COUT; co++) {
                    bias[co] += d[co];
                }
            }
        }
    }
    let stride = NACC + select(0u, COUT, BIAS);
    wgrad_store(&acc, s * stride);
    if BIAS {
        for (var co = 0u; co < COUT; co++) {
            let b = bias[co];
            partial[s * stride + NACC + co] = (b.x + b.y) + (b.z + b.w);
        }
    }
}
