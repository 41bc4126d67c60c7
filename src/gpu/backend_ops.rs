//! The [`Backend`](crate::ops::Backend) trait on [`GpuBackend`]: validate shapes and types,
//! then hand each pass to its launcher in [`super::kernels`] (which only records).

use super::backend_check::{check, check_weight_bias, expect, expect_dtype};
use super::buffers::{arena_spans, span_tensor, GpuTensor, View};
use super::kernels;
use super::shaders::Storage;
use super::GpuBackend;
use crate::error::{Error, Result};
use crate::ops::*;
use crate::tensor::{arena_layout, decode, encode, DType, HostTensor, Shape};

impl crate::ops::Backend for GpuBackend {
    type Tensor = GpuTensor;

    fn describe(&self) -> String {
        let note = self.ctx.threads_note().map(|n| format!("; {n}"));
        format!("{}{}", self.ctx.describe(), note.unwrap_or_default())
    }

    fn upload(&self, host: &HostTensor, dtype: DType) -> Result<GpuTensor> {
        self.create(host.shape.clone(), dtype, &encode(&host.data, dtype))
    }

    fn upload_u32(&self, shape: Shape, data: &[u32]) -> Result<GpuTensor> {
        if shape.numel() != data.len() {
            return Err(Error::invalid(
                "upload_u32",
                format!("shape {shape} vs {} values", data.len()),
            ));
        }
        let mut bytes = bytemuck::cast_slice(data).to_vec();
        bytes.resize(bytes.len().max(4), 0);
        self.create(shape, DType::U32, &bytes)
    }

    fn full(&self, shape: Shape, dtype: DType, value: f32) -> Result<GpuTensor> {
        let n = shape.numel();
        let bytes = match dtype {
            DType::U32 => {
                let mut b = bytemuck::cast_slice(&vec![value as u32; n]).to_vec();
                b.resize(b.len().max(4), 0);
                b
            }
            _ => {
                let mut b = encode(&vec![value; n], dtype);
                b.resize(b.len().max(4), 0);
                b
            }
        };
        self.create(shape, dtype, &bytes)
    }

    fn arena(
        &self,
        shapes: &[Shape],
        dtype: DType,
        values: Option<&[HostTensor]>,
    ) -> Result<Vec<GpuTensor>> {
        if dtype == DType::U32 {
            return Err(Error::invalid("arena", "parameters are float tensors"));
        }
        if let Some(v) = values {
            if v.len() != shapes.len() || v.iter().zip(shapes).any(|(h, s)| h.shape != *s) {
                return Err(Error::invalid("arena", "one value of its shape per tensor"));
            }
        }
        let e = dtype.size();
        let numel = |r: std::ops::Range<usize>| shapes[r].iter().map(Shape::numel);
        let mut out = Vec::with_capacity(shapes.len());
        let mut first = 0;
        while first < shapes.len() {
            // One buffer takes tensors while it stays within the adapter's largest buffer.
            let mut end = first + 1;
            while end < shapes.len()
                && (arena_layout(numel(first..end + 1)).1 * e) as u64
                    <= self.ctx.limits.max_buffer_size
            {
                end += 1;
            }
            let (starts, len) = arena_layout(numel(first..end));
            let mut bytes = vec![0u8; (len * e).next_multiple_of(16)];
            if let Some(v) = values {
                for (h, &s) in v[first..end].iter().zip(&starts) {
                    let b = encode(&h.data, dtype);
                    bytes[s * e..s * e + b.len()].copy_from_slice(&b);
                }
            }
            let block = self.create(Shape::new(&[len]), dtype, &bytes)?;
            for (shape, &s) in shapes[first..end].iter().zip(&starts) {
                out.push(GpuTensor {
                    buffer: block.buffer.clone(),
                    offset: (s * e) as u64,
                    size: (shape.numel() * e).next_multiple_of(16) as u64,
                    shape: shape.clone(),
                    dtype,
                });
            }
            first = end;
        }
        Ok(out)
    }

