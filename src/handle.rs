//! Tensor handles: what a JS `Tensor` holds. A handle owns one core tensor (or refers to a
//! variable) until `dispose()` — called by the user, by `tidy`, or by the JS finalization
//! registry when the garbage collector collects a forgotten Tensor. Live handles are what
//! `tf.memory().numTensors` counts; large tensors report their bytes to V8.

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

/// The table of live handles of this thread (JS runs on one thread per environment). A handle is
/// a number: slot index in the low 32 bits, the slot's generation above, so a disposed handle
/// whose slot was reused is still recognised as disposed.
struct Entry {
    generation: u32,
    slot: Option<Slot>,
    /// Bytes reported to V8 for this tensor (given back when it is released).
    reported: i64,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    free: Vec<u32>,
    /// Reported bytes released since the last chance to tell V8 (needs an env).
    unreported: i64,
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::default());
}

/// Tensors below this size are not reported to V8: their bytes do not move its GC heuristics.
const REPORT_MIN_BYTES: usize = 16 * 1024;
const GENERATIONS: u64 = 1 << 20;

fn split(id: f64) -> Option<(usize, u32)> {
    if !(id >= 0.0 && id.fract() == 0.0 && id < (GENERATIONS << 32) as f64) {
        return None;
    }
    let v = id as u64;
    Some(((v & 0xffff_ffff) as usize, (v >> 32) as u32))
}

/// A handle passed in from JS.
pub struct H(f64);

impl H {
    fn with<R>(&self, f: impl FnOnce(Option<&mut Entry>) -> R) -> R {
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let e = split(self.0).and_then(|(i, g)| t.entries.get_mut(i).filter(|e| e.generation == g && e.slot.is_some()));
            f(e)
        })
    }
    /// The tensor, or its current value for a variable.
    pub fn tensor(&self, op: &str) -> Result<Tensor> {
        self.with(|e| match e.and_then(|e| e.slot.as_ref()) {
            Some(Slot::Tensor(t)) => Ok(t.clone()),
            Some(Slot::Variable(v)) => Ok(v.read()),
            None => Err(Error::Disposed { op: op.to_string() }),
        })
    }
    pub fn variable(&self, op: &str) -> Result<Arc<Variable>> {
        self.with(|e| match e.and_then(|e| e.slot.as_ref()) {
            Some(Slot::Variable(v)) => Ok(v.clone()),
            Some(Slot::Tensor(_)) => Err(Error::arg(op, "expected a Variable, got a plain Tensor")),
            None => Err(Error::Disposed { op: op.to_string() }),
        })
    }
    pub fn is_disposed(&self) -> bool {
        self.with(|e| e.is_none())
    }
    /// Releases the tensor now; later uses are a "disposed" error. Disposing twice is a no-op.
    pub fn dispose(&self) {
        let Some((i, g)) = split(self.0) else { return };
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let released = match t.entries.get_mut(i) {
                Some(e) if e.generation == g && e.slot.is_some() => {
                    e.slot = None;
                    e.generation = (e.generation + 1) % GENERATIONS as u32;
                    Some(std::mem::take(&mut e.reported))
                }
                _ => None,
            };
            if let Some(bytes) = released {
                t.unreported += bytes;
                t.free.push(i as u32);
                LIVE_HANDLES.fetch_sub(1, Ordering::Relaxed);
            }
        });
    }
}

impl TypeName for H {
    fn type_name() -> &'static str {
        "Tensor"
    }
    fn value_type() -> ValueType {
        ValueType::Number
    }
}

impl ValidateNapiValue for H {}

impl FromNapiValue for H {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> napi::Result<H> {
        let mut id = -1.0;
        let status = unsafe { sys::napi_get_value_double(env, v, &mut id) };
        if status != sys::Status::napi_ok || split(id).is_none() {
            return Err(napi::Error::from_reason("expected a Tensor"));
        }
        Ok(H(id))
    }
}

/// A new handle, created when returned to JS.
pub struct NewHandle(Slot);

impl ToNapiValue for NewHandle {
    unsafe fn to_napi_value(env: sys::napi_env, val: NewHandle) -> napi::Result<sys::napi_value> {
        let bytes = match &val.0 {
            Slot::Tensor(t) => t.buffer().byte_len(),
            Slot::Variable(v) => v.read().buffer().byte_len(),
        };
        let reported = if bytes >= REPORT_MIN_BYTES { bytes as i64 } else { 0 };
        let (id, delta) = TABLE.with(|t| {
            let mut t = t.borrow_mut();
            let i = match t.free.pop() {
                Some(i) => i as usize,
                None => {
                    t.entries.push(Entry { generation: 0, slot: None, reported: 0 });
                    t.entries.len() - 1
                }
            };
            let e = &mut t.entries[i];
            e.slot = Some(val.0);
            e.reported = reported;
            let id = ((e.generation as u64) << 32 | i as u64) as f64;
            let delta = reported - std::mem::take(&mut t.unreported);
            (id, delta)
        });
        LIVE_HANDLES.fetch_add(1, Ordering::Relaxed);
        if delta != 0 {
            let mut out = 0;
            unsafe { sys::napi_adjust_external_memory(env, delta, &mut out) };
        }
        let mut v = std::ptr::null_mut();
        let status = unsafe { sys::napi_create_double(env, id, &mut v) };
        if status != sys::Status::napi_ok {
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
