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

// While a model runs a JS layer inside a native graph (fit, evaluate), `addLoss`/`addMetric`
// calls go to the collector the runner installed, so they reach that step.
let collector = null;

/** Runs fn with `sink` ({losses: [], metrics: []}) receiving addLoss/addMetric calls. */
function withCollector(sink, fn) {
  const saved = collector;
  collector = sink;
  try {
    return fn();
  } finally {
    collector = saved;
  }
}

// Properties that hold the layer's own machinery, never user sub-layers.
const UNTRACKED = new Set(['_disposing', '_config', 'inboundNodes', '_layersList', '_nodes', 'inputs', 'outputs', 'output', '_losses', '_weights']);

/** The layers a value held in a property contributes: a layer, an array or a plain object of them. */
function layersIn(v) {
  if (v instanceof Layer) return [v];
  if (Array.isArray(v)) return v.filter((x) => x instanceof Layer);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v).filter((x) => x instanceof Layer);
  }
  return [];
}

function unique(list) {
  return [...new Set(list)];
}

/** A serializable spec of a regularizer/constraint/initializer option (string or {className, config}). */
function specOf(x) {
  if (x == null) return null;
  if (typeof x === 'string') return x;
  if (typeof x.getClassName === 'function' && typeof x.getConfig === 'function') return { className: x.getClassName(), config: x.getConfig() };
  if (x.className != null) return { className: x.className, config: x.config || {} };
  throw new Error(`expected a regularizer or constraint name or object, got ${typeof x}`);
}

/** `shape` with the unknown (null) dimensions set to 1: a tensor to probe a layer with. */
function probeShape(shape) {
  return shape.map((d) => (d == null ? 1 : d));
}

/**
 * Runs `layer.call` once eagerly on zeros of the given shapes (inference mode, nothing it adds
 * kept) and returns its output shapes, the batch dimension unknown again. This builds the
 * sub-layers a JS layer creates lazily and tells its output shape when it does not say.
 */
