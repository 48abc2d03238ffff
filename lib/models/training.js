'use strict';
// compile / fit / evaluate / trainOnBatch for LayersModel. The loop runs natively on a worker
// thread; JS is entered only for callbacks (and JS layers, losses and metrics the model holds).

const native = require('../native');
const { Tensor, wrap } = require('../tensor');
const { convertToTensor } = require('../convert');
const { runScoped } = require('../engine');
const { Optimizer } = require('../optimizers');
const { ProgressLogger } = require('./progress');

const OPTIMIZER_NAMES = ['sgd', 'adam', 'rmsprop', 'adagrad', 'adadelta', 'adamax', 'momentum'];

// The wrapper through which native code calls a JS loss or metric `(yTrue, yPred) => Tensor`.
function fnWrapper(fn, name) {
  return (handles) => {
    const { result, scope } = runScoped(() => fn(...handles.map(wrap)));
    if (!(result instanceof Tensor)) throw new Error(`${name}: a loss or metric function must return a Tensor`);
    const fresh = new Set(scope.map((t) => t.h));
    for (const t of scope) if (t !== result && !t.kept) native.dispose(t.h);
    return { h: [result.h], o: [fresh.has(result.h)] };
  };
}

function resolveOptimizer(opt) {
  if (opt instanceof Optimizer) return opt;
  if (typeof opt === 'string') {
    if (!OPTIMIZER_NAMES.includes(opt)) throw new Error(`compile: unknown optimizer '${opt}' (expected one of ${OPTIMIZER_NAMES.join(', ')} or a tf.train optimizer)`);
    const o = Object.create(Optimizer.prototype);
    o._kind = opt;
    o._o = native.optimizerFromIdentifier(opt);
    return o;
  }
  throw new Error(`compile: optimizer must be a string or a tf.train optimizer, got ${opt === null ? 'null' : typeof opt}`);
}

function lossSpec(l, where) {
  if (typeof l === 'string') return l;
  if (typeof l === 'function') return { fn: fnWrapper(l, l.name || 'loss'), name: l.name || 'loss' };
  throw new Error(`compile: ${where} must be a loss name or a function (yTrue, yPred) => Tensor, got ${l === null ? 'null' : typeof l}`);
}

function metricSpec(m) {
  if (typeof m === 'string') return m;
  if (typeof m === 'function') return { fn: fnWrapper(m, m.name || 'metric'), name: m.name || 'metric' };
  throw new Error(`compile: a metric must be a name or a function (yTrue, yPred) => Tensor, got ${m === null ? 'null' : typeof m}`);
}

/** `optimizer`, when given, is the one a deferred compile already resolved. */
function compile(model, args = {}, optimizer = null) {
  if (args == null || typeof args !== 'object') throw new Error('compile: expected {optimizer, loss, metrics?}');
  if (args.loss == null) throw new Error('compile: a loss is required');
  if (!model._nodes && model._isSubclassed()) {
    // A subclassed model gets its graph from the first data it sees; compile then.
    for (const l of Array.isArray(args.loss) ? args.loss : (typeof args.loss === 'object' ? Object.values(args.loss) : [args.loss])) lossSpec(l, 'loss');
    model.optimizer = resolveOptimizer(args.optimizer == null ? 'rmsprop' : args.optimizer);
    model.loss = args.loss;
    model._pendingCompile = args;
    model._compiled = null;
    return;
  }
  model._pendingCompile = null;
  const outputNames = model.outputs.map((o) => o.sourceLayer.name);
  let losses;
  if (Array.isArray(args.loss)) losses = args.loss.map((l, i) => lossSpec(l, `loss[${i}]`));
  else if (typeof args.loss === 'object') {
    losses = outputNames.map((n) => {
      if (!(n in args.loss)) throw new Error(`compile: the loss object has no entry for output '${n}' (outputs: ${outputNames.join(', ')})`);
      return lossSpec(args.loss[n], `loss.${n}`);
    });
  } else losses = [lossSpec(args.loss, 'loss')];
  let metrics = [];
  if (Array.isArray(args.metrics)) metrics = [args.metrics.map(metricSpec)];
  else if (args.metrics != null && typeof args.metrics === 'object') {
    metrics = outputNames.map((n) => (args.metrics[n] == null ? [] : (Array.isArray(args.metrics[n]) ? args.metrics[n] : [args.metrics[n]]).map(metricSpec)));
  } else if (args.metrics != null) metrics = [[metricSpec(args.metrics)]];
  let lossWeights = null;
  if (args.lossWeights != null) {
    lossWeights = Array.isArray(args.lossWeights) ? args.lossWeights : outputNames.map((n) => (args.lossWeights[n] == null ? 1 : args.lossWeights[n]));
  }
  const opt = optimizer || resolveOptimizer(args.optimizer == null ? 'rmsprop' : args.optimizer);
  const compiled = native.modelCompile(model._graph(), outputNames, losses, lossWeights, metrics);
  model.optimizer = opt;
  model.loss = args.loss;
  model.metrics = args.metrics;
  model._compiled = compiled;
  model.metricsNames = native.compiledMetricNames(compiled);
}

