//! Calling JavaScript from Rust, from any thread.
//!
//! JS can only run on the main thread. On the main thread (inside an export) we call it
//! directly. A worker thread (a training task) hands a closure to the main thread through one
//! threadsafe function, the dispatcher, and blocks until the closure's result comes back; the
//! main thread is never blocked on a worker, so this cannot deadlock, and no lock is held while
//! waiting. The dispatcher is unref'd while no task runs, so it never keeps Node alive alone.

use crate::errors;
use crate::handle::{self, JsHandle, H};
use ferrograd_core::registry::{ForeignGradient, ForeignKernel};
use ferrograd_core::{engine, Attrs, Error, Result as CoreResult, Tensor};
use napi::bindgen_prelude::*;
use napi::sys;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::thread::ThreadId;

struct Main {
    env: usize,
    thread: ThreadId,
    tsfn: usize,
}

static MAIN: OnceLock<Main> = OnceLock::new();
static RUNNING_TASKS: AtomicUsize = AtomicUsize::new(0);

type Job = Box<dyn FnOnce(Env) + Send>;

unsafe extern "C" fn run_job(env: sys::napi_env, _cb: sys::napi_value, _ctx: *mut c_void, data: *mut c_void) {
    let job = unsafe { Box::from_raw(data as *mut Job) };
    if env.is_null() {
        // Node is shutting down: dropping the job closes its reply channel, so the waiting
        // worker gets an error instead of hanging.
        return;
    }
    job(Env::from_raw(env));
}

pub fn init(env: &Env) -> napi::Result<()> {
    if MAIN.get().is_some() {
        return Ok(());
    }
    let mut tsfn: sys::napi_threadsafe_function = ptr::null_mut();
    let mut name = ptr::null_mut();
    let label = "ferrograd-dispatch";
    unsafe {
        check(sys::napi_create_string_utf8(env.raw(), label.as_ptr().cast(), label.len() as isize, &mut name))?;
        check(sys::napi_create_threadsafe_function(
            env.raw(),
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            ptr::null_mut(),
            None,
            ptr::null_mut(),
            Some(run_job),
            &mut tsfn,
        ))?;
        check(sys::napi_unref_threadsafe_function(env.raw(), tsfn))?;
    }
    let _ = MAIN.set(Main { env: env.raw() as usize, thread: std::thread::current().id(), tsfn: tsfn as usize });
    Ok(())
}

fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!("N-API call failed with status {status}")))
    }
}

fn main() -> CoreResult<&'static Main> {
    MAIN.get().ok_or_else(|| Error::arg("ferrograd", "the native module was not initialised (load it through index.js)"))
}

/// Keeps Node alive while a task runs (call on the main thread when a task starts).
pub fn task_started(env: &Env) {
    if let Some(m) = MAIN.get() {
        if RUNNING_TASKS.fetch_add(1, Ordering::SeqCst) == 0 {
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), m.tsfn as sys::napi_threadsafe_function) };
        }
    }
}

/// The counterpart of `task_started` (call on the main thread when a task settles).
pub fn task_finished(env: &Env) {
    if let Some(m) = MAIN.get() {
        if RUNNING_TASKS.fetch_sub(1, Ordering::SeqCst) == 1 {
            unsafe { sys::napi_unref_threadsafe_function(env.raw(), m.tsfn as sys::napi_threadsafe_function) };
        }
    }
}

/// Queues `f` to run on the main thread and returns at once.
pub fn post(f: impl FnOnce(Env) + Send + 'static) -> CoreResult<()> {
    let m = main()?;
    let job: Box<Job> = Box::new(Box::new(f));
    let raw = Box::into_raw(job);
    let status = unsafe { sys::napi_call_threadsafe_function(m.tsfn as sys::napi_threadsafe_function, raw.cast(), sys::ThreadsafeFunctionCallMode::blocking) };
    if status != sys::Status::napi_ok {
        drop(unsafe { Box::from_raw(raw) });
        return Err(Error::arg("ferrograd", "the main thread is no longer accepting calls (Node is exiting)"));
    }
    Ok(())
}

