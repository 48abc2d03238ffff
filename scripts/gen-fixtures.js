#!/usr/bin/env node
'use strict';
// Generates __test__/fixtures/ops.json: golden forward outputs and gradients
// computed with the real @tensorflow/tfjs (cpu backend).
//
//   node scripts/gen-fixtures.js            # write the fixture file
//   node scripts/gen-fixtures.js --check    # also finite-difference check grads
//   node scripts/gen-fixtures.js --check --no-skip --dry-run   # re-verify known tfjs gradient bugs
//
// Each case is {name, op, inputs, gradInputs, output | outputs, weights, grads}.
// `op` is a JS expression evaluated with `tf` and the named inputs in scope.
// For gradients we differentiate  loss = sum_i sum(out_i * w_i)  over the float
// outputs with fixed weight tensors w_i (stored in `weights`), w.r.t. every
// float input in `gradInputs`. Inputs come from a small seeded PRNG (seeded by
// the case name) and are stored in the fixture, so tests never regenerate them.

const fs = require('fs');
const path = require('path');
const H = require('../__test__/helpers.js');
const { fnv1a, mulberry32 } = H;

const OUT = path.join(__dirname, '..', '__test__', 'fixtures', 'ops.json');
const CHECK = process.argv.includes('--check');
// --no-skip: also differentiate inputs whose tfjs gradient is known to be wrong
// (opts.skipGrad), e.g. to re-verify with --check after a tfjs upgrade.
const NO_SKIP = process.argv.includes('--no-skip');

// Case inputs come from mulberry32 seeded with the FNV-1a hash of the case name (helpers.js).

const size = (shape) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------
// Input specs. Each returns a function rng -> {shape, dtype, values}.

/**
 * Uniform float32 in [lo, hi). opts.away: points to keep at least opts.margin
 * (default 0.05) away from (kinks / discontinuities of the op under test).
 */
function F(shape, lo = -1, hi = 1, opts = {}) {
  const away = opts.away || [];
  const margin = opts.margin != null ? opts.margin : 0.05;
  return (rng) => {
    const values = [];
    for (let i = 0; i < size(shape); i++) {
      let v;
      do v = Math.fround(lo + (hi - lo) * rng());
      while (away.some((p) => Math.abs(v - p) < margin));
      values.push(v);
    }
    return { shape, dtype: 'float32', values };
  };
}

/** Uniform integers in [lo, hi] with the given dtype (int32 or float32). */
function I(shape, lo, hi, dtype = 'int32', opts = {}) {
  const excl = opts.exclude || [];
  return (rng) => {
    const values = [];
    for (let i = 0; i < size(shape); i++) {
      let v;
      do v = lo + Math.floor((hi - lo + 1) * rng());
      while (excl.includes(v));
      values.push(v);
    }
    return { shape, dtype, values };
  };
}

/** Random booleans. */
function B(shape, p = 0.5) {
  return (rng) => ({ shape, dtype: 'bool', values: Array.from({ length: size(shape) }, () => rng() < p) });
}

/** Explicit values. */
function V(shape, values, dtype = 'float32') {
  if (values.length !== size(shape)) throw new Error(`V: ${values.length} values for shape [${shape}]`);
  return () => ({ shape, dtype, values: values.slice() });
}

/** One-hot rows (float32) of shape [n, k]. */
function ONEHOT(n, k) {
  return (rng) => {
    const values = new Array(n * k).fill(0);
    for (let i = 0; i < n; i++) values[i * k + Math.floor(rng() * k)] = 1;
    return { shape: [n, k], dtype: 'float32', values };
  };
}

/** Distinct values (a random permutation of an evenly spaced grid, jittered). */
function DISTINCT(shape, lo = -1, hi = 1) {
  return (rng) => {
    const n = size(shape);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    const step = (hi - lo) / n;
    const values = idx.map((k) => Math.fround(lo + step * (k + 0.25 + 0.5 * rng())));
    return { shape, dtype: 'float32', values };
  };
}

// ---------------------------------------------------------------------------
// Case table.

const CASES = [];
/**
 * C(name, op, inputs, opts)
 *   opts.grad: false to skip gradients, or a list of input names.
 *   opts.skipGrad: {input: reason} — tfjs computes a wrong gradient (verified
 *     with --check); recorded in gradSkipped instead of as golden values.
 *   opts.fd: false — no finite-difference check (inputs sit on discontinuities).
 *   opts.check(values): predicate on decoded input values; inputs are redrawn
 *     (with a fresh seed) until it holds — used to avoid ill-conditioned points.
 */
function C(name, op, inputs, opts = {}) {
  CASES.push({ name, op, inputs, opts });
}

// Keep a/b away from integers (floorDiv / mod discontinuities).
const quotientsAwayFromIntegers = (v) => {
  const a = v.a;
  const b = v.b;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const q = a[i % a.length] / b[i % b.length];
    if (Math.abs(q - Math.round(q)) < 0.02) return false;
  }
  return true;
};

// --- binary element-wise ----------------------------------------------------
C('add/same', 'tf.add(a, b)', { a: F([2, 3]), b: F([2, 3]) });
C('add/broadcast', 'tf.add(a, b)', { a: F([2, 3, 4]), b: F([3, 1]) });
C('add/int32', 'tf.add(a, b)', { a: I([2, 3], -5, 5), b: I([3], -5, 5) });
C('sub/broadcast', 'tf.sub(a, b)', { a: F([4, 1]), b: F([3]) });
C('sub/scalar', 'tf.sub(a, b)', { a: F([2, 3]), b: F([]) });
C('mul/broadcast', 'tf.mul(a, b)', { a: F([2, 1, 3]), b: F([4, 1]) });
C('mul/int32', 'tf.mul(a, b)', { a: I([5], -9, 9), b: I([5], -9, 9) });
C('div/same', 'tf.div(a, b)', { a: F([2, 3]), b: F([2, 3], -2, 2, { away: [0], margin: 0.3 }) });
C('div/broadcast', 'tf.div(a, b)', { a: F([3, 4]), b: F([4], 0.5, 2) });
C('div/int32', 'tf.div(a, b)', { a: I([6], -9, 9), b: I([6], -4, 4, 'int32', { exclude: [0] }) });
C('divNoNan/zeros', 'tf.divNoNan(a, b)', { a: F([2, 3]), b: V([2, 3], [0.5, 0, -1.5, 2, 0, 1.25]) });
C('divNoNan/broadcast', 'tf.divNoNan(a, b)', { a: F([2, 3]), b: V([3], [0, 0.75, -2]) });
C('floorDiv/float', 'tf.floorDiv(a, b)', { a: F([2, 4], -3, 3), b: F([2, 4], 0.4, 1.5) },
  { check: quotientsAwayFromIntegers });
