//! Reverse-mode autodiff. While a gradient scope is active on a thread, every kernel run on that
//! thread is appended to each active tape. `gradients` walks the nodes between the sources and
//! the target in reverse, asks each kernel's gradient rule for its input gradients, and
//! accumulates them by tensor id. Gradient rules run ordinary ops, so an enclosing tape records
//! them too: gradients of gradients work.
//!
//! A tape is shared (`Arc<Mutex<_>>`) so that another thread can record into it: when a worker
//! thread's training step calls JavaScript, the main thread installs the step's tape for the
//! duration of that call (see `engine::with_tape`).

use crate::attrs::Attrs;
use crate::engine;
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{self, ForeignGradient, GradCtx, Gradient};
use crate::tensor::{fmt_shape, Tensor};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub struct TapeNode {
    pub kernel: String,
    /// Input names when the caller named them (JS `runKernel`); built-ins use the registry's.
    pub names: Option<Vec<String>>,
    pub inputs: Vec<Tensor>,
    pub outputs: Vec<Tensor>,
    pub attrs: Attrs,
    /// A `customGrad` node carries its own gradient function.
    pub custom: Option<Arc<dyn ForeignGradient>>,
}

#[derive(Default)]
pub struct Tape {
    pub nodes: Vec<TapeNode>,
}

pub type TapeRef = Arc<Mutex<Tape>>;

pub fn new_tape() -> TapeRef {
    Arc::new(Mutex::new(Tape::default()))
}

