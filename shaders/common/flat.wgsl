// Index of this invocation's element in a 1-D problem dispatched as 256-wide workgroups
// linearised over x and y (x <= 65535), so any length fits the per-dimension limit.
fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lindex: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * 256u + lindex;
}