C('floorDiv/int32', 'tf.floorDiv(a, b)', { a: I([8], -9, 9), b: V([8], [2, -2, 3, -3, 4, 5, -4, 1], 'int32') });
C('mod/float', 'tf.mod(a, b)', { a: F([2, 4], -3, 3), b: V([4], [0.7, -0.9, 1.3, -1.7]) },
  { check: quotientsAwayFromIntegers });
C('mod/int32', 'tf.mod(a, b)', { a: I([8], -9, 9), b: V([8], [2, -2, 3, -3, 4, 5, -4, 7], 'int32') });
C('pow/positiveBase', 'tf.pow(a, b)', { a: F([2, 3], 0.2, 2), b: F([2, 3], -2, 2) });
C('pow/negBaseIntExp', 'tf.pow(a, b)', { a: F([2, 3], -2, 2, { away: [0], margin: 0.1 }), b: V([3], [2, 3, -1]) });
C('pow/int32', 'tf.pow(a, b)', { a: I([6], -3, 3), b: I([6], 0, 3) });
C('maximum/broadcast', 'tf.maximum(a, b)', { a: DISTINCT([2, 3]), b: F([3], -0.9, 0.9) },
  { check: (v) => v.a.every((x, i) => Math.abs(x - v.b[i % 3]) > 0.02) });
C('maximum/int32', 'tf.maximum(a, b)', { a: I([6], -5, 5), b: I([6], -5, 5) });
C('maximum/same', 'tf.maximum(a, b)', { a: F([3, 2]), b: F([3, 2]) },
  { check: (v) => v.a.every((x, i) => Math.abs(x - v.b[i]) > 0.02) });
C('minimum/same', 'tf.minimum(a, b)', { a: F([3, 2]), b: F([3, 2]) },
  { check: (v) => v.a.every((x, i) => Math.abs(x - v.b[i]) > 0.02) });
C('squaredDifference/same', 'tf.squaredDifference(a, b)', { a: F([2, 3]), b: F([2, 3]) });
C('squaredDifference/broadcast', 'tf.squaredDifference(a, b)', { a: F([2, 3]), b: F([2, 1]) });
C('addN/three', 'tf.addN([a, b, c])', { a: F([2, 3]), b: F([2, 3]), c: F([2, 3]) });

// --- unary element-wise ------------------------------------------------------
C('neg', 'tf.neg(x)', { x: F([2, 3]) });
C('neg/int32', 'tf.neg(x)', { x: I([5], -5, 5) });
C('abs', 'tf.abs(x)', { x: F([2, 3], -1, 1, { away: [0] }) });
C('abs/int32', 'tf.abs(x)', { x: I([5], -5, 5) });
C('sign', 'tf.sign(x)', { x: V([6], [-2, -0.5, 0, 0.25, 3, -0.001]) }, { fd: false });
C('square', 'tf.square(x)', { x: F([2, 3], -2, 2) });
C('sqrt', 'tf.sqrt(x)', { x: F([2, 3], 0.1, 4) });
C('rsqrt', 'tf.rsqrt(x)', { x: F([2, 3], 0.2, 4) });
C('reciprocal', 'tf.reciprocal(x)', { x: F([2, 3], -2, 2, { away: [0], margin: 0.3 }) });
C('exp', 'tf.exp(x)', { x: F([2, 3], -3, 3) });
C('expm1', 'tf.expm1(x)', { x: F([2, 3], -2, 2) });
C('log', 'tf.log(x)', { x: F([2, 3], 0.1, 5) });
C('log1p', 'tf.log1p(x)', { x: F([2, 3], -0.8, 3) });
C('sin', 'tf.sin(x)', { x: F([2, 3], -3, 3) });
C('cos', 'tf.cos(x)', { x: F([2, 3], -3, 3) });
C('tan', 'tf.tan(x)', { x: F([2, 3], -1.2, 1.2) });
C('asin', 'tf.asin(x)', { x: F([2, 3], -0.9, 0.9) });
C('acos', 'tf.acos(x)', { x: F([2, 3], -0.9, 0.9) });
C('atan', 'tf.atan(x)', { x: F([2, 3], -3, 3) });
C('sinh', 'tf.sinh(x)', { x: F([2, 3], -2, 2) });
C('cosh', 'tf.cosh(x)', { x: F([2, 3], -2, 2) });
C('tanh', 'tf.tanh(x)', { x: F([2, 3], -3, 3) });
C('sigmoid', 'tf.sigmoid(x)', { x: F([2, 3], -4, 4) });
C('softplus', 'tf.softplus(x)', { x: F([2, 3], -4, 4) });
C('relu', 'tf.relu(x)', { x: F([2, 4], -1, 1, { away: [0] }) });
C('relu/int32', 'tf.relu(x)', { x: I([6], -5, 5) });
C('relu6', 'tf.relu6(x)', { x: F([2, 4], -2, 8, { away: [0, 6] }) });
C('elu', 'tf.elu(x)', { x: F([2, 4], -2, 2, { away: [0] }) });
C('selu', 'tf.selu(x)', { x: F([2, 4], -2, 2, { away: [0] }) });
C('leakyRelu/default', 'tf.leakyRelu(x)', { x: F([2, 4], -2, 2, { away: [0] }) });
C('leakyRelu/alpha', 'tf.leakyRelu(x, 0.1)', { x: F([2, 4], -2, 2, { away: [0] }) });
C('prelu/broadcast', 'tf.prelu(x, alpha)', { x: F([2, 2, 3], -2, 2, { away: [0] }), alpha: F([3], 0, 0.5) });
C('floor', 'tf.floor(x)', { x: F([2, 3], -3, 3, { away: [-3, -2, -1, 0, 1, 2, 3] }) });
C('ceil', 'tf.ceil(x)', { x: F([2, 3], -3, 3, { away: [-3, -2, -1, 0, 1, 2, 3] }) });
C('round/random', 'tf.round(x)', { x: F([2, 3], -3, 3, { away: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5] }) });
C('round/halfToEven', 'tf.round(x)', { x: V([8], [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49]) }, { fd: false });
C('clipByValue', 'tf.clipByValue(x, -0.5, 0.7)', { x: F([2, 4], -1.5, 1.5, { away: [-0.5, 0.7] }) });
C('isNaN', 'tf.isNaN(x)', { x: V([6], [1, 'NaN', 'Infinity', '-Infinity', 0, -2.5]) });
C('isFinite', 'tf.isFinite(x)', { x: V([6], [1, 'NaN', 'Infinity', '-Infinity', 0, -2.5]) });
C('erf', 'tf.erf(x)', { x: F([2, 3], -2, 2) });
C('step/default', 'tf.step(x)', { x: F([2, 3], -1, 1, { away: [0] }) });
C('step/alpha', 'tf.step(x, 0.3)', { x: F([2, 3], -1, 1, { away: [0] }) });

