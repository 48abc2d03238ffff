//! RMSProp, plain and centered.

use super::{check_learning_rate, fused, non_negative, unit_closed, Config, Rule, EPSILON};
use crate::error::Result;
use serde_json::{json, Value};

/// With `ms` (`<name>/rms`), `mom` (`<name>/momentum`) and, centered, `mg` (`<name>/mg`), all
/// starting at 0:
/// `ms ← ms·decay + g²·(1 − decay)`;
/// plain:    `mom ← mom·momentum + g·lr / √(ms + ε)`;
/// centered: `mg ← mg·decay + g·(1 − decay)`, `mom ← mom·momentum + g·lr / √(ms − mg² + ε)`
///           (as TensorFlow's `ApplyCenteredRMSProp`; tfjs 4.22 computes √(ms − (mg² + ε)),
///           which is NaN wherever a gradient is zero, e.g. for a dead ReLU unit, and turns
///           every weight it touches into NaN);
/// then `x ← x − mom`.
#[derive(Debug, Clone)]
pub(super) struct RmsProp {
    lr: f64,
    decay: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
}

const CLASS: &str = "RMSProp";

impl RmsProp {
    pub(super) fn new(lr: f64, decay: f64, momentum: f64, epsilon: f64, centered: bool) -> Result<RmsProp> {
        check_learning_rate(CLASS, lr)?;
        unit_closed(CLASS, "decay", decay)?;
        non_negative(CLASS, "momentum", momentum)?;
        non_negative(CLASS, "epsilon", epsilon)?;
        Ok(RmsProp { lr, decay, momentum, epsilon, centered })
    }
    pub(super) fn from_config(c: &Config) -> Result<RmsProp> {
        RmsProp::new(
            c.num("learningRate", None)?,
            c.num("decay", Some(0.9))?,
            c.num("momentum", Some(0.0))?,
            c.num("epsilon", Some(EPSILON))?,
            c.flag("centered", false)?,
        )
    }
}

impl Rule for RmsProp {
    fn class_name(&self) -> &'static str {
        CLASS
    }
    fn state_suffixes(&self) -> &'static [&'static str] {
        if self.centered {
            &["rms", "momentum", "mg"]
        } else {
            &["rms", "momentum"]
        }
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
            "decay": self.decay,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        })
    }
    fn update(&self, x: &[f32], g: &[f32], state: &mut [Vec<f32>]) -> Vec<f32> {
        let lr = self.lr as f32;
        let decay = self.decay as f32;
        let one_minus_decay = (1.0 - self.decay) as f32;
        let momentum = self.momentum as f32;
        let eps = self.epsilon as f32;
        if self.centered {
            fused::<3>(x, g, state, |x, g, [ms, mom, mg]| {
                *ms = *ms * decay + g * g * one_minus_decay;
                *mg = *mg * decay + g * one_minus_decay;
                *mom = *mom * momentum + g * lr / (*ms - *mg * *mg + eps).sqrt();
                x - *mom
            })
        } else {
            fused::<2>(x, g, state, |x, g, [ms, mom]| {
                *ms = *ms * decay + g * g * one_minus_decay;
                *mom = *mom * momentum + g * lr / (*ms + eps).sqrt();
                x - *mom
            })
        }
    }
}
