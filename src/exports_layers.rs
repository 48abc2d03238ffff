//! Layer and model-graph exports: built-in layers created from JS configs, their shapes,
//! weights and eager calls, and model graphs assembled from layer nodes.

use crate::calljs::{self, JsFn};
use crate::errors::guard;
use crate::handle::{self, JsHandle};
use ferrograd_core::layers::{self, CallContext, LayerRef, LayerWeight, Shape};
use ferrograd_core::model::{ForeignLayer, Graph, Node, NodeLayer, TensorRef};
use ferrograd_core::{Error, Tensor};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;
use std::sync::Arc;

pub struct LayerBox(pub LayerRef);

fn shapes_of(op: &str, v: &Value) -> ferrograd_core::Result<Vec<Shape>> {
    let bad = || Error::arg(op, format!("expected a list of shapes, got {v}"));
    let list = v.as_array().ok_or_else(bad)?;
    list.iter()
        .map(|s| {
            s.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|d| match d {
                    Value::Null => Ok(None),
                    d => d.as_u64().map(|x| Some(x as usize)).ok_or_else(bad),
                })
                .collect()
        })
        .collect()
}

fn shapes_value(shapes: &[Shape]) -> Value {
    Value::Array(shapes.iter().map(layers::shape_value).collect())
}

/// Creates a built-in layer; `fromFile` configs (read from a model file) may carry keys the
/// layer does not know.
#[napi(js_name = "layerCreate")]
pub fn layer_create(class_name: String, config: Value, from_file: Option<bool>) -> Result<External<LayerBox>> {
    let create = if from_file == Some(true) { layers::from_file_config } else { layers::from_config };
    guard(&class_name, || Ok(External::new(LayerBox(create(&class_name, &config)?))))
}

/// Bounds (a number of values) or unbounds (`null`) the weights initializers may create on this
/// thread, while a model file loads.
#[napi(js_name = "setWeightSizeLimit")]
pub fn set_weight_size_limit(limit: Option<f64>) {
    layers::initializers::set_weight_size_limit(limit.map(|l| if l.is_finite() && l >= 0.0 { l as usize } else { usize::MAX }));
}

#[napi(js_name = "layerConfig")]
pub fn layer_config(l: &External<LayerBox>) -> Value {
    l.0.config()
}

#[napi(js_name = "layerBatchInputShape")]
pub fn layer_batch_input_shape(l: &External<LayerBox>) -> Value {
    l.0.batch_input_shape().map(|s| layers::shape_value(&s)).unwrap_or(Value::Null)
}

#[napi(js_name = "layerBuild")]
pub fn layer_build(l: &External<LayerBox>, shapes: Value) -> Result<()> {
    let name = l.0.name().to_string();
    guard(&name, || l.0.build(&shapes_of(&name, &shapes)?))
}

#[napi(js_name = "layerOutputShape")]
pub fn layer_output_shape(l: &External<LayerBox>, shapes: Value) -> Result<Value> {
    let name = l.0.name().to_string();
    guard(&name, || Ok(shapes_value(&l.0.compute_output_shape(&shapes_of(&name, &shapes)?)?)))
}

#[napi(js_name = "layerCall")]
pub fn layer_call(env: Env, l: &External<LayerBox>, inputs: Array, training: bool) -> Result<Vec<JsHandle>> {
    let name = l.0.name().to_string();
    let xs = handle::tensors_of(&env, &inputs, &name)?;
    guard(&name, || Ok(l.0.call(&xs, &CallContext { training })?.into_iter().map(handle::wrap).collect()))
}

/// Masks given from JS: one per input, a Tensor or null.
fn masks_of(env: &Env, arr: &Array, op: &str) -> Result<Vec<Option<Tensor>>> {
    let mut out = Vec::with_capacity(arr.len() as usize);
    for i in 0..arr.len() {
        let v: Option<Unknown> = arr.get(i)?;
        out.push(match v {
            Some(v) if !matches!(v.get_type()?, ValueType::Null | ValueType::Undefined) => Some(handle::tensor_of(env, v, op, i)?),
            _ => None,
        });
    }
    Ok(out)
}

