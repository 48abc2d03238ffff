'use strict';
// model.fitDataset / model.evaluateDataset: learning from a generator, the same numbers as
// fit/evaluate on the same batches, validation, callbacks, batchesPerEpoch, classWeight,
// several inputs and outputs, memory, and bad input.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const tf = require('..');

const range = (n) => [...Array(n).keys()];

function linear(lr = 0.05) {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  model.compile({ optimizer: tf.train.sgd(lr), loss: 'meanSquaredError' });
  return model;
}

// y = 2x - 1 on 32 points of [-1, 1), yielded one sample at a time and batched by 8.
function lineDataset() {
  return tf.data.generator(function* points() {
    for (let i = 0; i < 32; i++) {
      const x = i / 16 - 1;
      yield { xs: [x], ys: [2 * x - 1] };
    }
  }).batch(8);
}

// A small classifier and the same one with identical weights.
function classifierPair(metrics = ['accuracy']) {
  const make = () => tf.sequential({ layers: [
    tf.layers.dense({ units: 5, inputShape: [3], activation: 'relu' }),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  const a = make();
  const b = make();
  b.setWeights(a.getWeights());
  for (const m of [a, b]) m.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics });
  return [a, b];
}

const LABELS = [0, 1, 2, 2, 1, 0, 0, 1, 2, 1, 0, 2, 1, 1, 0, 2, 0, 1, 2, 0, 1, 2];
const X = tf.randomNormal([LABELS.length, 3], 0, 1, 'float32', 7);
const Y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3);

// The rows of X and Y as a dataset of batches (the last one smaller).
function rowsDataset(batchSize) {
  return tf.data.zip({ xs: tf.data.array(tf.unstack(X)), ys: tf.data.array(tf.unstack(Y)) }).batch(batchSize);
}

const weightsOf = (m) => m.getWeights().map((w) => Array.from(w.dataSync()));

test('a linear model learns y = 2x - 1 from a generator dataset', async () => {
  const model = linear();
  const h = await model.fitDataset(lineDataset(), { epochs: 60, verbose: 0 });
  assert.deepEqual(h.epoch, range(60));
  assert.deepEqual(Object.keys(h.history), ['loss']);
  assert.ok(h.history.loss[59] < h.history.loss[0] / 100, `loss ${h.history.loss[0]} → ${h.history.loss[59]}`);
  assert.ok(h.history.loss[59] < 1e-3, `final loss ${h.history.loss[59]}`);
  const p = model.predict(tf.tensor2d([[5]])).dataSync()[0];
  assert.ok(Math.abs(p - 9) < 0.1, `predict(5) = ${p}`);
  assert.deepEqual(h.params, {
    epochs: 60, initialEpoch: 0, samples: null, steps: null, batchSize: null, verbose: 0, doValidation: false, metrics: ['loss'],
  });
});

test('an epoch of fitDataset gives the numbers of fit with shuffle: false on the same batches', async () => {
  const [a, b] = classifierPair();
  const vx = tf.randomNormal([7, 3], 0, 1, 'float32', 8);
  const vy = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0], 'int32'), 3);
  const fitted = await a.fit(X, Y, { batchSize: 5, epochs: 4, shuffle: false, verbose: 0, validationData: [vx, vy] });
  const fromDataset = await b.fitDataset(rowsDataset(5), { epochs: 4, verbose: 0, validationData: [vx, vy], validationBatchSize: 5 });
  assert.deepEqual(fromDataset.epoch, fitted.epoch);
  assert.deepEqual(fromDataset.history, fitted.history);
  assert.deepEqual(Object.keys(fromDataset.history), ['val_loss', 'val_acc', 'loss', 'acc']);
  assert.deepEqual(weightsOf(b), weightsOf(a));
  assert.equal(fromDataset.params.steps, 5);
});

