//! Activation functions by tfjs identifier (`'relu'`, `'softmax'`, …), applied with ops.

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Relu,
    Relu6,
    Elu,
    Selu,
    Sigmoid,
    HardSigmoid,
    Tanh,
    Softmax,
    Softplus,
    Softsign,
    Swish,
    Mish,
    Gelu,
}

const NAMES: &[(&str, Activation)] = &[
    ("linear", Activation::Linear),
    ("relu", Activation::Relu),
    ("relu6", Activation::Relu6),
    ("elu", Activation::Elu),
    ("selu", Activation::Selu),
    ("sigmoid", Activation::Sigmoid),
    ("hardSigmoid", Activation::HardSigmoid),
    ("tanh", Activation::Tanh),
    ("softmax", Activation::Softmax),
    ("softplus", Activation::Softplus),
    ("softsign", Activation::Softsign),
    ("swish", Activation::Swish),
    ("mish", Activation::Mish),
    ("gelu", Activation::Gelu),
];

impl Activation {
    pub fn parse(op: &str, name: &str) -> Result<Activation> {
        let norm = match name {
            "hard_sigmoid" => "hardSigmoid",
            other => other,
        };
        NAMES.iter().find(|(n, _)| *n == norm).map(|(_, a)| *a).ok_or_else(|| {
            let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
            Error::arg(op, format!("unknown activation '{name}' (expected one of {})", known.join(", ")))
        })
    }
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(_, a)| *a == self).map(|(n, _)| *n).unwrap_or("linear")
    }
    /// The `activation` attr of fused kernels, when this activation can be fused.
    pub fn fused_name(self) -> Option<&'static str> {
        match self {
            Activation::Linear => Some("linear"),
            Activation::Relu => Some("relu"),
            Activation::Relu6 => Some("relu6"),
            Activation::Elu => Some("elu"),
            Activation::Sigmoid => Some("sigmoid"),
            _ => None,
        }
    }
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Linear => Ok(x.clone()),
            Activation::Relu => ops::relu(x),
            Activation::Relu6 => ops::unary("Relu6", x),
            Activation::Elu => ops::unary("Elu", x),
            Activation::Selu => ops::unary("Selu", x),
            Activation::Sigmoid => ops::sigmoid(x),
            Activation::HardSigmoid => {
                // clip(0.2·x + 0.5, 0, 1)
                let y = ops::add(&ops::mul(x, &Tensor::scalar(0.2))?, &Tensor::scalar(0.5))?;
                run1("ClipByValue", &[y], &Attrs::new().with("clipValueMin", 0.0).with("clipValueMax", 1.0))
            }
            Activation::Tanh => ops::tanh(x),
            Activation::Softmax => run1("Softmax", std::slice::from_ref(x), &Attrs::new().with("dim", x.rank().saturating_sub(1))),
            Activation::Softplus => ops::unary("Softplus", x),
            Activation::Softsign => ops::div(x, &ops::add(&ops::abs(x)?, &Tensor::scalar(1.0))?),
            Activation::Swish => ops::mul(x, &ops::sigmoid(x)?),
            Activation::Mish => ops::mul(x, &ops::tanh(&ops::unary("Softplus", x)?)?),
            Activation::Gelu => {
                // 0.5·x·(1 + erf(x/√2))
                let e = ops::unary("Erf", &ops::mul(x, &Tensor::scalar(std::f32::consts::FRAC_1_SQRT_2))?)?;
                ops::mul(&ops::mul(x, &Tensor::scalar(0.5))?, &ops::add(&e, &Tensor::scalar(1.0))?)
            }
        }
    }
}
