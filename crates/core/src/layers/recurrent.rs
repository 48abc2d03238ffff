//! Recurrent layers: `SimpleRNN`, `LSTM`, `GRU`, the generic `RNN` over a `cell` config, and the
//! cells themselves (`SimpleRNNCell`, `LSTMCell`, `GRUCell`) as one-step layers.
//!
//! A sequence layer runs as ONE fused kernel (`kernels::rnn`: `_LSTMSequence`, `_GRUSequence`,
//! `_SimpleRNNSequence`) with a hand-written backpropagation through time, whenever that kernel
//! computes what the ops would: its activations are ones it supports and no recurrent dropout is
//! active; and only under a single gradient scope, since its gradient is not differentiable
//! again (nested scopes — gradients of gradients — take the op-by-op path).
//!
//! Otherwise, and for the cells used alone, everything is computed with ops, so the tape
//! records the whole unrolled pass and gradients flow through time. A sequence pass projects
//! the inputs of all time steps with ONE matrix product (`x · kernel + bias` over the
//! `[time·batch, inputDim]` rows, batched over the gates) before the time loop and slices it per
//! step; each step then does one product of the previous output with the recurrent kernel, also
//! batched over the gates. Gate pre-activations are kept gate-major, `[gates, batch, units]`,
//! so that picking the gates apart is a split along the leading axis.
//!
//! Weights follow tfjs: `kernel [inputDim, units·gates]`, `recurrent_kernel [units, units·gates]`
//! and `bias [units·gates]`, gates in the order LSTM `i, f, c, o` and GRU `z, r, h`. A GRU with
//! Keras's `resetAfter: true` has a `bias [2, 3·units]` (input bias, recurrent bias) and applies
//! the reset gate after the recurrent product.

use super::activations::Activation as Act;
use super::constraints::Constraint;
use super::core::{read_activation, read_constraint, read_initializer, read_regularizer};
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{fmt_shape, make_weight, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::attrs::Attrs;
use crate::engine::run_kernel;
use crate::error::{Error, Result};
use crate::kernels::rnn;
use crate::ops;
use crate::random;
use crate::registry;
use crate::tensor::{self, DType, Tensor, Variable};
use serde_json::{json, Map, Value};
use std::sync::RwLock;

// ---------------------------------------------------------------------------------------------
// Leading-axis data movement. These use the `Unpack`/`SplitV`/`Pack`/`Concat` kernels when they
// are registered natively, and otherwise compose the same result from `BatchMatMul` with 0/1
// selector matrices, `AddN`, `Reshape` and `Transpose` (exact for finite values).
// ---------------------------------------------------------------------------------------------

thread_local! {
    static COMPOSITE_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn native(kernel: &str) -> bool {
    !COMPOSITE_ONLY.with(|c| c.get()) && registry::is_native_kernel(kernel)
}

thread_local! {
    static STEPWISE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with sequence layers computed step by step (no fused sequence kernel), so that
/// tests can compare both paths.
#[cfg(test)]
pub(crate) fn with_stepwise<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            STEPWISE.with(|c| c.set(self.0));
        }
    }
    let _r = Restore(STEPWISE.with(|c| c.replace(true)));
    f()
}

/// Runs `f` with the composed (kernel-free) versions of the helpers below, so that tests can
/// compare both paths.
#[cfg(test)]
pub(crate) fn with_composite_ops<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            COMPOSITE_ONLY.with(|c| c.set(self.0));
        }
    }
    let _r = Restore(COMPOSITE_ONLY.with(|c| c.replace(true)));
    f()
}

/// Rows `start..start + count` of a matrix `[n, m]`, as the product with a 0/1 selector.
fn select_rows(x2: &Tensor, start: usize, count: usize) -> Result<Tensor> {
    let n = x2.shape()[0];
    let mut s = vec![0.0f32; count * n];
    for i in 0..count {
        s[i * n + start + i] = 1.0;
    }
    ops::mat_mul(&Tensor::f32(vec![count, n], s), x2, false, false)
}

fn with_lead(lead: usize, rest: &[usize]) -> Vec<usize> {
    let mut s = Vec::with_capacity(rest.len() + 1);
    s.push(lead);
    s.extend_from_slice(rest);
    s
}

/// Splits `x` along axis 0 into pieces of `sizes` rows each.
pub(crate) fn split0(x: &Tensor, sizes: &[usize]) -> Result<Vec<Tensor>> {
    if sizes.len() == 1 {
        return Ok(vec![x.clone()]);
    }
    if native("SplitV") {
        return ops::run("SplitV", std::slice::from_ref(x), &Attrs::new().with("numOrSizeSplits", sizes.to_vec()).with("axis", 0));
    }
    let rest = x.shape()[1..].to_vec();
    let x2 = ops::reshape(x, &[x.shape()[0], tensor::shape_size(&rest)])?;
    let mut start = 0;
    let mut out = Vec::with_capacity(sizes.len());
    for &s in sizes {
        out.push(ops::reshape(&select_rows(&x2, start, s)?, &with_lead(s, &rest))?);
        start += s;
    }
    Ok(out)
}

/// `x` as `[pre, n, post]` around `axis` (`n` = the axis's length).
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (tensor::shape_size(&shape[..axis]), shape[axis], tensor::shape_size(&shape[axis + 1..]))
}

