//! add: the element-wise sum of two tensors (a residual connection). Its backward pass copies
//! the gradient to each input (`tensor_copy`), and a node read by several others sums their
//! gradients one after another (`accumulate`).

use super::activation::validate_elementwise;
use super::spec::{arg, Arg, Before, OpRun, OpSpec, Signature};
use super::{Backend, Pass};
use crate::error::Result;
use crate::tensor::Shape;

/// `add_forward` over tensors of this shape; its backward pass is `tensor_copy`, and the
/// update pass `accumulate` (y += x).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Add(pub Shape);

impl OpSpec for Add {
    fn stem(&self) -> &'static str {
        "add"
    }
    fn passes(&self) -> Vec<Pass> {
        vec![Pass::Forward, Pass::BackwardInput, Pass::Update]
    }
    fn kernel(&self, pass: Pass) -> String {
        match pass {
            Pass::BackwardInput => "tensor_copy".into(),
            Pass::Update => "accumulate".into(),
            _ => "add_forward".into(),
        }
    }
    fn validate(&self) -> Result<()> {
        validate_elementwise("add", &self.0)
    }
    fn flops(&self, pass: Pass) -> u64 {
        if pass == Pass::BackwardInput {
            0
        } else {
            self.0.numel() as u64
        }
    }
    fn signature(&self, pass: Pass) -> Signature {
        let s = || self.0.clone();
        match pass {
            Pass::Forward => Signature::new(
                vec![Arg::float("a", s(), 1.0), Arg::float("b", s(), 1.0)],
                vec![Arg::out("y", s())],
            ),
            Pass::BackwardInput => {
                Signature::new(vec![Arg::float("dy", s(), 1.0)], vec![Arg::out("dx", s())])
            }
            _ => Signature::new(
                vec![Arg::float("x", s(), 1.0), Arg::float("y", s(), 1.0)],
                vec![Arg::out("sum", s()).before(Before::Input(1))],
            ),
        }
    }
    fn size(&self) -> String {
        format!("b{}", self.0 .0[0])
    }
}

impl OpRun for Add {
    fn run<B: Backend>(
        &self,
        b: &B,
        pass: Pass,
        i: &[Option<&B::Tensor>],
        o: &mut [&mut B::Tensor],
    ) -> Result<()> {
        match pass {
            Pass::Forward => b.add_forward(arg(i, 0)?, arg(i, 1)?, o[0]),
            Pass::BackwardInput => b.copy(arg(i, 0)?, o[0]),
            _ => b.accumulate(arg(i, 0)?, o[0]),
        }
    }
}