/**
 * Gets a model ready for `op` on inputs `x`: a subclassed model builds its graph from their
 * shapes and finishes the compile it deferred. Returns the input tensors.
 */
function prepare(model, x, op) {
  if (!model._nodes && model._isSubclassed()) {
    const list = x instanceof Tensor || !Array.isArray(x) ? [x] : x;
    const ts = list.map((t, i) => convertToTensor(t, `x[${i}]`, op));
    model._ensureSubclassedGraph(ts.map((t) => t.shape), ts.map((t) => t.dtype), op);
  }
  if (model._pendingCompile) compile(model, model._pendingCompile, model.optimizer);
  return toTensors(x, 'x', model.inputs.length, op);
}

function toTensors(v, what, count, op) {
  if (v == null) throw new Error(`${op}: ${what} is required`);
  let list;
  if (v instanceof Tensor) list = [v];
  else if (Array.isArray(v) && v.length > 0 && v.every((t) => t instanceof Tensor)) list = v;
  else if (typeof v === 'object' && !Array.isArray(v)) list = null;
  else list = [convertToTensor(v, what, op)];
  if (list === null) throw new Error(`${op}: ${what} must be a Tensor or an array of Tensors`);
  if (list.length !== count) throw new Error(`${op}: the model has ${count} ${what === 'x' ? 'input' : 'output'}(s), but ${list.length} ${what} tensor(s) were given`);
  return list;
}

function checkCompiled(model, op) {
  if (!model._compiled && !model._pendingCompile) throw new Error(`${op}: you must compile a model before training or testing it (model.compile({optimizer, loss}))`);
}

const FIT_KEYS = ['batchSize', 'epochs', 'verbose', 'callbacks', 'validationSplit', 'validationData', 'shuffle', 'classWeight',
  'sampleWeight', 'initialEpoch', 'stepsPerEpoch', 'validationSteps', 'validationBatchSize', 'validationFreq', 'yieldEvery'];

function normalizeCallbacks(callbacks) {
  if (callbacks == null) return [];
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  for (const c of list) {
    if (c == null || typeof c !== 'object') throw new Error('fit: callbacks must be objects (or an array of them) with onEpochEnd etc. hooks');
  }
  return list;
}

