'use strict';
// model.save / tf.loadLayersModel and their weights-only forms: models to and from model
// artifacts through an IOHandler (given, or found by URL through the routers).

const native = require('../native');
const pkg = require('../../package.json');
const { getSaveHandlers, getLoadHandlers } = require('./router');
const { encodeWeights, decodeWeights, checkSpec, describe, CompositeArrayBuffer } = require('./weights');
const { convertPythonicToTs, toCamelCase } = require('./pythonic');
const { modelTopology, orderedWeights, weightName, trainingConfig, hasTopology } = require('./topology');
const { Deserializer } = require('./deserialize');

const FORMAT = 'layers-model';
const GENERATED_BY = `ferrograd v${pkg.version}`;

function saveHandlerFor(urlOrHandler, op) {
  if (typeof urlOrHandler === 'string') {
    const handlers = getSaveHandlers(urlOrHandler);
    if (handlers.length === 0) throw new Error(`${op}: no save handler for '${urlOrHandler}' (use a file:// or http(s):// URL, or an IOHandler)`);
    if (handlers.length > 1) throw new Error(`${op}: ${handlers.length} save handlers match '${urlOrHandler}'; expected one`);
    return handlers[0];
  }
  if (urlOrHandler == null || typeof urlOrHandler.save !== 'function') {
    throw new Error(`${op}: expected a URL string or an IOHandler with a save method, got ${describe(urlOrHandler)}`);
  }
  return urlOrHandler;
}

function loadHandlerFor(pathOrHandler, options, op) {
  if (typeof pathOrHandler === 'string') {
    const handlers = getLoadHandlers(pathOrHandler, options);
    if (handlers.length === 0) throw new Error(`${op}: no load handler for '${pathOrHandler}' (use a file:// or http(s):// URL, or an IOHandler)`);
    if (handlers.length > 1) throw new Error(`${op}: ${handlers.length} load handlers match '${pathOrHandler}'; expected one`);
    return handlers[0];
  }
  if (pathOrHandler == null || typeof pathOrHandler.load !== 'function') {
    throw new Error(`${op}: expected a URL string or an IOHandler with a load method, got ${describe(pathOrHandler)}`);
  }
  return pathOrHandler;
}

function namedWeights(model, config) {
  const trainableOnly = config != null && config.trainableOnly === true;
  return orderedWeights(model, trainableOnly).map((w) => ({ name: weightName(w), tensor: w }));
}

/** `model.save(urlOrHandler, {includeOptimizer?, trainableOnly?})` → Promise<SaveResult>. */
async function save(model, urlOrHandler, config) {
  const op = `${model.name}.save`;
  const handler = saveHandlerFor(urlOrHandler, op);
  const weights = await encodeWeights(namedWeights(model, config));
  const artifacts = { modelTopology: modelTopology(model), format: FORMAT, generatedBy: GENERATED_BY, convertedBy: null };
  if (config != null && config.includeOptimizer && model.optimizer != null) {
    artifacts.trainingConfig = trainingConfig(model);
    const opt = await encodeWeights(await model.optimizer.getWeights(), 'optimizer');
    weights.specs.push(...opt.specs);
    weights.data = CompositeArrayBuffer.join([weights.data, opt.data]);
  }
  if (model.userDefinedMetadata != null) artifacts.userDefinedMetadata = model.userDefinedMetadata;
  artifacts.weightData = weights.data;
  artifacts.weightSpecs = weights.specs;
  return handler.save(artifacts);
}

/** `model.saveWeights(urlOrHandler)`: the weights and their manifest, without a topology. */
async function saveWeights(model, urlOrHandler) {
  const op = `${model.name}.saveWeights`;
  const handler = saveHandlerFor(urlOrHandler, op);
  const weights = await encodeWeights(namedWeights(model));
  return handler.save({ format: FORMAT, generatedBy: GENERATED_BY, convertedBy: null, weightSpecs: weights.specs, weightData: weights.data });
}

/**
 * Decodes artifacts' weights into `{modelWeights: {name: Tensor}, optimizerWeights: [{name,
 * tensor}]}`, checking the specs and that the data holds exactly the bytes they describe.
 */
