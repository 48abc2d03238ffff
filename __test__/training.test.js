'use strict';
// compile / fit / evaluate / trainOnBatch: the seed example, threading, callbacks, bad input.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

function linear() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, inputShape: [1] }));
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  return model;
}
const xs = tf.tensor2d([[1], [2], [3], [4]], [4, 1]);
const ys = tf.tensor2d([[1], [3], [5], [7]], [4, 1]);

test('the seed example: y = 2x - 1 learned by fit, predict ≈ 9', async () => {
  const model = linear();
  const h = await model.fit(xs, ys, { epochs: 1000, verbose: 0 });
  assert.equal(h.epoch.length, 1000);
  assert.ok(h.history.loss[999] < 0.01, `final loss ${h.history.loss[999]}`);
  const p = model.predict(tf.tensor2d([[5]], [1, 1])).dataSync()[0];
  assert.ok(Math.abs(p - 9) < 0.2, `predict(5) = ${p}`);
  const e = model.evaluate(xs, ys);
  assert.ok(e.dataSync()[0] < 0.01);
});

test('fit keeps the event loop running', async () => {
  const model = linear();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await model.fit(tf.randomNormal([2048, 1]), tf.randomNormal([2048, 1]), { epochs: 20, batchSize: 8, verbose: 0 });
  clearInterval(timer);
  assert.ok(ticks > 5, `timer fired ${ticks} times`);
});

test('callbacks: sync and async hooks in order, with logs', async () => {
  const model = linear();
  const events = [];
  await model.fit(xs, ys, {
    epochs: 2, batchSize: 2, verbose: 0,
    callbacks: {
      onTrainBegin: () => events.push('trainBegin'),
      onEpochBegin: async (e) => { await new Promise((r) => setTimeout(r, 2)); events.push(`epochBegin${e}`); },
      onBatchEnd: (b, logs) => events.push(`batchEnd${b}:${typeof logs.loss}`),
      onEpochEnd: (e, logs) => events.push(`epochEnd${e}:${typeof logs.loss}`),
      onTrainEnd: () => events.push('trainEnd'),
    },
  });
  assert.deepEqual(events, ['trainBegin', 'epochBegin0', 'batchEnd0:number', 'batchEnd1:number', 'epochEnd0:number',
    'epochBegin1', 'batchEnd0:number', 'batchEnd1:number', 'epochEnd1:number', 'trainEnd']);
});

test('a throwing callback rejects fit with that error and the model stays usable', async () => {
  const model = linear();
  class CallbackError extends Error {}
  await assert.rejects(model.fit(xs, ys, { epochs: 3, verbose: 0, callbacks: { onEpochEnd: () => { throw new CallbackError('stop here'); } } }),
    (e) => e instanceof CallbackError && e.message === 'stop here');
  const h = await model.fit(xs, ys, { epochs: 2, verbose: 0 });
  assert.equal(h.epoch.length, 2);
});

test('a second concurrent fit on one model is rejected; two models train at once', async () => {
  const a = linear();
  const b = linear();
  const pa = a.fit(xs, ys, { epochs: 200, verbose: 0 });
  await assert.rejects(a.fit(xs, ys, { epochs: 1, verbose: 0 }), /already training/);
  const [ha, hb] = await Promise.all([pa, b.fit(xs, ys, { epochs: 200, verbose: 0 })]);
  assert.equal(ha.epoch.length, 200);
  assert.equal(hb.epoch.length, 200);
});

test('stopTraining and earlyStopping with restoreBestWeights', async () => {
  const model = linear();
  const h = await model.fit(xs, ys, { epochs: 50, verbose: 0, callbacks: { onEpochEnd: (e) => { if (e === 4) model.stopTraining = true; } } });
  assert.equal(h.epoch.length, 5);
  const m2 = linear();
  // A loss that rises after epoch 0 (lr too large): restoreBestWeights brings epoch 0's weights back.
  m2.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
  let best = null;
  const h2 = await m2.fit(xs, ys, { epochs: 6, verbose: 0, callbacks: [
    tf.callbacks.earlyStopping({ monitor: 'loss', patience: 1, restoreBestWeights: true }),
    { onEpochEnd: (e, logs) => { if (best === null || logs.loss < best.loss) best = { e, loss: logs.loss, w: m2.getWeights().map((t) => Array.from(t.dataSync())) }; } },
  ] });
  assert.ok(h2.epoch.length < 6, 'stopped early');
  assert.deepEqual(m2.getWeights().map((t) => Array.from(t.dataSync())), best.w);
});

