//! Optimizers (tfjs `tf.train.*`): SGD, Momentum, RMSProp, Adam, Adamax, Adagrad, Adadelta.
//!
//! An [`Optimizer`] owns its per-variable state (moments, accumulators) natively as `f32`
//! buffers keyed by variable id, and updates every variable with one fused loop over its
//! elements: no intermediate tensors, no kernels, nothing recorded on a tape. Each element's
//! arithmetic follows tfjs's op order in `f32`, so results agree with tfjs's CPU backend.
//!
//! `get_weights` / `set_weights` use tfjs's layout: first the iteration count (`iter`, an
//! int32 scalar), then every variable's first state buffer, then every variable's second, …,
//! named `<variable name>/<suffix>` (`/m`, `/v`, `/momentum`, `/rms`, `/mg`, `/accumulator`,
//! `/accum_grad`, `/accum_var`). Weights loaded by `set_weights` are bound to variables on the
//! next `apply_gradients`: by variable name when it matches, else by position (as tfjs does).

mod adagrad;
mod adam;
mod rmsprop;
mod sgd;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use crate::kernels::{PAR_CHUNK, PAR_MIN};
use std::mem::MaybeUninit;
use crate::tensor::{fmt_shape, DType, Tensor, Variable};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// `tf.backend().epsilon()` for float32: the default epsilon of every optimizer that has one.
pub const EPSILON: f64 = 1e-7;

/// One update rule with its hyperparameters (and any per-step scalars it keeps, such as Adam's
/// running `beta^t`).
trait Rule: fmt::Debug + Send + Sync {
    /// The tfjs class name (`SGD`, `Adam`, …), also used in error messages.
    fn class_name(&self) -> &'static str;
    /// Suffixes of the per-variable state buffers, in `getWeights` order.
    fn state_suffixes(&self) -> &'static [&'static str];
    /// The value state buffers start at.
    fn initial_state(&self) -> f32 {
        0.0
    }
    fn learning_rate(&self) -> f64;
    fn set_learning_rate(&mut self, lr: f64);
    /// tfjs `getConfig()`.
    fn config(&self) -> Value;
    /// New values of one variable from its values `x` and gradient `g`; updates `state`
    /// (one buffer per state suffix) in place.
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32>;
    /// Called once per `apply_gradients`, after all variables.
    fn end_step(&mut self) {}
    /// Re-derives per-step scalars after `set_weights` restored the iteration count.
    fn restore_iterations(&mut self, _iterations: u64) {}
}

/// Per-variable state. `var` is `None` for state loaded by `set_weights` and not yet bound.
#[derive(Debug)]
struct Slot {
    var: Option<u64>,
    names: Vec<String>,
    shape: Vec<usize>,
    state: Vec<Vec<f32>>,
}

/// A tfjs optimizer: an update rule plus the iteration count and per-variable state.
#[derive(Debug)]
pub struct Optimizer {
    rule: Box<dyn Rule>,
    iterations: u64,
    slots: Vec<Slot>,
    by_var: HashMap<u64, usize>,
}

/// Where a variable's state comes from in one `apply_gradients` call.
#[derive(Clone, Copy)]
enum Binding {
    Slot(usize),
    New,
}

impl Optimizer {
    fn with_rule(rule: impl Rule + 'static) -> Optimizer {
        Optimizer { rule: Box::new(rule), iterations: 0, slots: Vec::new(), by_var: HashMap::new() }
    }

