'use strict';
// The threading design end to end: a worker-thread step calls a JS function whose ops are
// recorded on that step's tape, while the event loop stays free.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');
const native = tf._native;
const { runScoped } = require('../lib/engine');

function handleWrapper(fn) {
  // What the engine does for JS code a task calls: handles in, {h, o} out.
  return (hs) => {
    const { result, scope } = runScoped(() => fn(...hs.map((h) => new tf.Tensor(h))));
    const fresh = new Set(scope.map((t) => t.h));
    for (const t of scope) if (t !== result) t.dispose();
    return { h: [result.h], o: [fresh.has(result.h)] };
  };
}

test('a worker step records the JS layer\'s ops and differentiates through them', async () => {
  // loss = sum((x·w)²): dloss/dw = 2·xᵀ(x·w)
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const w = tf.variable(tf.tensor2d([[0.5], [-1]]), true, 'thread_w');
  const [loss, g] = await native.workerStep(handleWrapper((xt) => tf.matMul(xt, w)), x.h, w.h);
  const lossT = new tf.Tensor(loss);
  const gT = new tf.Tensor(g);
  // x·w = [-1.5, -2.5]; loss = 2.25 + 6.25 = 8.5; grad = 2·[1·-1.5 + 3·-2.5, 2·-1.5 + 4·-2.5] = [-18, -26]
  assert.deepEqual(Array.from(lossT.dataSync()), [8.5]);
  assert.deepEqual(Array.from(gT.dataSync()), [-18, -26]);
  w.dispose();
});

test('ops the main thread runs between JS calls are not recorded on the worker\'s tape', async () => {
  const x = tf.tensor2d([[1, 2]]);
  const w = tf.variable(tf.tensor2d([[1], [1]]), true, 'thread_w2');
  let unrelated = 0;
  const timer = setInterval(() => { tf.tidy(() => tf.add(w, 1).mul(3)); unrelated++; }, 0);
  const [, g] = await native.workerStep(handleWrapper((xt) => {
    return tf.matMul(xt, w);
  }), x.h, w.h);
  clearInterval(timer);
  // loss = (x·w)² = 9: grad = 2·3·xᵀ = [6, 12]; unrelated ops would add to it if recorded.
  assert.deepEqual(Array.from(new tf.Tensor(g).dataSync()), [6, 12]);
  w.dispose();
  void unrelated;
});

test('a JS exception inside the worker\'s call rejects with the original error', async () => {
  const x = tf.tensor2d([[1]]);
  const w = tf.variable(tf.tensor2d([[1]]), true, 'thread_w3');
  class MyError extends Error {}
  await assert.rejects(native.workerStep(() => { throw new MyError('layer failed'); }, x.h, w.h), (e) => e instanceof MyError && e.message === 'layer failed' && /threads\.test/.test(e.stack));
  w.dispose();
});

test('the event loop keeps running while workers compute', async () => {
  const x = tf.randomUniform ? tf.ones([256, 256]) : tf.ones([256, 256]);
  const w = tf.variable(tf.ones([256, 256]), true, 'thread_w4');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const steps = [];
  // Each step does a large matMul on the worker, and a small one in JS on the main thread.
  for (let i = 0; i < 20; i++) steps.push(native.workerStep(handleWrapper((xt) => tf.matMul(xt, w)), x.h, w.h));
  const results = await Promise.all(steps);
  clearInterval(timer);
  assert.equal(results.length, 20);
  assert.ok(ticks > 0, 'timers fired while the workers ran');
  w.dispose();
});