// --- reductions --------------------------------------------------------------
C('sum/all', 'tf.sum(x)', { x: F([3, 4]) });
C('sum/axis1keep', 'tf.sum(x, 1, true)', { x: F([2, 3, 4]) });
C('sum/axes02', 'tf.sum(x, [0, 2])', { x: F([2, 3, 4]) });
C('sum/int32', 'tf.sum(x, 0)', { x: I([3, 4], -9, 9) });
C('mean/all', 'tf.mean(x)', { x: F([3, 4]) });
C('mean/axisNeg1', 'tf.mean(x, -1)', { x: F([2, 3, 4]) });
C('mean/axes01keep', 'tf.mean(x, [0, 1], true)', { x: F([2, 3, 4]) });
C('max/all', 'tf.max(x)', { x: DISTINCT([3, 4]) });
C('max/axis0', 'tf.max(x, 0)', { x: DISTINCT([3, 4]) });
C('max/axis2keep', 'tf.max(x, 2, true)', { x: DISTINCT([2, 3, 4]) });
C('min/all', 'tf.min(x)', { x: DISTINCT([3, 4]) });
C('min/axis1', 'tf.min(x, 1)', { x: DISTINCT([2, 3, 4]) });
C('prod/all', 'tf.prod(x)', { x: F([2, 3], 0.5, 1.5) });
C('prod/axis1', 'tf.prod(x, 1)', { x: F([3, 4], -1.5, 1.5, { away: [0], margin: 0.1 }) });
C('argMax/default', 'tf.argMax(x)', { x: DISTINCT([4, 3]) });
C('argMax/axis1', 'tf.argMax(x, 1)', { x: DISTINCT([2, 3, 4]) });
C('argMin/axisNeg1', 'tf.argMin(x, -1)', { x: DISTINCT([3, 5]) });
C('all/all', 'tf.all(x)', { x: B([2, 3], 0.8) });
C('all/axis1', 'tf.all(x, 1)', { x: B([4, 3], 0.7) });
C('any/axis0keep', 'tf.any(x, 0, true)', { x: B([3, 4], 0.25) });
C('logSumExp/all', 'tf.logSumExp(x)', { x: F([3, 4], -3, 3) });
C('logSumExp/axis1keep', 'tf.logSumExp(x, 1, true)', { x: F([2, 3, 4], -3, 3) });
C('norm/euclidean', 'tf.norm(x)', { x: F([3, 4]) });
C('norm/ord1axis1', 'tf.norm(x, 1, 1)', { x: F([3, 4], -1, 1, { away: [0] }) });
C('norm/inf', 'tf.norm(x, Infinity, 0, true)', { x: DISTINCT([3, 4]) });
C('norm/froMatrix', "tf.norm(x, 'fro', [0, 1])", { x: F([3, 4]) });
C('moments/all', 'tf.moments(x)', { x: F([3, 4]) });
C('moments/axes01keep', 'tf.moments(x, [0, 1], true)', { x: F([2, 3, 4]) });
C('cumsum/axis0', 'tf.cumsum(x)', { x: F([4, 3]) });
C('cumsum/axis1exclusive', 'tf.cumsum(x, 1, true)', { x: F([2, 5]) });
C('cumsum/axis1reverse', 'tf.cumsum(x, 1, false, true)', { x: F([2, 5]) });

