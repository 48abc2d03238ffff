//! The model graph: nodes in topological order, each a built-in layer, a layer implemented
//! outside the core (a JS custom layer), or a model input. `forward` evaluates it with ops, so
//! under a tape the whole pass is recorded.

use crate::error::{Error, Result};
use crate::layers::{self, CallContext, LayerRef, LayerWeight, Shape};
use crate::tensor::{fmt_shape, Buffer, Tensor};
use std::sync::Arc;

/// A layer implemented outside the core: its `call` runs JS code (on the main thread), whose
/// ops are recorded on the calling thread's active tape.
pub trait ForeignLayer: Send + Sync {
    fn name(&self) -> &str;
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>>;
    /// Its weights (tracked sub-layers' included), trainable first.
    fn weights(&self) -> Vec<LayerWeight>;
    /// Its output shapes, as its JS `computeOutputShape` gave them.
    fn output_shapes(&self) -> Vec<Shape>;
}

#[derive(Clone)]
pub enum NodeLayer {
    /// A model input of this shape (batch dimension `None`).
    Input { name: String, shape: Shape },
    Native(LayerRef),
    Foreign(Arc<dyn ForeignLayer>),
}

/// Output `index` of node `node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorRef {
    pub node: usize,
    pub index: usize,
}

#[derive(Clone)]
pub struct Node {
    pub layer: NodeLayer,
    pub inputs: Vec<TensorRef>,
}

#[derive(Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<TensorRef>,
}

impl Graph {
    /// Checks that nodes only read earlier nodes and that inputs are Input nodes.
    pub fn new(nodes: Vec<Node>, inputs: Vec<usize>, outputs: Vec<TensorRef>) -> Result<Graph> {
        for (i, n) in nodes.iter().enumerate() {
            for r in &n.inputs {
                if r.node >= i {
                    return Err(Error::arg("model", format!("node {i} reads node {}, which does not come before it", r.node)));
                }
            }
        }
        for &i in &inputs {
            if !matches!(nodes.get(i).map(|n| &n.layer), Some(NodeLayer::Input { .. })) {
                return Err(Error::arg("model", format!("model input {i} is not an input node")));
            }
        }
        if outputs.iter().any(|o| o.node >= nodes.len()) {
            return Err(Error::arg("model", "an output refers to a node that does not exist"));
        }
        Ok(Graph { nodes, inputs, outputs })
    }

