// conv2d_backward_bias_sg: db[c] (+)= sum over n, oh, ow of dy[n, c, oh, ow] in two barrier-free
// stages (the subgroup family: on CPU drivers a barrier suspends and resumes every invocation
// of the workgroup):
//   MODE 0: partial[n * C + c] = the sum of plane (n, c), read as vec4s where planes are whole
//           vec4s (OH*OW a multiple of 4), else as scalars (four running sums either way,
//           added in a fixed order at the end); one invocation per plane;
//   MODE 1: db[c] (+)= sum over n of partial[n * C + c], in order of n; one invocation per channel.
// Layout: dy [N, C, OH, OW], partial [N, C] f32, db [C].
// Dispatch: ceil(N * C / 256) (MODE 0) or ceil(C / 256) (MODE 1) workgroups, linearised.
// Precision: dy and db in storage precision, partial sums f32.
// CPU reference: cpu::conv2d::backward_bias.
//#tensor4 1 dy read
//#tensor 3 db write
//#include flat
//#include channel_sum_params
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
override MODE: u32 = 0u;

@compute @workgroup_size(256, 1, 1)
fn conv2d_backward_bias_sg(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lindex: u32,
) {
    let i = flat_index(wid, nwg, lindex);
    if MODE == 0u {
        if i >= params.batch * params.channels {
            return;
        }
        let quads = params.pixels / 4u;
        var s = vec4<f32>(0.0);
        if (params.pixels & 3u) == 0u {
            for (var q = 0u; q < quads; q++) {
                s += dy_ld4(i * quads + q);
            }
        } else {
            // Planes that are not whole vec4s (AlexNet's 55 x 55): the same four running
            // sums over scalar loads, the last 1-3 values added to the first.
            let p0 = i * params.pixels;
            for (var q = 0u; q < quads; q++) {
                let at = p0 + 4u * q;
                s += vec4<f32>(dy_ld(at), dy_ld(at + 1u), dy_ld(at + 2u), dy_ld(at + 3u));
            }
            for (var r = 4u * quads; r < params.pixels; r++) {
                s.x += dy_ld(p0 + r);
            }
        }
        partial[i] = (s.x + s.y) + (s.z + s.w);
    } else {
        if i >= params.channels {
            return;
        }
        var sum = 0.0;
        for (var n = 0u; n < params.batch; n++) {
            sum += partial[n * params.channels + i];
        }
        if params.accumulate != 0u {
            sum += db_ld(i);
        }
        db_st(i, sum);
    }
}
