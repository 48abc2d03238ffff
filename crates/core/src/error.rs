//! The one error type of the core. Every variant names the op (kernel, layer, function) involved
//! and, where it applies, what was expected and what was given; the N-API glue turns it into a
//! JS `Error` carrying this text.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Shapes that do not fit together: `op` expected `expected`, got `given`.
    Shape { op: String, expected: String, given: String },
    /// A dtype the op does not accept.
    DType { op: String, expected: String, given: String },
    /// A bad attribute or argument value.
    Arg { op: String, msg: String },
    /// No kernel under this name for the active backend.
    UnknownKernel { name: String, backend: String },
    /// A differentiable path goes through a kernel without a gradient rule.
    NoGradient { kernel: String },
    /// A tensor was used after `dispose()`.
    Disposed { op: String },
    /// An exception thrown by JavaScript code the core called (a JS kernel, gradient, layer).
    /// `token` lets the glue re-throw the original JS error object with its stack.
    Foreign { message: String, token: u64 },
    /// A panic caught at a boundary.
    Panic { op: String, msg: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn shape(op: impl Into<String>, expected: impl Into<String>, given: impl Into<String>) -> Self {
        Error::Shape { op: op.into(), expected: expected.into(), given: given.into() }
    }
    pub fn dtype(op: impl Into<String>, expected: impl Into<String>, given: impl Into<String>) -> Self {
        Error::DType { op: op.into(), expected: expected.into(), given: given.into() }
    }
    pub fn arg(op: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Arg { op: op.into(), msg: msg.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, expected, given } => {
                write!(f, "{op}: expected {expected}, but got {given}")
            }
            Error::DType { op, expected, given } => {
                write!(f, "{op}: expected dtype {expected}, but got {given}")
            }
            Error::Arg { op, msg } => write!(f, "{op}: {msg}"),
            Error::UnknownKernel { name, backend } => {
                write!(f, "Kernel '{name}' not registered for backend '{backend}'")
            }
            Error::NoGradient { kernel } => write!(
                f,
                "Cannot compute gradient: gradient function not found for kernel '{kernel}'"
            ),
            Error::Disposed { op } => write!(f, "{op}: Tensor is disposed."),
            Error::Foreign { message, .. } => write!(f, "{message}"),
            Error::Panic { op, msg } => write!(f, "{op}: internal error (panic): {msg}"),
        }
    }
}

impl std::error::Error for Error {}

/// Runs `f`, turning a panic into `Error::Panic` so that no panic crosses into Node.
pub fn catch_panic<T>(op: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_string()
            };
            Err(Error::Panic { op: op.to_string(), msg })
        }
    }
}
