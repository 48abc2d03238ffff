'use strict';
// Masks: Masking and Embedding({maskZero}) make them, recurrent layers skip masked steps, in
// models (predict, fit, eager apply) and in direct layer calls with kwargs.mask. Values against
// tfjs are pinned by the masking cases of layers.parity.test.js; here, the API and its errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

const ones = () => tf.initializers.ones();
// SimpleRNN, 1 unit, linear, all-ones kernels, no bias: h ← Σx + h (counts the features it sees).
const counter = (config = {}) => tf.layers.simpleRNN({ units: 1, activation: 'linear', useBias: false,
  kernelInitializer: ones(), recurrentInitializer: ones(), ...config });

test('computeMask of Masking and Embedding, and a layer called with kwargs.mask', () => {
  const x = tf.tensor3d([[[1, 1], [0, 0], [1, 0]], [[0, 0], [0, 0], [2, 1]]]);
  const mask = tf.layers.masking({ maskValue: 0 }).computeMask(x);
  assert.equal(mask.dtype, 'bool');
  assert.deepEqual(mask.arraySync(), [[1, 0, 1], [0, 0, 1]]);
  const emb = tf.layers.embedding({ inputDim: 4, outputDim: 2, maskZero: true });
  assert.deepEqual(emb.computeMask(tf.tensor2d([[0, 3], [2, 0]], [2, 2], 'int32')).arraySync(), [[0, 1], [1, 0]]);
  assert.equal(tf.layers.embedding({ inputDim: 4, outputDim: 2 }).computeMask(tf.tensor2d([[0, 3]], [1, 2], 'int32')), null);
  const rnn = counter();
  // Row 0 sees steps 0 and 2 (2 + 1 = 3); row 1 only step 2 (3).
  assert.deepEqual(rnn.apply(x, { mask }).arraySync(), [[3], [3]]);
  assert.deepEqual(rnn.apply(x).arraySync(), [[3], [3]], 'zero steps add nothing to a linear counter');
  const seq = counter({ returnSequences: true });
  assert.deepEqual(seq.apply(x, { mask }).arraySync(), [[[2], [2], [3]], [[0], [0], [3]]]);
  assert.deepEqual(seq.computeMask(x, mask).arraySync(), mask.arraySync());
  assert.equal(rnn.computeMask(x, mask), null);
});

test('masks flow through a model in predict, fit and eager apply alike', async () => {
  const build = () => tf.sequential({ layers: [tf.layers.embedding({ inputDim: 5, outputDim: 1, maskZero: true, inputLength: 4, embeddingsInitializer: ones() }),
    counter()] });
  const ids = tf.tensor2d([[1, 0, 2, 0], [0, 0, 0, 3], [4, 4, 4, 4]], [3, 4], 'int32');
  const model = build();
  assert.deepEqual(model.predict(ids).arraySync(), [[2], [1], [4]]);
  assert.deepEqual(model.apply(ids).arraySync(), [[2], [1], [4]]);
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  const [loss] = (await model.fit(ids, tf.zeros([3, 1]), { epochs: 1, verbose: 0 })).history.loss;
  assert.ok(Math.abs(loss - (4 + 1 + 16) / 3) < 1e-5, `the first loss sees the masked counts, got ${loss}`);
});

test('bad masks are errors naming the layer', () => {
  const rnn = counter({ name: 'masked_rnn' });
  const x = tf.ones([2, 3, 2]);
  assert.throws(() => rnn.apply(x, { mask: [[1, 0, 1], [1, 1, 1]] }), /masked_rnn: a mask must be a Tensor \(or null\)/);
  assert.throws(() => rnn.apply(x, { mask: tf.ones([2, 2], 'bool') }), /masked_rnn.*a mask of shape \[2,3\].*\[2,2\]/);
});
