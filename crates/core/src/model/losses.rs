//! Keras/tfjs-layers losses (`model.compile({loss: 'categoricalCrossentropy'})`): each takes
//! `(yTrue, yPred)` and returns the per-sample losses (reduced over the last axis where tfjs
//! reduces), composed of ops so that gradients flow through them. The formulas, constants and
//! op order are tfjs-layers' `losses.ts` (epsilon 1e-7, float32).

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use std::fmt;
use std::sync::Arc;

/// tfjs-layers `epsilon()`: the clipping bound of the probability losses.
pub const EPSILON: f64 = 1e-7;

/// A built-in loss: `(yTrue, yPred) → per-sample losses`.
pub type LossFn = fn(&Tensor, &Tensor) -> Result<Tensor>;

/// A loss or metric implemented outside the core (a JS `(yTrue, yPred) => Tensor` function).
pub trait UserFn: Send + Sync {
    /// The function's name: the log key it reports under when used as a metric.
    fn name(&self) -> &str;
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossKind {
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    SquaredHinge,
    Hinge,
    CategoricalHinge,
    Logcosh,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    BinaryCrossentropy,
    KullbackLeiblerDivergence,
    Poisson,
    CosineProximity,
}

use LossKind::*;

/// tfjs names (`lossesMap` keys) first, then the aliases tfjs and Keras accept.
const NAMES: &[(&str, LossKind)] = &[
    ("meanSquaredError", MeanSquaredError),
    ("meanAbsoluteError", MeanAbsoluteError),
    ("meanAbsolutePercentageError", MeanAbsolutePercentageError),
    ("meanSquaredLogarithmicError", MeanSquaredLogarithmicError),
    ("squaredHinge", SquaredHinge),
    ("hinge", Hinge),
    ("categoricalHinge", CategoricalHinge),
    ("logcosh", Logcosh),
    ("categoricalCrossentropy", CategoricalCrossentropy),
    ("sparseCategoricalCrossentropy", SparseCategoricalCrossentropy),
    ("binaryCrossentropy", BinaryCrossentropy),
    ("kullbackLeiblerDivergence", KullbackLeiblerDivergence),
    ("poisson", Poisson),
    ("cosineProximity", CosineProximity),
    ("mse", MeanSquaredError),
    ("MSE", MeanSquaredError),
    ("mean_squared_error", MeanSquaredError),
    ("mae", MeanAbsoluteError),
    ("MAE", MeanAbsoluteError),
    ("mean_absolute_error", MeanAbsoluteError),
    ("mape", MeanAbsolutePercentageError),
    ("MAPE", MeanAbsolutePercentageError),
    ("mean_absolute_percentage_error", MeanAbsolutePercentageError),
    ("msle", MeanSquaredLogarithmicError),
    ("MSLE", MeanSquaredLogarithmicError),
    ("mean_squared_logarithmic_error", MeanSquaredLogarithmicError),
    ("squared_hinge", SquaredHinge),
    ("categorical_hinge", CategoricalHinge),
    ("log_cosh", Logcosh),
    ("categorical_crossentropy", CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", SparseCategoricalCrossentropy),
    ("binary_crossentropy", BinaryCrossentropy),
    ("kld", KullbackLeiblerDivergence),
    ("KLD", KullbackLeiblerDivergence),
    ("kullback_leibler_divergence", KullbackLeiblerDivergence),
    ("cosine", CosineProximity),
    ("cosine_proximity", CosineProximity),
];

impl LossKind {
    /// The loss an identifier names (tfjs `losses.get`).
    pub fn parse(name: &str) -> Result<LossKind> {
        if let Some((_, k)) = NAMES.iter().find(|(n, _)| *n == name) {
            return Ok(*k);
        }
        let mut msg = format!("Unknown loss {name}");
        if name.to_lowercase().contains("softmaxcrossentropy") {
            msg.push_str(". Use \"categoricalCrossentropy\" as the string name for tf.losses.softmaxCrossEntropy");
        }
        Err(Error::arg("losses.get", msg))
    }
    /// The tfjs name (camelCase).
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(_, k)| *k == self).map(|(n, _)| *n).expect("every loss has a name")
    }
    pub fn func(self) -> LossFn {
        match self {
            MeanSquaredError => mean_squared_error,
            MeanAbsoluteError => mean_absolute_error,
            MeanAbsolutePercentageError => mean_absolute_percentage_error,
            MeanSquaredLogarithmicError => mean_squared_logarithmic_error,
            SquaredHinge => squared_hinge,
            Hinge => hinge,
            CategoricalHinge => categorical_hinge,
            Logcosh => logcosh,
            CategoricalCrossentropy => categorical_crossentropy,
            SparseCategoricalCrossentropy => sparse_categorical_crossentropy,
            BinaryCrossentropy => binary_crossentropy,
            KullbackLeiblerDivergence => kullback_leibler_divergence,
            Poisson => poisson,
            CosineProximity => cosine_proximity,
        }
    }
    pub fn compute(self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        (self.func())(y_true, y_pred)
    }
}

