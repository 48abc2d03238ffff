'use strict';
// Random tensors (seeded when a seed is given, as tfjs; the generator is ferrograd's own, so
// the values differ from tfjs's for the same seed).

const native = require('../native');
const { wrap } = require('../tensor');
const { checkShape } = require('../convert');

function checkDtype(dtype, op) {
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`${op}: dtype must be 'float32' or 'int32', got '${dtype}'`);
}

function randomUniform(shape, minval = 0, maxval = 1, dtype = 'float32', seed) {
  checkShape(shape, 'randomUniform');
  checkDtype(dtype, 'randomUniform');
  if (!(maxval >= minval)) throw new Error(`randomUniform: maxval (${maxval}) must be >= minval (${minval})`);
  return wrap(native.randomUniform(shape, minval, maxval, dtype, seed));
}

function randomNormal(shape, mean = 0, stdDev = 1, dtype = 'float32', seed) {
  checkShape(shape, 'randomNormal');
  checkDtype(dtype, 'randomNormal');
  if (!(stdDev >= 0)) throw new Error(`randomNormal: stdDev must be >= 0, got ${stdDev}`);
  return wrap(native.randomNormal(shape, mean, stdDev, dtype, seed, false));
}

function truncatedNormal(shape, mean = 0, stdDev = 1, dtype = 'float32', seed) {
  checkShape(shape, 'truncatedNormal');
  checkDtype(dtype, 'truncatedNormal');
  if (!(stdDev >= 0)) throw new Error(`truncatedNormal: stdDev must be >= 0, got ${stdDev}`);
  return wrap(native.randomNormal(shape, mean, stdDev, dtype, seed, true));
}

function randomStandardNormal(shape, dtype = 'float32', seed) {
  return randomNormal(shape, 0, 1, dtype, seed);
}

module.exports = { randomUniform, randomNormal, truncatedNormal, randomStandardNormal };
