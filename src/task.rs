//! Promise-returning tasks on dedicated threads (not libuv's pool, which file IO needs and
//! which a task waiting on JS would hold). A task's result is delivered on the main thread;
//! an error or a panic rejects the Promise.

use crate::calljs::{self, JsFn};
use crate::errors;
use crate::handle::{self, JsHandle, H};
use ferrograd_core::{ops, tape, Result as CoreResult};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::ptr;
use std::sync::Arc;

/// Runs `work` on a new thread and settles the returned Promise with `finish(env, value)`.
pub fn spawn<R, W, F>(env: &Env, name: &str, work: W, finish: F) -> Result<sys::napi_value>
where
    R: Send + 'static,
    W: FnOnce() -> CoreResult<R> + Send + 'static,
    F: FnOnce(&Env, R) -> CoreResult<sys::napi_value> + Send + 'static,
{
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    let status = unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_reason("could not create a Promise"));
    }
    let deferred = deferred as usize;
    calljs::task_started(env);
    let op = name.to_string();
    let spawned = std::thread::Builder::new().name(format!("ferrograd-{name}")).spawn(move || {
        let result = ferrograd_core::error::catch_panic(&op, work);
        let posted = calljs::post(move |env| {
            let d = deferred as sys::napi_deferred;
            let settled = result.and_then(|v| finish(&env, v));
            unsafe {
                match settled {
                    Ok(v) => sys::napi_resolve_deferred(env.raw(), d, v),
                    Err(e) => {
                        let err = napi::JsError::from(errors::to_js(e)).into_value(env.raw());
                        sys::napi_reject_deferred(env.raw(), d, err)
                    }
                };
            }
            calljs::task_finished(&env);
        });
        // Only fails while Node exits, when nobody waits for the Promise any more.
        let _ = posted;
    });
    if let Err(e) = spawned {
        calljs::task_finished(env);
        return Err(napi::Error::from_reason(format!("{name}: could not start a worker thread: {e}")));
    }
    Ok(promise)
}

/// The threading design end to end, as one training step: on a worker thread, call a JS
/// function (`f(x)`, through its handle wrapper) whose ops are recorded on the worker's tape,
/// then compute `loss = sum(f(x)²)` and its gradient w.r.t. `w` on the worker.
/// Resolves to `[loss, dLoss/dw]`.
#[napi(js_name = "workerStep", ts_return_type = "Promise<unknown[]>")]
pub fn worker_step(env: Env, wrapper: Function, x: H, w: H) -> Result<Unknown<'static>> {
    let f = Arc::new(JsFn::new(&env, &wrapper)?);
    let x = errors::guard("workerStep", || x.tensor("workerStep"))?;
    let w = errors::guard("workerStep", || w.tensor("workerStep"))?;
    let promise = spawn(
        &env,
        "step",
        move || {
            let t = tape::new_tape();
            let loss = ferrograd_core::engine::with_tape(&t, || -> CoreResult<_> {
                let h = calljs::call_recorded(&f, &t, vec![x], "workerStep layer")?;
                let h = h.into_iter().next().ok_or_else(|| ferrograd_core::Error::arg("workerStep", "the layer returned no tensor"))?;
                let sq = ops::square(&h)?;
                let axes: Vec<usize> = (0..sq.rank()).collect();
                ops::sum(&sq, &axes, false)
            })?;
            let g = tape::gradients(&t, &loss, &[w.id()], None)?.remove(0);
            drop(f);
            Ok((loss, g))
        },
        |env, (loss, g)| {
            let v: Vec<Option<JsHandle>> = vec![Some(handle::wrap(loss)), g.map(handle::wrap)];
            calljs::to_raw(env, v)
        },
    )?;
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
}
