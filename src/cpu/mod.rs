//! `CpuBackend`: the reference implementation of every op pass — plain loops, computed in f64
//! and stored as f32 (or rounded to f16 for F16 tensors, as GPU storage would). It is the oracle
//! of the parity tests and the slow `--adapter cpu` backend.

pub mod activation;
pub mod batch_norm;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dropout;
pub mod linear;
pub mod lrn;
pub mod pixel_loss;
pub mod pool2d;
pub mod sgd;
pub mod softmax_cross_entropy;

use crate::error::{Error, Result};
use crate::ops::*;
use crate::tensor::{round_to_f16, DType, HostTensor, Shape};
use num_traits::Float;

/// The reference backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

/// A tensor in host memory: floats (F32, or F16 values kept rounded) or integers.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor {
    pub shape: Shape,
    pub dtype: DType,
    pub floats: Vec<f32>,
    pub ints: Vec<u32>,
}

impl CpuTensor {
    fn f64s(&self) -> Vec<f64> {
        self.floats.iter().map(|&v| v as f64).collect()
    }

    /// Stores results, rounding to f16 when this tensor is F16.
    fn store<F: Float>(&mut self, values: &[F], what: &str) -> Result<()> {
        if values.len() != self.floats.len() {
            return Err(Error::invalid(
                what,
                format!(
                    "output holds {} values, the op produced {}",
                    self.floats.len(),
                    values.len()
                ),
            ));
        }
        for (d, &v) in self.floats.iter_mut().zip(values) {
            *d = v.to_f32().unwrap_or(f32::NAN);
        }
        if self.dtype == DType::F16 {
            round_to_f16(&mut self.floats);
        }
        Ok(())
    }
}

/// Values a tensor holds.
fn len(t: &CpuTensor) -> usize {
    if t.dtype == DType::U32 {
        t.ints.len()
    } else {
        t.floats.len()
    }
}

/// Checks that a tensor has the element count an op expects of it.
fn expect(t: &CpuTensor, shape: &Shape, what: &str) -> Result<()> {
    expect_len(what, len(t), shape)
}

/// Checks a pass's arguments against its op's signature ([`OpSpec::signature`]): the op's
/// parameters and element counts. Returns the inputs as the pass is to use them (unused
/// optional ones `None`).
fn check<'a>(
    op: &dyn OpSpec,
    pass: Pass,
    inputs: &[Option<&'a CpuTensor>],
    outputs: &[&CpuTensor],
) -> Result<Vec<Option<&'a CpuTensor>>> {
    op.validate()?;
    op.signature(pass).check(op.stem(), inputs, outputs, len)
}

/// out[c] = sum over n, p of v[(n*C + c)*P + p], in order.
pub(crate) fn channel_sum<F: Float>(
    v: &[F],
    batch: usize,
    channels: usize,
    pixels: usize,
) -> Vec<F> {
    let mut out = vec![F::zero(); channels];
    for n in 0..batch {
        for (c, o) in out.iter_mut().enumerate() {
            let start = (n * channels + c) * pixels;
            *o = v[start..start + pixels].iter().fold(*o, |a, &x| a + x);
        }
    }
    out
}

impl Backend for CpuBackend {
    type Tensor = CpuTensor;

    fn describe(&self) -> String {
        "cpu reference (f64 arithmetic)".into()
    }

    fn upload(&self, host: &HostTensor, dtype: DType) -> Result<CpuTensor> {
        let mut t = self.full(host.shape.clone(), dtype, 0.0)?;
        t.store(&host.data, "upload")?;
        Ok(t)
    }

    fn upload_u32(&self, shape: Shape, data: &[u32]) -> Result<CpuTensor> {
        if shape.numel() != data.len() {
            return Err(Error::invalid(
                "upload_u32",
                format!("shape {shape} vs {} values", data.len()),
            ));
        }
        Ok(CpuTensor {
            shape,
            dtype: DType::U32,
            floats: vec![],
            ints: data.to_vec(),
        })
    }

