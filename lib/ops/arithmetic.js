'use strict';
// Binary arithmetic and comparison ops (broadcasting), each one kernel.

const { k2, runKernel } = require('../engine');
const { T } = require('./util');

// Operands given as numbers or arrays become tensors for the kernel only, freed right after
// it (as tfjs frees them): `x.mul(3)` leaves one new tensor, its result.
function binary(kernel, op) {
  return (a, b) => {
    const x = T(a, 'a', op);
    const y = T(b, 'b', op);
    try {
      return k2(kernel, x, y);
    } finally {
      if (x !== a) x.dispose();
      if (y !== b && y !== x) y.dispose();
    }
  };
}

const add = binary('Add', 'add');
const sub = binary('Sub', 'sub');
const mul = binary('Multiply', 'mul');
const floorDiv = binary('FloorDiv', 'floorDiv');
const mod = binary('Mod', 'mod');
const pow = binary('Pow', 'pow');
const maximum = binary('Maximum', 'maximum');
const minimum = binary('Minimum', 'minimum');
const squaredDifference = binary('SquaredDifference', 'squaredDifference');
const atan2 = binary('Atan2', 'atan2');
const equal = binary('Equal', 'equal');
const notEqual = binary('NotEqual', 'notEqual');
const greater = binary('Greater', 'greater');
const greaterEqual = binary('GreaterEqual', 'greaterEqual');
const less = binary('Less', 'less');
const lessEqual = binary('LessEqual', 'lessEqual');
const logicalAnd = binary('LogicalAnd', 'logicalAnd');
const logicalOr = binary('LogicalOr', 'logicalOr');

/** Division; int32 by int32 floors, as in tfjs. */
function div(a, b) {
  const x = T(a, 'a', 'div');
  const y = T(b, 'b', 'div');
  if (x.dtype === 'int32' && y.dtype === 'int32') return k2('FloorDiv', x, y);
  return k2('RealDiv', x, y);
}

/** a / b, 0 where b is 0. */
function divNoNan(a, b) {
  const x = T(a, 'a', 'divNoNan');
  const y = T(b, 'b', 'divNoNan');
  const { tidy } = require('../engine');
  return tidy(() => {
    const q = div(x, y);
    const zeros = runKernel('ZerosLike', { x: q });
    const isZero = equal(y, runKernel('ZerosLike', { x: y }));
    return runKernel('Select', { condition: isZero, t: zeros, e: q });
  });
}

function addN(tensors) {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('addN: must pass a non-empty array of tensors');
  const ts = tensors.map((t, i) => T(t, `tensors[${i}]`, 'addN'));
  const s0 = JSON.stringify(ts[0].shape);
  ts.forEach((t, i) => {
    if (JSON.stringify(t.shape) !== s0) throw new Error(`addN: all tensors must have the same shape; tensors[0] is [${ts[0].shape}], tensors[${i}] is [${t.shape}]`);
  });
  return runKernel('AddN', ts);
}

function logicalXor(a, b) {
  const { tidy } = require('../engine');
  return tidy(() => logicalAnd(logicalOr(a, b), runKernel('LogicalNot', { x: logicalAnd(a, b) })));
}

module.exports = {
  add, sub, mul, div, divNoNan, floorDiv, mod, pow, maximum, minimum, squaredDifference, atan2, addN,
  equal, notEqual, greater, greaterEqual, less, lessEqual, logicalAnd, logicalOr, logicalXor,
};
