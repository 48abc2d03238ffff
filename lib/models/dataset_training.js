'use strict';
// model.fitDataset / model.evaluateDataset, as tfjs runs them: the loop over the dataset runs
// here, and each batch's step runs natively on a worker thread (the same step as trainOnBatch
// and evaluate), so the event loop stays free while a batch trains. Each batch's xs and ys are
// disposed once used, as in tfjs.

const native = require('../native');
const { Tensor } = require('../tensor');
const { scalar, ones, tensor } = require('../ops/creation');
const { ProgressLogger } = require('./progress');

const FIT_DATASET_KEYS = ['epochs', 'batchesPerEpoch', 'verbose', 'callbacks', 'validationData', 'validationBatchSize',
  'validationBatches', 'yieldEvery', 'initialEpoch', 'classWeight'];
const EVALUATE_DATASET_KEYS = ['batches', 'verbose'];
const DEFAULT_VALIDATION_BATCH_SIZE = 32;
// tfjs's yieldEvery: 'auto' is a yield at most every 125 ms.
const AUTO_YIELD_MS = 125;

function describe(v) {
  if (v === null) return 'null';
  if (v instanceof Tensor) return `a Tensor of shape [${v.shape}]`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return `an object with keys {${Object.keys(v).join(', ')}}`;
  return typeof v === 'number' || typeof v === 'boolean' ? `${typeof v} ${v}` : typeof v;
}

function checkCompiled(model, op) {
  if (!model._compiled) throw new Error(`${op}: you must compile a model before training or testing it (model.compile({optimizer, loss}))`);
}

function checkKeys(op, args, known) {
  for (const k of Object.keys(args)) {
    if (!known.includes(k)) throw new Error(`${op}: unknown argument '${k}' (known: ${known.join(', ')})`);
  }
}

function checkPositiveInt(op, name, v) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${op}: ${name} must be a positive integer, but got ${describe(v)}`);
}

const inputNames = (model) => model.inputs.map((t) => t.sourceLayer.name);
const outputNames = (model) => model.outputs.map((t) => t.sourceLayer.name);

// Native errors name the step ('trainOnBatch', 'evaluate', 'fit'); say which call it was.
async function renamed(op, promise) {
  try {
    return await promise;
  } catch (e) {
    if (e instanceof Error && /^(trainOnBatch|evaluate|fit)( \(|:)/.test(e.message)) e.message = e.message.replace(/^\w+/, op);
    throw e;
  }
}

// ---- dataset elements -------------------------------------------------------------------------

// xs or ys of an element as one tensor per model input/output: a Tensor, an array of them,
// or an object keyed by input/output layer name.
function flattenPart(op, value, part, names) {
  const kind = part === 'xs' ? 'input' : 'output';
  let list;
  if (value instanceof Tensor) {
    if (names.length !== 1) {
      throw new Error(`${op}: the dataset element's ${part} is one Tensor, but the model has ${names.length} ${kind}s (${names.join(', ')}); give an array of Tensors or an object keyed by ${kind} name`);
    }
    list = [value];
  } else if (Array.isArray(value)) {
    if (value.length > 0 && !value.some((v) => v instanceof Tensor)) {
      throw new Error(`${op}: the dataset element's ${part} is an array of ${Array.isArray(value[0]) ? 'array' : value[0] === null ? 'null' : typeof value[0]}s, not of Tensors; batch the dataset (dataset.batch(batchSize)) to turn numbers and arrays into tensors`);
    }
    if (value.length !== names.length) {
      throw new Error(`${op}: the dataset element's ${part} is an array of ${value.length} value(s), but the model has ${names.length} ${kind}(s) (${names.join(', ')})`);
    }
    list = value;
  } else if (typeof value === 'object') {
    list = names.map((n) => {
      if (value[n] == null) throw new Error(`${op}: the dataset element's ${part} lacks the ${kind} key '${n}' (it has keys {${Object.keys(value).join(', ')}})`);
      return value[n];
    });
  } else {
    throw new Error(`${op}: the dataset element's ${part} must be a Tensor, an array of Tensors or an object of them keyed by ${kind} name, but got ${describe(value)}`);
  }
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`${op}: ${part}[${i}] of the dataset element must be a Tensor, but got ${describe(t)} (batch the dataset, e.g. dataset.batch(32), to turn numbers and arrays into tensors)`);
    if (t.isDisposed) throw new Error(`${op}: ${part}[${i}] of the dataset element is a disposed Tensor (each batch is disposed after use, so a dataset must yield fresh tensors every time)`);
    if (t.rank === 0) throw new Error(`${op}: ${part}[${i}] of the dataset element is a scalar; expected a batch with a leading batch dimension`);
  });
  return list;
}