/// A compiled loss: built in, or a user function.
#[derive(Clone)]
pub enum Loss {
    Builtin(LossKind),
    User(Arc<dyn UserFn>),
}

impl Loss {
    pub fn parse(name: &str) -> Result<Loss> {
        LossKind::parse(name).map(Loss::Builtin)
    }
    pub fn kind(&self) -> Option<LossKind> {
        match self {
            Loss::Builtin(k) => Some(*k),
            Loss::User(_) => None,
        }
    }
    pub fn name(&self) -> &str {
        match self {
            Loss::Builtin(k) => k.name(),
            Loss::User(f) => f.name(),
        }
    }
    pub fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        match self {
            Loss::Builtin(k) => k.compute(y_true, y_pred),
            Loss::User(f) => f.call(y_true, y_pred),
        }
    }
}

impl fmt::Debug for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Loss({})", self.name())
    }
}

fn s(v: f32) -> Tensor {
    Tensor::scalar(v)
}

/// The last axis, which the per-sample reductions run over.
fn last_axis(op: &str, x: &Tensor) -> Result<usize> {
    x.rank().checked_sub(1).ok_or_else(|| Error::shape(op, "a prediction of rank >= 1", "a scalar"))
}

/// `clipByValue` with JS-number bounds (`f64::MAX` is `Number.MAX_VALUE`: no upper bound).
fn clip(x: &Tensor, lo: f64, hi: f64) -> Result<Tensor> {
    run1("ClipByValue", std::slice::from_ref(x), &Attrs::new().with("clipValueMin", lo).with("clipValueMax", hi))
}

fn float(x: &Tensor) -> Result<Tensor> {
    ops::cast(x, DType::Float32)
}

/// `mean(square(yPred − yTrue), −1)`
pub fn mean_squared_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("meanSquaredError", y_pred)?;
    ops::mean(&ops::square(&ops::sub(y_pred, y_true)?)?, &[ax], false)
}

/// `mean(|yPred − yTrue|, −1)`
pub fn mean_absolute_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("meanAbsoluteError", y_pred)?;
    ops::mean(&ops::abs(&ops::sub(y_pred, y_true)?)?, &[ax], false)
}

/// `100 · mean(|(yTrue − yPred) / clip(|yTrue|, ε, MAX)|, −1)`
pub fn mean_absolute_percentage_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("meanAbsolutePercentageError", y_pred)?;
    let diff = ops::sub(y_true, y_pred)?;
    let clipped_true = clip(&ops::abs(y_true)?, EPSILON, f64::MAX)?;
    let abs_result = ops::abs(&ops::div(&diff, &clipped_true)?)?;
    ops::mul(&s(100.0), &ops::mean(&abs_result, &[ax], false)?)
}

