//! Normalization layers: BatchNormalization (the `FusedBatchNorm` kernel, batch statistics and
//! moving averages in training, moving statistics at inference) and LayerNormalization.

use super::constraints::Constraint;
use super::core::{read_constraint, read_initializer, read_regularizer};
use super::helpers::{float, i64s_value, norm_axis, one_input, opt_value, read_i64, read_i64s, Weights};
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{fmt_shape, make_weight, shape_of, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::attrs::Attrs;
use crate::engine::{run1, without_tapes};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// `[1, …, d, …, 1]`: `d` at `axes`, 1 elsewhere.
fn broadcast_shape(x: &[usize], axes: &[usize]) -> Vec<usize> {
    (0..x.len()).map(|i| if axes.contains(&i) { x[i] } else { 1 }).collect()
}

/// `BatchNormalization`: normalizes each feature along `axis` (default -1, the channels),
/// `y = gamma·(x - mean)/sqrt(variance + epsilon) + beta`. In training the mean and variance
/// are the batch's (over every other axis), and the moving statistics move towards them:
/// `moving = moving·momentum + batch·(1 - momentum)` (tfjs: the batch variance is the biased
/// one). At inference the moving statistics are used. Output shape = input shape.
///
/// Weights: `gamma` (if `scale`), `beta` (if `center`), then the non-trainable `moving_mean`
/// and `moving_variance`, all `[dim of axis]`.
pub struct BatchNormalization {
    base: BaseConfig,
    axis: i64,
    momentum: f64,
    epsilon: f64,
    center: bool,
    scale: bool,
    beta_initializer: Initializer,
    gamma_initializer: Initializer,
    moving_mean_initializer: Initializer,
    moving_variance_initializer: Initializer,
    beta_regularizer: Option<Regularizer>,
    gamma_regularizer: Option<Regularizer>,
    beta_constraint: Option<Constraint>,
    gamma_constraint: Option<Constraint>,
    weights: Weights,
}

struct BnParams {
    gamma: Option<Tensor>,
    beta: Option<Tensor>,
    moving_mean: Tensor,
    moving_variance: Tensor,
    mean_var: std::sync::Arc<crate::tensor::Variable>,
    var_var: std::sync::Arc<crate::tensor::Variable>,
}

impl BatchNormalization {
    pub fn from_config(r: &mut ConfigReader) -> Result<BatchNormalization> {
        let epsilon = r.f64("epsilon")?.unwrap_or(1e-3);
        if epsilon <= 0.0 {
            return Err(Error::arg(r.layer(), format!("config.epsilon must be positive, got {epsilon}")));
        }
        Ok(BatchNormalization {
            axis: read_i64(r, "axis")?.unwrap_or(-1),
            momentum: r.f64("momentum")?.unwrap_or(0.99),
            epsilon,
            center: r.bool("center")?.unwrap_or(true),
            scale: r.bool("scale")?.unwrap_or(true),
            beta_initializer: read_initializer(r, "betaInitializer", "zeros")?,
            gamma_initializer: read_initializer(r, "gammaInitializer", "ones")?,
            moving_mean_initializer: read_initializer(r, "movingMeanInitializer", "zeros")?,
            moving_variance_initializer: read_initializer(r, "movingVarianceInitializer", "ones")?,
            beta_regularizer: read_regularizer(r, "betaRegularizer")?,
            gamma_regularizer: read_regularizer(r, "gammaRegularizer")?,
            beta_constraint: read_constraint(r, "betaConstraint")?,
            gamma_constraint: read_constraint(r, "gammaConstraint")?,
            base: BaseConfig::read(r)?,
            weights: Weights::new(),
        })
    }

    fn params(&self) -> Result<BnParams> {
        let mut w = self.weights.all().into_iter();
        let gamma = if self.scale { w.next().map(|w| w.var.read()) } else { None };
        let beta = if self.center { w.next().map(|w| w.var.read()) } else { None };
        let (Some(mm), Some(mv)) = (w.next(), w.next()) else { return Err(Error::arg(&self.base.name, "the layer has no moving statistics")) };
        Ok(BnParams { gamma, beta, moving_mean: mm.var.read(), moving_variance: mv.var.read(), mean_var: mm.var, var_var: mv.var })
    }

    /// `FusedBatchNorm` with the parameters (of shape `[d]`) laid out to broadcast along `axis`.
    fn normalize(&self, x: &Tensor, axis: usize, mean: &Tensor, var: &Tensor, p: &BnParams) -> Result<Tensor> {
        let last = axis == x.rank() - 1;
        let bshape = broadcast_shape(x.shape(), &[axis]);
        let lay = |t: &Tensor| if last { Ok(t.clone()) } else { ops::reshape(t, &bshape) };
        let mut ins = vec![x.clone(), lay(mean)?, lay(var)?];
        match (&p.beta, &p.gamma) {
            (Some(b), g) => {
                ins.push(lay(b)?);
                if let Some(g) = g {
                    ins.push(lay(g)?);
                }
            }
            (None, Some(g)) => {
                ins.push(lay(&Tensor::zeros(g.shape(), DType::Float32))?);
                ins.push(lay(g)?);
            }
            (None, None) => {}
        }
        run1("FusedBatchNorm", &ins, &Attrs::new().with("varianceEpsilon", self.epsilon))
    }
}

impl Layer for BatchNormalization {
    super::helpers::layer_common!("BatchNormalization");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("axis".into(), Value::from(self.axis));
        m.insert("momentum".into(), Value::from(self.momentum));
        m.insert("epsilon".into(), Value::from(self.epsilon));
        m.insert("center".into(), Value::from(self.center));
        m.insert("scale".into(), Value::from(self.scale));
        m.insert("betaInitializer".into(), self.beta_initializer.to_value());
        m.insert("gammaInitializer".into(), self.gamma_initializer.to_value());
        m.insert("movingMeanInitializer".into(), self.moving_mean_initializer.to_value());
        m.insert("movingVarianceInitializer".into(), self.moving_variance_initializer.to_value());
        m.insert("betaRegularizer".into(), opt_value(&self.beta_regularizer, Regularizer::to_value));
        m.insert("gammaRegularizer".into(), opt_value(&self.gamma_regularizer, Regularizer::to_value));
        m.insert("betaConstraint".into(), opt_value(&self.beta_constraint, Constraint::to_value));
        m.insert("gammaConstraint".into(), opt_value(&self.gamma_constraint, Constraint::to_value));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        if self.weights.is_built() {
            return Ok(());
        }
        let s = single_shape(&self.base.name, input_shapes)?;
        let axis = norm_axis(&self.base.name, self.axis, s.len())?;
        let dim = s[axis].ok_or_else(|| {
            Error::arg(&self.base.name, format!("axis {axis} of the input must have a known dimension, got input shape {}", fmt_shape(s)))
        })?;
        let (name, t) = (&self.base.name, self.base.trainable);
        self.weights.build_with(|| {
            let mut w = Vec::new();
            if self.scale {
                w.push(make_weight(name, "gamma", &[dim], &self.gamma_initializer, t, self.gamma_regularizer, self.gamma_constraint.clone())?);
            }
            if self.center {
                w.push(make_weight(name, "beta", &[dim], &self.beta_initializer, t, self.beta_regularizer, self.beta_constraint.clone())?);
            }
            w.push(make_weight(name, "moving_mean", &[dim], &self.moving_mean_initializer, false, None, None)?);
            w.push(make_weight(name, "moving_variance", &[dim], &self.moving_variance_initializer, false, None, None)?);
            Ok(w)
        })
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        norm_axis(&self.base.name, self.axis, s.len())?;
        Ok(vec![s.clone()])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.build(&[shape_of(x)])?;
        let x = float(x)?;
        let axis = norm_axis(&self.base.name, self.axis, x.rank())?;
        let p = self.params()?;
        if x.shape()[axis] != p.moving_mean.size() {
            return Err(Error::shape(
                &self.base.name,
                format!("an input with {} features along axis {axis} (as built)", p.moving_mean.size()),
                format!("shape {}", crate::tensor::fmt_shape(x.shape())),
            ));
        }
        if !ctx.training {
            return Ok(vec![self.normalize(&x, axis, &p.moving_mean, &p.moving_variance, &p)?]);
        }
        let reduce: Vec<usize> = (0..x.rank()).filter(|&i| i != axis).collect();
        let mean = ops::mean(&x, &reduce, false)?;
        let centred_on = if axis == x.rank() - 1 { mean.clone() } else { ops::reshape(&mean, &broadcast_shape(x.shape(), &[axis]))? };
        let variance = ops::mean(&ops::binary("SquaredDifference", &x, &centred_on)?, &reduce, false)?;
        let y = self.normalize(&x, axis, &mean, &variance, &p)?;
        // The moving averages are state, not part of what is differentiated.
        without_tapes(|| -> Result<()> {
            let decay = Tensor::scalar((1.0 - self.momentum) as f32);
            for (var, cur, batch) in [(&p.mean_var, &p.moving_mean, &mean), (&p.var_var, &p.moving_variance, &variance)] {
                let delta = ops::mul(&ops::sub(cur, batch)?, &decay)?;
                var.assign(&ops::sub(cur, &delta)?)?;
            }
            Ok(())
        })?;
        Ok(vec![y])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}

/// `LayerNormalization`: normalizes each example over `axis` (default -1; an integer or a list),
/// `y = gamma·(x - mean)/sqrt(variance + epsilon) + beta` with the mean and (biased) variance
/// taken over those axes. Output shape = input shape. Weights: `gamma` (if `scale`), `beta` (if
/// `center`), each of the input's dimensions at `axis`.
pub struct LayerNormalization {
    base: BaseConfig,
    axis: Vec<i64>,
    axis_is_list: bool,
    epsilon: f64,
    center: bool,
    scale: bool,
    beta_initializer: Initializer,
    gamma_initializer: Initializer,
    beta_regularizer: Option<Regularizer>,
    gamma_regularizer: Option<Regularizer>,
    /// The axes resolved at build time: tfjs's config reports them from then on.
    built_axes: OnceLock<Vec<i64>>,
    weights: Weights,
}

impl LayerNormalization {
    pub fn from_config(r: &mut ConfigReader) -> Result<LayerNormalization> {
        let (axis, axis_is_list) = read_i64s(r, "axis")?.unwrap_or((vec![-1], false));
        let epsilon = r.f64("epsilon")?.unwrap_or(1e-3);
        if epsilon <= 0.0 {
            return Err(Error::arg(r.layer(), format!("config.epsilon must be positive, got {epsilon}")));
        }
        Ok(LayerNormalization {
            axis,
            axis_is_list,
            epsilon,
            center: r.bool("center")?.unwrap_or(true),
            scale: r.bool("scale")?.unwrap_or(true),
            beta_initializer: read_initializer(r, "betaInitializer", "zeros")?,
            gamma_initializer: read_initializer(r, "gammaInitializer", "ones")?,
            beta_regularizer: read_regularizer(r, "betaRegularizer")?,
            gamma_regularizer: read_regularizer(r, "gammaRegularizer")?,
            base: BaseConfig::read(r)?,
            built_axes: OnceLock::new(),
            weights: Weights::new(),
        })
    }

    /// The axes resolved against a rank (checked: in range, no duplicates).
    fn axes(&self, rank: usize) -> Result<Vec<usize>> {
        let axes = self.axis.iter().map(|&a| norm_axis(&self.base.name, a, rank)).collect::<Result<Vec<_>>>()?;
        if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
            return Err(Error::arg(&self.base.name, format!("duplicate axes in {:?}", self.axis)));
        }
        Ok(axes)
    }
}

