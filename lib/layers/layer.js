'use strict';
// tf.layers.Layer: the base of built-in layers (whose math is native) and of layers users
// write in JavaScript (`class MyLayer extends tf.layers.Layer`). `apply` on SymbolicTensors
// records a node of the model graph; on Tensors it computes eagerly.

const native = require('../native');
const { Tensor, Variable, wrap } = require('../tensor');
const { SymbolicTensor } = require('./symbolic');
const { layerName } = require('./naming');

function isSymbolic(x) {
  return x instanceof SymbolicTensor || (Array.isArray(x) && x.length > 0 && x.every((t) => t instanceof SymbolicTensor));
}

function toList(x) {
  return Array.isArray(x) ? x : [x];
}

class Layer {
  constructor(config = {}) {
    if (config === null || typeof config !== 'object') throw new Error(`${this.constructor.name}: the config must be an object`);
    this._config = config;
    this.name = config.name != null ? String(config.name) : layerName(this.getClassName());
    this.trainable_ = config.trainable !== false;
    this.built = false;
    this.inboundNodes = [];
    this._weights = [];
    this.dtype = config.dtype || 'float32';
    if (config.batchInputShape != null) this.batchInputShape = config.batchInputShape.slice();
    else if (config.inputShape != null) this.batchInputShape = [config.batchSize == null ? null : config.batchSize, ...config.inputShape];
    else if (config.inputDim != null) this.batchInputShape = [null, config.inputDim];
    this._losses = [];
  }

  static get className() { return this.name; }
  getClassName() { return this.constructor.className; }

  get trainable() { return this.trainable_; }
  set trainable(v) {
    this.trainable_ = !!v;
    for (const w of this.weights) w.trainable = !!v;
  }

  // ---- weights -------------------------------------------------------------------------------
  get weights() { return this._weights.slice(); }
  get trainableWeights() { return this.trainable_ ? this._weights.filter((w) => w.trainable) : []; }
  get nonTrainableWeights() { return this.trainable_ ? this._weights.filter((w) => !w.trainable) : this._weights.slice(); }

  /** Creates a weight variable named `<layer>/<name>` (tfjs `addWeight`). */
  addWeight(name, shape, dtype = 'float32', initializer, regularizer, trainable = true, constraint) {
    const init = initializer == null ? require('./initializers').getInitializer('glorotUniform') : require('./initializers').getInitializer(initializer);
    const value = init.apply(shape, dtype);
    const { variable } = require('../ops/creation');
    const v = variable(value, trainable && this.trainable_, `${this.name}/${name}`, dtype);
    value.dispose();
    v.regularizer = regularizer || null;
    v.constraint = constraint || null;
    v.read = () => v;
    this._weights.push(v);
    return v;
  }

  getWeights() { return this.weights.map((w) => w.clone()); }
  setWeights(weights) { assignWeights(this.name, this.weights, weights); }
  countParams() { return this.weights.reduce((n, w) => n + w.size, 0); }

  // ---- losses ---------------------------------------------------------------------------------
  addLoss(loss) { this._losses.push(loss); }
  get losses() { return this._losses.slice(); }

  // ---- the layer contract ------------------------------------------------------------------
  build(inputShape) { void inputShape; this.built = true; }
  computeOutputShape(inputShape) { return inputShape; }
  call(inputs, kwargs) { void kwargs; return inputs; }
  /** The mask of the outputs (tfjs `computeMask`); layers written in JS drop masks. */
  computeMask(inputs, mask) { void inputs; void mask; return null; }
  getConfig() {
    const c = { name: this.name, trainable: this.trainable_ };
    if (this.batchInputShape != null) c.batchInputShape = this.batchInputShape;
    if (this._config.dtype != null) c.dtype = this._config.dtype;
    return c;
  }

  /** Applies the layer to SymbolicTensors (defines a graph node) or Tensors (computes). */
  apply(inputs, kwargs = {}) {
    if (inputs == null) throw new Error(`${this.name}.apply: inputs must be a Tensor, a SymbolicTensor or an array of them`);
    if (isSymbolic(inputs)) return this._applySymbolic(inputs, kwargs);
    const list = toList(inputs);
    if (!list.every((t) => t instanceof Tensor)) {
      throw new Error(`${this.name}.apply: inputs must be all Tensors or all SymbolicTensors`);
    }
    if (!this.built) {
      const shapes = list.map((t) => t.shape);
      this.build(Array.isArray(inputs) ? shapes : shapes[0]);
      this.built = true;
    }
    return this.call(inputs, kwargs);
  }

  _applySymbolic(inputs, kwargs) {
    const list = toList(inputs);
    const shapes = list.map((t) => t.shape);
    const inShape = Array.isArray(inputs) ? shapes : shapes[0];
    if (!this.built) {
      this.build(inShape);
      this.built = true;
    }
    let outShape = this.computeOutputShape(inShape);
    const multi = Array.isArray(outShape) && outShape.length > 0 && Array.isArray(outShape[0]);
    const outShapes = multi ? outShape : [outShape];
    const node = { layer: this, inputs: list, kwargs, outputs: [] };
    this.inboundNodes.push(node);
    node.outputs = outShapes.map((s, i) => new SymbolicTensor(list[0].dtype, s, this, list, i,
      `${this.name}/${this.name}${outShapes.length > 1 ? `_${i}` : ''}`));
    node.outputs.forEach((o) => { o.node = node; });
    return multi ? node.outputs : node.outputs[0];
  }