/// An eager call given the inputs' masks (`kwargs.mask`).
#[napi(js_name = "layerCallMasked")]
pub fn layer_call_masked(env: Env, l: &External<LayerBox>, inputs: Array, masks: Array, training: bool) -> Result<Vec<JsHandle>> {
    let name = l.0.name().to_string();
    let xs = handle::tensors_of(&env, &inputs, &name)?;
    let ms = masks_of(&env, &masks, &name)?;
    guard(&name, || Ok(l.0.call_masked(&xs, &ms, &CallContext { training })?.into_iter().map(handle::wrap).collect()))
}

/// The layer's output mask for these inputs and input masks (`computeMask`), or null.
#[napi(js_name = "layerComputeMask")]
pub fn layer_compute_mask(env: Env, l: &External<LayerBox>, inputs: Array, masks: Array) -> Result<Option<JsHandle>> {
    let name = l.0.name().to_string();
    let xs = handle::tensors_of(&env, &inputs, &name)?;
    let ms = masks_of(&env, &masks, &name)?;
    guard(&name, || Ok(ferrograd_core::engine::without_tapes(|| l.0.compute_mask(&xs, &ms))?.map(handle::wrap)))
}

/// The layer's weights as variable handles, in tfjs order (as created).
#[napi(js_name = "layerWeights")]
pub fn layer_weights(l: &External<LayerBox>) -> Vec<JsHandle> {
    l.0.weights().into_iter().map(|w| handle::wrap_variable(w.var)).collect()
}

/// A JS layer inside a native graph: its `call` runs on the main thread through `wrapper`
/// (`(inputHandles, training) => {h, o}`), recorded on the calling thread's tape.
struct JsLayer {
    name: String,
    wrapper: Arc<JsFn>,
    weights: Vec<LayerWeight>,
    shapes: Vec<Shape>,
}

