'use strict';
// Neural-network ops: softmax, convolutions, pooling, normalisation, dropout, resizing.
// Each is one kernel (tfjs's kernel and attrs) or a composition of kernels, as in tfjs.

const { k1, runKernel, tidy } = require('../engine');
const { T } = require('./util');
const { reshape } = require('./shape');

function softmax(logits, dim = -1) {
  const t = T(logits, 'logits', 'softmax');
  if (t.rank === 0) throw new Error('softmax: logits must be at least rank 1, got a scalar');
  if (dim !== -1 && dim !== t.rank - 1) throw new Error(`softmax: only the last dimension is supported (dim -1 or ${t.rank - 1}), got ${dim}`);
  return k1('Softmax', t, { dim: t.rank - 1 });
}

function logSoftmax(logits, axis = -1) {
  const t = T(logits, 'logits', 'logSoftmax');
  if (t.rank === 0) throw new Error('logSoftmax: logits must be at least rank 1, got a scalar');
  if (axis !== -1 && axis !== t.rank - 1) throw new Error(`logSoftmax: only the last axis is supported (-1 or ${t.rank - 1}), got ${axis}`);
  return k1('LogSoftmax', t, { axis: t.rank - 1 });
}

function pair(v, name, op) {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new Error(`${op}: ${name} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

function checkPad(pad, op) {
  if (pad === 'same' || pad === 'valid' || typeof pad === 'number' || Array.isArray(pad)) return;
  throw new Error(`${op}: pad must be 'same', 'valid', a number or explicit paddings, got ${JSON.stringify(pad)}`);
}

// Runs `f` on a rank-4 view of a rank-3 (unbatched) input, as tfjs ops do.
function batched(x, rank, op, f) {
  if (x.rank !== rank && x.rank !== rank - 1) throw new Error(`${op}: input must be rank ${rank - 1} or ${rank}, got rank ${x.rank}`);
  if (x.rank === rank) return f(x);
  return tidy(() => {
    const r = f(reshape(x, [1, ...x.shape]));
    return reshape(r, r.shape.slice(1));
  });
}

function convAttrs(op, strides, pad, dataFormat, dilations, dimRoundingMode) {
  checkPad(pad, op);
  if (dataFormat !== 'NHWC' && dataFormat !== 'NCHW') throw new Error(`${op}: dataFormat must be 'NHWC' or 'NCHW', got '${dataFormat}'`);
  return { strides: pair(strides, 'strides', op), pad, dataFormat, dilations: pair(dilations == null ? 1 : dilations, 'dilations', op), dimRoundingMode };
}

function conv2d(x, filter, strides, pad, dataFormat = 'NHWC', dilations = [1, 1], dimRoundingMode) {
  const xt = T(x, 'x', 'conv2d');
  const f = T(filter, 'filter', 'conv2d');
  if (f.rank !== 4) throw new Error(`conv2d: filter must be rank 4, got rank ${f.rank}`);
  const attrs = convAttrs('conv2d', strides, pad, dataFormat, dilations, dimRoundingMode);
  return batched(xt, 4, 'conv2d', (x4) => runKernel('Conv2D', { x: x4, filter: f }, attrs));
}

function conv1d(x, filter, stride, pad, dataFormat = 'NWC', dilation = 1, dimRoundingMode) {
  const xt = T(x, 'x', 'conv1d');
  const f = T(filter, 'filter', 'conv1d');
  if (f.rank !== 3) throw new Error(`conv1d: filter must be rank 3, got rank ${f.rank}`);
  if (dataFormat !== 'NWC') throw new Error(`conv1d: dataFormat must be 'NWC', got '${dataFormat}'`);
  if (xt.rank !== 2 && xt.rank !== 3) throw new Error(`conv1d: input must be rank 2 or 3, got rank ${xt.rank}`);
  return tidy(() => {
    const x3 = xt.rank === 2 ? reshape(xt, [1, ...xt.shape]) : xt;
    const x4 = reshape(x3, [x3.shape[0], 1, x3.shape[1], x3.shape[2]]);
    const f4 = reshape(f, [1, ...f.shape]);
    const y = conv2d(x4, f4, [1, stride], pad, 'NHWC', [1, dilation], dimRoundingMode);
    const out = reshape(y, [y.shape[0], y.shape[2], y.shape[3]]);
    return xt.rank === 2 ? reshape(out, out.shape.slice(1)) : out;
  });
}

function conv2dTranspose(x, filter, outputShape, strides, pad, dimRoundingMode) {
  const xt = T(x, 'x', 'conv2dTranspose');
  const f = T(filter, 'filter', 'conv2dTranspose');
  checkPad(pad, 'conv2dTranspose');
  return batched(xt, 4, 'conv2dTranspose', (x4) => {
    const shape = outputShape.length === 3 ? [x4.shape[0], ...outputShape] : outputShape;
    return runKernel('Conv2DBackpropInput', { dy: x4, filter: f }, {
      strides: pair(strides, 'strides', 'conv2dTranspose'), pad, dataFormat: 'NHWC', dimRoundingMode, inputShape: shape,
    });
  });
}

function depthwiseConv2d(x, filter, strides, pad, dataFormat = 'NHWC', dilations = [1, 1], dimRoundingMode) {
  const xt = T(x, 'x', 'depthwiseConv2d');
  const f = T(filter, 'filter', 'depthwiseConv2d');
  const attrs = convAttrs('depthwiseConv2d', strides, pad, dataFormat, dilations, dimRoundingMode);
  return batched(xt, 4, 'depthwiseConv2d', (x4) => runKernel('DepthwiseConv2dNative', { x: x4, filter: f }, attrs));
}

function separableConv2d(x, depthwiseFilter, pointwiseFilter, strides, pad, dilation = [1, 1], dataFormat = 'NHWC') {
  const xt = T(x, 'x', 'separableConv2d');
  const df = T(depthwiseFilter, 'depthwiseFilter', 'separableConv2d');
  const pf = T(pointwiseFilter, 'pointwiseFilter', 'separableConv2d');
  return tidy(() => conv2d(depthwiseConv2d(xt, df, strides, pad, dataFormat, dilation), pf, 1, 'valid', dataFormat));
}

function poolAttrs(op, filterSize, strides, pad, dimRoundingMode) {
  checkPad(pad, op);
  return { filterSize: pair(filterSize, 'filterSize', op), strides: pair(strides, 'strides', op), pad, dimRoundingMode };
}

function maxPool(x, filterSize, strides, pad, dimRoundingMode) {
  const xt = T(x, 'x', 'maxPool');
  const attrs = poolAttrs('maxPool', filterSize, strides, pad, dimRoundingMode);
  return batched(xt, 4, 'maxPool', (x4) => k1('MaxPool', x4, attrs));
}

function avgPool(x, filterSize, strides, pad, dimRoundingMode) {
  const xt = T(x, 'x', 'avgPool');
  const attrs = poolAttrs('avgPool', filterSize, strides, pad, dimRoundingMode);
  return batched(xt, 4, 'avgPool', (x4) => k1('AvgPool', x4, attrs));
}

function pool(input, windowShape, poolingType, pad, dilations, strides, dimRoundingMode) {
  const d = pair(dilations == null ? 1 : dilations, 'dilations', 'pool');
  if (d[0] !== 1 || d[1] !== 1) throw new Error(`pool: dilations other than 1 are not supported, got [${d}]`);
  const s = strides == null ? 1 : strides;
  if (poolingType === 'max') return maxPool(input, windowShape, s, pad, dimRoundingMode);
  if (poolingType === 'avg') return avgPool(input, windowShape, s, pad, dimRoundingMode);
  throw new Error(`pool: poolingType must be 'max' or 'avg', got '${poolingType}'`);
}

function batchNorm(x, mean, variance, offset, scale, varianceEpsilon = 0.001) {
  const inputs = { x: T(x, 'x', 'batchNorm'), mean: T(mean, 'mean', 'batchNorm'), variance: T(variance, 'variance', 'batchNorm') };
  // The kernel takes offset before scale: a scale alone needs a zero offset.
  if (offset != null) inputs.offset = T(offset, 'offset', 'batchNorm');
  else if (scale != null) inputs.offset = require('./creation').zerosLike(inputs.mean);
  if (scale != null) inputs.scale = T(scale, 'scale', 'batchNorm');
  return runKernel('FusedBatchNorm', inputs, { varianceEpsilon });
}

function localResponseNormalization(x, depthRadius = 5, bias = 1, alpha = 1, beta = 0.5) {
  const xt = T(x, 'x', 'localResponseNormalization');
  if (!Number.isInteger(depthRadius) || depthRadius < 0) {
    throw new Error(`localResponseNormalization: depthRadius must be a non-negative integer, got ${depthRadius}`);
  }
  return batched(xt, 4, 'localResponseNormalization', (x4) => k1('LRN', x4, { depthRadius, bias, alpha, beta }));
}

function dropout(x, rate, noiseShape, seed) {
  const xt = T(x, 'x', 'dropout');
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be a number in [0, 1), got ${rate}`);
  if (rate === 0) return k1('Identity', xt);
  const random = require('./random');
  return tidy(() => {
    const shape = noiseShape || xt.shape;
    const keep = 1 - rate;
    const u = random.randomUniform(shape, 0, 1, 'float32', seed);
    const mask = k1('Floor', runKernel('Add', { a: u, b: keep }));
    return runKernel('RealDiv', { a: runKernel('Multiply', { a: xt, b: mask }), b: keep });
  });
}

