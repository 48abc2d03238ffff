//! ferrograd-core: tensors, CPU kernels behind a kernel registry, reverse-mode autodiff and
//! optimizers, with no dependency on Node.js. The N-API glue (the `ferrograd` crate) maps JS
//! values onto this crate's types and nothing else.

pub mod attrs;
pub mod engine;
pub mod error;
pub mod kernels;
pub mod layers;
pub mod memory;
pub mod model;
pub mod ops;
pub mod optim;
pub mod random;
pub mod registry;
pub mod tape;
pub mod tensor;

pub use attrs::Attrs;
pub use error::{Error, Result};
pub use tensor::{Buffer, DType, Tensor, Variable};

#[cfg(test)]
pub mod testutil;