// --- matmul & friends --------------------------------------------------------
C('matMul/nn', 'tf.matMul(a, b)', { a: F([3, 4]), b: F([4, 5]) });
C('matMul/tn', 'tf.matMul(a, b, true, false)', { a: F([4, 3]), b: F([4, 5]) });
C('matMul/nt', 'tf.matMul(a, b, false, true)', { a: F([3, 4]), b: F([5, 4]) });
C('matMul/tt', 'tf.matMul(a, b, true, true)', { a: F([4, 3]), b: F([5, 4]) });
C('matMul/batched', 'tf.matMul(a, b)', { a: F([2, 3, 4]), b: F([2, 4, 2]) });
C('matMul/batchedTransposed', 'tf.matMul(a, b, true, true)', { a: F([2, 4, 3]), b: F([2, 2, 4]) });
C('matMul/batchBroadcast', 'tf.matMul(a, b)', { a: F([2, 3, 4]), b: F([1, 4, 2]) });
C('dot/matVec', 'tf.dot(a, b)', { a: F([3, 4]), b: F([4]) });
C('dot/vecVec', 'tf.dot(a, b)', { a: F([4]), b: F([4]) });
C('dot/matMat', 'tf.dot(a, b)', { a: F([2, 3]), b: F([3, 4]) });
C('outerProduct', 'tf.outerProduct(a, b)', { a: F([3]), b: F([4]) });
C('transpose/default', 'tf.transpose(x)', { x: F([2, 3, 4]) });
C('transpose/perm', 'tf.transpose(x, [1, 2, 0])', { x: F([2, 3, 4]) });
C('einsum/matmul', "tf.einsum('ij,jk->ik', a, b)", { a: F([2, 3]), b: F([3, 4]) });
C('einsum/transpose', "tf.einsum('ij->ji', a)", { a: F([2, 3]) });
C('einsum/batchMatmul', "tf.einsum('bij,bjk->bik', a, b)", { a: F([2, 2, 3]), b: F([2, 3, 2]) });
C('einsum/rowDot', "tf.einsum('ij,ij->i', a, b)", { a: F([3, 4]), b: F([3, 4]) });
C('einsum/outer', "tf.einsum('i,j->ij', a, b)", { a: F([3]), b: F([2]) });

// --- shape / indexing ----------------------------------------------------------
C('reshape/infer', 'tf.reshape(x, [3, -1])', { x: F([2, 3, 2]) });
C('reshape/int32', 'tf.reshape(x, [6])', { x: I([2, 3], -5, 5) });
C('expandDims/axis0', 'tf.expandDims(x)', { x: F([2, 3]) });
C('expandDims/axisNeg1', 'tf.expandDims(x, -1)', { x: F([2, 3]) });
C('squeeze/all', 'tf.squeeze(x)', { x: F([1, 3, 1, 2]) });
C('squeeze/axis', 'tf.squeeze(x, [2])', { x: F([1, 3, 1, 2]) });
C('concat/axis0', 'tf.concat([a, b], 0)', { a: F([2, 3]), b: F([1, 3]) });
C('concat/axis1three', 'tf.concat([a, b, c], 1)', { a: F([2, 1]), b: F([2, 3]), c: F([2, 2]) });
C('concat/int32', 'tf.concat([a, b], -1)', { a: I([2, 2], -5, 5), b: I([2, 1], -5, 5) });
C('stack/axis0', 'tf.stack([a, b, c])', { a: F([2, 3]), b: F([2, 3]), c: F([2, 3]) });
C('stack/axis2', 'tf.stack([a, b], 2)', { a: F([2, 3]), b: F([2, 3]) });
C('unstack/axis0', 'tf.unstack(x)', { x: F([3, 2]) });
C('unstack/axis1', 'tf.unstack(x, 1)', { x: F([2, 3, 2]) });
C('split/even', 'tf.split(x, 3, 1)', { x: F([2, 6]) });
C('split/sizes', 'tf.split(x, [1, 3], 0)', { x: F([4, 2]) });
C('split/inferSize', 'tf.split(x, [2, -1, 1], 1)', { x: F([2, 5]) });
C('slice/2d', 'tf.slice(x, [1, 0], [2, 2])', { x: F([3, 4]) });
C('slice/sizeNeg1', 'tf.slice(x, [0, 1, 1], [-1, 2, -1])', { x: F([2, 3, 4]) });
C('stridedSlice/step2', 'tf.stridedSlice(x, [0, 1], [4, 5], [2, 2])', { x: F([4, 5]) });
C('stridedSlice/negStride', 'tf.stridedSlice(x, [3, 0], [0, 3], [-1, 1])', { x: F([4, 3]) });
C('stridedSlice/masks', 'tf.stridedSlice(x, [1, 0, 2], [2, 0, 3], [1, 1, 1], 0, 2, 0, 0, 5)', { x: F([3, 2, 4]) });
C('gather/axis0', 'tf.gather(x, idx)', { x: F([4, 3]), idx: V([5], [3, 0, 0, 2, 1], 'int32') });
C('gather/axis1', 'tf.gather(x, idx, 1)', { x: F([2, 4, 2]), idx: V([2, 2], [3, 1, 0, 3], 'int32') });
C('tile/2d', 'tf.tile(x, [2, 3])', { x: F([2, 2]) });
C('tile/3d', 'tf.tile(x, [1, 2, 2])', { x: F([2, 1, 3]) });
C('pad/zeros', 'tf.pad(x, [[1, 0], [2, 1]])', { x: F([2, 3]) });
C('pad/constant', 'tf.pad(x, [[0, 1], [1, 1], [0, 0]], 1.5)', { x: F([2, 2, 2]) });
C('reverse/all', 'tf.reverse(x)', { x: F([2, 3]) });
C('reverse/axis1', 'tf.reverse(x, 1)', { x: F([2, 3, 2]) });
C('reverse/axes02', 'tf.reverse(x, [0, 2])', { x: F([2, 3, 2]) });
C('cast/floatToInt', "tf.cast(x, 'int32')", { x: V([6], [-2.7, -1.2, -0.5, 0.4, 1.9, 3.0]) });
C('cast/intToFloat', "tf.cast(x, 'float32')", { x: I([5], -9, 9) });
C('cast/boolToFloat', "tf.cast(x, 'float32')", { x: B([5]) });
C('cast/floatToBool', "tf.cast(x, 'bool')", { x: V([5], [0, 1.5, -0.25, 0, 3]) });
C('cast/floatToFloat', "tf.cast(x, 'float32')", { x: F([2, 3]) });
C('where/same', 'tf.where(cond, a, b)', { cond: B([2, 3]), a: F([2, 3]), b: F([2, 3]) });
C('where/broadcast', 'tf.where(cond, a, b)', { cond: B([1, 3]), a: F([2, 3]), b: F([2, 1]) });
C('topk/k2', 'tf.topk(x, 2)', { x: DISTINCT([3, 5]) });
C('topk/default', 'tf.topk(x)', { x: DISTINCT([6]) });

