'use strict';
// Shared helpers of the op modules: argument conversion and axis handling.

const { convertToTensor } = require('../convert');

const T = convertToTensor;

function parseAxis(axis, rank, op) {
  if (axis == null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  return list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1)) {
      throw new Error(`${op}: axis must be an integer in [${-rank}, ${rank}), got ${a}`);
    }
    return a < 0 ? a + rank : a;
  });
}

function assertNumber(v, name, op) {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${op}: ${name} must be a number, got ${v}`);
}

module.exports = { T, parseAxis, assertNumber };
