//! Reading and restoring a model's state: metric counters, logits and activations, weights,
//! buffers (batch-norm running estimates), momentum and the loss-scale state.

use super::{Metrics, MetricsValue, Model, Param};
use crate::error::{Error, Result};
use crate::nn::graph::LayerKind;
use crate::ops::*;
use crate::tensor::{DType, HostTensor, Shape};

impl<B: Backend> Model<B> {
    /// Reads the metric counters back (waits for the device) and zeroes them.
    pub fn read_metrics(&self, b: &B, metrics: &mut Metrics<B>) -> Result<MetricsValue> {
        Ok(self.read_step(b, metrics)?.0)
    }

    /// Reads the metric counters and, in f16, the loss-scale state back in one read (waits
    /// for the device), and zeroes the counters.
    pub fn read_step(
        &self,
        b: &B,
        metrics: &mut Metrics<B>,
    ) -> Result<(MetricsValue, Option<[u32; 4]>)> {
        let (value, scale) = self.peek_step(b, metrics)?;
        b.zero(&mut metrics.totals)?;
        b.zero(&mut metrics.counts)?;
        Ok((value, scale))
    }

    /// Reads the metric counters and the loss-scale state back in one read, leaving them as
    /// they are.
    pub fn peek_step(
        &self,
        b: &B,
        metrics: &Metrics<B>,
    ) -> Result<(MetricsValue, Option<[u32; 4]>)> {
        let mut ints = vec![&metrics.counts];
        ints.extend(self.scale_state.as_ref());
        let (floats, ints) = b.read_together(&[&metrics.totals], &ints)?;
        let (totals, counts) = (&floats[0], &ints[0]);
        let scale = ints.get(1).map(|s| [s[0], s[1], s[2], s[3]]);
        let value = if self.graph.segmentation() {
            // [correct, labelled pixels, per-class counters]: the loss sums over labelled
            // pixels only (ignored ones add 0).
            MetricsValue {
                loss_sum: totals[0] as f64,
                samples: counts[1] as u64,
                top1: counts[0] as u64,
                top5: 0,
                classes: counts[2..].iter().map(|&v| v as u64).collect(),
            }
        } else {
            MetricsValue {
                loss_sum: totals[0] as f64,
                samples: totals[1] as u64,
                top1: counts[0] as u64,
                top5: counts[1] as u64,
                classes: Vec::new(),
            }
        };
        Ok((value, scale))
    }

    /// The logits of the last forward pass of `batch` (waits for the device).
    pub fn logits(&self, b: &B, batch: usize) -> Result<HostTensor> {
        let plan = &self.plans[self.plan_index(batch)?];
        b.download(plan.outs.last().expect("a graph has layers"))
    }

    /// The output of layer `i` of the last forward pass of `batch` (waits for the device).
    /// A conv2d or linear layer with a fused activation keeps no output of its own: asking
    /// for it is an error that names the activation layer to ask for instead.
    pub fn activation(&self, b: &B, batch: usize, i: usize) -> Result<HostTensor> {
        let plan = &self.plans[self.plan_index(batch)?];
        if self.fusions.get(i).is_some_and(|a| *a != Act::None) {
            let layer = &self.graph.layers[i].name;
            let next = &self.graph.layers[i + 1].name;
            return Err(Error::invalid(
                layer,
                format!(
                    "its output before the {} is not kept (the {} is fused into its forward \
                     pass); use layer {next}, or set CNNGPU_NO_FUSION=1",
                    self.fusions[i].name(),
                    self.fusions[i].name()
                ),
            ));
        }
        b.download(&plan.outs[i])
    }

    /// The f32 master weights, in state_dict order (waits for the device).
    pub fn weights(&self, b: &B) -> Result<Vec<(String, HostTensor)>> {
        self.params
            .iter()
            .map(|p| Ok((p.name.clone(), b.download(&p.master)?)))
            .collect()
    }

    /// The buffers of the state_dict in [`Graph::buffers`] order: each batch-norm layer's
    /// running estimates and `num_batches_tracked` (waits for the device).
    pub fn buffers(&self, b: &B) -> Result<Vec<(String, HostTensor)>> {
        let mut out = Vec::new();
        for (l, state) in self.graph.layers.iter().zip(&self.norm_states) {
            let (LayerKind::BatchNorm2d(p), Some(state)) = (&l.kind, state) else {
                continue;
            };
            let all = b.download(state)?.data;
            let c = p.channels;
            for (what, row) in [
                ("running_mean", batch_norm::RUNNING_MEAN),
                ("running_var", batch_norm::RUNNING_VAR),
            ] {
                let data = all[row * c..(row + 1) * c].to_vec();
                out.push((
                    format!("{}.{what}", l.name),
                    HostTensor::new(Shape::new(&[c]), data)?,
                ));
            }
            let count = HostTensor::new(Shape(vec![]), vec![self.batches_tracked as f32])?;
            out.push((format!("{}.num_batches_tracked", l.name), count));
        }
        Ok(out)
    }

