//! Core layers: Dense, Activation, Flatten, Dropout.

use super::activations::Activation as Act;
use super::constraints::Constraint;
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{fmt_shape, make_weight, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::attrs::Attrs;
use crate::engine::run_kernel;
use crate::error::{Error, Result};
use crate::ops;
use crate::random;
use crate::tensor::{DType, Tensor};
use serde_json::{Map, Value};
use std::sync::RwLock;

fn opt_value<T>(v: &Option<T>, f: impl Fn(&T) -> Value) -> Value {
    v.as_ref().map(f).unwrap_or(Value::Null)
}

pub fn read_initializer(r: &ConfigReader, key: &str, default: &str) -> Result<Initializer> {
    Initializer::parse(r.layer(), &r.value(key).unwrap_or_else(|| Value::from(default)))
}
pub fn read_regularizer(r: &ConfigReader, key: &str) -> Result<Option<Regularizer>> {
    r.value(key).map(|v| Regularizer::parse(r.layer(), &v)).transpose()
}
pub fn read_constraint(r: &ConfigReader, key: &str) -> Result<Option<Constraint>> {
    r.value(key).map(|v| Constraint::parse(r.layer(), &v)).transpose()
}
pub fn read_activation(r: &ConfigReader, key: &str, default: Act) -> Result<Act> {
    match r.value(key) {
        None => Ok(default),
        Some(Value::String(s)) => Act::parse(r.layer(), &s),
        Some(other) => Err(Error::arg(r.layer(), format!("config.{key} must be an activation name, got {other}"))),
    }
}

/// `Dense`: `output = activation(input · kernel + bias)` over the last axis.
/// Input `[batch, …, inputDim]` → output `[batch, …, units]`.
pub struct Dense {
    base: BaseConfig,
    units: usize,
    activation: Act,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    activity_regularizer: Option<Regularizer>,
    kernel_constraint: Option<Constraint>,
    bias_constraint: Option<Constraint>,
    weights: RwLock<Vec<LayerWeight>>,
}

impl Dense {
    pub fn from_config(r: &mut ConfigReader) -> Result<Dense> {
        let units = r.positive("units")?.ok_or_else(|| Error::arg("Dense", "config.units is required (a positive integer)"))?;
        let d = Dense {
            units,
            activation: read_activation(r, "activation", Act::Linear)?,
            use_bias: r.bool("useBias")?.unwrap_or(true),
            kernel_initializer: read_initializer(r, "kernelInitializer", "glorotNormal")?,
            bias_initializer: read_initializer(r, "biasInitializer", "zeros")?,
            kernel_regularizer: read_regularizer(r, "kernelRegularizer")?,
            bias_regularizer: read_regularizer(r, "biasRegularizer")?,
            activity_regularizer: read_regularizer(r, "activityRegularizer")?,
            kernel_constraint: read_constraint(r, "kernelConstraint")?,
            bias_constraint: read_constraint(r, "biasConstraint")?,
            base: {
                r.skip("inputDim");
                let mut b = BaseConfig::read(r)?;
                if b.batch_input_shape.is_none() {
                    if let Some(d) = r.usize("inputDim")? {
                        b.batch_input_shape = Some(vec![None, Some(d)]);
                    }
                }
                b
            },
            weights: RwLock::new(Vec::new()),
        };
        Ok(d)
    }
    fn kernel_and_bias(&self) -> (Option<Tensor>, Option<Tensor>) {
        let w = self.weights.read().unwrap_or_else(|e| e.into_inner());
        (w.first().map(|w| w.var.read()), w.get(1).map(|w| w.var.read()))
    }
}

impl Layer for Dense {
    fn activity_regularizer(&self) -> Option<&Regularizer> {
        self.activity_regularizer.as_ref()
    }
    fn class_name(&self) -> &'static str {
        "Dense"
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("units".into(), Value::from(self.units));
        m.insert("activation".into(), Value::from(self.activation.name()));
        m.insert("useBias".into(), Value::from(self.use_bias));
        m.insert("kernelInitializer".into(), self.kernel_initializer.to_value());
        m.insert("biasInitializer".into(), self.bias_initializer.to_value());
        m.insert("kernelRegularizer".into(), opt_value(&self.kernel_regularizer, Regularizer::to_value));
        m.insert("biasRegularizer".into(), opt_value(&self.bias_regularizer, Regularizer::to_value));
        m.insert("activityRegularizer".into(), opt_value(&self.activity_regularizer, Regularizer::to_value));
        m.insert("kernelConstraint".into(), opt_value(&self.kernel_constraint, Constraint::to_value));
        m.insert("biasConstraint".into(), opt_value(&self.bias_constraint, Constraint::to_value));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        let s = single_shape("Dense", input_shapes)?;
        let mut w = self.weights.write().unwrap_or_else(|e| e.into_inner());
        if !w.is_empty() {
            return Ok(());
        }
        let in_dim = s.last().copied().flatten().ok_or_else(|| {
            Error::arg(&self.base.name, format!("Dense needs a known last input dimension, got input shape {}", fmt_shape(s)))
        })?;
        let t = self.base.trainable;
        w.push(make_weight(&self.base.name, "kernel", &[in_dim, self.units], &self.kernel_initializer, t, self.kernel_regularizer, self.kernel_constraint.clone())?);
        if self.use_bias {
            w.push(make_weight(&self.base.name, "bias", &[self.units], &self.bias_initializer, t, self.bias_regularizer, self.bias_constraint.clone())?);
        }
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape("Dense", input_shapes)?;
        if s.is_empty() {
            return Err(Error::arg(&self.base.name, "Dense needs an input of rank >= 1"));
        }
        let mut out = s.clone();
        *out.last_mut().expect("rank >= 1") = Some(self.units);
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        super::expect_inputs(&self.base.name, inputs.len(), 1)?;
        let x = &inputs[0];
        self.build(&[super::shape_of(x)])?;
        let (kernel, bias) = self.kernel_and_bias();
        let kernel = kernel.ok_or_else(|| Error::arg(&self.base.name, "the layer has no kernel"))?;
        let in_dim = kernel.shape()[0];
        if x.shape().last() != Some(&in_dim) {
            return Err(Error::shape(&self.base.name, format!("input with last dimension {in_dim}"), crate::tensor::fmt_shape(x.shape())));
        }
        // Rank > 2 inputs run as one [rows, inDim] product.
        let lead: Vec<usize> = x.shape()[..x.rank() - 1].to_vec();
        let x2 = if x.rank() == 2 { x.clone() } else { ops::reshape(x, &[lead.iter().product(), in_dim])? };
        let x2 = ops::cast(&x2, DType::Float32)?;
        let mut inputs = vec![x2, kernel];
        if let Some(b) = bias {
            inputs.push(b);
        }
        let (fused, rest) = match self.activation.fused_name() {
            Some(name) => (name, Act::Linear),
            None => ("linear", self.activation),
        };
        let y = run_kernel("_FusedMatMul", &inputs, &Attrs::new().with("activation", fused))?.remove(0);
        let y = rest.apply(&y)?;
        let y = if x.rank() == 2 {
            y
        } else {
            let mut shape = lead;
            shape.push(self.units);
            ops::reshape(&y, &shape)?
        };
        Ok(vec![y])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// `Activation`: applies an activation function. Output shape = input shape.
pub struct Activation {
    base: BaseConfig,
    activation: Act,
}

impl Activation {
    pub fn from_config(r: &mut ConfigReader) -> Result<Activation> {
        let activation = match r.string("activation")? {
            Some(s) => Act::parse(r.layer(), &s)?,
            None => return Err(Error::arg("Activation", "config.activation is required")),
        };
        Ok(Activation { activation, base: BaseConfig::read(r)? })
    }
}

impl Layer for Activation {
    fn class_name(&self) -> &'static str {
        "Activation"
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("activation".into(), Value::from(self.activation.name()));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![single_shape(&self.base.name, s)?.clone()])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], _: &CallContext) -> Result<Vec<Tensor>> {
        super::expect_inputs(&self.base.name, inputs.len(), 1)?;
        Ok(vec![self.activation.apply(&inputs[0])?])
    }
}