    fn full(&self, shape: Shape, dtype: DType, value: f32) -> Result<CpuTensor> {
        let n = shape.numel();
        Ok(match dtype {
            DType::U32 => CpuTensor {
                shape,
                dtype,
                floats: vec![],
                ints: vec![value as u32; n],
            },
            _ => {
                let mut t = CpuTensor {
                    shape,
                    dtype,
                    floats: vec![value; n],
                    ints: vec![],
                };
                if dtype == DType::F16 {
                    round_to_f16(&mut t.floats);
                }
                t
            }
        })
    }

    fn download(&self, t: &CpuTensor) -> Result<HostTensor> {
        HostTensor::new(t.shape.clone(), t.floats.clone())
    }

    fn download_u32(&self, t: &CpuTensor) -> Result<Vec<u32>> {
        Ok(t.ints.clone())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn submit(&self) -> Result<()> {
        Ok(())
    }

    fn write(&self, t: &mut CpuTensor, data: &[f32]) -> Result<()> {
        t.store(data, "write")
    }

    fn write_u32(&self, t: &mut CpuTensor, data: &[u32]) -> Result<()> {
        if t.ints.len() != data.len() {
            return Err(Error::invalid(
                "write_u32",
                format!("tensor holds {}, got {}", t.ints.len(), data.len()),
            ));
        }
        t.ints.copy_from_slice(data);
        Ok(())
    }

    fn zero(&self, t: &mut CpuTensor) -> Result<()> {
        t.floats.iter_mut().for_each(|v| *v = 0.0);
        t.ints.iter_mut().for_each(|v| *v = 0);
        Ok(())
    }

    fn loss_accumulate(&self, losses: &CpuTensor, totals: &mut CpuTensor) -> Result<()> {
        expect(totals, &Shape::new(&[2]), "loss totals")?;
        // In the GPU's order: chunks summed in order, then the chunk sums.
        let sum = losses
            .floats
            .chunks(LOSS_CHUNK)
            .map(|c| c.iter().fold(0f32, |a, &v| a + v))
            .fold(0f32, |a, v| a + v);
        totals.floats[0] += sum;
        totals.floats[1] += losses.floats.len() as f32;
        Ok(())
    }

    fn grad_check_finite(&self, grads: &[&CpuTensor], scale_state: &mut CpuTensor) -> Result<()> {
        expect(scale_state, &Shape::new(&[4]), "loss scale state")?;
        if grads.iter().flat_map(|g| &g.floats).any(|v| !v.is_finite()) {
            scale_state.ints[2] = 1;
        }
        Ok(())
    }

    fn loss_scale_update(&self, p: &LossScaleParams, scale_state: &mut CpuTensor) -> Result<()> {
        expect(scale_state, &Shape::new(&[4]), "loss scale state")?;
        crate::ops::loss_scale::update(p, &mut scale_state.ints);
        Ok(())
    }

    fn conv2d_forward(
        &self,
        p: &Conv2dParams,
        x: &CpuTensor,
        w: &CpuTensor,
        b: Option<&CpuTensor>,
        y: &mut CpuTensor,
    ) -> Result<()> {
        let bias = check(p, Pass::Forward, &[Some(x), Some(w), b], &[y])?[2].map(|b| b.f64s());
        y.store(
            &conv2d::forward(p, &x.f64s(), &w.f64s(), bias.as_deref()),
            "conv2d y",
        )
    }

    fn conv2d_backward_input(
        &self,
        p: &Conv2dParams,
        dy: &CpuTensor,
        w: &CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy), Some(w)], &[dx])?;
        dx.store(
            &conv2d::backward_input(p, &dy.f64s(), &w.f64s()),
            "conv2d dx",
        )
    }

    fn conv2d_backward_weight(
        &self,
        p: &Conv2dParams,
        dy: &CpuTensor,
        x: &CpuTensor,
        dw: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
        dw.store(
            &conv2d::backward_weight(p, &dy.f64s(), &x.f64s()),
            "conv2d dw",
        )
    }

    fn conv2d_backward_bias(
        &self,
        p: &Conv2dParams,
        dy: &CpuTensor,
        db: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardBias, &[Some(dy)], &[db])?;
        db.store(&conv2d::backward_bias(p, &dy.f64s()), "conv2d db")
    }

    fn conv_transpose2d_forward(
        &self,
        p: &ConvTranspose2dParams,
        x: &CpuTensor,
        w: &CpuTensor,
        b: Option<&CpuTensor>,
        y: &mut CpuTensor,
    ) -> Result<()> {
        let bias = check(p, Pass::Forward, &[Some(x), Some(w), b], &[y])?[2].map(|b| b.f64s());
        y.store(
            &conv_transpose2d::forward(p, &x.f64s(), &w.f64s(), bias.as_deref()),
            "conv_transpose2d y",
        )
    }

    fn conv_transpose2d_backward_input(
        &self,
        p: &ConvTranspose2dParams,
        dy: &CpuTensor,
        w: &CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy), Some(w)], &[dx])?;
        dx.store(
            &conv_transpose2d::backward_input(p, &dy.f64s(), &w.f64s()),
            "conv_transpose2d dx",
        )
    }

    fn conv_transpose2d_backward_weight(
        &self,
        p: &ConvTranspose2dParams,
        dy: &CpuTensor,
        x: &CpuTensor,
        dw: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
        dw.store(
            &conv_transpose2d::backward_weight(p, &dy.f64s(), &x.f64s()),
            "conv_transpose2d dw",
        )
    }

    fn conv_transpose2d_backward_bias(
        &self,
        p: &ConvTranspose2dParams,
        dy: &CpuTensor,
        db: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardBias, &[Some(dy)], &[db])?;
        db.store(
            &conv_transpose2d::backward_bias(p, &dy.f64s()),
            "conv_transpose2d db",
        )
    }

    fn max_pool2d_forward(
        &self,
        p: &Pool2dParams,
        x: &CpuTensor,
        y: &mut CpuTensor,
        indices: &mut CpuTensor,
    ) -> Result<()> {
        check(&MaxPool2d(*p), Pass::Forward, &[Some(x)], &[y, indices])?;
        let (v, idx) = pool2d::max_forward(p, &x.f64s());
        indices.ints = idx;
        y.store(&v, "max_pool2d y")
    }

    fn max_pool2d_backward_input(
        &self,
        p: &Pool2dParams,
        dy: &CpuTensor,
        indices: &CpuTensor,
        act_out: Option<&CpuTensor>,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        let given = [Some(dy), Some(indices), act_out];
        let act_out = check(&MaxPool2d(*p), Pass::BackwardInput, &given, &[dx])?[2];
        let plane = (p.in_h * p.in_w) as u32;
        if let Some(bad) = indices.ints.iter().find(|&&i| i >= plane) {
            return Err(Error::invalid(
                "max_pool2d indices",
                format!("{bad} is outside the {plane}-element plane"),
            ));
        }
        let d = pool2d::max_backward_input(p, &dy.f64s(), &indices.ints);
        dx.store(
            &activation::fold_backward(p.act, act_out, d),
            "max_pool2d dx",
        )
    }

    fn avg_pool2d_forward(&self, p: &Pool2dParams, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(&AvgPool2d(*p), Pass::Forward, &[Some(x)], &[y])?;
        y.store(&pool2d::avg_forward(p, &x.f64s()), "avg_pool2d y")
    }

    fn avg_pool2d_backward_input(
        &self,
        p: &Pool2dParams,
        dy: &CpuTensor,
        act_out: Option<&CpuTensor>,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        let act_out = check(
            &AvgPool2d(*p),
            Pass::BackwardInput,
            &[Some(dy), act_out],
            &[dx],
        )?[1];
        let d = pool2d::avg_backward_input(p, &dy.f64s());
        dx.store(
            &activation::fold_backward(p.act, act_out, d),
            "avg_pool2d dx",
        )
    }

    fn lrn_forward(&self, p: &LrnParams, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(p, Pass::Forward, &[Some(x)], &[y])?;
        y.store(&lrn::forward(p, &x.f64s()), "lrn y")
    }

    fn lrn_backward_input(
        &self,
        p: &LrnParams,
        x: &CpuTensor,
        dy: &CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(x), Some(dy)], &[dx])?;
        let d = lrn::backward_input(p, &x.f64s(), &dy.f64s());
        dx.store(&activation::fold_backward(p.act, Some(x), d), "lrn dx")
    }

    fn linear_forward(
        &self,
        p: &LinearParams,
        x: &CpuTensor,
        w: &CpuTensor,
        b: Option<&CpuTensor>,
        y: &mut CpuTensor,
    ) -> Result<()> {
        let bias = check(p, Pass::Forward, &[Some(x), Some(w), b], &[y])?[2].map(|b| b.f64s());
        y.store(
            &linear::forward(p, &x.f64s(), &w.f64s(), bias.as_deref()),
            "linear y",
        )
    }

    fn linear_backward_input(
        &self,
        p: &LinearParams,
        dy: &CpuTensor,
        w: &CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy), Some(w)], &[dx])?;
        dx.store(
            &linear::backward_input(p, &dy.f64s(), &w.f64s()),
            "linear dx",
        )
    }

    fn linear_backward_weight(
        &self,
        p: &LinearParams,
        dy: &CpuTensor,
        x: &CpuTensor,
        dw: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
        dw.store(
            &linear::backward_weight(p, &dy.f64s(), &x.f64s()),
            "linear dw",
        )
    }

    fn linear_backward_bias(
        &self,
        p: &LinearParams,
        dy: &CpuTensor,
        db: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardBias, &[Some(dy)], &[db])?;
        db.store(&linear::backward_bias(p, &dy.f64s()), "linear db")
    }

    fn add_forward(&self, a: &CpuTensor, b: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(
            &Add(a.shape.clone()),
            Pass::Forward,
            &[Some(a), Some(b)],
            &[y],
        )?;
        let sum: Vec<f64> = a.f64s().iter().zip(b.f64s()).map(|(x, y)| x + y).collect();
        y.store(&sum, "add y")
    }

    fn accumulate(&self, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(
            &Add(x.shape.clone()),
            Pass::Update,
            &[Some(x), Some(y)],
            &[y],
        )?;
        let sum: Vec<f64> = y.f64s().iter().zip(x.f64s()).map(|(a, b)| a + b).collect();
        y.store(&sum, "accumulate y")
    }

    fn copy(&self, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(&Add(x.shape.clone()), Pass::BackwardInput, &[Some(x)], &[y])?;
        y.store(&x.f64s(), "copy y")
    }

    fn concat_forward(&self, p: &ConcatParams, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(p, Pass::Forward, &[Some(x), Some(y)], &[y])?;
        let (per_input, per_output) = (p.channels * p.h * p.w, p.total * p.h * p.w);
        let at = p.offset * p.h * p.w;
        let mut out = y.f64s();
        for (n, image) in x.f64s().chunks(per_input).enumerate() {
            out[n * per_output + at..][..per_input].copy_from_slice(image);
        }
        y.store(&out, "concat y")
    }

    fn concat_backward_input(
        &self,
        p: &ConcatParams,
        dy: &CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy)], &[dx])?;
        let (per_input, per_output) = (p.channels * p.h * p.w, p.total * p.h * p.w);
        let at = p.offset * p.h * p.w;
        let grads: Vec<f64> = dy
            .f64s()
            .chunks(per_output)
            .flat_map(|image| image[at..at + per_input].to_vec())
            .collect();
        dx.store(&grads, "concat dx")
    }

    fn batch_norm_forward(
        &self,
        p: &BatchNormParams,
        x: &CpuTensor,
        weight: &CpuTensor,
        bias: &CpuTensor,
        state: &mut CpuTensor,
        y: &mut CpuTensor,
    ) -> Result<()> {
        use crate::ops::batch_norm::*;
        check(
            p,
            Pass::Forward,
            &[Some(x), Some(weight), Some(bias), Some(&*state)],
            &[y, state],
        )?;
        let c = p.channels;
        let mut st = state.f64s();
        let (mean, var) = if p.train {
            let (mean, var) = batch_norm::statistics(p, &x.f64s());
            let (running, _) = st.split_at_mut(2 * c);
            let (rm, rv) = running.split_at_mut(c);
            batch_norm::update_running(p, &mean, &var, rm, rv);
            for ch in 0..c {
                st[BATCH_MEAN * c + ch] = mean[ch];
                st[BATCH_INVSTD * c + ch] = 1.0 / (var[ch] + p.eps as f64).sqrt();
            }
            (mean, var)
        } else {
            let row = |r: usize| st[r * c..(r + 1) * c].to_vec();
            (row(RUNNING_MEAN), row(RUNNING_VAR))
        };
        let out = batch_norm::normalise(p, &x.f64s(), &mean, &var, &weight.f64s(), &bias.f64s());
        state.store(&st, "batch_norm state")?;
        y.store(&out, "batch_norm y")
    }

    fn batch_norm_backward(
        &self,
        p: &BatchNormParams,
        x: &CpuTensor,
        dy: &CpuTensor,
        weight: &CpuTensor,
        state: &mut CpuTensor,
        dweight: &mut CpuTensor,
        dbias: &mut CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        use crate::ops::batch_norm::*;
        let given = [Some(x), Some(dy), Some(weight), Some(&*state)];
        check(p, Pass::BackwardInput, &given, &[dx, dweight, dbias, state])?;
        let (gx, gw, gb) = batch_norm::backward(p, &x.f64s(), &dy.f64s(), &weight.f64s());
        let c = p.channels;
        let mut st = state.f64s();
        st[SUM_DY * c..(SUM_DY + 1) * c].copy_from_slice(&gb);
        st[SUM_DY_XHAT * c..(SUM_DY_XHAT + 1) * c].copy_from_slice(&gw);
        state.store(&st, "batch_norm state")?;
        dweight.store(&gw, "batch_norm dweight")?;
        dbias.store(&gb, "batch_norm dbias")?;
        dx.store(&gx, "batch_norm dx")
    }

    fn relu_forward(&self, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(&Relu(x.shape.clone()), Pass::Forward, &[Some(x)], &[y])?;
        y.store(&activation::relu_forward(&x.f64s()), "relu y")
    }

    fn relu_backward_input(&self, x: &CpuTensor, dy: &CpuTensor, dx: &mut CpuTensor) -> Result<()> {
        check(
            &Relu(x.shape.clone()),
            Pass::BackwardInput,
            &[Some(x), Some(dy)],
            &[dx],
        )?;
        dx.store(
            &activation::relu_backward_input(&x.f64s(), &dy.f64s()),
            "relu dx",
        )
    }

    fn tanh_forward(&self, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(&Tanh(x.shape.clone()), Pass::Forward, &[Some(x)], &[y])?;
        y.store(&activation::tanh_forward(&x.f64s()), "tanh y")
    }

    fn tanh_backward_input(&self, y: &CpuTensor, dy: &CpuTensor, dx: &mut CpuTensor) -> Result<()> {
        check(
            &Tanh(y.shape.clone()),
            Pass::BackwardInput,
            &[Some(y), Some(dy)],
            &[dx],
        )?;
        dx.store(
            &activation::tanh_backward_input(&y.f64s(), &dy.f64s()),
            "tanh dx",
        )
    }

    fn dropout_forward(&self, p: &DropoutParams, x: &CpuTensor, y: &mut CpuTensor) -> Result<()> {
        check(p, Pass::Forward, &[Some(x)], &[y])?;
        y.store(&dropout::forward(p, &x.f64s()), "dropout y")
    }

    fn dropout_backward_input(
        &self,
        p: &DropoutParams,
        dy: &CpuTensor,
        dx: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy)], &[dx])?;
        dx.store(&dropout::backward_input(p, &dy.f64s()), "dropout dx")
    }

    fn softmax_cross_entropy_forward(
        &self,
        p: &SoftmaxCrossEntropyParams,
        logits: &CpuTensor,
        labels: &CpuTensor,
        losses: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::Forward, &[Some(logits), Some(labels)], &[losses])?;
        losses.store(
            &softmax_cross_entropy::forward(p, &logits.f64s(), &labels.ints),
            "losses",
        )
    }

    fn softmax_cross_entropy_backward_input(
        &self,
        p: &SoftmaxCrossEntropyParams,
        logits: &CpuTensor,
        labels: &CpuTensor,
        scale_state: Option<&CpuTensor>,
        dlogits: &mut CpuTensor,
    ) -> Result<()> {
        check(
            p,
            Pass::BackwardInput,
            &[Some(logits), Some(labels), None],
            &[dlogits],
        )?;
        let mut p = *p;
        if let Some(s) = scale_state {
            p.grad_scale *= f32::from_bits(s.ints[0]);
        }
        dlogits.store(
            &softmax_cross_entropy::backward_input(&p, &logits.f64s(), &labels.ints),
            "dlogits",
        )
    }

    fn topk_accumulate(
        &self,
        p: &TopkParams,
        logits: &CpuTensor,
        labels: &CpuTensor,
        counts: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::Update, &[Some(logits), Some(labels)], &[counts])?;
        for (row, &label) in logits.floats.chunks(p.classes).zip(&labels.ints) {
            let rank = TopkParams::rank(row, label);
            for (count, &k) in counts.ints.iter_mut().zip(&p.ks) {
                *count += (rank < k) as u32;
            }
        }
        Ok(())
    }

    fn pixel_cross_entropy_forward(
        &self,
        p: &PixelCrossEntropyParams,
        logits: &CpuTensor,
        labels: &CpuTensor,
        losses: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::Forward, &[Some(logits), Some(labels)], &[losses])?;
        losses.store(
            &pixel_loss::forward(p, &logits.f64s(), &labels.ints),
            "pixel losses",
        )
    }

    fn pixel_cross_entropy_backward_input(
        &self,
        p: &PixelCrossEntropyParams,
        logits: &CpuTensor,
        labels: &CpuTensor,
        counted: &CpuTensor,
        scale_state: Option<&CpuTensor>,
        dlogits: &mut CpuTensor,
    ) -> Result<()> {
        check(
            p,
            Pass::BackwardInput,
            &[Some(logits), Some(labels), Some(counted), None],
            &[dlogits],
        )?;
        let mut p = *p;
        if let Some(s) = scale_state {
            p.grad_scale *= f32::from_bits(s.ints[0]);
        }
        dlogits.store(
            &pixel_loss::backward_input(&p, &logits.f64s(), &labels.ints, counted.ints[0]),
            "pixel dlogits",
        )
    }

    fn pixel_metrics_accumulate(
        &self,
        p: &PixelMetricsParams,
        logits: &CpuTensor,
        labels: &CpuTensor,
        counts: &mut CpuTensor,
    ) -> Result<()> {
        check(p, Pass::Update, &[Some(logits), Some(labels)], &[counts])?;
        pixel_loss::metrics_accumulate(p, &logits.floats, &labels.ints, &mut counts.ints);
        Ok(())
    }

    fn sgd_update(
        &self,
        p: &SgdParams,
        grads: &[&CpuTensor],
        w: &mut [&mut CpuTensor],
        velocity: &mut [&mut CpuTensor],
        mut w_copy: Option<&mut [&mut CpuTensor]>,
        scale_state: Option<&CpuTensor>,
    ) -> Result<()> {
        let copies = w_copy.as_ref().map_or(grads.len(), |c| c.len());
        expect_lists("sgd", &[grads.len(), w.len(), velocity.len(), copies])?;
        for (i, grad) in grads.iter().enumerate() {
            let shape = Shape::new(&[grad.floats.len()]);
            expect(w[i], &shape, "sgd w")?;
            expect(velocity[i], &shape, "sgd velocity")?;
            if let Some(copy) = w_copy.as_ref().map(|c| &*c[i]) {
                expect(copy, &shape, "sgd w_copy")?;
            }
            if w[i].dtype != DType::F32 || velocity[i].dtype != DType::F32 {
                return Err(Error::invalid(
                    "sgd master weights",
                    "w and velocity must be F32",
                ));
            }
        }
        let mut p = *p;
        if let Some(s) = scale_state {
            if s.ints[2] != 0 {
                return Ok(()); // overflow: the step is skipped
            }
            p.grad_scale /= f32::from_bits(s.ints[0]);
        }
        for (i, grad) in grads.iter().enumerate() {
            sgd::update(&p, &grad.floats, &mut w[i].floats, &mut velocity[i].floats);
            if let Some(copy) = w_copy.as_mut().map(|c| &mut *c[i]) {
                let values = w[i].floats.clone();
                copy.store(&values, "sgd w_copy")?;
            }
        }
        Ok(())
    }
}