    fn download(&self, t: &GpuTensor) -> Result<HostTensor> {
        let bytes = self.read_bytes(t)?;
        HostTensor::new(t.shape.clone(), decode(&bytes, t.dtype, t.shape.numel()))
    }

    fn download_u32(&self, t: &GpuTensor) -> Result<Vec<u32>> {
        expect_dtype(t, DType::U32, "download_u32")?;
        let bytes = self.read_bytes(t)?;
        Ok(bytemuck::cast_slice::<u8, u32>(&bytes)[..t.shape.numel()].to_vec())
    }

    fn read_together(
        &self,
        floats: &[&GpuTensor],
        ints: &[&GpuTensor],
    ) -> Result<(Vec<Vec<f32>>, Vec<Vec<u32>>)> {
        for t in ints {
            expect_dtype(t, DType::U32, "read_together")?;
        }
        if let Some(t) = floats.iter().find(|t| t.dtype == DType::U32) {
            return Err(Error::invalid(
                "read_together",
                format!("{} is a u32 tensor, not a float one", t.shape),
            ));
        }
        let all: Vec<&GpuTensor> = floats.iter().chain(ints).copied().collect();
        let mut bytes = self.read_many(&all)?.into_iter();
        let f = floats
            .iter()
            .zip(bytes.by_ref())
            .map(|(t, b)| decode(&b, t.dtype, t.shape.numel()))
            .collect();
        let i = ints
            .iter()
            .zip(bytes)
            .map(|(t, b)| bytemuck::cast_slice::<u8, u32>(&b)[..t.shape.numel()].to_vec())
            .collect();
        Ok((f, i))
    }

    fn sync(&self) -> Result<()> {
        self.recorder.submit(&self.ctx, "sync")
    }

    fn submit(&self) -> Result<()> {
        self.recorder.flush(&self.ctx, "submit")
    }

    fn write(&self, t: &mut GpuTensor, data: &[f32]) -> Result<()> {
        if data.len() != t.shape.numel() || t.dtype == DType::U32 {
            return Err(Error::invalid(
                "write",
                format!(
                    "{} {} tensor, {} values",
                    t.dtype.name(),
                    t.shape,
                    data.len()
                ),
            ));
        }
        // Work recorded so far must see the old contents: start it before the write lands.
        self.recorder.flush(&self.ctx, "write")?;
        let bytes = encode(data, t.dtype);
        self.recorder
            .queue_write(&self.ctx, (&t.buffer, t.offset), &bytes);
        Ok(())
    }

    fn write_u32(&self, t: &mut GpuTensor, data: &[u32]) -> Result<()> {
        if data.len() != t.shape.numel() || t.dtype != DType::U32 {
            return Err(Error::invalid(
                "write_u32",
                format!(
                    "{} {} tensor, {} values",
                    t.dtype.name(),
                    t.shape,
                    data.len()
                ),
            ));
        }
        self.recorder.flush(&self.ctx, "write")?;
        let bytes = bytemuck::cast_slice(data);
        self.recorder
            .queue_write(&self.ctx, (&t.buffer, t.offset), bytes);
        Ok(())
    }

    fn zero(&self, t: &mut GpuTensor) -> Result<()> {
        if self.recorder.has_pending() {
            // Recorded work must see the old contents: clear in order, after it.
            self.clear(t);
        } else {
            // Nothing is pending (after a read-back): a queue write lands before the next
            // submit, so the next step's encoder needs no clear and keeps one compute pass.
            let zeros = vec![0u8; t.size as usize];
            self.recorder
                .queue_write(&self.ctx, (&t.buffer, t.offset), &zeros);
        }
        Ok(())
    }

    fn planning(&self, on: bool) -> bool {
        self.recorder.set_planning(on);
        true
    }

    fn per_step(&self, step: u32, lr: f32) -> Result<()> {
        self.set_per_step(Some(step), Some(lr))
    }