test('classWeight: the numbers of fit with the same classWeight', async () => {
  const [a, b] = classifierPair();
  const classWeight = { 0: 1, 1: 4, 2: 0.5 };
  const fitted = await a.fit(X, Y, { batchSize: 6, epochs: 3, shuffle: false, verbose: 0, classWeight });
  const fromDataset = await b.fitDataset(rowsDataset(6), { epochs: 3, verbose: 0, classWeight });
  assert.deepEqual(fromDataset.history, fitted.history);
  assert.deepEqual(weightsOf(b), weightsOf(a));
  // The weights matter: without them the first epoch's loss differs.
  const [c] = classifierPair();
  const plain = await c.fitDataset(rowsDataset(6), { epochs: 1, verbose: 0 });
  assert.notEqual(plain.history.loss[0], fromDataset.history.loss[0]);
  await assert.rejects(b.fitDataset(rowsDataset(6), { epochs: 1, verbose: 0, classWeight: { 0: 1, 1: 2 } }),
    /fitDataset: classWeight must contain all classes in the training data; class 2 exists in the data/);
});

test('evaluateDataset: the numbers of evaluate with the same batch size; batches limits it', async () => {
  const [a] = classifierPair(['accuracy', 'mse']);
  const want = a.evaluate(X, Y, { batchSize: 4 }).map((t) => t.dataSync()[0]);
  const got = await a.evaluateDataset(rowsDataset(4));
  assert.equal(got.length, 3);
  assert.deepEqual(got.map((t) => t.shape), [[], [], []]);
  assert.deepEqual(got.map((t) => t.dataSync()[0]), want);
  const firstTwo = a.evaluate(X.slice(0, 8), Y.slice(0, 8), { batchSize: 4 }).map((t) => t.dataSync()[0]);
  assert.deepEqual((await a.evaluateDataset(rowsDataset(4), { batches: 2 })).map((t) => t.dataSync()[0]), firstTwo);
  // An iterator works too, and a one-metric-free model returns one scalar.
  const model = linear();
  const loss = await model.evaluateDataset(await lineDataset().iterator());
  assert.ok(loss instanceof tf.Tensor && loss.rank === 0);
});

test('validation on a dataset: val_* are evaluateDataset of it after each epoch', async () => {
  const model = linear();
  const val = lineDataset().take(2);
  const logs = [];
  const h = await model.fitDataset(lineDataset(), {
    epochs: 3, verbose: 0, validationData: val,
    callbacks: { onEpochEnd: async (epoch, l) => { logs.push([l.val_loss, (await model.evaluateDataset(val)).dataSync()[0]]); } },
  });
  for (const [logged, now] of logs) assert.ok(Math.abs(logged - now) <= 1e-6 * Math.max(1, Math.abs(now)), `${logged} vs ${now}`);
  assert.deepEqual(Object.keys(h.history), ['val_loss', 'loss']);
  assert.deepEqual(h.params.metrics, ['loss', 'val_loss']);
  // validationBatches limits the validation batches.
  const one = await linear().fitDataset(lineDataset(), { epochs: 1, verbose: 0, validationData: lineDataset(), validationBatches: 1 });
  assert.equal(one.history.val_loss.length, 1);
});

test('callbacks: hooks in tfjs order with tfjs logs; async hooks are awaited', async () => {
  const model = linear();
  const events = [];
  const h = await model.fitDataset(lineDataset().take(2), {
    epochs: 2, verbose: 0, validationData: lineDataset().take(1),
    callbacks: [{
      onTrainBegin: (logs) => events.push(`trainBegin ${JSON.stringify(logs)}`),
      onEpochBegin: async (e) => { await new Promise((r) => setTimeout(r, 2)); events.push(`epochBegin ${e}`); },
      onBatchBegin: (b, logs) => events.push(`batchBegin ${b} ${JSON.stringify(logs)}`),
      onBatchEnd: async (b, logs) => { await new Promise((r) => setImmediate(r)); events.push(`batchEnd ${b} ${Object.keys(logs)} ${typeof logs.loss}`); },
      onEpochEnd: (e, logs) => events.push(`epochEnd ${e} ${Object.keys(logs)}`),
      onTrainEnd: () => events.push('trainEnd'),
    }, { onEpochEnd: (e) => events.push(`second ${e}`) }],
  });
  assert.deepEqual(events, [
    'trainBegin {}',
    'epochBegin 0', 'batchBegin 0 {"batch":0,"size":8}', 'batchEnd 0 batch,size,loss number',
    'batchBegin 1 {"batch":1,"size":8}', 'batchEnd 1 batch,size,loss number', 'epochEnd 0 val_loss,loss', 'second 0',
    'epochBegin 1', 'batchBegin 0 {"batch":0,"size":8}', 'batchEnd 0 batch,size,loss number',
    'batchBegin 1 {"batch":1,"size":8}', 'batchEnd 1 batch,size,loss number', 'epochEnd 1 val_loss,loss', 'second 1',
    'trainEnd',
  ]);
  assert.equal(h.params.steps, null, "a generator's size is unknown");
});

