'use strict';
// Tensor creation: from values, constants, ranges, one-hot, variables and buffers.

const { makeTensor, checkShape, inferShape } = require('../convert');
const { runKernel, k1 } = require('../engine');
const { Tensor, Variable, wrap } = require('../tensor');
const native = require('../native');
const variables = require('../variables');
const { T } = require('./util');

function tensor(values, shape, dtype) {
  return makeTensor(values, shape, dtype, 'tensor');
}

function scalar(value, dtype) {
  if (Array.isArray(value) || (value != null && typeof value === 'object')) {
    throw new Error('scalar: value must be a number or boolean, not an array or object');
  }
  return makeTensor(value, [], dtype, 'scalar');
}

function ofRank(rank, name) {
  return (values, shape, dtype) => {
    if (shape == null) {
      const inferred = inferShape(values);
      if (inferred.length !== rank && !(rank === 1 && inferred.length === 1)) {
        throw new Error(`${name}: requires values of rank ${rank} (nested arrays ${rank} deep) or a flat array with a shape, got rank ${inferred.length}`);
      }
    } else if (shape.length !== rank) {
      throw new Error(`${name}: shape must have ${rank} dimensions, got [${shape}]`);
    }
    return makeTensor(values, shape, dtype, name);
  };
}

const tensor1d = (values, dtype) => {
  const s = inferShape(values);
  if (s.length !== 1) throw new Error(`tensor1d: requires a flat array (rank 1), got rank ${s.length}`);
  return makeTensor(values, null, dtype, 'tensor1d');
};
const tensor2d = ofRank(2, 'tensor2d');
const tensor3d = ofRank(3, 'tensor3d');
const tensor4d = ofRank(4, 'tensor4d');
const tensor5d = ofRank(5, 'tensor5d');
const tensor6d = ofRank(6, 'tensor6d');

function fill(shape, value, dtype) {
  checkShape(shape, 'fill');
  if (dtype == null) dtype = typeof value === 'boolean' ? 'bool' : 'float32';
  return runKernel('Fill', {}, { shape, value: Number(value), dtype });
}
function zeros(shape, dtype = 'float32') { checkShape(shape, 'zeros'); return runKernel('Fill', {}, { shape, value: 0, dtype }); }
function ones(shape, dtype = 'float32') { checkShape(shape, 'ones'); return runKernel('Fill', {}, { shape, value: 1, dtype }); }
function zerosLike(x) { return k1('ZerosLike', T(x, 'x', 'zerosLike')); }
function onesLike(x) { return k1('OnesLike', T(x, 'x', 'onesLike')); }

function eye(numRows, numColumns, batchShape, dtype = 'float32') {
  if (numColumns == null) numColumns = numRows;
  if (!Number.isInteger(numRows) || numRows < 0 || !Number.isInteger(numColumns) || numColumns < 0) {
    throw new Error(`eye: numRows and numColumns must be non-negative integers, got ${numRows} and ${numColumns}`);
  }
  const v = new Float32Array(numRows * numColumns);
  for (let i = 0; i < Math.min(numRows, numColumns); i++) v[i * numColumns + i] = 1;
  let t = makeTensor(v, [numRows, numColumns], dtype, 'eye');
  if (batchShape && batchShape.length > 0) {
    const { tile, reshape } = require('./shape');
    const r = reshape(t, [...batchShape.map(() => 1), numRows, numColumns]);
    t.dispose();
    t = tile(r, [...batchShape, 1, 1]);
    r.dispose();
  }
  return t;
}

function range(start, stop, step = 1, dtype = 'float32') {
  if (step === 0) throw new Error('range: step cannot be 0');
  if (stop === undefined) { stop = start; start = 0; }
  const n = Math.max(Math.ceil((stop - start) / step), 0);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return makeTensor(v, [n], dtype, 'range');
}

function linspace(start, stop, num) {
  if (!Number.isInteger(num) || num <= 0) throw new Error(`linspace: num must be a positive integer, got ${num}`);
  const v = new Float32Array(num);
  const step = num === 1 ? 0 : (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) v[i] = start + i * step;
  return makeTensor(v, [num], 'float32', 'linspace');
}

function variable(initialValue, trainable = true, name, dtype) {
  let init = T(initialValue, 'initialValue', 'variable');
  if (dtype != null && dtype !== init.dtype) init = k1('Cast', init, { dtype });
  const vname = name != null ? String(name) : variables.uniqueName();
  if (variables.registered.has(vname)) throw new Error(`Variable with name ${vname} was already registered`);
  const v = new Variable(native.makeVariable(init.h, !!trainable, vname), !!trainable, vname);
  variables.add(v);
  return v;
}

function buffer(shape, dtype = 'float32', values) {
  const { TensorBuffer } = require('../buffer');
  return new TensorBuffer(shape, dtype, values);
}

module.exports = {
  tensor, scalar, tensor1d, tensor2d, tensor3d, tensor4d, tensor5d, tensor6d, fill, zeros, ones, zerosLike,
  onesLike, eye, range, linspace, variable, buffer, Tensor, wrap,
};