    fn prefix(&self, t: &GpuTensor, shape: Shape) -> Option<GpuTensor> {
        let bytes = (shape.numel() * t.dtype.size()) as u64;
        // Padded as `create` pads: whole 16-byte words.
        let size = bytes.max(1).next_multiple_of(16);
        (shape.numel() <= t.shape.numel() && size <= t.size).then(|| GpuTensor {
            buffer: t.buffer.clone(),
            offset: t.offset,
            size,
            shape,
            dtype: t.dtype,
        })
    }

    fn scope(&self, layer: &str, pass: &'static str) {
        self.recorder.set_scope(layer, pass);
    }

    fn loss_accumulate(&self, losses: &GpuTensor, totals: &mut GpuTensor) -> Result<()> {
        expect_dtype(losses, DType::F32, "losses")?;
        expect_dtype(totals, DType::F32, "loss totals")?;
        expect(totals, &Shape::new(&[2]), "loss totals")?;
        let len = losses.shape.numel();
        let u = kernels::LossSumUniform {
            len: len as u32,
            chunk: LOSS_CHUNK as u32,
            ..Default::default()
        };
        // Chunk sums first where the losses are more than one chunk (see the shader).
        let chunks = len.div_ceil(LOSS_CHUNK);
        if chunks > 65_535 {
            // The chunk sums are added in one loop, which llvmpipe stops at 65,535 iterations.
            return Err(Error::invalid(
                "losses",
                format!(
                    "{len} losses in one batch; at most {} are summed",
                    65_535 * LOSS_CHUNK
                ),
            ));
        }
        let scratch = (chunks > 1)
            .then(|| self.scratch(super::backend::Scratch::LossSums, 4 * chunks as u64));
        let partials = scratch.as_deref().map_or(self.dummy(), View::buffer);
        let views = [View::whole(losses), partials, View::whole(totals)];
        if chunks > 1 {
            let wg = kernels::flat_workgroups(chunks);
            self.dispatch_with(
                "loss_accumulate",
                Storage::F32,
                &[("MODE", 0)],
                &u,
                &views,
                wg,
            )?;
        }
        self.dispatch_with(
            "loss_accumulate",
            Storage::F32,
            &[("MODE", 1)],
            &u,
            &views,
            1,
        )
    }

