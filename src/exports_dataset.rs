//! Per-batch exports for `model.fitDataset` / `model.evaluateDataset`: the dataset loop runs in
//! JS, and each batch's numeric work runs on a worker thread behind a Promise that resolves to
//! the values of `metricsNames` as JS numbers.

use crate::calljs;
use crate::exports_layers::GraphBox;
use crate::exports_optim::OptimizerBox;
use crate::exports_train::CompiledBox;
use crate::handle;
use crate::task;
use ferrograd_core::model::fit_args::FitArgs;
use ferrograd_core::model::train::{self, FitObserver, Logs};
use ferrograd_core::Result as CoreResult;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// `[[name, value], …]`: the compiled metrics' values, then those the model's layers added.
fn named(values: &[(String, f64)]) -> serde_json::Value {
    serde_json::json!(values)
}

/// `evaluate` off the main thread: the loss and metrics of `xs`/`ys` in inference mode,
/// averaged over the samples (taken in batches of `batch_size`).
#[napi(js_name = "modelEvaluateAsync", ts_return_type = "Promise<number[]>")]
pub fn model_evaluate_async(env: Env, graph: &External<GraphBox>, compiled: &External<CompiledBox>, xs: Array, ys: Array, batch_size: f64) -> Result<Unknown<'static>> {
    let xs = handle::tensors_of(&env, &xs, "evaluate")?;
    let ys = handle::tensors_of(&env, &ys, "evaluate")?;
    let (graph, spec) = (graph.0.clone(), compiled.0.clone());
    let promise = task::spawn(&env, "evaluate", move || train::evaluate(&graph, &spec, &xs, &ys, batch_size), |env, logs| calljs::to_raw(env, named(&logs.0)))?;
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
}

/// Keeps the values of the (single) batch a fit runs.
#[derive(Default)]
struct BatchValues(Vec<(String, f64)>);

impl FitObserver for BatchValues {
    fn on_batch_end(&mut self, _batch: usize, logs: &Logs) -> CoreResult<bool> {
        self.0 = logs.0.iter().filter(|(k, _)| k != "batch" && k != "size").cloned().collect();
        Ok(false)
    }
}

/// `trainOnBatch` with per-sample loss weights (one `[n]` tensor per model output, as
/// `classWeight` yields them): one gradient step on all of `xs`/`ys`.
#[napi(js_name = "modelTrainOnBatchWeighted", ts_return_type = "Promise<number[]>")]
pub fn model_train_on_batch_weighted(
    env: Env,
    graph: &External<GraphBox>,
    compiled: &External<CompiledBox>,
    optimizer: &External<OptimizerBox>,
    xs: Array,
    ys: Array,
    sample_weight: Array,
) -> Result<Unknown<'static>> {
    let xs = handle::tensors_of(&env, &xs, "trainOnBatch")?;
    let ys = handle::tensors_of(&env, &ys, "trainOnBatch")?;
    let sw = handle::tensors_of(&env, &sample_weight, "trainOnBatch")?;
    let samples = xs.first().and_then(|t| t.shape().first().copied()).unwrap_or(0);
    // One epoch of one batch holding every sample, in order: exactly one weighted step.
    let args = FitArgs { batch_size: samples as f64, epochs: 1.0, shuffle: false, sample_weight: sw.into_iter().map(Some).collect(), ..FitArgs::default() };
    let opt = optimizer.0.clone();
    let mut taken = crate::exports_optim::take(&opt, "trainOnBatch")?;
    let (graph, spec) = (graph.0.clone(), compiled.0.clone());
    let promise = task::spawn(
        &env,
        "trainOnBatch",
        move || {
            let mut batch = BatchValues::default();
            let r = train::fit(&graph, &mut taken, &spec, &xs, &ys, &args, &mut batch);
            crate::exports_optim::put_back(&opt, taken);
            r.map(|_| batch.0)
        },
        |env, v| calljs::to_raw(env, named(&v)),
    )?;
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
}
