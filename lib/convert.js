'use strict';
// TensorLike → Tensor: shape and dtype inference, flattening and validation, as tfjs's
// `tensor()` and `convertToTensor` do it.

const native = require('./native');
const { Tensor, wrap } = require('./tensor');

const VALID_DTYPES = ['float32', 'int32', 'bool'];

function isTypedArray(v) {
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array || v instanceof Uint8ClampedArray ||
    v instanceof Float64Array || v instanceof Int16Array || v instanceof Int8Array || v instanceof Uint16Array || v instanceof Uint32Array;
}

function inferShape(v) {
  if (isTypedArray(v)) return [v.length];
  if (!Array.isArray(v)) return [];
  const shape = [];
  let cur = v;
  while (Array.isArray(cur) || isTypedArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function inferDtype(v) {
  if (v instanceof Float32Array || v instanceof Float64Array) return 'float32';
  if (isTypedArray(v)) return 'int32';
  let cur = v;
  while (Array.isArray(cur) || isTypedArray(cur)) {
    if (cur.length === 0) return 'float32';
    cur = cur[0];
  }
  if (typeof cur === 'boolean') return 'bool';
  if (typeof cur === 'string') {
    throw new Error('tensor: string tensors are not supported by ferrograd (supported dtypes: float32, int32, bool)');
  }
  return 'float32';
}

function flatten(v, out, shape, dim, op) {
  if (Array.isArray(v) || isTypedArray(v)) {
    if (shape && dim < shape.length && v.length !== shape[dim]) {
      throw new Error(`${op}: element arr[${dim}] should have ${shape[dim]} elements, but has ${v.length} (ragged nested array)`);
    }
    for (let i = 0; i < v.length; i++) flatten(v[i], out, shape, dim + 1, op);
  } else {
    if (typeof v === 'string') throw new Error(`${op}: string values are not supported (supported dtypes: float32, int32, bool)`);
    if (typeof v !== 'number' && typeof v !== 'boolean') {
      throw new Error(`${op}: expected numbers or booleans, but got ${v === null ? 'null' : typeof v}`);
    }
    out.push(v);
  }
  return out;
}

function sizeOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(shape, op) {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array of integers, got ${typeof shape}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: shape must contain non-negative integers, got [${shape}]`);
    }
  }
}

/** Builds a tensor from a TensorLike value (tfjs `tensor(values, shape, dtype)`). */
function makeTensor(values, shape, dtype, op = 'tensor') {
  if (dtype != null && !VALID_DTYPES.includes(dtype)) {
    throw new Error(`${op}: unsupported dtype '${dtype}' (supported: float32, int32, bool)`);
  }
  if (values instanceof Tensor) throw new Error(`${op}: values must be a TensorLike, not a Tensor (use clone or cast)`);
  const inferred = inferShape(values);
  dtype = dtype || inferDtype(values);
  let flat;
  if (isTypedArray(values)) flat = values;
  else if (Array.isArray(values)) flat = flatten(values, [], inferred, 0, op);
  else if (typeof values === 'number' || typeof values === 'boolean') flat = [values];
  else if (typeof values === 'string') throw new Error(`${op}: string tensors are not supported (supported dtypes: float32, int32, bool)`);
  else throw new Error(`${op}: values must be a number, boolean, array or TypedArray, got ${values === null ? 'null' : typeof values}`);
  if (shape != null) {
    checkShape(shape, op);
    const n = sizeOf(shape);
    if (flat.length !== n && !(flat.length === 1 && inferred.length === 0)) {
      throw new Error(`${op}: based on the provided shape, [${shape}], the tensor should have ${n} values but has ${flat.length}`);
    }
    if (flat.length === 1 && n !== 1) {
      const v = flat[0];
      flat = new Array(n).fill(v);
    }
  } else {
    shape = inferred;
  }
  return fromFlat(flat, shape, dtype);
}

function fromFlat(flat, shape, dtype) {
  let h;
  if (dtype === 'float32') {
    h = native.fromF32(flat instanceof Float32Array ? flat : Float32Array.from(flat, Number), shape);
  } else if (dtype === 'int32') {
    h = native.fromI32(flat instanceof Int32Array ? flat : Int32Array.from(flat, (v) => Math.trunc(Number(v))), shape);
  } else {
    h = native.fromBool(Uint8Array.from(flat, (v) => (v ? 1 : 0)), shape);
  }
  return wrap(h);
}

/** A Tensor argument or a TensorLike turned into one (tfjs `convertToTensor`). */
function convertToTensor(x, argName, functionName, dtype) {
  // A disposed Tensor is reported by the kernel that reads it ("<op>: Tensor is disposed.").
  if (x instanceof Tensor) return x;
  if (x == null || (typeof x !== 'number' && typeof x !== 'boolean' && !Array.isArray(x) && !isTypedArray(x))) {
    throw new Error(
      `Argument '${argName}' passed to '${functionName}' must be a Tensor or TensorLike, but got '${x === null ? 'null' : typeof x}'`,
    );
  }
  let d = inferDtype(x);
  if (dtype && dtype !== 'numeric' && dtype !== 'string_or_numeric') d = dtype;
  return makeTensor(x, null, d, functionName);
}

module.exports = { makeTensor, fromFlat, convertToTensor, inferShape, inferDtype, isTypedArray, sizeOf, checkShape, VALID_DTYPES };