test('epoch logs are the batch values averaged by batch size (a small last batch counts less)', async () => {
  const model = linear();
  const batches = [];
  const h = await model.fitDataset(rowsOfLine(10).batch(4), {
    epochs: 1, verbose: 0, callbacks: { onBatchEnd: (b, logs) => batches.push([logs.size, logs.loss]) },
  });
  assert.deepEqual(batches.map(([n]) => n), [4, 4, 2]);
  const mean = batches.reduce((s, [n, l]) => s + n * l, 0) / 10;
  assert.equal(h.history.loss[0], mean);
});

function rowsOfLine(n) {
  return tf.data.array(range(n).map((i) => ({ xs: [i / n], ys: [2 * (i / n) - 1] })));
}

test('stopTraining, earlyStopping and initialEpoch', async () => {
  const model = linear();
  const h = await model.fitDataset(lineDataset(), {
    epochs: 50, verbose: 0, callbacks: { onEpochEnd: (e) => { if (e === 2) model.stopTraining = true; } },
  });
  assert.deepEqual(h.epoch, [0, 1, 2]);
  // Stopping from a batch ends the epoch after that batch, with the logs of the batches done.
  const seen = [];
  const h2 = await linear().fitDataset(lineDataset(), {
    epochs: 5, verbose: 0, callbacks: { onBatchEnd(b, logs) { seen.push(b); if (b === 1) this.model.stopTraining = true; }, setModel(m) { this.model = m; } },
  });
  assert.deepEqual(seen, [0, 1]);
  assert.deepEqual(h2.epoch, [0]);
  // earlyStopping on a loss that cannot improve (learning rate 0) stops after patience + 1 epochs.
  const frozen = linear(0);
  const h3 = await frozen.fitDataset(lineDataset(), { epochs: 20, verbose: 0, callbacks: tf.callbacks.earlyStopping({ monitor: 'loss', patience: 2 }) });
  assert.deepEqual(h3.epoch, [0, 1, 2, 3]);
  const h4 = await linear().fitDataset(lineDataset(), { epochs: 5, initialEpoch: 3, verbose: 0 });
  assert.deepEqual(h4.epoch, [3, 4]);
});

test('batchesPerEpoch: one iterator runs on across epochs of a repeated dataset', async () => {
  const model = linear();
  const firsts = [];
  // 4 batches per pass; 3 per epoch, so epoch 2 starts inside the second pass.
  const ds = tf.data.generator(function* points() { for (let i = 0; i < 32; i++) yield { xs: [i], ys: [i] }; }).batch(8).repeat();
  const h = await model.fitDataset(ds.map((b) => { firsts.push(b.xs.dataSync()[0]); return b; }), {
    epochs: 3, batchesPerEpoch: 3, verbose: 0, callbacks: { onBatchEnd: () => {} },
  });
  assert.deepEqual(h.epoch, [0, 1, 2]);
  assert.deepEqual(firsts, [0, 8, 16, 24, 0, 8, 16, 24, 0]);
  assert.equal(h.params.steps, 3);
});