/// `x` → its slices along `axis` (each of `x`'s shape without that axis).
pub(crate) fn unstack(x: &Tensor, axis: usize) -> Result<Vec<Tensor>> {
    let (pre, n, post) = around(x.shape(), axis);
    let mut rest = x.shape().to_vec();
    rest.remove(axis);
    if n == 1 {
        return Ok(vec![ops::reshape(x, &rest)?]);
    }
    if native("Unpack") {
        return ops::run("Unpack", std::slice::from_ref(x), &Attrs::new().with("axis", axis).with("num", n));
    }
    // [1, 1, n] one-hot × [pre, n, post] → [pre, 1, post]
    let x3 = ops::reshape(x, &[pre, n, post])?;
    (0..n)
        .map(|i| {
            let mut e = vec![0.0f32; n];
            e[i] = 1.0;
            ops::reshape(&ops::mat_mul(&Tensor::f32(vec![1, 1, n], e), &x3, false, false)?, &rest)
        })
        .collect()
}

/// Tensors of one shape `s` → one tensor with a new axis `axis` (of length `xs.len()`).
pub(crate) fn stack(xs: &[Tensor], axis: usize) -> Result<Tensor> {
    let first = xs.first().ok_or_else(|| Error::arg("stack", "nothing to stack"))?;
    let n = xs.len();
    let mut out = first.shape().to_vec();
    out.insert(axis, n);
    if n == 1 {
        return ops::reshape(first, &out);
    }
    if native("Pack") {
        return crate::engine::run1("Pack", xs, &Attrs::new().with("axis", axis));
    }
    // Σ_i x_i [pre, 1, post] · e_i [n, 1] (broadcast) → [pre, n, post]
    let (pre, _, post) = around(&out, axis);
    let terms = xs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut e = vec![0.0f32; n];
            e[i] = 1.0;
            ops::mul(&ops::reshape(x, &[pre, 1, post])?, &Tensor::f32(vec![n, 1], e))
        })
        .collect::<Result<Vec<_>>>()?;
    ops::reshape(&crate::engine::run1("AddN", &terms, &Attrs::new())?, &out)
}

/// Concatenates two tensors of one shape along their last axis.
pub(crate) fn concat_last(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let mut shape = a.shape().to_vec();
    let rank = shape.len();
    if native("Concat") {
        return crate::engine::run1("Concat", &[a.clone(), b.clone()], &Attrs::new().with("axis", rank - 1));
    }
    shape[rank - 1] *= 2;
    ops::reshape(&stack(&[a.clone(), b.clone()], rank - 1)?, &shape)
}

/// An inverted-dropout mask: `1/(1-rate)` with probability `1-rate`, else 0.
fn dropout_mask(shape: &[usize], rate: f64) -> Result<Tensor> {
    let keep = 1.0 - rate;
    let u = random::random_uniform(shape, 0.0, 1.0, DType::Float32, None)?;
    let scale = (1.0 / keep) as f32;
    let v = u.to_f32_vec().into_iter().map(|x| if x as f64 + keep >= 1.0 { scale } else { 0.0 }).collect();
    Ok(Tensor::f32(shape.to_vec(), v))
}

/// A `[batch, time]` mask (bool or numeric; `[batch, time, 1]` also) as per-step factors
/// `(m, 1 − m)`, each `[batch, 1]` float32.
fn time_step_masks(layer: &str, mask: &Tensor, batch: usize, time: usize) -> Result<Vec<(Tensor, Tensor)>> {
    check_mask(layer, mask, batch, time)?;
    let m: Vec<f32> = mask.to_f32_vec().into_iter().map(|v| if v != 0.0 { 1.0 } else { 0.0 }).collect();
    Ok((0..time)
        .map(|ti| {
            let keep: Vec<f32> = (0..batch).map(|bi| m[bi * time + ti]).collect();
            let hold = keep.iter().map(|k| 1.0 - k).collect();
            (Tensor::f32(vec![batch, 1], keep), Tensor::f32(vec![batch, 1], hold))
        })
        .collect())
}

/// A mask must be `[batch, time]` (or `[batch, time, 1]`).
fn check_mask(layer: &str, mask: &Tensor, batch: usize, time: usize) -> Result<()> {
    let shape = mask.shape();
    if !(shape == [batch, time] || shape == [batch, time, 1]) {
        return Err(Error::shape(layer, format!("a mask of shape [{batch},{time}] (the input's batch and time steps)"), tensor::fmt_shape(shape)));
    }
    Ok(())
}

fn active_rate(rate: f64) -> bool {
    rate > 0.0 && rate < 1.0
}

fn opt_value<T>(v: &Option<T>, f: impl Fn(&T) -> Value) -> Value {
    v.as_ref().map(f).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Cells
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    SimpleRnn,
    Lstm,
    Gru,
}

