'use strict';
// tf.constraints: projections applied to a weight after each training update
// (`kernelConstraint: tf.constraints.maxNorm({maxValue: 2})`). A layer's config carries them
// as {className, config}, as tfjs serializes them; `apply(w)` computes the constrained value.
// Norms are L2 norms over `axis` (default 0), kept as dimensions so they broadcast against w.

const { tidy } = require('../engine');
const { T } = require('../ops/util');
const a = require('../ops/arithmetic');
const u = require('../ops/unary');
const r = require('../ops/reduction');

// tfjs-layers' backend epsilon.
const EPSILON = 1e-7;

class Constraint {
  getClassName() { return this.constructor.className; }
  getConfig() { return {}; }
}

function checkArgs(args, op) {
  if (args != null && (typeof args !== 'object' || Array.isArray(args))) {
    throw new Error(`constraints.${op}: the argument must be an object, got ${JSON.stringify(args)}`);
  }
  return args || {};
}

function number(args, key, dflt, op) {
  const v = args[key] == null ? dflt : args[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`constraints.${op}: ${key} must be a finite number, got ${v}`);
  return v;
}

function axisOf(args, op) {
  const v = args.axis == null ? 0 : args.axis;
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((x) => Number.isInteger(x))) {
    throw new Error(`constraints.${op}: axis must be an integer or a list of integers, got ${JSON.stringify(v)}`);
  }
  return v;
}

function norms(w, axis) {
  return u.sqrt(r.sum(a.mul(w, w), axis, true));
}

class MaxNorm extends Constraint {
  static get className() { return 'MaxNorm'; }
  constructor(args) {
    super();
    const c = checkArgs(args, 'maxNorm');
    this.maxValue = number(c, 'maxValue', 2, 'maxNorm');
    this.axis = axisOf(c, 'maxNorm');
  }
  apply(x) {
    const w = T(x, 'w', 'MaxNorm.apply');
    return tidy(() => {
      const n = norms(w, this.axis);
      return a.mul(w, a.div(u.clipByValue(n, 0, this.maxValue), a.add(EPSILON, n)));
    });
  }
  getConfig() { return { maxValue: this.maxValue, axis: this.axis }; }
}

class UnitNorm extends Constraint {
  static get className() { return 'UnitNorm'; }
  constructor(args) {
    super();
    this.axis = axisOf(checkArgs(args, 'unitNorm'), 'unitNorm');
  }
  apply(x) {
    const w = T(x, 'w', 'UnitNorm.apply');
    return tidy(() => a.div(w, a.add(EPSILON, norms(w, this.axis))));
  }
  getConfig() { return { axis: this.axis }; }
}

class NonNeg extends Constraint {
  static get className() { return 'NonNeg'; }
  apply(x) { return u.relu(T(x, 'w', 'NonNeg.apply')); }
}

class MinMaxNorm extends Constraint {
  static get className() { return 'MinMaxNorm'; }
  constructor(args) {
    super();
    const c = checkArgs(args, 'minMaxNorm');
    this.minValue = number(c, 'minValue', 0, 'minMaxNorm');
    this.maxValue = number(c, 'maxValue', 1, 'minMaxNorm');
    this.rate = number(c, 'rate', 1, 'minMaxNorm');
    this.axis = axisOf(c, 'minMaxNorm');
    if (this.minValue > this.maxValue) throw new Error(`constraints.minMaxNorm: minValue (${this.minValue}) must not exceed maxValue (${this.maxValue})`);
  }
  apply(x) {
    const w = T(x, 'w', 'MinMaxNorm.apply');
    return tidy(() => {
      const n = norms(w, this.axis);
      const desired = a.add(a.mul(this.rate, u.clipByValue(n, this.minValue, this.maxValue)), a.mul(1 - this.rate, n));
      return a.mul(w, a.div(desired, a.add(EPSILON, n)));
    });
  }
  getConfig() { return { minValue: this.minValue, maxValue: this.maxValue, rate: this.rate, axis: this.axis }; }
}

const constraints = {
  maxNorm: (args) => new MaxNorm(args),
  unitNorm: (args) => new UnitNorm(args),
  nonNeg: () => new NonNeg(),
  minMaxNorm: (args) => new MinMaxNorm(args),
};

module.exports = { Constraint, MaxNorm, UnitNorm, NonNeg, MinMaxNorm, constraints };
