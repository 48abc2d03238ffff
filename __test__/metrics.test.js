'use strict';
// tf.metrics, tf.regularizers and tf.constraints, each compared with real @tensorflow/tfjs 4.22
// (cpu backend) on the same inputs: values, shapes, gradients of the metrics that are losses,
// the penalties regularizers add to a fitted model's loss, the configs layers serialize, and
// the errors bad arguments raise.

const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');
const tfjs = require('@tensorflow/tfjs');
const H = require('./helpers.js');
const { uniform, rngFor } = require('./layer-cases.js');

test.before(async () => {
  await tfjs.setBackend('cpu');
});

// Same data in both libraries.
const pair = (values, shape, dtype = 'float32') => [tf.tensor(values, shape, dtype), tfjs.tensor(values, shape, dtype)];

function assertSame(got, want, what, tol = { rtol: 1e-5, atol: 1e-6 }) {
  const expected = { shape: want.shape, dtype: want.dtype, values: H.encodeValues(want.dataSync(), want.dtype) };
  H.assertMatchesFixture(assert, got, expected, { ...tol, what });
}

const binary = (key, n) => { const r = rngFor(key); return Array.from({ length: n }, () => (r() < 0.5 ? 0 : 1)); };
const oneHot = (key, rows, k) => {
  const r = rngFor(key);
  const v = new Array(rows * k).fill(0);
  for (let i = 0; i < rows; i++) v[i * k + Math.floor(r() * k)] = 1;
  return v;
};
const indices = (key, n, k) => { const r = rngFor(key); return Array.from({ length: n }, () => Math.floor(r() * k)); };

// [name, yTrue values, yPred values, shape (yTrue shape if different: [shapeTrue, shapePred])]
const CASES = [
  ['binaryAccuracy', binary('ba', 12), [...uniform('bap', [10], 0, 1), 0.5, 0.5000001], [4, 3]],
  ['binaryAccuracy', binary('ba3', 12), uniform('bap3', [12], 0, 1), [2, 2, 3]],
  ['categoricalAccuracy', oneHot('ca', 5, 4), uniform('cap', [20], 0, 1), [5, 4]],
  ['categoricalAccuracy', oneHot('ca2', 6, 3), [1, 1, 0, 0.2, 0.2, 0.2, ...uniform('ca2p', [12], 0, 1)], [2, 3, 3]],
  ['sparseCategoricalAccuracy', indices('sa', 5, 4), uniform('sap', [20], 0, 1), [[5, 1], [5, 4]]],
  ['sparseCategoricalAccuracy', indices('sa2', 5, 4), uniform('sap2', [20], 0, 1), [[5], [5, 4]]],
  ['precision', binary('p', 12), binary('pp', 12), [4, 3]],
  ['precision', binary('p2', 8), uniform('pp2', [8], 0, 1), [8]],
  ['precision', [1, 0, 1, 1], [0, 0, 0, 0], [4]],
  ['recall', binary('r', 12), binary('rp', 12), [6, 2]],
  ['recall', [0, 0, 0], [1, 0, 1], [3]],
  ['binaryCrossentropy', binary('bce', 12), [...uniform('bcep', [10], 0, 1), 0, 1], [4, 3]],
  ['categoricalCrossentropy', oneHot('cce', 4, 3), uniform('ccep', [12], 0.05, 2), [4, 3]],
  ['cosineProximity', uniform('cos', [12], -1, 1), uniform('cosp', [12], -1, 1), [3, 4]],
  ['cosineProximity', uniform('cos3', [12], -1, 1), [...uniform('cosp3', [8], -1, 1), 0, 0, 0, 0], [3, 4]],
  ['meanSquaredError', uniform('mse', [12], -2, 2), uniform('msep', [12], -2, 2), [4, 3]],
  ['MSE', uniform('MSE', [6], -2, 2), uniform('MSEp', [6], -2, 2), [6]],
  ['mse', uniform('mse3', [24], -2, 2), uniform('msep3', [24], -2, 2), [2, 3, 4]],
  ['meanAbsoluteError', uniform('mae', [12], -2, 2), uniform('maep', [12], -2, 2), [4, 3]],
  ['meanAbsolutePercentageError', [...uniform('mape', [10], -2, 2), 0, 0], uniform('mapep', [12], -2, 2), [4, 3]],
  ['MAPE', uniform('MAPE', [6], 0.5, 2), uniform('MAPEp', [6], 0.5, 2), [2, 3]],
  ['mape', uniform('mape2', [6], 0.5, 2), uniform('mapep2', [6], 0.5, 2), [6]],
  ['r2Score', uniform('r2', [12], -2, 2), uniform('r2p', [12], -2, 2), [4, 3]],
];