test('batchesPerEpoch beyond the data: a warning, and training stops where the data ends', async (t) => {
  const warnings = [];
  t.mock.method(console, 'warn', (m) => warnings.push(m));
  const model = linear();
  const h = await model.fitDataset(lineDataset(), { epochs: 3, batchesPerEpoch: 3, verbose: 0 });
  assert.deepEqual(h.epoch, [0, 1]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /fitDataset: the dataset ran out of data after 1 batch\(es\) of epoch 2 \(batchesPerEpoch is 3, so 9 batches are needed\)/);
});

test('several inputs and outputs: elements as arrays or as objects keyed by layer name', async () => {
  const a = tf.input({ shape: [2], name: 'left' });
  const b = tf.input({ shape: [1], name: 'right' });
  const joined = tf.layers.concatenate().apply([a, b]);
  const sum = tf.layers.dense({ units: 1, name: 'sum' }).apply(joined);
  const diff = tf.layers.dense({ units: 1, name: 'diff' }).apply(joined);
  const model = tf.model({ inputs: [a, b], outputs: [sum, diff] });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: ['meanSquaredError', 'meanAbsoluteError'] });
  const rows = range(12).map((i) => [i / 12, 1 - i / 12, i % 3 / 3]);
  const element = (r) => ({ l: [r[0], r[1]], r: [r[2]], s: [r[0] + r[1] + r[2]], d: [r[0] - r[2]] });
  const asArrays = tf.data.array(rows.map(element)).batch(4).map((e) => ({ xs: [e.l, e.r], ys: [e.s, e.d] }));
  const asObjects = tf.data.array(rows.map(element)).batch(4).map((e) => ({ xs: { left: e.l, right: e.r }, ys: { sum: e.s, diff: e.d } }));
  const start = model.getWeights();
  const h1 = await model.fitDataset(asArrays, { epochs: 3, verbose: 0 });
  model.setWeights(start);
  const h2 = await model.fitDataset(asObjects, { epochs: 3, verbose: 0 });
  assert.deepEqual(h2.history, h1.history);
  assert.deepEqual(Object.keys(h1.history), model.metricsNames);
  assert.equal(model.metricsNames.length, 3);
  const e = await model.evaluateDataset(asObjects);
  assert.equal(e.length, 3);
  await assert.rejects(model.fitDataset(tf.data.array(rows.map(element)).batch(4).map((x) => ({ xs: { left: x.l }, ys: { sum: x.s, diff: x.d } })), { epochs: 1, verbose: 0 }),
    /fitDataset: the dataset element's xs lacks the input key 'right' \(it has keys \{left\}\)/);
  await assert.rejects(model.fitDataset(asArrays.map((x) => ({ xs: x.xs[0], ys: x.ys })), { epochs: 1, verbose: 0 }),
    /fitDataset: the dataset element's xs is one Tensor, but the model has 2 inputs \(left, right\)/);
});

test('fitDataset disposes each batch after training; many batches leave numTensors where it was', async () => {
  const model = linear();
  await model.fitDataset(lineDataset(), { epochs: 1, verbose: 0 });
  // Tensors earlier tests dropped are freed by the garbage collector whenever it runs: let it
  // run to the end before each count, so only what fitDataset keeps is measured.
  const settle = async () => { for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); } };
  await settle();
  const before = tf.memory().numTensors;
  await model.fitDataset(lineDataset().repeat(), { epochs: 5, batchesPerEpoch: 40, verbose: 0, validationData: lineDataset().take(1) });
  await model.evaluateDataset(lineDataset()).then((t) => t.dispose());
  await settle();
  assert.equal(tf.memory().numTensors, before);
});

test('fitDataset keeps the event loop running', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 64, inputShape: [32], activation: 'relu' }), tf.layers.dense({ units: 1 })] });
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const ds = tf.data.array(range(64)).map(() => ({ xs: tf.randomNormal([32, 32]), ys: tf.randomNormal([32, 1]) }));
  await model.fitDataset(ds, { epochs: 3, verbose: 0 });
  clearInterval(timer);
  assert.ok(ticks > 5, `timer fired ${ticks} times`);
});

