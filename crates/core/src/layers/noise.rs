//! Regularization by noise, active only in training (identity at inference): GaussianNoise,
//! GaussianDropout and AlphaDropout. Output shape = input shape.

use super::helpers::{float, one_input};
use super::{single_shape, BaseConfig, CallContext, ConfigReader, Layer, Shape};
use crate::engine::without_tapes;
use crate::error::{Error, Result};
use crate::ops;
use crate::random;
use crate::tensor::{DType, Tensor};
use serde_json::{Map, Value};

fn rate_in_unit(r: &ConfigReader) -> Result<f64> {
    let rate = r.f64("rate")?.ok_or_else(|| Error::arg(r.layer(), "config.rate is required (a number in [0, 1))"))?;
    if !(0.0..1.0).contains(&rate) {
        return Err(Error::arg(r.layer(), format!("config.rate must be a number in [0, 1), got {rate}")));
    }
    Ok(rate)
}

/// `GaussianNoise`: in training adds zero-mean Gaussian noise of standard deviation `stddev`.
pub struct GaussianNoise {
    base: BaseConfig,
    stddev: f64,
}

impl GaussianNoise {
    pub fn from_config(r: &mut ConfigReader) -> Result<GaussianNoise> {
        let stddev = r.f64("stddev")?.ok_or_else(|| Error::arg(r.layer(), "config.stddev is required (a non-negative number)"))?;
        if stddev < 0.0 {
            return Err(Error::arg(r.layer(), format!("config.stddev must be non-negative, got {stddev}")));
        }
        Ok(GaussianNoise { stddev, base: BaseConfig::read(r)? })
    }
}

impl Layer for GaussianNoise {
    super::helpers::layer_common!("GaussianNoise");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("stddev".into(), Value::from(self.stddev));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![single_shape(&self.base.name, input_shapes)?.clone()])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        if !ctx.training {
            return Ok(vec![x.clone()]);
        }
        let noise = random::random_normal(x.shape(), 0.0, self.stddev, DType::Float32, None)?;
        Ok(vec![ops::add(&float(x)?, &noise)?])
    }
}

/// `GaussianDropout`: in training multiplies by Gaussian noise of mean 1 and standard deviation
/// `sqrt(rate / (1 - rate))`.
pub struct GaussianDropout {
    base: BaseConfig,
    rate: f64,
}

impl GaussianDropout {
    pub fn from_config(r: &mut ConfigReader) -> Result<GaussianDropout> {
        Ok(GaussianDropout { rate: rate_in_unit(r)?, base: BaseConfig::read(r)? })
    }
}

impl Layer for GaussianDropout {
    super::helpers::layer_common!("GaussianDropout");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("rate".into(), Value::from(self.rate));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![single_shape(&self.base.name, input_shapes)?.clone()])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        if !ctx.training || self.rate == 0.0 {
            return Ok(vec![x.clone()]);
        }
        let stddev = (self.rate / (1.0 - self.rate)).sqrt();
        let noise = random::random_normal(x.shape(), 1.0, stddev, DType::Float32, None)?;
        Ok(vec![ops::mul(&float(x)?, &noise)?])
    }
}

/// `AlphaDropout`: dropout that keeps the mean and variance of SELU activations. In training
/// each kept value is `a·x + b` and each dropped one `a·α' + b`, with `α' = -1.7581…` (SELU's
/// negative saturation) and `a`, `b` fixed by `rate`. `noiseShape` (unknown dimensions taken
/// from the input) shares the drop decisions along its unit dimensions; as in tfjs, `getConfig`
/// reports only `rate`.
pub struct AlphaDropout {
    base: BaseConfig,
    rate: f64,
    noise_shape: Option<Shape>,
}

impl AlphaDropout {
    pub fn from_config(r: &mut ConfigReader) -> Result<AlphaDropout> {
        Ok(AlphaDropout { rate: rate_in_unit(r)?, noise_shape: r.shape("noiseShape")?, base: BaseConfig::read(r)? })
    }
}

impl Layer for AlphaDropout {
    super::helpers::layer_common!("AlphaDropout");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("rate".into(), Value::from(self.rate));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![single_shape(&self.base.name, input_shapes)?.clone()])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        if !ctx.training || self.rate == 0.0 {
            return Ok(vec![x.clone()]);
        }
        let shape: Vec<usize> = match &self.noise_shape {
            Some(ns) if ns.len() == x.rank() => ns.iter().zip(x.shape()).map(|(d, &xd)| d.unwrap_or(xd)).collect(),
            Some(ns) => {
                return Err(Error::arg(&self.base.name, format!("noiseShape {} does not fit an input of rank {}", super::fmt_shape(ns), x.rank())));
            }
            None => x.shape().to_vec(),
        };
        const ALPHA: f64 = 1.673_263_242_354_377_3;
        const SCALE: f64 = 1.050_700_987_355_480_5;
        let alpha_p = -ALPHA * SCALE;
        let rate = self.rate;
        let kept = without_tapes(|| -> Result<Tensor> {
            let u = random::random_uniform(&shape, 0.0, 1.0, DType::Float32, None)?;
            ops::cast(&ops::greater_equal(&u, &Tensor::scalar(rate as f32))?, DType::Float32)
        })?;
        let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
        let b = -a * alpha_p * rate;
        // x·kept + (kept - 1)·α', then scaled and shifted.
        let dropped = ops::mul(&ops::sub(&kept, &Tensor::scalar(1.0))?, &Tensor::scalar(alpha_p as f32))?;
        let y = ops::add(&ops::mul(&float(x)?, &kept)?, &dropped)?;
        Ok(vec![ops::add(&ops::mul(&y, &Tensor::scalar(a as f32))?, &Tensor::scalar(b as f32))?])
    }
}