impl Tape {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Gradients of `y` (seeded with `dy`, ones when absent) with respect to the tensors whose ids
/// are `xs`. An entry is `None` when `y` does not depend on that source.
pub fn gradients(tape: &TapeRef, y: &Tensor, xs: &[u64], dy: Option<Tensor>) -> Result<Vec<Option<Tensor>>> {
    // Take the nodes out: the rules below run ops, and the tape must not record into itself.
    let nodes = std::mem::take(&mut tape.lock().unwrap_or_else(|e| e.into_inner()).nodes);
    let (path, reach) = nodes_between(&nodes, xs, y.id());

    let seed = match dy {
        Some(d) => {
            if d.shape() != y.shape() {
                return Err(Error::shape("gradients", format!("dy of shape {}", fmt_shape(y.shape())), fmt_shape(d.shape())));
            }
            d
        }
        None => ops::ones_like(y)?,
    };
    let mut grads: HashMap<u64, Tensor> = HashMap::new();
    grads.insert(y.id(), seed);

    for &i in path.iter().rev() {
        let node = &nodes[i];
        if !node.outputs.iter().any(|o| grads.contains_key(&o.id())) {
            continue;
        }
        let mut dys = Vec::with_capacity(node.outputs.len());
        let mut grad_outputs = None;
        for (i, o) in node.outputs.iter().enumerate() {
            dys.push(match grads.get(&o.id()) {
                Some(g) => g.clone(),
                None => {
                    let n = *grad_outputs.get_or_insert_with(|| registry::gradient_outputs(&node.kernel));
                    if n.is_some_and(|n| i >= n) {
                        // A workspace takes no gradient: a placeholder rather than zeros of its size.
                        Tensor::f32(vec![0], Vec::new())
                    } else {
                        ops::zeros_like(o)?
                    }
                }
            });
        }
        let needs: Vec<bool> = node.inputs.iter().map(|t| reach.contains(&t.id())).collect();
        let input_grads = run_rule(node, &dys, &needs)?;
        for ((inp, g), &needed) in node.inputs.iter().zip(input_grads).zip(&needs) {
            let Some(g) = g else { continue };
            if !needed {
                continue;
            }
            if g.shape() != inp.shape() {
                return Err(Error::shape(
                    format!("gradient of {}", node.kernel),
                    format!("a gradient of shape {} (the input's)", fmt_shape(inp.shape())),
                    fmt_shape(g.shape()),
                ));
            }
            let acc = match grads.remove(&inp.id()) {
                Some(prev) => ops::add(&prev, &g)?,
                None => g,
            };
            grads.insert(inp.id(), acc);
        }
    }
    Ok(xs.iter().map(|id| grads.get(id).cloned()).collect())
}

/// Indices of the nodes on some path from a source to the target, in tape order, and the ids
/// of the tensors that depend on a source (only their gradients are needed).
fn nodes_between(nodes: &[TapeNode], xs: &[u64], y: u64) -> (Vec<usize>, HashSet<u64>) {
    let mut reach: HashSet<u64> = xs.iter().copied().collect();
    let mut forward = vec![false; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if n.inputs.iter().any(|t| reach.contains(&t.id())) {
            forward[i] = true;
            reach.extend(n.outputs.iter().map(Tensor::id));
        }
    }
    let mut need: HashSet<u64> = HashSet::from([y]);
    let mut keep = Vec::new();
    for (i, n) in nodes.iter().enumerate().rev() {
        if forward[i] && n.outputs.iter().any(|t| need.contains(&t.id())) {
            keep.push(i);
            need.extend(n.inputs.iter().map(Tensor::id));
        }
    }
    keep.reverse();
    (keep, reach)
}

fn run_rule(node: &TapeNode, dys: &[Tensor], needs: &[bool]) -> Result<Vec<Option<Tensor>>> {
    if let Some(custom) = &node.custom {
        let named = custom.call(&node.kernel, dys, &node.inputs, &node.attrs)?;
        return by_position(node, named);
    }
    match registry::get_gradient(&node.kernel) {
        Some(Gradient::Native(rule)) => {
            let ctx = GradCtx { dys, inputs: &node.inputs, outputs: &node.outputs, attrs: &node.attrs, needs };
            let mut g = rule(&ctx)?;
            g.resize(node.inputs.len(), None);
            Ok(g)
        }
        Some(Gradient::Foreign { func, inputs_to_save, save_all_inputs, outputs_to_save }) => {
            let names = input_names(node);
            let mut saved: Vec<Tensor> = Vec::new();
            if save_all_inputs {
                saved.extend(node.inputs.iter().cloned());
            } else {
                for want in &inputs_to_save {
                    let pos = names.iter().position(|n| n == want).ok_or_else(|| {
                        Error::arg(format!("gradient of {}", node.kernel), format!("inputsToSave names '{want}', but the kernel's inputs are {names:?}"))
                    })?;
                    saved.push(node.inputs[pos].clone());
                }
            }
            for (o, keep) in node.outputs.iter().zip(outputs_to_save.iter()) {
                if *keep {
                    saved.push(o.clone());
                }
            }
            let named = func.call(&node.kernel, dys, &saved, &node.attrs)?;
            by_position(node, named)
        }
        None => Err(Error::NoGradient { kernel: node.kernel.clone() }),
    }
}

fn input_names(node: &TapeNode) -> Vec<String> {
    if let Some(n) = &node.names {
        return n.clone();
    }
    match registry::input_names(&node.kernel) {
        Some(names) if names.len() >= node.inputs.len() => names[..node.inputs.len()].iter().map(|s| s.to_string()).collect(),
        _ => (0..node.inputs.len()).map(|i| i.to_string()).collect(),
    }
}

fn by_position(node: &TapeNode, named: Vec<(String, Tensor)>) -> Result<Vec<Option<Tensor>>> {
    let names = input_names(node);
    let mut out = vec![None; node.inputs.len()];
    for (name, g) in named {
        let pos = names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::arg(format!("gradient of {}", node.kernel), format!("the gradient names input '{name}', but the inputs are {names:?}"))
        })?;
        out[pos] = Some(g);
    }
    Ok(out)
}

/// Records a `customGrad` node: `outputs` were computed from `inputs` by user code whose ops
/// were not recorded; backward calls `grad`.
pub fn record_custom(inputs: &[Tensor], outputs: &[Tensor], grad: Arc<dyn ForeignGradient>) {
    engine::record(TapeNode {
        kernel: "CustomGradient".to_string(),
        names: Some((0..inputs.len()).map(|i| i.to_string()).collect()),
        inputs: inputs.to_vec(),
        outputs: outputs.to_vec(),
        attrs: Attrs::new(),
        custom: Some(grad),
    });
}
