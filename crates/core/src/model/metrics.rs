//! Keras/tfjs-layers metrics (`model.compile({metrics: ['accuracy']})`, `tf.metrics.*`): their
//! identifiers, the log keys they report under, and how `'accuracy'`/`'crossentropy'` resolve
//! against the output's loss and shape (tfjs-layers `training.ts` `compile`). Metrics are never
//! differentiated: they run with no tape recording, and the accuracy family (argmax, threshold
//! and equality, which have no gradient anyway) is computed directly on the values.

use super::losses::{Loss, LossKind, UserFn};
use crate::engine::without_tapes;
use crate::error::{Error, Result};
use crate::kernels::binary::broadcast_shape;
use crate::ops;
use crate::tensor::{fmt_shape, Buffer, Tensor};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    Precision,
    Recall,
    /// A loss used as a metric (`mse`, `mae`, `mape`, `cosine`, the crossentropies).
    Loss(LossKind),
}

use MetricKind::*;

const NAMES: &[(&str, MetricKind)] = &[
    ("binaryAccuracy", BinaryAccuracy),
    ("categoricalAccuracy", CategoricalAccuracy),
    ("sparseCategoricalAccuracy", SparseCategoricalAccuracy),
    ("precision", Precision),
    ("recall", Recall),
    ("binaryCrossentropy", Loss(LossKind::BinaryCrossentropy)),
    ("categoricalCrossentropy", Loss(LossKind::CategoricalCrossentropy)),
    ("sparseCategoricalCrossentropy", Loss(LossKind::SparseCategoricalCrossentropy)),
    ("mse", Loss(LossKind::MeanSquaredError)),
    ("MSE", Loss(LossKind::MeanSquaredError)),
    ("mae", Loss(LossKind::MeanAbsoluteError)),
    ("MAE", Loss(LossKind::MeanAbsoluteError)),
    ("mape", Loss(LossKind::MeanAbsolutePercentageError)),
    ("MAPE", Loss(LossKind::MeanAbsolutePercentageError)),
    ("cosine", Loss(LossKind::CosineProximity)),
    ("binary_accuracy", BinaryAccuracy),
    ("categorical_accuracy", CategoricalAccuracy),
    ("sparse_categorical_accuracy", SparseCategoricalAccuracy),
    ("binary_crossentropy", Loss(LossKind::BinaryCrossentropy)),
    ("categorical_crossentropy", Loss(LossKind::CategoricalCrossentropy)),
    ("sparse_categorical_crossentropy", Loss(LossKind::SparseCategoricalCrossentropy)),
];

impl MetricKind {
    /// The metric a string names (tfjs `metrics.get`); any loss name is accepted too, as
    /// Keras does. `'accuracy'`, `'acc'`, `'crossentropy'` and `'ce'` depend on the model and
    /// are resolved by [`resolve`].
    pub fn parse(name: &str) -> Result<MetricKind> {
        if let Some((_, k)) = NAMES.iter().find(|(n, _)| *n == name) {
            return Ok(*k);
        }
        LossKind::parse(name).map(Loss).map_err(|_| Error::arg("metrics.get", format!("Unknown metric {name}")))
    }

    /// The metric per sample (a scalar for precision and recall), as tfjs `tf.metrics.*`.
    pub fn compute(self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        without_tapes(|| match self {
            BinaryAccuracy => binary_accuracy(y_true, y_pred),
            CategoricalAccuracy => categorical_accuracy(y_true, y_pred),
            SparseCategoricalAccuracy => sparse_categorical_accuracy(y_true, y_pred),
            Precision => precision(y_true, y_pred),
            Recall => recall(y_true, y_pred),
            Loss(k) => k.compute(y_true, y_pred),
        })
    }
}

/// A metric function: built in, or a user function.
#[derive(Clone)]
pub enum MetricFn {
    Builtin(MetricKind),
    User(Arc<dyn UserFn>),
}

/// A compiled metric: its function and the key its values are logged under.
#[derive(Clone)]
pub struct Metric {
    pub key: String,
    pub func: MetricFn,
}

impl fmt::Debug for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.func {
            MetricFn::Builtin(k) => write!(f, "Metric({}: {k:?})", self.key),
            MetricFn::User(_) => write!(f, "Metric({}: user function)", self.key),
        }
    }
}

/// What `compile` was given for one metric.
#[derive(Clone)]
pub enum MetricSpec {
    Name(String),
    User(Arc<dyn UserFn>),
}

impl From<&str> for MetricSpec {
    fn from(s: &str) -> MetricSpec {
        MetricSpec::Name(s.to_string())
    }
}

