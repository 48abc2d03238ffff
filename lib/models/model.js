'use strict';
// Models: tf.input / tf.model (functional DAGs), tf.sequential, and the LayersModel surface
// (layers, weights, summary, predict). The graph runs natively; JS layers in it are called
// back on the main thread.

const native = require('../native');
const { Tensor, wrap } = require('../tensor');
const { Layer, NativeLayer, toList, assignWeights, withCollector, specOf, probeOutputShapes } = require('../layers/layer');
const { SymbolicTensor } = require('../layers/symbolic');
const { uid } = require('../layers/naming');
const { runScoped, tidy } = require('../engine');
const { convertToTensor } = require('../convert');

class InputLayer extends Layer {
  constructor(config = {}) {
    super({ ...config, name: config.name != null ? config.name : uid('input') });
    if (this.batchInputShape == null) throw new Error('InputLayer: an inputShape or batchInputShape is required');
    this.built = true;
    const out = new SymbolicTensor(this.dtype, this.batchInputShape.slice(), this, [], 0, this.name);
    this.inboundNodes.push({ layer: this, inputs: [], outputs: [out], kwargs: {} });
    out.node = this.inboundNodes[0];
    this.output = out;
  }
  static get className() { return 'InputLayer'; }
  getConfig() {
    return { batchInputShape: this.batchInputShape, dtype: this.dtype, sparse: false, name: this.name };
  }
}

/** tf.input({shape | batchShape, name, dtype}). */
function input(config = {}) {
  if (config.shape == null && config.batchShape == null) throw new Error('input: give shape or batchShape');
  if (config.shape != null && config.batchShape != null) throw new Error('input: give only one of shape and batchShape');
  const batchInputShape = config.batchShape != null ? config.batchShape : [null, ...config.shape];
  const layer = new InputLayer({ batchInputShape, name: config.name, dtype: config.dtype });
  return layer.output;
}

// The wrapper through which native code calls a JS layer: handles in; out, the handles of its
// outputs, then of the losses (`nl` of them) and metrics (named `mn`) its call added, with
// `o` telling which handles the call created (the native side releases those).
function jsLayerWrapper(layer, multiInput) {
  return (handles, training) => {
    const sink = { losses: [], metrics: [] };
    const { result, scope } = runScoped(() => {
      const xs = handles.map(wrap);
      const out = toList(withCollector(sink, () => layer.call(multiInput ? xs : xs[0], { training })));
      for (const t of out) if (!(t instanceof Tensor)) throw new Error(`${layer.name}.call must return a Tensor or an array of Tensors`);
      return out;
    });
    const all = [...result, ...sink.losses, ...sink.metrics.map((m) => m.value)];
    const fresh = new Set(scope.map((t) => t.h));
    const returned = new Set(all.map((t) => t.h));
    for (const t of scope) if (!returned.has(t.h) && !t.kept) native.dispose(t.h);
    return { h: all.map((t) => t.h), o: all.map((t) => fresh.has(t.h)), nl: sink.losses.length, mn: sink.metrics.map((m) => m.name) };
  };
}

/**
 * Where a JS layer's weights live: the built-in layers it holds (their weights carry their
 * regularizers and constraints natively) and the JS-created weights (`addWeight`) of it and
 * its JS sub-layers.
 */
function weightSources(layer) {
  const natives = new Set();
  const own = [];
  const seen = new Set();
  const visit = (l) => {
    if (seen.has(l)) return;
    seen.add(l);
    if (l instanceof NativeLayer) { natives.add(l); return; }
    for (const w of l._weights) if (!own.includes(w)) own.push(w);
    for (const c of l._childLayers()) visit(c);
  };
  visit(layer);
  return { natives: [...natives], own };
}

class LayersModel extends Layer {
  constructor(args = {}) {
    super({ name: args.name != null ? args.name : uid('model') });
    if (args.inputs != null && args.outputs != null) this._initGraph(toList(args.inputs), toList(args.outputs));
    this.stopTraining = false;
    this.isTraining = false;
  }
  static get className() { return 'Model'; }

  // A graph model lists the layers of its graph; a subclassed model (Keras style: layers in
  // properties, its own `call`) the layers it holds.
  get layers() { return this._layersList !== undefined ? this._layersList : this._trackedLayers(); }
  set layers(v) { this._layersList = v; }
  _childLayers() { return this.layers || []; }

  /** True for a `class extends tf.Model` defining its own `call` rather than a graph. */
  _isSubclassed() {
    return this._layersList === undefined && Object.getPrototypeOf(this).call !== LayersModel.prototype.call;
  }

