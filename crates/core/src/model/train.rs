//! The training loop over a model graph (tfjs-layers `LayersModel.fit`, `evaluate`, `predict`,
//! `trainOnBatch`).
//!
//! One training step records, on a tape of its own, the forward pass (`training: true`), each
//! output's per-sample loss (times its sample weights and loss weight), their mean and the
//! regularizer penalties of the weights; computes the metrics on the same outputs; takes the
//! gradients of the total with respect to the trainable weights; and only then lets the
//! optimizer update the weights and applies their constraints (as Keras does; tfjs 4.22's
//! `fit` leaves constraints out). A step that fails changes no weight.
//!
//! Logs follow tfjs: `loss` (the total, penalties included), `<output>_loss` per output when
//! there are several, the metric keys (prefixed `<output>_` when there are several outputs,
//! duplicates suffixed `_0`, `_1`, …), and their `val_` twins computed at the end of each
//! epoch. Epoch values are the batch values averaged weighted by batch size.

use super::batching::{slice_rows, RowStack, SampleOrder};
use super::extras::{self, Running};
use super::fit_args::{self, count, FitArgs};
use super::fused_loss;
use super::graph::{Graph, NodeLayer};
pub use super::history::{FitObserver, FitParams, History, Logs};
use super::losses::{Loss, LossKind};
use super::metrics::{self, Metric, MetricSpec};
use crate::engine;
use crate::error::{Error, Result};
use crate::layers::{constraints::Constraint, regularizers::Regularizer, CallContext, Shape};
use crate::ops;
use crate::optim::Optimizer;
use crate::tape::{self, TapeRef};
use crate::tensor::{DType, Tensor, Variable};
use std::cell::OnceCell;
use std::ops::Range;
use std::sync::Arc;

/// What `model.compile` fixes for training and evaluation, one entry per model output.
#[derive(Debug, Clone)]
pub struct CompileSpec {
    pub output_names: Vec<String>,
    /// Static output shapes where the core can infer them.
    pub output_shapes: Vec<Option<Shape>>,
    pub losses: Vec<Loss>,
    pub loss_weights: Vec<f64>,
    pub metrics: Vec<Vec<Metric>>,
}

impl CompileSpec {
    /// `losses` and `metrics` hold one entry per output, or one entry for all outputs
    /// (`metrics` may be empty); `loss_weights` default to 1. `'accuracy'` and
    /// `'crossentropy'` resolve against each output's loss and shape ([`metrics::resolve`]).
    pub fn new(graph: &Graph, output_names: Vec<String>, losses: Vec<Loss>, loss_weights: Option<Vec<f64>>, metrics: Vec<Vec<MetricSpec>>) -> Result<CompileSpec> {
        const OP: &str = "compile";
        let n = graph.outputs.len();
        if output_names.len() != n {
            return Err(Error::arg(OP, format!("expected {n} output name(s), one per model output, but got {}", output_names.len())));
        }
        let per_output = |what: &str, given: usize| {
            Error::arg(OP, format!("{what} must have one entry per model output: the model has {n} output(s), but got {given}"))
        };
        let losses = match losses.len() {
            1 => vec![losses[0].clone(); n],
            k if k == n => losses,
            k => return Err(per_output("loss", k)),
        };
        let loss_weights = match loss_weights {
            None => vec![1.0; n],
            Some(w) if w.len() == n => {
                if let Some(bad) = w.iter().find(|v| !v.is_finite()) {
                    return Err(Error::arg(OP, format!("lossWeights must be finite numbers, but got {bad}")));
                }
                w
            }
            Some(w) => return Err(per_output("lossWeights", w.len())),
        };
        let metrics = match metrics.len() {
            0 => vec![Vec::new(); n],
            1 => vec![metrics[0].clone(); n],
            k if k == n => metrics,
            k => return Err(per_output("metrics", k)),
        };
        let output_shapes = infer_output_shapes(graph);
        let metrics = metrics
            .iter()
            .enumerate()
            .map(|(i, ms)| {
                let last = output_shapes[i].as_ref().and_then(|s| s.last().copied().flatten());
                ms.iter().map(|m| metrics::resolve(m, &losses[i], last)).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CompileSpec { output_names, output_shapes, losses, loss_weights, metrics })
    }

    /// The log keys of a step's values, in order (tfjs `metricsNames`, deduplicated).
    pub fn metrics_names(&self) -> Vec<String> {
        let multi = self.output_names.len() > 1;
        let mut names = vec!["loss".to_string()];
        if multi {
            names.extend(self.output_names.iter().map(|o| format!("{o}_loss")));
        }
        for (o, ms) in self.output_names.iter().zip(&self.metrics) {
            names.extend(ms.iter().map(|m| if multi { format!("{o}_{}", m.key) } else { m.key.clone() }));
        }
        names
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if names.iter().filter(|x| *x == l).count() > 1 {
                    format!("{l}_{}", names[..i].iter().filter(|x| *x == l).count())
                } else {
                    l.clone()
                }
            })
            .collect()
    }
}

