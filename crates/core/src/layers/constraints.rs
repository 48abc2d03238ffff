//! Weight constraints (tfjs `tf.constraints.*`), applied to a weight after each update.

use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    MaxNorm { max_value: f64, axis: Axis },
    UnitNorm { axis: Axis },
    NonNeg,
    MinMaxNorm { min_value: f64, max_value: f64, rate: f64, axis: Axis },
}

/// The axes a norm is taken over: an integer or a list of them (negative ones count from the
/// end), kept as given so the config reads back as tfjs writes it (default `0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    given: Value,
    axes: Vec<i64>,
}

impl Axis {
    fn read(op: &str, cfg: &Value) -> Result<Axis> {
        let bad = |v: &Value| Error::arg(op, format!("a constraint's axis must be an integer or a list of integers, got {v}"));
        match cfg.get("axis") {
            None | Some(Value::Null) => Ok(Axis { given: json!(0), axes: vec![0] }),
            Some(v @ Value::Array(a)) => {
                let axes = a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>().ok_or_else(|| bad(v))?;
                Ok(Axis { given: v.clone(), axes })
            }
            Some(v) => Ok(Axis { given: v.clone(), axes: vec![v.as_i64().ok_or_else(|| bad(v))?] }),
        }
    }
    /// The axes for a weight of rank `rank`.
    fn resolve(&self, rank: usize) -> Result<Vec<usize>> {
        self.axes
            .iter()
            .map(|&a| {
                let r = rank as i64;
                if a < -r || a >= r {
                    return Err(Error::arg("constraint", format!("axis {} is out of range for a weight of rank {rank}", self.given)));
                }
                Ok((if a < 0 { a + r } else { a }) as usize)
            })
            .collect()
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
            "maxnorm" => Constraint::MaxNorm { max_value: num("maxValue", "max_value", 2.0), axis: Axis::read(op, &cfg)? },
            "unitnorm" => Constraint::UnitNorm { axis: Axis::read(op, &cfg)? },
            "nonneg" => Constraint::NonNeg,
            "minmaxnorm" => Constraint::MinMaxNorm {
                min_value: num("minValue", "min_value", 0.0),
                max_value: num("maxValue", "max_value", 1.0),
                rate: num("rate", "rate", 1.0),
                axis: Axis::read(op, &cfg)?,
            },
            _ => return Err(Error::arg(op, format!("unknown constraint '{name}' (expected maxNorm, unitNorm, nonNeg or minMaxNorm)"))),
        })
    }
    pub fn to_value(&self) -> Value {
        match self {
            Constraint::MaxNorm { max_value, axis } => json!({"className": "MaxNorm", "config": {"maxValue": max_value, "axis": axis.given}}),
            Constraint::UnitNorm { axis } => json!({"className": "UnitNorm", "config": {"axis": axis.given}}),
            Constraint::NonNeg => json!({"className": "NonNeg", "config": {}}),
            Constraint::MinMaxNorm { min_value, max_value, rate, axis } => {
                json!({"className": "MinMaxNorm", "config": {"minValue": min_value, "maxValue": max_value, "rate": rate, "axis": axis.given}})
            }
        }
    }
    /// The constrained value of `w`.
    pub fn apply(&self, w: &Tensor) -> Result<Tensor> {
        let eps = Tensor::scalar(1e-7);
        let norms = |axis: &Axis| -> Result<Tensor> { ops::sqrt(&ops::sum(&ops::square(w)?, &axis.resolve(w.rank())?, true)?) };
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