function decodeArtifactWeights(artifacts, op) {
  const specs = artifacts.weightSpecs;
  if (!Array.isArray(specs)) throw new Error(`${op}: the model has weight data but its weight specs are ${describe(specs)}; expected a list`);
  const names = new Set();
  const sizes = specs.map((spec) => {
    const { byteLength } = checkSpec(spec, op);
    const key = `${spec.group === 'optimizer' ? 'optimizer:' : ''}${spec.name}`;
    if (names.has(key)) throw new Error(`${op}: the weights manifest lists weight '${spec.name}' twice`);
    names.add(key);
    return byteLength;
  });
  let data;
  try {
    data = new CompositeArrayBuffer(artifacts.weightData);
  } catch (e) {
    throw new Error(`${op}: ${e.message}`);
  }
  const need = sizes.reduce((a, b) => a + b, 0);
  if (data.byteLength > need) {
    throw new Error(`${op}: the weight data has ${data.byteLength} bytes, more than the ${need} bytes the weights manifest describes (a wrong or corrupt weights file)`);
  }
  const modelWeights = {};
  const optimizerWeights = [];
  let offset = 0;
  try {
    specs.forEach((spec, i) => {
      if (offset + sizes[i] > data.byteLength) {
        throw new Error(`${op}: the weight data is truncated: it has ${data.byteLength} bytes, the manifest describes ${need}; weight '${spec.name}' needs bytes ${offset} to ${offset + sizes[i]}`);
      }
      const t = decodeWeights(data.slice(offset, offset + sizes[i]), [spec], op)[spec.name];
      offset += sizes[i];
      if (spec.group === 'optimizer') optimizerWeights.push({ name: spec.name, tensor: t });
      else modelWeights[spec.name] = t;
    });
  } catch (e) {
    for (const t of Object.values(modelWeights)) t.dispose();
    for (const w of optimizerWeights) w.tensor.dispose();
    throw e;
  }
  return { modelWeights, optimizerWeights };
}

/**
 * Sets `model`'s weights from `{name: Tensor}` as tfjs's `loadWeights(weights, strict)`: by
 * name; `name` may carry a cell scope Keras adds (`lstm/lstm_cell/kernel` for `lstm/kernel`).
 * Strict: every model weight must be given and every given weight must exist. All shapes and
 * dtypes are checked before any weight changes.
 */
function setNamedWeights(model, weights, strict, op) {
  const targets = new Map();
  for (const w of orderedWeights(model)) {
    const name = weightName(w);
    if (targets.has(name)) throw new Error(`${op}: the model has two weights named '${name}'`);
    targets.set(name, w);
  }
  const total = targets.size;
  const pairs = [];
  const unnamed = [];
  for (const name of Object.keys(weights)) {
    let target = name;
    if (!targets.has(target)) {
      const parts = name.split('/');
      target = [...parts.slice(0, -2), parts[parts.length - 1]].join('/');
    }
    const w = targets.get(target);
    if (w == null) {
      unnamed.push([name, weights[name]]);
      continue;
    }
    targets.delete(target);
    const t = weights[name];
    const same = t.shape.length === w.shape.length && t.shape.every((d, i) => d === w.shape[i]);
    if (!same) throw new Error(`${op}: weight '${target}' has shape [${w.shape}] in the model, but [${t.shape}] in the file`);
    if (t.dtype !== w.dtype) throw new Error(`${op}: weight '${target}' has dtype ${w.dtype} in the model, but ${t.dtype} in the file`);
    pairs.push([w, t]);
  }
  // Weights of layers a JS layer or subclassed model creates itself are named as they were
  // created, which differs between instances: those left over on both sides are matched by
  // position (Keras's rule for such models) when their counts agree.
  if (unnamed.length > 0 && unnamed.length === targets.size) {
    const rest = [...targets.values()];
    rest.forEach((w, i) => {
      const [name, t] = unnamed[i];
      const same = t.shape.length === w.shape.length && t.shape.every((d, k) => d === w.shape[k]);
      if (!same || t.dtype !== w.dtype) {
        throw new Error(`${op}: the file's '${name}' matches no weight by name; matching by position, weight ${i} of those left is ${t.dtype} [${t.shape}] in the file, but the model's '${weightName(w)}' is ${w.dtype} [${w.shape}]`);
      }
      pairs.push([w, t]);
    });
    targets.clear();
    unnamed.length = 0;
  }
  if (strict && unnamed.length > 0) {
    throw new Error(`${op}: the file has weight '${unnamed[0][0]}', which the model does not have (pass {strict: false} to ignore extra weights)`);
  }
  if (strict && targets.size > 0) {
    const missing = [...targets.keys()];
    throw new Error(`${op}: ${missing.length} of ${total} weights are not in the file: ${missing.join(', ')} (pass {strict: false} to keep their initial values)`);
  }
  for (const [w, t] of pairs) w.assign(t);
}

