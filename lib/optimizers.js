'use strict';
// tf.train optimizers. The update rules and slot variables are native; this class is the tfjs
// surface over them (minimize, computeGradients, applyGradients, getWeights, setWeights).

const native = require('./native');
const { variableGrads, dispose } = require('./engine');
const { Tensor, Variable, wrap } = require('./tensor');
const variables = require('./variables');

class Optimizer {
  constructor(kind, config) {
    this._kind = kind;
    this._o = native.optimizerCreate(kind, config);
  }
  static get className() { return this.name.replace(/Optimizer$/, ''); }
  getClassName() { return this.constructor.className; }

  get iterations() { return native.optimizerIterations(this._o); }
  get learningRate() { return native.optimizerConfig(this._o).learningRate; }
  set learningRate(lr) { native.optimizerSetLearningRate(this._o, lr); }

  /** Runs f, and updates the variables it depends on to lower it. */
  minimize(f, returnCost = false, varList) {
    const { value, grads } = this.computeGradients(f, varList);
    try {
      this.applyGradients(grads);
    } finally {
      dispose(grads);
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  computeGradients(f, varList) {
    return variableGrads(f, varList);
  }

  /** Applies gradients given as {variableName: Tensor} or [{name, tensor}]. */
  applyGradients(variableGradients) {
    const entries = Array.isArray(variableGradients)
      ? variableGradients.map((e) => [e.name, e.tensor])
      : Object.entries(variableGradients || {});
    const vars = [];
    const grads = [];
    for (const [name, g] of entries) {
      if (g == null) continue;
      const v = variables.registered.get(name);
      if (!(v instanceof Variable)) throw new Error(`applyGradients: no variable named '${name}' is registered`);
      if (!(g instanceof Tensor)) throw new Error(`applyGradients: the gradient of '${name}' must be a Tensor`);
      vars.push(v.h);
      grads.push(g.h);
    }
    native.optimizerApply(this._o, vars, grads);
  }

  async getWeights() {
    const [names, handles] = native.optimizerGetWeights(this._o);
    return names.map((name, i) => ({ name, tensor: wrap(handles[i]) }));
  }

  async setWeights(weightValues) {
    if (!Array.isArray(weightValues)) throw new Error('setWeights: expected an array of {name, tensor}');
    native.optimizerSetWeights(this._o, weightValues.map((w) => w.name), weightValues.map((w) => w.tensor.h));
  }

  getConfig() { return native.optimizerConfig(this._o); }

  dispose() {
    // Keep the iteration count, drop the slot tensors now rather than at garbage collection.
    const [names, handles] = native.optimizerGetWeights(this._o);
    native.optimizerSetWeights(this._o, names.slice(0, 1), handles.slice(0, 1));
    for (const h of handles) native.dispose(h);
  }
}

function checkLr(lr, op) {
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new Error(`${op}: learningRate must be a non-negative finite number, got ${lr}`);
  }
}

class SGDOptimizer extends Optimizer {
  constructor(learningRate) { checkLr(learningRate, 'sgd'); super('sgd', { learningRate }); }
  static get className() { return 'SGD'; }
}
class MomentumOptimizer extends Optimizer {
  constructor(learningRate, momentum, useNesterov = false) {
    checkLr(learningRate, 'momentum');
    super('momentum', { learningRate, momentum, useNesterov });
  }
  static get className() { return 'Momentum'; }
}
class RMSPropOptimizer extends Optimizer {
  constructor(learningRate, decay = 0.9, momentum = 0, epsilon = null, centered = false) {
    checkLr(learningRate, 'rmsprop');
    super('rmsprop', { learningRate, decay, momentum, epsilon, centered });
  }
  static get className() { return 'RMSProp'; }
}
class AdamOptimizer extends Optimizer {
  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = null) {
    checkLr(learningRate, 'adam');
    super('adam', { learningRate, beta1, beta2, epsilon });
  }
  static get className() { return 'Adam'; }
}
class AdamaxOptimizer extends Optimizer {
  constructor(learningRate = 0.002, beta1 = 0.9, beta2 = 0.999, epsilon = null, decay = 0) {
    checkLr(learningRate, 'adamax');
    super('adamax', { learningRate, beta1, beta2, epsilon, decay });
  }
  static get className() { return 'Adamax'; }
}
class AdagradOptimizer extends Optimizer {
  constructor(learningRate, initialAccumulatorValue = 0.1) {
    checkLr(learningRate, 'adagrad');
    super('adagrad', { learningRate, initialAccumulatorValue });
  }
  static get className() { return 'Adagrad'; }
}
class AdadeltaOptimizer extends Optimizer {
  constructor(learningRate = 0.001, rho = 0.95, epsilon = null) {
    checkLr(learningRate, 'adadelta');
    super('adadelta', { learningRate, rho, epsilon });
  }
  static get className() { return 'Adadelta'; }
}

const train = {
  sgd: (lr) => new SGDOptimizer(lr),
  momentum: (lr, momentum, useNesterov) => new MomentumOptimizer(lr, momentum, useNesterov),
  rmsprop: (lr, decay, momentum, epsilon, centered) => new RMSPropOptimizer(lr, decay, momentum, epsilon, centered),
  adam: (lr, beta1, beta2, epsilon) => new AdamOptimizer(lr, beta1, beta2, epsilon),
  adamax: (lr, beta1, beta2, epsilon, decay) => new AdamaxOptimizer(lr, beta1, beta2, epsilon, decay),
  adagrad: (lr, initialAccumulatorValue) => new AdagradOptimizer(lr, initialAccumulatorValue),
  adadelta: (lr, rho, epsilon) => new AdadeltaOptimizer(lr, rho, epsilon),
};

module.exports = {
  train, Optimizer, SGDOptimizer, MomentumOptimizer, RMSPropOptimizer, AdamOptimizer, AdamaxOptimizer,
  AdagradOptimizer, AdadeltaOptimizer,
};
