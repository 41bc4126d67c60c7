//! Reproducibility and error handling of the GPU backend.

mod common;

use cnngpu::gpu::buffers::View;
use cnngpu::gpu::recorder::Recorder;
use cnngpu::gpu::{Family, Storage};
use cnngpu::ops::*;
use cnngpu::parity::{self, Case};

/// A host tensor of `shape` holding sin(i * step + salt): smooth, signed, every value distinct.
fn sines(shape: &[usize], step: f32, salt: f32) -> cnngpu::tensor::HostTensor {
    let shape = cnngpu::tensor::Shape::new(shape);
    let data = (0..shape.numel())
        .map(|i| (i as f32 * step + salt).sin())
        .collect();
    cnngpu::tensor::HostTensor { shape, data }
}

/// Every reduction runs in a fixed order (no float atomics): two runs of the same kernel on
/// the same inputs give bit-identical outputs, in every variant and, for the GEMM-shaped
/// passes, in every kernel family the adapter has (LeNet-5 conv1's weight gradient splits k
/// in the families that split). The families run at small shapes; the wide subgroup family,
/// which only large GEMMs run, at two AlexNet layers (there alone: the others take minutes).
#[test]
fn running_a_kernel_twice_gives_bit_identical_output() {
    let Some(gpu) = common::gpu() else { return };
    let wanted = [
        "lenet5_conv1",
        "lenet5_conv2",
        "conv_groups3_rect_nobias",
        "alexnet_conv2_g2",
        "alexnet_fc7",
        "linear_odd",
        "linear_b130",
        "alexnet_lrn2",
        "sce_odd",
        "alexnet_pool2",
        "sgd_nesterov_wd",
        "dropout_odd",
    ];
    let cases: Vec<Case> = parity::all_cases()
        .into_iter()
        .filter(|c| wanted.contains(&c.name.as_str()))
        .collect();
    assert_eq!(cases.len(), wanted.len());
    let original = gpu.f16_storage();
    let mut checked = 0;
    let mut families_seen = std::collections::HashSet::new();
    for case in &cases {
        for pass in case.op.passes() {
            let inputs = parity::make_inputs(case, pass).unwrap();
            let kernel = case.op.kernel(pass);
            let large = case.name.starts_with("alexnet_conv") || case.name == "alexnet_fc7";
            let families = if !parity::has_families(&kernel) {
                vec![gpu.family()]
            } else if large {
                parity::distinct_families(&gpu, &case.op)
                    .into_iter()
                    .filter(|&f| f == Family::SubgroupWide)
                    .collect()
            } else {
                gpu.families()
            };
            for family in families {
                families_seen.insert(family);
                gpu.with_family(family, || {
                    for v in parity::variants(&gpu) {
                        let dtype = if v == Storage::F32 {
                            cnngpu::tensor::DType::F32
                        } else {
                            gpu.set_f16_storage(v).unwrap();
                            cnngpu::tensor::DType::F16
                        };
                        let first = parity::execute(&*gpu, case, pass, &inputs, dtype)?;
                        let second = parity::execute(&*gpu, case, pass, &inputs, dtype)?;
                        for (a, b) in first.iter().zip(&second) {
                            let bits = |o: &parity::Output| {
                                o.floats
                                    .iter()
                                    .map(|v| v.to_bits())
                                    .chain(o.ints.iter().copied())
                                    .collect::<Vec<u32>>()
                            };
                            assert_eq!(
                                bits(a),
                                bits(b),
                                "{} {} [{}] {} {}: runs differ",
                                case.name,
                                kernel,
                                family.name(),
                                v.name(),
                                a.name
                            );
                            checked += 1;
                        }
                    }
                    Ok(())
                })
                .unwrap();
            }
        }
    }
    gpu.set_f16_storage(original).unwrap();
    assert!(checked > 20);
    assert!(
        families_seen.contains(&Family::Workgroup),
        "the workgroup family runs on every adapter"
    );
    if gpu.families().contains(&Family::SubgroupWide) {
        assert!(families_seen.contains(&Family::SubgroupWide));
    }
}

