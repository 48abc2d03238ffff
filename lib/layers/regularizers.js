'use strict';
// tf.regularizers: weight penalties for layer configs (`kernelRegularizer: tf.regularizers.l2()`).
// A layer's config carries them as {className: 'L1L2', config: {l1, l2}}, as tfjs serializes
// them; `apply(x)` computes the penalty l1·Σ|x| + l2·Σx² as a scalar.

const { tidy } = require('../engine');
const { T } = require('../ops/util');
const a = require('../ops/arithmetic');
const u = require('../ops/unary');
const r = require('../ops/reduction');
const { scalar } = require('../ops/creation');

class Regularizer {
  getClassName() { return this.constructor.className; }
}

function factor(args, key, op) {
  const v = args == null || args[key] == null ? 0.01 : args[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new Error(`regularizers.${op}: ${key} must be a non-negative finite number, got ${v}`);
  }
  return v;
}

function checkArgs(args, op) {
  if (args != null && (typeof args !== 'object' || Array.isArray(args))) {
    throw new Error(`regularizers.${op}: the argument must be an object such as {${op === 'l1l2' ? 'l1: 0.01, l2: 0.01' : `${op}: 0.01`}}, got ${JSON.stringify(args)}`);
  }
}

class L1L2 extends Regularizer {
  static get className() { return 'L1L2'; }
  constructor(args, op = 'l1l2') {
    super();
    checkArgs(args, op);
    this.l1 = factor(args, 'l1', op);
    this.l2 = factor(args, 'l2', op);
  }
  /** The penalty of weight `x`, a scalar. */
  apply(x) {
    const w = T(x, 'x', 'L1L2.apply');
    return tidy(() => {
      let total = scalar(0);
      if (this.l1 !== 0) total = a.add(total, r.sum(a.mul(this.l1, u.abs(w))));
      if (this.l2 !== 0) total = a.add(total, r.sum(a.mul(this.l2, u.square(w))));
      return total;
    });
  }
  getConfig() { return { l1: this.l1, l2: this.l2 }; }
}

const regularizers = {
  l1: (args) => { checkArgs(args, 'l1'); return new L1L2({ l1: args == null ? null : args.l1, l2: 0 }, 'l1'); },
  l2: (args) => { checkArgs(args, 'l2'); return new L1L2({ l1: 0, l2: args == null ? null : args.l2 }, 'l2'); },
  l1l2: (args) => new L1L2(args, 'l1l2'),
};

module.exports = { Regularizer, L1L2, regularizers };
