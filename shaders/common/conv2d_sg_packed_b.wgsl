// B's row hooks of the gemm_sg core for conv2d_pack's k-contiguous rows (after conv2d_sg_operands).
fn gemm_b_row(g: u32, n: u32) -> u32 { return (g * params.n + n) * params.k4; }
fn gemm_b_at(row: u32, k: u32) -> vec4<f32> { return gemm_b4(row + k); }
