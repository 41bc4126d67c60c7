//! top-k correct counts: how many samples have their label among the k largest logits.

use super::spec::{arg, Arg, Before, Draw, OpRun, OpSpec, Signature, Value};
use super::{positive, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// Up to four values of k counted at once (top-1 and top-5 in training).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopkParams {
    pub batch: usize,
    pub classes: usize,
    pub ks: Vec<usize>,
}

/// Mirror of `TopkUniform` in shaders/topk_accumulate.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TopkUniform {
    pub batch: u32,
    pub classes: u32,
    pub num_k: u32,
    pub _pad0: u32,
    pub ks: [u32; 4],
}

impl TopkParams {
    pub fn validate(&self) -> Result<()> {
        positive("topk batch", self.batch)?;
        positive("topk classes", self.classes)?;
        if self.ks.is_empty() || self.ks.len() > 4 {
            return Err(Error::invalid(
                "topk ks",
                format!("{} values; 1 to 4 allowed", self.ks.len()),
            ));
        }
        Ok(())
    }
    /// Rank of the label among `row`: classes with a larger logit, ties to the lower index;
    /// `classes` (never counted) when the label is out of range or its logit is NaN.
    pub fn rank(row: &[f32], label: u32) -> usize {
        let label = label as usize;
        match row.get(label) {
            Some(&own) if !own.is_nan() => row
                .iter()
                .enumerate()
                .filter(|&(c, &v)| v > own || (v == own && c < label))
                .count(),
            _ => row.len(),
        }
    }
    pub fn uniform(&self) -> TopkUniform {
        let mut ks = [0u32; 4];
        for (slot, &k) in ks.iter_mut().zip(&self.ks) {
            *slot = k as u32;
        }
        TopkUniform {
            batch: self.batch as u32,
            classes: self.classes as u32,
            num_k: self.ks.len() as u32,
            _pad0: 0,
            ks,
        }
    }
}

impl OpSpec for TopkParams {
    fn stem(&self) -> &'static str {
        "topk"
    }
    fn passes(&self) -> Vec<Pass> {
        vec![Pass::Update]
    }
    fn kernel(&self, _pass: Pass) -> String {
        "topk_accumulate".into()
    }
    fn validate(&self) -> Result<()> {
        TopkParams::validate(self)
    }
    fn flops(&self, _pass: Pass) -> u64 {
        (self.batch * self.classes) as u64
    }
    /// The counts accumulate (parity starts them at 5).
    fn signature(&self, _pass: Pass) -> Signature {
        Signature::new(
            vec![
                Arg::float("logits", Shape::new(&[self.batch, self.classes]), 2.0),
                Arg::ints("labels", Shape::new(&[self.batch])),
            ],
            vec![Arg::ints("counts", Shape::new(&[self.ks.len()])).before(Before::Value(5.0))],
        )
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
}

impl OpRun for TopkParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        _pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        b.topk_accumulate(self, arg(i, 0)?, arg(i, 1)?, o[0])
    }

    /// Labels spread over the classes.
    fn relate<B: Backend>(
        &self,
        _reference: &B,
        _pass: Pass,
        inputs: &mut [Value],
        _draw: &mut Draw<'_>,
    ) -> Result<()> {
        let labels = (0..self.batch).map(|n| ((n * 5 + 1) % self.classes) as u32);
        inputs[1] = Value::Ints(labels.collect());
        Ok(())
    }
}
