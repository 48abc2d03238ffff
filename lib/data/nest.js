'use strict';
// Dataset elements are nests: Tensors, numbers, strings, booleans and typed arrays, inside
// arrays and objects to any depth. Here: copying a nest, freeing the tensors a step consumed,
// and stacking a list of like-shaped nests into one nest of batched tensors (tfjs `deepBatch`).

const { Tensor } = require('../tensor');
const { collectTensors, tidy } = require('../engine');
const { isTypedArray } = require('../convert');
const { stack } = require('../ops/shape');
const { tensor } = require('../ops/creation');

/** An array or a plain-ish object to recurse into (not a Tensor, typed array or Promise). */
function isContainer(x) {
  return x != null && typeof x === 'object' && !(x instanceof Tensor) && !ArrayBuffer.isView(x) && !(x instanceof Promise);
}

/**
 * A copy of `x` in which each Tensor is cloned (so consumers may dispose what they get), and
 * `undefined` becomes `null`, as tfjs's `deepClone` does.
 */
function cloneNest(x, inside = new Set()) {
  if (x == null) return null;
  if (x instanceof Tensor) return x.clone();
  if (!isContainer(x)) return x;
  if (inside.has(x)) throw new Error('tf.data: circular references in a dataset element are not supported');
  inside.add(x);
  const out = Array.isArray(x) ? [] : Object.create(Object.getPrototypeOf(x));
  for (const k of Object.keys(x)) out[k] = cloneNest(x[k], inside);
  inside.delete(x);
  return out;
}

/** Disposes the tensors of `input` that are not part of `output` (a step consumed them). */
function disposeConsumed(input, output) {
  const kept = collectTensors(output);
  for (const t of collectTensors(input)) if (!kept.has(t) && !t.isDisposed) t.dispose();
}

// A value that becomes one tensor when batched: a Tensor, a primitive, a typed array, or an
// array of primitives / typed arrays / such arrays. (An array holding Tensors or objects is
// recursed into instead, so `[xTensor, yTensor]` elements batch position by position.)
function isLeaf(x) {
  if (x == null || x instanceof Tensor || isTypedArray(x) || typeof x !== 'object') return true;
  if (!Array.isArray(x)) return false;
  return x.every((e) => e == null || typeof e !== 'object' || isTypedArray(e) || (Array.isArray(e) && isLeaf(e)));
}

// tfjs turns a missing number into 0 (null) or NaN (undefined) when it batches.
function numeric(x) {
  if (x === null) return 0;
  if (x === undefined) return NaN;
  return Array.isArray(x) ? x.map(numeric) : x;
}

function stackLeaves(rows, path) {
  try {
    if (rows[0] instanceof Tensor) {
      const bad = rows.findIndex((r) => !(r instanceof Tensor));
      if (bad >= 0) throw new Error(`element ${bad} holds ${typeof rows[bad]} where element 0 holds a Tensor`);
      return stack(rows);
    }
    return tensor(numeric(rows));
  } catch (e) {
    throw new Error(`Dataset.batch: cannot batch the values at ${path || 'the element root'}: ${e.message}`);
  }
}

function batchNest(rows, path) {
  const first = rows[0];
  if (isLeaf(first)) return stackLeaves(rows, path);
  const out = Array.isArray(first) ? [] : {};
  for (const k of Object.keys(first)) {
    out[k] = batchNest(rows.map((r) => (r == null ? undefined : r[k])), path ? `${path}.${k}` : k);
  }
  return out;
}

/**
 * One nest of batched tensors from a list of like-shaped nests: tensors are stacked, numbers,
 * booleans and arrays of them become tensors with a leading batch dimension. The element
 * tensors are disposed afterwards (the batch replaces them).
 */
function batchElements(rows) {
  if (rows.length === 0) throw new Error('Dataset.batch: cannot make a batch of zero elements');
  const batch = tidy(() => batchNest(rows, ''));
  disposeConsumed(rows, batch);
  return batch;
}

module.exports = { isContainer, cloneNest, disposeConsumed, batchElements };