impl Layer for LayerNormalization {
    super::helpers::layer_common!("LayerNormalization");
    fn config(&self) -> Value {
        let mut m = Map::new();
        let axis = match self.built_axes.get() {
            Some(axes) => i64s_value(axes, true),
            None => i64s_value(&self.axis, self.axis_is_list),
        };
        m.insert("axis".into(), axis);
        m.insert("epsilon".into(), Value::from(self.epsilon));
        m.insert("center".into(), Value::from(self.center));
        m.insert("scale".into(), Value::from(self.scale));
        m.insert("betaInitializer".into(), self.beta_initializer.to_value());
        m.insert("gammaInitializer".into(), self.gamma_initializer.to_value());
        m.insert("betaRegularizer".into(), opt_value(&self.beta_regularizer, Regularizer::to_value));
        m.insert("gammaRegularizer".into(), opt_value(&self.gamma_regularizer, Regularizer::to_value));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        if self.weights.is_built() {
            return Ok(());
        }
        let s = single_shape(&self.base.name, input_shapes)?;
        let axes = self.axes(s.len())?;
        let shape = axes
            .iter()
            .map(|&a| s[a].ok_or_else(|| Error::arg(&self.base.name, format!("axis {a} of the input must have a known dimension, got {}", fmt_shape(s)))))
            .collect::<Result<Vec<usize>>>()?;
        let (name, t) = (&self.base.name, self.base.trainable);
        self.weights.build_with(|| {
            let mut w = Vec::new();
            if self.scale {
                w.push(make_weight(name, "gamma", &shape, &self.gamma_initializer, t, self.gamma_regularizer, None)?);
            }
            if self.center {
                w.push(make_weight(name, "beta", &shape, &self.beta_initializer, t, self.beta_regularizer, None)?);
            }
            Ok(w)
        })?;
        let _ = self.built_axes.set(axes.iter().map(|&a| a as i64).collect());
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        self.axes(s.len())?;
        Ok(vec![s.clone()])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.build(&[shape_of(x)])?;
        let x = float(x)?;
        let axes = self.axes(x.rank())?;
        let mean = ops::mean(&x, &axes, true)?;
        let centred = ops::sub(&x, &mean)?;
        let var = ops::mean(&ops::square(&centred)?, &axes, true)?;
        let inv = ops::unary("Rsqrt", &ops::add(&var, &Tensor::scalar(self.epsilon as f32))?)?;
        let mut y = ops::mul(&centred, &inv)?;
        let bshape = broadcast_shape(x.shape(), &axes);
        let mut w = self.weights.values().into_iter();
        let want: usize = bshape.iter().product();
        if self.scale {
            let g = w.next().ok_or_else(|| Error::arg(&self.base.name, "the layer has no gamma"))?;
            if g.size() != want {
                return Err(Error::shape(&self.base.name, format!("an input of the built shape along axes {axes:?}"), crate::tensor::fmt_shape(x.shape())));
            }
            y = ops::mul(&y, &ops::reshape(&g, &bshape)?)?;
        }
        if self.center {
            let b = w.next().ok_or_else(|| Error::arg(&self.base.name, "the layer has no beta"))?;
            if b.size() != want {
                return Err(Error::shape(&self.base.name, format!("an input of the built shape along axes {axes:?}"), crate::tensor::fmt_shape(x.shape())));
            }
            y = ops::add(&y, &ops::reshape(&b, &bshape)?)?;
        }
        Ok(vec![y])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}
