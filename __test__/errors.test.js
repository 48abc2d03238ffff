'use strict';
// Each class of bad input is a JS Error naming the op, the expected and the given.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

test('shape mismatches name the op and both shapes', () => {
  assert.throws(() => tf.add(tf.ones([2]), tf.ones([3])), /Add.*\[2\].*\[3\]/);
  assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([2, 3])), /BatchMatMul.*inner dimensions.*\[2,3\]/);
  assert.throws(() => tf.reshape(tf.ones([2, 3]), [4]), /Reshape.*6.*\[4\]/);
  assert.throws(() => tf.tensor([1, 2, 3], [2, 2]), /shape, \[2,2\].*4 values but has 3/);
});

test('rank errors', () => {
  assert.throws(() => tf.matMul(tf.ones([2]), tf.ones([2, 2])), /matMul.*rank 2/);
  assert.throws(() => tf.tensor2d([1, 2, 3]), /tensor2d.*rank 2/);
  assert.throws(() => tf.transpose(tf.ones([2, 2]), [0]), /transpose.*perm/);
});

test('dtype errors', () => {
  assert.throws(() => tf.logicalAnd(tf.ones([2]), tf.ones([2])), /LogicalAnd.*bool.*float32/);
  assert.throws(() => tf.tensor([1], [1], 'complex64'), /unsupported dtype 'complex64'/);
  assert.throws(() => tf.tensor(['a']), /string/);
  assert.throws(() => tf.cast(tf.ones([1]), 'float64'), /cast.*float64/);
});

test('bad attrs and arguments', () => {
  assert.throws(() => tf.clipByValue(tf.ones([2]), 2, 1), /clipByValue.*clipValueMin/);
  assert.throws(() => tf.sum(tf.ones([2, 2]), 5), /sum: axis/);
  assert.throws(() => tf.add('x', tf.ones([1])), /Argument 'a' passed to 'add' must be a Tensor or TensorLike/);
  assert.throws(() => tf.engine().runKernel('Sum', { x: tf.ones([2]) }, { axis: 'zero' }), /Sum.*axis/);
  assert.throws(() => tf.engine().runKernel('Add', { a: tf.ones([1]), q: tf.ones([1]) }), /Add.*unknown input.*q/);
});

test('unknown kernels name the kernel and the backend', () => {
  assert.throws(() => tf.engine().runKernel('NoSuchKernel', { x: tf.ones([1]) }), /Kernel 'NoSuchKernel' not registered for backend 'cpu'/);
  assert.throws(() => tf.unregisterKernel('NoSuchKernel', 'cpu'), /NoSuchKernel.*not registered/);
});

test('exceptions in JS kernels and gradients reach the caller unchanged', () => {
  class KernelError extends Error {}
  tf.registerKernel({ kernelName: 'Throws', backendName: 'cpu', kernelFunc: () => { throw new KernelError('boom'); } });
  assert.throws(() => tf.engine().runKernel('Throws', { x: tf.ones([1]) }), (e) => e instanceof KernelError && e.message === 'boom');
  tf.unregisterKernel('Throws', 'cpu');
  tf.registerKernel({ kernelName: 'BadReturn', backendName: 'cpu', kernelFunc: () => 42 });
  assert.throws(() => tf.engine().runKernel('BadReturn', { x: tf.ones([1]) }), /BadReturn.*TensorInfo/);
  tf.unregisterKernel('BadReturn', 'cpu');
});