// --- comparisons / logical -----------------------------------------------------
const CMP_A = V([2, 3], [1, -0.5, 2, 0.25, 0, 3]);
const CMP_B = V([3], [1, 0.5, 2]);
C('equal/broadcast', 'tf.equal(a, b)', { a: CMP_A, b: CMP_B });
C('equal/int32', 'tf.equal(a, b)', { a: I([8], 0, 2), b: I([8], 0, 2) });
C('notEqual/broadcast', 'tf.notEqual(a, b)', { a: CMP_A, b: CMP_B });
C('greater/broadcast', 'tf.greater(a, b)', { a: CMP_A, b: CMP_B });
C('greaterEqual/broadcast', 'tf.greaterEqual(a, b)', { a: CMP_A, b: CMP_B });
C('less/broadcast', 'tf.less(a, b)', { a: CMP_A, b: CMP_B });
C('less/int32', 'tf.less(a, b)', { a: I([8], 0, 3), b: I([8], 0, 3) });
C('lessEqual/broadcast', 'tf.lessEqual(a, b)', { a: CMP_A, b: CMP_B });
C('logicalAnd/same', 'tf.logicalAnd(a, b)', { a: B([2, 4]), b: B([2, 4]) });
C('logicalAnd/broadcast', 'tf.logicalAnd(a, b)', { a: B([2, 3]), b: B([3]) });
C('logicalOr/broadcast', 'tf.logicalOr(a, b)', { a: B([2, 3]), b: B([2, 1]) });
C('logicalNot', 'tf.logicalNot(a)', { a: B([2, 3]) });

// --- nn -----------------------------------------------------------------------------
C('fused.matMul/biasRelu', "tf.fused.matMul({a, b, bias, activation: 'relu'})",
  { a: F([3, 4]), b: F([4, 5]), bias: F([5]) },
  { check: (v) => nearZeroFree(v.a, [3, 4], v.b, [4, 5], v.bias) });
C('fused.matMul/transposeBias', 'tf.fused.matMul({a, b, transposeA: true, transposeB: true, bias})',
  { a: F([4, 3]), b: F([2, 4]), bias: F([3, 2]) });
C('fused.matMul/batchedLinear', "tf.fused.matMul({a, b, bias, activation: 'linear'})",
  { a: F([2, 3, 4]), b: F([2, 4, 2]), bias: F([2]) });
C('conv1d/valid', "tf.conv1d(x, f, 1, 'valid')", { x: F([2, 7, 3]), f: F([3, 3, 2]) });
C('conv1d/sameStride2', "tf.conv1d(x, f, 2, 'same')", { x: F([1, 8, 2]), f: F([3, 2, 3]) });
C('conv1d/dilation2', "tf.conv1d(x, f, 1, 'valid', 'NWC', 2)", { x: F([1, 9, 2]), f: F([3, 2, 2]) });
C('conv2d/valid', "tf.conv2d(x, f, 1, 'valid')", { x: F([2, 5, 5, 2]), f: F([3, 3, 2, 3]) });
C('conv2d/sameStride2', "tf.conv2d(x, f, 2, 'same')", { x: F([1, 6, 5, 3]), f: F([3, 3, 3, 2]) });
C('conv2d/dilation2', "tf.conv2d(x, f, 1, 'same', 'NHWC', 2)", { x: F([1, 6, 6, 2]), f: F([3, 3, 2, 2]) });
C('conv2d/explicitPad', 'tf.conv2d(x, f, [1, 2], [[0, 0], [1, 1], [2, 0], [0, 0]])',
  { x: F([1, 4, 5, 2]), f: F([2, 3, 2, 2]) });
C('conv2dTranspose/same', "tf.conv2dTranspose(x, f, [1, 6, 6, 2], 2, 'same')",
  { x: F([1, 3, 3, 3]), f: F([3, 3, 2, 3]) });
C('conv2dTranspose/valid', "tf.conv2dTranspose(x, f, [2, 5, 5, 3], 1, 'valid')",
  { x: F([2, 3, 3, 2]), f: F([3, 3, 3, 2]) });
C('depthwiseConv2d/same', "tf.depthwiseConv2d(x, f, 1, 'same')", { x: F([1, 5, 5, 2]), f: F([3, 3, 2, 2]) });
C('depthwiseConv2d/validStride2', "tf.depthwiseConv2d(x, f, 2, 'valid')", { x: F([2, 6, 6, 3]), f: F([3, 3, 3, 1]) });
C('depthwiseConv2d/dilation2', "tf.depthwiseConv2d(x, f, 1, 'valid', 'NHWC', 2)", { x: F([1, 6, 6, 2]), f: F([2, 2, 2, 1]) });
C('separableConv2d/same', "tf.separableConv2d(x, dw, pw, 1, 'same')",
  { x: F([1, 5, 5, 2]), dw: F([3, 3, 2, 2]), pw: F([1, 1, 4, 3]) });
C('separableConv2d/validStride2', "tf.separableConv2d(x, dw, pw, 2, 'valid')",
  { x: F([1, 6, 6, 2]), dw: F([3, 3, 2, 1]), pw: F([1, 1, 2, 3]) });
C('fused.conv2d/biasRelu', "tf.fused.conv2d({x, filter: f, strides: 1, pad: 'same', bias, activation: 'relu'})",
  { x: F([1, 4, 4, 2]), f: F([3, 3, 2, 3]), bias: F([3], -0.5, 0.5) });
C('fused.conv2d/validBias', "tf.fused.conv2d({x, filter: f, strides: 2, pad: 'valid', bias})",
  { x: F([2, 5, 5, 2]), f: F([3, 3, 2, 2]), bias: F([2]) });