/// `Flatten`: `[batch, d1, d2, …]` → `[batch, d1·d2·…]`.
pub struct Flatten {
    base: BaseConfig,
}

impl Flatten {
    pub fn from_config(r: &mut ConfigReader) -> Result<Flatten> {
        r.choice("dataFormat", &["channelsLast", "channelsFirst"])?;
        Ok(Flatten { base: BaseConfig::read(r)? })
    }
}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn config(&self) -> Value {
        let mut m = Map::new();
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, s)?;
        if s.len() < 2 {
            return Err(Error::arg(&self.base.name, format!("Flatten needs an input of rank >= 2, got {}", fmt_shape(s))));
        }
        let rest: Option<usize> = s[1..].iter().try_fold(1usize, |acc, d| d.map(|d| acc * d));
        Ok(vec![vec![s[0], rest]])
    }
    fn call(&self, inputs: &[Tensor], _: &CallContext) -> Result<Vec<Tensor>> {
        super::expect_inputs(&self.base.name, inputs.len(), 1)?;
        let x = &inputs[0];
        if x.rank() < 2 {
            return Err(Error::arg(&self.base.name, format!("Flatten needs an input of rank >= 2, got {}", crate::tensor::fmt_shape(x.shape()))));
        }
        let b = x.shape()[0];
        Ok(vec![ops::reshape(x, &[b, x.size() / b.max(1)])?])
    }
}