// Loading checks layer sizes against the weights a file holds: no model it describes can need
// a weight larger than its largest (plus room for weights a non-strict load leaves out).
function weightSizeLimit(artifacts, strict) {
  if (artifacts.weightSpecs == null || !Array.isArray(artifacts.weightSpecs)) return null;
  let largest = 0;
  for (const s of artifacts.weightSpecs) {
    if (s && Array.isArray(s.shape)) largest = Math.max(largest, s.shape.reduce((a, b) => a * (Number(b) || 0), 1));
  }
  return strict ? largest : Math.max(largest, 2 ** 26);
}

const OPTIMIZERS = {
  SGD: (O, c) => new O.SGDOptimizer(c.learningRate),
  Momentum: (O, c) => new O.MomentumOptimizer(c.learningRate, c.momentum, c.useNesterov),
  RMSProp: (O, c) => new O.RMSPropOptimizer(c.learningRate, c.decay, c.momentum, c.epsilon, c.centered),
  Adam: (O, c) => new O.AdamOptimizer(c.learningRate, c.beta1, c.beta2, c.epsilon),
  Adamax: (O, c) => new O.AdamaxOptimizer(c.learningRate, c.beta1, c.beta2, c.epsilon, c.decay),
  Adagrad: (O, c) => new O.AdagradOptimizer(c.learningRate, c.initialAccumulatorValue),
  Adadelta: (O, c) => new O.AdadeltaOptimizer(c.learningRate, c.rho, c.epsilon),
};

/** An optimizer from `{class_name, config}` of a training config. */
function optimizerFromConfig(spec, op) {
  const ts = convertPythonicToTs(spec);
  if (ts == null || typeof ts !== 'object' || typeof ts.className !== 'string') {
    throw new Error(`${op}: trainingConfig.optimizer_config must be {class_name, config}, got ${describe(spec)}`);
  }
  const key = Object.keys(OPTIMIZERS).find((k) => k.toLowerCase() === ts.className.toLowerCase());
  if (key == null) throw new Error(`${op}: unknown optimizer class '${ts.className}' in the training config (expected one of ${Object.keys(OPTIMIZERS).join(', ')})`);
  const config = ts.config == null ? {} : ts.config;
  const undef = (v) => (v === null ? undefined : v);
  const clean = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, undef(v)]));
  return OPTIMIZERS[key](require('../optimizers'), clean);
}

