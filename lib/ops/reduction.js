'use strict';
// Reductions over axes, and the composite statistics built from them.

const { k1, tidy } = require('../engine');
const { T, parseAxis } = require('./util');
const arith = require('./arithmetic');
const unary = require('./unary');

function reduce(kernel, op, castBool) {
  return (x, axis = null, keepDims = false) => {
    let t = T(x, 'x', op);
    const axes = parseAxis(axis, t.rank, op);
    if (castBool && t.dtype === 'bool') t = k1('Cast', t, { dtype: 'int32' });
    return k1(kernel, t, { axis: axes, keepDims });
  };
}

const sum = reduce('Sum', 'sum', true);
const mean = reduce('Mean', 'mean', false);
const max = reduce('Max', 'max', false);
const min = reduce('Min', 'min', false);
const prod = reduce('Prod', 'prod', true);
const all = reduce('All', 'all', false);
const any = reduce('Any', 'any', false);

function argMax(x, axis = 0) {
  const t = T(x, 'x', 'argMax');
  return k1('ArgMax', t, { axis: parseAxis(axis, t.rank, 'argMax')[0] });
}
function argMin(x, axis = 0) {
  const t = T(x, 'x', 'argMin');
  return k1('ArgMin', t, { axis: parseAxis(axis, t.rank, 'argMin')[0] });
}

/** log(Σ exp(x)) computed stably around the maximum. */
function logSumExp(x, axis = null, keepDims = false) {
  const t = T(x, 'x', 'logSumExp');
  const axes = parseAxis(axis, t.rank, 'logSumExp');
  return tidy(() => {
    const m = max(t, axes, true);
    const s = sum(unary.exp(arith.sub(t, m)), axes, true);
    const r = arith.add(unary.log(s), m);
    return keepDims ? r : squeezeAxes(r, axes);
  });
}

function squeezeAxes(t, axes) {
  const shape = t.shape.filter((_, i) => !axes.includes(i));
  return k1('Reshape', t, { shape });
}

function moments(x, axis = null, keepDims = false) {
  const t = T(x, 'x', 'moments');
  const axes = parseAxis(axis, t.rank, 'moments');
  return tidy(() => {
    const m = mean(t, axes, true);
    const variance = mean(arith.squaredDifference(t, m), axes, keepDims);
    return { mean: keepDims ? m : squeezeAxes(m, axes), variance };
  });
}

/** Vector and matrix norms as tfjs: ord 'euclidean' (default), 'fro', 1, 2, Infinity, -Infinity. */
function norm(x, ord = 'euclidean', axis = null, keepDims = false) {
  const t = T(x, 'x', 'norm');
  return tidy(() => {
    const axes = parseAxis(axis, t.rank, 'norm');
    let r;
    if (axes.length === 1 || axis == null) {
      const a = unary.abs(t);
      if (ord === 'euclidean' || ord === 2 || ord === 'fro') r = unary.sqrt(sum(unary.square(t), axes));
      else if (ord === 1) r = sum(a, axes);
      else if (ord === Infinity) r = max(a, axes);
      else if (ord === -Infinity) r = min(a, axes);
      else if (typeof ord === 'number') r = arith.pow(sum(arith.pow(a, ord), axes), 1 / ord);
      else throw new Error(`norm: unsupported ord ${ord} for a vector norm`);
    } else if (axes.length === 2) {
      if (ord === 'euclidean' || ord === 'fro') r = unary.sqrt(sum(unary.square(t), axes));
      else if (ord === 1) r = max(sum(unary.abs(t), axes[0]), axes[1] - 1);
      else if (ord === Infinity) r = max(sum(unary.abs(t), axes[1]), axes[0]);
      else throw new Error(`norm: unsupported ord ${ord} for a matrix norm`);
    } else {
      throw new Error(`norm: axis must name 1 or 2 dimensions, got [${axes}]`);
    }
    if (keepDims) {
      const shape = t.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      r = k1('Reshape', r, { shape });
    }
    return r;
  });
}

function cumsum(x, axis = 0, exclusive = false, reverse = false) {
  const t = T(x, 'x', 'cumsum');
  return k1('Cumsum', t, { axis: parseAxis(axis, t.rank, 'cumsum')[0], exclusive, reverse });
}

module.exports = { sum, mean, max, min, prod, all, any, argMax, argMin, logSumExp, moments, norm, cumsum };
