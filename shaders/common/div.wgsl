// a / b for the non-negative integers of index math (a < 2^24), through f32: CPUs running
// WGSL (lavapipe, WARP) have no vector integer division and would do one scalar division per
// lane; GPUs also divide integers slowly. The estimate is off by at most one, then corrected.
fn div_u(a: u32, b: u32) -> u32 {
    var q = u32(f32(a) / f32(b));
    let r = i32(a) - i32(q * b);
    if r < 0 {
        q -= 1u;
    } else if r >= i32(b) {
        q += 1u;
    }
    return q;
}