test('validationSplit and metrics give tfjs log keys', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })] });
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomNormal([20, 3]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2);
  const h = await model.fit(x, y, { epochs: 2, validationSplit: 0.25, verbose: 0 });
  assert.deepEqual(Object.keys(h.history).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
});

test('bad input is rejected before any weight changes', async () => {
  const model = linear();
  const before = model.getWeights().map((t) => Array.from(t.dataSync()));
  await assert.rejects(model.fit(xs, tf.ones([3, 1]), { verbose: 0 }), /fit/);
  await assert.rejects(model.fit(xs, ys, { epochs: NaN, verbose: 0 }), /epochs must be a positive integer|epochs must be a non-negative integer/);
  await assert.rejects(model.fit(xs, ys, { batchSize: -2, verbose: 0 }), /batchSize/);
  await assert.rejects(model.fit(xs, ys, { validationSplit: 2, verbose: 0 }), /validationSplit/);
  await assert.rejects(model.fit(xs, ys, { epoch: 3 }), /unknown argument 'epoch'/);
  await assert.rejects(model.fit(tf.ones([4, 2]), ys, { verbose: 0 }), /expected shape|\[null,1\]/);
  assert.deepEqual(model.getWeights().map((t) => Array.from(t.dataSync())), before);
  const raw = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  await assert.rejects(raw.fit(xs, ys), /compile/);
  assert.throws(() => raw.compile({ optimizer: 'sgdd', loss: 'meanSquaredError' }), /unknown optimizer 'sgdd'/);
  assert.throws(() => raw.compile({ optimizer: 'sgd', loss: 'meanSquaredErr' }), /meanSquaredErr/);
  assert.throws(() => tf.train.sgd(NaN), /learningRate/);
});

test('custom loss and metric functions', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  const myLoss = (yt, yp) => tf.mean(tf.square(tf.sub(yt, yp)), -1);
  const myMetric = (yt, yp) => tf.mean(tf.abs(tf.sub(yt, yp)), -1);
  model.compile({ optimizer: tf.train.sgd(0.05), loss: myLoss, metrics: [myMetric] });
  const h = await model.fit(xs, ys, { epochs: 200, verbose: 0 });
  assert.ok(h.history.loss[199] < h.history.loss[0] / 10);
  assert.ok('myMetric' in h.history);
});

test('trainOnBatch returns the loss', async () => {
  const model = linear();
  const l1 = await model.trainOnBatch(xs, ys);
  const l2 = await model.trainOnBatch(xs, ys);
  assert.equal(typeof l1, 'number');
  assert.ok(l2 < l1);
});

test('verbose: 1 prints one line per epoch when stdout is not a TTY', async () => {
  const { ProgressLogger } = require('../lib/models/progress');
  const out = [];
  const p = new ProgressLogger(1, { isTTY: false, write: (s) => out.push(s) });
  p.params = { epochs: 2, samples: 4, batchSize: 2 };
  p.onEpochBegin(0);
  p.onProgress(0, { loss: 1 });
  p.onEpochEnd(0, { loss: 0.5, acc: 0.75 });
  assert.equal(out[0], 'Epoch 1 / 2\n');
  assert.match(out[1], /^\d+ms \d+us\/step - loss=0\.5 acc=0\.75\n$/);
  assert.equal(out.length, 2);
});

test('fit calls onYield hooks as yieldEvery says, and rejects contradictory settings', async () => {
  const tf = require('..');
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const x = tf.ones([16, 1]);
  const y = tf.ones([16, 1]);
  const seen = [];
  await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, yieldEvery: 'batch', callbacks: { onYield: (e, b, logs) => seen.push([e, b, typeof logs.loss]) } });
  assert.deepEqual(seen, [[0, 0, 'number'], [0, 1, 'number'], [1, 0, 'number'], [1, 1, 'number']]);
  seen.length = 0;
  await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0, yieldEvery: 'epoch', callbacks: { onYield: (e, b) => seen.push([e, b]) } });
  assert.deepEqual(seen, [[0, 0], [1, 0]]);
  await assert.rejects(model.fit(x, y, { epochs: 1, verbose: 0, yieldEvery: 'never', callbacks: { onYield: () => {} } }), /yieldEvery is 'never', but a callback has an onYield hook/);
  await assert.rejects(model.fit(x, y, { epochs: 1, verbose: 0, yieldEvery: 'sometimes' }), /fit: yieldEvery must be/);
});