/// `mean(square(log(1 + clip(yPred)) − log(1 + clip(yTrue))), −1)`, clipping to [ε, MAX].
pub fn mean_squared_logarithmic_error(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("meanSquaredLogarithmicError", y_pred)?;
    let first = ops::log(&ops::add(&s(1.0), &clip(y_pred, EPSILON, f64::MAX)?)?)?;
    let second = ops::log(&ops::add(&s(1.0), &clip(y_true, EPSILON, f64::MAX)?)?)?;
    ops::mean(&ops::square(&ops::sub(&first, &second)?)?, &[ax], false)
}

/// `max(0, 1 − yTrue·yPred)`
fn hinge_margin(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    ops::maximum(&s(0.0), &ops::sub(&s(1.0), &ops::mul(y_true, y_pred)?)?)
}

/// `mean(square(max(0, 1 − yTrue·yPred)), −1)`
pub fn squared_hinge(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("squaredHinge", y_pred)?;
    ops::mean(&ops::square(&hinge_margin(y_true, y_pred)?)?, &[ax], false)
}

/// `mean(max(0, 1 − yTrue·yPred), −1)`
pub fn hinge(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("hinge", y_pred)?;
    ops::mean(&hinge_margin(y_true, y_pred)?, &[ax], false)
}

/// `max(0, 1 + max((1 − yTrue)·yPred, −1) − sum(yTrue·yPred, −1))`
pub fn categorical_hinge(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("categoricalHinge", y_pred)?;
    let pos = ops::sum(&ops::mul(y_true, y_pred)?, &[ax], false)?;
    let neg_part = ops::mul(&ops::sub(&s(1.0), y_true)?, y_pred)?;
    let neg = run1("Max", &[neg_part], &Attrs::new().with("axis", vec![ax]).with("keepDims", false))?;
    ops::maximum(&s(0.0), &ops::add(&s(1.0), &ops::sub(&neg, &pos)?)?)
}

/// `mean(d + softplus(−2d) − log 2, −1)` with `d = yPred − yTrue`.
pub fn logcosh(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("logcosh", y_pred)?;
    let d = ops::sub(y_pred, y_true)?;
    let sp = ops::unary("Softplus", &ops::mul(&s(-2.0), &d)?)?;
    let r = ops::sub(&ops::add(&d, &sp)?, &s(std::f64::consts::LN_2 as f32))?;
    ops::mean(&r, &[ax], false)
}

/// `−sum(yTrue · log(clip(yPred / sum(yPred, −1), ε, 1 − ε)), −1)`
pub fn categorical_crossentropy(target: &Tensor, output: &Tensor) -> Result<Tensor> {
    let ax = last_axis("categoricalCrossentropy", output)?;
    let total = ops::sum(output, &[ax], true)?;
    let p = clip(&ops::div(output, &total)?, EPSILON, 1.0 - EPSILON)?;
    ops::neg(&ops::sum(&ops::mul(&float(target)?, &ops::log(&p)?)?, &[ax], false)?)
}

/// One-hot rows (`[rows, classes]` flattened) of integer class labels: `floor(label)`, and an
/// all-zero row for a label outside `[0, classes)`, as tfjs `oneHot(floor(flatten(target)))`.
pub fn one_hot_labels(op: &str, target: &Tensor, rows: usize, classes: usize) -> Result<Vec<f32>> {
    if target.size() != rows {
        return Err(Error::shape(op, format!("{rows} integer class labels (one per prediction row)"), format!("a target of shape {}", crate::tensor::fmt_shape(target.shape()))));
    }
    let mut out = vec![0.0f32; rows * classes];
    for (r, &v) in target.as_f32().iter().enumerate() {
        if let Some(c) = class_index(v, classes) {
            out[r * classes + c] = 1.0;
        }
    }
    Ok(out)
}

/// `int32(floor(v))` as a class in `[0, classes)`, if it is one (NaN casts to 0, as in tfjs).
pub fn class_index(v: f32, classes: usize) -> Option<usize> {
    let i = v.floor() as i32;
    (i >= 0 && (i as usize) < classes).then_some(i as usize)
}