/// Each output's static shape where the core can infer it without building anything: unknown
/// downstream of a foreign layer or of a layer that cannot tell.
pub fn infer_output_shapes(graph: &Graph) -> Vec<Option<Shape>> {
    let mut shapes: Vec<Option<Vec<Shape>>> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let ins: Option<Vec<Shape>> = node.inputs.iter().map(|r| shapes.get(r.node)?.as_ref()?.get(r.index).cloned()).collect();
        shapes.push(match (&node.layer, ins) {
            (NodeLayer::Input { shape, .. }, _) => Some(vec![shape.clone()]),
            (NodeLayer::Native(l), Some(ins)) => l.compute_output_shape(&ins).ok(),
            _ => None,
        });
    }
    graph.outputs.iter().map(|o| shapes.get(o.node)?.as_ref()?.get(o.index).cloned()).collect()
}

/// A model's weights as training sees them.
struct Weights {
    trainable: Vec<Arc<Variable>>,
    ids: Vec<u64>,
    regularized: Vec<(Arc<Variable>, Regularizer)>,
    constrained: Vec<(Arc<Variable>, Constraint)>,
}

impl Weights {
    fn of(graph: &Graph) -> Weights {
        let weights = graph.weights();
        let trainable: Vec<Arc<Variable>> = weights.iter().filter(|w| w.trainable()).map(|w| w.var.clone()).collect();
        Weights {
            ids: trainable.iter().map(|v| v.id()).collect(),
            regularized: weights.iter().filter_map(|w| Some((w.var.clone(), w.regularizer?))).collect(),
            constrained: weights.iter().filter(|w| w.trainable()).filter_map(|w| Some((w.var.clone(), w.constraint.clone()?))).collect(),
            trainable,
        }
    }
}

/// Training and evaluation steps of a compiled model. Its weights are collected after the
/// first forward pass, which builds layers that were not built yet.
struct Step<'a> {
    graph: &'a Graph,
    spec: &'a CompileSpec,
    weights: OnceCell<Weights>,
}

fn all_axes(t: &Tensor) -> Vec<usize> {
    (0..t.rank()).collect()
}

fn scalar_value(t: &Tensor) -> f64 {
    t.as_f32().first().map_or(f64::NAN, |&v| v as f64)
}

/// The logits of `out` when the tape shows it was computed by the native Softmax over its
/// last axis.
pub(super) fn softmax_logits(tape: &TapeRef, out: &Tensor) -> Option<Tensor> {
    let t = tape.lock().unwrap_or_else(|e| e.into_inner());
    let node = t.nodes.iter().rev().find(|n| n.outputs.iter().any(|o| o.id() == out.id()))?;
    if node.kernel != "Softmax" || node.custom.is_some() || node.inputs.len() != 1 || node.outputs.len() != 1 {
        return None;
    }
    let x = &node.inputs[0];
    let rank = x.rank() as i64;
    let last_axis = match node.attrs.i64s("Softmax", "dim").ok()? {
        None => true,
        Some(d) => d.len() == 1 && (d[0] == -1 || d[0] == rank - 1),
    };
    (rank >= 1 && last_axis && x.dtype() == DType::Float32 && fused_loss::available()).then(|| x.clone())
}