// The model's expected input shape, with a rank-1 batch accepted where it expects [null, 1].
function inputShapeMatches(want, got) {
  if (want.length === got.length) return want.every((d, k) => k === 0 || d == null || d === got[k]);
  return got.length === 1 && want.length === 2 && want[1] === 1;
}

/** `{xs, ys}` of a dataset element as lists of tensors, checked against the model. */
function standardizeElement(model, element, op) {
  if (element == null || typeof element !== 'object' || element instanceof Tensor || element.xs == null || element.ys == null) {
    throw new Error(`${op}: a dataset element must be an object {xs, ys} (each a Tensor, an array of Tensors or an object keyed by input/output layer name), but the dataset yielded ${describe(element)}`);
  }
  const xs = flattenPart(op, element.xs, 'xs', inputNames(model));
  const ys = flattenPart(op, element.ys, 'ys', outputNames(model));
  const n = xs[0].shape[0];
  xs.forEach((t, i) => {
    const want = model.inputs[i].shape;
    if (!inputShapeMatches(want, t.shape)) {
      throw new Error(`${op}: input ${i} of ${model.name} (${inputNames(model)[i]}) expects batches of shape [${want.map((d) => (d == null ? 'null' : d))}], but the dataset yielded xs[${i}] of shape [${t.shape}]`);
    }
  });
  [...xs, ...ys].forEach((t, i) => {
    if (t.shape[0] !== n) {
      const name = i < xs.length ? `xs[${i}]` : `ys[${i - xs.length}]`;
      throw new Error(`${op}: the dataset element's tensors must share the batch size; xs[0] has ${n} rows but ${name} has ${t.shape[0]}`);
    }
  });
  return { xs, ys, size: n };
}

const disposeAll = (ts) => { for (const t of ts) if (!t.isDisposed) t.dispose(); };

// ---- class weights ------------------------------------------------------------------------------

/** One `{classIndex: weight}` (or null) per model output, from the forms tfjs accepts. */
function classWeightsPerOutput(model, cw) {
  const names = outputNames(model);
  let list;
  if (cw == null || (Array.isArray(cw) && cw.length === 0)) return null;
  if (Array.isArray(cw)) {
    if (cw.length !== names.length) throw new Error(`fitDataset: classWeight is an array of ${cw.length} entries, but the model has ${names.length} output(s); give one per output`);
    list = cw;
  } else if (typeof cw === 'object') {
    const byName = names.some((n) => n in cw);
    if (names.length === 1) list = [byName ? cw[names[0]] : cw];
    else if (byName) list = names.map((n) => (n in cw ? cw[n] : null));
    else throw new Error(`fitDataset: the model has ${names.length} outputs, so classWeight must be an array (one per output) or an object keyed by output name (${names.join(', ')})`);
  } else {
    throw new Error(`fitDataset: classWeight must be an object {classIndex: weight}, but got ${describe(cw)}`);
  }
  list.forEach((w, i) => {
    if (w == null) return;
    if (typeof w !== 'object' || Array.isArray(w)) throw new Error(`fitDataset: classWeight for output '${names[i]}' must be an object {classIndex: weight}, but got ${describe(w)}`);
    for (const [k, v] of Object.entries(w)) {
      if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new Error(`fitDataset: classWeight[${k}] for output '${names[i]}' must be a finite number >= 0, but got ${describe(v)}`);
    }
  });
  return list;
}

