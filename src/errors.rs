//! The one conversion from core errors to JS errors. A JS exception that passed through the
//! core (a throwing JS kernel, gradient or layer) is parked here under a token while it crosses
//! Rust frames, then re-thrown as the original object, stack included.

use ferrograd_core::Error as CoreError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

static PARKED: LazyLock<Mutex<HashMap<u64, napi::Error>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT: AtomicU64 = AtomicU64::new(1);

/// Parks a JS exception and returns the core error that stands for it.
pub fn park(err: napi::Error) -> CoreError {
    let token = NEXT.fetch_add(1, Ordering::Relaxed);
    let message = err.reason.clone();
    PARKED.lock().unwrap_or_else(|e| e.into_inner()).insert(token, err);
    CoreError::Foreign { message, token }
}

pub fn to_js(e: CoreError) -> napi::Error {
    if let CoreError::Foreign { token, message } = &e {
        if let Some(original) = PARKED.lock().unwrap_or_else(|e| e.into_inner()).remove(token) {
            return original;
        }
        return napi::Error::from_reason(message.clone());
    }
    napi::Error::from_reason(e.to_string())
}

/// Drops a parked error that will never be re-thrown.
pub fn forget(e: &CoreError) {
    if let CoreError::Foreign { token, .. } = e {
        PARKED.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
    }
}

/// Runs a core call at an export boundary: panics become errors, errors become JS errors.
pub fn guard<T>(op: &str, f: impl FnOnce() -> ferrograd_core::Result<T>) -> napi::Result<T> {
    ferrograd_core::error::catch_panic(op, f).map_err(to_js)
}