/// Per-sample weights `[b]` shaped to multiply per-sample losses along their first axis.
fn along_batch(op: &str, w: &Tensor, loss: &Tensor) -> Result<Tensor> {
    if loss.rank() <= 1 {
        return Ok(w.clone());
    }
    if loss.shape()[0] != w.size() {
        return Err(Error::shape(op, format!("per-sample losses for {} samples", w.size()), crate::tensor::fmt_shape(loss.shape())));
    }
    let mut shape = vec![1; loss.rank()];
    shape[0] = w.size();
    ops::reshape(w, &shape)
}

impl<'a> Step<'a> {
    fn new(graph: &'a Graph, spec: &'a CompileSpec) -> Step<'a> {
        Step { graph, spec, weights: OnceCell::new() }
    }

    fn weights(&self) -> &Weights {
        self.weights.get_or_init(|| Weights::of(self.graph))
    }

    fn multi(&self) -> bool {
        self.spec.output_names.len() > 1
    }

    fn check_outputs(&self, op: &str, outs: &[Tensor]) -> Result<()> {
        if outs.len() != self.spec.losses.len() {
            return Err(Error::arg(op, format!("the model produced {} output(s), but was compiled for {}", outs.len(), self.spec.losses.len())));
        }
        Ok(())
    }

    /// One output's per-sample loss, fusing softmax + crossentropy when the output is a
    /// recorded native softmax.
    fn output_loss(&self, tape: &TapeRef, loss: &Loss, y: &Tensor, out: &Tensor) -> Result<Tensor> {
        let sparse = match loss.kind() {
            Some(LossKind::CategoricalCrossentropy) => false,
            Some(LossKind::SparseCategoricalCrossentropy) => true,
            _ => return loss.compute(y, out),
        };
        if let Some(logits) = softmax_logits(tape, out) {
            let classes = out.shape().last().copied().unwrap_or(0);
            let fits = if sparse { y.size() * classes == out.size() } else { y.shape() == out.shape() };
            if fits {
                return fused_loss::softmax_crossentropy(y, &logits, sparse);
            }
        }
        loss.compute(y, out)
    }

    /// Records the forward pass and the total loss; returns it, the outputs, (with several
    /// outputs) each output's weighted per-sample losses, and the metrics layers added.
    fn total_loss(&self, op: &str, tape: &TapeRef, xs: &[Tensor], ys: &[Tensor], sw: &[Option<Tensor>]) -> Result<(Tensor, Vec<Tensor>, Vec<Tensor>, Vec<(String, f64)>)> {
        let (outs, added) = extras::collect(|| self.graph.forward(xs, &CallContext { training: true }));
        let outs = outs?;
        self.check_outputs(op, &outs)?;
        let mut total: Option<Tensor> = None;
        let mut per_output = Vec::new();
        for (i, loss) in self.spec.losses.iter().enumerate() {
            let mut l = self.output_loss(tape, loss, &ys[i], &outs[i])?;
            if let Some(w) = sw.get(i).and_then(Option::as_ref) {
                l = ops::mul(&l, &along_batch(op, w, &l)?)?;
            }
            if self.multi() {
                per_output.push(l.clone());
            }
            let weight = self.spec.loss_weights[i];
            if weight != 1.0 {
                l = ops::mul(&l, &Tensor::scalar(weight as f32))?;
            }
            total = Some(match total {
                None => l,
                Some(t) => ops::add(&t, &l)?,
            });
        }
        let total = total.ok_or_else(|| Error::arg(op, "the model has no outputs to train"))?;
        let mut total = ops::mean(&total, &all_axes(&total), false)?;
        for l in &added.losses {
            total = ops::add(&total, &ops::sum(l, &all_axes(l), false)?)?;
        }
        for (var, reg) in &self.weights().regularized {
            total = ops::add(&total, &reg.penalty(&var.read())?)?;
        }
        let added_metrics = engine::without_tapes(|| added.metrics.iter().map(|(n, t)| (n.clone(), metrics::mean_value(t))).collect());
        Ok((total, outs, per_output, added_metrics))
    }

    /// The metrics of `outs`, after the loss values already in `values`.
    fn metric_values(&self, ys: &[Tensor], outs: &[Tensor], values: &mut Vec<f64>) -> Result<()> {
        for (i, ms) in self.spec.metrics.iter().enumerate() {
            for m in ms {
                values.push(m.value(&ys[i], &outs[i])?);
            }
        }
        Ok(())
    }

    /// One gradient step on a batch; returns the values of `metrics_names()`, then the
    /// metrics the layers added.
    fn train(&self, op: &str, optimizer: &mut Optimizer, xs: &[Tensor], ys: &[Tensor], sw: &[Option<Tensor>]) -> Result<(Vec<f64>, Vec<(String, f64)>)> {
        let tape = tape::new_tape();
        let (total, outs, per_output, added) = engine::without_tapes(|| engine::with_tape(&tape, || self.total_loss(op, &tape, xs, ys, sw)))?;
        let weights = self.weights();
        if weights.trainable.is_empty() {
            return Err(Error::arg(op, "the model has no trainable weights, so there is nothing to train"));
        }
        let mut values = Vec::with_capacity(1 + per_output.len() + self.spec.metrics.iter().map(Vec::len).sum::<usize>());
        values.push(scalar_value(&total));
        values.extend(per_output.iter().map(metrics::mean_value));
        engine::without_tapes(|| self.metric_values(ys, &outs, &mut values))?;
        drop(outs);
        let grads = engine::without_tapes(|| tape::gradients(&tape, &total, &weights.ids, None))?;
        let pairs: Vec<(Arc<Variable>, Tensor)> = weights.trainable.iter().zip(grads).filter_map(|(v, g)| Some((v.clone(), g?))).collect();
        if pairs.is_empty() {
            return Err(Error::arg(op, "cannot find a connection between any trainable weight and the loss"));
        }
        self.apply(optimizer, &pairs)?;
        Ok((values, added))
    }

    /// Updates the weights, then applies their constraints; if a constraint fails, the
    /// weights are put back as they were.
    fn apply(&self, optimizer: &mut Optimizer, pairs: &[(Arc<Variable>, Tensor)]) -> Result<()> {
        let constrained = &self.weights().constrained;
        if constrained.is_empty() {
            return optimizer.apply_gradients(pairs);
        }
        let before: Vec<Tensor> = pairs.iter().map(|(v, _)| v.read()).collect();
        optimizer.apply_gradients(pairs)?;
        let values = engine::without_tapes(|| constrained.iter().map(|(v, c)| c.apply(&v.read())).collect::<Result<Vec<_>>>());
        let assigned = values.and_then(|values| constrained.iter().zip(values).try_for_each(|((v, _), x)| v.assign(&x)));
        if let Err(e) = assigned {
            for ((v, _), x) in pairs.iter().zip(&before) {
                v.assign(x)?;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Loss and metrics of one batch in inference mode (tfjs `testFunction`), then the
    /// metrics the layers added.
    fn test(&self, op: &str, xs: &[Tensor], ys: &[Tensor]) -> Result<(Vec<f64>, Vec<(String, f64)>)> {
        engine::without_tapes(|| {
            let (outs, added) = extras::collect(|| self.graph.forward(xs, &CallContext { training: false }));
            let outs = outs?;
            self.check_outputs(op, &outs)?;
            let mut values = vec![0.0];
            for l in &added.losses {
                values[0] += l.to_f32_vec().iter().map(|&v| v as f64).sum::<f64>();
            }
            for (i, loss) in self.spec.losses.iter().enumerate() {
                let l = metrics::mean_value(&loss.compute(&ys[i], &outs[i])?);
                values[0] += l * self.spec.loss_weights[i];
                if self.multi() {
                    values.push(l);
                }
            }
            self.metric_values(ys, &outs, &mut values)?;
            let added = added.metrics.iter().map(|(n, t)| (n.clone(), metrics::mean_value(t))).collect();
            Ok((values, added))
        })
    }

    /// `test` over `rows` in batches, averaged weighted by batch size (tfjs `testLoop`): the
    /// values of `metrics_names()`, then those of the metrics the layers added.
    fn evaluate(&self, op: &str, xs: &[Tensor], ys: &[Tensor], rows: Range<usize>, batch_size: usize) -> Result<Vec<(String, f64)>> {
        let labels = self.spec.metrics_names();
        let mut running = Running::default();
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + batch_size).min(rows.end);
            let bx: Vec<Tensor> = xs.iter().map(|t| slice_rows(t, start..end)).collect();
            let by: Vec<Tensor> = ys.iter().map(|t| slice_rows(t, start..end)).collect();
            let (values, added) = self.test(op, &bx, &by)?;
            let w = (end - start) as f64;
            for (l, v) in labels.iter().zip(values) {
                running.add(l, v, w);
            }
            running.add_all(&added, w);
            start = end;
        }
        Ok(running.means())
    }
}

