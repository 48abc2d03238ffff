//! Adam and Adamax.

use super::{check_learning_rate, fused, non_negative, unit_open, Config, Rule, EPSILON};
use crate::error::Result;
use serde_json::{json, Value};

/// `beta^(t+1)` the way tfjs's `setWeights` recomputes it: `pow` of float32 scalars.
fn beta_power(beta: f64, iterations: u64) -> f32 {
    ((beta as f32) as f64).powf(((iterations + 1) as f32) as f64) as f32
}

/// With `m` (`<name>/m`) and `v` (`<name>/v`) starting at 0, and `b1ᵗ`, `b2ᵗ` the running
/// products `beta^t` of the current step t (1-based, kept as float32 scalars like tfjs's
/// `accBeta1/2`):
/// `m ← m·b1 + g·(1 − b1)`, `v ← v·b2 + g²·(1 − b2)`,
/// `x ← (m/(1 − b1ᵗ)) / (√(v/(1 − b2ᵗ)) + ε) · (−lr) + x`.
#[derive(Debug, Clone)]
pub(super) struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    acc_beta1: f32,
    acc_beta2: f32,
}

impl Adam {
    pub(super) fn new(lr: f64, beta1: f64, beta2: f64, epsilon: f64) -> Result<Adam> {
        check_learning_rate("Adam", lr)?;
        unit_open("Adam", "beta1", beta1)?;
        unit_open("Adam", "beta2", beta2)?;
        non_negative("Adam", "epsilon", epsilon)?;
        Ok(Adam { lr, beta1, beta2, epsilon, acc_beta1: beta1 as f32, acc_beta2: beta2 as f32 })
    }
    pub(super) fn from_config(c: &Config) -> Result<Adam> {
        Adam::new(
            c.num("learningRate", Some(0.001))?,
            c.num("beta1", Some(0.9))?,
            c.num("beta2", Some(0.999))?,
            c.num("epsilon", Some(EPSILON))?,
        )
    }
}

impl Rule for Adam {
    fn class_name(&self) -> &'static str {
        "Adam"
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        &["m", "v"]
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn config(&self) -> Value {
        json!({ "learningRate": self.lr, "beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let (one_minus_b1, one_minus_b2) = ((1.0 - self.beta1) as f32, (1.0 - self.beta2) as f32);
        // The bias corrections as factors: two multiplications instead of two divisions per
        // element (the update is bound by division throughput; results move by an ulp at most).
        let inv_acc1 = 1.0f32 / (1.0f32 - self.acc_beta1);
        let inv_acc2 = 1.0f32 / (1.0f32 - self.acc_beta2);
        let eps = self.epsilon as f32;
        let neg_lr = (-self.lr) as f32;
        fused::<2>(x, g, state, |x, g, [m, v]| {
            *m = *m * b1 + g * one_minus_b1;
            *v = *v * b2 + g * g * one_minus_b2;
            let m_hat = *m * inv_acc1;
            let v_hat = *v * inv_acc2;
            m_hat / (v_hat.sqrt() + eps) * neg_lr + x
        })
    }
    fn end_step(&mut self) {
        self.acc_beta1 *= self.beta1 as f32;
        self.acc_beta2 *= self.beta2 as f32;
    }
    fn restore_iterations(&mut self, iterations: u64) {
        self.acc_beta1 = beta_power(self.beta1, iterations);
        self.acc_beta2 = beta_power(self.beta2, iterations);
    }
}

/// With `m` (`<name>/m`) and `u` (`<name>/v`, the weighted infinity norm) starting at 0, `t`
/// the number of earlier steps and `b1ᵗ` the running product `beta1^(t+1)`:
/// `lrₜ = −lr / (t·decay + 1)`, `m ← m·b1 + g·(1 − b1)`, `u ← max(u·b2, |g|)`,
/// `x ← lrₜ/(1 − b1ᵗ) · m/(u + ε) + x`.
#[derive(Debug, Clone)]
pub(super) struct Adamax {
    lr: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    decay: f64,
    acc_beta1: f32,
    iteration: f32,
}

impl Adamax {
    pub(super) fn new(lr: f64, beta1: f64, beta2: f64, epsilon: f64, decay: f64) -> Result<Adamax> {
        check_learning_rate("Adamax", lr)?;
        unit_open("Adamax", "beta1", beta1)?;
        unit_open("Adamax", "beta2", beta2)?;
        non_negative("Adamax", "epsilon", epsilon)?;
        non_negative("Adamax", "decay", decay)?;
        Ok(Adamax { lr, beta1, beta2, epsilon, decay, acc_beta1: beta1 as f32, iteration: 0.0 })
    }
    pub(super) fn from_config(c: &Config) -> Result<Adamax> {
        Adamax::new(
            c.num("learningRate", Some(0.002))?,
            c.num("beta1", Some(0.9))?,
            c.num("beta2", Some(0.999))?,
            c.num("epsilon", Some(EPSILON))?,
            c.num("decay", Some(0.0))?,
        )
    }
}

/// `Math.max`: NaN when either side is NaN (`f32::max` would drop it).
fn js_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

impl Rule for Adamax {
    fn class_name(&self) -> &'static str {
        "Adamax"
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        &["m", "v"]
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn config(&self) -> Value {
        json!({
            "learningRate": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "epsilon": self.epsilon,
            "decay": self.decay,
        })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let one_minus_b1 = (1.0 - self.beta1) as f32;
        let one_minus_acc1 = 1.0f32 - self.acc_beta1;
        let lr_t = (-self.lr) as f32 / (self.iteration * self.decay as f32 + 1.0);
        let step = lr_t / one_minus_acc1;
        let eps = self.epsilon as f32;
        fused::<2>(x, g, state, |x, g, [m, u]| {
            *m = *m * b1 + g * one_minus_b1;
            *u = js_max(*u * b2, g.abs());
            step * (*m / (*u + eps)) + x
        })
    }
    fn end_step(&mut self) {
        self.iteration += 1.0;
        self.acc_beta1 *= self.beta1 as f32;
    }
    fn restore_iterations(&mut self, iterations: u64) {
        self.iteration = iterations as f32;
        self.acc_beta1 = beta_power(self.beta1, iterations);
    }
}
