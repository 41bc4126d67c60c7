//! The parity case table: every LeNet-5 and AlexNet layer at its real shape, and edge cases.

use crate::ops::*;
use crate::tensor::Shape;

/// A named op at one shape.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub op: Op,
    /// Inputs drawn from a coarse grid, so that max-pool windows and top-k logits hold ties.
    pub ties: bool,
}

fn case(name: &str, op: Op) -> Case {
    Case {
        name: name.into(),
        op,
        ties: false,
    }
}

/// `op` (conv2d or linear) with `act` fused into its forward pass.
fn fused(op: Op, act: Act) -> Op {
    match op {
        Op::Conv2d(p) => Op::Conv2d(Conv2dParams { act, ..p }),
        Op::Linear(p) => Op::Linear(LinearParams { act, ..p }),
        other => other,
    }
}

#[allow(clippy::too_many_arguments)] // a row of the case table
fn conv(
    batch: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: usize,
    groups: usize,
) -> Op {
    Op::Conv2d(Conv2dParams {
        batch,
        in_channels: cin,
        in_h: h,
        in_w: w,
        out_channels: cout,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding,
        groups,
        bias: true,
        act: Act::None,
    })
}

fn pool(
    batch: usize,
    c: usize,
    h: usize,
    w: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Pool2dParams {
    Pool2dParams {
        batch,
        channels: c,
        in_h: h,
        in_w: w,
        kernel,
        stride,
        padding,
        act: Act::None,
        ceil_mode: false,
        adaptive: None,
    }
}

fn linear(batch: usize, i: usize, o: usize, bias: bool) -> Op {
    Op::Linear(LinearParams {
        batch,
        in_features: i,
        out_features: o,
        bias,
        act: Act::None,
    })
}

/// The LeNet-5 layers at batch 4.
pub fn lenet5_cases() -> Vec<Case> {
    lenet5_layers(4)
}

/// The LeNet-5 layers at batch `b`.
pub fn lenet5_layers(b: usize) -> Vec<Case> {
    vec![
        case("lenet5_conv1", conv(b, 1, 32, 32, 6, 5, 1, 0, 1)),
        case("lenet5_tanh1", Op::Tanh(Tanh(Shape::new(&[b, 6, 28, 28])))),
        case(
            "lenet5_pool1",
            Op::AvgPool2d(AvgPool2d(pool(b, 6, 28, 28, 2, 2, 0))),
        ),
        case("lenet5_conv2", conv(b, 6, 14, 14, 16, 5, 1, 0, 1)),
        case("lenet5_tanh2", Op::Tanh(Tanh(Shape::new(&[b, 16, 10, 10])))),
        case(
            "lenet5_pool2",
            Op::AvgPool2d(AvgPool2d(pool(b, 16, 10, 10, 2, 2, 0))),
        ),
        case("lenet5_conv3", conv(b, 16, 5, 5, 120, 5, 1, 0, 1)),
        case("lenet5_fc1", linear(b, 120, 84, true)),
        case("lenet5_tanh4", Op::Tanh(Tanh(Shape::new(&[b, 84])))),
        case("lenet5_fc2", linear(b, 84, 10, true)),
        case(
            "lenet5_loss",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams::mean(b, 10)),
        ),
        case(
            "lenet5_topk",
            Op::Topk(TopkParams {
                batch: b,
                classes: 10,
                ks: vec![1, 5],
            }),
        ),
        case(
            "lenet5_sgd_conv2",
            Op::Sgd(Sgd(
                SgdParams {
                    lr: 0.01,
                    momentum: 0.9,
                    weight_decay: 0.0,
                    nesterov: false,
                    grad_scale: 1.0,
                },
                16 * 6 * 25,
            )),
        ),
    ]
}

/// The AlexNet layers at batch 2 (single tower, and the paper's two towers where it had them).
pub fn alexnet_cases() -> Vec<Case> {
    alexnet_layers(2)
}

