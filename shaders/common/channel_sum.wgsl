// Shared fixed-order reduction: out[c] = sum over n < batch, p < pixels of dy[(n*C + c)*P + p].
// With accumulate = 1 the sum is added to out[c] (batch chunks of a tensor larger than one
// storage binding, processed in a fixed order).
// One workgroup of 256 per channel; each invocation sums a strided slice in order, then a
// tree in workgroup memory combines the 256 partial sums. No atomics: bit-reproducible.

var<workgroup> channel_partial: array<f32, 256>;

fn channel_sum(wid: vec3<u32>, nwg: vec3<u32>, lindex: u32) {
    let c = wid.x + wid.y * nwg.x;
    if c >= params.channels {
        return;
    }
    var s = 0.0;
    let total = params.batch * params.pixels;
    for (var i = lindex; i < total; i += 256u) {
        let img = i / params.pixels;
        s += dy_ld((img * params.channels + c) * params.pixels + i % params.pixels);
    }
    channel_partial[lindex] = s;
    workgroupBarrier();
    for (var span = 128u; span > 0u; span >>= 1u) {
        if lindex < span {
            channel_partial[lindex] += channel_partial[lindex + span];
        }
        workgroupBarrier();
    }
    if lindex == 0u {
        var total_sum = channel_partial[0];
        if params.accumulate != 0u {
            total_sum += db_ld(c);
        }
        db_st(c, total_sum);
    }
}