fn to_logs(labels: &[String], values: &[f64]) -> Logs {
    Logs(labels.iter().cloned().zip(values.iter().copied()).collect())
}

/// Validation inputs and targets, and the rows of them to validate on.
struct Validation {
    xs: Vec<Tensor>,
    ys: Vec<Tensor>,
    rows: Range<usize>,
}

/// `model.fit(x, y, args)`: trains `graph` on `xs`/`ys` (one tensor per model input/output).
/// Every argument and the data are checked before the first step.
pub fn fit(graph: &Graph, optimizer: &mut Optimizer, spec: &CompileSpec, xs: &[Tensor], ys: &[Tensor], args: &FitArgs, observer: &mut dyn FitObserver) -> Result<History> {
    const OP: &str = "fit";
    let plan = args.plan()?;
    let data = fit_args::standardize(OP, graph, spec, xs, ys)?;
    let weights = fit_args::sample_weights(args, spec, &data.ys, data.samples)?;
    let (train_samples, validation) = match &args.validation_data {
        Some((vx, vy)) => {
            let v = fit_args::standardize("fit (validationData)", graph, spec, vx, vy)?;
            (data.samples, Some(Validation { rows: 0..v.samples, xs: v.xs, ys: v.ys }))
        }
        None if plan.validation_split > 0.0 => {
            let split = (data.samples as f64 * (1.0 - plan.validation_split)).floor() as usize;
            (split, Some(Validation { xs: data.xs.clone(), ys: data.ys.clone(), rows: split..data.samples }))
        }
        None => (data.samples, None),
    };
    let step = Step::new(graph, spec);
    let labels = spec.metrics_names();
    let mut keys = labels.clone();
    if validation.is_some() {
        keys.extend(labels.iter().map(|l| format!("val_{l}")));
    }
    let bs = plan.batch_size;
    let params = FitParams {
        epochs: plan.epochs,
        initial_epoch: plan.initial_epoch,
        samples: train_samples,
        steps: plan.steps_per_epoch,
        batch_size: bs,
        do_validation: validation.is_some(),
        metrics: keys,
    };
    let batches = plan.steps_per_epoch.unwrap_or_else(|| SampleOrder::batches_per_pass(train_samples, bs));
    let mut order = SampleOrder::new(train_samples, args.shuffle, args.shuffle_seed);
    let mut history = History::default();
    observer.on_train_begin(&params)?;
    for epoch in plan.initial_epoch..plan.epochs {
        observer.on_epoch_begin(epoch)?;
        if plan.steps_per_epoch.is_none() {
            order.start_pass();
        }
        let mut epoch_logs = Logs::default();
        let mut running = Running::default();
        let mut seen = 0usize;
        let mut stop = false;
        for batch in 0..batches {
            observer.on_batch_begin(batch)?;
            let next = if plan.steps_per_epoch.is_some() { order.next_batch_wrapping(bs) } else { order.next_batch(bs) };
            let Some(rows) = next else { break };
            let size = rows.len();
            let bx: Vec<Tensor> = data.xs.iter().map(|t| rows.take(t)).collect();
            let by: Vec<Tensor> = data.ys.iter().map(|t| rows.take(t)).collect();
            let bw: Vec<Option<Tensor>> = weights.iter().map(|w| w.as_ref().map(|w| Tensor::f32(vec![size], rows.take_values(w)))).collect();
            let (values, added) = step.train(OP, optimizer, &bx, &by, &bw)?;
            let mut batch_logs = Logs(Vec::with_capacity(labels.len() + added.len() + 2));
            batch_logs.set("batch", batch as f64);
            batch_logs.set("size", size as f64);
            batch_logs.0.extend(to_logs(&labels, &values).0);
            batch_logs.0.extend(added.iter().cloned());
            for (l, v) in labels.iter().zip(&values) {
                running.add(l, *v, size as f64);
            }
            running.add_all(&added, size as f64);
            seen += size;
            if batch + 1 == batches && (epoch + 1) % plan.validation_freq == 0 {
                if let Some(v) = &validation {
                    let vbs = plan.validation_batch_size;
                    let rows = match plan.validation_steps {
                        Some(steps) => v.rows.start..v.rows.end.min(v.rows.start + steps * vbs),
                        None => v.rows.clone(),
                    };
                    for (l, x) in step.evaluate(OP, &v.xs, &v.ys, rows, vbs)? {
                        epoch_logs.set(&format!("val_{l}"), x);
                    }
                }
            }
            if observer.on_batch_end(batch, &batch_logs)? {
                stop = true;
                break;
            }
        }
        if seen > 0 {
            // After the validation values, as tfjs orders epoch logs.
            for (l, v) in running.means() {
                epoch_logs.set(&l, v);
            }
        }
        history.record(epoch, &epoch_logs);
        if observer.on_epoch_end(epoch, &epoch_logs)? || stop {
            break;
        }
    }
    observer.on_train_end()?;
    Ok(history)
}