async function fit(model, x, y, args = {}) {
  checkCompiled(model, 'fit');
  if (model.isTraining) throw new Error(`fit: ${model.name} is already training; wait for the running fit() to finish (a second concurrent fit is not allowed)`);
  for (const k of Object.keys(args)) {
    if (!FIT_KEYS.includes(k)) throw new Error(`fit: unknown argument '${k}' (known: ${FIT_KEYS.join(', ')})`);
  }
  const xs = prepare(model, x, 'fit');
  const ys = toTensors(y, 'y', model.outputs.length, 'fit');
  const verbose = args.verbose == null ? 1 : args.verbose;
  const callbacks = normalizeCallbacks(args.callbacks);
  for (const c of callbacks) if (typeof c.setModel === 'function') c.setModel(model);
  let valX = null;
  let valY = null;
  if (args.validationData != null) {
    const vd = args.validationData;
    if (!Array.isArray(vd) || vd.length < 2) throw new Error('fit: validationData must be [xVal, yVal]');
    valX = toTensors(vd[0], 'x', model.inputs.length, 'fit (validationData)').map((t) => t.h);
    valY = toTensors(vd[1], 'y', model.outputs.length, 'fit (validationData)').map((t) => t.h);
  }
  // NaN and infinities cannot travel as JSON numbers: reject them here, in the core's words.
  const kinds = { batchSize: 'a positive integer', epochs: 'a positive integer', initialEpoch: 'a non-negative integer', stepsPerEpoch: 'a positive integer', validationSplit: 'a number in [0, 1)',
    validationBatchSize: 'a positive integer', validationFreq: 'a positive integer', validationSteps: 'a positive integer' };
  for (const [k, kind] of Object.entries(kinds)) {
    const v = args[k];
    if (v != null && (typeof v !== 'number' || !Number.isFinite(v))) throw new Error(`fit: ${k} must be ${kind}, but got ${v}`);
  }
  const nativeArgs = {
    batchSize: args.batchSize, epochs: args.epochs, shuffle: args.shuffle, validationSplit: args.validationSplit,
    initialEpoch: args.initialEpoch, stepsPerEpoch: args.stepsPerEpoch, classWeight: args.classWeight,
    validationBatchSize: args.validationBatchSize, validationFreq: args.validationFreq, validationSteps: args.validationSteps,
  };
  const sampleWeight = args.sampleWeight == null ? null : toTensors(args.sampleWeight, 'sampleWeight', model.outputs.length, 'fit').map((t) => t.h);
  const progress = verbose > 0 ? new ProgressLogger(verbose) : null;
  // tfjs's yieldEvery: the worker never blocks the event loop, so yielding only means calling
  // onYield hooks — after a batch once yieldMs have passed ('auto': 125 ms), after every batch
  // ('batch'), or at each epoch's end ('epoch').
  const yieldEvery = args.yieldEvery == null ? 'auto' : args.yieldEvery;
  if (!['auto', 'batch', 'epoch', 'never'].includes(yieldEvery) && !(typeof yieldEvery === 'number' && yieldEvery >= 0)) {
    throw new Error(`fit: yieldEvery must be 'auto', 'batch', 'epoch', 'never' or a number of milliseconds, but got ${JSON.stringify(yieldEvery)}`);
  }
  const yieldHooks = callbacks.filter((c) => typeof c.onYield === 'function');
  if (yieldEvery === 'never' && yieldHooks.length > 0) throw new Error("fit: yieldEvery is 'never', but a callback has an onYield hook; change yieldEvery or remove the hook");
  const yieldMs = yieldEvery === 'auto' ? 125 : typeof yieldEvery === 'number' ? yieldEvery : null;
  let lastYield = Date.now();
  let epochNow = 0;
  const batchHooks = yieldHooks.length > 0 && yieldEvery !== 'epoch'
    || callbacks.some((c) => typeof c.onBatchBegin === 'function' || typeof c.onBatchEnd === 'function');
  const history = { epoch: [], history: {}, params: null };
  const all = progress ? [progress, ...callbacks] : callbacks;

  const hook = { trainBegin: 'onTrainBegin', epochBegin: 'onEpochBegin', batchBegin: 'onBatchBegin', batchEnd: 'onBatchEnd', epochEnd: 'onEpochEnd', trainEnd: 'onTrainEnd' };
  // Called by the worker; `done(err, stop)` releases it.
  const dispatch = (event, index, logs, done) => {
    (async () => {
      if (event === 'progress') { if (progress) progress.onProgress(index, logs); return false; }
      if (event === 'trainBegin') { history.params = logs; if (progress) progress.params = logs; }
      if (event === 'epochBegin') epochNow = index;
      const name = hook[event];
      for (const c of all) {
        if (typeof c[name] !== 'function') continue;
        if (event === 'trainBegin' || event === 'trainEnd') await c[name](event === 'trainBegin' ? {} : logs);
        else await c[name](index, logs);
      }
      const yieldNow = yieldHooks.length > 0 && (
        (event === 'batchEnd' && (yieldEvery === 'batch' || (yieldMs != null && Date.now() - lastYield >= yieldMs)))
        || (event === 'epochEnd' && yieldEvery === 'epoch'));
      if (yieldNow) {
        lastYield = Date.now();
        for (const c of yieldHooks) await c.onYield(epochNow, event === 'batchEnd' ? index : 0, logs);
      }
      return model.stopTraining;
    })().then((stop) => done(null, !!stop), (err) => done(err, false));
  };

  model.isTraining = true;
  model.stopTraining = false;
  try {
    const h = await native.modelFit(model._graph(), model._compiled, model.optimizer._o, xs.map((t) => t.h), ys.map((t) => t.h),
      nativeArgs, valX, valY, sampleWeight, dispatch, batchHooks, !!progress);
    history.epoch = h.epoch;
    history.history = h.history;
    return history;
  } finally {
    model.isTraining = false;
  }
}

function evaluate(model, x, y, args = {}) {
  checkCompiled(model, 'evaluate');
  const xs = prepare(model, x, 'evaluate');
  const ys = toTensors(y, 'y', model.outputs.length, 'evaluate');
  const out = native.modelEvaluate(model._graph(), model._compiled, xs.map((t) => t.h), ys.map((t) => t.h), args.batchSize == null ? 32 : args.batchSize).map(wrap);
  return out.length === 1 ? out[0] : out;
}

async function trainOnBatch(model, x, y) {
  checkCompiled(model, 'trainOnBatch');
  if (model.isTraining) throw new Error(`trainOnBatch: ${model.name} is already training`);
  const xs = prepare(model, x, 'trainOnBatch');
  const ys = toTensors(y, 'y', model.outputs.length, 'trainOnBatch');
  model.isTraining = true;
  try {
    const v = (await native.modelTrainOnBatch(model._graph(), model._compiled, model.optimizer._o, xs.map((t) => t.h), ys.map((t) => t.h))).map((p) => p[1]);
    return v.length === 1 ? v[0] : v;
  } finally {
    model.isTraining = false;
  }
}

module.exports = { compile, fit, evaluate, trainOnBatch };