  dispose() {
    for (const w of this._weights) w.dispose();
    this._weights = [];
    return { refCountAfterDispose: 0, numDisposedVariables: this._weights.length };
  }
}

// Objects in a config travel as their serialized form: layers (wrappers' `layer`, RNN `cell`),
// initializers, regularizers and constraints as {className, config}.
function toNativeConfig(config) {
  const out = {};
  const { Initializer } = require('./initializers');
  const { Regularizer } = require('./regularizers');
  const { Constraint } = require('./constraints');
  for (const [k, v] of Object.entries(config)) {
    if (v instanceof Layer) out[k] = { className: v.getClassName(), config: v.getConfig() };
    else if (v instanceof Initializer) out[k] = { className: v.className, config: v.config };
    else if (v instanceof Regularizer || v instanceof Constraint) out[k] = { className: v.getClassName(), config: v.getConfig() };
    else out[k] = v;
  }
  return out;
}

/** The native form of a weight's regularizer or constraint (a name, {className, config}, or null). */
function weightOption(v) {
  if (v == null) return null;
  return typeof v === 'object' && typeof v.getClassName === 'function' ? { className: v.getClassName(), config: v.getConfig() } : v;
}

/** Assigns `weights` to `ws` after checking them all, so a bad call changes nothing. */
function assignWeights(owner, ws, weights) {
  if (!Array.isArray(weights) || weights.length !== ws.length) {
    throw new Error(`${owner}.setWeights: expected ${ws.length} weight(s), got ${Array.isArray(weights) ? weights.length : typeof weights}`);
  }
  ws.forEach((w, i) => {
    if (JSON.stringify(w.shape) !== JSON.stringify(weights[i].shape)) {
      throw new Error(`${owner}.setWeights: weight ${i} (${w.name}) has shape [${w.shape}], got [${weights[i].shape}]`);
    }
  });
  ws.forEach((w, i) => w.assign(weights[i]));
}

/** A built-in layer: config and math are native. */
class NativeLayer extends Layer {
  constructor(config = {}) {
    super(config);
    this._n = native.layerCreate(this.getClassName(), toNativeConfig({ ...config, name: this.name }));
    this._weightsFetched = false;
    // The native layer knows the class's own rules (Embedding's `inputDim` is a vocabulary size;
    // its input shape comes from `inputLength`).
    const batchInputShape = native.layerBatchInputShape(this._n);
    if (batchInputShape != null) this.batchInputShape = batchInputShape;
  }
  _fetchWeights() {
    if (!this._weightsFetched) {
      const hs = native.layerWeights(this._n);
      if (hs.length > 0 || this.built) {
        const variables = require('../variables');
        this._weights = hs.map((h) => {
          const info = native.variableInfo(h);
          const v = new Variable(h, info[1], info[0]);
          v.read = () => v;
          if (!variables.registered.has(v.name)) variables.add(v);
          return v;
        });
        this._weightsFetched = hs.length > 0;
      }
    }
  }
  get weights() { this._fetchWeights(); return this._weights.slice(); }
  build(inputShape) {
    const shapes = Array.isArray(inputShape[0]) || (Array.isArray(inputShape) && inputShape.length > 0 && Array.isArray(inputShape[0])) ? inputShape : [inputShape];
    native.layerBuild(this._n, shapes);
    this.built = true;
    this._fetchWeights();
  }
  computeOutputShape(inputShape) {
    const multiIn = Array.isArray(inputShape) && inputShape.length > 0 && Array.isArray(inputShape[0]);
    const out = native.layerOutputShape(this._n, multiIn ? inputShape : [inputShape]);
    return out.length === 1 ? out[0] : out;
  }
  call(inputs, kwargs = {}) {
    const list = toList(inputs);
    const handles = list.map((t) => t.h);
    const outs = (kwargs.mask == null ? native.layerCall(this._n, handles, !!kwargs.training)
      : native.layerCallMasked(this._n, handles, maskHandles(this, kwargs.mask, list.length), !!kwargs.training)).map(wrap);
    this._fetchWeights();
    return outs.length === 1 ? outs[0] : outs;
  }
  getConfig() { return native.layerConfig(this._n); }
  computeMask(inputs, mask) {
    const list = toList(inputs);
    const h = native.layerComputeMask(this._n, list.map((t) => t.h), maskHandles(this, mask, list.length));
    return h == null ? null : wrap(h);
  }
}

// `kwargs.mask` (a Tensor, or one per input) as handles, null where unmasked.
function maskHandles(layer, mask, count) {
  const list = Array.isArray(mask) ? mask : [mask];
  return Array.from({ length: count }, (_, i) => {
    const m = list[i];
    if (m == null) return null;
    if (!(m instanceof Tensor)) throw new Error(`${layer.name}: a mask must be a Tensor (or null), got ${typeof m} for input ${i}`);
    return m.h;
  });
}

module.exports = { Layer, NativeLayer, isSymbolic, toList, assignWeights, weightOption };
