//! Training exports: compile specs, `fit` on a worker thread behind a Promise (callbacks
//! delivered to JS in order, awaited when they are async), `evaluate`, `trainOnBatch`.

use crate::calljs::{self, JsFn};
use crate::errors::guard;
use crate::exports_layers::GraphBox;
use crate::exports_optim::OptimizerBox;
use crate::handle::{self, JsHandle};
use crate::task;
use ferrograd_core::model::fit_args::{ClassWeight, FitArgs};
use ferrograd_core::model::losses::{Loss, UserFn};
use ferrograd_core::model::metrics::MetricSpec;
use ferrograd_core::model::train::{self, CompileSpec, FitObserver, FitParams, History, Logs};
use ferrograd_core::{Error, Result as CoreResult, Tensor};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A JS loss or metric function `(yTrue, yPred) => Tensor`, called through its wrapper with the
/// calling thread's tapes installed (its ops are part of the step).
struct JsUserFn {
    name: String,
    wrapper: Arc<JsFn>,
}

impl UserFn for JsUserFn {
    fn name(&self) -> &str {
        &self.name
    }
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> CoreResult<Tensor> {
        let mut out = calljs::call_layer(&self.wrapper, vec![y_true.clone(), y_pred.clone()], true, &self.name)?.outputs;
        out.pop().ok_or_else(|| Error::arg(&self.name, "the function returned no tensor"))
    }
}

fn user_fn(env: &Env, o: &Object) -> Result<Arc<dyn UserFn>> {
    let f: Function = o.get("fn")?.ok_or_else(|| napi::Error::from_reason("a function spec needs fn"))?;
    let name: String = o.get("name")?.unwrap_or_else(|| "fn".into());
    Ok(Arc::new(JsUserFn { name, wrapper: Arc::new(JsFn::new(env, &f)?) }))
}

pub struct CompiledBox(pub Arc<CompileSpec>);

#[napi(js_name = "modelCompile")]
pub fn model_compile(
    env: Env,
    graph: &External<GraphBox>,
    output_names: Vec<String>,
    losses: Vec<Either<String, Object>>,
    loss_weights: Option<Vec<f64>>,
    metrics: Vec<Vec<Either<String, Object>>>,
) -> Result<External<CompiledBox>> {
    let mut ls = Vec::with_capacity(losses.len());
    for l in &losses {
        ls.push(match l {
            Either::A(name) => guard("compile", || Loss::parse(name))?,
            Either::B(o) => Loss::User(user_fn(&env, o)?),
        });
    }
    let mut ms = Vec::with_capacity(metrics.len());
    for per_output in &metrics {
        let mut v = Vec::with_capacity(per_output.len());
        for m in per_output {
            v.push(match m {
                Either::A(name) => MetricSpec::Name(name.clone()),
                Either::B(o) => MetricSpec::User(user_fn(&env, o)?),
            });
        }
        ms.push(v);
    }
    let spec = guard("compile", || CompileSpec::new(&graph.0, output_names, ls, loss_weights, ms))?;
    Ok(External::new(CompiledBox(Arc::new(spec))))
}

#[napi(js_name = "compiledMetricNames")]
pub fn compiled_metric_names(c: &External<CompiledBox>) -> Vec<String> {
    c.0.metrics_names()
}

fn logs_value(logs: &Logs) -> Value {
    Value::Object(logs.0.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<String, Value>>())
}

fn history_value(h: &History) -> Value {
    let hist: Map<String, Value> = h.history.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({"epoch": h.epoch, "history": hist})
}

/// Sends fit events to the JS dispatcher `(event, index, logs, done)`. Batch events go only
/// when JS has batch hooks; otherwise the progress display gets throttled, non-blocking
/// updates, so a model of built-in layers never waits on JS within an epoch.
struct JsObserver {
    dispatch: Arc<JsFn>,
    batch_hooks: bool,
    progress: bool,
    last_progress: Instant,
}

