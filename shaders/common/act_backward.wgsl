// act_derivative's act_backward_at with the activation's output read from `act_out`, which
// the kernel binds (a dummy when ACT is 0, never read then). Include act_derivative first.
fn act_backward(i: u32, d: f32) -> f32 {
    if ACT == 0u {
        return d;
    }
    return act_backward_at(act_out_ld(i), d);
}