  /**
   * Gives a subclassed model its graph for inputs of these shapes: model inputs feeding one
   * node that runs the model's `call` (on the main thread, its ops recorded for training).
   * Building it runs `build` and `call` once, which creates the sub-layers' weights.
   */
  _ensureSubclassedGraph(shapes, dtypes, op) {
    if (this._nodes) return;
    if (!this._isSubclassed()) throw new Error(`${op}: ${this.name} has no layers yet`);
    const batchShapes = shapes.map((s) => {
      if (!Array.isArray(s) || s.length === 0) throw new Error(`${op}: ${this.name} needs inputs with a batch dimension, got shape [${s}]`);
      return [null, ...s.slice(1)];
    });
    if (!this.built) {
      this.build(batchShapes.length === 1 ? batchShapes[0] : batchShapes);
      this.built = true;
    }
    const outShapes = probeOutputShapes(this, batchShapes, dtypes);
    const inputs = batchShapes.map((s, i) => input({ batchShape: s, dtype: dtypes[i], name: uid(`${this.name}_input`) }));
    const node = { layer: this, inputs, kwargs: {}, outputs: [] };
    node.outputs = outShapes.map((s, i) => new SymbolicTensor('float32', s, this, inputs, i, `${this.name}/${this.name}${outShapes.length > 1 ? `_${i}` : ''}`));
    for (const o of node.outputs) o.node = node;
    this.inputs = inputs;
    this.outputs = node.outputs;
    this._nodes = [...inputs.map((t) => t.node), node];
    this._native = null;
  }

  _initGraph(inputs, outputs) {
    for (const t of [...inputs, ...outputs]) {
      if (!(t instanceof SymbolicTensor)) throw new Error(`${this.name}: inputs and outputs must be SymbolicTensors (from tf.input and layer.apply)`);
    }
    for (const t of inputs) {
      if (!(t.sourceLayer instanceof InputLayer)) throw new Error(`${this.name}: every input must come from tf.input()`);
    }
    this.inputs = inputs;
    this.outputs = outputs;
    // Nodes reachable backwards from the outputs, ordered so every node follows its inputs.
    const order = [];
    const seen = new Set();
    const visit = (node) => {
      if (seen.has(node)) return;
      seen.add(node);
      for (const t of node.inputs) visit(t.node);
      order.push(node);
    };
    for (const t of outputs) visit(t.node);
    for (const t of inputs) {
      if (!seen.has(t.node)) throw new Error(`${this.name}: input ${t.name} is not connected to the outputs`);
    }
    for (const node of order) {
      if (node.layer instanceof InputLayer && !inputs.includes(node.outputs[0])) {
        throw new Error(`${this.name}: the graph needs input ${node.outputs[0].name}, which is not among the model's inputs`);
      }
    }
    this._nodes = order;
    this.layers = [];
    for (const n of order) if (!this.layers.includes(n.layer)) this.layers.push(n.layer);
    this._native = null;
    this.built = true;
  }

  get inputLayers() { return this.inputs.map((t) => t.sourceLayer); }
  get outputLayers() { return this.outputs.map((t) => t.sourceLayer); }
  get outputShape() { return this.outputs.length === 1 ? this.outputs[0].shape : this.outputs.map((o) => o.shape); }
  get inputShape() { return this.inputs.length === 1 ? this.inputs[0].shape : this.inputs.map((o) => o.shape); }

  // tfjs lists a model's trainable weights first (setWeights and model files use this order).
  get weights() {
    const all = super.weights;
    const t = new Set(this.trainableWeights);
    return [...all.filter((w) => t.has(w)), ...all.filter((w) => !t.has(w))];
  }
  // tfjs orders model weights trainable first.
  getWeights() { return [...this.trainableWeights, ...this.nonTrainableWeights].map((w) => w.clone()); }
  setWeights(weights) { assignWeights(this.name, [...this.trainableWeights, ...this.nonTrainableWeights], weights); }

  getLayer(nameOrIndex, index) {
    if (typeof nameOrIndex === 'number') index = nameOrIndex;
    if (index != null) {
      if (index < 0 || index >= this.layers.length) throw new Error(`getLayer: index ${index} is out of range (the model has ${this.layers.length} layers)`);
      return this.layers[index];
    }
    const l = this.layers.find((x) => x.name === nameOrIndex);
    if (!l) throw new Error(`getLayer: no layer named '${nameOrIndex}' (layers: ${this.layers.map((x) => x.name).join(', ')})`);
    return l;
  }