/// Runs `f` on the main thread: directly when already there, otherwise through the dispatcher,
/// waiting for its result.
pub fn on_main<R: Send + 'static>(f: impl FnOnce(Env) -> CoreResult<R> + Send + 'static) -> CoreResult<R> {
    let m = main()?;
    if m.thread == std::thread::current().id() {
        return f(Env::from_raw(m.env as sys::napi_env));
    }
    let (tx, rx) = mpsc::sync_channel(1);
    post(move |env| {
        let r = ferrograd_core::error::catch_panic("JS callback", || f(env));
        let _ = tx.send(r);
    })?;
    rx.recv().unwrap_or_else(|_| Err(Error::arg("ferrograd", "the main thread dropped a call (Node is exiting)")))
}

/// A persistent reference to a JS function, callable from the main thread; droppable anywhere.
pub struct JsFn {
    r: usize,
}

// The reference is only dereferenced on the main thread (`call` takes the main `Env`), and its
// deletion is routed there.
unsafe impl Send for JsFn {}
unsafe impl Sync for JsFn {}

impl JsFn {
    pub fn new(env: &Env, f: &Function) -> napi::Result<JsFn> {
        let mut r = ptr::null_mut();
        check(unsafe { sys::napi_create_reference(env.raw(), f.raw(), 1, &mut r) })?;
        Ok(JsFn { r: r as usize })
    }

    /// Calls the function with `args`; a JS exception becomes a parked `Error::Foreign`.
    pub fn call(&self, env: &Env, args: &[sys::napi_value]) -> CoreResult<sys::napi_value> {
        let raw = env.raw();
        unsafe {
            let mut f = ptr::null_mut();
            let mut undefined = ptr::null_mut();
            let mut out = ptr::null_mut();
            sys::napi_get_reference_value(raw, self.r as sys::napi_ref, &mut f);
            sys::napi_get_undefined(raw, &mut undefined);
            let status = sys::napi_call_function(raw, undefined, f, args.len(), args.as_ptr(), &mut out);
            if status == sys::Status::napi_ok {
                return Ok(out);
            }
            let mut pending = false;
            sys::napi_is_exception_pending(raw, &mut pending);
            if pending {
                let mut exc = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(raw, &mut exc);
                let err = napi::Error::from(Unknown::from_raw_unchecked(raw, exc));
                return Err(errors::park(err));
            }
            Err(Error::arg("JS callback", format!("calling a JS function failed with N-API status {status}")))
        }
    }
}

impl Drop for JsFn {
    fn drop(&mut self) {
        let r = self.r;
        let delete = move |env: Env| unsafe {
            sys::napi_delete_reference(env.raw(), r as sys::napi_ref);
        };
        if let Some(m) = MAIN.get() {
            if m.thread == std::thread::current().id() {
                delete(Env::from_raw(m.env as sys::napi_env));
            } else {
                let _ = post(delete);
            }
        }
    }
}

pub fn to_raw<T: ToNapiValue>(env: &Env, v: T) -> CoreResult<sys::napi_value> {
    unsafe { T::to_napi_value(env.raw(), v) }.map_err(|e| Error::arg("JS callback", e.reason))
}

fn handles_array(env: &Env, ts: &[Tensor]) -> CoreResult<sys::napi_value> {
    let v: Vec<JsHandle> = ts.iter().cloned().map(handle::wrap).collect();
    to_raw(env, v)
}

fn get_prop(env: &Env, obj: sys::napi_value, key: &str, what: &str) -> CoreResult<Unknown<'static>> {
    let o = unsafe { Object::from_napi_value(env.raw(), obj) }.map_err(|_| Error::arg(what, "the callback must return an object"))?;
    let v: Option<Unknown> = o.get(key).map_err(|e| Error::arg(what, e.reason))?;
    let v = v.ok_or_else(|| Error::arg(what, format!("the callback result lacks '{key}'")))?;
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v.raw()) })
}

/// Reads the `{h: handles[], o: owned[]}` a JS wrapper returns: the tensors, with the handles
/// the wrapper created for the occasion (`owned`) released at once.
fn take_results(env: &Env, ret: sys::napi_value, what: &str) -> CoreResult<Vec<Tensor>> {
    let hs = get_prop(env, ret, "h", what)?;
    let owned = get_prop(env, ret, "o", what)?;
    let hs = unsafe { Array::from_napi_value(env.raw(), hs.raw()) }.map_err(|_| Error::arg(what, "'h' must be an array of tensors"))?;
    let owned: Vec<bool> = unsafe { Vec::<bool>::from_napi_value(env.raw(), owned.raw()) }.map_err(|_| Error::arg(what, "'o' must be an array of booleans"))?;
    let mut out = Vec::with_capacity(hs.len() as usize);
    for i in 0..hs.len() {
        let v: Unknown = hs.get(i).ok().flatten().ok_or_else(|| Error::arg(what, format!("result {i} is missing")))?;
        let h = unsafe { H::from_napi_value(env.raw(), v.raw()) }.map_err(|_| Error::arg(what, format!("result {i} is not a Tensor")))?;
        out.push(h.tensor(what)?);
        if owned.get(i as usize).copied().unwrap_or(false) {
            h.dispose();
        }
    }
    Ok(out)
}