test('onYield and yieldEvery', async () => {
  const yields = [];
  await linear().fitDataset(lineDataset(), { epochs: 2, verbose: 0, yieldEvery: 0, callbacks: { onYield: (e, b, logs) => yields.push([e, b, typeof logs.loss]) } });
  assert.deepEqual(yields, [[0, 0, 'number'], [0, 1, 'number'], [0, 2, 'number'], [0, 3, 'number'], [1, 0, 'number'], [1, 1, 'number'], [1, 2, 'number'], [1, 3, 'number']]);
  await assert.rejects(linear().fitDataset(lineDataset(), { epochs: 1, yieldEvery: 'never', callbacks: { onYield: () => {} } }),
    /fitDataset: yieldEvery is 'never', but a callback has an onYield hook/);
  await assert.rejects(linear().fitDataset(lineDataset(), { epochs: 1, yieldEvery: 'often' }), /yieldEvery must be 'auto', 'batch', 'epoch', 'never' or a number/);
});

test('verbose: 1 prints an epoch header and a summary line for a dataset of unknown size', () => {
  // In a child process, so its stdout is the progress output alone (not a TTY: plain lines).
  const script = `
    const tf = require(${JSON.stringify(require.resolve('..'))});
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const ds = tf.data.generator(function* () { for (let i = 0; i < 32; i++) yield { xs: [i / 32], ys: [i / 16] }; }).batch(8);
    model.fitDataset(ds, { epochs: 2 }).catch((e) => { console.error(e); process.exit(1); });`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 4, out);
  assert.equal(lines[0], 'Epoch 1 / 2');
  assert.match(lines[1], /^\d+ms \d+us\/step - loss=\d/);
  assert.equal(lines[2], 'Epoch 2 / 2');
  assert.match(lines[3], /^\d+ms \d+us\/step - loss=\d/);
  assert.doesNotMatch(out, /NaN/);
});