C('maxPool/valid', "tf.maxPool(x, 2, 2, 'valid')", { x: DISTINCT([1, 4, 4, 2]) });
C('maxPool/same', "tf.maxPool(x, 3, 2, 'same')", { x: DISTINCT([2, 5, 5, 1]) });
C('maxPool/overlap', "tf.maxPool(x, [2, 3], 1, 'valid')", { x: DISTINCT([1, 4, 5, 2]) });
C('avgPool/valid', "tf.avgPool(x, 2, 2, 'valid')", { x: F([1, 4, 4, 2]) });
C('avgPool/same', "tf.avgPool(x, 3, 2, 'same')", { x: F([2, 5, 5, 1]) },
  { skipGrad: { x: 'tfjs avgPool gradient divides by the full window size at padded borders (forward divides by the valid count)' } });
C('avgPool/sameStride1', "tf.avgPool(x, 2, 1, 'same')", { x: F([1, 3, 3, 2]) },
  { skipGrad: { x: 'tfjs avgPool gradient divides by the full window size at padded borders (forward divides by the valid count)' } });
C('batchNorm/full', 'tf.batchNorm(x, mean, variance, offset, scale, 0.001)',
  { x: F([2, 3, 4]), mean: F([4]), variance: F([4], 0.5, 2), offset: F([4]), scale: F([4], 0.5, 1.5) });
C('batchNorm/4d', 'tf.batchNorm(x, mean, variance, offset, scale)',
  { x: F([2, 2, 2, 3]), mean: F([3]), variance: F([3], 0.5, 2), offset: F([3]), scale: F([3], 0.5, 1.5) });
C('batchNorm/noAffine', 'tf.batchNorm(x, mean, variance)',
  { x: F([3, 4]), mean: F([4]), variance: F([4], 0.5, 2) });
C('localResponseNormalization/default', 'tf.localResponseNormalization(x)', { x: F([1, 2, 2, 6]) });
C('localResponseNormalization/attrs', 'tf.localResponseNormalization(x, 2, 2, 0.5, 0.75)', { x: F([2, 2, 3, 5]) });
C('softmax/lastAxis', 'tf.softmax(x)', { x: F([3, 4], -3, 3) });
C('softmax/3d', 'tf.softmax(x, -1)', { x: F([2, 2, 5], -3, 3) });
C('logSoftmax/lastAxis', 'tf.logSoftmax(x)', { x: F([3, 4], -3, 3) });
C('logSoftmax/1d', 'tf.logSoftmax(x)', { x: F([5], -3, 3) });
C('image.resizeBilinear/up', 'tf.image.resizeBilinear(x, [5, 6])', { x: F([1, 3, 3, 2]) });
C('image.resizeBilinear/alignCorners', 'tf.image.resizeBilinear(x, [5, 7], true)', { x: F([2, 3, 4, 1]) });
C('image.resizeBilinear/halfPixelDown', 'tf.image.resizeBilinear(x, [3, 2], false, true)', { x: F([1, 5, 4, 2]) });
C('image.resizeBilinear/alignCornersSquare', 'tf.image.resizeBilinear(x, [5, 7], true)', { x: F([2, 3, 3, 1]) });
C('image.resizeBilinear/halfPixelSquare', 'tf.image.resizeBilinear(x, [3, 5], false, true)', { x: F([1, 4, 4, 2]) },
  { skipGrad: { x: 'tfjs resizeBilinear gradient ignores halfPixelCenters' } });
C('image.resizeNearestNeighbor/up', 'tf.image.resizeNearestNeighbor(x, [5, 6])', { x: F([1, 3, 3, 2]) });
const NN_GRAD_BUG = { x: 'tfjs resizeNearestNeighbor gradient maps to the wrong source pixels with alignCorners / halfPixelCenters' };
C('image.resizeNearestNeighbor/alignCorners', 'tf.image.resizeNearestNeighbor(x, [5, 7], true)', { x: F([2, 3, 4, 1]) },
  { skipGrad: NN_GRAD_BUG });
C('image.resizeNearestNeighbor/halfPixelDown', 'tf.image.resizeNearestNeighbor(x, [3, 2], false, true)', { x: F([1, 5, 4, 2]) },
  { skipGrad: NN_GRAD_BUG });

// --- losses -------------------------------------------------------------------------
C('losses.meanSquaredError/default', 'tf.losses.meanSquaredError(labels, predictions)',
  { labels: F([3, 4]), predictions: F([3, 4]) });
C('losses.meanSquaredError/weightsSum', 'tf.losses.meanSquaredError(labels, predictions, weights, tf.Reduction.SUM)',
  { labels: F([3, 4]), predictions: F([3, 4]), weights: F([3, 1], 0, 2) });
C('losses.meanSquaredError/none', 'tf.losses.meanSquaredError(labels, predictions, undefined, tf.Reduction.NONE)',
  { labels: F([3, 4]), predictions: F([3, 4]) });
C('losses.absoluteDifference/default', 'tf.losses.absoluteDifference(labels, predictions)',
  { labels: F([3, 4]), predictions: F([3, 4]) },
  { check: (v) => v.labels.every((l, i) => Math.abs(l - v.predictions[i]) > 0.02) });
C('losses.absoluteDifference/weightsMean', 'tf.losses.absoluteDifference(labels, predictions, weights, tf.Reduction.MEAN)',
  { labels: F([3, 4]), predictions: F([3, 4]), weights: V([3, 4], [1, 0, 2, 1, 0.5, 0, 0, 1, 1, 1, 3, 0]) },
  { check: (v) => v.labels.every((l, i) => Math.abs(l - v.predictions[i]) > 0.02) });
const SCE_LABEL_GRAD_BUG = { labels: 'tfjs softmaxCrossEntropy gradient w.r.t. labels is incorrect' };
C('losses.softmaxCrossEntropy/default', 'tf.losses.softmaxCrossEntropy(labels, logits)',
  { labels: ONEHOT(3, 4), logits: F([3, 4], -3, 3) }, { skipGrad: SCE_LABEL_GRAD_BUG });
