//! What `model.fit` is given, checked before anything trains: the numeric arguments (as JS
//! numbers, so NaN, negative and fractional values are reported here, naming the field), the
//! data against the model's inputs and outputs (tfjs `standardizeUserData`), and per-sample
//! weights from `classWeight` and `sampleWeight`.

use super::graph::Graph;
use super::losses::LossKind;
use super::train::CompileSpec;
use crate::error::{Error, Result};
use crate::layers::{self, Shape};
use crate::tensor::{fmt_shape, Tensor};
use std::collections::HashMap;

/// Weights by class index (tfjs `ClassWeight`).
pub type ClassWeight = HashMap<i64, f64>;

/// tfjs `ModelFitArgs` (the parts the core runs; `verbose`, `callbacks` and `yieldEvery` belong
/// to the caller's [`FitObserver`](super::train::FitObserver)). Numbers are JS numbers.
#[derive(Clone)]
pub struct FitArgs {
    /// Samples per gradient update (default 32).
    pub batch_size: f64,
    /// The epoch to stop before (default 1).
    pub epochs: f64,
    /// Reshuffle the training samples before each epoch (default true).
    pub shuffle: bool,
    /// The last fraction of the samples, taken before shuffling, held out for validation.
    pub validation_split: f64,
    /// Validation inputs and targets (used instead of `validation_split`).
    pub validation_data: Option<(Vec<Tensor>, Vec<Tensor>)>,
    /// The epoch to start at (default 0).
    pub initial_epoch: f64,
    /// Batches per epoch; the sample order then runs on across epochs, reshuffled whenever
    /// it is used up. Default: one pass over the samples.
    pub steps_per_epoch: Option<f64>,
    /// Per model output (empty: none).
    pub class_weight: Vec<Option<ClassWeight>>,
    /// Per model output, one weight per sample (empty: none).
    pub sample_weight: Vec<Option<Tensor>>,
    /// Seed of the shuffle (default: fresh entropy).
    pub shuffle_seed: Option<u64>,
    /// Batch size of the validation pass (default: `batch_size`).
    pub validation_batch_size: Option<f64>,
    /// Validate after every n-th epoch (Keras `validation_freq`; default 1).
    pub validation_freq: Option<f64>,
    /// Batches of the validation data to use (tfjs `validationSteps`; default: all).
    pub validation_steps: Option<f64>,
}

impl Default for FitArgs {
    fn default() -> FitArgs {
        FitArgs {
            batch_size: 32.0,
            epochs: 1.0,
            shuffle: true,
            validation_split: 0.0,
            validation_data: None,
            initial_epoch: 0.0,
            steps_per_epoch: None,
            class_weight: Vec::new(),
            sample_weight: Vec::new(),
            shuffle_seed: None,
            validation_batch_size: None,
            validation_freq: None,
            validation_steps: None,
        }
    }
}

fn bad(op: &str, field: &str, expected: &str, given: f64) -> Error {
    Error::arg(op, format!("{field} must be {expected}, but got {given}"))
}

/// A whole number `>= min`.
pub(crate) fn count(op: &str, field: &str, v: f64, min: u32) -> Result<usize> {
    let expected = if min == 0 { "a non-negative integer" } else { "a positive integer" };
    if !(v.is_finite() && v.fract() == 0.0 && v >= min as f64) {
        return Err(bad(op, field, expected, v));
    }
    Ok(v as usize)
}

/// The checked numeric arguments.
pub(crate) struct Plan {
    pub batch_size: usize,
    pub epochs: usize,
    pub initial_epoch: usize,
    pub steps_per_epoch: Option<usize>,
    pub validation_split: f64,
    pub validation_batch_size: usize,
    pub validation_freq: usize,
    pub validation_steps: Option<usize>,
}

