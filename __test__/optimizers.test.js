'use strict';
// tf.train optimizers: trajectories against real tfjs, the Optimizer API, and bad input.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');
const fixtures = require('./fixtures/optimizers.json');

const close = (got, want, tol) => {
  got = Array.from(got);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `[${i}] ${got[i]} vs ${want[i]}`);
};

fixtures.cases.forEach((c, k) => {
  test(`${c.name}(${c.args.join(', ')}) follows tfjs for 3 steps`, async () => {
    const opt = tf.train[c.name](...c.args);
    const w = tf.variable(tf.tensor1d(fixtures.init), true, `w`);
    const target = tf.tensor1d(fixtures.target);
    const scale = tf.tensor1d(fixtures.scale);
    for (const want of c.steps) {
      opt.minimize(() => tf.sum(tf.mul(tf.square(tf.sub(w, target)), scale)));
      close(w.dataSync(), want, 1e-5);
    }
    assert.equal(opt.iterations, 3);
    if (c.slotNames) assert.deepEqual((await opt.getWeights()).map((x) => x.name), c.slotNames);
    w.dispose();
    opt.dispose();
    void k;
  });
});

test('computeGradients + applyGradients equal minimize', () => {
  const opt = tf.train.sgd(0.5);
  const w = tf.variable(tf.tensor1d([1, 2]), true, 'cg_w');
  const { value, grads } = opt.computeGradients(() => w.square().sum());
  close(value.dataSync(), [5], 1e-6);
  close(grads.cg_w.dataSync(), [2, 4], 1e-6);
  opt.applyGradients(grads);
  close(w.dataSync(), [0, 0], 1e-6);
  opt.applyGradients([{ name: 'cg_w', tensor: tf.tensor1d([1, 1]) }]);
  close(w.dataSync(), [-0.5, -0.5], 1e-6);
  const cost = opt.minimize(() => w.square().sum(), true);
  close(cost.dataSync(), [0.5], 1e-6);
  w.dispose();
});

test('minimize with a varList updates only those variables', () => {
  const opt = tf.train.sgd(0.1);
  const a = tf.variable(tf.scalar(1), true, 'vl_a');
  const b = tf.variable(tf.scalar(1), true, 'vl_b');
  opt.minimize(() => a.mul(b), false, [a]);
  close(a.dataSync(), [0.9], 1e-6);
  close(b.dataSync(), [1], 1e-6);
  a.dispose(); b.dispose();
});

test('getWeights / setWeights round-trip the slots', async () => {
  const w = tf.variable(tf.tensor1d([1, 2]), true, 'sw_w');
  const a = tf.train.adam(0.1);
  a.minimize(() => w.square().sum());
  const saved = await a.getWeights();
  const b = tf.train.adam(0.1);
  await b.setWeights(saved);
  const w2 = tf.variable(w.clone(), true, 'sw_w2');
  a.minimize(() => w.square().sum());
  // b's slots were saved under sw_w; rename them for w2.
  await b.setWeights(saved.map((s) => ({ name: s.name.replace('sw_w', 'sw_w2'), tensor: s.tensor })));
  b.minimize(() => w2.square().sum());
  close(w2.dataSync(), Array.from(w.dataSync()), 1e-6);
  assert.equal(b.iterations, 2);
  w.dispose(); w2.dispose();
});

test('bad hyperparameters are errors naming the optimizer', () => {
  assert.throws(() => tf.train.sgd(NaN), /sgd: learningRate must be a non-negative finite number, got NaN/);
  assert.throws(() => tf.train.adam(-1), /adam: learningRate/);
  assert.throws(() => tf.train.adam(0.1, 1.5), /Adam.*beta1/);
  assert.throws(() => tf.train.momentum(0.1), /momentum/i);
  const opt = tf.train.sgd(0.1);
  assert.throws(() => opt.applyGradients({ nope: tf.scalar(1) }), /no variable named 'nope'/);
  const w = tf.variable(tf.tensor1d([1, 2]), true, 'bad_shape_w');
  assert.throws(() => opt.applyGradients({ bad_shape_w: tf.tensor1d([1, 2, 3]) }), /\[2\].*\[3\]|\[3\].*\[2\]/);
  close(w.dataSync(), [1, 2], 0);
  w.dispose();
});

test('optimizer classes and config', () => {
  const o = tf.train.rmsprop(0.01, 0.8, 0.1, 1e-6, true);
  assert.ok(o instanceof tf.RMSPropOptimizer && o instanceof tf.Optimizer);
  assert.equal(tf.RMSPropOptimizer.className, 'RMSProp');
  assert.deepEqual(o.getConfig(), { learningRate: 0.01, decay: 0.8, momentum: 0.1, epsilon: 1e-6, centered: true });
});
