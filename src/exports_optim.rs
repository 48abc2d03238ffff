//! Optimizer and random-number exports. An optimizer lives natively (its slots beside the
//! weights); JS holds it as an external and passes (variable, gradient) handle pairs.

use crate::errors::guard;
use crate::handle::{self, JsHandle, H};
use ferrograd_core::optim::Optimizer;
use ferrograd_core::{random, DType};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::{Arc, Mutex};

/// The optimizer is `None` while a training task has taken it out.
pub struct OptimizerBox(pub Arc<Mutex<Option<Optimizer>>>);

fn with<R>(o: &External<OptimizerBox>, op: &str, f: impl FnOnce(&mut Optimizer) -> ferrograd_core::Result<R>) -> Result<R> {
    let mut g = o.0.lock().unwrap_or_else(|e| e.into_inner());
    match g.as_mut() {
        Some(opt) => guard(op, || f(opt)),
        None => Err(napi::Error::from_reason(format!("{op}: the optimizer is in use by a running fit() or trainOnBatch()"))),
    }
}

/// Takes the optimizer out for a training task.
pub fn take(o: &Arc<Mutex<Option<Optimizer>>>, op: &str) -> Result<Optimizer> {
    o.lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| napi::Error::from_reason(format!("{op}: the optimizer is already in use by a running fit() or trainOnBatch() (of this or another model)")))
}

pub fn put_back(o: &Arc<Mutex<Option<Optimizer>>>, opt: Optimizer) {
    *o.lock().unwrap_or_else(|e| e.into_inner()) = Some(opt);
}

fn boxed(o: Optimizer) -> External<OptimizerBox> {
    External::new(OptimizerBox(Arc::new(Mutex::new(Some(o)))))
}

#[napi(js_name = "optimizerCreate")]
pub fn optimizer_create(name: String, config: serde_json::Value) -> Result<External<OptimizerBox>> {
    guard(&name, || Ok(boxed(Optimizer::from_config(&name, &config)?)))
}

/// An optimizer from a compile string ('sgd', 'adam', …) with tfjs-layers' defaults.
#[napi(js_name = "optimizerFromIdentifier")]
pub fn optimizer_from_identifier(name: String) -> Result<External<OptimizerBox>> {
    guard("compile", || Ok(boxed(Optimizer::from_identifier(&name)?)))
}

#[napi(js_name = "optimizerApply")]
pub fn optimizer_apply(env: Env, opt: &External<OptimizerBox>, vars: Array, grads: Array) -> Result<()> {
    let mut pairs = Vec::with_capacity(vars.len() as usize);
    let grads = handle::tensors_of(&env, &grads, "applyGradients")?;
    for i in 0..vars.len() {
        let v: Unknown = vars.get(i)?.ok_or_else(|| napi::Error::from_reason("applyGradients: a variable is missing"))?;
        let h = unsafe { H::from_napi_value(env.raw(), v.raw()) }?;
        let var = guard("applyGradients", || h.variable("applyGradients"))?;
        let g = grads.get(i as usize).cloned().ok_or_else(|| napi::Error::from_reason("applyGradients: a gradient is missing"))?;
        pairs.push((var, g));
    }
    with(opt, "applyGradients", |o| o.apply_gradients(&pairs))
}

#[napi(js_name = "optimizerGetWeights")]
pub fn optimizer_get_weights(opt: &External<OptimizerBox>) -> Result<(Vec<String>, Vec<JsHandle>)> {
    with(opt, "getWeights", |o| Ok(o.get_weights().into_iter().map(|(n, t)| (n, handle::wrap(t))).unzip()))
}

#[napi(js_name = "optimizerSetWeights")]
pub fn optimizer_set_weights(env: Env, opt: &External<OptimizerBox>, names: Vec<String>, tensors: Array) -> Result<()> {
    let ts = handle::tensors_of(&env, &tensors, "setWeights")?;
    with(opt, "setWeights", |o| o.set_weights(names.into_iter().zip(ts).collect()))
}

#[napi(js_name = "optimizerConfig")]
pub fn optimizer_config(opt: &External<OptimizerBox>) -> Result<serde_json::Value> {
    with(opt, "getConfig", |o| Ok(o.get_config()))
}

#[napi(js_name = "optimizerIterations")]
pub fn optimizer_iterations(opt: &External<OptimizerBox>) -> Result<f64> {
    with(opt, "iterations", |o| Ok(o.iterations() as f64))
}

#[napi(js_name = "optimizerSetLearningRate")]
pub fn optimizer_set_learning_rate(opt: &External<OptimizerBox>, lr: f64) -> Result<()> {
    with(opt, "learningRate", |o| o.set_learning_rate(lr))
}

fn seed_of(seed: Option<Either<f64, String>>) -> Option<u64> {
    seed.map(|s| match s {
        Either::A(n) => random::seed_from_f64(n),
        Either::B(s) => random::seed_from_str(&s),
    })
}

fn shape_dtype(op: &str, shape: Vec<i64>, dtype: Option<String>) -> ferrograd_core::Result<(Vec<usize>, DType)> {
    let shape = shape
        .into_iter()
        .map(|d| if d < 0 { Err(ferrograd_core::Error::arg(op, format!("shape dimensions must be non-negative, got {d}"))) } else { Ok(d as usize) })
        .collect::<ferrograd_core::Result<Vec<_>>>()?;
    let dtype = DType::parse(dtype.as_deref().unwrap_or("float32")).map_err(|_| ferrograd_core::Error::dtype(op, "float32 or int32", dtype.unwrap_or_default()))?;
    Ok((shape, dtype))
}

#[napi(js_name = "randomUniform")]
pub fn random_uniform(shape: Vec<i64>, minval: f64, maxval: f64, dtype: Option<String>, seed: Option<Either<f64, String>>) -> Result<JsHandle> {
    guard("randomUniform", || {
        let (shape, dtype) = shape_dtype("randomUniform", shape, dtype)?;
        Ok(handle::wrap(random::random_uniform(&shape, minval, maxval, dtype, seed_of(seed))?))
    })
}

#[napi(js_name = "randomNormal")]
pub fn random_normal(shape: Vec<i64>, mean: f64, std_dev: f64, dtype: Option<String>, seed: Option<Either<f64, String>>, truncated: bool) -> Result<JsHandle> {
    let op = if truncated { "truncatedNormal" } else { "randomNormal" };
    guard(op, || {
        let (shape, dtype) = shape_dtype(op, shape, dtype)?;
        let s = seed_of(seed);
        Ok(handle::wrap(if truncated {
            random::truncated_normal(&shape, mean, std_dev, dtype, s)?
        } else {
            random::random_normal(&shape, mean, std_dev, dtype, s)?
        }))
    })
}
