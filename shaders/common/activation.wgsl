// The activation fused into a forward pass's epilogue, after the bias (ops::Act: 0 none,
// 1 relu, 2 tanh; the same for every invocation of a dispatch).
fn activate(v: f32, act: u32) -> f32 {
    if act == 1u {
        return max(v, 0.0);
    }
    if act == 2u {
        return tanh(v);
    }
    return v;
}