/** Per-sample weights of one target batch: the weight of each row's class (its value, or its argmax when one-hot). */
function sampleWeightsOf(y, weights, outputName) {
  const shape = y.shape;
  if (shape.length > 2) throw new Error(`fitDataset: classWeight needs targets of rank 1 or 2, but output '${outputName}' has targets of shape [${shape}]`);
  const v = y.dataSync();
  const cols = shape.length === 2 ? shape[1] : 1;
  const out = new Float32Array(shape[0]);
  for (let r = 0; r < shape[0]; r++) {
    let cls = v[r * cols];
    if (cols > 1) {
      cls = 0;
      for (let j = 1; j < cols; j++) if (v[r * cols + j] > v[r * cols + cls]) cls = j;
    }
    const w = weights[cls];
    if (w == null) throw new Error(`fitDataset: classWeight must contain all classes in the training data; class ${cls} exists in the data (output '${outputName}') but not in classWeight`);
    out[r] = w;
  }
  return out;
}

// ---- steps --------------------------------------------------------------------------------------

async function trainStep(model, xs, ys, size, classWeights) {
  const graph = model._graph();
  const xh = xs.map((t) => t.h);
  const yh = ys.map((t) => t.h);
  if (classWeights == null) return renamed('fitDataset', native.modelTrainOnBatch(graph, model._compiled, model.optimizer._o, xh, yh));
  const names = outputNames(model);
  const weights = ys.map((y, i) => (classWeights[i] == null ? ones([size]) : tensor(sampleWeightsOf(y, classWeights[i], names[i]), [size])));
  try {
    return await renamed('fitDataset', native.modelTrainOnBatchWeighted(graph, model._compiled, model.optimizer._o, xh, yh, weights.map((t) => t.h)));
  } finally {
    disposeAll(weights);
  }
}

/**
 * Loss and metrics over (up to `batches` batches of) a dataset or iterator, averaged over the
 * samples, as numbers.
 */
async function evaluateBatches(model, source, batches, op) {
  const iter = typeof source.next === 'function' ? source : await source.iterator();
  const totals = new Map(model.metricsNames.map((l) => [l, 0]));
  let samples = 0;
  for (let b = 0; batches == null || b < batches;) {
    const r = await iter.next();
    if (r.done) {
      if (batches != null) console.warn(`${op}: the dataset ran out of data after ${b} of ${batches} batches; make sure it yields at least that many (dataset.repeat() can help)`);
      break;
    }
    if (r.value == null) continue;
    const { xs, ys, size } = standardizeElement(model, r.value, op);
    let values;
    try {
      values = await renamed(op, native.modelEvaluateAsync(model._graph(), model._compiled, xs.map((t) => t.h), ys.map((t) => t.h), size));
    } finally {
      disposeAll([...xs, ...ys]);
    }
    for (const [l, v] of values) totals.set(l, (totals.get(l) || 0) + v * size);
    samples += size;
    b++;
  }
  if (samples === 0) throw new Error(`${op}: the dataset yielded no elements to evaluate`);
  return [...totals].map(([l, t]) => [l, t / samples]);
}

// ---- fitDataset -----------------------------------------------------------------------------------

function checkFitArgs(model, dataset, args) {
  const op = 'fitDataset';
  checkCompiled(model, op);
  if (dataset == null || typeof dataset.iterator !== 'function') throw new Error(`${op}: expected a tf.data.Dataset as the first argument, but got ${describe(dataset)}`);
  if (args == null || typeof args !== 'object') throw new Error(`${op}: the second argument {epochs, ...} is required`);
  if (args.validationSplit != null) throw new Error(`${op}: validationSplit is not supported by fitDataset(); use validationData instead`);
  checkKeys(op, args, FIT_DATASET_KEYS);
  checkPositiveInt(op, 'epochs', args.epochs);
  if (args.batchesPerEpoch != null) checkPositiveInt(op, 'batchesPerEpoch', args.batchesPerEpoch);
  if (args.initialEpoch != null && !(Number.isInteger(args.initialEpoch) && args.initialEpoch >= 0)) {
    throw new Error(`${op}: initialEpoch must be a non-negative integer, but got ${describe(args.initialEpoch)}`);
  }
  if (args.validationBatches != null) checkPositiveInt(op, 'validationBatches', args.validationBatches);
  if (args.validationBatchSize != null) checkPositiveInt(op, 'validationBatchSize', args.validationBatchSize);
  const y = args.yieldEvery;
  if (y != null && !['auto', 'batch', 'epoch', 'never'].includes(y) && !(typeof y === 'number' && y >= 0)) {
    throw new Error(`${op}: yieldEvery must be 'auto', 'batch', 'epoch', 'never' or a number of milliseconds, but got ${describe(y)}`);
  }
  if (model.isTraining) throw new Error(`${op}: ${model.name} is already training; wait for the running fit() or fitDataset() to finish (a second concurrent fit is not allowed)`);
}