impl CellKind {
    pub fn cell_class(self) -> &'static str {
        match self {
            CellKind::SimpleRnn => "SimpleRNNCell",
            CellKind::Lstm => "LSTMCell",
            CellKind::Gru => "GRUCell",
        }
    }
    pub fn layer_class(self) -> &'static str {
        match self {
            CellKind::SimpleRnn => "SimpleRNN",
            CellKind::Lstm => "LSTM",
            CellKind::Gru => "GRU",
        }
    }
    pub fn from_cell_class(name: &str) -> Option<CellKind> {
        match name {
            "SimpleRNNCell" => Some(CellKind::SimpleRnn),
            "LSTMCell" => Some(CellKind::Lstm),
            "GRUCell" => Some(CellKind::Gru),
            _ => None,
        }
    }
    /// Blocks of `units` columns in the kernels.
    pub fn gates(self) -> usize {
        match self {
            CellKind::SimpleRnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
    /// States carried between steps (`[h]`, or `[h, c]` for LSTM), each `[batch, units]`.
    pub fn num_states(self) -> usize {
        if self == CellKind::Lstm { 2 } else { 1 }
    }
}

/// Every config field a cell reads: the generic `RNN` layer accepts (and ignores) them at its
/// top level, where tfjs's `getConfig` spreads the cell's config.
const CELL_FIELDS: &[&str] = &[
    "units",
    "activation",
    "recurrentActivation",
    "useBias",
    "kernelInitializer",
    "recurrentInitializer",
    "biasInitializer",
    "unitForgetBias",
    "kernelRegularizer",
    "recurrentRegularizer",
    "biasRegularizer",
    "activityRegularizer",
    "kernelConstraint",
    "recurrentConstraint",
    "biasConstraint",
    "dropout",
    "recurrentDropout",
    "implementation",
    "resetAfter",
];

/// The computation and weights of one recurrent cell.
pub struct RnnCell {
    kind: CellKind,
    base: BaseConfig,
    units: usize,
    activation: Act,
    recurrent_activation: Act,
    use_bias: bool,
    kernel_initializer: Initializer,
    recurrent_initializer: Initializer,
    bias_initializer: Initializer,
    /// LSTM: ones for the forget gate's bias at initialization. tfjs leaves it unset (off).
    unit_forget_bias: Option<bool>,
    kernel_regularizer: Option<Regularizer>,
    recurrent_regularizer: Option<Regularizer>,
    bias_regularizer: Option<Regularizer>,
    activity_regularizer: Option<Regularizer>,
    kernel_constraint: Option<Constraint>,
    recurrent_constraint: Option<Constraint>,
    bias_constraint: Option<Constraint>,
    dropout: f64,
    recurrent_dropout: f64,
    /// Reported back only (tfjs always computes as implementation 2).
    implementation: Option<usize>,
    /// GRU: Keras's `reset_after` convention (tfjs supports only `false`).
    reset_after: bool,
    /// Weights are named `<weight_prefix>/kernel`, … (the owning layer's name scope).
    weight_prefix: String,
    weights: RwLock<Vec<LayerWeight>>,
}

/// Per-call views of the weights, laid out for the step function.
struct Prepared {
    /// The kernel gate-major, `[G, inputDim, U]`.
    kernel: Tensor,
    /// `[G, 1, U]`.
    input_bias: Option<Tensor>,
    /// SimpleRNN: `[U, U]`; LSTM: `[4, U, U]`; GRU: `[2, U, U]` (z, r), or `[3, U, U]` with
    /// `resetAfter`.
    rec: Tensor,
    /// GRU without `resetAfter`: the `h` block `[U, U]`.
    rec_h: Option<Tensor>,
    /// GRU with `resetAfter`: the recurrent bias `[3, 1, U]`.
    rec_bias: Option<Tensor>,
    /// Recurrent dropout mask `[batch, U]` (training only).
    rec_mask: Option<Tensor>,
}

/// An activation that an explicit `null` turns into `if_null` (tfjs: `getActivation(null)` is
/// linear, except where the constructor maps `null` to the default).
fn read_act(r: &ConfigReader, raw: &Value, key: &str, default: Act, if_null: Act) -> Result<Act> {
    if matches!(raw.get(key), Some(Value::Null)) {
        r.skip(key);
        return Ok(if_null);
    }
    read_activation(r, key, default)
}

impl RnnCell {
    /// Reads the cell's own fields (not the base fields, which the caller reads and passes).
    fn read(kind: CellKind, r: &mut ConfigReader, raw: &Value, base: BaseConfig) -> Result<RnnCell> {
        let layer = r.layer().to_string();
        let units = r.positive("units")?.ok_or_else(|| Error::arg(&layer, "config.units is required (a positive integer)"))?;
        let gated = kind != CellKind::SimpleRnn;
        let activation = if gated {
            read_act(r, raw, "activation", Act::Tanh, Act::Linear)?
        } else {
            read_act(r, raw, "activation", Act::Tanh, Act::Tanh)?
        };
        let recurrent_activation =
            if gated { read_act(r, raw, "recurrentActivation", Act::HardSigmoid, Act::Linear)? } else { Act::Linear };
        let rate = |key: &str| -> Result<f64> { Ok(r.f64(key)?.unwrap_or(0.0).clamp(0.0, 1.0)) };
        let cell = RnnCell {
            kind,
            units,
            activation,
            recurrent_activation,
            use_bias: r.bool("useBias")?.unwrap_or(true),
            kernel_initializer: read_initializer(r, "kernelInitializer", "glorotNormal")?,
            recurrent_initializer: read_initializer(r, "recurrentInitializer", "orthogonal")?,
            bias_initializer: read_initializer(r, "biasInitializer", "zeros")?,
            unit_forget_bias: if kind == CellKind::Lstm { r.bool("unitForgetBias")? } else { None },
            kernel_regularizer: read_regularizer(r, "kernelRegularizer")?,
            recurrent_regularizer: read_regularizer(r, "recurrentRegularizer")?,
            bias_regularizer: read_regularizer(r, "biasRegularizer")?,
            activity_regularizer: read_regularizer(r, "activityRegularizer")?,
            kernel_constraint: read_constraint(r, "kernelConstraint")?,
            recurrent_constraint: read_constraint(r, "recurrentConstraint")?,
            bias_constraint: read_constraint(r, "biasConstraint")?,
            dropout: rate("dropout")?,
            recurrent_dropout: rate("recurrentDropout")?,
            implementation: if gated { r.usize("implementation")? } else { None },
            reset_after: if kind == CellKind::Gru { r.bool("resetAfter")?.unwrap_or(false) } else { false },
            weight_prefix: base.name.clone(),
            base,
            weights: RwLock::new(Vec::new()),
        };
        // Not serializable (a function in tfjs); accepted and ignored.
        r.skip("dropoutFunc");
        Ok(cell)
    }

    pub fn kind(&self) -> CellKind {
        self.kind
    }
    pub fn units(&self) -> usize {
        self.units
    }

    /// The cell's fields, tfjs's `getConfig` of the cell (base fields first).
    fn write_config(&self, m: &mut Map<String, Value>) {
        self.base.write(m);
        let gated = self.kind != CellKind::SimpleRnn;
        m.insert("units".into(), Value::from(self.units));
        m.insert("activation".into(), Value::from(self.activation.name()));
        if gated {
            m.insert("recurrentActivation".into(), Value::from(self.recurrent_activation.name()));
        }
        m.insert("useBias".into(), Value::from(self.use_bias));
        m.insert("kernelInitializer".into(), self.kernel_initializer.to_value());
        m.insert("recurrentInitializer".into(), self.recurrent_initializer.to_value());
        m.insert("biasInitializer".into(), self.bias_initializer.to_value());
        // tfjs keeps unitForgetBias and implementation unset unless given: written as null.
        if self.kind == CellKind::Lstm {
            m.insert("unitForgetBias".into(), self.unit_forget_bias.map(Value::from).unwrap_or(Value::Null));
        }
        m.insert("kernelRegularizer".into(), opt_value(&self.kernel_regularizer, Regularizer::to_value));
        m.insert("recurrentRegularizer".into(), opt_value(&self.recurrent_regularizer, Regularizer::to_value));
        m.insert("biasRegularizer".into(), opt_value(&self.bias_regularizer, Regularizer::to_value));
        m.insert("activityRegularizer".into(), opt_value(&self.activity_regularizer, Regularizer::to_value));
        m.insert("kernelConstraint".into(), opt_value(&self.kernel_constraint, Constraint::to_value));
        m.insert("recurrentConstraint".into(), opt_value(&self.recurrent_constraint, Constraint::to_value));
        m.insert("biasConstraint".into(), opt_value(&self.bias_constraint, Constraint::to_value));
        m.insert("dropout".into(), Value::from(self.dropout));
        m.insert("recurrentDropout".into(), Value::from(self.recurrent_dropout));
        if gated {
            m.insert("implementation".into(), self.implementation.map(Value::from).unwrap_or(Value::Null));
        }
        if self.kind == CellKind::Gru {
            m.insert("resetAfter".into(), Value::from(self.reset_after));
        }
    }

    fn config(&self) -> Value {
        let mut m = Map::new();
        self.write_config(&mut m);
        Value::Object(m)
    }

    /// Creates the weights for inputs of `in_dim` features (no-op once built).
    fn build(&self, in_dim: usize) -> Result<()> {
        let mut w = self.weights.write().unwrap_or_else(|e| e.into_inner());
        if !w.is_empty() {
            return Ok(());
        }
        let (u, g, t) = (self.units, self.kind.gates(), self.base.trainable);
        let p = &self.weight_prefix;
        w.push(make_weight(p, "kernel", &[in_dim, g * u], &self.kernel_initializer, t, self.kernel_regularizer, self.kernel_constraint.clone())?);
        w.push(make_weight(
            p,
            "recurrent_kernel",
            &[u, g * u],
            &self.recurrent_initializer,
            t,
            self.recurrent_regularizer,
            self.recurrent_constraint.clone(),
        )?);
        if self.use_bias {
            if self.kind == CellKind::Lstm && self.unit_forget_bias == Some(true) {
                // [init(units), ones(units), init(2·units)]
                let mut v = self.bias_initializer.init(&[u])?.to_f32_vec();
                v.extend(std::iter::repeat_n(1.0f32, u));
                v.extend(self.bias_initializer.init(&[2 * u])?.to_f32_vec());
                let value = Tensor::f32(vec![4 * u], v);
                w.push(LayerWeight {
                    var: Variable::new(&value, Some(format!("{p}/bias")), t),
                    regularizer: self.bias_regularizer,
                    constraint: self.bias_constraint.clone(),
                });
            } else {
                let shape = if self.kind == CellKind::Gru && self.reset_after { vec![2, g * u] } else { vec![g * u] };
                w.push(make_weight(p, "bias", &shape, &self.bias_initializer, t, self.bias_regularizer, self.bias_constraint.clone())?);
            }
        }
        Ok(())
    }

    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Checks the input feature count against the kernel.
    fn check_in_dim(&self, layer: &str, in_dim: usize, x: &Tensor) -> Result<()> {
        let w = self.weights.read().unwrap_or_else(|e| e.into_inner());
        let want = w.first().map(|k| k.var.read().shape()[0]).unwrap_or(in_dim);
        if want != in_dim {
            return Err(Error::shape(layer, format!("an input with last dimension {want}"), tensor::fmt_shape(x.shape())));
        }
        Ok(())
    }

    fn prepare(&self, batch: usize, training: bool) -> Result<Prepared> {
        let (kernel, rk, bias) = {
            let w = self.weights.read().unwrap_or_else(|e| e.into_inner());
            if w.len() < 2 {
                return Err(Error::arg(&self.base.name, "the layer has no weights (it was not built)"));
            }
            (w[0].var.read(), w[1].var.read(), w.get(2).map(|b| b.var.read()))
        };
        let (u, g) = (self.units, self.kind.gates());
        // [rows, G·U] → [G, rows, U]
        let gate_major = |w: &Tensor| -> Result<Tensor> {
            let rows = w.shape()[0];
            if g == 1 {
                ops::reshape(w, &[1, rows, u])
            } else {
                ops::transpose(&ops::reshape(w, &[rows, g, u])?, &[1, 0, 2])
            }
        };
        let reset_after = self.kind == CellKind::Gru && self.reset_after;
        let (input_bias, rec_bias) = match bias {
            Some(b) if reset_after => {
                let parts = split0(&b, &[1, 1])?;
                (Some(ops::reshape(&parts[0], &[g, 1, u])?), Some(ops::reshape(&parts[1], &[g, 1, u])?))
            }
            Some(b) => (Some(ops::reshape(&b, &[g, 1, u])?), None),
            None => (None, None),
        };
        let kernel = gate_major(&kernel)?;
        let mut rec = match self.kind {
            CellKind::SimpleRnn => rk,
            _ => gate_major(&rk)?,
        };
        let mut rec_h = None;
        if self.kind == CellKind::Gru && !reset_after {
            let parts = split0(&rec, &[2, 1])?;
            rec_h = Some(ops::reshape(&parts[1], &[u, u])?);
            rec = parts[0].clone();
        }
        let rec_mask = if training && active_rate(self.recurrent_dropout) {
            Some(dropout_mask(&[batch, u], self.recurrent_dropout)?)
        } else {
            None
        };
        Ok(Prepared { kernel, input_bias, rec, rec_h, rec_bias, rec_mask })
    }

    /// Inputs `x [n, inputDim]` projected by the kernel (plus the input bias), in the step
    /// function's layout: `[n, U]` for SimpleRNN, gate-major `[G, n, U]` otherwise. One product
    /// for all `n` rows.
    fn project(&self, p: &Prepared, x: &Tensor) -> Result<Tensor> {
        let (n, f) = (x.shape()[0], x.shape()[1]);
        let x3 = ops::reshape(x, &[1, n, f])?;
        let proj = match &p.input_bias {
            Some(b) => run_kernel("_FusedMatMul", &[x3, p.kernel.clone(), b.clone()], &Attrs::new().with("activation", "linear"))?.remove(0),
            None => ops::mat_mul(&x3, &p.kernel, false, false)?,
        };
        if self.kind == CellKind::SimpleRnn {
            ops::reshape(&proj, &[n, self.units])
        } else {
            Ok(proj)
        }
    }

    /// One time step: the projected input `x` (as `project` lays it out) and the states → new states
    /// (the output is the first).
    fn step(&self, p: &Prepared, x: &Tensor, states: &[Tensor]) -> Result<Vec<Tensor>> {
        let h = &states[0];
        let hm = match &p.rec_mask {
            Some(m) => ops::mul(h, m)?,
            None => h.clone(),
        };
        let (b, u) = (h.shape()[0], self.units);
        let act = |t: &Tensor| self.activation.apply(t);
        let ract = |t: &Tensor| self.recurrent_activation.apply(t);
        // hm · rec, batched over the gate blocks of `rec`: [1, B, U] × [G, U, U] → [G, B, U].
        let gates_product = |rec: &Tensor| ops::mat_mul(&ops::reshape(&hm, &[1, b, u])?, rec, false, false);
        match self.kind {
            CellKind::SimpleRnn => Ok(vec![act(&ops::add(x, &ops::mat_mul(&hm, &p.rec, false, false)?)?)?]),
            CellKind::Lstm => {
                let c = &states[1];
                let z = unstack(&ops::add(x, &gates_product(&p.rec)?)?, 0)?;
                let i = ract(&z[0])?;
                let f = ract(&z[1])?;
                let cc = act(&z[2])?;
                let o = ract(&z[3])?;
                let c_new = ops::add(&ops::mul(&f, c)?, &ops::mul(&i, &cc)?)?;
                let h_new = ops::mul(&o, &act(&c_new)?)?;
                Ok(vec![h_new, c_new])
            }
            CellKind::Gru => {
                let xs = split0(x, &[2, 1])?;
                let x_h = ops::reshape(&xs[1], &[b, u])?;
                let (z, hh) = if self.reset_after {
                    let mut rec = gates_product(&p.rec)?;
                    if let Some(rb) = &p.rec_bias {
                        rec = ops::add(&rec, rb)?;
                    }
                    let rs = split0(&rec, &[2, 1])?;
                    let zr = unstack(&ract(&ops::add(&xs[0], &rs[0])?)?, 0)?;
                    let hh = act(&ops::add(&x_h, &ops::mul(&zr[1], &ops::reshape(&rs[1], &[b, u])?)?)?)?;
                    (zr.into_iter().next().expect("two gates"), hh)
                } else {
                    let zr = unstack(&ract(&ops::add(&xs[0], &gates_product(&p.rec)?)?)?, 0)?;
                    let rec_h = p.rec_h.as_ref().ok_or_else(|| Error::arg(&self.base.name, "missing the h block of the recurrent kernel"))?;
                    let hh = act(&ops::add(&x_h, &ops::mat_mul(&ops::mul(&zr[1], &hm)?, rec_h, false, false)?)?)?;
                    (zr.into_iter().next().expect("two gates"), hh)
                };
                // z·h + (1 - z)·hh, as hh + z·(h - hh)
                Ok(vec![ops::add(&hh, &ops::mul(&z, &ops::sub(&hm, &hh)?)?)?])
            }
        }
    }

    /// Zero states, or the given ones checked against `[batch, units]`.
    fn initial_states(&self, layer: &str, batch: usize, given: &[Tensor]) -> Result<Vec<Tensor>> {
        let n = self.kind.num_states();
        if given.is_empty() {
            return Ok((0..n).map(|_| Tensor::zeros(&[batch, self.units], DType::Float32)).collect());
        }
        if given.len() != n {
            return Err(Error::arg(layer, format!("the layer has {n} state(s) but was passed {} initial state(s)", given.len())));
        }
        given
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if s.shape() != [batch, self.units] {
                    return Err(Error::shape(
                        format!("{layer} (initial state {i})"),
                        format!("shape [{batch},{}]", self.units),
                        tensor::fmt_shape(s.shape()),
                    ));
                }
                ops::cast(s, DType::Float32)
            })
            .collect()
    }

    /// One step as a layer: `[x [batch, inputDim], ...states]` → `[output, ...new states]`.
    fn call_step(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let name = &self.base.name;
        let n = self.kind.num_states();
        if inputs.len() != 1 + n {
            return Err(Error::arg(name, format!("{} expects {} inputs (the input and {n} state(s)), got {}", self.kind.cell_class(), 1 + n, inputs.len())));
        }
        let x = &inputs[0];
        if x.rank() != 2 {
            return Err(Error::shape(name, "an input of rank 2 ([batch, inputDim])", tensor::fmt_shape(x.shape())));
        }
        let (b, f) = (x.shape()[0], x.shape()[1]);
        self.build(f)?;
        self.check_in_dim(name, f, x)?;
        let states = self.initial_states(name, b, &inputs[1..])?;
        let mut x = ops::cast(x, DType::Float32)?;
        if ctx.training && active_rate(self.dropout) {
            x = ops::mul(&x, &dropout_mask(&[b, f], self.dropout)?)?;
        }
        let p = self.prepare(b, ctx.training)?;
        let xt = self.project(&p, &x)?;
        let new = self.step(&p, &xt, &states)?;
        let mut out = vec![new[0].clone()];
        out.extend(new);
        Ok(out)
    }
}