/// `Dropout`: in training, zeroes a `rate` fraction of the inputs and scales the rest by
/// `1/(1-rate)`; identity at inference. Output shape = input shape.
pub struct Dropout {
    base: BaseConfig,
    rate: f64,
    noise_shape: Option<Shape>,
    seed: Option<f64>,
}

impl Dropout {
    pub fn from_config(r: &mut ConfigReader) -> Result<Dropout> {
        let rate = r.f64("rate")?.ok_or_else(|| Error::arg("Dropout", "config.rate is required (a number in [0, 1))"))?;
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::arg("Dropout", format!("config.rate must be a number in [0, 1), got {rate}")));
        }
        Ok(Dropout { rate, noise_shape: r.shape("noiseShape")?, seed: r.f64("seed")?, base: BaseConfig::read(r)? })
    }
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("rate".into(), Value::from(self.rate));
        m.insert("noiseShape".into(), opt_value(&self.noise_shape, super::shape_value));
        m.insert("seed".into(), opt_value(&self.seed, |s| Value::from(*s)));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, s: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![single_shape(&self.base.name, s)?.clone()])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        super::expect_inputs(&self.base.name, inputs.len(), 1)?;
        let x = &inputs[0];
        if !ctx.training || self.rate == 0.0 {
            return Ok(vec![x.clone()]);
        }
        let shape: Vec<usize> = match &self.noise_shape {
            Some(ns) => ns.iter().zip(x.shape()).map(|(d, &xd)| d.unwrap_or(xd)).collect(),
            None => x.shape().to_vec(),
        };
        let keep = 1.0 - self.rate;
        let u = random::random_uniform(&shape, 0.0, 1.0, DType::Float32, self.seed.map(random::seed_from_f64))?;
        let mask = ops::floor(&ops::add(&u, &Tensor::scalar(keep as f32))?)?;
        Ok(vec![ops::div(&ops::mul(x, &mask)?, &Tensor::scalar(keep as f32))?])
    }
}
