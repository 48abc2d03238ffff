'use strict';
// tf.losses: element-wise losses reduced with tfjs's Reduction semantics.

const { tidy } = require('../engine');
const { T } = require('./util');
const a = require('./arithmetic');
const u = require('./unary');
const r = require('./reduction');
const { cast } = require('./shape');
const { logSoftmax } = require('./nn');

const Reduction = { NONE: 0, MEAN: 1, SUM: 2, SUM_BY_NONZERO_WEIGHTS: 3 };

function checkReduction(reduction, op) {
  if (!Object.values(Reduction).includes(reduction)) {
    throw new Error(`${op}: reduction must be one of tf.Reduction.NONE, MEAN, SUM, SUM_BY_NONZERO_WEIGHTS, got ${reduction}`);
  }
}

function sameShape(x, y, op) {
  if (JSON.stringify(x.shape) !== JSON.stringify(y.shape)) {
    throw new Error(`${op}: labels and predictions must have the same shape, got [${x.shape}] and [${y.shape}]`);
  }
}

function computeWeightedLoss(losses, weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) {
  checkReduction(reduction, 'computeWeightedLoss');
  const l = T(losses, 'losses', 'computeWeightedLoss');
  const w = weights == null ? null : T(weights, 'weights', 'computeWeightedLoss');
  return tidy(() => {
    const weighted = w == null ? l : a.mul(l, w);
    if (reduction === Reduction.NONE) return weighted;
    if (reduction === Reduction.SUM) return r.sum(weighted);
    if (reduction === Reduction.MEAN) {
      if (w == null) return r.mean(weighted);
      const factor = l.size / w.size;
      const res = a.div(r.sum(weighted), r.sum(w));
      return factor > 1 ? a.div(res, factor) : res;
    }
    if (w == null) return a.div(r.sum(weighted), l.size);
    const broadcastW = a.mul(w, require('./creation').ones(l.shape));
    const nonZero = cast(r.sum(a.notEqual(broadcastW, 0)), 'float32');
    return a.div(r.sum(weighted), nonZero);
  });
}

function loss(op, body) {
  return (labels, predictions, weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS, ...rest) => {
    const y = T(labels, 'labels', op);
    const p = T(predictions, 'predictions', op);
    checkReduction(reduction, op);
    sameShape(y, p, op);
    return tidy(() => computeWeightedLoss(body(y, p, ...rest), weights, reduction));
  };
}

const meanSquaredError = loss('meanSquaredError', (y, p) => a.squaredDifference(y, p));
const absoluteDifference = loss('absoluteDifference', (y, p) => u.abs(a.sub(y, p)));
const hingeLoss = loss('hingeLoss', (y, p) => u.relu(a.sub(1, a.mul(a.sub(a.mul(y, 2), 1), p))));

function huberLoss(labels, predictions, weights, delta = 1.0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) {
  return loss('huberLoss', (y, p) => {
    const err = u.abs(a.sub(p, y));
    const quad = a.minimum(err, delta);
    const lin = a.sub(err, quad);
    return a.add(a.mul(0.5, u.square(quad)), a.mul(delta, lin));
  })(labels, predictions, weights, reduction);
}

function logLoss(labels, predictions, weights, epsilon = 1e-7, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) {
  return loss('logLoss', (y, p) => {
    const pos = a.mul(u.neg(y), u.log(a.add(p, epsilon)));
    const neg = a.mul(a.sub(1, y), u.log(a.add(a.sub(1, p), epsilon)));
    return a.sub(pos, neg);
  })(labels, predictions, weights, reduction);
}

function cosineDistance(labels, predictions, axis, weights, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) {
  if (!Number.isInteger(axis)) throw new Error(`cosineDistance: axis must be an integer, got ${axis}`);
  return loss('cosineDistance', (y, p) => a.sub(1, r.sum(a.mul(y, p), axis, true)))(labels, predictions, weights, reduction);
}

function sigmoidCrossEntropy(multiClassLabels, logits, weights, labelSmoothing = 0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) {
  return loss('sigmoidCrossEntropy', (y, x) => {
    const labels = labelSmoothing > 0 ? a.add(a.mul(y, 1 - labelSmoothing), 0.5 * labelSmoothing) : y;
    // max(x, 0) - x·z + log(1 + e^(-|x|)), stable for large |x|
    return a.add(a.sub(u.relu(x), a.mul(x, labels)), u.log1p(u.exp(u.neg(u.abs(x)))));
  })(multiClassLabels, logits, weights, reduction);
}

function softmaxCrossEntropy(onehotLabels, logits, weights, labelSmoothing = 0, reduction = Reduction.SUM_BY_NONZERO_WEIGHTS) {
  return loss('softmaxCrossEntropy', (y, x) => {
    const n = x.shape[x.rank - 1];
    const labels = labelSmoothing > 0 ? a.add(a.mul(y, 1 - labelSmoothing), labelSmoothing / n) : y;
    return u.neg(r.sum(a.mul(labels, logSoftmax(x)), -1));
  })(onehotLabels, logits, weights, reduction);
}

module.exports = {
  Reduction,
  losses: {
    computeWeightedLoss, meanSquaredError, absoluteDifference, hingeLoss, huberLoss, logLoss, cosineDistance,
    sigmoidCrossEntropy, softmaxCrossEntropy,
  },
};