/** Compiles `model` from a training config (tfjs `loadTrainingConfig`). */
function compileFromTrainingConfig(model, tc, op) {
  if (tc == null || typeof tc !== 'object') throw new Error(`${op}: trainingConfig must be an object, got ${describe(tc)}`);
  for (const k of ['weighted_metrics', 'loss_weights', 'sample_weight_mode']) {
    if (tc[k] != null) throw new Error(`${op}: loading a training config with ${k} is not supported`);
  }
  const camel = (v, what) => {
    if (typeof v !== 'string') throw new Error(`${op}: trainingConfig.${what} must be a name, got ${describe(v)}`);
    return toCamelCase(v);
  };
  let loss;
  if (typeof tc.loss === 'string') loss = camel(tc.loss, 'loss');
  else if (Array.isArray(tc.loss)) loss = tc.loss.map((l) => camel(l, 'loss'));
  else if (tc.loss != null && typeof tc.loss === 'object') loss = Object.fromEntries(Object.entries(tc.loss).map(([k, l]) => [k, camel(l, 'loss')]));
  let metrics;
  const metric = (m) => (Array.isArray(m) ? m.map((x) => camel(x, 'metrics')) : camel(m, 'metrics'));
  if (Array.isArray(tc.metrics)) metrics = tc.metrics.map(metric);
  else if (tc.metrics != null && typeof tc.metrics === 'object') {
    metrics = Object.fromEntries(Object.entries(tc.metrics).map(([k, m]) => [k, metric(m)]));
  }
  const optimizer = optimizerFromConfig(tc.optimizer_config, op);
  try {
    model.compile({ loss, metrics, optimizer });
  } catch (e) {
    throw new Error(`${op}: compiling the model from its training config failed: ${e.message}`);
  }
}

function checkTopology(artifacts, op) {
  if (artifacts == null || typeof artifacts !== 'object') throw new Error(`${op}: the IOHandler's load() returned ${describe(artifacts)}, not model artifacts`);
  if (artifacts.format != null && artifacts.format !== FORMAT) {
    throw new Error(`${op}: the model's format is '${artifacts.format}', not '${FORMAT}' (graph models are not layers models)`);
  }
  let topology = artifacts.modelTopology;
  if (topology == null) throw new Error(`${op}: the model file has no modelTopology (weights only? load them with model.loadWeights)`);
  if (typeof topology !== 'object' || Array.isArray(topology) || topology instanceof ArrayBuffer) {
    throw new Error(`${op}: modelTopology must be a JSON object, got ${describe(topology)}`);
  }
  if (topology.model_config != null) topology = topology.model_config;
  if (typeof topology.class_name !== 'string' || topology.config == null) {
    throw new Error(`${op}: modelTopology must be {class_name, config} (or {model_config: {...}}), got ${describe(topology)}`);
  }
  return topology;
}

/** Builds a model from loaded artifacts (tfjs `loadLayersModelFromIOHandler` after load()). */
function modelFromArtifacts(artifacts, options, op, customObjects) {
  const topology = checkTopology(artifacts, op);
  const strict = options.strict == null ? true : !!options.strict;
  const hasWeights = artifacts.weightData != null;
  if (hasWeights && artifacts.weightSpecs == null) throw new Error(`${op}: the model has weight data but no weight specs`);
  // Decode (and check) the weights before building anything.
  const decoded = hasWeights ? decodeArtifactWeights(artifacts, op) : null;
  const d = new Deserializer(op, customObjects);
  const limit = hasWeights ? weightSizeLimit(artifacts, strict) : null;
  let model;
  try {
    native.setWeightSizeLimit(limit);
    try {
      model = d.layer(convertPythonicToTs(topology), 'the model topology');
    } finally {
      native.setWeightSizeLimit(null);
    }
    if (!hasTopology(model)) throw new Error(`${op}: the model topology describes a ${model.getClassName()} layer, not a model`);
    if (artifacts.trainingConfig != null) compileFromTrainingConfig(model, artifacts.trainingConfig, op);
    if (artifacts.userDefinedMetadata != null) model.userDefinedMetadata = artifacts.userDefinedMetadata;
    if (decoded) setNamedWeights(model, decoded.modelWeights, strict, op);
  } catch (e) {
    d.disposeCreated();
    if (decoded) for (const w of decoded.optimizerWeights) w.tensor.dispose();
    throw e;
  } finally {
    if (decoded) for (const t of Object.values(decoded.modelWeights)) t.dispose();
  }
  return { model, optimizerWeights: decoded ? decoded.optimizerWeights : [] };
}

/** tf.loadLayersModel(pathOrIOHandler, {strict?, ...loadOptions}) → Promise<LayersModel>. */
async function loadLayersModel(pathOrHandler, options) {
  const op = 'loadLayersModel';
  const opts = options == null ? {} : options;
  if (typeof opts !== 'object') throw new Error(`${op}: options must be an object, got ${describe(options)}`);
  const handler = loadHandlerFor(pathOrHandler, opts, op);
  return loadLayersModelFromIOHandler(handler, undefined, opts);
}