/// Categorical crossentropy against the one-hot rows of integer labels, after first clipping
/// the prediction to [ε, 1 − ε] (tfjs clips twice here).
pub fn sparse_categorical_crossentropy(target: &Tensor, output: &Tensor) -> Result<Tensor> {
    const OP: &str = "sparseCategoricalCrossentropy";
    let ax = last_axis(OP, output)?;
    let classes = output.shape()[ax];
    let rows = output.size().checked_div(classes).unwrap_or(0);
    let one_hot = Tensor::f32(output.shape().to_vec(), one_hot_labels(OP, target, rows, classes)?);
    let clipped = clip(output, EPSILON, 1.0 - EPSILON)?;
    categorical_crossentropy(&one_hot, &clipped)
}

/// `max(x, 0) − x·z + log1p(exp(−|x|))`: the logistic loss of logits `x` for labels `z`.
pub fn sigmoid_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    if labels.shape() != logits.shape() {
        return Err(Error::shape(
            "sigmoidCrossEntropyWithLogits",
            format!("labels of the logits' shape {}", crate::tensor::fmt_shape(logits.shape())),
            crate::tensor::fmt_shape(labels.shape()),
        ));
    }
    let relu = ops::relu(logits)?;
    let neg_abs = ops::neg(&ops::abs(logits)?)?;
    ops::add(&ops::sub(&relu, &ops::mul(logits, labels)?)?, &ops::unary("Log1p", &ops::exp(&neg_abs)?)?)
}

/// `mean(sigmoidCrossEntropyWithLogits(yTrue, log(p / (1 − p))), −1)`, `p = clip(yPred, ε, 1 − ε)`.
pub fn binary_crossentropy(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("binaryCrossentropy", y_pred)?;
    let p = clip(y_pred, EPSILON, 1.0 - EPSILON)?;
    let logits = ops::log(&ops::div(&p, &ops::sub(&s(1.0), &p)?)?)?;
    ops::mean(&sigmoid_cross_entropy_with_logits(&float(y_true)?, &logits)?, &[ax], false)
}

/// `sum(yTrue · log(clip(yTrue, ε, 1) / clip(yPred, ε, 1)), −1)`
pub fn kullback_leibler_divergence(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("kullbackLeiblerDivergence", y_pred)?;
    let t = clip(y_true, EPSILON, 1.0)?;
    let p = clip(y_pred, EPSILON, 1.0)?;
    ops::sum(&ops::mul(y_true, &ops::log(&ops::div(&t, &p)?)?)?, &[ax], false)
}

/// `mean(yPred − yTrue · log(ε + yPred), −1)`
pub fn poisson(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("poisson", y_pred)?;
    let log_pred = ops::log(&ops::add(&s(EPSILON as f32), y_pred)?)?;
    ops::mean(&ops::sub(y_pred, &ops::mul(y_true, &log_pred)?)?, &[ax], false)
}

/// `x / sqrt(max(sum(x², axis), ε))` (tfjs-layers `l2Normalize`).
pub fn l2_normalize(x: &Tensor, axis: usize) -> Result<Tensor> {
    let x = float(x)?;
    let square_sum = ops::sum(&ops::square(&x)?, &[axis], true)?;
    let eps = ops::full_like(&square_sum, EPSILON as f32)?;
    ops::div(&x, &ops::sqrt(&ops::maximum(&square_sum, &eps)?)?)
}

/// `−sum(l2Normalize(yTrue) · l2Normalize(yPred), −1)`
pub fn cosine_proximity(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    let ax = last_axis("cosineProximity", y_pred)?;
    let ax_true = last_axis("cosineProximity", y_true)?;
    let t = l2_normalize(y_true, ax_true)?;
    let p = l2_normalize(y_pred, ax)?;
    ops::neg(&ops::sum(&ops::mul(&t, &p)?, &[ax], false)?)
}