/// AlexNet's normalisation with the relu before it folded into its backward pass.
fn lrn_after_relu(b: usize, channels: usize, hw: usize) -> LrnParams {
    LrnParams {
        act: Act::Relu,
        ..LrnParams::alexnet(b, channels, hw, hw)
    }
}

/// The AlexNet layers at batch `b`.
pub fn alexnet_layers(b: usize) -> Vec<Case> {
    vec![
        case("alexnet_conv1", conv(b, 3, 227, 227, 96, 11, 4, 0, 1)),
        case(
            "alexnet_relu1",
            Op::Relu(Relu(Shape::new(&[b, 96, 55, 55]))),
        ),
        // lrn1 and lrn2 run relu1's and relu2's backward passes, as in the model.
        case("alexnet_lrn1", Op::Lrn(lrn_after_relu(b, 96, 55))),
        case(
            "alexnet_pool1",
            Op::MaxPool2d(MaxPool2d(pool(b, 96, 55, 55, 3, 2, 0))),
        ),
        case("alexnet_conv2", conv(b, 96, 27, 27, 256, 5, 1, 2, 1)),
        case("alexnet_conv2_g2", conv(b, 96, 27, 27, 256, 5, 1, 2, 2)),
        case("alexnet_lrn2", Op::Lrn(lrn_after_relu(b, 256, 27))),
        case(
            "alexnet_pool2",
            Op::MaxPool2d(MaxPool2d(pool(b, 256, 27, 27, 3, 2, 0))),
        ),
        case("alexnet_conv3", conv(b, 256, 13, 13, 384, 3, 1, 1, 1)),
        case("alexnet_conv4", conv(b, 384, 13, 13, 384, 3, 1, 1, 1)),
        case("alexnet_conv4_g2", conv(b, 384, 13, 13, 384, 3, 1, 1, 2)),
        case("alexnet_conv5", conv(b, 384, 13, 13, 256, 3, 1, 1, 1)),
        case("alexnet_conv5_g2", conv(b, 384, 13, 13, 256, 3, 1, 1, 2)),
        case(
            "alexnet_pool5",
            Op::MaxPool2d(MaxPool2d(pool(b, 256, 13, 13, 3, 2, 0))),
        ),
        case("alexnet_fc6", linear(b, 9216, 4096, true)),
        case("alexnet_relu6", Op::Relu(Relu(Shape::new(&[b, 4096])))),
        case(
            "alexnet_dropout6",
            Op::Dropout(DropoutParams {
                len: b * 4096,
                p: 0.5,
                seed: 42,
                step: 7,
            }),
        ),
        case("alexnet_fc7", linear(b, 4096, 4096, true)),
        case("alexnet_fc8", linear(b, 4096, 10, true)),
        case(
            "alexnet_loss",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams::mean(b, 10)),
        ),
        case(
            "alexnet_topk",
            Op::Topk(TopkParams {
                batch: b,
                classes: 10,
                ks: vec![1, 5],
            }),
        ),
        case(
            "alexnet_sgd_fc7",
            Op::Sgd(Sgd(
                SgdParams {
                    lr: 0.01,
                    momentum: 0.9,
                    weight_decay: 5e-4,
                    nesterov: false,
                    grad_scale: 1.0,
                },
                4096 * 4096,
            )),
        ),
    ]
}

