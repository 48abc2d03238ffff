'use strict';
// The chained forms of the ops on Tensor.prototype: `x.add(y).relu()` calls `tf.relu(tf.add(x, y))`.

const { Tensor } = require('./tensor');

function install(ops) {
  const P = Tensor.prototype;
  // Methods whose first argument is the tensor itself.
  const self = [
    'add', 'sub', 'mul', 'div', 'divNoNan', 'floorDiv', 'mod', 'pow', 'maximum', 'minimum', 'squaredDifference', 'atan2',
    'neg', 'abs', 'sign', 'square', 'sqrt', 'rsqrt', 'reciprocal', 'exp', 'expm1', 'log', 'log1p', 'sin', 'cos', 'tan',
    'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'sigmoid', 'softplus', 'logSigmoid', 'relu', 'relu6', 'elu', 'selu',
    'leakyRelu', 'prelu', 'floor', 'ceil', 'round', 'clipByValue', 'isNaN', 'isInf', 'isFinite', 'erf', 'step',
    'sum', 'mean', 'max', 'min', 'prod', 'argMax', 'argMin', 'all', 'any', 'logSumExp', 'norm', 'cumsum',
    'matMul', 'dot', 'transpose', 'reshape', 'expandDims', 'squeeze', 'flatten', 'cast', 'clone', 'unstack', 'split',
    'slice', 'stridedSlice', 'gather', 'tile', 'pad', 'mirrorPad', 'reverse', 'topk', 'broadcastTo', 'oneHot',
    'zerosLike', 'onesLike', 'equal', 'notEqual', 'greater', 'greaterEqual', 'less', 'lessEqual', 'logicalAnd', 'logicalOr', 'logicalNot', 'logicalXor',
    'softmax', 'logSoftmax', 'conv1d', 'conv2d', 'conv2dTranspose', 'depthwiseConv2d', 'separableConv2d', 'maxPool',
    'avgPool', 'pool', 'batchNorm', 'localResponseNormalization', 'resizeBilinear', 'resizeNearestNeighbor',
  ];
  for (const name of self) {
    if (typeof ops[name] !== 'function') continue;
    const f = ops[name];
    Object.defineProperty(P, name, { value: function (...args) { return f(this, ...args); }, writable: true, configurable: true });
  }
  const extra = {
    concat(x, axis) { return ops.concat([this, ...(Array.isArray(x) ? x : [x])], axis); },
    stack(x, axis) { return ops.stack([this, ...(Array.isArray(x) ? x : [x])], axis); },
    where(condition, b) { return ops.where(condition, this, b); },
    as1D() { return ops.reshape(this, [this.size]); },
    as2D(r, c) { return ops.reshape(this, [r, c]); },
    as3D(r, c, d) { return ops.reshape(this, [r, c, d]); },
    as4D(r, c, d, e) { return ops.reshape(this, [r, c, d, e]); },
    as5D(r, c, d, e, f) { return ops.reshape(this, [r, c, d, e, f]); },
    asScalar() {
      if (this.size !== 1) throw new Error(`asScalar: the tensor must have exactly one element, it has ${this.size}`);
      return ops.reshape(this, []);
    },
    asType(dtype) { return ops.cast(this, dtype); },
    toFloat() { return ops.cast(this, 'float32'); },
    toInt() { return ops.cast(this, 'int32'); },
    toBool() { return ops.cast(this, 'bool'); },
    reshapeAs(x) { return ops.reshape(this, x.shape); },
    expandDims(axis = 0) { return ops.expandDims(this, axis); },
    variable(trainable, name, dtype) { return ops.variable(this, trainable, name, dtype); },
  };
  for (const [name, fn] of Object.entries(extra)) {
    Object.defineProperty(P, name, { value: fn, writable: true, configurable: true });
  }
}

module.exports = { install };
