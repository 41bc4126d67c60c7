//! conv2d: shapes, validation, costs and the uniform shared by its four passes.

use super::spec::{arg, sum_scale, Arg, OpRun, OpSpec, Signature};
use super::{positive, u32_of, Act, Backend, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// A 2-D convolution over NCHW tensors with square stride and padding, optional groups and bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dParams {
    pub batch: usize,
    pub in_channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_channels: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    pub groups: usize,
    pub bias: bool,
    /// Fused into the forward pass after the bias (see [`Act`]).
    pub act: Act,
}

/// Mirror of `Conv2dUniform` in shaders/common/conv2d_params.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Conv2dUniform {
    pub batch: u32,
    pub in_channels: u32,
    pub in_h: u32,
    pub in_w: u32,
    pub out_channels: u32,
    pub out_h: u32,
    pub out_w: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride: u32,
    pub padding: u32,
    pub groups: u32,
    pub has_bias: u32,
    pub accumulate: u32,
    pub splits: u32,
    pub act: u32,
}

impl Conv2dParams {
    /// Output height: floor((H + 2p - KH) / s) + 1.
    pub fn out_h(&self) -> usize {
        (self.in_h + 2 * self.padding - self.kernel_h) / self.stride + 1
    }
    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.in_w + 2 * self.padding - self.kernel_w) / self.stride + 1
    }
    pub fn input_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.in_channels, self.in_h, self.in_w])
    }
    /// OIHW: [Cout, Cin/groups, KH, KW].
    pub fn weight_shape(&self) -> Shape {
        Shape::new(&[
            self.out_channels,
            self.in_channels / self.groups,
            self.kernel_h,
            self.kernel_w,
        ])
    }
    pub fn bias_shape(&self) -> Shape {
        Shape::new(&[self.out_channels])
    }
    pub fn output_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.out_channels, self.out_h(), self.out_w()])
    }

    /// Rejects shapes the kernels cannot compute, naming the offending value.
    pub fn validate(&self) -> Result<()> {
        positive("conv2d batch", self.batch)?;
        positive("conv2d in_channels", self.in_channels)?;
        positive("conv2d out_channels", self.out_channels)?;
        positive("conv2d kernel", self.kernel_h.min(self.kernel_w))?;
        positive("conv2d stride", self.stride)?;
        positive("conv2d groups", self.groups)?;
        if !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(Error::invalid(
                "conv2d groups",
                format!(
                    "{} groups do not divide {} input and {} output channels",
                    self.groups, self.in_channels, self.out_channels
                ),
            ));
        }
        if self.in_h + 2 * self.padding < self.kernel_h
            || self.in_w + 2 * self.padding < self.kernel_w
        {
            return Err(Error::invalid(
                "conv2d kernel",
                format!(
                    "{}x{} kernel is larger than the padded {}x{} input",
                    self.kernel_h,
                    self.kernel_w,
                    self.in_h + 2 * self.padding,
                    self.in_w + 2 * self.padding
                ),
            ));
        }
        u32_of("conv2d input size", self.input_shape().numel())?;
        u32_of("conv2d output size", self.output_shape().numel())?;
        Ok(())
    }

    /// Multiply-adds of the forward pass (= of each of backward_input and backward_weight).
    pub fn macs(&self) -> u64 {
        (self.output_shape().numel()
            * (self.in_channels / self.groups)
            * self.kernel_h
            * self.kernel_w) as u64
    }

    /// Floating-point operations of a pass (2 per multiply-add; a bias add per output).
    pub fn flops(&self, pass: Pass) -> u64 {
        match pass {
            Pass::BackwardBias => self.output_shape().numel() as u64,
            _ => 2 * self.macs(),
        }
    }

    /// The uniform for `batch` images starting anywhere (batch chunks reuse it).
    pub fn uniform(&self, batch: usize, accumulate: bool) -> Conv2dUniform {
        Conv2dUniform {
            batch: batch as u32,
            in_channels: self.in_channels as u32,
            in_h: self.in_h as u32,
            in_w: self.in_w as u32,
            out_channels: self.out_channels as u32,
            out_h: self.out_h() as u32,
            out_w: self.out_w() as u32,
            kernel_h: self.kernel_h as u32,
            kernel_w: self.kernel_w as u32,
            stride: self.stride as u32,
            padding: self.padding as u32,
            groups: self.groups as u32,
            has_bias: self.bias as u32,
            accumulate: accumulate as u32,
            splits: 1,
            act: self.act.code(),
        }
    }
}

impl OpSpec for Conv2dParams {
    fn stem(&self) -> &'static str {
        "conv2d"
    }
    fn passes(&self) -> Vec<Pass> {
        super::spec::gemm_passes(self.bias)
    }
    fn validate(&self) -> Result<()> {
        Conv2dParams::validate(self)
    }
    fn flops(&self, pass: Pass) -> u64 {
        Conv2dParams::flops(self, pass)
    }
    fn signature(&self, pass: Pass) -> Signature {
        let fan_in = self.in_channels / self.groups * self.kernel_h * self.kernel_w;
        let reduction = self.batch * self.out_h() * self.out_w();
        let (x, w, y) = (self.input_shape(), self.weight_shape(), self.output_shape());
        match pass {
            Pass::Forward => Signature::new(
                vec![
                    Arg::float("x", x, 1.0),
                    Arg::float("w", w, sum_scale(fan_in)),
                    Arg::float("b", self.bias_shape(), 1.0).when(self.bias),
                ],
                vec![Arg::out("y", y)],
            ),
            Pass::BackwardInput => Signature::new(
                vec![
                    Arg::float("dy", y, 1.0),
                    Arg::float("w", w, sum_scale(fan_in)),
                ],
                vec![Arg::out("dx", x)],
            ),
            Pass::BackwardWeight => Signature::new(
                vec![
                    Arg::float("dy", y, sum_scale(reduction)),
                    Arg::float("x", x, 1.0),
                ],
                vec![Arg::out("dw", w)],
            ),
            _ => Signature::new(
                vec![Arg::float("dy", y, sum_scale(reduction))],
                vec![Arg::out("db", self.bias_shape())],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "conv2d", "batch": self.batch,
            "in_channels": self.in_channels, "in_h": self.in_h, "in_w": self.in_w,
            "out_channels": self.out_channels, "kernel": self.kernel_h,
            "stride": self.stride, "padding": self.padding, "groups": self.groups,
            "bias": self.bias})
    }
}

impl OpRun for Conv2dParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.conv2d_forward(self, arg(i, 0)?, arg(i, 1)?, i[2], o[0]),
            Pass::BackwardInput => b.conv2d_backward_input(self, arg(i, 0)?, arg(i, 1)?, o[0]),
            Pass::BackwardWeight => b.conv2d_backward_weight(self, arg(i, 0)?, arg(i, 1)?, o[0]),
            _ => b.conv2d_backward_bias(self, arg(i, 0)?, o[0]),
        }
    }
}