    /// `tf.train.sgd(learningRate)`.
    pub fn sgd(learning_rate: f64) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(sgd::Sgd::new(learning_rate)?))
    }
    /// `tf.train.momentum(learningRate, momentum, useNesterov = false)`.
    pub fn momentum(learning_rate: f64, momentum: f64, use_nesterov: bool) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(sgd::Momentum::new(learning_rate, momentum, use_nesterov)?))
    }
    /// `tf.train.rmsprop(learningRate, decay = .9, momentum = 0, epsilon = 1e-7, centered = false)`.
    pub fn rmsprop(learning_rate: f64, decay: f64, momentum: f64, epsilon: Option<f64>, centered: bool) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(rmsprop::RmsProp::new(learning_rate, decay, momentum, epsilon.unwrap_or(EPSILON), centered)?))
    }
    /// `tf.train.adam(learningRate = .001, beta1 = .9, beta2 = .999, epsilon = 1e-7)`.
    pub fn adam(learning_rate: f64, beta1: f64, beta2: f64, epsilon: Option<f64>) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(adam::Adam::new(learning_rate, beta1, beta2, epsilon.unwrap_or(EPSILON))?))
    }
    /// `tf.train.adamax(learningRate = .002, beta1 = .9, beta2 = .999, epsilon = 1e-7, decay = 0)`.
    pub fn adamax(learning_rate: f64, beta1: f64, beta2: f64, epsilon: Option<f64>, decay: f64) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(adam::Adamax::new(learning_rate, beta1, beta2, epsilon.unwrap_or(EPSILON), decay)?))
    }
    /// `tf.train.adagrad(learningRate, initialAccumulatorValue = .1)`.
    pub fn adagrad(learning_rate: f64, initial_accumulator_value: f64) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(adagrad::Adagrad::new(learning_rate, initial_accumulator_value)?))
    }
    /// `tf.train.adadelta(learningRate = .001, rho = .95, epsilon = 1e-7)`.
    pub fn adadelta(learning_rate: f64, rho: f64, epsilon: Option<f64>) -> Result<Optimizer> {
        Ok(Optimizer::with_rule(adagrad::Adadelta::new(learning_rate, rho, epsilon.unwrap_or(EPSILON))?))
    }

    /// Builds an optimizer from its name — a tfjs class name (`SGD`, `Momentum`, `RMSProp`,
    /// `Adam`, `Adamax`, `Adagrad`, `Adadelta`) or a `tf.train` function name (`sgd`, …) —
    /// and a tfjs config object (`{learningRate, beta1, …}`; `null` counts as `{}`). Absent
    /// keys take the `tf.train.*` defaults; keys without a default (`learningRate` of sgd,
    /// momentum, rmsprop and adagrad; `momentum` of momentum) are required.
    pub fn from_config(name: &str, config: &Value) -> Result<Optimizer> {
        let class = canonical_class(name).ok_or_else(|| {
            Error::arg(
                "Optimizer.fromConfig",
                format!("expected one of SGD, Momentum, RMSProp, Adam, Adamax, Adagrad, Adadelta (or sgd, momentum, rmsprop, adam, adamax, adagrad, adadelta), got '{name}'"),
            )
        })?;
        let cfg = Config::new(class, config)?;
        Ok(match class {
            "SGD" => Optimizer::with_rule(sgd::Sgd::from_config(&cfg)?),
            "Momentum" => Optimizer::with_rule(sgd::Momentum::from_config(&cfg)?),
            "RMSProp" => Optimizer::with_rule(rmsprop::RmsProp::from_config(&cfg)?),
            "Adam" => Optimizer::with_rule(adam::Adam::from_config(&cfg)?),
            "Adamax" => Optimizer::with_rule(adam::Adamax::from_config(&cfg)?),
            "Adagrad" => Optimizer::with_rule(adagrad::Adagrad::from_config(&cfg)?),
            _ => Optimizer::with_rule(adagrad::Adadelta::from_config(&cfg)?),
        })
    }

    /// The optimizer a string names in `model.compile({optimizer: 'adam'})` (tfjs-layers
    /// `getOptimizer`, with its defaults, which differ from `tf.train.*`'s for some).
    pub fn from_identifier(name: &str) -> Result<Optimizer> {
        match name {
            "Adagrad" | "adagrad" => Optimizer::adagrad(0.01, 0.1),
            "Adadelta" | "adadelta" => Optimizer::adadelta(1.0, 0.95, None),
            "Adam" | "adam" => Optimizer::adam(0.001, 0.9, 0.999, None),
            "Adamax" | "adamax" => Optimizer::adamax(0.002, 0.9, 0.999, None, 0.0),
            "RMSProp" | "rmsprop" => Optimizer::rmsprop(0.001, 0.9, 0.0, None, false),
            "SGD" | "sgd" => Optimizer::sgd(0.01),
            _ => Err(Error::arg("getOptimizer", format!("Unknown Optimizer {name}"))),
        }
    }

    /// The tfjs class name (`SGD`, `Momentum`, `RMSProp`, `Adam`, `Adamax`, `Adagrad`, `Adadelta`).
    pub fn class_name(&self) -> &'static str {
        self.rule.class_name()
    }
    /// tfjs `getConfig()`: the hyperparameters under tfjs's camelCase keys.
    pub fn get_config(&self) -> Value {
        self.rule.config()
    }
    /// How many times `apply_gradients` has run (tfjs `iterations`).
    pub fn iterations(&self) -> u64 {
        self.iterations
    }
    pub fn learning_rate(&self) -> f64 {
        self.rule.learning_rate()
    }
    /// tfjs `setLearningRate`.
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<()> {
        check_learning_rate(self.class_name(), learning_rate)?;
        self.rule.set_learning_rate(learning_rate);
        Ok(())
    }

    /// Updates every variable from its gradient and increments the iteration count (also when
    /// the list is empty, as tfjs does). Everything is checked before any variable changes:
    /// variables must be float32 and each gradient must have its variable's shape.
    pub fn apply_gradients(&mut self, vars_and_grads: &[(Arc<Variable>, Tensor)]) -> Result<()> {
        let class = self.class_name();
        let op = format!("{class}.applyGradients");
        let mut values = Vec::with_capacity(vars_and_grads.len());
        for (var, grad) in vars_and_grads {
            let x = var.read();
            let what = format!("{op} ({})", var.name());
            if x.dtype() != DType::Float32 {
                return Err(Error::dtype(what, "a float32 variable", x.dtype().name()));
            }
            if grad.dtype() == DType::Bool {
                return Err(Error::dtype(what, "a float32 gradient", grad.dtype().name()));
            }
            if grad.shape() != x.shape() {
                return Err(Error::shape(what, format!("a gradient of the variable's shape {}", fmt_shape(x.shape())), fmt_shape(grad.shape())));
            }
            values.push(x);
        }
        let bindings = self.bind(&op, vars_and_grads)?;
        for (((var, _), x), b) in vars_and_grads.iter().zip(&values).zip(&bindings) {
            // A variable listed twice gets new state once.
            if matches!(b, Binding::New) && !self.by_var.contains_key(&var.id()) {
                let n = self.rule.state_suffixes().len();
                self.slots.push(Slot {
                    var: Some(var.id()),
                    names: self.rule.state_suffixes().iter().map(|s| format!("{}/{s}", var.name())).collect(),
                    shape: x.shape().to_vec(),
                    state: vec![vec![self.rule.initial_state(); x.size()]; n],
                });
                self.by_var.insert(var.id(), self.slots.len() - 1);
            }
        }
        for (var, grad) in vars_and_grads {
            // Read again: a variable listed twice sees its first update.
            let x = var.read();
            let idx = self.by_var[&var.id()];
            let g = grad.as_f32();
            let new = self.rule.update(x.f32s(&op)?, &g, &mut self.slots[idx].state);
            var.assign(&Tensor::f32(x.shape().to_vec(), new))?;
        }
        self.rule.end_step();
        self.iterations += 1;
        Ok(())
    }

    /// Decides which state each variable uses: its own, state loaded by `set_weights` (matched
    /// by name, else by position), or new state. Only once every loaded state it picked fits
    /// its variable's shape does it bind them.
    fn bind(&mut self, op: &str, vars_and_grads: &[(Arc<Variable>, Tensor)]) -> Result<Vec<Binding>> {
        let mut planned: HashMap<u64, Binding> = HashMap::new();
        let mut taken: HashSet<usize> = HashSet::new();
        let mut out = Vec::with_capacity(vars_and_grads.len());
        for (i, (var, grad)) in vars_and_grads.iter().enumerate() {
            if let Some(&b) = planned.get(&var.id()) {
                out.push(b);
                continue;
            }
            let b = if let Some(&idx) = self.by_var.get(&var.id()) {
                Binding::Slot(idx)
            } else {
                let free = |idx: usize| self.slots[idx].var.is_none() && !taken.contains(&idx);
                let by_name = (0..self.slots.len()).find(|&idx| free(idx) && base_name(&self.slots[idx].names) == Some(var.name()));
                let by_pos = Some(i).filter(|&idx| idx < self.slots.len() && free(idx));
                match by_name.or(by_pos) {
                    Some(idx) => {
                        let slot = &self.slots[idx];
                        if slot.shape != grad.shape() {
                            return Err(Error::shape(
                                format!("{op} ({})", var.name()),
                                format!("loaded state '{}' to have the variable's shape {}", slot.names.first().map_or("", String::as_str), fmt_shape(grad.shape())),
                                fmt_shape(&slot.shape),
                            ));
                        }
                        taken.insert(idx);
                        Binding::Slot(idx)
                    }
                    None => Binding::New,
                }
            };
            planned.insert(var.id(), b);
            out.push(b);
        }
        for (var, _) in vars_and_grads {
            if let Some(Binding::Slot(idx)) = planned.get(&var.id()) {
                if self.slots[*idx].var.is_none() {
                    self.slots[*idx].var = Some(var.id());
                    self.by_var.insert(var.id(), *idx);
                }
            }
        }
        Ok(out)
    }

    /// tfjs `getWeights()`: `iter` (int32 scalar), then each state kind for every variable.
    pub fn get_weights(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("iter".to_string(), Tensor::i32(vec![], vec![self.iterations as i32]))];
        for k in 0..self.rule.state_suffixes().len() {
            for slot in &self.slots {
                out.push((slot.names[k].clone(), Tensor::f32(slot.shape.clone(), slot.state[k].clone())));
            }
        }
        out
    }

    /// tfjs `setWeights()`: the iteration count first, then the state in `get_weights` order.
    /// Replaces all state; it is bound to variables on the next `apply_gradients`.
    pub fn set_weights(&mut self, weights: Vec<(String, Tensor)>) -> Result<()> {
        let class = self.class_name();
        let op = format!("{class}.setWeights");
        let suffixes = self.rule.state_suffixes();
        let k = suffixes.len();
        let Some(((iter_name, iter), rest)) = weights.split_first() else {
            return Err(Error::arg(op, "expected the iteration count 'iter' as the first weight, got no weights"));
        };
        if iter.size() != 1 || iter.dtype() == DType::Bool {
            return Err(Error::shape(op, format!("the first weight ('{iter_name}') to be the iteration count, a numeric scalar"), format!("{} {}", iter.dtype(), fmt_shape(iter.shape()))));
        }
        let it = iter.to_f32_vec()[0] as f64;
        if !(it.is_finite() && it >= 0.0 && it.fract() == 0.0) {
            return Err(Error::arg(op, format!("the iteration count ('{iter_name}') must be a non-negative integer, got {it}")));
        }
        if k == 0 && !rest.is_empty() {
            return Err(Error::arg(op, format!("{class} has no state weights besides 'iter', got {} more", rest.len())));
        }
        if k > 0 && rest.len() % k != 0 {
            let each = suffixes.iter().map(|s| format!("/{s}")).collect::<Vec<_>>().join(", ");
            return Err(Error::arg(op, format!("expected {k} state weights per variable ({each}) after 'iter', got {}, not a multiple of {k}", rest.len())));
        }
        let n = rest.len().checked_div(k).unwrap_or(0);
        let mut slots = Vec::with_capacity(n);
        for j in 0..n {
            let shape = rest[j].1.shape().to_vec();
            let mut names = Vec::with_capacity(k);
            let mut state = Vec::with_capacity(k);
            for kk in 0..k {
                let (name, t) = &rest[kk * n + j];
                if t.dtype() != DType::Float32 {
                    return Err(Error::dtype(format!("{op} ('{name}')"), "float32", t.dtype().name()));
                }
                if t.shape() != shape.as_slice() {
                    return Err(Error::shape(format!("{op} ('{name}')"), format!("the shape {} of '{}', its variable's first state", fmt_shape(&shape), rest[j].0), fmt_shape(t.shape())));
                }
                names.push(name.clone());
                state.push(t.to_f32_vec());
            }
            slots.push(Slot { var: None, names, shape, state });
        }
        self.slots = slots;
        self.by_var.clear();
        self.iterations = it as u64;
        self.rule.restore_iterations(self.iterations);
        Ok(())
    }
}