test('bad input is a clear error, and the model stays usable', async () => {
  const model = linear();
  const ok = lineDataset();
  const cases = [
    [() => model.fitDataset(ok), /fitDataset: the second argument \{epochs, \.\.\.\} is required/],
    [() => model.fitDataset(ok, {}), /fitDataset: epochs must be a positive integer, but got undefined/],
    [() => model.fitDataset(ok, { epochs: 1.5 }), /epochs must be a positive integer, but got number 1\.5/],
    [() => model.fitDataset(ok, { epochs: 1, batchesPerEpoch: 0 }), /batchesPerEpoch must be a positive integer/],
    [() => model.fitDataset(ok, { epochs: 1, batchSize: 8 }), /fitDataset: unknown argument 'batchSize'/],
    [() => model.fitDataset(ok, { epochs: 1, validationSplit: 0.2 }), /validationSplit is not supported by fitDataset\(\); use validationData/],
    [() => model.fitDataset(ok, { epochs: 1, validationData: [tf.ones([2, 1])] }), /validationData must be a Dataset or \[xVal, yVal\]/],
    [() => model.fitDataset(ok, { epochs: 1, validationData: [tf.ones([2, 1]), tf.ones([2, 1]), tf.ones([2])] }), /sample weights .* not supported/],
    [() => model.fitDataset([1, 2], { epochs: 1 }), /fitDataset: expected a tf\.data\.Dataset as the first argument, but got an array/],
    [() => model.fitDataset(tf.data.array([]), { epochs: 1, verbose: 0 }), /fitDataset: the dataset yielded no elements in epoch 1/],
    [() => model.fitDataset(tf.data.array([1, 2]), { epochs: 1, verbose: 0 }), /fitDataset: a dataset element must be an object \{xs, ys\} .*but the dataset yielded number 1/],
    [() => model.fitDataset(tf.data.array([{ xs: tf.ones([2, 1]) }]), { epochs: 1, verbose: 0 }), /an object with keys \{xs\}/],
    [() => model.fitDataset(tf.data.array([{ xs: [1], ys: [1] }]), { epochs: 1, verbose: 0 }), /xs is an array of numbers, not of Tensors; batch the dataset/],
    [() => model.fitDataset(tf.data.array([{ xs: tf.ones([2, 3]), ys: tf.ones([2, 1]) }]), { epochs: 1, verbose: 0 }),
      /fitDataset: input 0 of .* expects batches of shape \[null,1\], but the dataset yielded xs\[0\] of shape \[2,3\]/],
    [() => model.fitDataset(tf.data.array([{ xs: tf.ones([2, 1]), ys: tf.ones([3, 1]) }]), { epochs: 1, verbose: 0 }),
      /must share the batch size; xs\[0\] has 2 rows but ys\[0\] has 3/],
    [() => model.fitDataset(tf.data.array([{ xs: tf.ones([2, 1]), ys: tf.ones([2, 4]) }]), { epochs: 1, verbose: 0 }), /fitDataset: expected target .* of shape \[null,1\], but got \[2,4\]/],
    [() => model.fitDataset(tf.data.array([{ xs: tf.scalar(1), ys: tf.scalar(1) }]), { epochs: 1, verbose: 0 }), /xs\[0\] of the dataset element is a scalar/],
    [() => model.evaluateDataset(tf.data.array([])), /evaluateDataset: the dataset yielded no elements to evaluate/],
    [() => model.evaluateDataset(ok, { batches: -1 }), /evaluateDataset: batches must be a positive integer/],
    [() => model.evaluateDataset(ok, { batch: 1 }), /evaluateDataset: unknown argument 'batch'/],
    [() => model.evaluateDataset(null), /evaluateDataset: expected a tf\.data\.Dataset/],
  ];
  for (const [call, pattern] of cases) {
    await assert.rejects(call(), pattern);
    assert.equal(model.isTraining, false);
  }
  // A tensor yielded twice: the first batch disposed it.
  const t = { xs: tf.ones([2, 1]), ys: tf.ones([2, 1]) };
  await assert.rejects(model.fitDataset(tf.data.generator(function* twice() { yield t; yield t; }), { epochs: 1, verbose: 0 }),
    /xs\[0\] of the dataset element is a disposed Tensor/);
  // An error from the data source or a callback rejects with that error.
  class SourceError extends Error {}
  await assert.rejects(model.fitDataset(tf.data.generator(function* failing() { yield { xs: tf.ones([2, 1]), ys: tf.ones([2, 1]) }; throw new SourceError('no more'); }), { epochs: 1, verbose: 0 }),
    (e) => e instanceof SourceError && /no more/.test(e.message));
  await assert.rejects(model.fitDataset(ok, { epochs: 2, verbose: 0, callbacks: { onBatchEnd: () => { throw new SourceError('callback'); } } }),
    (e) => e instanceof SourceError);
  const uncompiled = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  await assert.rejects(uncompiled.fitDataset(ok, { epochs: 1 }), /fitDataset: you must compile a model before training/);
  await assert.rejects(uncompiled.evaluateDataset(ok), /evaluateDataset: you must compile a model/);
  const h = await model.fitDataset(ok, { epochs: 2, verbose: 0 });
  assert.deepEqual(h.epoch, [0, 1]);
  assert.ok(Number.isFinite(h.history.loss[1]));
});

test('a second fit while fitDataset runs is rejected; two models train at once', async () => {
  const a = linear();
  const b = linear();
  const long = lineDataset().repeat(20);
  const running = a.fitDataset(long, { epochs: 1, verbose: 0 });
  await assert.rejects(a.fitDataset(lineDataset(), { epochs: 1, verbose: 0 }), /fitDataset: .* is already training/);
  await assert.rejects(a.fit(tf.ones([2, 1]), tf.ones([2, 1]), { verbose: 0 }), /already training/);
  await assert.rejects(a.trainOnBatch(tf.ones([2, 1]), tf.ones([2, 1])), /already training/);
  const [ha, hb] = await Promise.all([running, b.fitDataset(long, { epochs: 1, verbose: 0 })]);
  assert.equal(ha.history.loss.length, 1);
  assert.equal(hb.history.loss.length, 1);
  assert.equal(a.isTraining, false);
  const after = await a.fitDataset(lineDataset(), { epochs: 1, verbose: 0 });
  assert.equal(after.epoch.length, 1);
});