    /// The shapes the model's inputs expect (batch dimension `None`).
    pub fn input_shapes(&self) -> Vec<Shape> {
        self.inputs
            .iter()
            .map(|&i| match &self.nodes[i].layer {
                NodeLayer::Input { shape, .. } => shape.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Runs the graph on `xs` (one tensor per model input).
    pub fn forward(&self, xs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        if xs.len() != self.inputs.len() {
            return Err(Error::arg("model", format!("expected {} input tensor(s), got {}", self.inputs.len(), xs.len())));
        }
        let mut values: Vec<Option<Vec<Tensor>>> = vec![None; self.nodes.len()];
        // One mask per node for all its outputs (tfjs's executor); built-in layers only.
        let mut masks: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        for (k, &i) in self.inputs.iter().enumerate() {
            if let NodeLayer::Input { name, shape } = &self.nodes[i].layer {
                check_shape(name, shape, &xs[k])?;
            }
            values[i] = Some(vec![xs[k].clone()]);
        }
        // A value is dropped once its last reader has run, to keep peak memory low.
        let mut remaining = vec![0usize; self.nodes.len()];
        for n in &self.nodes {
            for r in &n.inputs {
                remaining[r.node] += 1;
            }
        }
        for o in &self.outputs {
            remaining[o.node] += 1;
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if values[i].is_some() {
                continue;
            }
            let ins = node
                .inputs
                .iter()
                .map(|r| {
                    values[r.node].as_ref().and_then(|v| v.get(r.index)).cloned().ok_or_else(|| Error::arg("model", format!("node {i} reads a value that was never computed")))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = match &node.layer {
                NodeLayer::Input { name, .. } => return Err(Error::arg("model", format!("input '{name}' was not fed"))),
                NodeLayer::Native(l) => {
                    let in_masks: Vec<Option<Tensor>> = node.inputs.iter().map(|r| masks[r.node].clone()).collect();
                    masks[i] = crate::engine::without_tapes(|| l.compute_mask(&ins, &in_masks))?;
                    let out = l.call_masked(&ins, &in_masks, ctx)?;
                    if let Some(reg) = l.activity_regularizer() {
                        if super::extras::collecting() {
                            for o in &out {
                                let batch = o.shape().first().copied().unwrap_or(1).max(1);
                                let p = crate::ops::div(&reg.penalty(o)?, &Tensor::scalar(batch as f32))?;
                                super::extras::add(vec![p], Vec::new());
                            }
                        }
                    }
                    out
                }
                NodeLayer::Foreign(l) => l.call(&ins, ctx)?,
            };
            values[i] = Some(out);
            for r in &node.inputs {
                remaining[r.node] -= 1;
                if remaining[r.node] == 0 {
                    values[r.node] = None;
                    masks[r.node] = None;
                }
            }
        }
        self.outputs
            .iter()
            .map(|o| values[o.node].as_ref().and_then(|v| v.get(o.index)).cloned().ok_or_else(|| Error::arg("model", "an output was never computed")))
            .collect()
    }

    /// Every weight of every layer, once, in node order (trainable and not).
    pub fn weights(&self) -> Vec<LayerWeight> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for n in &self.nodes {
            let ws = match &n.layer {
                NodeLayer::Native(l) => l.weights(),
                NodeLayer::Foreign(l) => l.weights(),
                NodeLayer::Input { .. } => continue,
            };
            for w in ws {
                if seen.insert(w.var.id()) {
                    out.push(w);
                }
            }
        }
        out
    }

    /// Builds every native layer for the shapes flowing through the graph.
    pub fn build(&self) -> Result<Vec<Vec<Shape>>> {
        let mut shapes: Vec<Vec<Shape>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let ins: Vec<Shape> = node.inputs.iter().map(|r| shapes[r.node][r.index].clone()).collect();
            let out = match &node.layer {
                NodeLayer::Input { shape, .. } => vec![shape.clone()],
                NodeLayer::Native(l) => {
                    l.build(&ins)?;
                    l.compute_output_shape(&ins)?
                }
                NodeLayer::Foreign(l) => l.output_shapes(),
            };
            shapes.push(out);
        }
        Ok(shapes)
    }
}

impl Graph {
    /// Inference in batches of `batch_size` rows, outputs concatenated back (no tape).
    pub fn predict(&self, xs: &[Tensor], batch_size: usize) -> Result<Vec<Tensor>> {
        let n = xs.first().map(|x| x.shape().first().copied().unwrap_or(0)).unwrap_or(0);
        for x in xs {
            if x.rank() == 0 || x.shape()[0] != n {
                return Err(Error::shape("predict", format!("inputs with {n} rows each"), fmt_shape(x.shape())));
            }
        }
        let bs = batch_size.max(1);
        let ctx = CallContext { training: false };
        crate::engine::without_tapes(|| {
            if n <= bs {
                return self.forward(xs, &ctx);
            }
            let mut parts: Vec<Vec<Tensor>> = Vec::new();
            let mut start = 0;
            while start < n {
                let end = (start + bs).min(n);
                let batch = xs.iter().map(|x| slice_rows(x, start, end)).collect::<Result<Vec<_>>>()?;
                parts.push(self.forward(&batch, &ctx)?);
                start = end;
            }
            (0..self.outputs.len()).map(|k| concat_rows(&parts.iter().map(|p| p[k].clone()).collect::<Vec<_>>())).collect()
        })
    }
}

/// Rows `[start, end)` of `x` (a contiguous copy).
pub fn slice_rows(x: &Tensor, start: usize, end: usize) -> Result<Tensor> {
    let row: usize = x.shape()[1..].iter().product();
    let mut shape = x.shape().to_vec();
    shape[0] = end - start;
    let (a, b) = (start * row, end * row);
    Ok(Tensor::from_buffer(
        shape,
        match x.buffer() {
            Buffer::F32(v) => Buffer::F32(v[a..b].to_vec()),
            Buffer::I32(v) => Buffer::I32(v[a..b].to_vec()),
            Buffer::Bool(v) => Buffer::Bool(v[a..b].to_vec()),
        },
    ))
}

/// Concatenates tensors of equal trailing shape along the first axis.
pub fn concat_rows(parts: &[Tensor]) -> Result<Tensor> {
    let first = parts.first().ok_or_else(|| Error::arg("predict", "nothing to concatenate"))?;
    let rows: usize = parts.iter().map(|p| p.shape()[0]).sum();
    let mut shape = first.shape().to_vec();
    shape[0] = rows;
    let buf = match first.buffer() {
        Buffer::F32(_) => Buffer::F32(parts.iter().flat_map(|p| p.to_f32_vec()).collect()),
        Buffer::I32(_) => Buffer::I32(parts.iter().flat_map(|p| p.to_i32_vec()).collect()),
        Buffer::Bool(_) => Buffer::Bool(parts.iter().flat_map(|p| p.cast(crate::tensor::DType::Bool).to_i32_vec().into_iter().map(|v| v as u8).collect::<Vec<_>>()).collect()),
    };
    Ok(Tensor::from_buffer(shape, buf))
}

fn check_shape(name: &str, want: &Shape, x: &Tensor) -> Result<()> {
    let ok = want.len() == x.rank() && want.iter().zip(x.shape()).all(|(w, &g)| w.map_or(true, |w| w == g));
    if !ok {
        return Err(Error::shape(
            format!("input '{name}'"),
            format!("shape {}", layers::fmt_shape(want)),
            format!("shape {}", fmt_shape(x.shape())),
        ));
    }
    Ok(())
}