C('losses.softmaxCrossEntropy/smoothingSum', 'tf.losses.softmaxCrossEntropy(labels, logits, weights, 0.1, tf.Reduction.SUM)',
  { labels: ONEHOT(4, 3), logits: F([4, 3], -3, 3), weights: F([4], 0, 2) }, { skipGrad: SCE_LABEL_GRAD_BUG });
C('losses.sigmoidCrossEntropy/default', 'tf.losses.sigmoidCrossEntropy(labels, logits)',
  { labels: I([3, 4], 0, 1, 'float32'), logits: F([3, 4], -3, 3) });
C('losses.sigmoidCrossEntropy/smoothingNone', 'tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0.2, tf.Reduction.NONE)',
  { labels: F([2, 3], 0, 1), logits: F([2, 3], -3, 3) });
C('losses.logLoss/default', 'tf.losses.logLoss(labels, predictions)',
  { labels: I([3, 4], 0, 1, 'float32'), predictions: F([3, 4], 0.05, 0.95) });
C('losses.logLoss/epsilonMean', 'tf.losses.logLoss(labels, predictions, weights, 1e-4, tf.Reduction.MEAN)',
  { labels: F([2, 3], 0, 1), predictions: F([2, 3], 0.05, 0.95), weights: F([2, 1], 0.5, 1.5) });
C('losses.huberLoss/default', 'tf.losses.huberLoss(labels, predictions)',
  { labels: F([3, 4], -2, 2), predictions: F([3, 4], -2, 2) },
  { check: (v) => v.labels.every((l, i) => Math.abs(Math.abs(l - v.predictions[i]) - 1) > 0.02) });
C('losses.huberLoss/deltaSum', 'tf.losses.huberLoss(labels, predictions, undefined, 0.5, tf.Reduction.SUM)',
  { labels: F([3, 4], -2, 2), predictions: F([3, 4], -2, 2) },
  { check: (v) => v.labels.every((l, i) => Math.abs(Math.abs(l - v.predictions[i]) - 0.5) > 0.02) });
C('losses.hingeLoss/default', 'tf.losses.hingeLoss(labels, predictions)',
  { labels: I([3, 4], 0, 1, 'float32'), predictions: F([3, 4], -2, 2, { away: [-1, 1] }) });
C('losses.hingeLoss/weightsMean', 'tf.losses.hingeLoss(labels, predictions, weights, tf.Reduction.MEAN)',
  { labels: I([3, 4], 0, 1, 'float32'), predictions: F([3, 4], -2, 2, { away: [-1, 1] }), weights: F([3, 4], 0, 1) });
C('losses.cosineDistance/default', 'tf.losses.cosineDistance(labels, predictions, 1)',
  { labels: F([3, 4]), predictions: F([3, 4]) });
C('losses.cosineDistance/axis0Sum', 'tf.losses.cosineDistance(labels, predictions, 0, weights, tf.Reduction.SUM)',
  { labels: F([3, 4]), predictions: F([3, 4]), weights: F([1, 4], 0.5, 1.5) });

// fused.matMul with relu: keep pre-activations away from 0.
function nearZeroFree(a, [m, k], b, [, n], bias) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias[j];
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      if (Math.abs(s) < 0.02) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Generation.

function drawInputs(c, attempt) {
  const rng = mulberry32(fnv1a(attempt === 0 ? c.name : `${c.name}#${attempt}`));
  const inputs = {};
  for (const [name, gen] of Object.entries(c.inputs)) {
    const spec = gen(rng);
    if (spec.dtype === 'float32') spec.values = spec.values.map((v) => Math.fround(H.decodeNumber(v)));
    inputs[name] = spec;
  }
  return inputs;
}

function encodeInputs(inputs) {
  const out = {};
  for (const [name, s] of Object.entries(inputs)) {
    out[name] = { shape: s.shape, dtype: s.dtype, values: H.encodeValues(s.values, s.dtype) };
  }
  return out;
}

