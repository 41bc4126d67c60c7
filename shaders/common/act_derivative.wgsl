// The backward pass of an activation folded into the kernel that computes the gradient of its
// output (ops::Act as the pipeline constant ACT: 0 none, 1 relu, 2 tanh): the gradient d of
// the activation's output times its derivative there, given the output y. A kernel that reads
// y itself (lrn_backward_input: its x) includes this alone; one that binds it as `act_out`
// includes act_backward too.
override ACT: u32 = 0u;

fn act_backward_at(y: f32, d: f32) -> f32 {
    if ACT == 1u {
        return select(0.0, d, y > 0.0);
    }
    if ACT == 2u {
        return d * (1.0 - y * y);
    }
    return d;
}
