// The backward pass of an activation folded into the kernel that computes the gradient of its
// output (ops::Act as the pipeline constant ACT: 0 none, 1 relu, 2 tanh). The kernel binds
// that activation's output as `act_out` (a dummy when ACT is 0) and passes each gradient
// value through act_backward before storing it.
override ACT: u32 = 0u;

fn act_backward(i: u32, d: f32) -> f32 {
    if ACT == 1u {
        return select(0.0, d, act_out_ld(i) > 0.0);
    }
    if ACT == 2u {
        let y = act_out_ld(i);
        return d * (1.0 - y * y);
    }
    return d;
}