impl Metric {
    /// The per-sample values (no tape records them).
    pub fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        match &self.func {
            MetricFn::Builtin(k) => k.compute(y_true, y_pred),
            MetricFn::User(f) => without_tapes(|| f.call(y_true, y_pred)),
        }
    }
    /// The metric's mean over the batch: the value a step logs.
    pub fn value(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<f64> {
        Ok(mean_value(&self.compute(y_true, y_pred)?))
    }
}

/// The mean of all elements, accumulated in f64 and rounded to float32 as tfjs's `mean` is.
pub fn mean_value(t: &Tensor) -> f64 {
    let v = t.as_f32();
    if v.is_empty() {
        return f64::NAN;
    }
    (v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64) as f32 as f64
}

/// Resolves one compiled metric of an output trained with `loss`, whose last dimension is
/// `last_dim` (tfjs `compile`): `'accuracy'`/`'acc'` become binary accuracy when the output has
/// one unit or the loss is binary crossentropy, sparse categorical accuracy when the loss is
/// sparse categorical crossentropy, and categorical accuracy otherwise, logged as `acc`;
/// `'crossentropy'`/`'ce'` likewise (logged as `ce`). Other names log under the name given,
/// user functions under their function name.
pub fn resolve(spec: &MetricSpec, loss: &Loss, last_dim: Option<usize>) -> Result<Metric> {
    let name = match spec {
        MetricSpec::User(f) => return Ok(Metric { key: f.name().to_string(), func: MetricFn::User(f.clone()) }),
        MetricSpec::Name(n) => n.as_str(),
    };
    let (is_acc, is_ce) = (matches!(name, "accuracy" | "acc"), matches!(name, "crossentropy" | "ce"));
    if !(is_acc || is_ce) {
        return Ok(Metric { key: name.to_string(), func: MetricFn::Builtin(MetricKind::parse(name)?) });
    }
    let kind = if last_dim == Some(1) || loss.kind() == Some(LossKind::BinaryCrossentropy) {
        if is_acc { BinaryAccuracy } else { Loss(LossKind::BinaryCrossentropy) }
    } else if loss.kind() == Some(LossKind::SparseCategoricalCrossentropy) {
        if is_acc { SparseCategoricalAccuracy } else { Loss(LossKind::SparseCategoricalCrossentropy) }
    } else if is_acc {
        CategoricalAccuracy
    } else {
        Loss(LossKind::CategoricalCrossentropy)
    };
    Ok(Metric { key: (if is_acc { "acc" } else { "ce" }).to_string(), func: MetricFn::Builtin(kind) })
}

/// Both tensors' values over their broadcast shape (copies only when the shapes differ).
fn broadcast_pair(op: &str, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    if a.shape() == b.shape() {
        return Ok((a.clone(), b.clone()));
    }
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    Ok((ops::broadcast_to(a, &shape)?, ops::broadcast_to(b, &shape)?))
}

/// Means over the last axis of per-element 0/1 values.
fn mean_last(shape: &[usize], v: impl Iterator<Item = bool>) -> Tensor {
    let width = shape.last().copied().unwrap_or(1);
    let lead: Vec<usize> = shape[..shape.len().saturating_sub(1)].to_vec();
    let rows = lead.iter().product::<usize>();
    let mut out = vec![0.0f32; rows];
    let mut acc = 0u32;
    for (i, hit) in v.enumerate() {
        acc += hit as u32;
        if (i + 1) % width == 0 {
            out[i / width] = acc as f32 / width as f32;
            acc = 0;
        }
    }
    if width == 0 {
        out.iter_mut().for_each(|o| *o = f32::NAN);
    }
    Tensor::f32(lead, out)
}

/// `mean(equal(yTrue, cast(yPred > 0.5, yTrue.dtype)), −1)`
pub fn binary_accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (t, p) = broadcast_pair("binaryAccuracy", y_true, y_pred)?;
    if t.rank() == 0 {
        return Err(Error::shape("binaryAccuracy", "tensors of rank >= 1", "scalars"));
    }
    let pv = p.as_f32();
    let hits: Box<dyn Iterator<Item = bool>> = match t.buffer() {
        // A float label equals the thresholded prediction only when it is exactly 0 or 1.
        Buffer::F32(tv) => Box::new(tv.iter().zip(pv.iter()).map(|(&y, &x)| y == (x > 0.5) as u8 as f32)),
        Buffer::I32(tv) => Box::new(tv.iter().zip(pv.iter()).map(|(&y, &x)| y == (x > 0.5) as i32)),
        Buffer::Bool(tv) => Box::new(tv.iter().zip(pv.iter()).map(|(&y, &x)| y == (x > 0.5) as u8)),
    };
    Ok(mean_last(t.shape(), hits))
}