/// Edge cases: batch 1, odd sizes, padding, stride, groups, rectangular kernels, overlapping
/// and edge-hanging pool windows, ties, even LRN windows, Nesterov.
pub fn edge_cases() -> Vec<Case> {
    let mut rect = Conv2dParams {
        batch: 3,
        in_channels: 6,
        in_h: 11,
        in_w: 8,
        out_channels: 9,
        kernel_h: 3,
        kernel_w: 5,
        stride: 1,
        padding: 2,
        groups: 3,
        bias: false,
        act: Act::None,
    };
    let mut cases = vec![
        case("conv_b1_odd_stride2_pad1", conv(1, 3, 7, 9, 5, 3, 2, 1, 1)),
        case("conv_groups3_rect_nobias", Op::Conv2d(rect)),
        case("conv_1x1", conv(2, 8, 5, 5, 4, 1, 1, 0, 1)),
        case("conv_stride3_pad2", conv(2, 2, 13, 10, 3, 4, 3, 2, 1)),
        case("conv_many_channels_b1", conv(1, 70, 6, 6, 67, 3, 1, 1, 1)),
        // The subgroup family's weight gradient pads each image's pixels to whole vec4s
        // (35 -> 36) and reads a "same" conv's x in runs of 4 from two texels, runs that
        // start in the padding before an image's first row.
        case("conv_same_b3_odd_pixels", conv(3, 5, 7, 5, 6, 3, 1, 1, 1)),
        // Stride-1 weight gradients whose output rows are narrower than the input's run
        // without im2col^T (conv2d_backward_weight_rows_sg; input channels not in fours,
        // which run channels-last): output rows padded to whole quads (7 -> 8, 8), x in
        // padded texel rows (padding 1, kernel rows of 5 and 3).
        case("conv_rows_wgrad_pad1", conv(3, 3, 11, 9, 5, 5, 1, 1, 1)),
        case("conv_rows_wgrad_k3", conv(2, 5, 8, 10, 6, 3, 1, 0, 1)),
        // The direct forward kernel's paths: element loads with padding, a stride, and vec4
        // row loads that start in the padding.
        case("conv_direct_rgb_pad1", conv(2, 3, 9, 12, 8, 3, 1, 1, 1)),
        case("conv_direct_stride2", conv(2, 1, 16, 16, 5, 3, 2, 1, 1)),
        case("conv_direct_aligned_pad4", conv(1, 1, 6, 8, 4, 5, 1, 4, 1)),
        // The direct weight gradient a kernel row an invocation (200 weights, over what
        // conv2d_backward_weight_direct_taps holds; the cases above take that one).
        case(
            "conv_direct_wgrad_by_row",
            conv(2, 1, 12, 12, 8, 5, 1, 2, 1),
        ),
        // Fused epilogues (bias, then the activation) of every forward kernel, against the
        // unfused CPU reference: the direct kernel, the packed GEMM, a strided gather, and
        // linear with and without split-k.
        case(
            "conv_fused_tanh_direct",
            fused(conv(2, 1, 32, 32, 6, 5, 1, 0, 1), Act::Tanh),
        ),
        case(
            "conv_fused_tanh_lenet2",
            fused(conv(4, 6, 14, 14, 16, 5, 1, 0, 1), Act::Tanh),
        ),
        case(
            "conv_fused_relu_stride4",
            fused(conv(1, 3, 23, 23, 8, 11, 4, 2, 1), Act::Relu),
        ),
        case(
            "linear_fused_tanh",
            fused(linear(3, 120, 84, true), Act::Tanh),
        ),
        case(
            "linear_fused_relu",
            fused(linear(4, 256, 64, true), Act::Relu),
        ),
        case(
            "linear_fused_relu_splitk",
            fused(linear(2, 4096, 64, true), Act::Relu),
        ),
        case(
            "maxpool_overlap_pad_b1",
            Op::MaxPool2d(MaxPool2d(pool(1, 3, 7, 7, 3, 2, 1))),
        ),
        case(
            "maxpool_odd_hang",
            Op::MaxPool2d(MaxPool2d(pool(2, 2, 10, 9, 3, 3, 0))),
        ),
        Case {
            name: "maxpool_ties".into(),
            op: Op::MaxPool2d(MaxPool2d(pool(2, 3, 9, 9, 3, 2, 1))),
            ties: true,
        },
        case(
            "avgpool_overlap_pad",
            Op::AvgPool2d(AvgPool2d(pool(2, 3, 9, 6, 3, 2, 1))),
        ),
        // Pooling backward passes with the activation before them folded in.
        case(
            "avgpool_fold_tanh_lenet1",
            Op::AvgPool2d(AvgPool2d(Pool2dParams {
                act: Act::Tanh,
                ..pool(2, 6, 28, 28, 2, 2, 0)
            })),
        ),
        // The vec4 path of 2x2/2 average pooling with relu folded in, over an odd number of
        // rows (the last row lies under no window).
        case(
            "avgpool_fold_relu_quads_odd_rows",
            Op::AvgPool2d(AvgPool2d(Pool2dParams {
                act: Act::Relu,
                ..pool(2, 3, 7, 8, 2, 2, 0)
            })),
        ),
        case(
            "maxpool_fold_relu_overlap",
            Op::MaxPool2d(MaxPool2d(Pool2dParams {
                act: Act::Relu,
                ..pool(2, 5, 13, 13, 3, 2, 0)
            })),
        ),
        case(
            "avgpool_b1_hang",
            Op::AvgPool2d(AvgPool2d(pool(1, 2, 10, 10, 3, 3, 0))),
        ),
        case(
            "lrn_size3_odd",
            Op::Lrn(LrnParams {
                batch: 1,
                channels: 7,
                h: 5,
                w: 3,
                size: 3,
                alpha: 0.01,
                beta: 0.75,
                k: 1.0,
                act: Act::None,
            }),
        ),
        // lrn_size4_even folds relu into its backward pass, lrn_size16 tanh.
        case(
            "lrn_size4_even",
            Op::Lrn(LrnParams {
                batch: 2,
                channels: 6,
                h: 3,
                w: 3,
                size: 4,
                alpha: 0.5,
                beta: 0.6,
                k: 2.0,
                act: Act::Relu,
            }),
        ),
        // The window wider than the channels (it holds all of them, and zeros), and the
        // widest window the GPU kernels hold.
        case(
            "lrn_window_past_channels",
            Op::Lrn(LrnParams {
                batch: 2,
                channels: 3,
                h: 2,
                w: 5,
                size: 7,
                alpha: 0.3,
                beta: 0.75,
                k: 1.0,
                act: Act::None,
            }),
        ),
        case(
            "lrn_size16",
            Op::Lrn(LrnParams {
                batch: 1,
                channels: 40,
                h: 3,
                w: 1,
                size: 16,
                alpha: 0.2,
                beta: 0.5,
                k: 1.5,
                act: Act::Tanh,
            }),
        ),
        case("linear_b1_odd_nobias", linear(1, 7, 13, false)),
        case("linear_odd", linear(3, 65, 67, true)),
        // Tall subgroup tiles (4 and 8 rows a lane at batch 40 and 130), partial in both
        // rows and batch.
        case("linear_b40", linear(40, 72, 36, true)),
        case("linear_b130", linear(130, 36, 132, true)),
        // linear_backward_weight_short_sg at a batch that is not a multiple of the subgroup,
        // a partial last column tile (250 of 256 quads at 8 lanes) and a partial last block
        // of rows (516 = 8 x 64 + 4).
        case("linear_short_wgrad_edges", linear(13, 1000, 516, true)),
        case("relu_odd", Op::Relu(Relu(Shape::new(&[1001])))),
        case("tanh_odd", Op::Tanh(Tanh(Shape::new(&[3, 7, 11])))),
        case(
            "dropout_odd",
            Op::Dropout(DropoutParams {
                len: 999,
                p: 0.3,
                seed: 1,
                step: 123_456,
            }),
        ),
        case(
            "sce_odd",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams {
                batch: 3,
                classes: 7,
                grad_scale: 0.25,
            }),
        ),
        case(
            "sce_b1",
            Op::SoftmaxCrossEntropy(SoftmaxCrossEntropyParams::mean(1, 1000)),
        ),
        Case {
            name: "topk_ties".into(),
            op: Op::Topk(TopkParams {
                batch: 9,
                classes: 7,
                ks: vec![1, 3, 5, 7],
            }),
            ties: true,
        },
        case(
            "sgd_nesterov_wd",
            Op::Sgd(Sgd(
                SgdParams {
                    lr: 0.05,
                    momentum: 0.9,
                    weight_decay: 5e-4,
                    nesterov: true,
                    grad_scale: 1.0 / 128.0,
                },
                1001,
            )),
        ),
    ];
    rect.bias = true;
    rect.groups = 1;
    cases.push(case("conv_rect_bias", Op::Conv2d(rect)));
    cases
}

