//! Plain SGD and SGD with (optionally Nesterov) momentum.

use super::{check_learning_rate, fused, non_negative, Config, Rule};
use crate::error::Result;
use serde_json::{json, Value};

/// `x ← x − lr·g`.
#[derive(Debug, Clone)]
pub(super) struct Sgd {
    lr: f64,
}

impl Sgd {
    pub(super) fn new(lr: f64) -> Result<Sgd> {
        check_learning_rate("SGD", lr)?;
        Ok(Sgd { lr })
    }
    pub(super) fn from_config(c: &Config) -> Result<Sgd> {
        Sgd::new(c.num("learningRate", None)?)
    }
}

impl Rule for Sgd {
    fn class_name(&self) -> &'static str {
        "SGD"
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        &[]
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn config(&self) -> Value {
        json!({ "learningRate": self.lr })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let c = (-self.lr) as f32;
        fused::<0>(x, g, state, |x, g, _| c * g + x)
    }
}

/// With `a` the accumulation (`<name>/momentum`, starting at 0) and `c = −lr`:
/// `a ← m·a + g`, then `x ← x + c·a`, or with Nesterov `x ← x + c·(g + a·m)`.
#[derive(Debug, Clone)]
pub(super) struct Momentum {
    lr: f64,
    momentum: f64,
    use_nesterov: bool,
}

impl Momentum {
    pub(super) fn new(lr: f64, momentum: f64, use_nesterov: bool) -> Result<Momentum> {
        check_learning_rate("Momentum", lr)?;
        non_negative("Momentum", "momentum", momentum)?;
        Ok(Momentum { lr, momentum, use_nesterov })
    }
    pub(super) fn from_config(c: &Config) -> Result<Momentum> {
        Momentum::new(c.num("learningRate", None)?, c.num("momentum", None)?, c.flag("useNesterov", false)?)
    }
}

impl Rule for Momentum {
    fn class_name(&self) -> &'static str {
        "Momentum"
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        &["momentum"]
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn config(&self) -> Value {
        json!({ "learningRate": self.lr, "momentum": self.momentum, "useNesterov": self.use_nesterov })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let c = (-self.lr) as f32;
        let m = self.momentum as f32;
        if self.use_nesterov {
            fused::<1>(x, g, state, |x, g, [a]| {
                *a = m * *a + g;
                c * (g + *a * m) + x
            })
        } else {
            fused::<1>(x, g, state, |x, g, [a]| {
                *a = m * *a + g;
                c * *a + x
            })
        }
    }
}