function normalizeCallbacks(callbacks, yieldEvery) {
  if (callbacks == null) return [];
  const list = Array.isArray(callbacks) ? callbacks : [callbacks];
  for (const c of list) {
    if (c == null || typeof c !== 'object') throw new Error('fitDataset: callbacks must be objects (or an array of them) with onEpochEnd etc. hooks');
    if (yieldEvery === 'never' && typeof c.onYield === 'function') throw new Error("fitDataset: yieldEvery is 'never', but a callback has an onYield hook; change yieldEvery or remove the hook");
  }
  return list;
}

/** Validation data as a dataset, or as [xs, ys] lists of tensors. */
function validationSource(model, vd) {
  if (vd == null) return null;
  if (typeof vd.iterator === 'function') return { dataset: vd };
  if (!Array.isArray(vd) || vd.length < 2) throw new Error(`fitDataset: validationData must be a Dataset or [xVal, yVal], but got ${describe(vd)}`);
  if (vd.length > 2) throw new Error('fitDataset: validation with sample weights ([xVal, yVal, weights]) is not supported');
  const list = (v, part, count) => {
    const l = v instanceof Tensor ? [v] : v;
    if (!Array.isArray(l) || l.length !== count || !l.every((t) => t instanceof Tensor)) {
      throw new Error(`fitDataset: validationData ${part} must be ${count === 1 ? 'a Tensor' : `an array of ${count} Tensors`} (one per model ${part === 'xVal' ? 'input' : 'output'}), but got ${describe(v)}`);
    }
    return l;
  };
  return { xs: list(vd[0], 'xVal', model.inputs.length), ys: list(vd[1], 'yVal', model.outputs.length) };
}

/** The validation loss and metrics: of a dataset (as evaluateDataset), or of tensors (as evaluate). */
function validate(model, validation, args) {
  const op = 'fitDataset (validationData)';
  if (validation.dataset) return evaluateBatches(model, validation.dataset, args.validationBatches, op);
  const batchSize = args.validationBatchSize == null ? DEFAULT_VALIDATION_BATCH_SIZE : args.validationBatchSize;
  const run = native.modelEvaluateAsync(model._graph(), model._compiled, validation.xs.map((t) => t.h), validation.ys.map((t) => t.h), batchSize);
  return renamed(op, run);
}

