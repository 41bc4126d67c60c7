// a / b for the non-negative integers of index math (a < 2^24), through f32: CPUs running
// WGSL (lavapipe, WARP) have no vector integer division and would do one scalar division per
// lane; GPUs also divide integers slowly. The estimate is off by at most one, then corrected.
// The correction is two selects, not branches: CPU drivers run both sides of a branch under a
// lane mask (see conv2d_pack.wgsl).
fn div_u(a: u32, b: u32) -> u32 {
    let q = u32(f32(a) / f32(b));
    let r = i32(a) - i32(q * b);
    return select(select(q, q + 1u, r >= i32(b)), q - 1u, r < 0);
}
