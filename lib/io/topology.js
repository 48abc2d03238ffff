'use strict';
// A model's description as tfjs writes it into model.json: the layer list in tfjs's order (for
// functional models: by depth from the inputs, ties in the order a walk back from the outputs
// meets them), `inbound_nodes` with tfjs's node numbering, the model's input and output layers,
// its weights in tfjs's order (every layer's trainable weights, then every layer's others), and
// the training config (loss, metrics, optimizer).

const { convertTsToPythonic, toSnakeCase } = require('./pythonic');

const KERAS_VERSION = 'tfjs-layers 4.22.0';
const BACKEND = 'TensorFlow.js';

function models() {
  return require('../models/model');
}

function isModel(layer) {
  return layer instanceof models().LayersModel;
}

function isSequential(model) {
  return model instanceof models().Sequential;
}

/** A model with a graph of SymbolicTensors (subclassed models have none). */
function hasTopology(model) {
  // A built subclassed model has a graph too, but it is one node running the model's own call.
  if (typeof model._isSubclassed === 'function' && model._isSubclassed()) return false;
  return Array.isArray(model._nodes) && Array.isArray(model.inputs) && Array.isArray(model.outputs);
}

// A model inside another has, in tfjs, its own node 0 (joining its inputs to its outputs);
// nodes where it is applied count from 1.
function nodeBase(layer) {
  return isModel(layer) ? 1 : 0;
}

/** The layers of a functional model in tfjs's order. */
function functionalLayers(model) {
  const order = new Map();
  const nodes = [];
  const done = new Set();
  const visit = (node) => {
    if (done.has(node)) return;
    if (!order.has(node.layer)) order.set(node.layer, order.size);
    for (const t of node.inputs) visit(t.node);
    done.add(node);
    nodes.push(node);
  };
  for (const t of model.outputs) visit(t.node);
  const nodeDepth = new Map();
  const layerDepth = new Map();
  for (const node of nodes.reverse()) {
    const depth = Math.max(nodeDepth.get(node) || 0, layerDepth.get(node.layer) || 0);
    layerDepth.set(node.layer, depth);
    nodeDepth.set(node, depth);
    for (const t of node.inputs) nodeDepth.set(t.node, Math.max(depth + 1, nodeDepth.get(t.node) || 0));
  }
  return [...layerDepth.keys()].sort((a, b) => layerDepth.get(b) - layerDepth.get(a) || order.get(a) - order.get(b));
}

/** The InputLayer a Sequential model was given explicitly (tfjs lists it among the layers). */
function explicitSequentialInput(model) {
  const inputLayer = model.inputs[0].sourceLayer;
  const first = model.layers[0];
  const implied = first != null && first.batchInputShape != null && inputLayer.name === `${first.name}_input`;
  return implied ? null : inputLayer;
}

/** The layers a model's config lists, in tfjs's order. */
function modelLayers(model) {
  if (!hasTopology(model)) return model.layers || [];
  if (isSequential(model)) {
    const input = explicitSequentialInput(model);
    return input ? [input, ...model.layers] : model.layers.slice();
  }
  return functionalLayers(model);
}

function layerConfig(layer) {
  return isModel(layer) ? modelConfig(layer).config : layer.getConfig();
}

function functionalConfig(model) {
  const inModel = new Set(model._nodes);
  const layers = modelLayers(model);
  // tfjs renumbers each layer's nodes to count only those inside this model.
  const newIndex = new Map();
  for (const layer of layers) {
    let kept = nodeBase(layer);
    for (const node of layer.inboundNodes) if (inModel.has(node)) newIndex.set(node, kept++);
  }
  const ref = (t) => [t.sourceLayer.name, newIndex.has(t.node) ? newIndex.get(t.node) : 0, t.outputIndex];
  const layerConfigs = layers.map((layer) => {
    const inboundNodes = [];
    for (const node of layer.inboundNodes) {
      if (!inModel.has(node) || node.inputs.length === 0) continue;
      let kwargs = node.kwargs || {};
      try {
        JSON.stringify(kwargs);
      } catch (e) {
        kwargs = {};
      }
      inboundNodes.push(node.inputs.map((t) => [...ref(t), kwargs]));
    }
    return { name: layer.name, className: layer.getClassName(), config: layerConfig(layer), inboundNodes };
  });
  return { name: model.name, layers: layerConfigs, inputLayers: model.inputs.map(ref), outputLayers: model.outputs.map(ref) };
}

