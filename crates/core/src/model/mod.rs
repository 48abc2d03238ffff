//! Models: a graph of layer nodes (Sequential is a chain, functional models a DAG), run
//! forward on concrete tensors; the training loop lives in `train`.

pub mod graph;

pub use graph::{ForeignLayer, Graph, Node, NodeLayer, TensorRef};