impl JsObserver {
    fn send(&self, event: &str, index: usize, logs: Value) -> CoreResult<bool> {
        let v = calljs::call_with_done(&self.dispatch, event, index, logs)?;
        Ok(v.as_bool().unwrap_or(false))
    }
}

impl FitObserver for JsObserver {
    fn on_train_begin(&mut self, p: &FitParams) -> CoreResult<()> {
        let params = json!({
            "epochs": p.epochs, "initialEpoch": p.initial_epoch, "samples": p.samples, "steps": p.steps,
            "batchSize": p.batch_size, "doValidation": p.do_validation, "metrics": p.metrics,
        });
        self.send("trainBegin", 0, params).map(|_| ())
    }
    fn on_epoch_begin(&mut self, epoch: usize) -> CoreResult<()> {
        self.send("epochBegin", epoch, json!({})).map(|_| ())
    }
    fn on_batch_begin(&mut self, batch: usize) -> CoreResult<()> {
        if self.batch_hooks {
            self.send("batchBegin", batch, json!({"batch": batch}))?;
        }
        Ok(())
    }
    fn on_batch_end(&mut self, batch: usize, logs: &Logs) -> CoreResult<bool> {
        if self.batch_hooks {
            return self.send("batchEnd", batch, logs_value(logs));
        }
        if self.progress && self.last_progress.elapsed() >= Duration::from_millis(100) {
            self.last_progress = Instant::now();
            calljs::post_call(&self.dispatch, "progress", batch, logs_value(logs))?;
        }
        Ok(false)
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs) -> CoreResult<bool> {
        self.send("epochEnd", epoch, logs_value(logs))
    }
    fn on_train_end(&mut self) -> CoreResult<()> {
        self.send("trainEnd", 0, json!({})).map(|_| ())
    }
}

fn class_weights(v: &Value) -> CoreResult<Vec<Option<ClassWeight>>> {
    let one = |m: &Map<String, Value>| -> CoreResult<ClassWeight> {
        m.iter()
            .map(|(k, w)| {
                let class = k.parse::<i64>().map_err(|_| Error::arg("fit", format!("classWeight keys must be class indices, got '{k}'")))?;
                let w = w.as_f64().filter(|w| w.is_finite() && *w >= 0.0).ok_or_else(|| Error::arg("fit", format!("classWeight[{k}] must be a non-negative number, got {w}")))?;
                Ok((class, w))
            })
            .collect()
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Object(m) => Ok(vec![Some(one(m)?)]),
        Value::Array(a) => a.iter().map(|x| match x {
            Value::Object(m) => one(m).map(Some),
            Value::Null => Ok(None),
            other => Err(Error::arg("fit", format!("classWeight entries must be objects, got {other}"))),
        }).collect(),
        other => Err(Error::arg("fit", format!("classWeight must be an object of class index → weight, got {other}"))),
    }
}

fn fit_args(v: &Value) -> CoreResult<FitArgs> {
    let mut a = FitArgs::default();
    let num = |k: &str| v.get(k).filter(|x| !x.is_null());
    let f = |k: &str| -> CoreResult<Option<f64>> {
        match num(k) {
            None => Ok(None),
            Some(x) => x.as_f64().map(Some).ok_or_else(|| Error::arg("fit", format!("{k} must be a number, got {x}"))),
        }
    };
    if let Some(x) = f("batchSize")? {
        a.batch_size = x;
    }
    if let Some(x) = f("epochs")? {
        a.epochs = x;
    }
    if let Some(x) = f("validationSplit")? {
        a.validation_split = x;
    }
    if let Some(x) = f("initialEpoch")? {
        a.initial_epoch = x;
    }
    a.steps_per_epoch = f("stepsPerEpoch")?;
    a.validation_batch_size = f("validationBatchSize")?;
    a.validation_freq = f("validationFreq")?;
    a.validation_steps = f("validationSteps")?;
    if let Some(s) = num("shuffle") {
        a.shuffle = s.as_bool().ok_or_else(|| Error::arg("fit", format!("shuffle must be a boolean, got {s}")))?;
    }
    a.class_weight = class_weights(v.get("classWeight").unwrap_or(&Value::Null))?;
    Ok(a)
}