function shapesEqual(a, b) {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function errMsg(e) {
  return String((e && e.message) || e).split('\n')[0];
}

function computeGrads(tf, fn, args, gradNames, weights, keys) {
  const gs = tf.tidy(() => {
    const f = H.makeLoss(tf, fn, args, gradNames, weights, keys);
    return tf.grads(f)(gradNames.map((n) => args[n]));
  });
  const out = {};
  gradNames.forEach((n, i) => {
    if (!shapesEqual(gs[i].shape, args[n].shape)) {
      throw new Error(`gradient for ${n} has shape [${gs[i].shape}] != input shape [${args[n].shape}]`);
    }
    out[n] = H.fromTensor(gs[i]);
  });
  H.disposeAll(tf, gs);
  return out;
}

// Central finite differences in float32 on a few elements; warns only (tfjs
// is the reference), to catch gross gradient bugs that would end up golden.
function fdCheck(tf, c, fn, args, gradNames, weights, keys, grads) {
  const warnings = [];
  const lossAt = (a) => tf.tidy(() => {
    const f = H.makeLoss(tf, fn, a, [], weights, keys);
    return f().dataSync()[0];
  });
  for (const n of gradNames) {
    const base = Array.from(args[n].dataSync());
    const g = H.decodeValues(grads[n].values, 'float32');
    const picks = [...new Set([0, base.length - 1, Math.floor(base.length / 2), Math.floor(base.length / 3)])];
    for (const i of picks) {
      const eps = 1e-2 * Math.max(1, Math.abs(base[i]));
      const probe = (d) => {
        const v = base.slice();
        v[i] += d;
        const t = tf.tensor(v, args[n].shape, 'float32');
        const r = lossAt(Object.assign({}, args, { [n]: t }));
        t.dispose();
        return r;
      };
      const num = (probe(eps) - probe(-eps)) / (2 * eps);
      if (Math.abs(num - g[i]) > 2e-2 * Math.max(1, Math.abs(g[i]))) {
        warnings.push(`${c.name}: d/d${n}[${i}] analytic ${g[i]} vs numeric ${num.toPrecision(5)}`);
      }
    }
  }
  return warnings;
}

function genCase(tf, c) {
  let inputs;
  for (let attempt = 0; ; attempt++) {
    inputs = drawInputs(c, attempt);
    if (!c.opts.check) break;
    const vals = {};
    for (const [k, s] of Object.entries(inputs)) vals[k] = s.values;
    if (c.opts.check(vals)) break;
    if (attempt > 200) throw new Error(`${c.name}: could not draw inputs satisfying check`);
  }
  const entry = { name: c.name, op: c.op, inputs: encodeInputs(inputs) };
  const names = Object.keys(inputs);
  const fn = H.compileOp(c.op, names);
  const args = H.makeInputs(tf, entry);

  const res = H.normalizeResult(tf, fn(tf, args));
  const outs = res.tensors.map((t) => H.fromTensor(t));
  if (res.kind === 'tensor') entry.output = outs[0];
  else {
    entry.outputs = outs;
    if (res.kind === 'object') entry.outputKeys = res.keys;
  }
  const keys = res.kind === 'object' ? res.keys : undefined;
  H.disposeAll(tf, res.tensors);

  // Gradients.
  let gradNames = names.filter((n) => inputs[n].dtype === 'float32');
  if (Array.isArray(c.opts.grad)) gradNames = c.opts.grad;
  // Gradients tfjs computes but gets wrong (confirmed by finite differences):
  // not enshrined as golden values.
  const skipGrad = (!NO_SKIP && c.opts.skipGrad) || {};
  gradNames = gradNames.filter((n) => !skipGrad[n]);
  const floatOut = outs.map((o) => o.dtype === 'float32');
  const warnings = [];
  if (c.opts.grad !== false && gradNames.length > 0 && floatOut.some(Boolean)) {
    const wrng = mulberry32(fnv1a(`${c.name}/weights`));
    const wSpecs = outs.map((o, i) => (floatOut[i] ? F(o.shape, -1, 1)(wrng) : null));
    const weights = wSpecs.map((s) => (s ? tf.tensor(s.values, s.shape, 'float32') : null));
    let grads = null;
    const skipped = Object.assign({}, skipGrad);
    try {
      grads = computeGrads(tf, fn, args, gradNames, weights, keys);
    } catch (e) {
      // Retry input by input: keep the ones tfjs can differentiate.
      grads = {};
      for (const n of gradNames) {
        try {
          Object.assign(grads, computeGrads(tf, fn, args, [n], weights, keys));
        } catch (e2) {
          skipped[n] = errMsg(e2);
        }
      }
    }
    const ok = gradNames.filter((n) => grads[n]);
    if (ok.length) {
      entry.gradInputs = ok;
      entry.weights = wSpecs.map((s) => (s ? { shape: s.shape, dtype: 'float32', values: H.encodeValues(s.values, 'float32') } : null));
      entry.grads = {};
      for (const n of ok) entry.grads[n] = grads[n];
      if (CHECK && c.opts.fd !== false) warnings.push(...fdCheck(tf, c, fn, args, ok, weights, keys, entry.grads));
    }
    if (Object.keys(skipped).length) entry.gradSkipped = skipped;
    H.disposeAll(tf, weights);
  } else if (Object.keys(skipGrad).length) {
    entry.gradSkipped = Object.assign({}, skipGrad);
  }
  H.disposeAll(tf, Object.values(args));
  return { entry, warnings };
}

async function main() {
  const tf = require('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();
  const seen = new Set();
  const entries = [];
  const warnings = [];
  for (const c of CASES) {
    if (seen.has(c.name)) throw new Error(`duplicate case name ${c.name}`);
    seen.add(c.name);
    const before = tf.memory().numTensors;
    const { entry, warnings: w } = genCase(tf, c);
    const leaked = tf.memory().numTensors - before;
    // tfjs itself leaks tape tensors when a gradient function is missing.
    if (leaked !== 0 && !entry.gradSkipped) throw new Error(`${c.name}: leaked ${leaked} tensors`);
    entries.push(entry);
    warnings.push(...w);
  }
  const doc = {
    description: 'Golden op fixtures generated by scripts/gen-fixtures.js with @tensorflow/tfjs (cpu backend). ' +
      'grads[name] = d/d(name) of sum_i sum(outputs[i] * weights[i]) over float outputs. ' +
      'Values: NaN/Infinity/-Infinity are encoded as strings.',
    generator: { tfjs: tf.version.tfjs, backend: tf.getBackend() },
    tolerance: { rtol: H.RTOL, atol: H.ATOL },
    cases: entries,
  };
  if (process.argv.includes('--dry-run')) {
    console.log(`${entries.length} cases (dry run, nothing written)`);
    for (const w of warnings) console.warn(`  FD WARNING ${w}`);
    return;
  }
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, stringify(doc) + '\n');
  const nGrad = entries.filter((e) => e.grads).length;
  const nSkip = entries.filter((e) => e.gradSkipped);
  console.log(`wrote ${path.relative(process.cwd(), OUT)}: ${entries.length} cases, ${nGrad} with gradients`);
  for (const e of nSkip) console.log(`  no tfjs gradient: ${e.name}: ${JSON.stringify(e.gradSkipped)}`);
  for (const w of warnings) console.warn(`  FD WARNING ${w}`);
}

// Compact JSON: arrays of scalars on one line, and one line per leaf
// {shape, dtype, values} object.
function stringify(doc) {
  return JSON.stringify(doc, null, 1)
    .replace(/\[\s+([^[\]{}]*?)\s+\]/g, (m, inner) => `[${inner.replace(/\s+/g, ' ')}]`)
    .replace(/\{\s+("shape": \[[^\]]*\]),\s+("dtype": "\w+"),\s+("values": \[[^\]]*\])\s+\}/g, '{$1, $2, $3}');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
