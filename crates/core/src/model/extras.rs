//! Losses and metrics that layers add while the model runs (Keras `add_loss`/`add_metric`).
//!
//! A training or test step runs the forward pass inside [`collect`]; layers whose code lives
//! outside the core (JS custom layers) hand what their `call` added to [`add`], and the step
//! folds the losses into the total it differentiates and reports the metrics in its logs. The
//! collector is per thread, so steps of models training at the same time never mix.

use crate::tensor::Tensor;
use std::cell::RefCell;

/// What the layers of one forward pass added.
#[derive(Default)]
pub struct Extras {
    /// Loss terms, each summed to a scalar and added to the step's total loss.
    pub losses: Vec<Tensor>,
    /// Named metric values; each is averaged over its elements.
    pub metrics: Vec<(String, Tensor)>,
}

thread_local! {
    static SINKS: RefCell<Vec<Extras>> = const { RefCell::new(Vec::new()) };
}

/// Pops the collector even if `f` unwinds.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        SINKS.with(|s| s.borrow_mut().pop());
    }
}

/// Runs `f` with a fresh collector installed on this thread; returns `f`'s result and what was
/// added while it ran.
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, Extras) {
    SINKS.with(|s| s.borrow_mut().push(Extras::default()));
    let guard = Installed;
    let r = f();
    let extras = SINKS.with(|s| std::mem::take(s.borrow_mut().last_mut().expect("installed above")));
    drop(guard);
    (r, extras)
}

/// Whether a collector is installed on this thread (whether added losses would be used).
pub fn collecting() -> bool {
    SINKS.with(|s| !s.borrow().is_empty())
}

/// Hands losses and metrics to the innermost collector of this thread. Outside any collector
/// (eager calls, `predict`) there is nobody to use them and they are dropped.
pub fn add(losses: Vec<Tensor>, metrics: Vec<(String, Tensor)>) {
    SINKS.with(|s| {
        if let Some(top) = s.borrow_mut().last_mut() {
            top.losses.extend(losses);
            top.metrics.extend(metrics);
        }
    });
}

/// Running sums of named values weighted by batch size, in first-seen order (epoch logs).
#[derive(Debug, Default, Clone)]
pub struct Running {
    entries: Vec<(String, f64, f64)>,
}

impl Running {
    pub fn add(&mut self, name: &str, value: f64, weight: f64) {
        match self.entries.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, total, w)) => {
                *total += value * weight;
                *w += weight;
            }
            None => self.entries.push((name.to_string(), value * weight, weight)),
        }
    }

    pub fn add_all(&mut self, values: &[(String, f64)], weight: f64) {
        for (n, v) in values {
            self.add(n, *v, weight);
        }
    }

    /// Each name's weighted mean.
    pub fn means(&self) -> Vec<(String, f64)> {
        self.entries.iter().map(|(n, t, w)| (n.clone(), if *w > 0.0 { t / w } else { f64::NAN })).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collectors_nest_and_drop_outside() {
        add(vec![Tensor::scalar(9.0)], vec![]);
        let ((), outer) = collect(|| {
            add(vec![Tensor::scalar(1.0)], vec![("m".into(), Tensor::scalar(2.0))]);
            let ((), inner) = collect(|| add(vec![Tensor::scalar(3.0)], vec![]));
            assert_eq!(inner.losses.len(), 1);
            assert_eq!(inner.losses[0].to_f32_vec(), vec![3.0]);
        });
        assert_eq!(outer.losses.len(), 1);
        assert_eq!(outer.losses[0].to_f32_vec(), vec![1.0]);
        assert_eq!(outer.metrics[0].0, "m");
        let ((), empty) = collect(|| ());
        assert!(empty.losses.is_empty());
    }

    #[test]
    fn collector_is_removed_when_f_panics() {
        let r = std::panic::catch_unwind(|| collect(|| panic!("boom")));
        assert!(r.is_err());
        let ((), e) = collect(|| add(vec![Tensor::scalar(1.0)], vec![]));
        assert_eq!(e.losses.len(), 1);
        SINKS.with(|s| assert!(s.borrow().is_empty()));
    }

    #[test]
    fn running_means_are_weighted_by_batch_size() {
        let mut r = Running::default();
        r.add("a", 1.0, 3.0);
        r.add("b", 5.0, 1.0);
        r.add("a", 3.0, 1.0);
        assert_eq!(r.means(), vec![("a".to_string(), 1.5), ("b".to_string(), 5.0)]);
    }
}