/// A wgpu validation error (here: a bind group missing a binding) comes back as `Err` with
/// wgpu's message, instead of reaching wgpu's default handler, which panics.
#[test]
fn validation_errors_come_back_as_err() {
    let Some(gpu) = common::gpu() else { return };
    let x = gpu
        .full(
            cnngpu::tensor::Shape::new(&[16]),
            cnngpu::tensor::DType::F32,
            1.0,
        )
        .unwrap();
    let recorder = Recorder::new();
    let uniform = ElementwiseUniform {
        len: 16,
        ..Default::default()
    };
    // relu_forward needs x and y; only x is bound.
    recorder
        .dispatch(
            &gpu.ctx,
            "relu_forward",
            Storage::F32,
            None,
            &[],
            &uniform,
            &[View::whole(&x)],
            1,
        )
        .expect("recording itself does not validate");
    let err = recorder
        .submit(&gpu.ctx, "a broken dispatch")
        .expect_err("the validation error surfaces");
    let msg = err.to_string();
    assert!(msg.contains("a broken dispatch"), "{msg}");
    // The device is still usable afterwards.
    gpu.sync().expect("later work still runs");
}

/// Asking for native f16 where it does not exist, or mixing precisions in one call, is an
/// `Err` naming the problem.
#[test]
fn bad_calls_are_clear_errors() {
    let Some(gpu) = common::gpu() else { return };
    use cnngpu::tensor::{DType, Shape};
    let a = gpu.full(Shape::new(&[8]), DType::F32, 1.0).unwrap();
    let mut b = gpu.full(Shape::new(&[8]), DType::F16, 1.0).unwrap();
    let err = gpu.relu_forward(&a, &mut b).unwrap_err().to_string();
    assert!(err.contains("mixed tensor types f32 and f16"), "{err}");
    let mut c = gpu.full(Shape::new(&[9]), DType::F32, 1.0).unwrap();
    let err = gpu.relu_forward(&a, &mut c).unwrap_err().to_string();
    assert!(err.contains("expected 8 values"), "{err}");
    let bad = Conv2dParams {
        batch: 1,
        in_channels: 3,
        in_h: 4,
        in_w: 4,
        out_channels: 4,
        kernel_h: 5,
        kernel_w: 5,
        stride: 1,
        padding: 0,
        groups: 2,
        bias: false,
        act: Act::None,
    };
    assert!(bad.validate().unwrap_err().to_string().contains("groups"));
    // The GPU's lrn holds at most 16 channels of window: a wider one is a clear error.
    let wide = LrnParams {
        size: 17,
        ..LrnParams::alexnet(1, 20, 2, 2)
    };
    let x = gpu.full(wide.shape(), DType::F32, 1.0).unwrap();
    let mut y = gpu.full(wide.shape(), DType::F32, 0.0).unwrap();
    let err = gpu.lrn_forward(&wide, &x, &mut y).unwrap_err().to_string();
    assert!(err.contains("lrn window") && err.contains("16"), "{err}");
}