impl ForeignLayer for JsLayer {
    fn name(&self) -> &str {
        &self.name
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> ferrograd_core::Result<Vec<Tensor>> {
        let r = calljs::call_layer(&self.wrapper, inputs.to_vec(), ctx.training, &self.name)?;
        ferrograd_core::model::extras::add(r.losses, r.metrics);
        Ok(r.outputs)
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.clone()
    }
    fn output_shapes(&self) -> Vec<Shape> {
        self.shapes.clone()
    }
}

pub struct GraphBox(pub Arc<Graph>);

fn to_ref(p: &[u32]) -> TensorRef {
    TensorRef { node: p.first().copied().unwrap_or(0) as usize, index: p.get(1).copied().unwrap_or(0) as usize }
}

fn refs_of(o: &Object) -> Result<Vec<TensorRef>> {
    let arr: Option<Vec<Vec<u32>>> = o.get("inputs")?;
    Ok(arr.unwrap_or_default().iter().map(|p| to_ref(p)).collect())
}

/// Builds a graph from node specs: `{input: {name, shape}}`, `{layer, inputs: [[node, index]]}`
/// or `{js: wrapper, name, weights: [variableHandles], regularizers?, constraints?, inputs}` (one
/// regularizer and constraint per weight, or null); `inputs`/`outputs` index nodes.
#[napi(js_name = "graphCreate")]
pub fn graph_create(env: Env, nodes: Vec<Object>, inputs: Vec<u32>, outputs: Vec<Vec<u32>>) -> Result<External<GraphBox>> {
    let mut out = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let what = format!("model node {i}");
        let node_inputs = refs_of(n)?;
        let layer = if let Some(spec) = n.get::<Value>("input")? {
            let name = spec.get("name").and_then(Value::as_str).unwrap_or("input").to_string();
            let shape = guard(&what, || shapes_of(&what, &Value::Array(vec![spec.get("shape").cloned().unwrap_or(Value::Null)])))?.remove(0);
            NodeLayer::Input { name, shape }
        } else if let Some(l) = n.get::<&External<LayerBox>>("layer")? {
            NodeLayer::Native(l.0.clone())
        } else if let Some(f) = n.get::<Function>("js")? {
            let name: String = n.get("name")?.unwrap_or_default();
            // Weights of built-in layers the JS layer holds come with their regularizers and
            // constraints; its own (`addWeight`) weights with the specs given beside them.
            let mut weights = Vec::new();
            let natives: Vec<&External<LayerBox>> = n.get("nativeLayers")?.unwrap_or_default();
            for l in natives {
                weights.extend(l.0.weights());
            }
            let ws: Vec<Unknown> = n.get("weights")?.unwrap_or_default();
            let regs: Vec<Value> = n.get("regularizers")?.unwrap_or_default();
            let cons: Vec<Value> = n.get("constraints")?.unwrap_or_default();
            for (k, w) in ws.into_iter().enumerate() {
                let h = unsafe { handle::H::from_napi_value(env.raw(), w.raw()) }?;
                let var = guard(&name, || h.variable(&name))?;
                let regularizer = match regs.get(k) {
                    Some(v) if !v.is_null() => Some(guard(&name, || layers::regularizers::Regularizer::parse(&name, v))?),
                    _ => None,
                };
                let constraint = match cons.get(k) {
                    Some(v) if !v.is_null() => Some(guard(&name, || layers::constraints::Constraint::parse(&name, v))?),
                    _ => None,
                };
                weights.push(LayerWeight { var, regularizer, constraint });
            }
            let mut seen = std::collections::HashSet::new();
            weights.retain(|w| seen.insert(w.var.id()));
            let shapes_spec = n.get::<Value>("shapes")?.unwrap_or(Value::Array(vec![]));
            let shapes = guard(&name, || shapes_of(&name, &shapes_spec))?;
            NodeLayer::Foreign(Arc::new(JsLayer { name, wrapper: Arc::new(JsFn::new(&env, &f)?), weights, shapes }))
        } else {
            return Err(napi::Error::from_reason(format!("{what}: expected an input, layer or js node")));
        };
        out.push(Node { layer, inputs: node_inputs });
    }
    let outputs = outputs.iter().map(|p| to_ref(p)).collect();
    let g = guard("model", || Graph::new(out, inputs.into_iter().map(|i| i as usize).collect(), outputs))?;
    guard("model", || g.build().map(|_| ()))?;
    Ok(External::new(GraphBox(Arc::new(g))))
}

/// Runs the graph on the main thread (inference), in batches of `batch_size` rows.
#[napi(js_name = "graphPredict")]
pub fn graph_predict(env: Env, g: &External<GraphBox>, xs: Array, batch_size: u32) -> Result<Vec<JsHandle>> {
    let xs = handle::tensors_of(&env, &xs, "predict")?;
    guard("predict", || Ok(g.0.predict(&xs, batch_size as usize)?.into_iter().map(handle::wrap).collect()))
}


/// Draws a weight tensor from an initializer spec (`{className, config}` or an identifier).
#[napi]
pub fn initialize(spec: Value, shape: Vec<i64>) -> Result<JsHandle> {
    guard("initializer", || {
        let init = layers::initializers::Initializer::parse("initializer", &spec)?;
        let shape = shape
            .into_iter()
            .map(|d| if d < 0 { Err(Error::arg("initializer", format!("shape dimensions must be non-negative, got {d}"))) } else { Ok(d as usize) })
            .collect::<ferrograd_core::Result<Vec<_>>>()?;
        Ok(handle::wrap(init.init(&shape)?))
    })
}

/// The class names `layerCreate` accepts.
#[napi(js_name = "layerClassNames")]
pub fn layer_class_names() -> Vec<String> {
    layers::class_names().iter().map(|s| s.to_string()).collect()
}