  /** The native graph (built once per model topology). */
  _graph() {
    if (this._native) return this._native;
    this._ensureBuilt();
    const index = new Map();
    const specs = [];
    const inputIdx = [];
    this._nodes.forEach((node, i) => {
      index.set(node, i);
      const refs = node.inputs.map((t) => [index.get(t.node), t.outputIndex]);
      const layer = node.layer;
      if (layer instanceof InputLayer) {
        specs.push({ input: { name: layer.name, shape: layer.batchInputShape } });
        inputIdx.push(i);
      } else if (layer instanceof NativeLayer) {
        specs.push({ layer: layer._n, inputs: refs });
      } else {
        const { natives, own } = weightSources(layer);
        specs.push({
          js: jsLayerWrapper(layer, node.inputs.length > 1), name: layer.name, shapes: node.outputs.map((o) => o.shape), inputs: refs,
          nativeLayers: natives.map((l) => l._n), weights: own.map((w) => w.h),
          regularizers: own.map((w) => specOf(w.regularizer)), constraints: own.map((w) => specOf(w.constraint)),
        });
      }
    });
    const order = this.inputs.map((t) => index.get(t.node));
    const outputs = this.outputs.map((t) => [index.get(t.node), t.outputIndex]);
    void inputIdx;
    this._native = native.graphCreate(specs, order, outputs);
    for (const l of this.layers) if (l instanceof NativeLayer) l._fetchWeights();
    return this._native;
  }

  _ensureBuilt() {
    if (!this._nodes) throw new Error(`${this.name}: the model has no layers yet`);
  }

  _inputTensors(x, op) {
    const list = x instanceof Tensor || !Array.isArray(x) ? [x] : x;
    if (!this._nodes && this._isSubclassed()) {
      const ts = list.map((t, i) => convertToTensor(t, `x[${i}]`, op));
      this._ensureSubclassedGraph(ts.map((t) => t.shape), ts.map((t) => t.dtype), op);
    }
    if (list.length !== this.inputs.length) {
      throw new Error(`${op}: the model expects ${this.inputs.length} input tensor(s), but got ${list.length}`);
    }
    return list.map((t, i) => {
      const tt = convertToTensor(t, `x[${i}]`, op);
      const want = this.inputs[i].shape;
      const got = tt.shape;
      const ok = want.length === got.length && want.every((d, k) => d == null || d === got[k]);
      if (!ok) {
        throw new Error(`${op}: input ${i} of ${this.name} (${this.inputs[i].name}) expected shape [${want.map((d) => (d == null ? 'null' : d))}], but got [${got}]`);
      }
      return tt;
    });
  }