async function loadLayersModelFromIOHandler(handler, customObjects, options = {}) {
  const op = 'loadLayersModel';
  if (handler == null || typeof handler.load !== 'function') throw new Error(`${op}: the IOHandler has no load method`);
  const artifacts = await handler.load();
  const { model, optimizerWeights } = modelFromArtifacts(artifacts, options, op, customObjects);
  try {
    if (model.optimizer != null && optimizerWeights.length > 0) await model.optimizer.setWeights(optimizerWeights);
  } finally {
    for (const w of optimizerWeights) w.tensor.dispose();
  }
  return model;
}

/** `model.loadWeights(urlOrHandler, {strict?})`: weights saved by saveWeights (or save). */
async function loadWeights(model, urlOrHandler, options = {}) {
  const op = `${model.name}.loadWeights`;
  const handler = loadHandlerFor(urlOrHandler, options, op);
  const artifacts = await handler.load();
  if (artifacts == null || artifacts.weightData == null) throw new Error(`${op}: the file holds no weights`);
  const { modelWeights, optimizerWeights } = decodeArtifactWeights(artifacts, op);
  try {
    setNamedWeights(model, modelWeights, options.strict == null ? true : !!options.strict, op);
  } finally {
    for (const t of Object.values(modelWeights)) t.dispose();
    for (const w of optimizerWeights) w.tensor.dispose();
  }
}

/**
 * `model.loadWeights(...)`: with a URL or IOHandler, weights saved by saveWeights (or save),
 * as a Promise (options `{strict}`, or `strict` itself); with `{name: Tensor}`, tfjs's
 * synchronous `loadWeights(weights, strict = true)`.
 */
function loadWeightsInto(model, source, strictOrOptions) {
  if (typeof source === 'string' || (source != null && typeof source.load === 'function')) {
    const options = typeof strictOrOptions === 'boolean' ? { strict: strictOrOptions } : strictOrOptions || {};
    return loadWeights(model, source, options);
  }
  const op = `${model.name}.loadWeights`;
  if (source == null || typeof source !== 'object') throw new Error(`${op}: expected a URL, an IOHandler or {name: Tensor}, got ${describe(source)}`);
  const { Tensor } = require('../tensor');
  for (const [name, t] of Object.entries(source)) {
    if (!(t instanceof Tensor)) throw new Error(`${op}: weight '${name}' must be a Tensor`);
  }
  setNamedWeights(model, source, strictOrOptions == null ? true : !!strictOrOptions, op);
  return undefined;
}

/** tfjs `tf.models.modelFromJSON(modelAndWeightsConfig | topology, customObjects)` (topology only). */
async function modelFromJSON(modelAndWeightsConfig, customObjects) {
  const op = 'models.modelFromJSON';
  if (modelAndWeightsConfig == null || typeof modelAndWeightsConfig !== 'object') {
    throw new Error(`${op}: expected a model JSON object, got ${describe(modelAndWeightsConfig)}`);
  }
  const artifacts = 'modelTopology' in modelAndWeightsConfig ? modelAndWeightsConfig : { modelTopology: modelAndWeightsConfig };
  if (artifacts.weightsManifest != null) {
    throw new Error(`${op}: loading weights from a weightsManifest is not supported here; use tf.loadLayersModel with a file:// or http(s):// URL`);
  }
  return modelFromArtifacts({ modelTopology: artifacts.modelTopology }, {}, op, customObjects).model;
}

/** `model.toJSON(unused, returnString = true)`: the model topology as model.json writes it. */
function toJSON(model, returnString = true) {
  const topology = modelTopology(model);
  return returnString ? JSON.stringify(topology) : topology;
}

module.exports = {
  save, saveWeights, loadLayersModel, loadLayersModelFromIOHandler, loadWeights, loadWeightsInto, setNamedWeights, modelFromJSON, toJSON,
  decodeArtifactWeights, FORMAT, GENERATED_BY,
};