/// A training step is planned before its first recording (pipelines and scratch buffers at
/// their final sizes), which creates the uniform buffers and bind groups; from the second step
/// on a step creates no wgpu object, and each step is one compute pass and one submit.
#[test]
fn a_training_step_recorded_again_creates_no_wgpu_object() {
    let Some(gpu) = common::gpu() else { return };
    // In every kernel family: their launchers plan scratch, uniforms and bind groups alike.
    for family in gpu.families() {
        gpu.with_family(family, || {
            let (graph, init) = cnngpu::nn::models::by_name("lenet5", 10, 1, None)?;
            let mut training = cnngpu::bench::SyntheticTraining::new(
                &*gpu,
                graph,
                init,
                cnngpu::tensor::Precision::F32,
                16,
            )?;
            let start = gpu.stats();
            training.record_step(&*gpu)?;
            gpu.sync()?;
            let first = gpu.stats();
            assert!(
                first.objects_created > start.objects_created,
                "{}: the first step creates its uniforms and bind groups",
                family.name()
            );
            for step in 2..=4 {
                let before = gpu.stats();
                training.record_step(&*gpu)?;
                gpu.sync()?;
                let after = gpu.stats();
                let f = family.name();
                assert!(
                    after.dispatches > before.dispatches + 20,
                    "a step was recorded"
                );
                assert_eq!(
                    after.objects_created, before.objects_created,
                    "{f}: step {step} reuses every uniform buffer and bind group"
                );
                assert_eq!(
                    after.passes - before.passes,
                    1,
                    "{f}: step {step}: one compute pass"
                );
                assert_eq!(
                    after.submits - before.submits,
                    1,
                    "{f}: step {step}: one submit"
                );
            }
            Ok(())
        })
        .unwrap();
    }
}

/// The dropout step counter reaches the kernels through the per-step values — immediates
/// where the adapter has them, and the one small uniform (forced here) — not through the
/// launch's uniform: successive steps draw different masks, each the CPU's, and no step after
/// the first creates a wgpu object. The uniform path writes its 16 bytes once per step.
#[test]
fn per_step_values_change_the_mask_without_new_objects() {
    use cnngpu::gpu::shaders::PerStep;
    use cnngpu::tensor::{DType, HostTensor, Shape};
    let Some(gpu) = common::gpu() else { return };
    let spec = std::env::var("CNNGPU_ADAPTER").unwrap_or_default();
    let uniform = cnngpu::gpu::GpuBackend::open(&spec)
        .unwrap()
        .with_per_step(PerStep::Uniform)
        .unwrap();
    assert_eq!(uniform.per_step_mode(), PerStep::Uniform);
    eprintln!("default per-step mode: {:?}", gpu.per_step_mode());
    for b in [&*gpu, &uniform] {
        let n = 4096;
        let ones = HostTensor::new(Shape::new(&[n]), vec![1.0; n]).unwrap();
        let x = b.upload(&ones, DType::F32).unwrap();
        let mut y = b.full(Shape::new(&[n]), DType::F32, 0.0).unwrap();
        let (mut masks, mut after_first) = (Vec::new(), None);
        for step in 0..4 {
            let p = DropoutParams {
                len: n,
                p: 0.5,
                seed: 3,
                step,
            };
            let before = b.stats();
            b.per_step(step, 0.01).unwrap();
            b.dropout_forward(&p, &x, &mut y).unwrap();
            let (got, _) = b.read_together(&[&y], &[]).unwrap();
            let want: Vec<f32> = (0..n as u32)
                .map(|i| if p.keep(i) { 2.0 } else { 0.0 })
                .collect();
            assert_eq!(got[0], want, "step {step}: the CPU's mask");
            let written = b.stats().bytes_written - before.bytes_written;
            if b.per_step_mode() == PerStep::Uniform && step > 0 {
                assert_eq!(written, 16, "one 16-byte write per step");
            }
            if step == 0 {
                after_first = Some(b.stats().objects_created);
            }
            masks.push(got[0].clone());
        }
        assert_ne!(masks[0], masks[1], "the step picks the mask");
        assert_eq!(
            b.stats().objects_created,
            after_first.unwrap(),
            "{:?}: steps after the first create no wgpu object",
            b.per_step_mode()
        );
    }
}

