'use strict';
// The README's quick start, as a user would run it.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

const close = (got, want, tol = 1e-5) => {
  assert.equal(got.length, want.length, `length ${got.length} vs ${want.length}`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `[${i}] ${got[i]} vs ${want[i]}`);
};

test('matMul + add of a scalar, printed in tfjs layout', () => {
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const r = a.matMul(a).add(tf.scalar(1));
  assert.deepEqual(r.shape, [2, 2]);
  assert.deepEqual(Array.from(r.dataSync()), [8, 11, 16, 23]);
  assert.equal(r.toString(), 'Tensor\n    [[8 , 11],\n     [16, 23]]');
});

test('grad of x => x.square().sum() is 2x', () => {
  const f = (x) => x.square().sum();
  const g = tf.grad(f)(tf.tensor1d([1, 2, 3]));
  assert.deepEqual(Array.from(g.dataSync()), [2, 4, 6]);
});

test('a JS kernel with a JS gradient, run through runKernel', () => {
  tf.registerKernel({
    kernelName: 'MySquare', backendName: tf.getBackend(), kernelFunc: ({ inputs, backend }) => {
      const v = backend.readSync(inputs.x.dataId);
      return backend.makeTensorInfo(inputs.x.shape, 'float32', v.map((e) => e * e));
    },
  });
  tf.registerGradient({ kernelName: 'MySquare', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => dy.mul(x).mul(2) }) });
  const y = tf.engine().runKernel('MySquare', { x: tf.tensor1d([3, 4]) });
  assert.deepEqual(Array.from(y.dataSync()), [9, 16]);
  const g = tf.grad((x) => tf.engine().runKernel('MySquare', { x }).sum())(tf.tensor1d([3]));
  assert.deepEqual(Array.from(g.dataSync()), [6]);
  tf.unregisterKernel('MySquare', tf.getBackend());
  tf.unregisterGradient('MySquare');
});

test('adam minimises (w - 2)^2 to w = 2', () => {
  const opt = tf.train.adam(0.1);
  const w = tf.variable(tf.scalar(5));
  for (let i = 0; i < 100; i++) opt.minimize(() => w.sub(2).square());
  close(w.dataSync(), [2], 0.05);
  w.dispose();
});

test('loads as CommonJS and ESM', async () => {
  const esm = await import('../index.mjs');
  assert.equal(esm.getBackend(), 'cpu');
  assert.equal(typeof esm.default.tensor, 'function');
  assert.equal(tf.getBackend(), 'cpu');
  await tf.setBackend('cpu');
  await tf.setBackend('tensorflow');
  await tf.ready();
  assert.equal(tf.version.tfjs, '4.22.0');
  assert.equal(tf.version.ferrograd, require('../package.json').version);
  assert.equal(tf.env().get('IS_NODE'), true);
  assert.equal(tf.env().getBool('DEBUG'), false);
});
