//! Tensor handles: what a JS `Tensor` holds. A handle owns one core tensor (or refers to a
//! variable) until `dispose()` or until the garbage collector finalizes it; live handles are
//! what `tf.memory().numTensors` counts, and their bytes are reported to V8.

use ferrograd_core::{Error, Result, Tensor, Variable};
use napi::bindgen_prelude::*;
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

pub struct Handle {
    slot: RefCell<Option<Slot>>,
}

pub type JsHandle = External<Handle>;

impl Handle {
    fn new(slot: Slot) -> Handle {
        LIVE_HANDLES.fetch_add(1, Ordering::Relaxed);
        Handle { slot: RefCell::new(Some(slot)) }
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

/// Wraps a tensor for JS, telling V8 how much native memory it keeps alive.
pub fn wrap(t: Tensor) -> JsHandle {
    let bytes = t.buffer().byte_len();
    External::new_with_size_hint(Handle::new(Slot::Tensor(t)), bytes)
}

pub fn wrap_variable(v: Arc<Variable>) -> JsHandle {
    let bytes = v.read().buffer().byte_len();
    External::new_with_size_hint(Handle::new(Slot::Variable(v)), bytes)
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
    let h: &JsHandle = unsafe { FromNapiRef::from_napi_ref(env.raw(), v.raw()) }
        .map_err(|_| napi::Error::from_reason(format!("{op}: input {i} must be a Tensor")))?;
    h.tensor(op).map_err(crate::errors::to_js)
}