/// `model.evaluate(x, y, {batchSize})`: the loss and metrics in inference mode, averaged over
/// the samples, under `metrics_names()`.
pub fn evaluate(graph: &Graph, spec: &CompileSpec, xs: &[Tensor], ys: &[Tensor], batch_size: f64) -> Result<Logs> {
    const OP: &str = "evaluate";
    let bs = count(OP, "batchSize", batch_size, 1)?;
    let data = fit_args::standardize(OP, graph, spec, xs, ys)?;
    Ok(Logs(Step::new(graph, spec).evaluate(OP, &data.xs, &data.ys, 0..data.samples, bs)?))
}

/// `model.trainOnBatch(x, y)`: one gradient step on all of `xs`/`ys`; the step's values under
/// `metrics_names()`.
pub fn train_on_batch(graph: &Graph, optimizer: &mut Optimizer, spec: &CompileSpec, xs: &[Tensor], ys: &[Tensor]) -> Result<Logs> {
    const OP: &str = "trainOnBatch";
    let data = fit_args::standardize(OP, graph, spec, xs, ys)?;
    let no_weights = vec![None; data.ys.len()];
    let (values, added) = Step::new(graph, spec).train(OP, optimizer, &data.xs, &data.ys, &no_weights)?;
    let mut logs = to_logs(&spec.metrics_names(), &values);
    logs.0.extend(added);
    Ok(logs)
}

