//! Pieces the built-in layer modules share: the trait methods every layer writes the same way,
//! data formats and paddings as tfjs spells them, integer tuples, the weight list of a layer,
//! and tfjs's `convOutputLength`.

use super::{fmt_shape, ConfigReader, LayerWeight, Shape};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use serde_json::Value;
use std::sync::RwLock;

/// `class_name`, `name` and `batch_input_shape` of a layer struct with a `base: BaseConfig`.
macro_rules! layer_common {
    ($class:literal) => {
        fn class_name(&self) -> &'static str {
            $class
        }
        fn name(&self) -> &str {
            &self.base.name
        }
        fn batch_input_shape(&self) -> Option<$crate::layers::Shape> {
            self.base.batch_input_shape.clone()
        }
    };
}
pub(crate) use layer_common;

pub fn opt_value<T>(v: &Option<T>, f: impl Fn(&T) -> Value) -> Value {
    v.as_ref().map(f).unwrap_or(Value::Null)
}

pub fn ints_value(v: &[usize]) -> Value {
    Value::Array(v.iter().map(|&d| Value::from(d)).collect())
}

/// `dataFormat`: true for `'channelsLast'` (the default).
pub fn read_data_format(r: &ConfigReader) -> Result<bool> {
    Ok(r.choice("dataFormat", &["channelsLast", "channelsFirst"])?.as_deref() != Some("channelsFirst"))
}

pub fn data_format_value(channels_last: bool) -> Value {
    Value::from(if channels_last { "channelsLast" } else { "channelsFirst" })
}

/// `padding`: true for `'same'`, false for `'valid'` (the default). tfjs accepts `'causal'` in
/// configs but implements it nowhere, so it is refused here up front.
pub fn read_padding(r: &ConfigReader) -> Result<bool> {
    match r.choice("padding", &["valid", "same", "causal"])?.as_deref() {
        Some("causal") => Err(Error::arg(r.layer(), "padding 'causal' is not supported (tfjs implements only 'valid' and 'same')")),
        Some("same") => Ok(true),
        _ => Ok(false),
    }
}

pub fn padding_value(same: bool) -> Value {
    Value::from(if same { "same" } else { "valid" })
}

/// An integer or a list of `n` positive integers (kernelSize, strides, …), `default` if absent.
pub fn read_tuple(r: &ConfigReader, key: &str, n: usize, default: Option<usize>) -> Result<Vec<usize>> {
    let v = match (r.ints(key, n)?, default) {
        (Some(v), _) => v,
        (None, Some(d)) => vec![d; n],
        (None, None) => return Err(Error::arg(r.layer(), format!("config.{key} is required (an integer or a list of {n} integers)"))),
    };
    if v.contains(&0) {
        return Err(Error::arg(r.layer(), format!("config.{key} must be positive, got {v:?}")));
    }
    Ok(v)
}

/// The one input of a single-input layer.
pub fn one_input<'a>(layer: &str, inputs: &'a [Tensor]) -> Result<&'a Tensor> {
    super::expect_inputs(layer, inputs.len(), 1)?;
    Ok(&inputs[0])
}

/// Checks the rank of a (symbolic or concrete) input.
pub fn expect_rank(layer: &str, what: &str, shape: &Shape, rank: usize) -> Result<()> {
    if shape.len() != rank {
        return Err(Error::shape(layer, format!("{what} of rank {rank}"), format!("shape {}", fmt_shape(shape))));
    }
    Ok(())
}

pub fn float(x: &Tensor) -> Result<Tensor> {
    ops::cast(x, DType::Float32)
}

/// tfjs `convOutputLength`: the length of a conv/pool output along one axis.
pub fn conv_out_len(layer: &str, len: Option<usize>, k: usize, same: bool, stride: usize, dilation: usize) -> Result<Option<usize>> {
    let Some(len) = len else { return Ok(None) };
    let eff = k + (k - 1) * (dilation - 1);
    let out = if same {
        len
    } else if len + 1 >= eff {
        len + 1 - eff
    } else {
        return Err(Error::shape(layer, format!("an input dimension of at least {eff} (the window size)"), len.to_string()));
    };
    Ok(Some(out.div_ceil(stride)))
}

/// A layer's weights, created once by `build`.
#[derive(Default)]
pub struct Weights(RwLock<Vec<LayerWeight>>);

impl Weights {
    pub fn new() -> Weights {
        Weights::default()
    }
    pub fn is_built(&self) -> bool {
        !self.0.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }
    /// Creates the weights with `make` unless they exist.
    pub fn build_with(&self, make: impl FnOnce() -> Result<Vec<LayerWeight>>) -> Result<()> {
        let mut w = self.0.write().unwrap_or_else(|e| e.into_inner());
        if w.is_empty() {
            *w = make()?;
        }
        Ok(())
    }
    pub fn all(&self) -> Vec<LayerWeight> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// The current values, in creation order.
    pub fn values(&self) -> Vec<Tensor> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).iter().map(|w| w.var.read()).collect()
    }
}

/// An integer (possibly negative) config field.
pub fn read_i64(r: &ConfigReader, key: &str) -> Result<Option<i64>> {
    match r.value(key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.is_finite() => Ok(Some(f as i64)),
            _ => Err(Error::arg(r.layer(), format!("config.{key} must be an integer, got {v}"))),
        },
    }
}

/// An integer or a list of integers (axes, …); the flag says whether it was a list.
pub fn read_i64s(r: &ConfigReader, key: &str) -> Result<Option<(Vec<i64>, bool)>> {
    let int = |v: &Value| v.as_f64().filter(|f| f.fract() == 0.0 && f.is_finite()).map(|f| f as i64);
    match r.value(key) {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(int)
            .collect::<Option<Vec<i64>>>()
            .map(|v| Some((v, true)))
            .ok_or_else(|| Error::arg(r.layer(), format!("config.{key} must be an integer or a list of integers, got {}", Value::Array(a.clone())))),
        Some(v) => int(&v)
            .map(|i| Some((vec![i], false)))
            .ok_or_else(|| Error::arg(r.layer(), format!("config.{key} must be an integer or a list of integers, got {v}"))),
    }
}

/// Resolves a possibly negative axis against a rank.
pub fn norm_axis(layer: &str, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(Error::arg(layer, format!("axis {axis} is out of range for an input of rank {rank}")));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

pub fn i64s_value(v: &[i64], list: bool) -> Value {
    if list || v.len() != 1 { Value::Array(v.iter().map(|&d| Value::from(d)).collect()) } else { Value::from(v[0]) }
}