/// The mixed-precision overflow check sees a NaN or an infinity in any of the gradients it is
/// given — seven tensors, so two launches of six and one on the GPU — in f32 and f16, and
/// leaves the flag clear when all are finite, like the CPU reference.
#[test]
fn the_overflow_check_finds_a_bad_value_in_any_gradient() {
    use cnngpu::cpu::CpuBackend;
    use cnngpu::tensor::{DType, HostTensor, Shape};
    fn found<B: Backend>(b: &B, dtype: DType, bad: Option<(usize, usize, f32)>) -> u32 {
        let lens = [5usize, 300, 1, 77, 1024, 9, 513];
        let grads: Vec<B::Tensor> = lens
            .iter()
            .enumerate()
            .map(|(t, &n)| {
                let mut data: Vec<f32> = (0..n).map(|i| (i as f32 - 3.0) * 0.25).collect();
                if let Some((bt, bi, v)) = bad {
                    if bt == t {
                        data[bi] = v;
                    }
                }
                let host = HostTensor {
                    shape: Shape::new(&[n]),
                    data,
                };
                b.upload(&host, dtype).unwrap()
            })
            .collect();
        let mut state = b.upload_u32(Shape::new(&[4]), &[0, 0, 0, 0]).unwrap();
        let refs: Vec<&B::Tensor> = grads.iter().collect();
        b.grad_check_finite(&refs, &mut state).unwrap();
        let separate = b.download_u32(&state).unwrap()[2];
        // The same gradients as the tensors of one arena.
        let hosts: Vec<HostTensor> = grads.iter().map(|g| b.download(g).unwrap()).collect();
        let shapes: Vec<Shape> = hosts.iter().map(|h| h.shape.clone()).collect();
        let arena = b.arena(&shapes, dtype, Some(&hosts)).unwrap();
        let refs: Vec<&B::Tensor> = arena.iter().collect();
        let mut state = b.upload_u32(Shape::new(&[4]), &[0, 0, 0, 0]).unwrap();
        b.grad_check_finite(&refs, &mut state).unwrap();
        let together = b.download_u32(&state).unwrap()[2];
        assert_eq!(
            separate, together,
            "{bad:?}: separate tensors and an arena agree"
        );
        together
    }
    let cases = [
        (None, 0),
        (Some((0, 4, f32::NAN)), 1),
        (Some((4, 1023, f32::INFINITY)), 1),
        (Some((5, 8, f32::NAN)), 1),
        (Some((6, 512, f32::NEG_INFINITY)), 1),
        (Some((6, 0, f32::NAN)), 1),
        // The last value of a tensor that is not whole vec4s, and a tensor of one value.
        (Some((1, 299, f32::NAN)), 1),
        (Some((2, 0, f32::INFINITY)), 1),
    ];
    for (bad, want) in cases {
        assert_eq!(found(&CpuBackend, DType::F32, bad), want, "cpu {bad:?}");
    }
    let Some(gpu) = common::gpu() else { return };
    for dtype in [DType::F32, DType::F16] {
        for (bad, want) in cases {
            assert_eq!(found(&*gpu, dtype, bad), want, "gpu {dtype:?} {bad:?}");
        }
    }
    // The packed f16 storage reads its vec4s as pairs of words.
    let original = gpu.f16_storage();
    gpu.set_f16_storage(cnngpu::gpu::Storage::F16Packed)
        .unwrap();
    for (bad, want) in cases {
        assert_eq!(
            found(&*gpu, DType::F16, bad),
            want,
            "gpu f16-packed {bad:?}"
        );
    }
    gpu.set_f16_storage(original).unwrap();
}

