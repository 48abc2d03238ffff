//! Weight constraints (tfjs `tf.constraints.*`), applied to a weight after each update.

use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    MaxNorm { max_value: f64, axis: Vec<usize> },
    UnitNorm { axis: Vec<usize> },
    NonNeg,
    MinMaxNorm { min_value: f64, max_value: f64, rate: f64, axis: Vec<usize> },
}

fn axes(cfg: &Value) -> Vec<usize> {
    match cfg.get("axis") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).map(|x| x as usize).collect(),
        Some(v) => v.as_u64().map(|x| vec![x as usize]).unwrap_or_else(|| vec![0]),
        None => vec![0],
    }
}

impl Constraint {
    pub fn parse(op: &str, v: &Value) -> Result<Constraint> {
        let (name, cfg) = match v {
            Value::String(s) => (s.clone(), Value::Null),
            Value::Object(m) => (
                m.get("className").or_else(|| m.get("class_name")).and_then(Value::as_str).unwrap_or("").to_string(),
                m.get("config").cloned().unwrap_or(Value::Null),
            ),
            other => return Err(Error::arg(op, format!("a constraint must be a name or {{className, config}}, got {other}"))),
        };
        let num = |k: &str, alt: &str, d: f64| cfg.get(k).or_else(|| cfg.get(alt)).and_then(Value::as_f64).unwrap_or(d);
        Ok(match name.to_lowercase().replace('_', "").as_str() {
            "maxnorm" => Constraint::MaxNorm { max_value: num("maxValue", "max_value", 2.0), axis: axes(&cfg) },
            "unitnorm" => Constraint::UnitNorm { axis: axes(&cfg) },
            "nonneg" => Constraint::NonNeg,
            "minmaxnorm" => Constraint::MinMaxNorm {
                min_value: num("minValue", "min_value", 0.0),
                max_value: num("maxValue", "max_value", 1.0),
                rate: num("rate", "rate", 1.0),
                axis: axes(&cfg),
            },
            _ => return Err(Error::arg(op, format!("unknown constraint '{name}' (expected maxNorm, unitNorm, nonNeg or minMaxNorm)"))),
        })
    }
    pub fn to_value(&self) -> Value {
        match self {
            Constraint::MaxNorm { max_value, axis } => json!({"className": "MaxNorm", "config": {"maxValue": max_value, "axis": axis}}),
            Constraint::UnitNorm { axis } => json!({"className": "UnitNorm", "config": {"axis": axis}}),
            Constraint::NonNeg => json!({"className": "NonNeg", "config": {}}),
            Constraint::MinMaxNorm { min_value, max_value, rate, axis } => {
                json!({"className": "MinMaxNorm", "config": {"minValue": min_value, "maxValue": max_value, "rate": rate, "axis": axis}})
            }
        }
    }
    /// The constrained value of `w`.
    pub fn apply(&self, w: &Tensor) -> Result<Tensor> {
        let eps = Tensor::scalar(1e-7);
        let norms = |axis: &[usize]| -> Result<Tensor> {
            if axis.iter().any(|&a| a >= w.rank()) {
                return Err(Error::arg("constraint", format!("axis {axis:?} out of range for a weight of rank {}", w.rank())));
            }
            ops::sqrt(&ops::sum(&ops::square(w)?, axis, true)?)
        };
        match self {
            Constraint::NonNeg => ops::relu(w),
            Constraint::UnitNorm { axis } => ops::div(w, &ops::add(&eps, &norms(axis)?)?),
            Constraint::MaxNorm { max_value, axis } => {
                let n = norms(axis)?;
                let desired = crate::engine::run1("ClipByValue", &[n.clone()], &crate::Attrs::new().with("clipValueMin", 0.0).with("clipValueMax", *max_value))?;
                ops::mul(w, &ops::div(&desired, &ops::add(&eps, &n)?)?)
            }
            Constraint::MinMaxNorm { min_value, max_value, rate, axis } => {
                let n = norms(axis)?;
                let clipped = crate::engine::run1("ClipByValue", &[n.clone()], &crate::Attrs::new().with("clipValueMin", *min_value).with("clipValueMax", *max_value))?;
                let desired = ops::add(&ops::mul(&Tensor::scalar(*rate as f32), &clipped)?, &ops::mul(&Tensor::scalar((1.0 - rate) as f32), &n)?)?;
                ops::mul(w, &ops::div(&desired, &ops::add(&eps, &n)?)?)
            }
        }
    }
}