/// A cell used on its own: one time step. Inputs `[x [batch, inputDim], h [batch, units]]`
/// (LSTM: `[x, h, c]`) → outputs `[output [batch, units], ...new states [batch, units]]`.
pub struct CellLayer {
    cell: RnnCell,
}

impl CellLayer {
    pub fn from_config(kind: CellKind, r: &mut ConfigReader, raw: &Value) -> Result<CellLayer> {
        let base = BaseConfig::read(r)?;
        Ok(CellLayer { cell: RnnCell::read(kind, r, raw, base)? })
    }
}

impl Layer for CellLayer {
    fn class_name(&self) -> &'static str {
        self.cell.kind.cell_class()
    }
    fn name(&self) -> &str {
        &self.cell.base.name
    }
    fn config(&self) -> Value {
        self.cell.config()
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.cell.base.batch_input_shape.clone()
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        let s = input_shapes.first().ok_or_else(|| Error::arg(&self.cell.base.name, "expected an input shape"))?;
        let in_dim = s.last().copied().flatten().ok_or_else(|| {
            Error::arg(&self.cell.base.name, format!("{} needs a known last input dimension, got {}", self.class_name(), fmt_shape(s)))
        })?;
        self.cell.build(in_dim)
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = input_shapes.first().ok_or_else(|| Error::arg(&self.cell.base.name, "expected an input shape"))?;
        let b = s.first().copied().flatten();
        Ok(vec![vec![b, Some(self.cell.units)]; 1 + self.cell.kind.num_states()])
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        self.cell.call_step(inputs, ctx)
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.cell.weights()
    }
}