fn canonical_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "SGD" | "sgd" => "SGD",
        "Momentum" | "momentum" => "Momentum",
        "RMSProp" | "rmsprop" => "RMSProp",
        "Adam" | "adam" => "Adam",
        "Adamax" | "adamax" => "Adamax",
        "Adagrad" | "adagrad" => "Adagrad",
        "Adadelta" | "adadelta" => "Adadelta",
        _ => return None,
    })
}

/// The variable name of a state weight: its name without the last `/suffix`.
fn base_name(names: &[String]) -> Option<&str> {
    names.first().and_then(|n| n.rsplit_once('/')).map(|(base, _)| base)
}

/// A tfjs config object being read by the optimizer `class`.
pub(crate) struct Config<'a> {
    class: &'static str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Config<'a> {
    fn new(class: &'static str, v: &'a Value) -> Result<Config<'a>> {
        match v {
            Value::Null => Ok(Config { class, map: None }),
            Value::Object(m) => Ok(Config { class, map: Some(m) }),
            other => Err(Error::arg(format!("{class}.fromConfig"), format!("expected a config object, got {other}"))),
        }
    }
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }
    /// A number under `key`; `default` when absent (`None`: the key is required).
    fn num(&self, key: &str, default: Option<f64>) -> Result<f64> {
        match self.get(key) {
            None => default.ok_or_else(|| Error::arg(format!("{}.fromConfig", self.class), format!("config key '{key}' is required"))),
            Some(v) => v.as_f64().ok_or_else(|| Error::arg(format!("{}.fromConfig", self.class), format!("config key '{key}' must be a number, got {v}"))),
        }
    }
    fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(Error::arg(format!("{}.fromConfig", self.class), format!("config key '{key}' must be a boolean, got {v}"))),
        }
    }
}