/// `model.predict(x, {batchSize})`: the outputs in inference mode, computed batch by batch
/// with no tape, stacked along the first axis.
pub fn predict(graph: &Graph, xs: &[Tensor], batch_size: f64) -> Result<Vec<Tensor>> {
    const OP: &str = "predict";
    let bs = count(OP, "batchSize", batch_size, 1)?;
    let xs = fit_args::standardize_inputs(OP, graph, xs)?;
    let counts: Vec<usize> = xs.iter().map(|t| t.shape()[0]).collect();
    let n = counts.first().copied().unwrap_or(0);
    if counts.iter().any(|&c| c != n) {
        return Err(Error::shape(OP, "inputs with the same number of samples", format!("{counts:?} samples")));
    }
    let ctx = CallContext { training: false };
    engine::without_tapes(|| {
        if n == 0 {
            return graph.forward(&xs, &ctx);
        }
        let mut stacks: Vec<RowStack> = graph.outputs.iter().map(|_| RowStack::default()).collect();
        let mut start = 0;
        while start < n {
            let end = (start + bs).min(n);
            let bx: Vec<Tensor> = xs.iter().map(|t| slice_rows(t, start..end)).collect();
            for (s, out) in stacks.iter_mut().zip(graph.forward(&bx, &ctx)?) {
                s.push(out);
            }
            start = end;
        }
        stacks.into_iter().map(|s| s.finish(OP)?.ok_or_else(|| Error::arg(OP, "an output was never computed"))).collect()
    })
}
