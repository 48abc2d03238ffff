'use strict';
// Matrix products and the fused matMul.

const { k1, k2, runKernel, tidy } = require('../engine');
const { T } = require('./util');

function matMul(a, b, transposeA = false, transposeB = false) {
  const x = T(a, 'a', 'matMul');
  const y = T(b, 'b', 'matMul');
  if (x.rank < 2 || y.rank < 2) {
    throw new Error(`matMul: inputs must be at least rank 2, got ranks ${x.rank} and ${y.rank}`);
  }
  return k2('BatchMatMul', x, y, { transposeA, transposeB });
}

function dot(a, b) {
  const x = T(a, 'a', 'dot');
  const y = T(b, 'b', 'dot');
  if (x.rank < 1 || x.rank > 2 || y.rank < 1 || y.rank > 2) {
    throw new Error(`dot: inputs must be rank 1 or 2, got ranks ${x.rank} and ${y.rank}`);
  }
  const kx = x.shape[x.rank - 1];
  const ky = y.shape[0];
  if (kx !== ky) throw new Error(`dot: inner dimensions must match, got [${x.shape}] and [${y.shape}]`);
  return tidy(() => {
    const x2 = x.rank === 1 ? k1('Reshape', x, { shape: [1, kx] }) : x;
    const y2 = y.rank === 1 ? k1('Reshape', y, { shape: [ky, 1] }) : y;
    const r = k2('BatchMatMul', x2, y2, { transposeA: false, transposeB: false });
    if (x.rank === 1 && y.rank === 1) return k1('Reshape', r, { shape: [] });
    if (x.rank === 1) return k1('Reshape', r, { shape: [y.shape[1]] });
    if (y.rank === 1) return k1('Reshape', r, { shape: [x.shape[0]] });
    return r;
  });
}

function outerProduct(v1, v2) {
  const a = T(v1, 'v1', 'outerProduct');
  const b = T(v2, 'v2', 'outerProduct');
  if (a.rank !== 1 || b.rank !== 1) throw new Error(`outerProduct: inputs must be rank 1, got ranks ${a.rank} and ${b.rank}`);
  return tidy(() => k2('BatchMatMul', k1('Reshape', a, { shape: [-1, 1] }), k1('Reshape', b, { shape: [1, -1] }), {}));
}

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'];

/** tf.fused.matMul({a, b, transposeA, transposeB, bias, activation, preluActivationWeights, leakyreluAlpha}). */
function fusedMatMul({ a, b, transposeA = false, transposeB = false, bias, activation = 'linear', preluActivationWeights, leakyreluAlpha = 0.2 } = {}) {
  if (!ACTIVATIONS.includes(activation)) {
    throw new Error(`fused.matMul: unknown activation '${activation}' (expected one of ${ACTIVATIONS.join(', ')})`);
  }
  const inputs = { a: T(a, 'a', 'fused.matMul'), b: T(b, 'b', 'fused.matMul') };
  if (bias != null) inputs.bias = T(bias, 'bias', 'fused.matMul');
  if (preluActivationWeights != null) {
    if (bias == null) throw new Error('fused.matMul: preluActivationWeights need a bias (pass zeros for none)');
    inputs.preluActivationWeights = T(preluActivationWeights, 'preluActivationWeights', 'fused.matMul');
  }
  return runKernel('_FusedMatMul', inputs, { transposeA, transposeB, activation, leakyreluAlpha });
}

module.exports = { matMul, dot, outerProduct, fusedMatMul };