/// A kernel implemented by a JS `kernelFunc` (through index.js's wrapper, which speaks handles).
pub struct JsKernel {
    pub wrapper: JsFn,
}

impl ForeignKernel for JsKernel {
    fn call(&self, kernel: &str, names: &[String], inputs: &[Tensor], attrs: &Attrs) -> CoreResult<Vec<Tensor>> {
        let what = format!("kernel '{kernel}' (JS kernelFunc)");
        let (names, inputs, attrs) = (names.to_vec(), inputs.to_vec(), attrs.0.clone());
        let wrapper: *const JsFn = &self.wrapper;
        let wrapper = wrapper as usize;
        on_main(move |env| {
            // SAFETY: `self` outlives this call: `on_main` returns only after the closure ran.
            let wrapper = unsafe { &*(wrapper as *const JsFn) };
            // A kernel is one node on the tape: what the JS kernel does inside is not recorded.
            engine::without_tapes(|| {
                let args = [handles_array(&env, &inputs)?, to_raw(&env, names)?, to_raw(&env, serde_json::Value::Object(attrs))?];
                let ret = wrapper.call(&env, &args)?;
                take_results(&env, ret, &what)
            })
        })
    }
}

/// A gradient implemented in JS: a registered `gradFunc`, or a `customGrad` function.
pub struct JsGradient {
    pub wrapper: JsFn,
}

impl ForeignGradient for JsGradient {
    fn call(&self, kernel: &str, dys: &[Tensor], saved: &[Tensor], attrs: &Attrs) -> CoreResult<Vec<(String, Tensor)>> {
        let what = format!("gradient of '{kernel}' (JS gradFunc)");
        let (dys, saved, attrs) = (dys.to_vec(), saved.to_vec(), attrs.0.clone());
        let wrapper = &self.wrapper as *const JsFn as usize;
        on_main(move |env| {
            // SAFETY: as in `JsKernel::call`.
            let wrapper = unsafe { &*(wrapper as *const JsFn) };
            let args = [handles_array(&env, &dys)?, handles_array(&env, &saved)?, to_raw(&env, serde_json::Value::Object(attrs))?];
            let ret = wrapper.call(&env, &args)?;
            let names = get_prop(&env, ret, "n", &what)?;
            let names: Vec<String> = unsafe { Vec::<String>::from_napi_value(env.raw(), names.raw()) }
                .map_err(|_| Error::arg(&what, "'n' must be an array of input names"))?;
            let ts = take_results(&env, ret, &what)?;
            Ok(names.into_iter().zip(ts).collect())
        })
    }
}

/// Calls a JS function (an index.js wrapper taking handles, returning `{h, o}`) on the main
/// thread with `tape` installed as the only recording scope, so that the JS code's ops are
/// recorded on the calling step's tape and nothing else is.
pub fn call_recorded(f: &std::sync::Arc<JsFn>, tape: &ferrograd_core::tape::TapeRef, inputs: Vec<Tensor>, what: &str) -> CoreResult<Vec<Tensor>> {
    let (f, tape, what) = (f.clone(), tape.clone(), what.to_string());
    on_main(move |env| {
        let saved = engine::pause_tapes();
        let r = engine::with_tape(&tape, || {
            let args = [handles_array(&env, &inputs)?];
            let ret = f.call(&env, &args)?;
            take_results(&env, ret, &what)
        });
        engine::resume_tapes(saved);
        r
    })
}

/// What a JS layer's `call` produced: its outputs, and the losses and metrics it added
/// (`addLoss`/`addMetric`).
pub struct LayerResult {
    pub outputs: Vec<Tensor>,
    pub losses: Vec<Tensor>,
    pub metrics: Vec<(String, Tensor)>,
}

