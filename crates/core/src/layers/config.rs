//! Reading a layer's JS config object: typed getters that name the layer and the field in
//! their errors, and a final check that every key was one the layer knows (a typo is a real
//! bug: the error names the closest known key). Configs read from model files are lenient.

use super::Shape;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};

thread_local! {
    /// Set while a layer is built from a model file: every reader created meanwhile, including
    /// the readers of nested configs (a wrapper's `layer`, an RNN's `cell`), is lenient.
    static FILE_CONFIG: Cell<bool> = const { Cell::new(false) };
}

/// Makes the config readers created on this thread lenient until dropped.
pub struct FileConfigScope {
    previous: bool,
}

impl FileConfigScope {
    pub fn enter() -> FileConfigScope {
        FileConfigScope { previous: FILE_CONFIG.with(|f| f.replace(true)) }
    }
}

impl Drop for FileConfigScope {
    fn drop(&mut self) {
        FILE_CONFIG.with(|f| f.set(self.previous));
    }
}

pub struct ConfigReader {
    layer: String,
    map: Map<String, Value>,
    asked: RefCell<Vec<String>>,
    lenient: bool,
}

impl ConfigReader {
    pub fn new(layer: &str, config: &Value) -> Result<ConfigReader> {
        let map = match config {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            other => return Err(Error::arg(layer, format!("the config must be an object, got {other}"))),
        };
        let lenient = FILE_CONFIG.with(Cell::get);
        Ok(ConfigReader { layer: layer.to_string(), map, asked: RefCell::new(Vec::new()), lenient })
    }
    /// Unknown keys are ignored (for configs written by other tools).
    pub fn lenient(mut self) -> ConfigReader {
        self.lenient = true;
        self
    }
    pub fn layer(&self) -> &str {
        &self.layer
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.asked.borrow_mut().push(key.to_string());
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }
    fn bad(&self, key: &str, want: &str) -> Error {
        let given = self.map.get(key).map(|v| v.to_string()).unwrap_or_default();
        Error::arg(&self.layer, format!("config.{key} must be {want}, got {given}"))
    }
    pub fn skip(&self, key: &str) {
        self.asked.borrow_mut().push(key.to_string());
    }
    pub fn value(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }
    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.bad(key, "a boolean")),
        }
    }
    pub fn f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().filter(|f| f.is_finite()).map(Some).ok_or_else(|| self.bad(key, "a finite number")),
        }
    }
    /// A number in `[lo, hi]`.
    pub fn f64_in(&self, key: &str, lo: f64, hi: f64) -> Result<Option<f64>> {
        match self.f64(key)? {
            Some(v) if v < lo || v > hi => Err(self.bad(key, &format!("a number in [{lo}, {hi}]"))),
            v => Ok(v),
        }
    }
    pub fn usize(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 => Ok(Some(f as usize)),
                _ => Err(self.bad(key, "a non-negative integer")),
            },
        }
    }
    /// A positive integer (units, filters, …).
    pub fn positive(&self, key: &str) -> Result<Option<usize>> {
        match self.usize(key)? {
            Some(0) => Err(self.bad(key, "a positive integer")),
            v => Ok(v),
        }
    }
    /// An integer or a list of `n` integers (kernelSize, strides, …).
    pub fn ints(&self, key: &str, n: usize) -> Result<Option<Vec<usize>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(x)) => match x.as_f64() {
                Some(f) if f >= 1.0 && f.fract() == 0.0 => Ok(Some(vec![f as usize; n])),
                _ => Err(self.bad(key, "a positive integer or a list of them")),
            },
            Some(Value::Array(a)) if a.len() == n => a
                .iter()
                .map(|v| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as usize))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.bad(key, &format!("a list of {n} non-negative integers"))),
            Some(_) => Err(self.bad(key, &format!("an integer or a list of {n} integers"))),
        }
    }
    /// A shape (list of integers or nulls).
    pub fn shape(&self, key: &str) -> Result<Option<Shape>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::Null => Some(None),
                    v => v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| Some(f as usize)),
                })
                .collect::<Option<Shape>>()
                .map(Some)
                .ok_or_else(|| self.bad(key, "a list of non-negative integers (or null)")),
            Some(_) => Err(self.bad(key, "a list of non-negative integers (or null)")),
        }
    }
    /// One of `options`.
    pub fn choice(&self, key: &str, options: &[&str]) -> Result<Option<String>> {
        match self.string(key)? {
            Some(s) if !options.contains(&s.as_str()) => Err(self.bad(key, &format!("one of {}", options.join(", ")))),
            v => Ok(v),
        }
    }
    /// Fails on keys no getter asked for, naming the closest known key.
    pub fn finish(&self) -> Result<()> {
        if self.lenient {
            return Ok(());
        }
        let asked = self.asked.borrow();
        for key in self.map.keys() {
            if !asked.iter().any(|a| a == key) {
                let closest = asked.iter().min_by_key(|a| edit_distance(a, key)).cloned().unwrap_or_default();
                return Err(Error::arg(&self.layer, format!("unknown config field '{key}' (did you mean '{closest}'?)")));
            }
        }
        Ok(())
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + (a[i - 1] != b[j - 1]) as usize;
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
