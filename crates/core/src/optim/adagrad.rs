//! Adagrad and Adadelta.

use super::{check_learning_rate, fused, non_negative, unit_closed, Config, Rule, EPSILON};
use crate::error::Result;
use serde_json::{json, Value};

/// With `acc` (`<name>/accumulator`) starting at `initialAccumulatorValue` and ε the backend
/// epsilon (1e-7): `acc ← acc + g²`, `x ← g/√(acc + ε) · (−lr) + x`.
#[derive(Debug, Clone)]
pub(super) struct Adagrad {
    lr: f64,
    initial_accumulator_value: f64,
}

impl Adagrad {
    pub(super) fn new(lr: f64, initial_accumulator_value: f64) -> Result<Adagrad> {
        check_learning_rate("Adagrad", lr)?;
        non_negative("Adagrad", "initialAccumulatorValue", initial_accumulator_value)?;
        Ok(Adagrad { lr, initial_accumulator_value })
    }
    pub(super) fn from_config(c: &Config) -> Result<Adagrad> {
        Adagrad::new(c.num("learningRate", None)?, c.num("initialAccumulatorValue", Some(0.1))?)
    }
}

impl Rule for Adagrad {
    fn class_name(&self) -> &'static str {
        "Adagrad"
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        &["accumulator"]
    }
    fn initial_state(&self) -> f32 {
        self.initial_accumulator_value as f32
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn config(&self) -> Value {
        json!({ "learningRate": self.lr, "initialAccumulatorValue": self.initial_accumulator_value })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let eps = EPSILON as f32;
        let neg_lr = (-self.lr) as f32;
        fused::<1>(x, g, state, |x, g, [acc]| {
            *acc += g * g;
            g / (*acc + eps).sqrt() * neg_lr + x
        })
    }
}

/// With `ag` (`<name>/accum_grad`) and `au` (`<name>/accum_var`) starting at 0:
/// `u = √(au + ε)/√(ag + ε) · g` (with the accumulated gradient from *before* this step, as
/// tfjs computes it), `ag ← ag·ρ + g²·(1 − ρ)`, `au ← au·ρ + u²·(1 − ρ)`, `x ← u·(−lr) + x`.
#[derive(Debug, Clone)]
pub(super) struct Adadelta {
    lr: f64,
    rho: f64,
    epsilon: f64,
}

impl Adadelta {
    pub(super) fn new(lr: f64, rho: f64, epsilon: f64) -> Result<Adadelta> {
        check_learning_rate("Adadelta", lr)?;
        unit_closed("Adadelta", "rho", rho)?;
        non_negative("Adadelta", "epsilon", epsilon)?;
        Ok(Adadelta { lr, rho, epsilon })
    }
    pub(super) fn from_config(c: &Config) -> Result<Adadelta> {
        Adadelta::new(c.num("learningRate", Some(0.001))?, c.num("rho", Some(0.95))?, c.num("epsilon", Some(EPSILON))?)
    }
}

impl Rule for Adadelta {
    fn class_name(&self) -> &'static str {
        "Adadelta"
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        &["accum_grad", "accum_var"]
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn config(&self) -> Value {
        json!({ "learningRate": self.lr, "rho": self.rho, "epsilon": self.epsilon })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let rho = self.rho as f32;
        let one_minus_rho = (1.0 - self.rho) as f32;
        let eps = self.epsilon as f32;
        let neg_lr = (-self.lr) as f32;
        fused::<2>(x, g, state, |x, g, [ag, au]| {
            let u = (*au + eps).sqrt() / (*ag + eps).sqrt() * g;
            *ag = *ag * rho + g * g * one_minus_rho;
            *au = *au * rho + u * u * one_minus_rho;
            u * neg_lr + x
        })
    }
}
