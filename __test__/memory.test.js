'use strict';
// tidy, keep, dispose, memory, disposeVariables and garbage-collected handles.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

test('tidy disposes intermediates and keeps the result and kept tensors', () => {
  const before = tf.memory().numTensors;
  let kept;
  const r = tf.tidy(() => {
    const a = tf.tensor1d([1, 2, 3]);
    kept = tf.keep(a.mul(2));
    return a.square().add(1);
  });
  assert.equal(tf.memory().numTensors, before + 2);
  assert.deepEqual(Array.from(r.dataSync()), [2, 5, 10]);
  assert.deepEqual(Array.from(kept.dataSync()), [2, 4, 6]);
  tf.dispose([r, kept]);
  assert.equal(tf.memory().numTensors, before);
});

test('tidy returns containers of tensors; nested tidy moves results outward', () => {
  const before = tf.memory().numTensors;
  const out = tf.tidy(() => {
    const inner = tf.tidy(() => ({ a: tf.scalar(1).add(1), b: [tf.scalar(2).mul(2)] }));
    return { sum: inner.a.add(inner.b[0]) };
  });
  assert.equal(tf.memory().numTensors, before + 1);
  assert.deepEqual(Array.from(out.sum.dataSync()), [6]);
  tf.dispose(out);
  assert.equal(tf.memory().numTensors, before);
});

test('a 10,000-iteration loop that disposes keeps numTensors flat', () => {
  const x = tf.tensor1d([1, 2, 3, 4]);
  const before = tf.memory();
  for (let i = 0; i < 10000; i++) {
    const y = tf.tidy(() => x.mul(2).add(1).relu().sum());
    y.dispose();
  }
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  x.dispose();
});

test('a disposed tensor throws, never crashes', () => {
  const t = tf.tensor1d([1, 2]);
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.dataSync(), /disposed/);
  assert.throws(() => t.add(1), /disposed/);
  assert.throws(() => t.shape, /disposed/);
  t.dispose(); // twice is fine
});

test('disposeVariables releases every variable', () => {
  const before = tf.memory().numTensors;
  tf.variable(tf.scalar(1), true, 'dv_a');
  tf.variable(tf.scalar(2), true, 'dv_b');
  assert.throws(() => tf.variable(tf.scalar(3), true, 'dv_a'), /already registered/);
  tf.disposeVariables();
  assert.ok(tf.memory().numTensors <= before + 3);
  tf.variable(tf.scalar(1), true, 'dv_a').dispose();
});

test('forgotten tensors are freed by the garbage collector', { skip: typeof global.gc !== 'function' && 'run node with --expose-gc' }, async () => {
  const settle = async () => { for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); } };
  await settle();
  const before = tf.memory();
  for (let i = 0; i < 200; i++) tf.ones([1000]);
  assert.equal(tf.memory().numTensors, before.numTensors + 200);
  for (let i = 0; i < 5 && tf.memory().numTensors > before.numTensors; i++) {
    global.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numBytes, before.numBytes);
});

test('calling a model eagerly leaves only its output (intermediates and masks are released)', () => {
  const model = tf.sequential({ layers: [
    tf.layers.masking({ inputShape: [3, 2] }),
    tf.layers.lstm({ units: 2, returnSequences: true }),
    tf.layers.dense({ units: 3 }),
    tf.layers.lstm({ units: 2 }),
  ] });
  const x = tf.tensor3d([[[1, 2], [0, 0], [3, 1]], [[0, 0], [1, 1], [2, -1]]]);
  model.apply(x).dispose();
  const before = tf.memory().numTensors;
  const y = model.apply(x, { training: true });
  assert.equal(tf.memory().numTensors, before + 1);
  assert.deepEqual(y.shape, [2, 2]);
  y.dispose();
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  x.dispose();
});

test('a number operand of a binary op is freed after the op, as in tfjs', () => {
  const a = tf.tensor1d([1, 2, 3]);
  const before = tf.memory().numTensors;
  const b = a.mul(3);
  const c = tf.sub(10, b);
  assert.equal(tf.memory().numTensors, before + 2, 'only the two results remain');
  assert.deepEqual(Array.from(c.dataSync()), [7, 4, 1]);
  tf.dispose([a, b, c]);
});