impl FitArgs {
    pub(crate) fn plan(&self) -> Result<Plan> {
        const OP: &str = "fit";
        let validation_split = self.validation_split;
        if !(validation_split.is_finite() && (0.0..1.0).contains(&validation_split)) {
            return Err(bad(OP, "validationSplit", "a number in [0, 1)", validation_split));
        }
        let batch_size = count(OP, "batchSize", self.batch_size, 1)?;
        Ok(Plan {
            batch_size,
            validation_batch_size: self.validation_batch_size.map(|b| count(OP, "validationBatchSize", b, 1)).transpose()?.unwrap_or(batch_size),
            validation_freq: self.validation_freq.map(|f| count(OP, "validationFreq", f, 1)).transpose()?.unwrap_or(1),
            validation_steps: self.validation_steps.map(|s| count(OP, "validationSteps", s, 1)).transpose()?,
            epochs: count(OP, "epochs", self.epochs, 0)?,
            initial_epoch: count(OP, "initialEpoch", self.initial_epoch, 0)?,
            steps_per_epoch: self.steps_per_epoch.map(|s| count(OP, "stepsPerEpoch", s, 1)).transpose()?,
            validation_split,
        })
    }
}

/// Inputs and targets checked against the model: rank-1 tensors viewed as `[n, 1]`.
pub(crate) struct Data {
    pub xs: Vec<Tensor>,
    pub ys: Vec<Tensor>,
    pub samples: usize,
}

/// A rank-1 tensor as `[n, 1]` (tfjs `ensureTensorsRank2OrHigher`); scalars are refused.
fn rank2(op: &str, what: &str, t: &Tensor) -> Result<Tensor> {
    match t.rank() {
        0 => Err(Error::shape(op, format!("{what} with a batch dimension"), "a scalar")),
        1 => t.reshaped(vec![t.shape()[0], 1]),
        _ => Ok(t.clone()),
    }
}

fn check_shape(op: &str, what: &str, want: &Shape, t: &Tensor) -> Result<()> {
    let ok = want.len() == t.rank() && want.iter().zip(t.shape()).skip(1).all(|(w, &g)| w.is_none_or(|w| w == g));
    if ok {
        Ok(())
    } else {
        Err(Error::shape(op, format!("{what} of shape {}", layers::fmt_shape(want)), fmt_shape(t.shape())))
    }
}

/// The model's inputs, checked and viewed as rank >= 2.
pub(crate) fn standardize_inputs(op: &str, graph: &Graph, xs: &[Tensor]) -> Result<Vec<Tensor>> {
    if xs.len() != graph.inputs.len() {
        return Err(Error::arg(op, format!("the model expects {} input tensor(s), but got {}", graph.inputs.len(), xs.len())));
    }
    xs.iter()
        .zip(graph.input_shapes())
        .enumerate()
        .map(|(i, (x, want))| {
            let what = format!("input {i}");
            let x = rank2(op, &what, x)?;
            check_shape(op, &what, &want, &x)?;
            Ok(x)
        })
        .collect()
}

/// Inputs and targets for `spec`'s model (tfjs `standardizeUserDataXY`).
pub(crate) fn standardize(op: &str, graph: &Graph, spec: &CompileSpec, xs: &[Tensor], ys: &[Tensor]) -> Result<Data> {
    let xs = standardize_inputs(op, graph, xs)?;
    let outputs = spec.output_names.len();
    if ys.len() != outputs {
        return Err(Error::arg(op, format!("the model has {outputs} output(s), so expected {outputs} target tensor(s), but got {}", ys.len())));
    }
    let mut targets = Vec::with_capacity(outputs);
    for (i, y) in ys.iter().enumerate() {
        let what = format!("target '{}'", spec.output_names[i]);
        let y = rank2(op, &what, y)?;
        let kind = spec.losses[i].kind();
        if let Some(want) = &spec.output_shapes[i] {
            let mut want = want.clone();
            if kind == Some(LossKind::SparseCategoricalCrossentropy) {
                if let Some(last) = want.last_mut() {
                    *last = Some(1);
                }
            }
            check_shape(op, &what, &want, &y)?;
        }
        if kind == Some(LossKind::CategoricalCrossentropy) && y.shape().last() == Some(&1) {
            return Err(Error::shape(
                op,
                format!("{what}: categoricalCrossentropy expects targets to be binary matrices (1s and 0s) of shape [samples, classes]"),
                fmt_shape(y.shape()),
            ));
        }
        targets.push(y);
    }
    let firsts = |ts: &[Tensor]| ts.iter().map(|t| t.shape()[0]).collect::<Vec<_>>();
    let (nx, ny) = (firsts(&xs), firsts(&targets));
    let samples = nx.first().copied().unwrap_or(0);
    if nx.iter().chain(&ny).any(|&n| n != samples) {
        return Err(Error::shape(op, "inputs and targets with the same number of samples", format!("inputs of {nx:?} and targets of {ny:?} samples")));
    }
    Ok(Data { xs, ys: targets, samples })
}