/// Calls a JS layer's wrapper (`(inputHandles, training) => {h, o, nl, mn}`: outputs, then `nl`
/// added losses, then one added metric per name in `mn`) on the main thread with the calling
/// thread's tapes installed there, so its ops are recorded where the caller records.
pub fn call_layer(f: &std::sync::Arc<JsFn>, inputs: Vec<Tensor>, training: bool, what: &str) -> CoreResult<LayerResult> {
    let tapes = engine::current_tapes();
    let (f, what) = (f.clone(), what.to_string());
    on_main(move |env| {
        let saved = engine::pause_tapes();
        for t in &tapes {
            engine::push_tape(t);
        }
        let r = (|| {
            let args = [handles_array(&env, &inputs)?, to_raw(&env, training)?];
            let ret = f.call(&env, &args)?;
            let mut all = take_results(&env, ret, &what)?;
            let o = unsafe { Object::from_napi_value(env.raw(), ret) }.map_err(|_| Error::arg(&what, "the callback must return an object"))?;
            let nl: Option<u32> = o.get("nl").map_err(|e| Error::arg(&what, e.reason))?;
            let names: Option<Vec<String>> = o.get("mn").map_err(|e| Error::arg(&what, e.reason))?;
            let names = names.unwrap_or_default();
            let extra = nl.unwrap_or(0) as usize + names.len();
            if extra > all.len() {
                return Err(Error::arg(&what, "the callback returned fewer tensors than it announced"));
            }
            let metrics = all.split_off(all.len() - names.len());
            let losses = all.split_off(all.len() - nl.unwrap_or(0) as usize);
            Ok(LayerResult { outputs: all, losses, metrics: names.into_iter().zip(metrics).collect() })
        })();
        engine::pause_tapes();
        engine::resume_tapes(saved);
        r
    })
}

/// Calls the JS dispatcher `(event, index, payload, done)` from a worker thread and waits until
/// JS calls `done(err, value)` — which it may do after awaiting async callbacks. An error passed
/// to `done` (or thrown synchronously) comes back as the original JS error.
pub fn call_with_done(f: &std::sync::Arc<JsFn>, event: &str, index: usize, payload: serde_json::Value) -> CoreResult<serde_json::Value> {
    let (tx, rx) = mpsc::sync_channel::<CoreResult<serde_json::Value>>(1);
    let (f, event) = (f.clone(), event.to_string());
    post(move |env| {
        let slot = std::sync::Mutex::new(Some(tx.clone()));
        let done = env.create_function_from_closure::<(), (), _>("done", move |ctx| {
            let tx = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            let err: Option<Unknown> = ctx.get(0).ok();
            let failed = err.as_ref().is_some_and(|e| !matches!(e.get_type(), Ok(ValueType::Null) | Ok(ValueType::Undefined)));
            let result = if failed {
                Err(errors::park(napi::Error::from(err.expect("checked above"))))
            } else {
                Ok(ctx.get::<serde_json::Value>(1).unwrap_or(serde_json::Value::Null))
            };
            if let Some(tx) = tx {
                let _ = tx.send(result);
            }
            Ok(())
        });
        let r = (|| -> CoreResult<()> {
            let done = done.map_err(|e| Error::arg("callback", e.reason))?;
            let args = [to_raw(&env, event)?, to_raw(&env, index as u32)?, to_raw(&env, payload)?, done.raw()];
            f.call(&env, &args).map(|_| ())
        })();
        if let Err(e) = r {
            let _ = tx.send(Err(e));
        }
    })?;
    rx.recv().unwrap_or_else(|_| Err(Error::arg("callback", "the main thread dropped a callback (Node is exiting)")))
}

/// Queues a call of the dispatcher without waiting for it (progress display).
pub fn post_call(f: &std::sync::Arc<JsFn>, event: &str, index: usize, payload: serde_json::Value) -> CoreResult<()> {
    let (f, event) = (f.clone(), event.to_string());
    post(move |env| {
        let noop = env.create_function_from_closure::<(), (), _>("done", |_ctx| Ok(()));
        if let (Ok(event), Ok(index), Ok(payload), Ok(noop)) = (to_raw(&env, event), to_raw(&env, index as u32), to_raw(&env, payload), noop) {
            let args = [event, index, payload, noop.raw()];
            if let Err(e) = f.call(&env, &args) {
                errors::forget(&e);
            }
        }
    })
}
