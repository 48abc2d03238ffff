//! What training reports: the logs of a batch or an epoch, the history `fit` returns, and the
//! observer (tfjs callbacks) that hears about each stage as it happens.

use crate::error::Result;

/// Named values, in insertion order (a tfjs `Logs` object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs(pub Vec<(String, f64)>);

impl Logs {
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
    pub fn set(&mut self, key: &str, v: f64) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = v,
            None => self.0.push((key.to_string(), v)),
        }
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
}

/// What `fit` returns: the epochs run and, per log key, one value per epoch that logged it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub epoch: Vec<usize>,
    pub history: Vec<(String, Vec<f64>)>,
}

impl History {
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        self.history.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }
    pub(crate) fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epoch.push(epoch);
        for (k, v) in &logs.0 {
            match self.history.iter_mut().find(|(h, _)| h == k) {
                Some((_, vs)) => vs.push(*v),
                None => self.history.push((k.clone(), vec![*v])),
            }
        }
    }
}

/// What observers learn when training begins (tfjs callback `params`).
#[derive(Debug, Clone, PartialEq)]
pub struct FitParams {
    pub epochs: usize,
    pub initial_epoch: usize,
    /// Training samples (after any validation split).
    pub samples: usize,
    /// `stepsPerEpoch` when given.
    pub steps: Option<usize>,
    pub batch_size: usize,
    pub do_validation: bool,
    /// Every key the epoch logs may hold.
    pub metrics: Vec<String>,
}

/// Callbacks of a `fit` (tfjs `BaseCallback`), called on the training thread in tfjs's order.
/// An error aborts training with that error; `true` from `on_batch_end`/`on_epoch_end` stops
/// it after that batch or epoch (tfjs `model.stopTraining = true`).
pub trait FitObserver {
    fn on_train_begin(&mut self, _params: &FitParams) -> Result<()> {
        Ok(())
    }
    fn on_epoch_begin(&mut self, _epoch: usize) -> Result<()> {
        Ok(())
    }
    fn on_batch_begin(&mut self, _batch: usize) -> Result<()> {
        Ok(())
    }
    /// `logs` holds `batch`, `size` and the step's values.
    fn on_batch_end(&mut self, _batch: usize, _logs: &Logs) -> Result<bool> {
        Ok(false)
    }
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs) -> Result<bool> {
        Ok(false)
    }
    fn on_train_end(&mut self) -> Result<()> {
        Ok(())
    }
}

/// No callbacks.
impl FitObserver for () {}
