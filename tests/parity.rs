//! Every kernel pass against the CPU reference over the table of named cases in
//! `cnngpu::parity` (LeNet-5, AlexNet and ResNet layers at their real shapes, and edge cases), in f32,
//! native f16 and packed f16, outputs pre-filled with NaN.

mod common;

#[test]
fn conv2d_forward_matches_cpu() {
    common::assert_parity("conv2d_forward");
}

#[test]
fn conv2d_backward_input_matches_cpu() {
    common::assert_parity("conv2d_backward_input");
}

#[test]
fn conv2d_backward_weight_matches_cpu() {
    common::assert_parity("conv2d_backward_weight");
}

#[test]
fn conv2d_backward_bias_matches_cpu() {
    common::assert_parity("conv2d_backward_bias");
}

#[test]
fn max_pool2d_forward_matches_cpu() {
    common::assert_parity("max_pool2d_forward");
}

#[test]
fn max_pool2d_backward_input_matches_cpu() {
    common::assert_parity("max_pool2d_backward_input");
}

#[test]
fn avg_pool2d_forward_matches_cpu() {
    common::assert_parity("avg_pool2d_forward");
}

#[test]
fn avg_pool2d_backward_input_matches_cpu() {
    common::assert_parity("avg_pool2d_backward_input");
}

#[test]
fn lrn_forward_matches_cpu() {
    common::assert_parity("lrn_forward");
}

#[test]
fn lrn_backward_input_matches_cpu() {
    common::assert_parity("lrn_backward_input");
}

#[test]
fn linear_forward_matches_cpu() {
    common::assert_parity("linear_forward");
}

#[test]
fn linear_backward_input_matches_cpu() {
    common::assert_parity("linear_backward_input");
}

#[test]
fn linear_backward_weight_matches_cpu() {
    common::assert_parity("linear_backward_weight");
}

#[test]
fn linear_backward_bias_matches_cpu() {
    common::assert_parity("linear_backward_bias");
}

#[test]
fn relu_forward_matches_cpu() {
    common::assert_parity("relu_forward");
}

#[test]
fn relu_backward_input_matches_cpu() {
    common::assert_parity("relu_backward_input");
}

#[test]
fn tanh_forward_matches_cpu() {
    common::assert_parity("tanh_forward");
}

#[test]
fn tanh_backward_input_matches_cpu() {
    common::assert_parity("tanh_backward_input");
}

#[test]
fn dropout_forward_matches_cpu() {
    common::assert_parity("dropout_forward");
}

#[test]
fn dropout_backward_input_matches_cpu() {
    common::assert_parity("dropout_backward_input");
}

#[test]
fn softmax_cross_entropy_forward_matches_cpu() {
    common::assert_parity("softmax_cross_entropy_forward");
}

#[test]
fn softmax_cross_entropy_backward_input_matches_cpu() {
    common::assert_parity("softmax_cross_entropy_backward_input");
}

#[test]
fn topk_accumulate_matches_cpu() {
    common::assert_parity("topk_accumulate");
}

#[test]
fn sgd_update_matches_cpu() {
    common::assert_parity("sgd_update");
}

#[test]
fn add_forward_matches_cpu() {
    common::assert_parity("add_forward");
}

#[test]
fn tensor_copy_matches_cpu() {
    common::assert_parity("tensor_copy");
}

#[test]
fn accumulate_matches_cpu() {
    common::assert_parity("accumulate");
}

#[test]
fn batch_norm_forward_matches_cpu() {
    common::assert_parity("batch_norm_forward");
}

#[test]
fn batch_norm_backward_input_matches_cpu() {
    common::assert_parity("batch_norm_backward_input");
}

#[test]
fn concat_forward_matches_cpu() {
    common::assert_parity("concat_forward");
}

#[test]
fn concat_backward_input_matches_cpu() {
    common::assert_parity("concat_backward_input");
}

#[test]
fn conv_transpose2d_forward_matches_cpu() {
    common::assert_parity("conv_transpose2d_forward");
}

#[test]
fn conv_transpose2d_backward_input_matches_cpu() {
    common::assert_parity("conv_transpose2d_backward_input");
}

#[test]
fn conv_transpose2d_backward_weight_matches_cpu() {
    common::assert_parity("conv_transpose2d_backward_weight");
}

#[test]
fn conv_transpose2d_backward_bias_matches_cpu() {
    common::assert_parity("conv_transpose2d_backward_bias");
}

#[test]
fn pixel_cross_entropy_forward_matches_cpu() {
    common::assert_parity("pixel_cross_entropy_forward");
}

#[test]
fn pixel_cross_entropy_backward_input_matches_cpu() {
    common::assert_parity("pixel_cross_entropy_backward_input");
}

#[test]
fn pixel_metrics_accumulate_matches_cpu() {
    common::assert_parity("pixel_metrics_accumulate");
}

/// The wide subgroup family is its own variant at AlexNet's shapes (not the subgroup family
/// under another name) and matches the CPU there: conv3 (384 channels, whole 64-row tiles)
/// and conv1 (96 channels, two 48-row tiles).
#[test]
fn the_wide_subgroup_family_runs_at_alexnet_shapes() {
    let Some(gpu) = common::gpu() else { return };
    if !gpu.families().contains(&cnngpu::gpu::Family::SubgroupWide) {
        eprintln!("SKIPPED: the adapter has no fixed subgroup size (no subgroup families)");
        return;
    }
    let cases: Vec<_> = cnngpu::parity::alexnet_layers(1)
        .into_iter()
        .filter(|c| c.name == "alexnet_conv3" || c.name == "alexnet_conv1")
        .collect();
    assert_eq!(cases.len(), 2);
    let outcomes = cnngpu::parity::run(&gpu, &cases, "conv2d_").expect("kernels ran");
    let wide: Vec<_> = outcomes
        .iter()
        .filter(|o| o.kernel.ends_with("[subgroup-wide]"))
        .collect();
    // forward, input and weight gradients of both layers in every storage variant.
    assert_eq!(wide.len(), 2 * 3 * cnngpu::parity::variants(&gpu).len());
    let failed: Vec<String> = wide
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.report())
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Operands that no pending launch writes reach the convolutions as copies
/// (`GpuBackend::tensor_texture`), so the table's conv2d cases mostly take that path; with
/// copies off, the packing kernels (texture_pack4, texture_pack) feed them instead and still
/// match the CPU: LeNet-5's convolutions and the direct kernel's edge cases, every pass and
/// storage variant.
#[test]
fn conv2d_passes_match_cpu_with_packed_operands() {
    let Some(gpu) = common::gpu() else { return };
    let cases: Vec<_> = cnngpu::parity::all_cases()
        .into_iter()
        .filter(|c| c.name.starts_with("lenet5_conv") || c.name.starts_with("conv_direct"))
        .collect();
    assert!(cases.len() >= 6, "{} cases", cases.len());
    gpu.set_tensor_copies(false);
    let outcomes = cnngpu::parity::run(&gpu, &cases, "conv2d_");
    gpu.set_tensor_copies(true);
    let outcomes = outcomes.expect("kernels ran");
    assert!(
        outcomes.len() >= cases.len() * 3,
        "{} outcomes",
        outcomes.len()
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.report())
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