  predict(x, args = {}) {
    const batchSize = args.batchSize == null ? 32 : args.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`predict: batchSize must be a positive integer, got ${batchSize}`);
    const xs = this._inputTensors(x, 'predict');
    const outs = native.graphPredict(this._graph(), xs.map((t) => t.h), batchSize).map(wrap);
    return outs.length === 1 ? outs[0] : outs;
  }
  predictOnBatch(x) {
    const xs = this._inputTensors(x, 'predictOnBatch');
    return this.predict(xs.length === 1 ? xs[0] : xs, { batchSize: xs[0].shape[0] || 1 });
  }

  /** Calling a model like a layer: eagerly on tensors, or as a node on SymbolicTensors. */
  call(inputs, kwargs = {}) {
    // Intermediate values and masks are released on return, as tfjs's Container.call does.
    return tidy(() => {
      const xs = toList(inputs);
      const env = new Map();
      // Masks (Masking, Embedding maskZero) travel with the values, one per node, as in tfjs.
      const masks = new Map();
      this.inputs.forEach((t, i) => env.set(t, xs[i]));
      for (const node of this._nodes) {
        if (node.layer instanceof InputLayer) continue;
        const ins = node.inputs.map((t) => env.get(t));
        const inMasks = node.inputs.map((t) => masks.get(t) || null);
        const one = ins.length === 1;
        const kw = inMasks.some((m) => m != null) ? { ...kwargs, mask: one ? inMasks[0] : inMasks } : kwargs;
        const out = toList(node.layer.call(one ? ins[0] : ins, kw));
        const mask = node.layer.computeMask(one ? ins[0] : ins, one ? inMasks[0] : inMasks);
        node.outputs.forEach((o, i) => { env.set(o, out[i]); masks.set(o, mask); });
      }
      const outs = this.outputs.map((t) => env.get(t));
      return outs.length === 1 ? outs[0] : outs;
    });
  }
  computeOutputShape(inputShape) {
    if (!this._nodes && this._isSubclassed()) {
      const shapes = Array.isArray(inputShape[0]) ? inputShape : [inputShape];
      this._ensureSubclassedGraph(shapes, shapes.map(() => 'float32'), `${this.name}.apply`);
    }
    return this.outputShape;
  }

  countParams() { return this.weights.reduce((n, w) => n + w.size, 0); }

  compile(args) { require('./training').compile(this, args); }
  fit(x, y, args) { return require('./training').fit(this, x, y, args); }
  evaluate(x, y, args) { return require('./training').evaluate(this, x, y, args); }
  trainOnBatch(x, y) { return require('./training').trainOnBatch(this, x, y); }
  fitDataset(dataset, args) { return require('./dataset_training').fitDataset(this, dataset, args); }
  evaluateDataset(dataset, args) { return require('./dataset_training').evaluateDataset(this, dataset, args); }

  save(handlerOrURL, config) { return require('../io/model_io').save(this, handlerOrURL, config); }
  saveWeights(handlerOrURL) { return require('../io/model_io').saveWeights(this, handlerOrURL); }
  loadWeights(weightsOrURL, strict) { return require('../io/model_io').loadWeightsInto(this, weightsOrURL, strict); }
  toJSON(unused, returnString = true) { return require('../io/model_io').toJSON(this, returnString); }

  summary(lineLength, positions, printFn = console.log) {
    require('./summary').printSummary(this, lineLength, positions, printFn);
  }

  getConfig() {
    return { name: this.name, layers: this.layers.map((l) => ({ className: l.getClassName(), config: l.getConfig() })) };
  }

  dispose() {
    let n = this._weights.length;
    for (const w of this._weights) w.dispose();
    this._weights = [];
    for (const l of this.layers || []) { n += l.weights.length; l.dispose(); }
    this._native = null;
    return { refCountAfterDispose: 0, numDisposedVariables: n };
  }
}

class Sequential extends LayersModel {
  constructor(args = {}) {
    super({ name: args.name != null ? args.name : uid('sequential_') });
    this.layers = [];
    for (const l of args.layers || []) this.add(l);
  }
  static get className() { return 'Sequential'; }

  add(layer) {
    if (!(layer instanceof Layer)) throw new Error(`Sequential.add: expected a layer, got ${layer === null ? 'null' : typeof layer}`);
    if (layer instanceof InputLayer) {
      if (this.layers.length > 0) throw new Error('Sequential.add: an InputLayer can only be the first layer');
      this._input = layer.output;
      this._last = layer.output;
      this.layers = [];
      return;
    }
    if (this._last == null) {
      if (layer.batchInputShape == null) {
        this._pending = this._pending || [];
        if (this.layers.length === 0 && layer instanceof LayersModel && layer.inputs) {
          this._input = input({ batchShape: layer.inputs[0].shape });
          this._last = this._input;
        } else {
          throw new Error(`Sequential.add: the first layer (${layer.name}) needs an inputShape, batchInputShape or inputDim`);
        }
      } else {
        this._input = input({ batchShape: layer.batchInputShape, name: `${layer.name}_input`, dtype: layer._config.dtype });
        this._last = this._input;
      }
    }
    const out = layer.apply(this._last);
    if (Array.isArray(out)) throw new Error(`Sequential.add: layer ${layer.name} has several outputs; use the functional API (tf.model)`);
    this._last = out;
    this.layers.push(layer);
    this._initGraph([this._input], [this._last]);
    this.layers = this.layers.filter((l) => !(l instanceof InputLayer));
  }

  pop() {
    if (this.layers.length === 0) throw new Error('Sequential.pop: there are no layers in the model');
    this.layers.pop();
    const remaining = this.layers;
    this.layers = [];
    this._last = this._input;
    for (const l of remaining) {
      l.inboundNodes = [];
      this._last = l.apply(this._last);
      this.layers.push(l);
    }
    if (remaining.length > 0) {
      this._initGraph([this._input], [this._last]);
      this.layers = this.layers.filter((l) => !(l instanceof InputLayer));
    } else {
      this._nodes = null;
      this._native = null;
    }
  }
}

function sequential(config = {}) { return new Sequential(config); }
function model(args) {
  if (args == null || args.inputs == null || args.outputs == null) throw new Error('model: expected {inputs, outputs, name?}');
  return new LayersModel(args);
}

module.exports = { InputLayer, input, LayersModel, Sequential, sequential, model };
