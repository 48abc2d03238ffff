//! The engine: `run_kernel` dispatches every op through the registry and records it on the
//! active tapes of the calling thread. Tapes are per thread and stack (nested gradient scopes
//! record on every enclosing tape); `with_tape` installs one for the duration of a closure.

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::registry::{self, Kernel};
use crate::tape::{TapeNode, TapeRef};
use crate::tensor::Tensor;
use std::cell::RefCell;

thread_local! {
    static TAPES: RefCell<Vec<TapeRef>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `tape` recording the kernels this thread runs, on top of any enclosing tapes.
pub fn with_tape<R>(tape: &TapeRef, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            TAPES.with(|t| t.borrow_mut().pop());
        }
    }
    TAPES.with(|t| t.borrow_mut().push(tape.clone()));
    let _pop = Pop;
    f()
}

/// Runs `f` with no tape recording on this thread (restored afterwards).
pub fn without_tapes<R>(f: impl FnOnce() -> R) -> R {
    let saved = TAPES.with(|t| std::mem::take(&mut *t.borrow_mut()));
    struct Restore(Option<Vec<TapeRef>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let v = self.0.take().unwrap_or_default();
            TAPES.with(|t| *t.borrow_mut() = v);
        }
    }
    let _r = Restore(Some(saved));
    f()
}

/// Starts recording on `tape` until the matching `pop_tape` (for scopes driven from JS).
pub fn push_tape(tape: &TapeRef) {
    TAPES.with(|t| t.borrow_mut().push(tape.clone()));
}

/// Ends the innermost recording scope, which must be `tape`'s.
pub fn pop_tape(tape: &TapeRef) -> Result<()> {
    TAPES.with(|t| {
        let mut t = t.borrow_mut();
        match t.last() {
            Some(top) if std::sync::Arc::ptr_eq(top, tape) => {
                t.pop();
                Ok(())
            }
            _ => Err(Error::arg("gradient scope", "scopes must end in the reverse order they started")),
        }
    })
}

/// Suspends all recording on this thread; `resume_tapes` puts the scopes back.
pub fn pause_tapes() -> Vec<TapeRef> {
    TAPES.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

pub fn resume_tapes(saved: Vec<TapeRef>) {
    TAPES.with(|t| {
        let mut t = t.borrow_mut();
        let newer = std::mem::take(&mut *t);
        *t = saved;
        t.extend(newer);
    });
}

/// The tapes recording on this thread (to install them on another thread for a call).
pub fn current_tapes() -> Vec<TapeRef> {
    TAPES.with(|t| t.borrow().clone())
}

pub fn is_recording() -> bool {
    TAPES.with(|t| !t.borrow().is_empty())
}

pub(crate) fn record(node: TapeNode) {
    TAPES.with(|t| {
        let tapes = t.borrow();
        if let Some((last, rest)) = tapes.split_last() {
            for tape in rest {
                let copy = TapeNode {
                    kernel: node.kernel.clone(),
                    names: node.names.clone(),
                    inputs: node.inputs.clone(),
                    outputs: node.outputs.clone(),
                    attrs: node.attrs.clone(),
                    custom: node.custom.clone(),
                };
                tape.lock().unwrap_or_else(|e| e.into_inner()).nodes.push(copy);
            }
            last.lock().unwrap_or_else(|e| e.into_inner()).nodes.push(node);
        }
    });
}

/// Runs the kernel registered as `name` on the inputs (in its declared input order).
pub fn run_kernel(name: &str, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    run_kernel_named(name, None, inputs, attrs)
}

/// As `run_kernel`, with input names given by the caller (JS `runKernel`).
pub fn run_kernel_named(name: &str, names: Option<Vec<String>>, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let kernel = registry::kernel_or_err(name)?;
    let outputs = match &kernel {
        Kernel::Native(f) => f(inputs, attrs)?,
        Kernel::Foreign(k) => {
            let names = match &names {
                Some(n) => n.clone(),
                None => match registry::input_names(name) {
                    Some(n) if n.len() >= inputs.len() => n[..inputs.len()].iter().map(|s| s.to_string()).collect(),
                    _ => (0..inputs.len()).map(|i| i.to_string()).collect(),
                },
            };
            k.call(name, &names, inputs, attrs)?
        }
    };
    if is_recording() {
        record(TapeNode {
            kernel: name.to_string(),
            names,
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
            attrs: attrs.clone(),
            custom: None,
        });
    }
    Ok(outputs)
}

/// `run_kernel` for kernels with exactly one output.
pub fn run1(name: &str, inputs: &[Tensor], attrs: &Attrs) -> Result<Tensor> {
    let mut out = run_kernel(name, inputs, attrs)?;
    if out.len() != 1 {
        return Err(Error::arg(name, format!("expected the kernel to return 1 tensor, got {}", out.len())));
    }
    Ok(out.pop().expect("one output"))
}