async function fitDataset(model, dataset, args) {
  checkFitArgs(model, dataset, args);
  const op = 'fitDataset';
  const validation = validationSource(model, args.validationData);
  const classWeights = classWeightsPerOutput(model, args.classWeight);
  const yieldEvery = args.yieldEvery == null ? 'auto' : args.yieldEvery;
  const callbacks = normalizeCallbacks(args.callbacks, yieldEvery);
  const verbose = args.verbose == null ? 1 : args.verbose;
  const bpe = args.batchesPerEpoch;
  const labels = model.metricsNames;
  const params = {
    epochs: args.epochs,
    initialEpoch: args.initialEpoch == null ? 0 : args.initialEpoch,
    samples: null,
    steps: bpe != null ? bpe : Number.isFinite(dataset.size) ? dataset.size : null,
    batchSize: null,
    verbose,
    doValidation: validation != null,
    metrics: validation != null ? [...labels, ...labels.map((l) => `val_${l}`)] : labels.slice(),
  };
  const progress = verbose > 0 ? new ProgressLogger(verbose) : null;
  if (progress) progress.params = params;
  const all = progress ? [progress, ...callbacks] : callbacks;
  for (const c of callbacks) {
    if (typeof c.setModel === 'function') c.setModel(model);
    if (typeof c.setParams === 'function') c.setParams(params);
  }
  const hooks = async (name, ...a) => { for (const c of all) if (typeof c[name] === 'function') await c[name](...a); };
  const yieldMs = yieldEvery === 'auto' ? AUTO_YIELD_MS : typeof yieldEvery === 'number' ? yieldEvery : null;
  let lastYield = 0;
  const nextFrame = () => new Promise((r) => setImmediate(r));
  const history = { epoch: [], history: {}, params };

  model.isTraining = true;
  try {
    await hooks('onTrainBegin', {});
    // As in tfjs, only a request made once training runs counts.
    model.stopTraining = false;
    let iter = bpe != null ? await dataset.iterator() : null;
    let outOfData = false;
    let trained = 0;
    for (let epoch = params.initialEpoch; epoch < args.epochs; epoch++) {
      const epochLogs = {};
      await hooks('onEpochBegin', epoch, {});
      if (bpe == null) iter = await dataset.iterator();
      const totals = new Map(labels.map((l) => [l, 0]));
      let seen = 0;
      let batch = 0;
      for (;;) {
        if (bpe != null && batch >= bpe) break;
        const r = await iter.next();
        if (bpe != null && r.done) {
          outOfData = true;
          if (trained > 0) {
            console.warn(`${op}: the dataset ran out of data after ${batch} batch(es) of epoch ${epoch + 1} (batchesPerEpoch is ${bpe}, so ${bpe * (args.epochs - params.initialEpoch)} batches are needed); training stops here. dataset.repeat() makes a dataset endless.`);
          }
          break;
        }
        if (!r.done && r.value != null) {
          const { xs, ys, size } = standardizeElement(model, r.value, op);
          const batchLogs = { batch, size };
          let values;
          try {
            await hooks('onBatchBegin', batch, batchLogs);
            values = await trainStep(model, xs, ys, size, classWeights);
          } finally {
            disposeAll([...xs, ...ys]);
          }
          // The compiled metrics, then any a layer added (addMetric), by name.
          for (const [l, v] of values) {
            batchLogs[l] = v;
            totals.set(l, (totals.get(l) || 0) + v * size);
          }
          seen += size;
          trained++;
          await hooks('onBatchEnd', batch, batchLogs);
          if (progress) progress.onProgress(batch, batchLogs);
          if (yieldEvery === 'batch') await nextFrame();
          else if (yieldMs != null && Date.now() - lastYield >= yieldMs) {
            lastYield = Date.now();
            await hooks('onYield', epoch, batch, batchLogs);
            await nextFrame();
          }
          batch++;
        }
        if (bpe != null ? batch >= bpe : r.done) {
          if (batch > 0 && validation != null) {
            const v = await validate(model, validation, args);
            for (const [l, x] of v) epochLogs[`val_${l}`] = x;
          }
          break;
        }
        if (model.stopTraining) break;
      }
      if (batch === 0 && !outOfData) {
        throw new Error(`${op}: the dataset yielded no elements in epoch ${epoch + 1}; a dataset must start over on each iterator() call, or pass batchesPerEpoch to read one stream across epochs`);
      }
      if (trained === 0) throw new Error(`${op}: the dataset yielded no elements`);
      if (seen > 0) for (const [l, t] of totals) epochLogs[l] = t / seen;
      await hooks('onEpochEnd', epoch, epochLogs);
      if (batch > 0) {
        history.epoch.push(epoch);
        for (const [k, v] of Object.entries(epochLogs)) (history.history[k] = history.history[k] || []).push(v);
      }
      if (yieldEvery === 'epoch') await nextFrame();
      if (model.stopTraining || outOfData) break;
    }
    await hooks('onTrainEnd', {});
    return history;
  } finally {
    model.isTraining = false;
  }
}

// ---- evaluateDataset --------------------------------------------------------------------------------

async function evaluateDataset(model, dataset, args = {}) {
  const op = 'evaluateDataset';
  checkCompiled(model, op);
  if (dataset == null || (typeof dataset.iterator !== 'function' && typeof dataset.next !== 'function')) {
    throw new Error(`${op}: expected a tf.data.Dataset (or an iterator of one), but got ${describe(dataset)}`);
  }
  if (args == null || typeof args !== 'object') throw new Error(`${op}: args must be an object {batches?}, but got ${describe(args)}`);
  checkKeys(op, args, EVALUATE_DATASET_KEYS);
  if (args.batches != null) checkPositiveInt(op, 'batches', args.batches);
  const values = await evaluateBatches(model, dataset, args.batches, op);
  const out = values.map(([, v]) => scalar(v));
  return out.length === 1 ? out[0] : out;
}

module.exports = { fitDataset, evaluateDataset };
