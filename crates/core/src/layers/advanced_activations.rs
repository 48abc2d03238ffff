//! Activation layers with parameters: ReLU (`maxValue`), LeakyReLU (`alpha`), PReLU (a learned
//! `alpha` weight), ELU (`alpha`), ThresholdedReLU (`theta`) and Softmax (`axis`). Each maps an
//! input to an output of the same shape.

use super::constraints::Constraint;
use super::core::{read_constraint, read_initializer, read_regularizer};
use super::helpers::{float, i64s_value, norm_axis, one_input, opt_value, read_i64s, Weights};
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{fmt_shape, make_weight, shape_of, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::attrs::Attrs;
use crate::engine::{run1, without_tapes};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use serde_json::{json, Map, Value};

fn same_shape(layer: &str, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
    Ok(vec![single_shape(layer, input_shapes)?.clone()])
}

/// `ReLU`: `max(x, 0)`, clipped at `maxValue` when given. Output shape = input shape.
pub struct ReLU {
    base: BaseConfig,
    max_value: Option<f64>,
}

impl ReLU {
    pub fn from_config(r: &mut ConfigReader) -> Result<ReLU> {
        Ok(ReLU { max_value: r.f64("maxValue")?, base: BaseConfig::read(r)? })
    }
}

impl Layer for ReLU {
    super::helpers::layer_common!("ReLU");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("maxValue".into(), opt_value(&self.max_value, |v| Value::from(*v)));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        same_shape(&self.base.name, input_shapes)
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let y = ops::relu(one_input(&self.base.name, inputs)?)?;
        Ok(vec![match self.max_value {
            Some(m) => run1("ClipByValue", &[y], &Attrs::new().with("clipValueMin", 0.0).with("clipValueMax", m))?,
            None => y,
        }])
    }
}

/// `LeakyReLU`: `x` for `x >= 0`, `alpha·x` below (default `alpha` 0.3). Output shape = input
/// shape.
pub struct LeakyReLU {
    base: BaseConfig,
    alpha: f64,
}

impl LeakyReLU {
    pub fn from_config(r: &mut ConfigReader) -> Result<LeakyReLU> {
        Ok(LeakyReLU { alpha: r.f64("alpha")?.unwrap_or(0.3), base: BaseConfig::read(r)? })
    }
}

impl Layer for LeakyReLU {
    super::helpers::layer_common!("LeakyReLU");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("alpha".into(), Value::from(self.alpha));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        same_shape(&self.base.name, input_shapes)
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = float(one_input(&self.base.name, inputs)?)?;
        Ok(vec![run1("LeakyRelu", &[x], &Attrs::new().with("alpha", self.alpha))?])
    }
}

/// `PReLU`: `x` for `x > 0`, `alpha·x` otherwise, with `alpha` a learned weight of the input's
/// shape without the batch dimension (size 1 along `sharedAxes`, 1-based). Output shape = input
/// shape. Weight: `alpha`, initialized to zeros by default.
pub struct PReLU {
    base: BaseConfig,
    alpha_initializer: Initializer,
    alpha_regularizer: Option<Regularizer>,
    alpha_constraint: Option<Constraint>,
    shared_axes: Option<Vec<i64>>,
    weights: Weights,
}

impl PReLU {
    pub fn from_config(r: &mut ConfigReader) -> Result<PReLU> {
        Ok(PReLU {
            alpha_initializer: read_initializer(r, "alphaInitializer", "zeros")?,
            alpha_regularizer: read_regularizer(r, "alphaRegularizer")?,
            alpha_constraint: read_constraint(r, "alphaConstraint")?,
            shared_axes: read_i64s(r, "sharedAxes")?.map(|(v, _)| v),
            base: BaseConfig::read(r)?,
            weights: Weights::new(),
        })
    }
}

impl Layer for PReLU {
    super::helpers::layer_common!("PReLU");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("alphaInitializer".into(), self.alpha_initializer.to_value());
        m.insert("alphaRegularizer".into(), opt_value(&self.alpha_regularizer, Regularizer::to_value));
        m.insert("alphaConstraint".into(), opt_value(&self.alpha_constraint, Constraint::to_value));
        m.insert("sharedAxes".into(), opt_value(&self.shared_axes, |v| json!(v)));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        if self.weights.is_built() {
            return Ok(());
        }
        let s = single_shape(&self.base.name, input_shapes)?;
        if s.len() < 2 {
            return Err(Error::arg(&self.base.name, format!("PReLU needs an input of rank >= 2, got shape {}", fmt_shape(s))));
        }
        let mut shape: Shape = s[1..].to_vec();
        for &a in self.shared_axes.iter().flatten() {
            if a < 1 || a as usize > shape.len() {
                return Err(Error::arg(&self.base.name, format!("sharedAxes entry {a} is out of range for an input of shape {}", fmt_shape(s))));
            }
            shape[a as usize - 1] = Some(1);
        }
        let shape = shape
            .into_iter()
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| Error::arg(&self.base.name, format!("PReLU needs the input's non-shared dimensions to be known, got shape {}", fmt_shape(s))))?;
        let (name, t) = (&self.base.name, self.base.trainable);
        self.weights
            .build_with(|| Ok(vec![make_weight(name, "alpha", &shape, &self.alpha_initializer, t, self.alpha_regularizer, self.alpha_constraint.clone())?]))
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        same_shape(&self.base.name, input_shapes)
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.build(&[shape_of(x)])?;
        let alpha = self.weights.values().pop().ok_or_else(|| Error::arg(&self.base.name, "the layer has no alpha"))?;
        let fits = x.rank() == alpha.rank() + 1 && x.shape()[1..].iter().zip(alpha.shape()).all(|(&d, &a)| a == d || a == 1);
        if !fits {
            return Err(Error::shape(&self.base.name, format!("an input that alpha {} fits (as built)", crate::tensor::fmt_shape(alpha.shape())), crate::tensor::fmt_shape(x.shape())));
        }
        Ok(vec![run1("Prelu", &[float(x)?, alpha], &Attrs::new())?])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}