fn conv_nobias(batch: usize, cin: usize, hw: usize, cout: usize, k: usize, stride: usize) -> Op {
    Op::Conv2d(Conv2dParams {
        batch,
        in_channels: cin,
        in_h: hw,
        in_w: hw,
        out_channels: cout,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding: k / 2,
        groups: 1,
        bias: false,
        act: Act::None,
    })
}

fn bn(batch: usize, c: usize, hw: usize, train: bool) -> Op {
    Op::BatchNorm(BatchNormParams {
        train,
        ..BatchNormParams::new(batch, c, hw, hw)
    })
}

/// ResNet-18's distinct layers at a 32-pixel input and batch `b` (the stem, the first block
/// of each stage, a downsampling shortcut, the residual add, batch norm in both modes down to
/// 1x1 maps, global average pooling of 2x2 maps, the classifier).
pub fn resnet18_layers(b: usize) -> Vec<Case> {
    vec![
        case("resnet_conv1", conv_nobias(b, 3, 32, 64, 7, 2)),
        case("resnet_bn1", bn(b, 64, 16, true)),
        case("resnet_bn1_eval", bn(b, 64, 16, false)),
        case(
            "resnet_maxpool",
            Op::MaxPool2d(MaxPool2d(pool(b, 64, 16, 16, 3, 2, 1))),
        ),
        case("resnet_layer1_conv", conv_nobias(b, 64, 8, 64, 3, 1)),
        case(
            "resnet_layer1_add",
            Op::Add(Add(Shape::new(&[b, 64, 8, 8]))),
        ),
        case("resnet_layer2_conv1", conv_nobias(b, 64, 8, 128, 3, 2)),
        case("resnet_layer2_downsample", conv_nobias(b, 64, 8, 128, 1, 2)),
        case("resnet_layer2_bn", bn(b, 128, 4, true)),
        case("resnet_layer3_conv2", conv_nobias(b, 256, 2, 256, 3, 1)),
        case("resnet_layer4_conv1", conv_nobias(b, 256, 2, 512, 3, 2)),
        case("resnet_layer4_bn", bn(b, 512, 1, true)),
        case("resnet_layer4_bn_eval", bn(b, 512, 1, false)),
        case(
            "resnet_avgpool_2x2",
            Op::AvgPool2d(AvgPool2d(pool(b, 512, 2, 2, 2, 2, 0))),
        ),
        case("resnet_fc", linear(b, 512, 10, true)),
    ]
}