function probeOutputShapes(layer, shapes, dtypes) {
  const { tidy } = require('../engine');
  const { zeros } = require('../ops/creation');
  let outShapes;
  tidy(() => {
    const xs = shapes.map((s, i) => zeros(probeShape(s), dtypes[i] || 'float32'));
    const out = withCollector({ losses: [], metrics: [] }, () => layer.call(xs.length === 1 ? xs[0] : xs, { training: false }));
    outShapes = toList(out).map((t) => {
      if (!(t instanceof Tensor)) throw new Error(`${layer.name}.call must return a Tensor or an array of Tensors`);
      return t.shape.map((d, k) => (k === 0 && shapes[0] && shapes[0][0] == null ? null : d));
    });
    return [];
  });
  return outShapes;
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

  // ---- sub-layers ----------------------------------------------------------------------------
  /** Layers held in this layer's properties (a layer, an array or a plain object of layers), in property order. */
  _trackedLayers() {
    const out = [];
    for (const [k, v] of Object.entries(this)) {
      if (UNTRACKED.has(k)) continue;
      for (const l of layersIn(v)) if (l !== this && !out.includes(l)) out.push(l);
    }
    return out;
  }
  /** The layers whose weights are part of this one's. */
  _childLayers() { return this._trackedLayers(); }

  /** This layer's own weights (not its sub-layers'). */
  _ownWeights() { return this._weights; }

  /**
   * Visits this layer and its sub-layers depth first, each once (layers may refer to each
   * other), with whether it trains (a frozen layer freezes what it holds).
   */
  _walk(visit) {
    const seen = new Set();
    const rec = (l, trainable) => {
      if (seen.has(l)) return;
      seen.add(l);
      const t = trainable && l.trainable_;
      visit(l, t);
      for (const c of l._childLayers()) rec(c, t);
    };
    rec(this, true);
  }

  // ---- weights -------------------------------------------------------------------------------
  // Own weights first, then those of the sub-layers (Keras order).
  get weights() {
    const out = [];
    this._walk((l) => out.push(...l._ownWeights()));
    return unique(out);
  }
  get trainableWeights() {
    const out = [];
    this._walk((l, t) => { if (t) out.push(...l._ownWeights().filter((w) => w.trainable)); });
    return unique(out);
  }
  get nonTrainableWeights() {
    const t = new Set(this.trainableWeights);
    return this.weights.filter((w) => !t.has(w));
  }

  /** Creates a weight variable named `<layer>/<name>` (tfjs `addWeight`). */
  addWeight(name, shape, dtype = 'float32', initializer, regularizer, trainable = true, constraint) {
    const init = initializer == null ? require('./initializers').getInitializer('glorotUniform') : require('./initializers').getInitializer(initializer);
    const value = init.apply(shape, dtype);
    const { variable } = require('../ops/creation');
    // Variable names are unique (tfjs suffixes `_1`, `_2`, ...); files use the original name.
    const originalName = `${this.name}/${name}`;
    let vname = originalName;
    for (let i = 1; require('../variables').registered.has(vname); i++) vname = `${originalName}_${i}`;
    const v = variable(value, trainable && this.trainable_, vname, dtype);
    v.originalName = originalName;
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

  // ---- losses and metrics ----------------------------------------------------------------------
  /**
   * Adds a loss term (a Tensor, or a function returning one). Inside fit/evaluate it enters that
   * step's total loss (summed to a scalar); called eagerly, it is kept in `losses`.
   */
  addLoss(loss) {
    const list = Array.isArray(loss) ? loss : [loss];
    for (const l of list) {
      if (!(l instanceof Tensor) && typeof l !== 'function') {
        throw new Error(`${this.name}.addLoss: expected a Tensor or a function returning one, got ${l === null ? 'null' : typeof l}`);
      }
      if (collector) {
        const t = typeof l === 'function' ? l() : l;
        if (!(t instanceof Tensor)) throw new Error(`${this.name}.addLoss: the loss function must return a Tensor`);
        collector.losses.push(t);
      } else {
        this._losses.push(l);
      }
    }
  }
  get losses() {
    const out = [];
    this._walk((l) => out.push(...l._losses.map((x) => (typeof x === 'function' ? x() : x))));
    return out;
  }

  /**
   * Reports a metric (Keras `add_metric`): inside fit its mean over each epoch appears in the
   * logs and in `History.history[name]`. `value` is a Tensor (averaged) or a number.
   */
  addMetric(value, name) {
    if (typeof name !== 'string' || name.length === 0) throw new Error(`${this.name}.addMetric: a metric needs a name (a non-empty string), got ${name === undefined ? 'undefined' : JSON.stringify(name)}`);
    if (!(value instanceof Tensor) && typeof value !== 'number') {
      throw new Error(`${this.name}.addMetric: expected a Tensor or a number for '${name}', got ${value === null ? 'null' : typeof value}`);
    }
    if (!collector) return;
    const { scalar } = require('../ops/creation');
    collector.metrics.push({ name, value: typeof value === 'number' ? scalar(value) : value });
  }

  // ---- the layer contract ------------------------------------------------------------------
  build(inputShape) { void inputShape; this.built = true; }
  computeOutputShape(inputShape) { return inputShape; }
  call(inputs, kwargs) { void kwargs; return inputs; }
  /** The mask of the outputs (tfjs `computeMask`); layers written in JS drop masks. */
  computeMask(inputs, mask) { void inputs; void mask; return null; }
  getConfig() {
    const c = { name: this.name, trainable: this.trainable_ };
    // As tfjs: a layer given an input shape also gives the dtype of that input.
    if (this.batchInputShape != null) {
      c.batchInputShape = this.batchInputShape;
      c.dtype = this._config.dtype || this._config.inputDType || 'float32';
    }
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
    const out = this.call(inputs, kwargs);
    this._lastShapes = { in: list.map((t) => t.shape), out: toList(out).map((t) => t && t.shape) };
    return out;
  }

  _applySymbolic(inputs, kwargs) {
    const list = toList(inputs);
    const shapes = list.map((t) => t.shape);
    const inShape = Array.isArray(inputs) ? shapes : shapes[0];
    if (!this.built) {
      this.build(inShape);
      this.built = true;
    }
    // A JS layer that does not say its output shape, or holds sub-layers not built yet, is run
    // once on zeros (Keras traces `call` for the same reasons).
    let outShape;
    const unbuiltChildren = () => this._childLayers().some((l) => !l.built);
    if (!(this instanceof NativeLayer) && (this.computeOutputShape === Layer.prototype.computeOutputShape || unbuiltChildren())) {
      const probed = probeOutputShapes(this, shapes, list.map((t) => t.dtype));
      outShape = this.computeOutputShape === Layer.prototype.computeOutputShape
        ? (probed.length === 1 ? probed[0] : probed)
        : this.computeOutputShape(inShape);
    } else {
      outShape = this.computeOutputShape(inShape);
    }
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
    let n = this._weights.length;
    for (const w of this._weights) w.dispose();
    this._weights = [];
    const children = this._childLayers();
    this._disposing = true;
    for (const l of children) if (!l._disposing) n += l.dispose().numDisposedVariables;
    delete this._disposing;
    return { refCountAfterDispose: 0, numDisposedVariables: n };
  }
}

/**
 * tf.layers.lambda({fn, outputShape?, arguments?}) (Keras `Lambda`): a layer whose `call` is
 * `fn(inputs, arguments)`. It works in models and training, but cannot be serialized.
 */
class Lambda extends Layer {
  constructor(config = {}) {
    if (config === null || typeof config !== 'object' || typeof config.fn !== 'function') {
      throw new Error(`lambda: expected a config with fn, a function (inputs) => Tensor, got ${config === null || typeof config !== 'object' ? String(config) : `fn: ${typeof config.fn}`}`);
    }
    const { fn, outputShape, arguments: args, ...rest } = config;
    super(rest);
    this.fn = fn;
    this.fnArguments = args || {};
    if (outputShape != null) {
      if (!Array.isArray(outputShape)) throw new Error(`lambda: outputShape must be an array (the shape without the batch dimension), got ${typeof outputShape}`);
      this.computeOutputShape = (s) => {
        const first = Array.isArray(s[0]) ? s[0] : s;
        return [first[0], ...outputShape];
      };
    }
  }
  static get className() { return 'Lambda'; }
  call(inputs) { return this.fn(inputs, this.fnArguments); }
  getConfig() {
    throw new Error(`Lambda layer '${this.name}' cannot be serialized: its fn is a JavaScript function. `
      + 'Write a Layer subclass registered with tf.serialization.registerClass to save the model, or recreate the model in code and use saveWeights/loadWeights');
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
    const fromFile = config[Symbol.for('ferrograd.configFromFile')] === true;
    this._n = native.layerCreate(this.getClassName(), toNativeConfig({ ...config, name: this.name }), fromFile);
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
  _ownWeights() { this._fetchWeights(); return this._weights; }
  _childLayers() { return []; }
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

module.exports = { Layer, NativeLayer, Lambda, isSymbolic, toList, assignWeights, withCollector, specOf, probeOutputShapes, weightOption };