/// The parameters of an arena: on the GPU the optimizer updates all of them in one launch and
/// the overflow check reads them in one, with the results of one update per tensor on the
/// CPU; tensors given out of the arena's order are not joined (one launch each).
#[test]
fn an_arena_is_updated_in_one_launch_like_its_tensors_one_by_one() {
    use cnngpu::cpu::CpuBackend;
    use cnngpu::tensor::{DType, HostTensor, Shape};
    let Some(gpu) = common::gpu() else { return };
    let shapes = [Shape::new(&[1001]), Shape::new(&[6, 5]), Shape::new(&[3])];
    let values = |salt: f32| -> Vec<HostTensor> {
        shapes
            .iter()
            .map(|s| HostTensor {
                shape: s.clone(),
                data: (0..s.numel())
                    .map(|i| ((i as f32 * 0.37 + salt).sin()) * 0.5)
                    .collect(),
            })
            .collect()
    };
    let p = SgdParams {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 1e-3,
        nesterov: true,
        grad_scale: 0.5,
    };
    /// Two SGD steps over the parameters in `order`; the new weights, momentum and copies.
    fn run<B: Backend>(
        b: &B,
        dtype: DType,
        order: &[usize],
        (shapes, w0, g): (&[Shape], &[HostTensor], &[HostTensor]),
        p: &SgdParams,
    ) -> Vec<HostTensor> {
        let mut w = b.arena(shapes, DType::F32, Some(w0)).unwrap();
        let mut v = b.arena(shapes, DType::F32, None).unwrap();
        let grads = b.arena(shapes, dtype, Some(g)).unwrap();
        let mut copies = b.arena(shapes, dtype, Some(w0)).unwrap();
        for _ in 0..2 {
            fn pick<'a, T>(l: &'a mut [T], order: &[usize]) -> Vec<&'a mut T> {
                let mut all: Vec<Option<&mut T>> = l.iter_mut().map(Some).collect();
                order.iter().map(|&i| all[i].take().unwrap()).collect()
            }
            let gs: Vec<&B::Tensor> = order.iter().map(|&i| &grads[i]).collect();
            let (mut ws, mut vs) = (pick(&mut w, order), pick(&mut v, order));
            let mut cs = pick(&mut copies, order);
            b.sgd_update(p, &gs, &mut ws, &mut vs, Some(&mut cs), None)
                .unwrap();
        }
        w.iter()
            .chain(&v)
            .chain(&copies)
            .map(|t| b.download(t).unwrap())
            .collect()
    }
    let (w0, g) = (values(0.0), values(1.0));
    for dtype in [DType::F32, DType::F16] {
        let args = (&shapes[..], &w0[..], &g[..]);
        let want = run(&CpuBackend, dtype, &[0, 1, 2], args, &p);
        for (order, launches) in [([0, 1, 2], 2), ([0, 2, 1], 6)] {
            let before = gpu.stats().dispatches;
            let got = run(&*gpu, dtype, &order, args, &p);
            assert_eq!(
                gpu.stats().dispatches - before,
                launches,
                "{dtype:?} {order:?}: two steps"
            );
            for (k, (a, b)) in want.iter().zip(&got).enumerate() {
                for (i, (x, y)) in a.data.iter().zip(&b.data).enumerate() {
                    let tol = if dtype == DType::F16 && k >= 6 {
                        1e-3
                    } else {
                        1e-6
                    };
                    assert!(
                        (x - y).abs() <= tol * (1.0 + x.abs()),
                        "{dtype:?} {order:?} tensor {k} [{i}]: cpu {x}, gpu {y}"
                    );
                }
            }
        }
        // The overflow check: one launch for the arena's three gradients.
        let grads = gpu.arena(&shapes, dtype, Some(&g)).unwrap();
        let refs: Vec<_> = grads.iter().collect();
        let mut state = gpu.upload_u32(Shape::new(&[4]), &[0; 4]).unwrap();
        let before = gpu.stats().dispatches;
        gpu.grad_check_finite(&refs, &mut state).unwrap();
        assert_eq!(gpu.stats().dispatches - before, 1, "{dtype:?}: one check");
        assert_eq!(gpu.download_u32(&state).unwrap()[2], 0, "{dtype:?}: finite");
    }
}