// ---------------------------------------------------------------------------------------------
// Sequence layers
// ---------------------------------------------------------------------------------------------

/// `SimpleRNN`, `LSTM`, `GRU`, or `RNN` with a `cell` config: runs the cell over time.
///
/// Input `[batch, time, inputDim]`, optionally followed by initial states (`[batch, units]`
/// each; LSTM has two, `h` and `c`). Output `[batch, time, units]` with `returnSequences`, else
/// `[batch, units]` (the last step's); with `returnState` the outputs are
/// `[output, ...final states]`. `goBackwards` processes the time steps last to first (and, as in
/// tfjs, returns the per-step outputs in that processing order). `stateful: true` is refused;
/// `unroll` is accepted and has no effect.
pub struct Rnn {
    class: &'static str,
    base: BaseConfig,
    cell: RnnCell,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    unroll: bool,
}

impl Rnn {
    /// Reads a `SimpleRNN`/`LSTM`/`GRU`/`RNN` config. `raw` is the config object itself (an
    /// explicit `null` differs from an absent field for some options, as in tfjs).
    pub fn from_config(class_name: &str, r: &mut ConfigReader, raw: &Value) -> Result<Rnn> {
        let base = BaseConfig::read(r)?;
        let (class, cell) = match class_name {
            "SimpleRNN" => ("SimpleRNN", RnnCell::read(CellKind::SimpleRnn, r, raw, base.clone())?),
            "LSTM" => ("LSTM", RnnCell::read(CellKind::Lstm, r, raw, base.clone())?),
            "GRU" => ("GRU", RnnCell::read(CellKind::Gru, r, raw, base.clone())?),
            "RNN" => ("RNN", Self::read_cell(r, &base)?),
            other => return Err(Error::arg("layers", format!("'{other}' is not a recurrent layer class"))),
        };
        let layer = r.layer().to_string();
        if r.bool("stateful")? == Some(true) {
            return Err(Error::arg(&layer, "stateful RNNs are not supported yet (config.stateful must be false)"));
        }
        if r.value("numConstants").is_some() {
            return Err(Error::arg(&layer, "RNN constants are not supported (config.numConstants)"));
        }
        // Declared by tfjs's RNN args but unused by it.
        r.skip("inputDim");
        r.skip("inputLength");
        let mut rnn = Rnn {
            class,
            return_sequences: r.bool("returnSequences")?.unwrap_or(false),
            return_state: r.bool("returnState")?.unwrap_or(false),
            go_backwards: r.bool("goBackwards")?.unwrap_or(false),
            unroll: r.bool("unroll")?.unwrap_or(false),
            base,
            cell,
        };
        rnn.cell.weight_prefix = rnn.base.name.clone();
        Ok(rnn)
    }

