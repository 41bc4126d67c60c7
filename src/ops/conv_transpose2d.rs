//! conv_transpose2d: PyTorch's `ConvTranspose2d` (U-Net's up-sampling). Its forward pass is
//! the input gradient of the convolution it transposes (its [dual](ConvTranspose2dParams::dual)),
//! its input gradient that convolution's forward pass and its weight gradient that
//! convolution's weight gradient with the roles of input and output swapped — so on the GPU
//! the conv2d kernels run all three (every family, every precision), and only the bias needs
//! a kernel of its own. The CPU reference computes the transposed convolution directly.

use super::spec::{arg, sum_scale, Arg, OpRun, OpSpec, Signature};
use super::{positive, u32_of, Act, Backend, Conv2dParams, Pass};
use crate::error::{Error, Result};
use crate::tensor::Shape;

/// A 2-D transposed convolution over NCHW tensors: weight `[Cin, Cout/groups, KH, KW]`,
/// square stride and padding, `output_padding` extra rows and columns at the bottom and right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvTranspose2dParams {
    pub batch: usize,
    pub in_channels: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_channels: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub stride: usize,
    pub padding: usize,
    pub output_padding: usize,
    pub groups: usize,
    pub bias: bool,
}

impl ConvTranspose2dParams {
    /// Output height: (H - 1) * s - 2p + KH + output_padding.
    pub fn out_h(&self) -> usize {
        ((self.in_h - 1) * self.stride + self.kernel_h + self.output_padding)
            .saturating_sub(2 * self.padding)
    }
    /// Output width.
    pub fn out_w(&self) -> usize {
        ((self.in_w - 1) * self.stride + self.kernel_w + self.output_padding)
            .saturating_sub(2 * self.padding)
    }
    pub fn input_shape(&self) -> Shape {
        Shape::new(&[self.batch, self.in_channels, self.in_h, self.in_w])
    }
    /// `[Cin, Cout/groups, KH, KW]`, as PyTorch stores it.
    pub fn weight_shape(&self) -> Shape {
        Shape::new(&[
            self.in_channels,
            self.out_channels / self.groups,
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
    /// PyTorch's fan-in of the weight (`weight.size(1) * KH * KW`), which its default
    /// initialisation bounds by.
    pub fn fan_in(&self) -> usize {
        self.out_channels / self.groups * self.kernel_h * self.kernel_w
    }

    /// The convolution this one transposes: from the output's shape to the input's, with the
    /// same weight tensor (`[Cin, Cout/groups, KH, KW]` is its OIHW) and no bias. Its output
    /// size is this input's because `output_padding < stride`.
    pub fn dual(&self) -> Conv2dParams {
        Conv2dParams {
            batch: self.batch,
            in_channels: self.out_channels,
            in_h: self.out_h(),
            in_w: self.out_w(),
            out_channels: self.in_channels,
            kernel_h: self.kernel_h,
            kernel_w: self.kernel_w,
            stride: self.stride,
            padding: self.padding,
            groups: self.groups,
            bias: false,
            act: Act::None,
        }
    }

    /// Rejects shapes PyTorch rejects, naming the offending value.
    pub fn validate(&self) -> Result<()> {
        positive("conv_transpose2d batch", self.batch)?;
        positive("conv_transpose2d in_channels", self.in_channels)?;
        positive("conv_transpose2d out_channels", self.out_channels)?;
        positive("conv_transpose2d input size", self.in_h.min(self.in_w))?;
        positive("conv_transpose2d kernel", self.kernel_h.min(self.kernel_w))?;
        positive("conv_transpose2d stride", self.stride)?;
        positive("conv_transpose2d groups", self.groups)?;
        if !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(Error::invalid(
                "conv_transpose2d groups",
                format!(
                    "{} groups do not divide {} input and {} output channels",
                    self.groups, self.in_channels, self.out_channels
                ),
            ));
        }
        if self.output_padding >= self.stride {
            return Err(Error::invalid(
                "conv_transpose2d output_padding",
                format!(
                    "{} is not smaller than the stride {}",
                    self.output_padding, self.stride
                ),
            ));
        }
        let full = |n: usize, k: usize| (n - 1) * self.stride + k + self.output_padding;
        if full(self.in_h, self.kernel_h) <= 2 * self.padding
            || full(self.in_w, self.kernel_w) <= 2 * self.padding
        {
            return Err(Error::invalid(
                "conv_transpose2d padding",
                format!(
                    "padding {} leaves no output of a {}x{} input",
                    self.padding, self.in_h, self.in_w
                ),
            ));
        }
        u32_of("conv_transpose2d input size", self.input_shape().numel())?;
        u32_of("conv_transpose2d output size", self.output_shape().numel())?;
        Ok(())
    }

    /// Multiply-adds of the forward pass (= of each of backward_input and backward_weight):
    /// every input element times every tap of its group's output channels.
    pub fn macs(&self) -> u64 {
        (self.input_shape().numel() * self.fan_in()) as u64
    }

    /// Floating-point operations of a pass (2 per multiply-add; a bias add per output).
    pub fn flops(&self, pass: Pass) -> u64 {
        match pass {
            Pass::BackwardBias => self.output_shape().numel() as u64,
            _ => 2 * self.macs(),
        }
    }
}

impl OpSpec for ConvTranspose2dParams {
    fn stem(&self) -> &'static str {
        "conv_transpose2d"
    }
    fn passes(&self) -> Vec<Pass> {
        super::spec::gemm_passes(self.bias)
    }
    fn validate(&self) -> Result<()> {
        ConvTranspose2dParams::validate(self)
    }
    fn flops(&self, pass: Pass) -> u64 {
        ConvTranspose2dParams::flops(self, pass)
    }
    fn signature(&self, pass: Pass) -> Signature {
        // An output sums about Cin/groups * (KH/s) * (KW/s) products; an input gradient
        // Cout/groups * KH * KW.
        let taps = (self.kernel_h * self.kernel_w / (self.stride * self.stride)).max(1);
        let forward_fan = self.in_channels / self.groups * taps;
        let reduction = self.batch * self.in_h * self.in_w;
        let (x, w, y) = (self.input_shape(), self.weight_shape(), self.output_shape());
        match pass {
            Pass::Forward => Signature::new(
                vec![
                    Arg::float("x", x, 1.0),
                    Arg::float("w", w, sum_scale(forward_fan)),
                    Arg::float("b", self.bias_shape(), 1.0).when(self.bias),
                ],
                vec![Arg::out("y", y)],
            ),
            Pass::BackwardInput => Signature::new(
                vec![
                    Arg::float("dy", y, 1.0),
                    Arg::float("w", w, sum_scale(self.fan_in())),
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
                vec![Arg::float(
                    "dy",
                    y,
                    sum_scale(self.batch * self.out_h() * self.out_w()),
                )],
                vec![Arg::out("db", self.bias_shape())],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.batch)
    }
    fn params_json(&self) -> serde_json::Value {
        serde_json::json!({"op": "conv_transpose2d", "batch": self.batch,
            "in_channels": self.in_channels, "in_h": self.in_h, "in_w": self.in_w,
            "out_channels": self.out_channels, "kernel": self.kernel_h,
            "stride": self.stride, "padding": self.padding,
            "output_padding": self.output_padding, "groups": self.groups, "bias": self.bias})
    }
}

impl OpRun for ConvTranspose2dParams {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.conv_transpose2d_forward(self, arg(i, 0)?, arg(i, 1)?, i[2], o[0]),
            Pass::BackwardInput => {
                b.conv_transpose2d_backward_input(self, arg(i, 0)?, arg(i, 1)?, o[0])
            }
            Pass::BackwardWeight => {
                b.conv_transpose2d_backward_weight(self, arg(i, 0)?, arg(i, 1)?, o[0])
            }
            _ => b.conv_transpose2d_backward_bias(self, arg(i, 0)?, o[0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(k: usize, s: usize, p: usize, op: usize) -> ConvTranspose2dParams {
        ConvTranspose2dParams {
            batch: 1,
            in_channels: 4,
            in_h: 5,
            in_w: 3,
            out_channels: 6,
            kernel_h: k,
            kernel_w: k,
            stride: s,
            padding: p,
            output_padding: op,
            groups: 2,
            bias: true,
        }
    }

    #[test]
    fn output_size_and_dual_follow_pytorch() {
        // U-Net's up-convolution doubles the map.
        let p = up(2, 2, 0, 0);
        assert_eq!((p.out_h(), p.out_w()), (10, 6));
        // torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1): 5x3 -> 10x6.
        let q = up(3, 2, 1, 1);
        assert_eq!((q.out_h(), q.out_w()), (10, 6));
        for p in [p, q, up(3, 1, 1, 0), up(4, 3, 2, 2)] {
            p.validate().unwrap();
            let d = p.dual();
            assert_eq!((d.out_h(), d.out_w()), (p.in_h, p.in_w), "{p:?}");
            assert_eq!(d.weight_shape(), p.weight_shape());
            assert_eq!(d.macs(), p.macs());
        }
    }

    #[test]
    fn validation_names_what_pytorch_refuses() {
        let e = up(3, 2, 1, 2).validate().unwrap_err().to_string();
        assert!(e.contains("output_padding"), "{e}");
        let e = ConvTranspose2dParams {
            groups: 4,
            ..up(2, 2, 0, 0)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("groups"), "{e}");
        let e = ConvTranspose2dParams {
            in_h: 1,
            in_w: 1,
            ..up(1, 1, 1, 0)
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("padding"), "{e}");
    }
}