fn check(class: &str, key: &str, v: f64, ok: bool, expected: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::arg(class, format!("{key} must be {expected}, got {v}")))
    }
}
/// A finite number >= 0.
fn non_negative(class: &str, key: &str, v: f64) -> Result<()> {
    check(class, key, v, v.is_finite() && v >= 0.0, "a finite number >= 0")
}
fn check_learning_rate(class: &str, v: f64) -> Result<()> {
    non_negative(class, "learningRate", v)
}
/// A number in [0, 1) (exponential decay rates whose powers are divided by `1 - rate^t`).
fn unit_open(class: &str, key: &str, v: f64) -> Result<()> {
    check(class, key, v, (0.0..1.0).contains(&v), "a number in [0, 1)")
}
/// A number in [0, 1].
fn unit_closed(class: &str, key: &str, v: f64) -> Result<()> {
    check(class, key, v, (0.0..=1.0).contains(&v), "a number in [0, 1]")
}

/// Runs `f(x, g, state)` over every element, writing the new value to the result and the
/// element's `K` state values back into `state`; in parallel chunks for large variables.
fn fused<const K: usize>(x: &[f32], g: &[f32], state: &mut [Vec<f32>], f: impl Fn(f32, f32, &mut [f32; K]) -> f32 + Sync) -> Vec<f32> {
    debug_assert_eq!(x.len(), g.len());
    let n = x.len();
    let mut bufs = state.iter_mut();
    let states: [&mut [f32]; K] = std::array::from_fn(|_| bufs.next().expect("one state buffer per suffix").as_mut_slice());
    // Every element is written below: no need to zero the buffer first.
    let mut out: Vec<f32> = Vec::with_capacity(n);
    if n < PAR_MIN {
        fused_serial(&mut out.spare_capacity_mut()[..n], x, g, states, &f);
    } else {
        let mut chunks = states.map(|s| s.chunks_mut(PAR_CHUNK));
        let jobs: Vec<_> = out.spare_capacity_mut()[..n]
            .chunks_mut(PAR_CHUNK)
            .zip(x.chunks(PAR_CHUNK))
            .zip(g.chunks(PAR_CHUNK))
            .map(|((o, x), g)| {
                let s: [&mut [f32]; K] = std::array::from_fn(|k| chunks[k].next().expect("state chunk"));
                (o, x, g, s)
            })
            .collect();
        jobs.into_par_iter().for_each(|(o, x, g, s)| fused_serial(o, x, g, s, &f));
    }
    // SAFETY: `fused_serial` wrote all `n` elements.
    unsafe { out.set_len(n) };
    out
}

