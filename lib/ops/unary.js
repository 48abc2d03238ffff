'use strict';
// Unary element-wise ops and activations, each one kernel.

const { k1, k2 } = require('../engine');
const { T, assertNumber } = require('./util');

function unary(kernel, op) {
  return (x) => k1(kernel, T(x, 'x', op));
}

const table = {
  neg: 'Neg', abs: 'Abs', sign: 'Sign', square: 'Square', sqrt: 'Sqrt', rsqrt: 'Rsqrt', reciprocal: 'Reciprocal',
  exp: 'Exp', expm1: 'Expm1', log: 'Log', log1p: 'Log1p', sin: 'Sin', cos: 'Cos', tan: 'Tan', asin: 'Asin',
  acos: 'Acos', atan: 'Atan', sinh: 'Sinh', cosh: 'Cosh', tanh: 'Tanh', sigmoid: 'Sigmoid', softplus: 'Softplus',
  relu: 'Relu', relu6: 'Relu6', elu: 'Elu', selu: 'Selu', floor: 'Floor', ceil: 'Ceil', round: 'Round', erf: 'Erf',
  isNaN: 'IsNan', isInf: 'IsInf', isFinite: 'IsFinite', logicalNot: 'LogicalNot',
};

const ops = {};
for (const [name, kernel] of Object.entries(table)) ops[name] = unary(kernel, name);

ops.leakyRelu = (x, alpha = 0.2) => {
  assertNumber(alpha, 'alpha', 'leakyRelu');
  return k1('LeakyRelu', T(x, 'x', 'leakyRelu'), { alpha });
};
ops.prelu = (x, alpha) => k2('Prelu', T(x, 'x', 'prelu'), T(alpha, 'alpha', 'prelu'));
ops.step = (x, alpha = 0) => k1('Step', T(x, 'x', 'step'), { alpha });
ops.clipByValue = (x, clipValueMin, clipValueMax) => {
  assertNumber(clipValueMin, 'clipValueMin', 'clipByValue');
  assertNumber(clipValueMax, 'clipValueMax', 'clipByValue');
  if (clipValueMin > clipValueMax) {
    throw new Error(`clipByValue: clipValueMin (${clipValueMin}) must be less than or equal to clipValueMax (${clipValueMax})`);
  }
  return k1('ClipByValue', T(x, 'x', 'clipByValue'), { clipValueMin, clipValueMax });
};
ops.logSigmoid = (x) => {
  const { tidy } = require('../engine');
  return tidy(() => ops.neg(ops.softplus(ops.neg(T(x, 'x', 'logSigmoid')))));
};

module.exports = ops;