    fn grad_check_finite(&self, grads: &[&GpuTensor], scale_state: &mut GpuTensor) -> Result<()> {
        expect(scale_state, &Shape::new(&[4]), "loss scale state")?;
        expect_dtype(scale_state, DType::U32, "loss scale state")?;
        if grads.is_empty() {
            return Ok(());
        }
        let storage = self.storage_of("grad_check_finite", grads)?;
        // An arena's tensors are checked as one; what fits one binding goes six to a
        // launch, a larger one in binding-sized chunks, a launch each.
        let spans: Vec<GpuTensor> = arena_spans(&[grads])
            .into_iter()
            .map(|s| span_tensor(&grads[s]))
            .collect();
        let mut pieces: Vec<(View<'_>, usize)> = Vec::new();
        for g in &spans {
            let e = g.dtype.size() as u64;
            for c in self.chunks("grad_check_finite", g.shape.numel(), &[e])? {
                pieces.push((View::items(g, c, e), c.count));
            }
        }
        for group in pieces.chunks(6) {
            // [len0 .. len5, total, pad] in vec4s (a tensor's last one runs into its padding).
            let mut u = [0u32; 8];
            for (k, (_, n)) in group.iter().enumerate() {
                u[k] = n.div_ceil(4) as u32;
            }
            let total: usize = group.iter().map(|(_, n)| n.div_ceil(4)).sum();
            u[6] = total as u32;
            let mut bound: Vec<View<'_>> = group.iter().map(|(v, _)| *v).collect();
            bound.resize(6, self.dummy());
            bound.push(View::whole(scale_state));
            self.dispatch(
                "grad_check_finite",
                storage,
                &u,
                &bound,
                kernels::flat_workgroups(total),
            )?;
        }
        Ok(())
    }

    fn loss_scale_update(&self, p: &LossScaleParams, scale_state: &mut GpuTensor) -> Result<()> {
        expect(scale_state, &Shape::new(&[4]), "loss scale state")?;
        expect_dtype(scale_state, DType::U32, "loss scale state")?;
        self.dispatch(
            "loss_scale_update",
            Storage::F32,
            &p.uniform(),
            &[View::whole(scale_state)],
            1,
        )
    }

    fn conv2d_forward(
        &self,
        p: &Conv2dParams,
        x: &GpuTensor,
        w: &GpuTensor,
        b: Option<&GpuTensor>,
        y: &mut GpuTensor,
    ) -> Result<()> {
        let used = check(p, Pass::Forward, &[Some(x), Some(w), b], &[y])?;
        kernels::conv2d::encode_forward(self, p, x, w, used[2], y)
    }

    fn conv2d_backward_input(
        &self,
        p: &Conv2dParams,
        dy: &GpuTensor,
        w: &GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy), Some(w)], &[dx])?;
        kernels::conv2d::encode_backward_input(self, p, dy, w, dx)
    }

    fn conv2d_backward_weight(
        &self,
        p: &Conv2dParams,
        dy: &GpuTensor,
        x: &GpuTensor,
        dw: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
        kernels::conv2d::encode_backward_weight(self, p, dy, x, dw)
    }

    fn conv2d_backward_bias(
        &self,
        p: &Conv2dParams,
        dy: &GpuTensor,
        db: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardBias, &[Some(dy)], &[db])?;
        kernels::conv2d::encode_backward_bias(self, p, dy, db)
    }

    fn conv2d_backward_weight_bias(
        &self,
        p: &Conv2dParams,
        (dy, x): (&GpuTensor, &GpuTensor),
        dw: &mut GpuTensor,
        db: &mut GpuTensor,
        fold: Option<ActFold<'_, GpuTensor>>,
    ) -> Result<bool> {
        let fold = check_weight_bias(p, (dy, x), (dw, db), fold)?;
        kernels::conv2d::encode_backward_weight_bias(self, p, (dy, x), (dw, db), fold)
    }

    fn conv_transpose2d_forward(
        &self,
        p: &ConvTranspose2dParams,
        x: &GpuTensor,
        w: &GpuTensor,
        b: Option<&GpuTensor>,
        y: &mut GpuTensor,
    ) -> Result<()> {
        let used = check(p, Pass::Forward, &[Some(x), Some(w), b], &[y])?;
        kernels::conv_transpose2d::encode_forward(self, p, x, w, used[2], y)
    }

    fn conv_transpose2d_backward_input(
        &self,
        p: &ConvTranspose2dParams,
        dy: &GpuTensor,
        w: &GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy), Some(w)], &[dx])?;
        kernels::conv_transpose2d::encode_backward_input(self, p, dy, w, dx)
    }

    fn conv_transpose2d_backward_weight(
        &self,
        p: &ConvTranspose2dParams,
        dy: &GpuTensor,
        x: &GpuTensor,
        dw: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
        kernels::conv_transpose2d::encode_backward_weight(self, p, dy, x, dw)
    }

    fn conv_transpose2d_backward_bias(
        &self,
        p: &ConvTranspose2dParams,
        dy: &GpuTensor,
        db: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardBias, &[Some(dy)], &[db])?;
        kernels::conv_transpose2d::encode_backward_bias(self, p, dy, db)
    }

    fn max_pool2d_forward(
        &self,
        p: &Pool2dParams,
        x: &GpuTensor,
        y: &mut GpuTensor,
        indices: &mut GpuTensor,
    ) -> Result<()> {
        check(&MaxPool2d(*p), Pass::Forward, &[Some(x)], &[y, indices])?;
        kernels::pool2d::encode_max_forward(self, p, x, y, indices)
    }

    fn max_pool2d_backward_input(
        &self,
        p: &Pool2dParams,
        dy: &GpuTensor,
        indices: &GpuTensor,
        act_out: Option<&GpuTensor>,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        let given = [Some(dy), Some(indices), act_out];
        let used = check(&MaxPool2d(*p), Pass::BackwardInput, &given, &[dx])?;
        kernels::pool2d::encode_max_backward_input(self, p, dy, indices, used[2], dx)
    }

    fn avg_pool2d_forward(&self, p: &Pool2dParams, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(&AvgPool2d(*p), Pass::Forward, &[Some(x)], &[y])?;
        kernels::pool2d::encode_avg_forward(self, p, x, y)
    }

    fn avg_pool2d_backward_input(
        &self,
        p: &Pool2dParams,
        dy: &GpuTensor,
        act_out: Option<&GpuTensor>,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        let used = check(
            &AvgPool2d(*p),
            Pass::BackwardInput,
            &[Some(dy), act_out],
            &[dx],
        )?;
        kernels::pool2d::encode_avg_backward_input(self, p, dy, used[1], dx)
    }

    fn lrn_forward(&self, p: &LrnParams, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(p, Pass::Forward, &[Some(x)], &[y])?;
        kernels::lrn::encode_forward(self, p, x, y)
    }

    fn lrn_backward_input(
        &self,
        p: &LrnParams,
        x: &GpuTensor,
        dy: &GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(x), Some(dy)], &[dx])?;
        kernels::lrn::encode_backward_input(self, p, x, dy, dx)
    }

    fn linear_forward(
        &self,
        p: &LinearParams,
        x: &GpuTensor,
        w: &GpuTensor,
        b: Option<&GpuTensor>,
        y: &mut GpuTensor,
    ) -> Result<()> {
        let used = check(p, Pass::Forward, &[Some(x), Some(w), b], &[y])?;
        kernels::linear::encode_forward(self, p, x, w, used[2], y)
    }

    fn linear_backward_input(
        &self,
        p: &LinearParams,
        dy: &GpuTensor,
        w: &GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy), Some(w)], &[dx])?;
        kernels::linear::encode_backward_input(self, p, dy, w, dx)
    }

    fn linear_backward_weight(
        &self,
        p: &LinearParams,
        dy: &GpuTensor,
        x: &GpuTensor,
        dw: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardWeight, &[Some(dy), Some(x)], &[dw])?;
        kernels::linear::encode_backward_weight(self, p, dy, x, dw)
    }

    fn linear_backward_bias(
        &self,
        p: &LinearParams,
        dy: &GpuTensor,
        db: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardBias, &[Some(dy)], &[db])?;
        kernels::linear::encode_backward_bias(self, p, dy, db)
    }

    fn linear_backward_weight_bias(
        &self,
        p: &LinearParams,
        (dy, x): (&GpuTensor, &GpuTensor),
        dw: &mut GpuTensor,
        db: &mut GpuTensor,
        fold: Option<ActFold<'_, GpuTensor>>,
    ) -> Result<bool> {
        let fold = check_weight_bias(p, (dy, x), (dw, db), fold)?;
        kernels::linear::encode_backward_weight_bias(self, p, (dy, x), (dw, db), fold)
    }

    fn relu_forward(&self, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(&Relu(x.shape.clone()), Pass::Forward, &[Some(x)], &[y])?;
        kernels::elementwise::encode(self, "relu_forward", &[x], y)
    }

    fn relu_backward_input(&self, x: &GpuTensor, dy: &GpuTensor, dx: &mut GpuTensor) -> Result<()> {
        let op = Relu(x.shape.clone());
        check(&op, Pass::BackwardInput, &[Some(x), Some(dy)], &[dx])?;
        kernels::elementwise::encode(self, "relu_backward_input", &[x, dy], dx)
    }

    fn tanh_forward(&self, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(&Tanh(x.shape.clone()), Pass::Forward, &[Some(x)], &[y])?;
        kernels::elementwise::encode(self, "tanh_forward", &[x], y)
    }

    fn tanh_backward_input(&self, y: &GpuTensor, dy: &GpuTensor, dx: &mut GpuTensor) -> Result<()> {
        let op = Tanh(y.shape.clone());
        check(&op, Pass::BackwardInput, &[Some(y), Some(dy)], &[dx])?;
        kernels::elementwise::encode(self, "tanh_backward_input", &[y, dy], dx)
    }

    fn add_forward(&self, a: &GpuTensor, b: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(
            &Add(a.shape.clone()),
            Pass::Forward,
            &[Some(a), Some(b)],
            &[y],
        )?;
        kernels::elementwise::encode(self, "add_forward", &[a, b], y)
    }

    fn accumulate(&self, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(
            &Add(x.shape.clone()),
            Pass::Update,
            &[Some(x), Some(y)],
            &[y],
        )?;
        kernels::elementwise::encode(self, "accumulate", &[x], y)
    }

    fn copy(&self, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(&Add(x.shape.clone()), Pass::BackwardInput, &[Some(x)], &[y])?;
        kernels::elementwise::encode(self, "tensor_copy", &[x], y)
    }

    fn concat_forward(&self, p: &ConcatParams, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(p, Pass::Forward, &[Some(x), Some(y)], &[y])?;
        kernels::concat::encode_forward(self, p, x, y)
    }

    fn concat_backward_input(
        &self,
        p: &ConcatParams,
        dy: &GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy)], &[dx])?;
        kernels::concat::encode_backward_input(self, p, dy, dx)
    }

    fn batch_norm_forward(
        &self,
        p: &BatchNormParams,
        x: &GpuTensor,
        weight: &GpuTensor,
        bias: &GpuTensor,
        state: &mut GpuTensor,
        y: &mut GpuTensor,
    ) -> Result<()> {
        let given = [Some(x), Some(weight), Some(bias), Some(&*state)];
        check(p, Pass::Forward, &given, &[y, state])?;
        kernels::batch_norm::encode_forward(self, p, x, (weight, bias), state, y)
    }

    fn batch_norm_backward(
        &self,
        p: &BatchNormParams,
        x: &GpuTensor,
        dy: &GpuTensor,
        weight: &GpuTensor,
        state: &mut GpuTensor,
        dweight: &mut GpuTensor,
        dbias: &mut GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        let given = [Some(x), Some(dy), Some(weight), Some(&*state)];
        check(p, Pass::BackwardInput, &given, &[dx, dweight, dbias, state])?;
        let grads = (&*dweight, &*dbias);
        kernels::batch_norm::encode_backward(self, p, (x, dy, weight), state, grads, dx)
    }

    fn dropout_forward(&self, p: &DropoutParams, x: &GpuTensor, y: &mut GpuTensor) -> Result<()> {
        check(p, Pass::Forward, &[Some(x)], &[y])?;
        kernels::dropout::encode(self, "dropout_forward", p, x, y)
    }

    fn dropout_backward_input(
        &self,
        p: &DropoutParams,
        dy: &GpuTensor,
        dx: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::BackwardInput, &[Some(dy)], &[dx])?;
        kernels::dropout::encode(self, "dropout_backward_input", p, dy, dx)
    }

    fn softmax_cross_entropy_forward(
        &self,
        p: &SoftmaxCrossEntropyParams,
        logits: &GpuTensor,
        labels: &GpuTensor,
        losses: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::Forward, &[Some(logits), Some(labels)], &[losses])?;
        kernels::softmax_cross_entropy::encode_forward(self, p, logits, labels, losses)
    }

    fn softmax_cross_entropy_backward_input(
        &self,
        p: &SoftmaxCrossEntropyParams,
        logits: &GpuTensor,
        labels: &GpuTensor,
        scale_state: Option<&GpuTensor>,
        dlogits: &mut GpuTensor,
    ) -> Result<()> {
        let given = [Some(logits), Some(labels), None];
        check(p, Pass::BackwardInput, &given, &[dlogits])?;
        if let Some(state) = scale_state {
            expect_dtype(state, DType::U32, "loss scale state")?;
        }
        kernels::softmax_cross_entropy::encode_backward_input(
            self,
            p,
            logits,
            labels,
            self.scale_view(scale_state),
            dlogits,
        )
    }

    fn topk_accumulate(
        &self,
        p: &TopkParams,
        logits: &GpuTensor,
        labels: &GpuTensor,
        counts: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::Update, &[Some(logits), Some(labels)], &[counts])?;
        kernels::softmax_cross_entropy::encode_topk(self, p, logits, labels, counts)
    }

    fn pixel_cross_entropy_forward(
        &self,
        p: &PixelCrossEntropyParams,
        logits: &GpuTensor,
        labels: &GpuTensor,
        losses: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::Forward, &[Some(logits), Some(labels)], &[losses])?;
        kernels::pixel_loss::encode_forward(self, p, logits, labels, losses)
    }

    fn pixel_cross_entropy_backward_input(
        &self,
        p: &PixelCrossEntropyParams,
        logits: &GpuTensor,
        labels: &GpuTensor,
        counted: &GpuTensor,
        scale_state: Option<&GpuTensor>,
        dlogits: &mut GpuTensor,
    ) -> Result<()> {
        let given = [Some(logits), Some(labels), Some(counted), None];
        check(p, Pass::BackwardInput, &given, &[dlogits])?;
        if let Some(state) = scale_state {
            expect_dtype(state, DType::U32, "loss scale state")?;
        }
        let scale = self.scale_view(scale_state);
        kernels::pixel_loss::encode_backward_input(self, p, logits, labels, counted, scale, dlogits)
    }

    fn pixel_metrics_accumulate(
        &self,
        p: &PixelMetricsParams,
        logits: &GpuTensor,
        labels: &GpuTensor,
        counts: &mut GpuTensor,
    ) -> Result<()> {
        check(p, Pass::Update, &[Some(logits), Some(labels)], &[counts])?;
        kernels::pixel_loss::encode_metrics(self, p, logits, labels, counts)
    }

    fn sgd_update(
        &self,
        p: &SgdParams,
        grads: &[&GpuTensor],
        w: &mut [&mut GpuTensor],
        velocity: &mut [&mut GpuTensor],
        w_copy: Option<&mut [&mut GpuTensor]>,
        scale_state: Option<&GpuTensor>,
    ) -> Result<()> {
        let w: Vec<&GpuTensor> = w.iter().map(|t| &**t).collect();
        let velocity: Vec<&GpuTensor> = velocity.iter().map(|t| &**t).collect();
        let copies: Option<Vec<&GpuTensor>> = w_copy.map(|c| c.iter().map(|t| &**t).collect());
        let ncopies = copies.as_ref().map_or(grads.len(), |c| c.len());
        expect_lists("sgd", &[grads.len(), w.len(), velocity.len(), ncopies])?;
        for (i, grad) in grads.iter().enumerate() {
            let shape = Shape::new(&[grad.shape.numel()]);
            expect(w[i], &shape, "sgd w")?;
            expect(velocity[i], &shape, "sgd velocity")?;
            expect_dtype(w[i], DType::F32, "sgd w")?;
            expect_dtype(velocity[i], DType::F32, "sgd velocity")?;
            if let Some(c) = &copies {
                expect(c[i], &shape, "sgd w_copy")?;
                expect_dtype(c[i], grad.dtype, "sgd w_copy")?;
            }
        }
        let mut lists = vec![grads, &w[..], &velocity[..]];
        lists.extend(copies.as_deref());
        for span in arena_spans(&lists) {
            let [g, w, v] = [grads, &w, &velocity].map(|l| span_tensor(&l[span.clone()]));
            let copy = copies.as_ref().map(|c| span_tensor(&c[span.clone()]));
            let scale = self.scale_view(scale_state);
            kernels::sgd::encode_update(self, p, &g, &w, &v, copy.as_ref(), scale)?;
        }
        Ok(())
    }
}
