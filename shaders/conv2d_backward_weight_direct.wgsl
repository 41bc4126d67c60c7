// conv2d_backward_weight_direct: the weight gradient of the convolutions conv2d_forward_direct
// runs (few output channels, short kernel rows, output rows of whole vec4s), computed directly
// instead of packing dy and im2col(x) for a GEMM:
// partial[s][co][ci][kh][kw] = sum over the output rows (image, oh) of slice s, and every ow, of
// dy[n, co, oh, ow] * x[n, ci, oh*STRIDE + kh - PAD, ow*STRIDE + kw - PAD];
// conv2d_backward_weight_reduce then adds the slices in order (fixed-order split-k).
// Layout: dy [N, Cout, OH, OW], x [N, Cin, H, W], partial [splits, Cout*Cin*KH*KW] f32.
// The geometry is pipeline constants (loops unrolled, no index division by a runtime value).
// One invocation: one kernel row kh of one slice of output rows; per quad of output pixels it
// loads dy of every output channel as a vec4 and the input row segment under the four windows
// once (as vec4s when ALIGNED), then adds COUT * CIN * KW four-term dot products.
// Dispatch: ceil(splits * KH / 256) workgroups of 256, linearised (splits = params.splits).
// dy and x are read through textures that texture_pack fills before the launch.
// Precision: dy, x in storage precision (in textures of their precision); f32 partial sums,
// accumulated in a fixed order.
// CPU reference: cpu::conv2d::backward_weight.
//#texture 1 dy storage
//#texture 2 x storage
//#include conv2d_params
//#include flat
//#include conv2d_direct
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

// Sums one invocation holds: Cout * Cin * KW (kernels::conv2d_direct).
const MAX_ACC: u32 = 64u;

@compute @workgroup_size(256, 1, 1)
fn conv2d_backward_weight_direct(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    let slices = params.splits;
    if i >= slices * KH {
        return;
    }
    let s = i / KH;
    let kh = i - s * KH;
    let rows = params.batch * OUT_H;
    let r0 = s * rows / slices;
    let r1 = (s + 1u) * rows / slices;

    var acc: array<f32, MAX_ACC>;
    for (var a = 0u; a < COUT * CIN * KW; a++) {
        acc[a] = 0.0;
    }
    for (var r = r0; r < r1; r++) {
        let img = r / OUT_H;
        let oh = r - img * OUT_H;
        let ih = i32(oh * STRIDE + kh) - i32(PAD);
        // A row in the padding reads as zeros (a select, not a `continue`: a CPU driver would
        // run the rest of the loop body under a lane mask anyway).
        let row_in = (ih >= 0) & (ih < i32(IN_H));
        for (var q = 0u; q < OUT_W / PX; q++) {
            let ow0 = q * PX;
            let iw0 = i32(ow0 * STRIDE) - i32(PAD);
            var d: array<vec4<f32>, MAX_COUT>;
            for (var co = 0u; co < COUT; co++) {
                d[co] = dy_ld4((((img * COUT + co) * OUT_H + oh) * OUT_W + ow0) / 4u);
            }
            for (var ci = 0u; ci < CIN; ci++) {
                let base = ((img * CIN + ci) * IN_H + u32(clamp(ih, 0, i32(IN_H) - 1))) * IN_W;
                let row = input_row(base, iw0, row_in);
                for (var kw = 0u; kw < KW; kw++) {
                    let xv = windows(row, kw);
                    for (var co = 0u; co < COUT; co++) {
                        acc[(co * CIN + ci) * KW + kw] += dot(d[co], xv);
                    }
                }
            }
        }
    }
    let len = COUT * CIN * KH * KW;
    for (var co = 0u; co < COUT; co++) {
        for (var ci = 0u; ci < CIN; ci++) {
            for (var kw = 0u; kw < KW; kw++) {
                partial[s * len + ((co * CIN + ci) * KH + kh) * KW + kw] =
                    acc[(co * CIN + ci) * KW + kw];
            }
        }
    }
}