/// The loss sums of a segmentation batch: a loss per pixel, 128 images of 64x64 (524,288
/// values) summed in order into the running total, as the CPU does.
#[test]
fn loss_totals_sum_every_pixel_of_a_large_batch() {
    use cnngpu::tensor::{DType, HostTensor, Shape};
    let Some(gpu) = common::gpu() else { return };
    let n = 128 * 64 * 64;
    let losses: Vec<f32> = (0..n).map(|i| 0.25 + (i % 4) as f32 * 0.5).collect();
    let host = HostTensor::new(Shape::new(&[n]), losses.clone()).unwrap();
    let t = gpu.upload(&host, DType::F32).unwrap();
    let mut totals = gpu.full(Shape::new(&[2]), DType::F32, 0.0).unwrap();
    gpu.loss_accumulate(&t, &mut totals).unwrap();
    let got = gpu.download(&totals).unwrap().data;
    let want: f32 = losses.iter().fold(0.0, |a, &v| a + v);
    assert_eq!(got, [want, n as f32]);
}

/// The subgroup family's linear GEMMs read the weights from a texture filled before the
/// pending work: a pass recorded after an optimizer update in the same submit still reads the
/// updated weights (the copy is then made in order), as one recorded after a submit does.
#[test]
fn a_linear_pass_after_an_update_in_the_same_submit_reads_the_new_weights() {
    use cnngpu::tensor::{DType, Shape};
    let Some(gpu) = common::gpu() else { return };
    if !gpu.families().contains(&Family::Subgroup) {
        eprintln!("skipped: {} has no subgroup family", gpu.ctx.describe());
        return;
    }
    let p = LinearParams {
        batch: 8,
        in_features: 16,
        out_features: 12,
        bias: false,
        act: Act::None,
    };
    let host = |shape: &[usize], salt: f32| sines(shape, 0.61, salt);
    let sgd = SgdParams {
        lr: 0.5,
        momentum: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        grad_scale: 1.0,
    };
    let x = gpu.upload(&host(&[8, 16], 0.0), DType::F32).unwrap();
    let g = gpu.upload(&host(&[12, 16], 2.0), DType::F32).unwrap();
    let mut w = gpu.upload(&host(&[12, 16], 1.0), DType::F32).unwrap();
    let mut v = gpu.full(Shape::new(&[12, 16]), DType::F32, 0.0).unwrap();
    let mut ys: Vec<_> = (0..3)
        .map(|_| gpu.full(Shape::new(&[8, 12]), DType::F32, 0.0).unwrap())
        .collect();
    gpu.with_family(Family::Subgroup, || {
        gpu.linear_forward(&p, &x, &w, None, &mut ys[0])?;
        gpu.sgd_update(&sgd, &[&g], &mut [&mut w], &mut [&mut v], None, None)?;
        gpu.linear_forward(&p, &x, &w, None, &mut ys[1])?;
        gpu.sync()?;
        gpu.linear_forward(&p, &x, &w, None, &mut ys[2])
    })
    .unwrap();
    let [before, same_submit, next_submit] = [0, 1, 2].map(|i| gpu.download(&ys[i]).unwrap());
    assert_eq!(same_submit.data, next_submit.data);
    assert_ne!(
        before.data, same_submit.data,
        "the update changed the weights"
    );
}

