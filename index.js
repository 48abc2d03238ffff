'use strict';
// ferrograd: the TensorFlow.js API on native Rust kernels. This file assembles the `tf`
// namespace from the modules in lib/.

const engine = require('./lib/engine');
const { Tensor, Variable } = require('./lib/tensor');
const { TensorBuffer } = require('./lib/buffer');
const native = require('./lib/native');
const pkg = require('./package.json');

const ops = Object.assign(
  {},
  require('./lib/ops/creation'),
  require('./lib/ops/arithmetic'),
  require('./lib/ops/unary'),
  require('./lib/ops/reduction'),
  require('./lib/ops/shape'),
  require('./lib/ops/linalg'),
  require('./lib/ops/nn'),
  require('./lib/ops/random'),
);
const optimizers = require('./lib/optimizers');
const { layers } = require('./lib/layers');
const models = require('./lib/models/model');
const { initializers } = require('./lib/layers/initializers');
const { regularizers } = require('./lib/layers/regularizers');
const { constraints } = require('./lib/layers/constraints');
const { metrics } = require('./lib/metrics');
const cbs = require('./lib/models/callbacks');
layers.inputLayer = (config) => new models.InputLayer(config);
const { losses, Reduction } = require('./lib/ops/losses');
const { data } = require('./lib/data');
const { io } = require('./lib/io');
const { serialization } = require('./lib/serialization');
const modelIO = require('./lib/io/model_io');
require('./lib/chain').install(ops);
// The fused ops live under tf.fused only, as in tfjs.
const fused = { matMul: ops.fusedMatMul, conv2d: ops.fusedConv2d, depthwiseConv2d: ops.fusedDepthwiseConv2d };
for (const k of ['fusedMatMul', 'fusedConv2d', 'fusedDepthwiseConv2d']) delete ops[k];

const TFJS_API = '4.22.0';
const flags = { IS_NODE: true, IS_BROWSER: false, DEBUG: false, IS_TEST: false, PROD: false, WEBGL_VERSION: 0 };
const envObject = {
  get(name) { if (!(name in flags)) throw new Error(`env: unknown flag '${name}'`); return flags[name]; },
  getBool(name) { return Boolean(envObject.get(name)); },
  getNumber(name) { return Number(envObject.get(name)); },
  set(name, value) { flags[name] = value; },
  getFlags() { return { ...flags }; },
  flags,
};

const tf = {
  ...ops,
  Tensor,
  Variable,
  TensorBuffer,
  fused,
  losses,
  Reduction,
  train: optimizers.train,
  layers,
  initializers,
  regularizers,
  constraints,
  metrics,
  input: models.input,
  model: models.model,
  sequential: models.sequential,
  Sequential: models.Sequential,
  LayersModel: models.LayersModel,
  Model: models.LayersModel,
  data,
  io,
  serialization,
  loadLayersModel: modelIO.loadLayersModel,
  models: { modelFromJSON: modelIO.modelFromJSON },
  callbacks: cbs.callbacks,
  Callback: cbs.Callback,
  EarlyStopping: cbs.EarlyStopping,
  Optimizer: optimizers.Optimizer,
  SGDOptimizer: optimizers.SGDOptimizer,
  MomentumOptimizer: optimizers.MomentumOptimizer,
  RMSPropOptimizer: optimizers.RMSPropOptimizer,
  AdamOptimizer: optimizers.AdamOptimizer,
  AdamaxOptimizer: optimizers.AdamaxOptimizer,
  AdagradOptimizer: optimizers.AdagradOptimizer,
  AdadeltaOptimizer: optimizers.AdadeltaOptimizer,
  tidy: engine.tidy,
  keep: engine.keep,
  dispose: engine.dispose,
  memory: engine.memory,
  disposeVariables: engine.disposeVariables,
  engine: engine.engine,
  registerKernel: engine.registerKernel,
  unregisterKernel: engine.unregisterKernel,
  getKernel: engine.getKernel,
  getKernelsForBackend: engine.getKernelsForBackend,
  registerGradient: engine.registerGradient,
  unregisterGradient: engine.unregisterGradient,
  getGradient: engine.getGradient,
  grad: engine.grad,
  grads: engine.grads,
  valueAndGrad: engine.valueAndGrad,
  valueAndGrads: engine.valueAndGrads,
  variableGrads: engine.variableGrads,
  customGrad: engine.customGrad,
  getBackend: () => engine.BACKEND,
  setBackend: async (name) => {
    if (name !== 'cpu' && name !== 'tensorflow') throw new Error(`setBackend: ferrograd has one backend, 'cpu' (also answering to 'tensorflow'); got '${name}'`);
    return true;
  },
  ready: async () => undefined,
  backend: () => engine.backend,
  env: () => envObject,
  version: { 'tfjs-core': TFJS_API, 'tfjs-layers': TFJS_API, 'tfjs-data': TFJS_API, tfjs: TFJS_API, ferrograd: pkg.version },
  print: (x, verbose) => x.print(verbose),
  nextFrame: () => new Promise((r) => setImmediate(r)),
  util: {
    sizeFromShape: (shape) => shape.reduce((a, b) => a * b, 1),
    flatten: (arr) => (Array.isArray(arr) ? arr.flat(Infinity) : [arr]),
    now: () => Number(process.hrtime.bigint()) / 1e6,
  },
  // Internal hooks for tests and benchmarks.
  _native: native,
};

module.exports = tf;
module.exports.default = tf;