/** `{className, config}` of a model, camelCase (tfjs `getConfig` plus the class name). */
function modelConfig(model) {
  if (isSequential(model) && model.layers.length === 0) throw new Error(`${model.name}: the model has no layers to save`);
  if (!hasTopology(model)) {
    throw new Error(`${model.name}: a subclassed model has no topology to save; save its weights with saveWeights()`);
  }
  if (isSequential(model)) {
    const layers = modelLayers(model).map((l) => ({ className: l.getClassName(), config: layerConfig(l) }));
    return { className: 'Sequential', config: { name: model.name, layers } };
  }
  return { className: model.getClassName(), config: functionalConfig(model) };
}

/** The `modelTopology` of model.json: snake_case, with keras_version and backend. */
function modelTopology(model) {
  const { className, config } = modelConfig(model);
  return convertTsToPythonic({ className, config, kerasVersion: KERAS_VERSION, backend: BACKEND });
}

function tfjsWeights(layer) {
  if (!isModel(layer) || !hasTopology(layer)) return { trainable: layer.trainableWeights, others: layer.nonTrainableWeights };
  const trainable = [];
  const others = [];
  for (const l of modelLayers(layer)) {
    const w = tfjsWeights(l);
    trainable.push(...w.trainable);
    others.push(...w.others);
  }
  return layer.trainable ? { trainable, others } : { trainable: [], others: [...trainable, ...others] };
}

/** The weight variables of a model, in the order tfjs saves them. */
function orderedWeights(model, trainableOnly = false) {
  const { trainable, others } = tfjsWeights(model);
  const seen = new Set();
  const out = [];
  for (const w of trainableOnly ? trainable : [...trainable, ...others]) {
    if (!seen.has(w)) {
      seen.add(w);
      out.push(w);
    }
  }
  return out;
}

/** The name a weight is saved under (tfjs's `originalName`: without a uniquifying suffix). */
function weightName(w) {
  return w.originalName != null ? w.originalName : w.name;
}

const OPTIMIZER_CLASSES = { sgd: 'SGD', momentum: 'Momentum', rmsprop: 'RMSProp', adam: 'Adam', adamax: 'Adamax', adagrad: 'Adagrad', adadelta: 'Adadelta' };

function optimizerClassName(optimizer) {
  const name = optimizer.getClassName();
  return name || OPTIMIZER_CLASSES[optimizer._kind];
}

function metricName(m) {
  return toSnakeCase(typeof m === 'string' ? m : m.name);
}

/** tfjs's `trainingConfig`: loss and metric identifiers (snake_case) and the optimizer config. */
function trainingConfig(model) {
  const { loss, metrics, optimizer } = model;
  const nonString = () => new Error(`${model.name}.save: a model compiled with a loss function (not a loss name) cannot save its training config`);
  let lossIds;
  if (typeof loss === 'string') lossIds = toSnakeCase(loss);
  else if (Array.isArray(loss)) {
    if (!loss.every((l) => typeof l === 'string')) throw nonString();
    lossIds = loss.map(toSnakeCase);
  } else if (loss != null && typeof loss === 'object') {
    lossIds = {};
    for (const [k, l] of Object.entries(loss)) {
      if (typeof l !== 'string') throw nonString();
      lossIds[k] = toSnakeCase(l);
    }
  } else throw nonString();
  let metricIds;
  if (typeof metrics === 'string' || typeof metrics === 'function') metricIds = [metricName(metrics)];
  else if (Array.isArray(metrics)) metricIds = metrics.map(metricName);
  else {
    metricIds = {};
    for (const [k, m] of Object.entries(metrics || {})) metricIds[k] = Array.isArray(m) ? m.map(metricName) : metricName(m);
  }
  return {
    loss: lossIds,
    metrics: metricIds,
    optimizer_config: { class_name: optimizerClassName(optimizer), config: optimizer.getConfig() },
  };
}

module.exports = {
  KERAS_VERSION, modelTopology, modelConfig, modelLayers, orderedWeights, weightName, trainingConfig, isModel,
  hasTopology, nodeBase, OPTIMIZER_CLASSES,
};