function resize(kernel, op) {
  return (images, size, alignCorners = false, halfPixelCenters = false) => {
    const t = T(images, 'images', op);
    if (!Array.isArray(size) || size.length !== 2) throw new Error(`${op}: size must be [newHeight, newWidth], got ${JSON.stringify(size)}`);
    if (alignCorners && halfPixelCenters) throw new Error(`${op}: alignCorners and halfPixelCenters cannot both be true`);
    return batched(t, 4, op, (x4) => runKernel(kernel, { images: x4 }, { alignCorners, halfPixelCenters, size }));
  };
}

const image = {
  resizeBilinear: resize('ResizeBilinear', 'image.resizeBilinear'),
  resizeNearestNeighbor: resize('ResizeNearestNeighbor', 'image.resizeNearestNeighbor'),
};

const FUSED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'prelu', 'sigmoid'];

function fusedConv(kernel, op) {
  return ({ x, filter, strides, pad, dataFormat = 'NHWC', dilations = [1, 1], dimRoundingMode, bias, activation = 'linear', preluActivationWeights, leakyreluAlpha = 0.2 } = {}) => {
    if (!FUSED_ACTIVATIONS.includes(activation)) throw new Error(`${op}: unknown activation '${activation}' (expected one of ${FUSED_ACTIVATIONS.join(', ')})`);
    const xt = T(x, 'x', op);
    const inputs = { filter: T(filter, 'filter', op) };
    if (bias != null) inputs.bias = T(bias, 'bias', op);
    if (preluActivationWeights != null) inputs.preluActivationWeights = T(preluActivationWeights, 'preluActivationWeights', op);
    const attrs = { ...convAttrs(op, strides, pad, dataFormat, dilations, dimRoundingMode), activation, leakyreluAlpha };
    return batched(xt, 4, op, (x4) => runKernel(kernel, { x: x4, ...inputs }, attrs));
  };
}

module.exports = {
  softmax, logSoftmax, conv1d, conv2d, conv2dTranspose, depthwiseConv2d, separableConv2d, maxPool, avgPool, pool,
  batchNorm, localResponseNormalization, dropout, image,
  fusedConv2d: fusedConv('FusedConv2D', 'fused.conv2d'),
  fusedDepthwiseConv2d: fusedConv('FusedDepthwiseConv2D', 'fused.depthwiseConv2d'),
};