/// ResNet-18's layers at batch 4 and the edge cases of its new ops.
pub fn resnet_cases() -> Vec<Case> {
    let mut v = resnet18_layers(4);
    v.extend([
        case("batch_norm_b1_odd", bn(1, 3, 5, true)),
        case("batch_norm_b2_1x1", bn(2, 7, 1, true)),
        case("add_odd_len", Op::Add(Add(Shape::new(&[3, 5, 7])))),
    ]);
    v
}

fn ceil_pool(
    batch: usize,
    c: usize,
    hw: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Op {
    Op::MaxPool2d(MaxPool2d(Pool2dParams {
        ceil_mode: true,
        ..pool(batch, c, hw, hw, kernel, stride, padding)
    }))
}

fn concat(batch: usize, channels: usize, total: usize, offset: usize, h: usize, w: usize) -> Op {
    Op::Concat(ConcatParams {
        batch,
        channels,
        total,
        offset,
        h,
        w,
    })
}

/// GoogLeNet's new shapes at a 64-pixel input, batch 2 (its ceil-mode max pools, the pool
/// branch of an inception block, the concatenation of a block's four branches), and their
/// edge cases: odd channel offsets (half words in packed f16), a last window dropped because
/// it would start in the padding.
pub fn googlenet_cases() -> Vec<Case> {
    let b = 2;
    vec![
        case("googlenet_maxpool1", ceil_pool(b, 64, 32, 3, 2, 0)),
        case("googlenet_maxpool3", ceil_pool(b, 480, 8, 3, 2, 0)),
        case("googlenet_maxpool4", ceil_pool(b, 832, 4, 2, 2, 0)),
        case("googlenet_3a_branch4_pool", ceil_pool(b, 192, 8, 3, 1, 1)),
        case("googlenet_3a_concat_branch1", concat(b, 64, 256, 0, 8, 8)),
        case("googlenet_3a_concat_branch2", concat(b, 128, 256, 64, 8, 8)),
        case(
            "googlenet_5b_concat_branch4",
            concat(b, 128, 1024, 896, 2, 2),
        ),
        case(
            "googlenet_4a_branch4_conv",
            conv(8, 480, 4, 4, 64, 1, 1, 0, 1),
        ),
        case(
            "googlenet_4a_branch4_bn",
            Op::BatchNorm(BatchNormParams {
                eps: 1e-3,
                train: true,
                ..BatchNormParams::new(8, 64, 4, 4)
            }),
        ),
        case("concat_odd_offset", concat(3, 3, 7, 3, 5, 3)),
        case("concat_whole", concat(1, 5, 5, 0, 3, 3)),
        case("maxpool_ceil_odd_pad", ceil_pool(2, 3, 7, 3, 2, 1)),
        // Ties (post-ReLU maps are full of them): the first maximum in window order.
        Case {
            name: "googlenet_maxpool3_ties".into(),
            op: ceil_pool(b, 16, 8, 3, 2, 0),
            ties: true,
        },
        Case {
            name: "googlenet_branch4_pool_ties".into(),
            op: ceil_pool(b, 16, 4, 3, 1, 1),
            ties: true,
        },
        Case {
            name: "googlenet_5b_branch4_pool_ties".into(),
            op: ceil_pool(8, 32, 2, 3, 1, 1),
            ties: true,
        },
        Case {
            name: "googlenet_maxpool4_ties".into(),
            op: ceil_pool(8, 32, 4, 2, 2, 0),
            ties: true,
        },
        case("maxpool_ceil_drops_last", ceil_pool(1, 2, 6, 2, 2, 1)),
        // The auxiliary classifiers' adaptive_avg_pool2d to 4x4: 14x14 maps at 224 px
        // (overlapping windows of 4 and 5), 8x8 at 128 (2x2 windows), 2x2 at 32 (each row
        // repeated); uneven non-square maps; a folded relu.
        case("googlenet_aux1_pool_224", adaptive_pool(b, 512, 14, 14, 4)),
        case("googlenet_aux2_pool_128", adaptive_pool(b, 528, 8, 8, 4)),
        case("adaptive_pool_repeats", adaptive_pool(3, 5, 2, 2, 4)),
        case("adaptive_pool_uneven", adaptive_pool(2, 3, 7, 5, 3)),
        case(
            "adaptive_pool_fold_relu",
            Op::AvgPool2d(AvgPool2d(Pool2dParams {
                act: Act::Relu,
                ..adaptive_params(2, 4, 9, 6, 4)
            })),
        ),
    ]
}

fn adaptive_params(batch: usize, c: usize, h: usize, w: usize, out: usize) -> Pool2dParams {
    Pool2dParams {
        adaptive: Some(out),
        ..pool(batch, c, h, w, 1, 1, 0)
    }
}

fn adaptive_pool(batch: usize, c: usize, h: usize, w: usize, out: usize) -> Op {
    Op::AvgPool2d(AvgPool2d(adaptive_params(batch, c, h, w, out)))
}

#[allow(clippy::too_many_arguments)] // a row of the case table
fn up(
    batch: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
) -> ConvTranspose2dParams {
    ConvTranspose2dParams {
        batch,
        in_channels: cin,
        in_h: h,
        in_w: w,
        out_channels: cout,
        kernel_h: k,
        kernel_w: k,
        stride,
        padding,
        output_padding,
        groups: 1,
        bias: true,
    }
}

/// The per-pixel loss with its gradient scaled by the pixel count, so that the gradients the
/// harness compares are about 1 (the mean's 1/count would leave them under the tolerance).
fn pixel_loss(batch: usize, classes: usize, pixels: usize) -> Op {
    Op::PixelCrossEntropy(PixelCrossEntropyParams {
        grad_scale: (batch * pixels) as f32,
        ..PixelCrossEntropyParams::new(batch, classes, pixels)
    })
}

/// U-Net's up-convolutions (2x2, stride 2) at a 64-pixel input with 16 base channels, batch
/// 2, and the transposed convolution's edge cases: padding that crops, output padding,
/// groups, a rectangular kernel, a 1x1 input (its dual convolution is a plain GEMM); the
/// per-pixel loss and the segmentation counters.
pub fn unet_cases() -> Vec<Case> {
    let b = 2;
    let op = Op::ConvTranspose2d;
    vec![
        case("unet_up1", op(up(b, 256, 4, 4, 128, 2, 2, 0, 0))),
        case("unet_up2", op(up(b, 128, 8, 8, 64, 2, 2, 0, 0))),
        case("unet_up4", op(up(b, 32, 32, 32, 16, 2, 2, 0, 0))),
        case(
            "convt_k3_s2_pad1_outpad1",
            op(up(2, 5, 5, 3, 7, 3, 2, 1, 1)),
        ),
        case(
            "convt_k4_s3_pad2_outpad2",
            op(up(1, 3, 4, 6, 4, 4, 3, 2, 2)),
        ),
        case("convt_k3_s1_same", op(up(3, 6, 7, 5, 6, 3, 1, 1, 0))),
        case(
            "convt_groups2_rect_nobias",
            op(ConvTranspose2dParams {
                kernel_h: 3,
                kernel_w: 2,
                groups: 2,
                bias: false,
                ..up(2, 4, 5, 6, 6, 3, 2, 0, 1)
            }),
        ),
        case("convt_1x1_input", op(up(3, 8, 1, 1, 5, 2, 2, 0, 0))),
        // The loss and counters of 11 classes (10 digits or garments and the background)
        // at 64x64, and odd sizes; labels cover every class and ignored pixels.
        case("unet_loss", pixel_loss(b, 11, 64 * 64)),
        case(
            "unet_metrics",
            Op::PixelMetrics(PixelMetricsParams {
                batch: b,
                classes: 11,
                pixels: 64 * 64,
            }),
        ),
        case("pixel_loss_odd", pixel_loss(3, 3, 7)),
        Case {
            name: "pixel_metrics_ties".into(),
            op: Op::PixelMetrics(PixelMetricsParams {
                batch: 3,
                classes: 4,
                pixels: 5,
            }),
            ties: true,
        },
    ]
}

/// Every case of the parity table.
pub fn all_cases() -> Vec<Case> {
    let mut v = lenet5_cases();
    v.extend(alexnet_cases());
    v.extend(resnet_cases());
    v.extend(googlenet_cases());
    v.extend(unet_cases());
    v.extend(edge_cases());
    v
}