for (const [name, yt, yp, shapes] of CASES) {
  const [st, sp] = Array.isArray(shapes[0]) ? shapes : [shapes, shapes];
  test(`metrics.${name} on [${st}] / [${sp}] equals tfjs`, () => {
    const [t, jt] = pair(yt, st);
    const [p, jp] = pair(yp, sp);
    assertSame(tf.metrics[name](t, p), tfjs.metrics[name](jt, jp), name);
  });
}

test('metric aliases are the same functions; names tfjs lacks follow their tfjs definitions', () => {
  assert.equal(tf.metrics.mse, tf.metrics.meanSquaredError);
  assert.equal(tf.metrics.MSE, tf.metrics.meanSquaredError);
  assert.equal(tf.metrics.mae, tf.metrics.meanAbsoluteError);
  assert.equal(tf.metrics.MAE, tf.metrics.meanAbsoluteError);
  assert.equal(tf.metrics.mape, tf.metrics.meanAbsolutePercentageError);
  assert.equal(tf.metrics.MAPE, tf.metrics.meanAbsolutePercentageError);
  for (const k of Object.keys(tfjs.metrics)) assert.equal(typeof tf.metrics[k], 'function', `tf.metrics.${k}`);
  // tfjs 4.22 defines sparseCategoricalCrossentropy (and mae) in its metrics module but does not
  // export them; sparse crossentropy is categorical crossentropy of the one-hot labels.
  const labels = indices('scce', 5, 4);
  const probs = uniform('sccep', [20], 0.05, 1);
  const want = tfjs.metrics.categoricalCrossentropy(tfjs.oneHot(tfjs.tensor1d(labels, 'int32'), 4).cast('float32'), tfjs.tensor(probs, [5, 4]));
  assertSame(tf.metrics.sparseCategoricalCrossentropy(tf.tensor(labels, [5, 1]), tf.tensor(probs, [5, 4])), want, 'sparseCategoricalCrossentropy');
  assertSame(tf.metrics.sparseCategoricalCrossentropy(tf.tensor(labels, [5], 'int32'), tf.tensor(probs, [5, 4])), want, 'sparse (int32 labels)');
});

test('the metrics that are losses have tfjs\'s gradients w.r.t. yPred', () => {
  const grad = (lib, name, yt, yp, shape) => lib.grad((p) => lib.sum(lib.metrics[name](lib.tensor(yt, shape), p)))(lib.tensor(yp, shape));
  for (const [name, yt, yp] of [
    ['meanSquaredError', uniform('g1', [12], -1, 1), uniform('g1p', [12], -1, 1)],
    ['meanAbsoluteError', uniform('g2', [12], -1, 1), uniform('g2p', [12], -1, 1)],
    ['meanAbsolutePercentageError', uniform('g3', [12], 0.5, 1), uniform('g3p', [12], -1, 1)],
    ['binaryCrossentropy', binary('g4', 12), uniform('g4p', [12], 0.05, 0.95)],
    ['categoricalCrossentropy', oneHot('g5', 4, 3), uniform('g5p', [12], 0.05, 1)],
    ['cosineProximity', uniform('g6', [12], -1, 1), uniform('g6p', [12], -1, 1)],
    ['r2Score', uniform('g7', [12], -1, 1), uniform('g7p', [12], -1, 1)],
  ]) {
    assertSame(grad(tf, name, yt, yp, [4, 3]), grad(tfjs, name, yt, yp, [4, 3]), `d ${name} / d yPred`, { rtol: 1e-4, atol: 1e-5 });
  }
});

test('metrics in compile log what tf.metrics computes', async () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], activation: 'softmax' })] });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['categoricalAccuracy', 'mse'] });
  const x = tf.tensor(uniform('cx', [12], -1, 1), [6, 2]);
  const y = tf.tensor(oneHot('cy', 6, 3), [6, 3]);
  const pred = model.predict(x);
  const [, acc, mse] = model.evaluate(x, y);
  assertSame(acc, tf.metrics.categoricalAccuracy(y, pred).mean(), 'categoricalAccuracy');
  assertSame(mse, tf.metrics.mse(y, pred).mean(), 'mse');
});

test('bad metric arguments are errors naming the metric', () => {
  assert.throws(() => tf.metrics.binaryAccuracy('a', tf.ones([2])), /'yTrue' passed to 'metrics\.binaryAccuracy' must be a Tensor/);
  assert.throws(() => tf.metrics.categoricalAccuracy(tf.ones([2, 3]), tf.ones([3, 3])), /categoricalAccuracy.*\[2,3\]/);
  assert.throws(() => tf.metrics.sparseCategoricalAccuracy(tf.ones([2, 2]), tf.ones([2, 3])), /sparseCategoricalAccuracy/);
  assert.throws(() => tf.metrics.meanSquaredError(tf.ones([2, 3]), tf.ones([2, 4])), /metrics\.meanSquaredError: .*\[2,4\] and \[2,3\]/);
});