    /// Builds a recurrent layer from its class name and config, checking for unknown fields.
    pub fn from_class_config(class_name: &str, config: &Value) -> Result<Rnn> {
        let mut r = ConfigReader::new(class_name, config)?;
        let rnn = Rnn::from_config(class_name, &mut r, config)?;
        r.finish()?;
        Ok(rnn)
    }

    /// The `cell` of an `RNN` config: `{className, config}` of one of the built-in cells.
    fn read_cell(r: &mut ConfigReader, base: &BaseConfig) -> Result<RnnCell> {
        let layer = r.layer().to_string();
        let v = r.value("cell").ok_or_else(|| Error::arg(&layer, "config.cell is required (a {className, config} cell)"))?;
        // tfjs's getConfig spreads the cell's config into the layer's.
        for k in CELL_FIELDS {
            r.skip(k);
        }
        if v.is_array() {
            return Err(Error::arg(&layer, "stacked cells (config.cell as a list) are not supported yet"));
        }
        let class = v.get("className").and_then(Value::as_str).ok_or_else(|| {
            Error::arg(&layer, format!("config.cell must be {{className, config}}, got {v}"))
        })?;
        let kind = CellKind::from_cell_class(class).ok_or_else(|| {
            Error::arg(&layer, format!("unsupported cell class '{class}' (expected SimpleRNNCell, LSTMCell or GRUCell)"))
        })?;
        let mut cfg = match v.get("config") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(other) => return Err(Error::arg(&layer, format!("config.cell.config must be an object, got {other}"))),
        };
        if !matches!(cfg.get("name"), Some(Value::String(_))) {
            cfg.insert("name".into(), Value::from(format!("{}_cell", base.name)));
        }
        let cfg = Value::Object(cfg);
        let mut cr = ConfigReader::new(class, &cfg)?;
        let cell_base = BaseConfig::read(&mut cr)?;
        let cell = RnnCell::read(kind, &mut cr, &cfg, cell_base)?;
        cr.finish()?;
        Ok(cell)
    }

    pub fn cell(&self) -> &RnnCell {
        &self.cell
    }
    pub fn return_sequences(&self) -> bool {
        self.return_sequences
    }
    pub fn return_state(&self) -> bool {
        self.return_state
    }
    pub fn go_backwards(&self) -> bool {
        self.go_backwards
    }

    /// Names the weights `<prefix>/kernel`, … (set before the first build).
    pub(crate) fn set_weight_prefix(&mut self, prefix: String) {
        self.cell.weight_prefix = prefix;
    }

    fn seq_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = shapes.first().ok_or_else(|| Error::arg(&self.base.name, "expected an input shape"))?;
        if s.len() != 3 {
            return Err(Error::arg(&self.base.name, format!("{} expects an input of rank 3 ([batch, time, inputDim]), got {}", self.class, fmt_shape(s))));
        }
        Ok(s)
    }

    /// Runs the layer over `x [batch, time, inputDim]` from `initial` states (zeros when
    /// empty). Returns the output (per step `[batch, time, units]` with `returnSequences`, else
    /// the last `[batch, units]`) and the final states. With `chronological`, per-step outputs
    /// of a backwards pass are put back into input time order (what `Bidirectional` needs).
    /// Where `mask [batch, time]` is false, a step keeps the previous states, and its output is
    /// the previous output (tfjs's `rnn`).
    pub fn run_sequence(
        &self,
        x: &Tensor,
        initial: &[Tensor],
        mask: Option<&Tensor>,
        ctx: &CallContext,
        chronological: bool,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let name = &self.base.name;
        if x.rank() != 3 {
            return Err(Error::shape(name, format!("{} input of rank 3 ([batch, time, inputDim])", self.class), tensor::fmt_shape(x.shape())));
        }
        let (b, t, f) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        if t == 0 {
            return Err(Error::shape(name, "an input with at least one time step", tensor::fmt_shape(x.shape())));
        }
        let cell = &self.cell;
        cell.build(f)?;
        cell.check_in_dim(name, f, x)?;
        let mut states = cell.initial_states(name, b, initial)?;
        let mut x = ops::cast(x, DType::Float32)?;
        if ctx.training && active_rate(cell.dropout) {
            // One mask per sequence, shared by all time steps (as tfjs's cells keep theirs).
            x = ops::mul(&x, &dropout_mask(&[b, 1, f], cell.dropout)?)?;
        }
        if let Some(m) = mask {
            check_mask(name, m, b, t)?;
        }
        if let Some(out) = self.run_fused(&x, &states, mask, ctx, chronological)? {
            return Ok(out);
        }
        let p = cell.prepare(b, ctx.training)?;
        let (g, u) = (cell.kind.gates(), cell.units);
        // The input projection of every time step at once (time-major rows, so that each
        // step's slice is contiguous per gate), then the per-step slices.
        let x_tm = ops::reshape(&ops::transpose(&x, &[1, 0, 2])?, &[t * b, f])?;
        let proj = cell.project(&p, &x_tm)?;
        let steps = if cell.kind == CellKind::SimpleRnn {
            unstack(&ops::reshape(&proj, &[t, b, u])?, 0)?
        } else {
            unstack(&ops::reshape(&proj, &[g, t, b, u])?, 1)?
        };
        let step_masks = match mask {
            Some(m) => Some(time_step_masks(name, m, b, t)?),
            None => None,
        };
        let order: Vec<usize> = if self.go_backwards { (0..t).rev().collect() } else { (0..t).collect() };
        let mut outputs = Vec::new();
        for ti in order {
            let new = cell.step(&p, &steps[ti], &states)?;
            states = match &step_masks {
                // new·m + previous·(1 − m), exact for m ∈ {0, 1}
                Some(ms) => {
                    let (keep, hold) = &ms[ti];
                    new.iter().zip(&states).map(|(n, s)| ops::add(&ops::mul(n, keep)?, &ops::mul(s, hold)?)).collect::<Result<Vec<_>>>()?
                }
                None => new,
            };
            if self.return_sequences {
                outputs.push(states[0].clone());
            }
        }
        let output = if self.return_sequences {
            if chronological && self.go_backwards {
                outputs.reverse();
            }
            stack(&outputs, 1)?
        } else {
            states[0].clone()
        };
        Ok((output, states))
    }

    /// The whole sequence in one fused kernel (`kernels::rnn`), when it computes what the
    /// step-by-step path would — its activations are supported and no recurrent dropout is
    /// active — and no enclosing gradient scope needs to differentiate its gradient. `None`
    /// otherwise.
    fn run_fused(&self, x: &Tensor, states: &[Tensor], mask: Option<&Tensor>, ctx: &CallContext, chronological: bool) -> Result<Option<(Tensor, Vec<Tensor>)>> {
        let cell = &self.cell;
        let fused = match cell.kind {
            CellKind::SimpleRnn => rnn::Cell::SimpleRnn,
            CellKind::Lstm => rnn::Cell::Lstm,
            CellKind::Gru => rnn::Cell::Gru,
        };
        let kernel = fused.kernel();
        if STEPWISE.with(|c| c.get())
            || !native(kernel)
            || (ctx.training && active_rate(cell.recurrent_dropout))
            || crate::engine::current_tapes().len() > 1
        {
            return Ok(None);
        }
        if rnn::Act::parse(cell.activation.name()).is_none() || rnn::Act::parse(cell.recurrent_activation.name()).is_none() {
            return Ok(None);
        }
        let w = cell.weights();
        if w.len() < 2 {
            return Err(Error::arg(&cell.base.name, "the layer has no weights (it was not built)"));
        }
        let mut inputs = vec![x.clone(), w[0].var.read(), w[1].var.read()];
        inputs.extend(states.iter().cloned());
        if let Some(bias) = w.get(2) {
            inputs.push(bias.var.read());
        }
        if let Some(m) = mask {
            inputs.push(m.clone());
        }
        let attrs = Attrs::new()
            .with("activation", cell.activation.name())
            .with("recurrentActivation", cell.recurrent_activation.name())
            .with("goBackwards", self.go_backwards)
            .with("returnSequences", self.return_sequences)
            .with("chronological", chronological)
            .with("resetAfter", cell.reset_after)
            .with("hasBias", w.len() > 2)
            .with("hasMask", mask.is_some())
            .with("saveWorkspace", crate::engine::is_recording());
        let mut out = run_kernel(kernel, &inputs, &attrs)?;
        out.pop(); // the workspace the gradient reads
        let output = out.remove(0);
        Ok(Some((output, out)))
    }
}