/// An operand that no launch recorded since the last submit writes (the network's input)
/// reaches the direct convolution as a texture copied before that work: one launch fewer than
/// packing it with texture_pack4, and the same output. Once a launch of the same submit
/// writes it, it is packed again, so the convolution reads the new values — in f32 and f16.
#[test]
fn an_unwritten_operand_is_copied_into_its_texture_and_a_written_one_packed() {
    use cnngpu::tensor::{DType, Shape};
    let Some(gpu) = common::gpu() else { return };
    if !gpu.families().contains(&Family::Subgroup) {
        eprintln!("skipped: {} has no subgroup family", gpu.ctx.describe());
        return;
    }
    // LeNet-5's conv1 at batch 4: the direct kernel.
    let p = Conv2dParams {
        batch: 4,
        in_channels: 1,
        in_h: 32,
        in_w: 32,
        out_channels: 6,
        kernel_h: 5,
        kernel_w: 5,
        stride: 1,
        padding: 0,
        groups: 1,
        bias: true,
        act: Act::Tanh,
    };
    let host = |shape: &[usize], salt: f32| sines(shape, 0.37, salt);
    for dtype in [DType::F32, DType::F16] {
        let src = gpu.upload(&host(&[4, 1, 32, 32], 0.0), dtype).unwrap();
        let w = gpu.upload(&host(&[6, 1, 5, 5], 1.0), dtype).unwrap();
        let b = gpu.upload(&host(&[6], 2.0), dtype).unwrap();
        let mut x = gpu.full(Shape::new(&[4, 1, 32, 32]), dtype, 0.0).unwrap();
        let mut y = gpu.full(Shape::new(&[4, 6, 28, 28]), dtype, 0.0).unwrap();
        let mut run = |copies: bool, relu_first: bool| {
            gpu.set_tensor_copies(copies);
            let before = gpu.stats().dispatches;
            gpu.with_family(Family::Subgroup, || {
                if relu_first {
                    gpu.relu_forward(&src, &mut x)?;
                } else {
                    gpu.sync()?;
                }
                gpu.conv2d_forward(&p, &x, &w, Some(&b), &mut y)
            })
            .unwrap();
            let launches = gpu.stats().dispatches - before;
            gpu.set_tensor_copies(true);
            (launches, gpu.download(&y).unwrap().data)
        };
        // x = relu(src) written in the submit of the convolution: packed.
        let (written, fresh) = run(true, true);
        // The same x, now unwritten since the last submit: copied, one launch fewer.
        let (copied, again) = run(true, false);
        let (packed, reference) = run(false, false);
        assert_eq!(
            written,
            packed + 1,
            "{dtype:?}: relu, then the packed launches"
        );
        assert_eq!(
            copied + 1,
            packed,
            "{dtype:?}: the copy saves texture_pack4"
        );
        assert_eq!(
            again, reference,
            "{dtype:?}: copied and packed operands agree"
        );
        assert_eq!(
            fresh, reference,
            "{dtype:?}: the convolution read relu's output"
        );
    }
}