/// The class of each sample of target `y` (`[n, 1]`: the value; `[n, c > 1]`: the argmax),
/// as tfjs `standardizeWeights` reads it.
fn class_of_each(op: &str, y: &Tensor) -> Result<Vec<f32>> {
    let v = y.as_f32();
    match y.shape() {
        [_, 1] => Ok(v.into_owned()),
        [_, c] if *c > 1 => Ok(v
            .chunks(*c)
            .map(|row| row.iter().enumerate().fold(0, |best, (j, &x)| if x > row[best] { j } else { best }) as f32)
            .collect()),
        s => Err(Error::shape(op, "a target of rank 1 or 2 to apply class weights to", fmt_shape(s))),
    }
}

/// Per output, each sample's weight: its class's weight times its sample weight (`None` when
/// the output has neither).
pub(crate) fn sample_weights(args: &FitArgs, spec: &CompileSpec, ys: &[Tensor], samples: usize) -> Result<Vec<Option<Vec<f32>>>> {
    const OP: &str = "fit";
    let outputs = ys.len();
    for (field, given) in [("classWeight", args.class_weight.len()), ("sampleWeight", args.sample_weight.len())] {
        if given != 0 && given != outputs {
            return Err(Error::arg(OP, format!("{field} must give one entry per model output ({outputs}), but got {given}")));
        }
    }
    let mut out = Vec::with_capacity(outputs);
    for (i, y) in ys.iter().enumerate() {
        let mut w: Option<Vec<f32>> = None;
        if let Some(Some(cw)) = args.class_weight.get(i) {
            for (&class, &v) in cw {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad(OP, &format!("classWeight[{class}] (output '{}')", spec.output_names[i]), "a finite number >= 0", v));
                }
            }
            let classes = class_of_each(OP, y)?;
            let per_sample = classes
                .iter()
                .map(|&c| {
                    let key = (c.fract() == 0.0).then_some(c as i64);
                    key.and_then(|k| cw.get(&k)).map(|&v| v as f32).ok_or_else(|| {
                        Error::arg(OP, format!("classWeight must contain all classes in the training data. The class {c} exists in the data but not in classWeight"))
                    })
                })
                .collect::<Result<Vec<f32>>>()?;
            w = Some(per_sample);
        }
        if let Some(Some(sw)) = args.sample_weight.get(i) {
            let field = format!("sampleWeight (output '{}')", spec.output_names[i]);
            if sw.size() != samples || sw.rank() > 2 || sw.shape().first() != Some(&samples) {
                return Err(Error::shape(OP, format!("{field}: one weight per sample, shape [{samples}]"), fmt_shape(sw.shape())));
            }
            let v = sw.as_f32();
            if let Some(&x) = v.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
                return Err(bad(OP, &field, "finite numbers >= 0", x as f64));
            }
            w = Some(match w {
                Some(cw) => cw.iter().zip(v.iter()).map(|(a, b)| a * b).collect(),
                None => v.into_owned(),
            });
        }
        out.push(w);
    }
    Ok(out)
}