impl Layer for Rnn {
    fn class_name(&self) -> &'static str {
        self.class
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    /// tfjs: the cell's config, then the layer's base fields, then the RNN options (and for the
    /// generic `RNN`, the cell as `{className, config}`).
    fn config(&self) -> Value {
        let mut m = Map::new();
        self.cell.write_config(&mut m);
        self.base.write(&mut m);
        m.insert("returnSequences".into(), Value::from(self.return_sequences));
        m.insert("returnState".into(), Value::from(self.return_state));
        m.insert("goBackwards".into(), Value::from(self.go_backwards));
        m.insert("stateful".into(), Value::from(false));
        m.insert("unroll".into(), Value::from(self.unroll));
        if self.class == "RNN" {
            m.insert("cell".into(), json!({"className": self.cell.kind.cell_class(), "config": self.cell.config()}));
        }
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        let s = self.seq_shape(input_shapes)?;
        let in_dim = s[2].ok_or_else(|| {
            Error::arg(&self.base.name, format!("{} needs a known last input dimension, got input shape {}", self.class, fmt_shape(s)))
        })?;
        self.cell.build(in_dim)
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.seq_shape(input_shapes)?;
        let u = Some(self.cell.units);
        let mut out = vec![if self.return_sequences { vec![s[0], s[1], u] } else { vec![s[0], u] }];
        if self.return_state {
            out.extend((0..self.cell.kind.num_states()).map(|_| vec![s[0], u]));
        }
        Ok(out)
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        self.call_masked(inputs, &[], ctx)
    }
    fn call_masked(&self, inputs: &[Tensor], masks: &[Option<Tensor>], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = inputs.first().ok_or_else(|| Error::arg(&self.base.name, "expected an input"))?;
        let mask = super::first_mask(masks);
        let (output, states) = self.run_sequence(x, &inputs[1..], mask.as_ref(), ctx, false)?;
        let mut out = vec![output];
        if self.return_state {
            out.extend(states);
        }
        Ok(out)
    }
    /// The input's mask goes on with the per-step outputs.
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(if self.return_sequences { super::first_mask(masks) } else { None })
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.cell.weights()
    }
}