/// LeNet-5's pool2 output is conv3's x, which conv3's weight gradient (a GEMM) reads through
/// a texture: once that pass has asked for it, the pool's forward launch fills the texture
/// too (x's mirror) and the pass packs only dy^T. It takes the mirror only while nothing has
/// written x since — a launch or a queue write — and its gradient is the packed path's, bit
/// for bit: in f32 and f16, at a batch of whole vec4 rows and at one padded to them.
#[test]
fn a_pools_mirror_is_taken_only_while_its_output_is_unwritten() {
    use cnngpu::tensor::{DType, Shape};
    let Some(gpu) = common::gpu() else { return };
    if !gpu.families().contains(&Family::Subgroup) {
        eprintln!("skipped: {} has no subgroup family", gpu.ctx.describe());
        return;
    }
    let host = |shape: &[usize], salt: f32| sines(shape, 0.37, salt);
    for (dtype, batch) in [
        (DType::F32, 64),
        (DType::F16, 64),
        (DType::F32, 6),
        (DType::F16, 6),
    ] {
        let pool = Pool2dParams {
            batch,
            channels: 16,
            in_h: 10,
            in_w: 10,
            kernel: 2,
            stride: 2,
            padding: 0,
            adaptive: None,
            act: Act::None,
            ceil_mode: false,
        };
        let conv3 = Conv2dParams {
            batch,
            in_channels: 16,
            in_h: 5,
            in_w: 5,
            out_channels: 120,
            kernel_h: 5,
            kernel_w: 5,
            stride: 1,
            padding: 0,
            groups: 1,
            bias: true,
            act: Act::None,
        };
        let src = gpu.upload(&host(&[batch, 16, 10, 10], 0.0), dtype).unwrap();
        let other = host(&[batch, 16, 5, 5], 2.0);
        let other_gpu = gpu.upload(&other, dtype).unwrap();
        let dy = gpu.upload(&host(&[batch, 120, 1, 1], 1.0), dtype).unwrap();
        let mut x = gpu
            .full(Shape::new(&[batch, 16, 5, 5]), dtype, 0.0)
            .unwrap();
        let mut dw = gpu.full(Shape::new(&[120, 16, 5, 5]), dtype, 0.0).unwrap();
        // The pool's forward pass, then what `between` records, then the weight gradient:
        // mirrors taken, and the gradient.
        let mut step = |between: &dyn Fn(&mut cnngpu::gpu::GpuTensor)| {
            let taken = gpu.mirrors_taken();
            gpu.with_family(Family::Subgroup, || {
                gpu.avg_pool2d_forward(&pool, &src, &mut x)?;
                between(&mut x);
                gpu.conv2d_backward_weight(&conv3, &dy, &x, &mut dw)
            })
            .unwrap();
            let g = gpu.download(&dw).unwrap().data;
            (gpu.mirrors_taken() - taken, g)
        };
        let nothing = |_: &mut cnngpu::gpu::GpuTensor| {};
        let relu = |x: &mut cnngpu::gpu::GpuTensor| gpu.relu_forward(&other_gpu, x).unwrap();
        let write = |x: &mut cnngpu::gpu::GpuTensor| gpu.write(x, &other.data).unwrap();
        gpu.set_mirrors(false);
        let (none, packed) = step(&nothing);
        let (_, packed_relu) = step(&relu);
        let (_, packed_write) = step(&write);
        assert_eq!(none, 0, "{dtype:?}: mirrors off");
        gpu.set_mirrors(true);
        let (first, asked) = step(&nothing);
        let (then, mirrored) = step(&nothing);
        assert_eq!((first, then), (0, 1), "{dtype:?}: asked, then taken");
        assert_eq!(
            asked, packed,
            "{dtype:?}: packed while the mirror was unfilled"
        );
        assert_eq!(
            mirrored, packed,
            "{dtype:?}: the mirror holds x as packing stores it"
        );
        let (after_relu, fresh) = step(&relu);
        assert_eq!(
            after_relu, 0,
            "{dtype:?}: x written by a launch after the pool"
        );
        assert_eq!(fresh, packed_relu, "{dtype:?}: the gradient read relu's x");
        let (after_write, fresh) = step(&write);
        assert_eq!(
            after_write, 0,
            "{dtype:?}: x written through the queue after the pool"
        );
        assert_eq!(
            fresh, packed_write,
            "{dtype:?}: the gradient read the written x"
        );
        assert_ne!(
            packed_relu, packed,
            "{dtype:?}: the writes change the gradient"
        );
    }
}

/// The recorder's write log (what a mirror is checked against) finds a write after a mark that
/// overlaps a range, ignores one before the mark or elsewhere, and counts writes it has
/// forgotten (past its 4,096 most recent) as overlapping.
#[test]
fn the_write_log_finds_later_overlapping_writes() {
    let Some(gpu) = common::gpu() else { return };
    let r = Recorder::new();
    let buffer = || {
        gpu.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 256,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    };
    let (a, b) = (buffer(), buffer());
    r.log_write(&a, 0, 64);
    let mark = r.write_mark();
    assert!(!r.written_since(mark, &a, 0, 256), "nothing after the mark");
    r.log_write(&a, 64, 128);
    r.log_write(&b, 0, 256);
    assert!(
        !r.written_since(mark, &a, 0, 64),
        "only the write before the mark"
    );
    assert!(r.written_since(mark, &a, 100, 120));
    assert!(
        !r.written_since(mark, &a, 128, 256),
        "a write beside the range"
    );
    assert!(r.written_since(mark, &b, 0, 4));
    for _ in 0..4096 {
        r.log_write(&b, 0, 4);
    }
    assert!(
        r.written_since(mark, &a, 128, 256),
        "forgotten writes count as overlapping"
    );
}
