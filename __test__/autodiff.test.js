'use strict';
// grad, grads, valueAndGrad(s), variableGrads, customGrad, higher-order gradients.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

const close = (got, want, tol = 1e-5) => {
  got = Array.from(got);
  assert.equal(got.length, want.length, `length ${got.length} vs ${want.length}`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `[${i}] ${got[i]} vs ${want[i]}`);
};

test('grads of a two-input function', () => {
  // f(a, b) = sum(a * b): df/da = b, df/db = a
  const [da, db] = tf.grads((a, b) => a.mul(b).sum())([tf.tensor1d([1, 2]), tf.tensor1d([3, 4])]);
  close(da.dataSync(), [3, 4]);
  close(db.dataSync(), [1, 2]);
});

test('valueAndGrad with dy', () => {
  // f(x) = x²: f' = 2x, scaled by dy
  const { value, grad } = tf.valueAndGrad((x) => x.square())(tf.tensor1d([1, 2]), tf.tensor1d([10, 100]));
  close(value.dataSync(), [1, 4]);
  close(grad.dataSync(), [20, 400]);
});

test('valueAndGrads through broadcasting, matMul and relu', () => {
  const x = tf.tensor2d([[1, -2], [3, 4]]);
  const w = tf.tensor2d([[0.5], [-1]]);
  const b = tf.scalar(0.1);
  // y = sum(relu(x·w + b)); rows: 0.5+2+0.1=2.6 (active), 1.5-4+0.1=-2.4 (inactive)
  const { value, grads } = tf.valueAndGrads((x, w, b) => tf.relu(tf.matMul(x, w).add(b)).sum())([x, w, b]);
  close(value.dataSync(), [2.6]);
  close(grads[0].dataSync(), [0.5, -1, 0, 0]);
  close(grads[1].dataSync(), [1, -2]);
  close(grads[2].dataSync(), [1]);
});

test('variableGrads returns gradients by variable name', () => {
  const a = tf.variable(tf.tensor1d([1, 2]), true, 'vg_a');
  const c = tf.variable(tf.tensor1d([5, 5]), true, 'vg_unused');
  const { value, grads } = tf.variableGrads(() => a.square().sum(), [a, c]);
  close(value.dataSync(), [5]);
  close(grads.vg_a.dataSync(), [2, 4]);
  assert.equal(grads.vg_unused, undefined);
  a.dispose(); c.dispose();
});

test('a variable keeps its gradient identity across assign', () => {
  const v = tf.variable(tf.scalar(3), true, 'assign_keep');
  v.assign(tf.scalar(4));
  const { grads } = tf.variableGrads(() => v.mul(v), [v]);
  close(grads.assign_keep.dataSync(), [8]);
  v.dispose();
});

test('customGrad: the given gradient is used even when it is not the derivative', () => {
  const f = tf.customGrad((x, save) => {
    save([x]);
    return { value: x.square(), gradFunc: (dy, [saved]) => [dy.mul(saved).mul(10)] };
  });
  const x = tf.tensor1d([1, 2]);
  close(f(x).dataSync(), [1, 4]);
  close(tf.grad((t) => f(t).sum())(x).dataSync(), [10, 20]);
});

test('second-order gradient: d²/dx² x³ = 6x', () => {
  const x = tf.tensor1d([2]);
  const g2 = tf.grad((t) => tf.grad((u) => u.mul(u).mul(u).sum())(t).sum())(x);
  close(g2.dataSync(), [12]);
});

test('gradient through an unconnected input is a clear error', () => {
  assert.throws(() => tf.grad(() => tf.scalar(1))(tf.scalar(2)), /cannot compute gradient of y=f\(x\) with respect to x/);
});

test('a kernel without a gradient names the kernel', () => {
  assert.throws(() => tf.grad((x) => tf.sum(tf.logicalNot(tf.greater(x, 0)).cast('float32').mul(x)))(tf.tensor1d([1])), /LogicalNot/);
});
