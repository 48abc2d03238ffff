//! Models: a graph of layer nodes (Sequential is a chain, functional models a DAG), run
//! forward on concrete tensors; the training loop lives in `train`.

pub mod batching;
pub mod extras;
pub mod fit_args;
pub mod fused_loss;
pub mod graph;
pub mod history;
pub mod losses;
pub mod metrics;
pub mod train;
#[cfg(test)]
mod tests_train;

pub use graph::{ForeignLayer, Graph, Node, NodeLayer, TensorRef};
