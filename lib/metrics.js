'use strict';
// tf.metrics: the built-in metrics as eager functions (yTrue, yPred) => Tensor, with tfjs's
// semantics (per-sample values over the last axis; precision, recall and r2Score are scalars).
// They run the same native code as the metrics `compile` resolves, so a model's logged metric
// and tf.metrics agree. The ones that are losses are differentiable, as in tfjs.

const native = require('./native');
const { wrap } = require('./tensor');
const { tidy } = require('./engine');
const { T } = require('./ops/util');
const a = require('./ops/arithmetic');
const u = require('./ops/unary');
const r = require('./ops/reduction');

function builtin(op, nativeName = op) {
  const fn = (yTrue, yPred) => {
    const t = T(yTrue, 'yTrue', `metrics.${op}`);
    const p = T(yPred, 'yPred', `metrics.${op}`);
    try {
      return wrap(native.metricCompute(nativeName, t.h, p.h));
    } catch (e) {
      // An op inside the metric (Sub, …) failed: say which metric it was.
      if (!e.message.startsWith(nativeName)) e.message = `metrics.${op}: ${e.message}`;
      throw e;
    }
  };
  Object.defineProperty(fn, 'name', { value: op });
  return fn;
}

/** 1 − Σ(yTrue − yPred)² / Σ(yTrue − mean(yTrue))², over all elements (tfjs r2Score). */
function r2Score(yTrue, yPred) {
  const t = T(yTrue, 'yTrue', 'metrics.r2Score');
  const p = T(yPred, 'yPred', 'metrics.r2Score');
  return tidy(() => {
    const residuals = r.sum(u.square(a.sub(t, p)));
    const total = r.sum(u.square(a.sub(t, r.mean(t))));
    return a.sub(1, a.div(residuals, total));
  });
}

const meanSquaredError = builtin('meanSquaredError');
const meanAbsoluteError = builtin('meanAbsoluteError');
const meanAbsolutePercentageError = builtin('meanAbsolutePercentageError');

const metrics = {
  binaryAccuracy: builtin('binaryAccuracy'),
  categoricalAccuracy: builtin('categoricalAccuracy'),
  sparseCategoricalAccuracy: builtin('sparseCategoricalAccuracy'),
  precision: builtin('precision'),
  recall: builtin('recall'),
  binaryCrossentropy: builtin('binaryCrossentropy'),
  categoricalCrossentropy: builtin('categoricalCrossentropy'),
  sparseCategoricalCrossentropy: builtin('sparseCategoricalCrossentropy'),
  cosineProximity: builtin('cosineProximity'),
  meanSquaredError,
  MSE: meanSquaredError,
  mse: meanSquaredError,
  meanAbsoluteError,
  MAE: meanAbsoluteError,
  mae: meanAbsoluteError,
  meanAbsolutePercentageError,
  MAPE: meanAbsolutePercentageError,
  mape: meanAbsolutePercentageError,
  r2Score,
};

module.exports = { metrics };
