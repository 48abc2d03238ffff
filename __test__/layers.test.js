'use strict';
// The Layers API: factories with tfjs configs, apply on SymbolicTensors and Tensors, models.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

test('dense: tfjs config fields, defaults and getConfig', () => {
  const d = tf.layers.dense({ units: 2, name: 'cfg_dense' });
  assert.deepEqual(d.getConfig(), {
    units: 2, activation: 'linear', useBias: true,
    kernelInitializer: { className: 'VarianceScaling', config: { scale: 1, mode: 'fanAvg', distribution: 'normal', seed: null } },
    biasInitializer: { className: 'Zeros', config: {} }, kernelRegularizer: null, biasRegularizer: null,
    activityRegularizer: null, kernelConstraint: null, biasConstraint: null, name: 'cfg_dense', trainable: true,
  });
  const again = tf.layers.dense(d.getConfig());
  assert.deepEqual(again.getConfig(), d.getConfig());
});

test('unknown config keys name the closest known key; bad values name the field', () => {
  assert.throws(() => tf.layers.dense({ units: 2, activaton: 'relu' }), /Dense: unknown config field 'activaton' \(did you mean 'activation'\?\)/);
  assert.throws(() => tf.layers.dense({}), /Dense: config.units is required/);
  assert.throws(() => tf.layers.dense({ units: -1 }), /units must be a non-negative integer|units must be a positive integer/);
  assert.throws(() => tf.layers.dense({ units: 2, activation: 'relux' }), /unknown activation 'relux'/);
  assert.throws(() => tf.layers.dropout({ rate: 1.5 }), /Dropout: config.rate must be a number in \[0, 1\)/);
});

test('apply: symbolic shapes and eager values (the seed examples)', () => {
  const myInput = tf.input({ shape: [2, 4] });
  const flatten = tf.layers.flatten();
  assert.deepEqual(flatten.apply(myInput).shape, [null, 8]);
  const out = flatten.apply(tf.ones([2, 3, 4]));
  assert.deepEqual(out.shape, [2, 12]);
  assert.deepEqual(Array.from(out.dataSync()), new Array(24).fill(1));
});

test('tfjs-style names for layers, weights and models', () => {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 3, inputShape: [2] }));
  m.add(tf.layers.dense({ units: 1 }));
  assert.match(m.name, /^sequential_\d+$/);
  for (const l of m.layers) assert.match(l.name, /^dense_Dense\d+$/);
  assert.deepEqual(m.weights.map((w) => w.name.replace(/\d+\//, '/')), ['dense_Dense/kernel', 'dense_Dense/bias', 'dense_Dense/kernel', 'dense_Dense/bias']);
  assert.deepEqual(m.weights.map((w) => w.shape), [[2, 3], [3], [3, 1], [1]]);
  assert.equal(m.countParams(), 13);
  assert.deepEqual(m.outputs[0].shape, [null, 1]);
});

test('summary prints tfjs\'s layout', () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], name: 'sa' }), tf.layers.dense({ units: 1, name: 'sb' })] });
  const lines = [];
  m.summary(undefined, undefined, (l) => lines.push(l));
  assert.deepEqual(lines, [
    '_'.repeat(90),
    'Layer (type)                Input Shape               Output shape              Param #   ',
    '='.repeat(90),
    'sa (Dense)                  [[null,2]]                [null,3]                  9         ',
    '_'.repeat(90),
    'sb (Dense)                  [[null,3]]                [null,1]                  4         ',
    '='.repeat(90),
    'Total params: 13',
    'Trainable params: 13',
    'Non-trainable params: 0',
    '_'.repeat(90),
  ]);
});

test('functional models with several inputs and outputs', () => {
  const a = tf.input({ shape: [3], name: 'fa' });
  const b = tf.input({ shape: [3], name: 'fb' });
  const shared = tf.layers.dense({ units: 2, name: 'shared' });
  const ya = shared.apply(a);
  const yb = shared.apply(b);
  const m = tf.model({ inputs: [a, b], outputs: [ya, yb] });
  const [oa, ob] = m.predict([tf.ones([4, 3]), tf.zeros([4, 3])]);
  assert.deepEqual(oa.shape, [4, 2]);
  assert.deepEqual(Array.from(ob.dataSync()), new Array(8).fill(0));
  assert.equal(m.getLayer('shared'), shared);
  assert.equal(m.weights.length, 2, 'a shared layer\'s weights count once');
  assert.throws(() => m.predict(tf.ones([4, 3])), /expects 2 input tensor/);
});

test('predict checks input shapes and batches', () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'ones' })] });
  assert.throws(() => m.predict(tf.ones([3, 5])), /predict: input 0 .* expected shape \[null,2\], but got \[3,5\]/);
  const y = m.predict(tf.ones([70, 2]), { batchSize: 32 });
  assert.deepEqual(y.shape, [70, 1]);
  assert.deepEqual(Array.from(y.dataSync()), new Array(70).fill(2));
});

test('getWeights / setWeights in tfjs order, with shape checks', () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] });
  const ws = m.getWeights();
  assert.deepEqual(ws.map((w) => w.shape), [[2, 2], [2]]);
  m.setWeights([tf.tensor2d([[1, 0], [0, 1]]), tf.tensor1d([5, 6])]);
  assert.deepEqual(Array.from(m.predict(tf.tensor2d([[1, 2]])).dataSync()), [6, 8]);
  assert.throws(() => m.setWeights([tf.ones([3, 2]), tf.ones([2])]), /weight 0 .* \[2,2\], got \[3,2\]/);
  assert.deepEqual(Array.from(m.predict(tf.tensor2d([[1, 2]])).dataSync()), [6, 8], 'a rejected setWeights changes nothing');
});

test('a JS layer inside a sequential model', () => {
  class Doubler extends tf.layers.Layer {
    static get className() { return 'Doubler'; }
    call(x) { return tf.mul(Array.isArray(x) ? x[0] : x, 2); }
  }
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 2, inputShape: [2], kernelInitializer: 'ones', useBias: false }));
  m.add(new Doubler({}));
  assert.deepEqual(Array.from(m.predict(tf.tensor2d([[1, 2]])).dataSync()), [6, 6]);
});

test('recurrent layers and wrappers train in fit', async () => {
  const m = tf.sequential();
  m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4 }), inputShape: [5, 3] }));
  m.add(tf.layers.dense({ units: 1 }));
  m.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  const x = tf.randomNormal([32, 5, 3], 0, 1, 'float32', 7);
  const y = tf.sum(x, [1, 2]).reshape([32, 1]).div(5);
  const h = await m.fit(x, y, { epochs: 30, batchSize: 16, verbose: 0 });
  assert.ok(h.history.loss[29] < h.history.loss[0] / 2, `loss ${h.history.loss[0]} → ${h.history.loss[29]}`);
  const g = tf.sequential({ layers: [tf.layers.gru({ units: 6, inputShape: [4, 2], returnSequences: true }), tf.layers.simpleRNN({ units: 3 })] });
  assert.deepEqual(g.predict(tf.ones([3, 4, 2])).shape, [3, 3]);
  assert.deepEqual(g.outputs[0].shape, [null, 3]);
});