/// One chunk of [`fused`], compiled for the widest vector unit the CPU has (the update rules
/// are branch-free element-wise arithmetic, which vectorises; results are the same bits).
fn fused_serial<const K: usize>(out: &mut [MaybeUninit<f32>], x: &[f32], g: &[f32], state: [&mut [f32]; K], f: &impl Fn(f32, f32, &mut [f32; K]) -> f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { fused_avx512(out, x, g, state, f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { fused_avx2(out, x, g, state, f) };
        }
    }
    fused_loop(out, x, g, state, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fused_avx512<const K: usize>(out: &mut [MaybeUninit<f32>], x: &[f32], g: &[f32], state: [&mut [f32]; K], f: &impl Fn(f32, f32, &mut [f32; K]) -> f32) {
    fused_loop(out, x, g, state, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fused_avx2<const K: usize>(out: &mut [MaybeUninit<f32>], x: &[f32], g: &[f32], state: [&mut [f32]; K], f: &impl Fn(f32, f32, &mut [f32; K]) -> f32) {
    fused_loop(out, x, g, state, f)
}

#[inline(always)]
fn fused_loop<const K: usize>(out: &mut [MaybeUninit<f32>], x: &[f32], g: &[f32], state: [&mut [f32]; K], f: &impl Fn(f32, f32, &mut [f32; K]) -> f32) {
    let n = out.len();
    // Equal lengths up front let the compiler drop the bounds checks and vectorise.
    let (x, g) = (&x[..n], &g[..n]);
    let state = state.map(|s| &mut s[..n]);
    for i in 0..n {
        let mut s = [0.0f32; K];
        for k in 0..K {
            s[k] = state[k][i];
        }
        out[i].write(f(x[i], g[i], &mut s));
        for k in 0..K {
            state[k][i] = s[k];
        }
    }
}
