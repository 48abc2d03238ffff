//! Weight regularizers (tfjs `tf.regularizers.l1/l2/l1l2`): their penalties enter the loss.

use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regularizer {
    pub l1: f64,
    pub l2: f64,
}

impl Regularizer {
    pub fn parse(op: &str, v: &Value) -> Result<Regularizer> {
        let (name, cfg) = match v {
            Value::String(s) => (s.clone(), Value::Null),
            Value::Object(m) => (
                m.get("className").or_else(|| m.get("class_name")).and_then(Value::as_str).unwrap_or("").to_string(),
                m.get("config").cloned().unwrap_or(Value::Null),
            ),
            other => return Err(Error::arg(op, format!("a regularizer must be 'l1', 'l2', 'l1l2' or {{className, config}}, got {other}"))),
        };
        let num = |k: &str, d: f64| cfg.get(k).and_then(Value::as_f64).unwrap_or(d);
        let r = match name.to_lowercase().replace('_', "").as_str() {
            "l1" => Regularizer { l1: num("l1", 0.01), l2: 0.0 },
            "l2" => Regularizer { l1: 0.0, l2: num("l2", 0.01) },
            "l1l2" => Regularizer { l1: num("l1", 0.01), l2: num("l2", 0.01) },
            _ => return Err(Error::arg(op, format!("unknown regularizer '{name}' (expected l1, l2 or l1l2)"))),
        };
        if !(r.l1 >= 0.0 && r.l2 >= 0.0) {
            return Err(Error::arg(op, format!("regularizer factors must be non-negative, got l1={} l2={}", r.l1, r.l2)));
        }
        Ok(r)
    }
    pub fn to_value(&self) -> Value {
        json!({"className": "L1L2", "config": {"l1": self.l1, "l2": self.l2}})
    }
    /// l1·Σ|w| + l2·Σw², as ops (so it is differentiated with the loss).
    pub fn penalty(&self, w: &Tensor) -> Result<Tensor> {
        let all: Vec<usize> = (0..w.rank()).collect();
        let mut total = Tensor::scalar(0.0);
        if self.l1 != 0.0 {
            total = ops::add(&total, &ops::mul(&Tensor::scalar(self.l1 as f32), &ops::sum(&ops::abs(w)?, &all, false)?)?)?;
        }
        if self.l2 != 0.0 {
            total = ops::add(&total, &ops::mul(&Tensor::scalar(self.l2 as f32), &ops::sum(&ops::square(w)?, &all, false)?)?)?;
        }
        Ok(total)
    }
}