    /// The whole state_dict: the f32 master weights, then the buffers (what checkpoints hold).
    pub fn state_dict(&self, b: &B) -> Result<Vec<(String, HostTensor)>> {
        let mut out = self.weights(b)?;
        out.extend(self.buffers(b)?);
        Ok(out)
    }

    /// Restores the buffers (in [`Graph::buffers`] order), e.g. from a checkpoint.
    pub fn set_buffers(&mut self, b: &B, values: &[HostTensor]) -> Result<()> {
        let specs = self.graph.buffers();
        if specs.len() != values.len() {
            return Err(Error::invalid(
                "buffers",
                format!("{} given, {} expected", values.len(), specs.len()),
            ));
        }
        let mut values = values.iter();
        for (l, state) in self.graph.layers.iter().zip(&mut self.norm_states) {
            let (LayerKind::BatchNorm2d(p), Some(state)) = (&l.kind, state) else {
                continue;
            };
            let (mean, var, count) = (values.next(), values.next(), values.next());
            let (Some(mean), Some(var), Some(count)) = (mean, var, count) else {
                unreachable!("counted above");
            };
            let c = p.channels;
            for (t, what) in [(mean, "running_mean"), (var, "running_var")] {
                expect_len(
                    &format!("{}.{what}", l.name),
                    t.data.len(),
                    &Shape::new(&[c]),
                )?;
            }
            let mut all = b.download(state)?.data;
            all[..c].copy_from_slice(&mean.data);
            all[c..2 * c].copy_from_slice(&var.data);
            b.write(state, &all)?;
            self.batches_tracked = count.data[0] as u64;
        }
        Ok(())
    }

    /// Allocates the momentum and gradient arenas (zeroed), the first time the model is
    /// planned for training; until then each parameter has one-element stand-ins.
    pub(super) fn make_trainable(&mut self, b: &B) -> Result<()> {
        if self.trainable {
            return Ok(());
        }
        let order = &self.arena_order;
        let shapes: Vec<Shape> = order
            .iter()
            .map(|&i| self.params[i].shape.clone())
            .collect();
        let velocities = b.arena(&shapes, DType::F32, None)?;
        let grads = b.arena(&shapes, self.precision.dtype(), None)?;
        for ((&i, v), g) in order.iter().zip(velocities).zip(grads) {
            (self.params[i].velocity, self.params[i].grad) = (v, g);
        }
        self.trainable = true;
        Ok(())
    }

    /// The momentum buffers (or gradients) in state_dict order: zeros before the model was
    /// planned for training.
    fn per_param(
        &self,
        b: &B,
        t: impl Fn(&Param<B>) -> &B::Tensor,
    ) -> Result<Vec<(String, HostTensor)>> {
        self.params
            .iter()
            .map(|p| {
                let value = match self.trainable {
                    true => b.download(t(p))?,
                    false => HostTensor::new(p.shape.clone(), vec![0.0; p.shape.numel()])?,
                };
                Ok((p.name.clone(), value))
            })
            .collect()
    }

    /// The momentum buffers, in state_dict order.
    pub fn velocities(&self, b: &B) -> Result<Vec<(String, HostTensor)>> {
        self.per_param(b, |p| &p.velocity)
    }

    /// The gradients of the last backward pass (as stored: scaled by the loss scale in f16).
    pub fn gradients(&self, b: &B) -> Result<Vec<(String, HostTensor)>> {
        self.per_param(b, |p| &p.grad)
    }

    /// Replaces momentum buffers (resuming).
    pub fn set_velocities(&mut self, b: &B, values: &[HostTensor]) -> Result<()> {
        self.make_trainable(b)?;
        for (p, v) in self.params.iter_mut().zip(values) {
            b.write(&mut p.velocity, &v.data)?;
        }
        Ok(())
    }

    /// The loss-scale state [scale, good steps, found_inf, skipped] (f16 only).
    pub fn scale_state(&self, b: &B) -> Result<Option<[u32; 4]>> {
        match &self.scale_state {
            Some(s) => {
                let v = b.download_u32(s)?;
                Ok(Some([v[0], v[1], v[2], v[3]]))
            }
            None => Ok(None),
        }
    }

    /// Restores the loss-scale state (resuming).
    pub fn set_scale_state(&mut self, b: &B, state: [u32; 4]) -> Result<()> {
        if let Some(s) = self.scale_state.as_mut() {
            b.write_u32(s, &state)?;
        }
        Ok(())
    }
}
