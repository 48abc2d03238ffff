//! Tensor handles: what a JS `Tensor` holds. A handle owns one core tensor (or refers to a
//! variable) until `dispose()` or until the garbage collector finalizes it; live handles are
//! what `tf.memory().numTensors` counts, and their bytes are reported to V8.

use ferrograd_core::{Error, Result, Tensor, Variable};
use napi::bindgen_prelude::*;
use napi::sys;
use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

static LIVE_HANDLES: AtomicI64 = AtomicI64::new(0);

pub fn live_handles() -> i64 {
    LIVE_HANDLES.load(Ordering::Relaxed)
}

pub enum Slot {
    Tensor(Tensor),
    Variable(Arc<Variable>),
}

/// Marks a live `Handle` behind an external pointer, so a foreign external is refused.
const MAGIC: u64 = 0x6665_7272_6f67_7264;

pub struct Handle {
    magic: u64,
    slot: RefCell<Option<Slot>>,
    /// Bytes reported to V8 with `napi_adjust_external_memory`, given back on finalize.
    reported: i64,
}

/// Tensors below this size are not reported to V8: their bytes do not move its GC heuristics.
const REPORT_MIN_BYTES: usize = 16 * 1024;

impl Handle {
    fn new(slot: Slot) -> Handle {
        LIVE_HANDLES.fetch_add(1, Ordering::Relaxed);
        Handle { magic: MAGIC, slot: RefCell::new(Some(slot)), reported: 0 }
    }
    /// The tensor, or its current value for a variable.
    pub fn tensor(&self, op: &str) -> Result<Tensor> {
        match &*self.slot.borrow() {
            Some(Slot::Tensor(t)) => Ok(t.clone()),
            Some(Slot::Variable(v)) => Ok(v.read()),
            None => Err(Error::Disposed { op: op.to_string() }),
        }
    }
    pub fn variable(&self, op: &str) -> Result<Arc<Variable>> {
        match &*self.slot.borrow() {
            Some(Slot::Variable(v)) => Ok(v.clone()),
            Some(Slot::Tensor(_)) => Err(Error::arg(op, "expected a Variable, got a plain Tensor")),
            None => Err(Error::Disposed { op: op.to_string() }),
        }
    }
    pub fn is_disposed(&self) -> bool {
        self.slot.borrow().is_none()
    }
    /// Releases the tensor now; later uses are a "disposed" error.
    pub fn dispose(&self) {
        if self.slot.borrow_mut().take().is_some() {
            LIVE_HANDLES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.slot.get_mut().is_some() {
            LIVE_HANDLES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A handle passed in from JS (a `napi_external` made by `NewHandle`).
pub struct H(&'static Handle);

impl std::ops::Deref for H {
    type Target = Handle;
    fn deref(&self) -> &Handle {
        self.0
    }
}

impl TypeName for H {
    fn type_name() -> &'static str {
        "Tensor"
    }
    fn value_type() -> ValueType {
        ValueType::External
    }
}

impl ValidateNapiValue for H {}

impl FromNapiValue for H {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> napi::Result<H> {
        let mut ty = 0;
        unsafe { sys::napi_typeof(env, v, &mut ty) };
        if ty != sys::ValueType::napi_external {
            return Err(napi::Error::from_reason("expected a Tensor"));
        }
        let mut data = std::ptr::null_mut();
        let status = unsafe { sys::napi_get_value_external(env, v, &mut data) };
        let h = data as *const Handle;
        // SAFETY: externals reaching ferrograd's exports are made by `NewHandle` (index.js only
        // passes those); the magic word guards against any other external.
        if status != sys::Status::napi_ok || h.is_null() || unsafe { (*h).magic } != MAGIC {
            return Err(napi::Error::from_reason("expected a Tensor"));
        }
        Ok(H(unsafe { &*h }))
    }
}

/// A new handle, created when returned to JS.
pub struct NewHandle(Slot);

unsafe extern "C" fn finalize(env: sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    let h = unsafe { Box::from_raw(data as *mut Handle) };
    if h.reported != 0 {
        let mut out = 0;
        unsafe { sys::napi_adjust_external_memory(env, -h.reported, &mut out) };
    }
}

impl ToNapiValue for NewHandle {
    unsafe fn to_napi_value(env: sys::napi_env, val: NewHandle) -> napi::Result<sys::napi_value> {
        let bytes = match &val.0 {
            Slot::Tensor(t) => t.buffer().byte_len(),
            Slot::Variable(v) => v.read().buffer().byte_len(),
        };
        let mut h = Box::new(Handle::new(val.0));
        if bytes >= REPORT_MIN_BYTES {
            let mut out = 0;
            unsafe { sys::napi_adjust_external_memory(env, bytes as i64, &mut out) };
            h.reported = bytes as i64;
        }
        let raw = Box::into_raw(h);
        let mut v = std::ptr::null_mut();
        let status = unsafe { sys::napi_create_external(env, raw.cast(), Some(finalize), std::ptr::null_mut(), &mut v) };
        if status != sys::Status::napi_ok {
            drop(unsafe { Box::from_raw(raw) });
            return Err(napi::Error::from_reason("could not create a tensor handle"));
        }
        Ok(v)
    }
}

pub type JsHandle = NewHandle;

/// Wraps a tensor for JS.
pub fn wrap(t: Tensor) -> NewHandle {
    NewHandle(Slot::Tensor(t))
}

pub fn wrap_variable(v: Arc<Variable>) -> NewHandle {
    NewHandle(Slot::Variable(v))
}

/// Reads the handles of a JS array.
pub fn tensors_of(env: &Env, arr: &Array, op: &str) -> napi::Result<Vec<Tensor>> {
    let mut out = Vec::with_capacity(arr.len() as usize);
    for i in 0..arr.len() {
        let v: Unknown = arr.get(i)?.ok_or_else(|| napi::Error::from_reason(format!("{op}: input {i} is missing")))?;
        out.push(tensor_of(env, v, op, i)?);
    }
    Ok(out)
}

pub fn tensor_of(env: &Env, v: Unknown, op: &str, i: u32) -> napi::Result<Tensor> {
    let h = unsafe { H::from_napi_value(env.raw(), v.raw()) }.map_err(|_| napi::Error::from_reason(format!("{op}: input {i} must be a Tensor")))?;
    h.tensor(op).map_err(crate::errors::to_js)
}