test('activityRegularizer adds its penalty on the layer output, divided by the batch size (Keras)', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [3], useBias: false, kernelInitializer: 'ones', activityRegularizer: tf.regularizers.l2({ l2: 0.5 }) })] });
  model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
  const x = tf.ones([2, 3]);
  const y = tf.fill([2, 1], 3);
  // Outputs are 3: the data loss is 0, the penalty 0.5 · (3² + 3²) / 2 = 4.5.
  const h = await model.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
  assert.ok(Math.abs(h.history.loss[0] - 4.5) < 1e-5, `loss ${h.history.loss[0]}`);
  assert.ok(Math.abs(model.evaluate(x, y).dataSync()[0] - 4.5) < 1e-5);
  // Predictions are unaffected.
  assert.deepEqual(Array.from(model.predict(x).dataSync()), [3, 3]);
});

test('a functional model used as a layer of another model trains inside it', async () => {
  const inp = tf.input({ shape: [3] });
  const inner = tf.model({ inputs: inp, outputs: tf.layers.dense({ units: 4, activation: 'relu' }).apply(inp) });
  const outer = tf.sequential();
  outer.add(inner);
  outer.add(tf.layers.dense({ units: 1 }));
  assert.deepEqual(outer.outputs[0].shape, [null, 1]);
  assert.equal(outer.trainableWeights.length, 4);
  outer.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const kernel = inner.layers[1].weights[0];
  const before = Array.from(kernel.dataSync());
  const x = tf.randomNormal([32, 3], 0, 1, 'float32', 1);
  const y = tf.sum(x, 1, true);
  const h = await outer.fit(x, y, { epochs: 3, verbose: 0 });
  assert.notDeepEqual(Array.from(kernel.dataSync()), before, 'the inner model\'s weights train');
  assert.ok(h.history.loss[2] < h.history.loss[0]);
  // Same numbers eagerly and through the graph.
  const direct = outer.predict(x).dataSync();
  const eager = tf.tidy(() => outer.apply(x).dataSync());
  assert.ok(direct.every((v, i) => Math.abs(v - eager[i]) < 1e-5));
});

test('validationFreq, validationBatchSize and validationSteps shape the validation pass', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
  model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
  const x = tf.randomNormal([16, 2], 0, 1, 'float32', 4);
  const y = tf.randomNormal([16, 1], 0, 1, 'float32', 5);
  const vx = tf.randomNormal([10, 2], 0, 1, 'float32', 6);
  const vy = tf.randomNormal([10, 1], 0, 1, 'float32', 7);
  const h = await model.fit(x, y, { epochs: 4, verbose: 0, validationData: [vx, vy], validationFreq: 2 });
  assert.equal(h.history.loss.length, 4);
  assert.equal(h.history.val_loss.length, 2, 'validated after epochs 2 and 4 only');
  const full = model.evaluate(vx, vy).dataSync()[0];
  const hb = await model.fit(x, y, { epochs: 1, verbose: 0, validationData: [vx, vy], validationBatchSize: 3 });
  assert.ok(Math.abs(hb.history.val_loss[0] - full) < 1e-6, 'the batch size of validation does not change its value');
  const hs = await model.fit(x, y, { epochs: 1, verbose: 0, validationData: [vx, vy], validationBatchSize: 4, validationSteps: 1 });
  const first4 = model.evaluate(vx.slice([0, 0], [4, 2]), vy.slice([0, 0], [4, 1])).dataSync()[0];
  assert.ok(Math.abs(hs.history.val_loss[0] - first4) < 1e-6, 'one validation step of 4 rows');
  await assert.rejects(model.fit(x, y, { epochs: 1, verbose: 0, validationData: [vx, vy], validationFreq: 0 }), /validationFreq must be a positive integer, but got 0/);
});