/// `ELU`: `x` for `x > 0`, `alpha·(exp(x) - 1)` otherwise. Output shape = input shape.
/// tfjs 4.22 refuses any `alpha` but 1; other values work here.
pub struct ELU {
    base: BaseConfig,
    alpha: f64,
}

impl ELU {
    pub fn from_config(r: &mut ConfigReader) -> Result<ELU> {
        Ok(ELU { alpha: r.f64("alpha")?.unwrap_or(1.0), base: BaseConfig::read(r)? })
    }
}

impl Layer for ELU {
    super::helpers::layer_common!("ELU");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("alpha".into(), Value::from(self.alpha));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        same_shape(&self.base.name, input_shapes)
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = float(one_input(&self.base.name, inputs)?)?;
        let y = ops::unary("Elu", &x)?;
        if self.alpha == 1.0 {
            return Ok(vec![y]);
        }
        let pos = without_tapes(|| ops::greater(&x, &Tensor::scalar(0.0)))?;
        Ok(vec![ops::where_(&pos, &y, &ops::mul(&y, &Tensor::scalar(self.alpha as f32))?)?])
    }
}

/// `ThresholdedReLU`: `x` where `x > theta` (default 1), 0 elsewhere. Output shape = input shape.
pub struct ThresholdedReLU {
    base: BaseConfig,
    theta: f64,
}

impl ThresholdedReLU {
    pub fn from_config(r: &mut ConfigReader) -> Result<ThresholdedReLU> {
        Ok(ThresholdedReLU { theta: r.f64("theta")?.unwrap_or(1.0), base: BaseConfig::read(r)? })
    }
}

impl Layer for ThresholdedReLU {
    super::helpers::layer_common!("ThresholdedReLU");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("theta".into(), Value::from(self.theta));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        same_shape(&self.base.name, input_shapes)
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = float(one_input(&self.base.name, inputs)?)?;
        let keep = without_tapes(|| ops::cast(&ops::greater(&x, &Tensor::scalar(self.theta as f32))?, DType::Float32))?;
        Ok(vec![ops::mul(&x, &keep)?])
    }
}

/// `Softmax`: `exp(x) / Σ exp(x)` along `axis` — as in tfjs, 1 by default (an integer or a list
/// of axes). Output shape = input shape.
pub struct Softmax {
    base: BaseConfig,
    axis: Vec<i64>,
    axis_is_list: bool,
}

impl Softmax {
    pub fn from_config(r: &mut ConfigReader) -> Result<Softmax> {
        let (axis, axis_is_list) = read_i64s(r, "axis")?.unwrap_or((vec![1], false));
        if axis.is_empty() {
            return Err(Error::arg(r.layer(), "config.axis must name at least one axis"));
        }
        Ok(Softmax { axis, axis_is_list, base: BaseConfig::read(r)? })
    }
}

impl Layer for Softmax {
    super::helpers::layer_common!("Softmax");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("axis".into(), i64s_value(&self.axis, self.axis_is_list));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        for &a in &self.axis {
            norm_axis(&self.base.name, a, s.len())?;
        }
        Ok(vec![s.clone()])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = float(one_input(&self.base.name, inputs)?)?;
        let axes = self.axis.iter().map(|&a| norm_axis(&self.base.name, a, x.rank())).collect::<Result<Vec<usize>>>()?;
        if axes.len() == 1 {
            return Ok(vec![run1("Softmax", &[x], &Attrs::new().with("dim", axes[0]))?]);
        }
        // exp(x - logSumExp(x)) over several axes; the shift by the maximum is a constant.
        let m = without_tapes(|| run1("Max", std::slice::from_ref(&x), &Attrs::new().with("axis", axes.clone()).with("keepDims", true)))?;
        let shifted = ops::sub(&x, &m)?;
        let lse = ops::log(&ops::sum(&ops::exp(&shifted)?, &axes, true)?)?;
        Ok(vec![ops::exp(&ops::sub(&shifted, &lse)?)?])
    }
}
