//! Engine exports: running kernels, the kernel and gradient registries, gradient tapes and
//! `customGrad` nodes.

use crate::calljs::{JsFn, JsGradient, JsKernel};
use crate::errors::guard;
use crate::handle::{self, JsHandle, H};
use ferrograd_core::registry::{self, Gradient, Kernel};
use ferrograd_core::tape::{self, TapeRef};
use ferrograd_core::{engine, Attrs, Error};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

fn attrs_of(a: Option<serde_json::Value>) -> Attrs {
    a.map(Attrs::from_value).unwrap_or_default()
}

fn single(name: &str, mut out: Vec<ferrograd_core::Tensor>) -> ferrograd_core::Result<JsHandle> {
    if out.len() != 1 {
        return Err(Error::arg(name, format!("expected one output, the kernel returned {}", out.len())));
    }
    Ok(handle::wrap(out.pop().expect("one output")))
}

/// Runs a kernel on any number of inputs; returns all its outputs.
#[napi(js_name = "runKernel")]
pub fn run_kernel(env: Env, name: String, inputs: Array, attrs: Option<serde_json::Value>, names: Option<Vec<String>>) -> Result<Vec<JsHandle>> {
    let ts = handle::tensors_of(&env, &inputs, &name)?;
    guard(&name, || {
        let out = engine::run_kernel_named(&name, names, &ts, &attrs_of(attrs))?;
        Ok(out.into_iter().map(handle::wrap).collect())
    })
}

/// Fast path: a one-input, one-output kernel.
#[napi]
pub fn run1(name: String, x: H, attrs: Option<serde_json::Value>) -> Result<JsHandle> {
    guard(&name, || single(&name, engine::run_kernel(&name, &[x.tensor(&name)?], &attrs_of(attrs))?))
}

/// Fast path: a two-input, one-output kernel.
#[napi]
pub fn run2(name: String, a: H, b: H, attrs: Option<serde_json::Value>) -> Result<JsHandle> {
    guard(&name, || single(&name, engine::run_kernel(&name, &[a.tensor(&name)?, b.tensor(&name)?], &attrs_of(attrs))?))
}

/// Registers a JS kernel (the wrapper speaks handles); true when it replaced one.
#[napi(js_name = "registerKernel")]
pub fn register_kernel(env: Env, name: String, backend: String, wrapper: Function) -> Result<bool> {
    let k = JsKernel { wrapper: JsFn::new(&env, &wrapper)? };
    Ok(registry::register_kernel(&name, &backend, Kernel::Foreign(Arc::new(k))))
}

#[napi(js_name = "unregisterKernel")]
pub fn unregister_kernel(name: String, backend: String) -> Result<()> {
    guard("unregisterKernel", || registry::unregister_kernel(&name, &backend))
}

/// `[registered, native]` for a kernel name and backend.
#[napi(js_name = "kernelInfo")]
pub fn kernel_info(name: String, backend: String) -> (bool, bool) {
    match registry::get_kernel(&name, &backend) {
        Some(Kernel::Native(_)) => (true, true),
        Some(Kernel::Foreign(_)) => (true, false),
        None => (false, false),
    }
}

#[napi(js_name = "kernelNames")]
pub fn kernel_names(backend: String) -> Vec<String> {
    registry::kernel_names_for_backend(&backend)
}

#[napi(js_name = "inputNames")]
pub fn input_names(name: String) -> Option<Vec<String>> {
    registry::input_names(&name).map(|n| n.iter().map(|s| s.to_string()).collect())
}

#[napi(js_name = "registerGradient")]
pub fn register_gradient(env: Env, name: String, wrapper: Function, inputs_to_save: Vec<String>, save_all_inputs: bool, outputs_to_save: Vec<bool>) -> Result<()> {
    let g = JsGradient { wrapper: JsFn::new(&env, &wrapper)? };
    registry::register_gradient(&name, Gradient::Foreign { func: Arc::new(g), inputs_to_save, save_all_inputs, outputs_to_save });
    Ok(())
}

#[napi(js_name = "unregisterGradient")]
pub fn unregister_gradient(name: String) -> Result<()> {
    guard("unregisterGradient", || registry::unregister_gradient(&name))
}

/// `[registered, native]` for a gradient.
#[napi(js_name = "gradientInfo")]
pub fn gradient_info(name: String) -> (bool, bool) {
    match registry::get_gradient(&name) {
        Some(Gradient::Native(_)) => (true, true),
        Some(Gradient::Foreign { .. }) => (true, false),
        None => (false, false),
    }
}

#[napi(js_name = "tapePush")]
pub fn tape_push() -> External<TapeRef> {
    let t = tape::new_tape();
    engine::push_tape(&t);
    External::new(t)
}

#[napi(js_name = "tapePop")]
pub fn tape_pop(t: &External<TapeRef>) -> Result<()> {
    guard("gradient scope", || engine::pop_tape(t))
}

/// Gradients of `y` w.r.t. `xs` (null where `y` does not depend on an x).
#[napi(js_name = "tapeGradients")]
pub fn tape_gradients(env: Env, t: &External<TapeRef>, y: H, xs: Array, dy: Option<H>) -> Result<Vec<Option<JsHandle>>> {
    let xs = handle::tensors_of(&env, &xs, "gradients")?;
    guard("gradients", || {
        let y = y.tensor("gradients")?;
        let dy = dy.map(|d| d.tensor("gradients")).transpose()?;
        let ids: Vec<u64> = xs.iter().map(|x| x.id()).collect();
        let g = tape::gradients(t, &y, &ids, dy)?;
        Ok(g.into_iter().map(|g| g.map(handle::wrap)).collect())
    })
}

#[napi(js_name = "pauseTapes")]
pub fn pause_tapes() -> External<Vec<TapeRef>> {
    External::new(engine::pause_tapes())
}

#[napi(js_name = "resumeTapes")]
pub fn resume_tapes(saved: &mut External<Vec<TapeRef>>) {
    engine::resume_tapes(std::mem::take(&mut **saved));
}

/// Records a `customGrad` node whose backward calls `wrapper(dys, saved, attrs)`.
#[napi(js_name = "recordCustom")]
pub fn record_custom(env: Env, inputs: Array, outputs: Array, wrapper: Function) -> Result<()> {
    let ins = handle::tensors_of(&env, &inputs, "customGrad")?;
    let outs = handle::tensors_of(&env, &outputs, "customGrad")?;
    let g = JsGradient { wrapper: JsFn::new(&env, &wrapper)? };
    tape::record_custom(&ins, &outs, Arc::new(g));
    Ok(())
}

#[napi(js_name = "isRecording")]
pub fn is_recording() -> bool {
    engine::is_recording()
}

/// Chooses the GEMM implementation ('gemm' or 'matrixmultiply'), for benchmarks.
#[napi(js_name = "setGemmBackend")]
pub fn set_gemm_backend(name: String) -> Result<()> {
    use ferrograd_core::kernels::matmul::{set_gemm_backend, GemmBackend};
    match name.as_str() {
        "gemm" => set_gemm_backend(GemmBackend::Gemm),
        "matrixmultiply" => set_gemm_backend(GemmBackend::MatrixMultiply),
        other => return Err(napi::Error::from_reason(format!("setGemmBackend: expected 'gemm' or 'matrixmultiply', got '{other}'"))),
    }
    Ok(())
}