#[napi(js_name = "modelFit", ts_return_type = "Promise<{epoch: number[], history: Record<string, number[]>}>")]
#[allow(clippy::too_many_arguments)]
pub fn model_fit(
    env: Env,
    graph: &External<GraphBox>,
    compiled: &External<CompiledBox>,
    optimizer: &External<OptimizerBox>,
    xs: Array,
    ys: Array,
    args: Value,
    val_x: Option<Array>,
    val_y: Option<Array>,
    sample_weight: Option<Array>,
    dispatch: Function,
    batch_hooks: bool,
    progress: bool,
) -> Result<Unknown<'static>> {
    let xs = handle::tensors_of(&env, &xs, "fit")?;
    let ys = handle::tensors_of(&env, &ys, "fit")?;
    let mut args = guard("fit", || fit_args(&args))?;
    if let (Some(vx), Some(vy)) = (val_x, val_y) {
        args.validation_data = Some((handle::tensors_of(&env, &vx, "fit")?, handle::tensors_of(&env, &vy, "fit")?));
    }
    if let Some(sw) = sample_weight {
        args.sample_weight = handle::tensors_of(&env, &sw, "fit")?.into_iter().map(Some).collect();
    }
    let opt = optimizer.0.clone();
    // The optimizer leaves its box for the duration: JS code that touches it meanwhile gets a
    // clear error instead of waiting on a lock the worker holds while it waits on JS.
    let mut taken = crate::exports_optim::take(&opt, "fit")?;
    let (graph, spec) = (graph.0.clone(), compiled.0.clone());
    let mut observer = JsObserver { dispatch: Arc::new(JsFn::new(&env, &dispatch)?), batch_hooks, progress, last_progress: Instant::now() };
    let promise = task::spawn(
        &env,
        "fit",
        move || {
            let r = train::fit(&graph, &mut taken, &spec, &xs, &ys, &args, &mut observer);
            crate::exports_optim::put_back(&opt, taken);
            drop(observer);
            r
        },
        |env, h| calljs::to_raw(env, history_value(&h)),
    )?;
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
}

#[napi(js_name = "modelEvaluate")]
pub fn model_evaluate(env: Env, graph: &External<GraphBox>, compiled: &External<CompiledBox>, xs: Array, ys: Array, batch_size: f64) -> Result<Vec<JsHandle>> {
    let xs = handle::tensors_of(&env, &xs, "evaluate")?;
    let ys = handle::tensors_of(&env, &ys, "evaluate")?;
    let logs = guard("evaluate", || train::evaluate(&graph.0, &compiled.0, &xs, &ys, batch_size))?;
    Ok(logs.0.iter().map(|(_, v)| handle::wrap(Tensor::scalar(*v as f32))).collect())
}

#[napi(js_name = "modelTrainOnBatch", ts_return_type = "Promise<number[]>")]
pub fn model_train_on_batch(env: Env, graph: &External<GraphBox>, compiled: &External<CompiledBox>, optimizer: &External<OptimizerBox>, xs: Array, ys: Array) -> Result<Unknown<'static>> {
    let xs = handle::tensors_of(&env, &xs, "trainOnBatch")?;
    let ys = handle::tensors_of(&env, &ys, "trainOnBatch")?;
    let opt = optimizer.0.clone();
    let mut taken = crate::exports_optim::take(&opt, "trainOnBatch")?;
    let (graph, spec) = (graph.0.clone(), compiled.0.clone());
    let promise = task::spawn(
        &env,
        "trainOnBatch",
        move || {
            let r = train::train_on_batch(&graph, &mut taken, &spec, &xs, &ys);
            crate::exports_optim::put_back(&opt, taken);
            r
        },
        // `[[name, value], …]`: the compiled metrics, then those the model's layers added.
        |env, logs| calljs::to_raw(env, serde_json::json!(logs.0)),
    )?;
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
}
