//! Kernel attributes: the non-tensor arguments of a kernel, as tfjs passes them (a plain
//! object of numbers, booleans, strings and arrays). Getters name the kernel in their errors.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(pub Map<String, Value>);

impl Attrs {
    pub fn new() -> Attrs {
        Attrs(Map::new())
    }
    pub fn from_value(v: Value) -> Attrs {
        match v {
            Value::Object(m) => Attrs(m),
            _ => Attrs::new(),
        }
    }
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Attrs {
        self.0.insert(key.to_string(), v.into());
        self
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.0.get(key) {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        }
    }
    pub fn f64(&self, op: &str, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| Error::arg(op, format!("attribute '{key}' must be a number, got {}", self.show(key))))
    }
    pub fn f64_or(&self, op: &str, key: &str, default: f64) -> Result<f64> {
        if self.get(key).is_none() { Ok(default) } else { self.f64(op, key) }
    }
    pub fn i64(&self, op: &str, key: &str) -> Result<i64> {
        let v = self.f64(op, key)?;
        if v.fract() != 0.0 {
            return Err(Error::arg(op, format!("attribute '{key}' must be an integer, got {v}")));
        }
        Ok(v as i64)
    }
    pub fn i64_or(&self, op: &str, key: &str, default: i64) -> Result<i64> {
        if self.get(key).is_none() { Ok(default) } else { self.i64(op, key) }
    }
    pub fn bool_or(&self, op: &str, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Error::arg(op, format!("attribute '{key}' must be a boolean, got {}", self.show(key)))),
        }
    }
    pub fn str_or<'a>(&'a self, op: &str, key: &str, default: &'a str) -> Result<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(Error::arg(op, format!("attribute '{key}' must be a string, got {}", self.show(key)))),
        }
    }
    /// A list of integers; a single number is taken as a one-element list.
    pub fn i64s(&self, op: &str, key: &str) -> Result<Option<Vec<i64>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(vec![n.as_f64().unwrap_or(0.0) as i64])),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64).ok_or_else(|| {
                        Error::arg(op, format!("attribute '{key}' must be a list of integers, got {}", self.show(key)))
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(Error::arg(op, format!("attribute '{key}' must be a list of integers, got {}", self.show(key)))),
        }
    }
    fn show(&self, key: &str) -> String {
        self.0.get(key).map(|v| v.to_string()).unwrap_or_else(|| "nothing".into())
    }
}

/// Resolves a possibly negative axis against `rank` (tfjs `parseAxisParam`).
pub fn norm_axis(op: &str, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r.max(1) && !(rank == 0 && axis == 0) {
        return Err(Error::arg(op, format!("axis must be in [{}, {}), got {axis}", -r, r.max(1))));
    }
    Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
}

/// The axes a reduction runs over: all when `axis` is absent.
pub fn reduction_axes(op: &str, attrs: &Attrs, rank: usize) -> Result<Vec<usize>> {
    let mut axes = match attrs.i64s(op, "axis")? {
        None => (0..rank).collect(),
        Some(list) => list.into_iter().map(|a| norm_axis(op, a, rank)).collect::<Result<Vec<_>>>()?,
    };
    axes.sort_unstable();
    axes.dedup();
    Ok(axes)
}
