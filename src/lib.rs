//! N-API glue of ferrograd: conversions between JS values and `ferrograd_core` types, the
//! main-thread dispatcher that lets worker threads call JavaScript, Promise-returning tasks,
//! and one error conversion. No math lives here.

mod calljs;
mod errors;
mod exports_dataset;
mod exports_engine;
mod exports_layers;
mod exports_metrics;
mod exports_optim;
mod exports_tensor;
mod exports_train;
mod handle;
mod task;

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Called once by index.js: remembers the main thread's environment and starts the dispatcher.
#[napi]
pub fn init(env: Env) -> Result<()> {
    ferrograd_core::memory::keep_freed_memory();
    calljs::init(&env)
}