// ---------------------------------------------------------------------------------------------
// Regularizers

const REGULARIZERS = [['l1', undefined], ['l1', { l1: 0.2 }], ['l2', undefined], ['l2', { l2: 0.05 }], ['l1l2', undefined], ['l1l2', { l1: 0.1 }], ['l1l2', { l1: 0, l2: 0.3 }]];

test('regularizers: class, config and penalty as tfjs', () => {
  const w = uniform('rw', [12], -2, 2);
  for (const [fn, args] of REGULARIZERS) {
    const ours = tf.regularizers[fn](args);
    const theirs = tfjs.regularizers[fn](args);
    const what = `regularizers.${fn}(${JSON.stringify(args)})`;
    assert.equal(ours.getClassName(), theirs.getClassName(), what);
    assert.deepEqual(ours.getConfig(), theirs.getConfig(), what);
    assertSame(ours.apply(tf.tensor(w, [3, 4])), theirs.apply(tfjs.tensor(w, [3, 4])), what);
  }
});

test('regularizer objects as layer options serialize as tfjs and enter the fitted loss', async () => {
  const build = (lib) => lib.sequential({ layers: [
    lib.layers.dense({ units: 3, inputShape: [4], activation: 'tanh', kernelRegularizer: lib.regularizers.l1l2({ l1: 0.01, l2: 0.02 }),
      biasRegularizer: lib.regularizers.l2({ l2: 0.1 }), name: 'reg_d1' }),
    lib.layers.dense({ units: 2, kernelRegularizer: lib.regularizers.l1({ l1: 0.05 }), name: 'reg_d2' }),
  ] });
  const ours = build(tf);
  const theirs = build(tfjs);
  for (const [i, key] of [[0, 'kernelRegularizer'], [0, 'biasRegularizer'], [1, 'kernelRegularizer'], [1, 'activityRegularizer']]) {
    assert.deepEqual(ours.layers[i].getConfig()[key], theirs.layers[i].getConfig()[key], `layer ${i} ${key}`);
  }
  const weights = theirs.getWeights().map((w, i) => uniform(`regw${i}`, w.shape, -0.8, 0.8));
  ours.setWeights(weights.map((v, i) => tf.tensor(v, theirs.getWeights()[i].shape)));
  theirs.setWeights(weights.map((v, i) => tfjs.tensor(v, theirs.getWeights()[i].shape)));
  const x = uniform('regx', [20], -1, 1);
  const y = uniform('regy', [10], -1, 1);
  const fit = async (lib, m) => {
    m.compile({ optimizer: lib.train.sgd(0.1), loss: 'meanSquaredError' });
    return (await m.fit(lib.tensor(x, [5, 4]), lib.tensor(y, [5, 2]), { epochs: 3, batchSize: 5, shuffle: false, verbose: 0 })).history.loss;
  };
  const [lo, lt] = [await fit(tf, ours), await fit(tfjs, theirs)];
  lo.forEach((v, i) => assert.ok(Math.abs(v - lt[i]) <= 1e-4 * Math.abs(lt[i]), `loss ${i}: ${v} vs ${lt[i]}`));
  ours.getWeights().forEach((w, i) => assertSame(w, theirs.getWeights()[i], `weight ${i} after fit`, { rtol: 1e-4, atol: 1e-5 }));
  // The penalties are in the loss: without them the first loss is smaller.
  const plain = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], activation: 'tanh' }), tf.layers.dense({ units: 2 })] });
  plain.setWeights(weights.map((v, i) => tf.tensor(v, theirs.getWeights()[i].shape)));
  const lp = await fit(tf, plain);
  assert.ok(lp[0] < lo[0] - 1e-3, `${lp[0]} < ${lo[0]}`);
});

test('a regularizer given to addWeight in a JS layer enters the fitted loss, as in tfjs', async () => {
  const make = (lib) => class Scale extends lib.layers.Layer {
    static get className() { return 'Scale'; }
    constructor(config) { super(config); this.reg = config.reg; }
    build(inputShape) {
      this.kernel = this.addWeight('kernel', [inputShape[1], 2], 'float32', lib.initializers.constant({ value: 0.5 }), this.reg);
    }
    computeOutputShape(s) { return [s[0], 2]; }
    call(inputs) { return lib.matMul(Array.isArray(inputs) ? inputs[0] : inputs, this.kernel.read()); }
  };
  const losses = async (lib) => {
    const Scale = make(lib);
    const m = lib.sequential({ layers: [new Scale({ inputShape: [3], reg: lib.regularizers.l1l2({ l1: 0.1, l2: 0.2 }), name: 'scale_reg' })] });
    m.compile({ optimizer: lib.train.sgd(0.1), loss: 'meanSquaredError' });
    const h = await m.fit(lib.tensor(uniform('sx', [12], -1, 1), [4, 3]), lib.tensor(uniform('sy', [8], -1, 1), [4, 2]), { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
    return h.history.loss;
  };
  const [ours, theirs] = [await losses(tf), await losses(tfjs)];
  ours.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]) <= 1e-5 * Math.abs(theirs[i]), `loss ${i}: ${v} vs ${theirs[i]}`));
});