/// tfjs `argMax` over each run of `width` values: the first maximum (NaN never wins past
/// index 0).
fn argmax_rows(v: &[f32], width: usize) -> impl Iterator<Item = usize> + '_ {
    v.chunks(width.max(1)).map(|row| {
        let mut best = 0;
        for (j, &x) in row.iter().enumerate() {
            if x > row[best] {
                best = j;
            }
        }
        best
    })
}

fn rows_of(op: &str, t: &Tensor) -> Result<(Vec<usize>, usize)> {
    match t.shape().split_last() {
        Some((&w, lead)) => Ok((lead.to_vec(), w)),
        None => Err(Error::shape(op, "tensors of rank >= 1", "a scalar")),
    }
}

/// `cast(equal(argMax(yTrue, −1), argMax(yPred, −1)), 'float32')`
pub fn categorical_accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    const OP: &str = "categoricalAccuracy";
    let (lead_t, wt) = rows_of(OP, y_true)?;
    let (lead_p, wp) = rows_of(OP, y_pred)?;
    if lead_t != lead_p {
        return Err(Error::shape(OP, format!("a target with the prediction's leading shape (prediction {})", fmt_shape(y_pred.shape())), fmt_shape(y_true.shape())));
    }
    let (tv, pv) = (y_true.as_f32(), y_pred.as_f32());
    let out: Vec<f32> = argmax_rows(&tv, wt).zip(argmax_rows(&pv, wp)).map(|(a, b)| (a == b) as u8 as f32).collect();
    Ok(Tensor::f32(lead_p, out))
}

/// `cast(equal(yTrue, cast(argMax(yPred, −1), yTrue.dtype)), 'float32')`, after squeezing a
/// last axis of 1 from `yTrue` when it has the prediction's rank.
pub fn sparse_categorical_accuracy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    const OP: &str = "sparseCategoricalAccuracy";
    let (lead, w) = rows_of(OP, y_pred)?;
    let labels_shape: &[usize] = if y_true.rank() == y_pred.rank() {
        match y_true.shape().split_last() {
            Some((1, l)) => l,
            _ => return Err(Error::shape(OP, "labels with a last dimension of 1 when they have the prediction's rank", fmt_shape(y_true.shape()))),
        }
    } else {
        y_true.shape()
    };
    if labels_shape != lead.as_slice() {
        return Err(Error::shape(OP, format!("labels of shape {} (the prediction's without its last axis)", fmt_shape(&lead)), fmt_shape(y_true.shape())));
    }
    let pv = y_pred.as_f32();
    let idx = argmax_rows(&pv, w);
    let out: Vec<f32> = match y_true.buffer() {
        Buffer::F32(t) => t.iter().zip(idx).map(|(&y, i)| (y == i as f32) as u8 as f32).collect(),
        Buffer::I32(t) => t.iter().zip(idx).map(|(&y, i)| (y as i64 == i as i64) as u8 as f32).collect(),
        Buffer::Bool(t) => t.iter().zip(idx).map(|(&y, i)| (y == (i != 0) as u8) as u8 as f32).collect(),
    };
    Ok(Tensor::f32(lead, out))
}

/// True positives, false positives and false negatives: labels and predictions exactly 1 or 0.
fn confusion(op: &str, y_true: &Tensor, y_pred: &Tensor) -> Result<(f32, f32, f32)> {
    let (t, p) = broadcast_pair(op, y_true, y_pred)?;
    let (tv, pv) = (t.as_f32(), p.as_f32());
    let (mut tp, mut fp, mut fne) = (0u64, 0u64, 0u64);
    for (&y, &x) in tv.iter().zip(pv.iter()) {
        tp += (y == 1.0 && x == 1.0) as u64;
        fp += (y == 0.0 && x == 1.0) as u64;
        fne += (y == 1.0 && x == 0.0) as u64;
    }
    Ok((tp as f32, fp as f32, fne as f32))
}

fn ratio(num: f32, other: f32) -> Tensor {
    let den = num + other;
    Tensor::scalar(if den > 0.0 { num / den } else { 0.0 })
}

/// `tp / (tp + fp)` (0 when nothing is predicted positive), counting exact 1s and 0s.
pub fn precision(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (tp, fp, _) = confusion("precision", y_true, y_pred)?;
    Ok(ratio(tp, fp))
}

/// `tp / (tp + fn)` (0 when there are no positive labels), counting exact 1s and 0s.
pub fn recall(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let (tp, _, fne) = confusion("recall", y_true, y_pred)?;
    Ok(ratio(tp, fne))
}