test('bad regularizer arguments are errors naming the regularizer', () => {
  assert.throws(() => tf.regularizers.l1({ l1: -1 }), /regularizers\.l1: l1 must be a non-negative finite number, got -1/);
  assert.throws(() => tf.regularizers.l1l2({ l2: NaN }), /regularizers\.l1l2: l2/);
  assert.throws(() => tf.regularizers.l2(0.1), /regularizers\.l2: the argument must be an object/);
});

// ---------------------------------------------------------------------------------------------
// Constraints

const CONSTRAINTS = [
  ['maxNorm', undefined], ['maxNorm', { maxValue: 0.8, axis: 1 }], ['maxNorm', { maxValue: 1, axis: [0, 1] }],
  ['unitNorm', undefined], ['unitNorm', { axis: -1 }], ['nonNeg', undefined],
  ['minMaxNorm', undefined], ['minMaxNorm', { minValue: 0.5, maxValue: 1.2, rate: 0.7, axis: 0 }],
];

test('constraints: class, config and projection as tfjs', () => {
  const w = uniform('cw', [12], -1.5, 1.5);
  for (const [fn, args] of CONSTRAINTS) {
    const ours = tf.constraints[fn](args);
    const theirs = tfjs.constraints[fn](args || {});
    const what = `constraints.${fn}(${JSON.stringify(args)})`;
    assert.equal(ours.getClassName(), theirs.getClassName(), what);
    assert.deepEqual(ours.getConfig(), theirs.getConfig(), what);
    assertSame(ours.apply(tf.tensor(w, [3, 4])), theirs.apply(tfjs.tensor(w, [3, 4])), what);
  }
});

test('constraint objects as layer options serialize as tfjs and hold after each fit step', async () => {
  const build = (lib) => lib.layers.dense({ units: 3, inputShape: [2], kernelConstraint: lib.constraints.maxNorm({ maxValue: 0.5, axis: 0 }),
    biasConstraint: lib.constraints.nonNeg(), name: 'con_d' });
  const ours = build(tf);
  const theirs = build(tfjs);
  for (const key of ['kernelConstraint', 'biasConstraint']) assert.deepEqual(ours.getConfig()[key], theirs.getConfig()[key], key);
  // tfjs 4.22's fit leaves constraints out; ferrograd applies them after every update, as Keras.
  const model = tf.sequential({ layers: [ours] });
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
  await model.fit(tf.tensor(uniform('cx', [8], -1, 1), [4, 2]), tf.tensor(uniform('cy', [12], -3, 3), [4, 3]), { epochs: 2, verbose: 0 });
  const [kernel, bias] = model.getWeights();
  for (const n of tf.norm(kernel, 'euclidean', 0).dataSync()) assert.ok(n <= 0.5 + 1e-5, `column norm ${n}`);
  for (const b of bias.dataSync()) assert.ok(b >= 0, `bias ${b}`);
  // The same for a weight a JS layer adds with a constraint.
  class Shift extends tf.layers.Layer {
    static get className() { return 'Shift'; }
    build() { this.shift = this.addWeight('shift', [3], 'float32', tf.initializers.constant({ value: 0.1 }), null, true, tf.constraints.nonNeg()); }
    call(inputs) { return tf.add(Array.isArray(inputs) ? inputs[0] : inputs, this.shift.read()); }
  }
  const shifted = tf.sequential({ layers: [new Shift({ inputShape: [3] })] });
  shifted.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
  await shifted.fit(tf.zeros([4, 3]), tf.fill([4, 3], -1), { epochs: 2, verbose: 0 });
  assert.deepEqual(Array.from(shifted.getWeights()[0].dataSync()), [0, 0, 0]);
});

test('bad constraint arguments are errors naming the constraint', () => {
  assert.throws(() => tf.constraints.maxNorm({ axis: 'x' }), /constraints\.maxNorm: axis must be an integer or a list of integers/);
  assert.throws(() => tf.constraints.minMaxNorm({ minValue: 2, maxValue: 1 }), /constraints\.minMaxNorm: minValue \(2\) must not exceed maxValue \(1\)/);
  assert.throws(() => tf.constraints.unitNorm(3), /constraints\.unitNorm: the argument must be an object/);
  assert.throws(() => tf.layers.dense({ units: 2, kernelConstraint: { className: 'MaxNorm', config: { axis: 'x' } } }), /axis must be an integer or a list/);
});
