'use strict';
// The models of the layer-parity fixtures (__test__/fixtures/layers.json), shared by the
// generator (scripts/gen-layer-fixtures.js, run with real @tensorflow/tfjs) and the test
// (__test__/layers.parity.test.js, run with ferrograd): each case builds the same small model
// from the tf namespace it is given, and the measurements below are written once so both
// sides compute exactly the same thing.
//
// A case: {name, build(tf, prefix) → model, input: spec, training?: true (also record a
// training-mode forward pass), fit: [optimizer spec…], loss?, metrics?, batchSize?, validationSplit?,
// noGradients?: why tfjs cannot differentiate the model (then only forward passes are kept),
// reference?(tf, model, x): the expected inference output where tfjs's own is wrong, or
// reference: {weights: [[name, shape]…], forward(tf, weights, x)} for a model tfjs cannot build,
// whose output and gradients then come from that tfjs-ops formula}.
// Layer names are `${prefix}_…` so a case can be built several times in one process.

const { fnv1a, mulberry32 } = require('./helpers');

// Deterministic numbers: mulberry32 seeded with an FNV-1a hash of a string.
function rngFor(key) {
  return mulberry32(fnv1a(key));
}

const size = (shape) => shape.reduce((a, b) => a * b, 1);

/** Uniform float32 values in [lo, hi). */
function uniform(key, shape, lo, hi) {
  const rng = rngFor(key);
  return Array.from({ length: size(shape) }, () => Math.fround(lo + (hi - lo) * rng()));
}

/**
 * The fixed value of a weight, from its name and shape: positive variances, scales near 1,
 * everything else uniform in ±1/sqrt(fan-in) so activations stay in their interesting range.
 */
function weightValues(caseName, index, name, shape) {
  const key = `${caseName}/w${index}`;
  if (/moving_variance$/.test(name)) return uniform(key, shape, 0.5, 1.5);
  if (/gamma$/.test(name)) return uniform(key, shape, 0.7, 1.3);
  if (/moving_mean$/.test(name)) return uniform(key, shape, -0.3, 0.3);
  const fanIn = shape.length >= 2 ? size(shape.slice(0, -1)) : shape[0];
  const r = 1.2 / Math.sqrt(Math.max(fanIn, 1));
  return uniform(key, shape, -r, r);
}

// ---------------------------------------------------------------------------
// Input specs.

const F = (shape, lo = -1, hi = 1) => ({ shape, dtype: 'float32', lo, hi });
const INT = (shape, lo, hi) => ({ shape, dtype: 'int32', lo, hi });

/**
 * Input values; `spec.zeroSteps` lists [example, step] pairs of a sequence set to zero (all
 * features of the step; index 0 for integer inputs).
 */
function makeValues(key, spec) {
  let v;
  if (spec.dtype === 'int32') {
    const rng = rngFor(key);
    v = Array.from({ length: size(spec.shape) }, () => spec.lo + Math.floor((spec.hi - spec.lo + 1) * rng()));
  } else {
    v = uniform(key, spec.shape, spec.lo, spec.hi);
  }
  const [, steps, features = 1] = spec.shape;
  for (const [b, t] of spec.zeroSteps || []) v.fill(0, (b * steps + t) * features, (b * steps + t + 1) * features);
  return v;
}

/** Targets: one-hot rows for the crossentropies, class indices for the sparse one, else uniform. */
function targetValues(key, shape, loss) {
  const rng = rngFor(key);
  const k = shape[shape.length - 1];
  const rows = size(shape) / k;
  if (loss === 'categoricalCrossentropy') {
    const v = new Array(size(shape)).fill(0);
    for (let i = 0; i < rows; i++) v[i * k + Math.floor(rng() * k)] = 1;
    return { shape, values: v };
  }
  if (loss === 'sparseCategoricalCrossentropy') {
    return { shape: [...shape.slice(0, -1), 1], values: Array.from({ length: rows }, () => Math.floor(rng() * k)) };
  }
  if (loss === 'binaryCrossentropy') return { shape, values: Array.from({ length: size(shape) }, () => (rng() < 0.5 ? 0 : 1)) };
  return { shape, values: uniform(key, shape, -1, 1) };
}

// ---------------------------------------------------------------------------
// Optimizers: a compile string, or [tf.train factory, ...args].

const ALL_OPTIMIZERS = ['sgd', 'rmsprop', 'adam', 'adamax', 'adagrad', 'adadelta',
  ['sgd', 0.1], ['momentum', 0.1, 0.9], ['momentum', 0.05, 0.8, true], ['rmsprop', 0.01, 0.8, 0.5, 1e-6],
  ['adam', 0.05, 0.8, 0.9, 1e-5], ['adamax', 0.05], ['adagrad', 0.1], ['adadelta', 1.0]];

function makeOptimizer(tf, spec) {
  if (typeof spec === 'string') return spec;
  const [name, ...args] = spec;
  return tf.train[name](...args);
}

const optimizerLabel = (spec) => (typeof spec === 'string' ? spec : `${spec[0]}(${spec.slice(1).join(', ')})`);

// ---------------------------------------------------------------------------
// The cases.

const seq = (tf, layers) => tf.sequential({ layers });

const CASES = [
  {
    name: 'mlp',
    input: F([6, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 6, activation: 'relu', inputShape: [4], name: `${p}_d1` }),
      tf.layers.dense({ units: 5, activation: 'tanh', name: `${p}_d2` }),
      tf.layers.dense({ units: 3, name: `${p}_d3` }),
    ]),
    fit: ALL_OPTIMIZERS,
  },
  {
    // Two batches a fit step: 4 examples, then the remaining 2.
    name: 'mlp_minibatch',
    input: F([6, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, activation: 'sigmoid', inputShape: [3], name: `${p}_d1` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    batchSize: 4,
    // Centered RMSProp only here, with a tiny ε: tfjs 4.22 takes √(ms − mg² − ε), which is NaN
    // wherever a gradient is (nearly) zero, as in the dead ReLU units of the other models;
    // ferrograd takes TensorFlow's √(ms − mg² + ε). With ε = 1e-10 the two agree to float
    // precision wherever tfjs's is defined.
    fit: ['sgd', 'adam', ['momentum', 0.1, 0.9], ['rmsprop', 0.01, 0.8, 0.5, 1e-10, true]],
  },
  {
    name: 'mlp_activations',
    input: F([4, 5], -2, 2),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, activation: 'elu', inputShape: [5], name: `${p}_d1` }),
      tf.layers.dense({ units: 4, activation: 'selu', name: `${p}_d2` }),
      tf.layers.dense({ units: 4, activation: 'softplus', name: `${p}_d3` }),
      tf.layers.dense({ units: 4, activation: 'softsign', name: `${p}_d4` }),
      tf.layers.dense({ units: 4, activation: 'swish', name: `${p}_d5` }),
      tf.layers.dense({ units: 4, activation: 'mish', name: `${p}_d6` }),
      tf.layers.dense({ units: 4, activation: 'gelu', name: `${p}_d7` }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: `${p}_d8` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'mlp_softmax_cce',
    input: F([8, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 5, activation: 'relu', inputShape: [4], name: `${p}_d1` }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: `${p}_d2` }),
    ]),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
    fit: ['sgd', 'adam'],
  },
  {
    name: 'mlp_softmax_sparse',
    input: F([8, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 5, activation: 'tanh', inputShape: [4], name: `${p}_d1` }),
      tf.layers.dense({ units: 4, activation: 'softmax', name: `${p}_d2` }),
    ]),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
    fit: ['adam'],
  },
  {
    name: 'mlp_sigmoid_bce',
    input: F([8, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, activation: 'relu', inputShape: [3], name: `${p}_d1` }),
      tf.layers.dense({ units: 2, activation: 'sigmoid', name: `${p}_d2` }),
    ]),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
    fit: ['rmsprop'],
  },
  {
    name: 'functional_merge',
    input: F([5, 4]),
    build: (tf, p) => {
      const x = tf.input({ shape: [4], name: `${p}_in` });
      const a = tf.layers.dense({ units: 3, activation: 'relu', name: `${p}_a` }).apply(x);
      const b = tf.layers.dense({ units: 3, activation: 'tanh', name: `${p}_b` }).apply(x);
      const s = tf.layers.add({ name: `${p}_add` }).apply([a, b]);
      const m = tf.layers.multiply({ name: `${p}_mul` }).apply([a, b]);
      const c = tf.layers.concatenate({ name: `${p}_cat` }).apply([s, m, x]);
      const y = tf.layers.dense({ units: 2, name: `${p}_out` }).apply(c);
      return tf.model({ inputs: x, outputs: y, name: `${p}_model` });
    },
    fit: ['adam'],
  },
  {
    name: 'mlp_validation_split',
    input: F([8, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, activation: 'tanh', inputShape: [3], name: `${p}_d1` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    batchSize: 3,
    validationSplit: 0.25,
    metrics: ['mae'],
    fit: ['adam'],
  },
  {
    name: 'advanced_activations',
    input: F([4, 3], -2, 2),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, inputShape: [3], name: `${p}_d1` }),
      tf.layers.prelu({ name: `${p}_prelu` }),
      tf.layers.dense({ units: 4, name: `${p}_d2` }),
      tf.layers.leakyReLU({ alpha: 0.2, name: `${p}_leaky` }),
      tf.layers.dense({ units: 4, name: `${p}_d3` }),
      tf.layers.elu({ name: `${p}_elu` }),
      tf.layers.dense({ units: 3, name: `${p}_d5` }),
      tf.layers.reLU({ maxValue: 0.5, name: `${p}_relu` }),
      tf.layers.dense({ units: 3, name: `${p}_d6` }),
      tf.layers.softmax({ axis: -1, name: `${p}_softmax` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'thresholded_relu',
    noGradients: 'tfjs 4.22 has no gradient for thresholdedReLU (its Greater op has none)',
    input: F([4, 3], -2, 2),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, inputShape: [3], name: `${p}_d1` }),
      tf.layers.thresholdedReLU({ theta: 0.1, name: `${p}_thr` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    fit: [],
  },
  {
    name: 'merge_layers',
    input: F([4, 3]),
    build: (tf, p) => {
      const x = tf.input({ shape: [3], name: `${p}_in` });
      const a = tf.layers.dense({ units: 4, activation: 'tanh', name: `${p}_a` }).apply(x);
      const b = tf.layers.dense({ units: 4, name: `${p}_b` }).apply(x);
      const dot = tf.layers.dot({ axes: 1, normalize: true, name: `${p}_dot` }).apply([a, b]);
      const dot2 = tf.layers.dot({ axes: -1, name: `${p}_dot2` }).apply([a, b]);
      const avg = tf.layers.average({ name: `${p}_avg` }).apply([a, b]);
      const mx = tf.layers.maximum({ name: `${p}_max` }).apply([a, b]);
      const mn = tf.layers.minimum({ name: `${p}_min` }).apply([a, b]);
      const cat = tf.layers.concatenate({ axis: -1, name: `${p}_cat` }).apply([dot, dot2, avg, mx, mn]);
      const y = tf.layers.dense({ units: 2, name: `${p}_out` }).apply(cat);
      return tf.model({ inputs: x, outputs: y, name: `${p}_model` });
    },
    fit: ['adam'],
  },
  {
    name: 'reshaping_layers',
    input: F([2, 3, 4, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 2]], inputShape: [3, 4, 2], name: `${p}_pad` }),
      tf.layers.cropping2D({ cropping: [[0, 1], [1, 0]], name: `${p}_crop` }),
      tf.layers.upSampling2d({ size: [2, 1], name: `${p}_up` }),
      tf.layers.conv2d({ filters: 2, kernelSize: 2, strides: [2, 1], name: `${p}_conv` }),
      tf.layers.permute({ dims: [2, 1, 3], name: `${p}_perm` }),
      tf.layers.reshape({ targetShape: [-1, 4], name: `${p}_reshape` }),
      tf.layers.globalMaxPooling1d({ name: `${p}_gmp` }),
      tf.layers.repeatVector({ n: 2, name: `${p}_rep` }),
      tf.layers.simpleRNN({ units: 2, name: `${p}_rnn` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'pooling_variants',
    input: F([2, 5, 5, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', inputShape: [5, 5, 2], name: `${p}_mp` }),
      tf.layers.conv2d({ filters: 3, kernelSize: 1, name: `${p}_conv` }),
      tf.layers.averagePooling2d({ poolSize: [2, 1], strides: 1, name: `${p}_ap` }),
      tf.layers.reshape({ targetShape: [6, 3], name: `${p}_reshape` }),
      tf.layers.averagePooling1d({ poolSize: 2, name: `${p}_ap1` }),
      tf.layers.maxPooling1d({ poolSize: 2, strides: 1, padding: 'same', name: `${p}_mp1` }),
      tf.layers.globalAveragePooling1d({ name: `${p}_gap` }),
    ]),
    fit: ['sgd'],
  },
  {
    name: 'average_pooling_same',
    noGradients: 'tfjs 4.22 divides avgPool gradients by the full window at padded borders, where the forward pass divided by the count of real elements (a tfjs bug)',
    input: F([2, 5, 5, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.averagePooling2d({ poolSize: [2, 3], strides: 2, padding: 'same', inputShape: [5, 5, 2], name: `${p}_ap` }),
      tf.layers.reshape({ targetShape: [9, 2], name: `${p}_reshape` }),
      tf.layers.averagePooling1d({ poolSize: 2, strides: 1, padding: 'same', name: `${p}_ap1` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: [],
  },
  {
    name: 'conv2d_channels_first',
    input: F([2, 2, 5, 5]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv2d({ filters: 3, kernelSize: 2, dataFormat: 'channelsFirst', inputShape: [2, 5, 5], name: `${p}_conv` }),
      tf.layers.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst', name: `${p}_pool` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'upsampling_bilinear_global_pooling',
    input: F([2, 3, 3, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear', inputShape: [3, 3, 2], name: `${p}_up` }),
      tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: 2, activation: 'relu6', name: `${p}_conv` }),
      tf.layers.globalAveragePooling2d({ name: `${p}_gap` }),
      tf.layers.dense({ units: 2, activation: 'hardSigmoid', name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'dense_on_sequences_softmax',
    input: F([2, 3, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 5, activation: 'tanh', inputShape: [3, 4], name: `${p}_d1` }),
      tf.layers.softmax({ axis: -1, name: `${p}_softmax` }),
      tf.layers.leakyReLU({ name: `${p}_leaky` }),
      tf.layers.globalMaxPooling1d({ name: `${p}_gmp` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'cnn',
    input: F([2, 6, 6, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [6, 6, 2], name: `${p}_conv` }),
      tf.layers.maxPooling2d({ poolSize: 2, name: `${p}_pool` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 3, name: `${p}_dense` }),
    ]),
    fit: ['adam', 'sgd'],
  },
  {
    name: 'cnn_strided_valid',
    input: F([2, 7, 7, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv2d({ filters: 3, kernelSize: [3, 2], strides: 2, padding: 'valid', activation: 'tanh', inputShape: [7, 7, 2], name: `${p}_conv` }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1, name: `${p}_pool` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'conv2d_dilated',
    noGradients: 'tfjs 4.22 has no gradient for conv2d with dilation rates above 1',
    input: F([2, 7, 7, 1]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same', inputShape: [7, 7, 1], name: `${p}_conv` }),
      tf.layers.globalMaxPooling2d({ name: `${p}_gmp` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: [],
  },
  {
    name: 'conv1d',
    input: F([3, 9, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv1d({ filters: 3, kernelSize: 3, strides: 2, activation: 'relu', inputShape: [9, 2], name: `${p}_c1` }),
      tf.layers.conv1d({ filters: 2, kernelSize: 2, padding: 'same', name: `${p}_c2` }),
      tf.layers.maxPooling1d({ poolSize: 2, name: `${p}_pool` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    // tfjs 4.22 also lacks conv1d's 'causal' padding.
    name: 'conv1d_dilated',
    noGradients: 'tfjs 4.22 has no gradient for conv1d with dilation rates above 1 (it runs conv2d)',
    input: F([2, 8, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv1d({ filters: 3, kernelSize: 2, padding: 'same', dilationRate: 2, inputShape: [8, 2], name: `${p}_c1` }),
      tf.layers.globalAveragePooling1d({ name: `${p}_gap` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: [],
  },
  {
    name: 'depthwise_conv2d',
    input: F([2, 5, 5, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu', inputShape: [5, 5, 2], name: `${p}_dw` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'depthwise_conv2d_strided_same',
    input: F([2, 6, 6, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', inputShape: [6, 6, 3], name: `${p}_dw` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'separable_conv2d',
    input: F([2, 6, 6, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu', inputShape: [6, 6, 2], name: `${p}_sep` }),
      tf.layers.averagePooling2d({ poolSize: 2, name: `${p}_pool` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'separable_conv2d_strided',
    input: F([2, 7, 7, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, inputShape: [7, 7, 2], name: `${p}_sep` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['sgd'],
  },
  {
    name: 'conv2d_transpose_same',
    input: F([2, 3, 3, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', inputShape: [3, 3, 2], name: `${p}_tc` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'conv2d_transpose_valid',
    input: F([2, 3, 4, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.conv2dTranspose({ filters: 3, kernelSize: [2, 3], strides: [2, 1], padding: 'valid', inputShape: [3, 4, 2], name: `${p}_tc` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['sgd'],
  },
  {
    name: 'lstm',
    input: F([3, 5, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.lstm({ units: 4, inputShape: [5, 3], name: `${p}_lstm` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam', 'rmsprop'],
  },
  {
    name: 'lstm_sequences_time_distributed',
    input: F([2, 4, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.lstm({ units: 3, returnSequences: true, activation: 'relu', recurrentActivation: 'sigmoid', inputShape: [4, 3], name: `${p}_lstm` }),
      tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 2, name: `${p}_td_dense` }), name: `${p}_td` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'lstm_go_backwards_no_bias',
    input: F([2, 5, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.lstm({ units: 3, goBackwards: true, useBias: false, unitForgetBias: true, inputShape: [5, 2], name: `${p}_lstm` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['sgd'],
  },
  {
    name: 'gru',
    input: F([3, 5, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.gru({ units: 4, inputShape: [5, 3], name: `${p}_gru` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    // tfjs 4.22 refuses resetAfter: true (Keras's default, needed for converted Keras models), so
    // the reference is Keras's reset-after GRU written out with tfjs ops: with the input
    // projection xz, xr, xh = x·kernel + bias[0] and the recurrent one rz, rr, rh = h·recurrent +
    // bias[1], z = σ(xz + rz), r = σ(xr + rr), hh = tanh(xh + r·rh), h = z·h + (1 − z)·hh.
    name: 'gru_reset_after',
    input: F([2, 4, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.gru({ units: 3, resetAfter: true, recurrentActivation: 'sigmoid', returnSequences: true, inputShape: [4, 2], name: `${p}_gru` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    reference: {
      weights: [['P_gru/kernel', [2, 9]], ['P_gru/recurrent_kernel', [3, 9]], ['P_gru/bias', [2, 9]], ['P_dense/kernel', [12, 2]], ['P_dense/bias', [2]]],
      forward: (tf, [kernel, recurrent, bias, dense, denseBias], x) => {
        const [b, t] = x.shape;
        const u = 3;
        const [inBias, recBias] = tf.split(bias, 2, 0);
        let h = tf.zeros([b, u]);
        const outputs = [];
        for (const xt of tf.unstack(x, 1)) {
          const [xz, xr, xh] = tf.split(tf.add(tf.matMul(xt, kernel), inBias), 3, 1);
          const [rz, rr, rh] = tf.split(tf.add(tf.matMul(h, recurrent), recBias), 3, 1);
          const z = tf.sigmoid(tf.add(xz, rz));
          const r = tf.sigmoid(tf.add(xr, rr));
          const hh = tf.tanh(tf.add(xh, tf.mul(r, rh)));
          h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), hh));
          outputs.push(h);
        }
        return tf.add(tf.matMul(tf.reshape(tf.stack(outputs, 1), [b, t * u]), dense), denseBias);
      },
    },
    fit: [],
  },
  {
    name: 'gru_sequences',
    input: F([2, 4, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.gru({ units: 3, returnSequences: true, recurrentActivation: 'sigmoid', inputShape: [4, 2], name: `${p}_gru` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['rmsprop'],
  },
  {
    name: 'simple_rnn_sequences',
    input: F([3, 5, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.simpleRNN({ units: 4, returnSequences: true, inputShape: [5, 2], name: `${p}_rnn1` }),
      tf.layers.simpleRNN({ units: 3, returnSequences: false, activation: 'relu', name: `${p}_rnn2` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'simple_rnn_last',
    input: F([3, 6, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.simpleRNN({ units: 4, inputShape: [6, 3], name: `${p}_rnn` }),
    ]),
    fit: ['sgd'],
  },
  {
    // Zero time steps are masked: the recurrent state carries over them.
    name: 'masking_lstm',
    input: { ...F([3, 5, 2]), zeroSteps: [[0, 3], [0, 4], [1, 1], [2, 0]] },
    build: (tf, p) => seq(tf, [
      tf.layers.masking({ maskValue: 0, inputShape: [5, 2], name: `${p}_mask` }),
      tf.layers.lstm({ units: 3, name: `${p}_lstm` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'masking_gru_sequences',
    input: { ...F([2, 4, 2]), zeroSteps: [[0, 2], [1, 3]] },
    build: (tf, p) => seq(tf, [
      tf.layers.masking({ inputShape: [4, 2], name: `${p}_mask` }),
      tf.layers.gru({ units: 2, returnSequences: true, name: `${p}_gru` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['sgd'],
  },
  {
    name: 'embedding_mask_zero_lstm',
    input: { ...INT([3, 5], 1, 4), zeroSteps: [[0, 0], [0, 3], [1, 4], [2, 1], [2, 2]] },
    build: (tf, p) => seq(tf, [
      tf.layers.embedding({ inputDim: 5, outputDim: 3, maskZero: true, inputLength: 5, name: `${p}_emb` }),
      tf.layers.lstm({ units: 3, goBackwards: true, name: `${p}_lstm` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'masking_bidirectional_sequences',
    input: { ...F([2, 4, 3]), zeroSteps: [[0, 1], [1, 3]] },
    build: (tf, p) => seq(tf, [
      tf.layers.masking({ inputShape: [4, 3], name: `${p}_mask` }),
      tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 2, returnSequences: true, name: `${p}_rnn` }), mergeMode: 'concat', name: `${p}_bi` }),
      tf.layers.lstm({ units: 2, name: `${p}_lstm` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'lstm_return_state',
    input: F([3, 4, 2]),
    build: (tf, p) => {
      const x = tf.input({ shape: [4, 2], name: `${p}_in` });
      const [o, h, c] = tf.layers.lstm({ units: 3, returnState: true, name: `${p}_lstm` }).apply(x);
      const cat = tf.layers.concatenate({ name: `${p}_cat` }).apply([o, h, c]);
      const y = tf.layers.dense({ units: 2, name: `${p}_out` }).apply(cat);
      return tf.model({ inputs: x, outputs: y, name: `${p}_model` });
    },
    fit: ['adam'],
  },
  {
    name: 'bidirectional_lstm_concat',
    input: F([2, 4, 3]),
    build: (tf, p) => seq(tf, [
      tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 3, name: `${p}_lstm` }), inputShape: [4, 3], name: `${p}_bi` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'bidirectional_gru_sequences_ave',
    input: F([2, 4, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.bidirectional({ layer: tf.layers.gru({ units: 2, returnSequences: true, name: `${p}_gru` }), mergeMode: 'ave', inputShape: [4, 2], name: `${p}_bi` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'bidirectional_simple_rnn_mul',
    input: F([2, 3, 2]),
    build: (tf, p) => seq(tf, [
      tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: 3, name: `${p}_rnn` }), mergeMode: 'mul', inputShape: [3, 2], name: `${p}_bi` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['sgd'],
  },
  {
    // The layers before batch norm have no bias: its gradient would be zero up to rounding,
    // which Adam normalizes into full steps in arbitrary directions.
    name: 'batch_norm',
    input: F([6, 4]),
    training: true,
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 5, useBias: false, inputShape: [4], name: `${p}_d1` }),
      tf.layers.batchNormalization({ name: `${p}_bn` }),
      tf.layers.activation({ activation: 'relu', name: `${p}_act` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    fit: ['adam', 'sgd'],
  },
  {
    name: 'batch_norm_conv_options',
    input: F([3, 4, 4, 2]),
    training: true,
    build: (tf, p) => seq(tf, [
      tf.layers.conv2d({ filters: 3, kernelSize: 2, useBias: false, inputShape: [4, 4, 2], name: `${p}_conv` }),
      tf.layers.batchNormalization({ momentum: 0.9, epsilon: 0.01, name: `${p}_bn` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'batch_norm_no_center_axis1',
    noGradients: 'tfjs 4.22 batchNormalization reads beta in training mode even with center: false (a tfjs bug)',
    // tfjs 4.22's cpu BatchNorm kernel walks the mean, variance and gamma by flat index modulo
    // their length, which is right only when the normalized axis is the last: here it mixes
    // the channels. The reference output is batch norm written out with broadcasting tfjs ops.
    reference: (tf, model, x) => tf.tidy(() => {
      const [bn, ...rest] = model.layers;
      const [gamma, mean, variance] = bn.getWeights().map((w) => tf.reshape(w, [1, 3, 1]));
      let y = tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3))), gamma);
      for (const l of rest) y = l.apply(y);
      return y;
    }),
    input: F([3, 3, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.batchNormalization({ axis: 1, center: false, inputShape: [3, 4], name: `${p}_bn` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: [],
  },
  {
    name: 'layer_norm',
    input: F([4, 5]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 6, inputShape: [5], name: `${p}_d1` }),
      tf.layers.layerNormalization({ name: `${p}_ln` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'layer_norm_3d',
    input: F([2, 3, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.layerNormalization({ epsilon: 0.01, inputShape: [3, 4], name: `${p}_ln` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_d` }),
    ]),
    fit: ['sgd'],
  },
  {
    name: 'layer_norm_axes',
    input: F([2, 3, 4]),
    build: (tf, p) => seq(tf, [
      tf.layers.dense({ units: 4, inputShape: [3, 4], name: `${p}_d1` }),
      tf.layers.layerNormalization({ axis: [1, 2], name: `${p}_ln` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_d2` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'batch_norm_sequences',
    input: F([3, 4, 2]),
    training: true,
    build: (tf, p) => seq(tf, [
      tf.layers.batchNormalization({ momentum: 0.5, inputShape: [4, 2], name: `${p}_bn` }),
      tf.layers.simpleRNN({ units: 3, name: `${p}_rnn` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
  {
    name: 'embedding',
    input: INT([4, 5], 0, 6),
    build: (tf, p) => seq(tf, [
      tf.layers.embedding({ inputDim: 7, outputDim: 3, inputLength: 5, name: `${p}_emb` }),
      tf.layers.flatten({ name: `${p}_flat` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam', 'sgd'],
  },
  {
    name: 'embedding_lstm',
    input: INT([3, 4], 0, 5),
    build: (tf, p) => seq(tf, [
      tf.layers.embedding({ inputDim: 6, outputDim: 3, inputLength: 4, name: `${p}_emb` }),
      tf.layers.lstm({ units: 3, name: `${p}_lstm` }),
      tf.layers.dense({ units: 2, name: `${p}_dense` }),
    ]),
    fit: ['adam'],
  },
];

// ---------------------------------------------------------------------------
// Measurements. `tf` is the library under test or real tfjs; `fx` is the stored case.

/** The case's model with the fixture's weights set. */
function buildWithWeights(tf, c, fx, prefix) {
  const model = c.build(tf, prefix);
  model.setWeights(fx.weights.map((w) => tf.tensor(w.values, w.shape, 'float32')));
  return model;
}

/** Weight names without the per-build prefix, for comparing layouts across libraries. */
function weightNames(model, prefix) {
  return model.weights.map((w) => w.name.split(prefix).join('P'));
}

function inputTensor(tf, fx) {
  return tf.tensor(fx.x.values, fx.x.shape, fx.x.dtype);
}

function targetTensor(tf, fx) {
  return tf.tensor(fx.y.values, fx.y.shape, 'float32');
}

/** The loss the gradients are taken of: the case's compile loss, summed over the batch mean. */
function lossValue(tf, c, yTrue, yPred) {
  const loss = c.loss || 'meanSquaredError';
  if (loss === 'meanSquaredError') return tf.mean(tf.square(tf.sub(yPred, yTrue)));
  if (loss === 'categoricalCrossentropy') return tf.mean(tf.neg(tf.sum(tf.mul(yTrue, tf.log(tf.clipByValue(yPred, 1e-7, 1 - 1e-7))), -1)));
  if (loss === 'sparseCategoricalCrossentropy') {
    const k = yPred.shape[yPred.shape.length - 1];
    const oneHot = tf.oneHot(tf.cast(tf.reshape(yTrue, [-1]), 'int32'), k);
    return tf.mean(tf.neg(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(yPred, 1e-7, 1 - 1e-7))), -1)));
  }
  if (loss === 'binaryCrossentropy') {
    const p = tf.clipByValue(yPred, 1e-7, 1 - 1e-7);
    return tf.mean(tf.neg(tf.add(tf.mul(yTrue, tf.log(p)), tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p))))));
  }
  throw new Error(`lossValue: unhandled loss ${loss}`);
}

/**
 * Gradients of the case's loss of `model.apply(x, {training: true})` w.r.t. every trainable
 * weight, in `model.trainableWeights` order: {loss, grads: [Tensor…]}.
 */
function gradients(tf, c, model, x, y) {
  const vars = model.trainableWeights.map((w) => (w.val != null ? w.val : w));
  const { value, grads } = tf.variableGrads(() => lossValue(tf, c, y, model.apply(x, { training: true })), vars);
  return { value, grads: vars.map((v) => grads[v.name]) };
}

/** `model.evaluate` after a fit: the loss, then the metrics. */
function evaluateModel(tf, c, model, x, y) {
  const out = model.evaluate(x, y, { batchSize: c.batchSize || x.shape[0] });
  return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync()[0]);
}

async function fitModel(tf, c, model, x, y, spec) {
  model.compile({ optimizer: makeOptimizer(tf, spec), loss: c.loss || 'meanSquaredError', metrics: c.metrics });
  return model.fit(x, y, { epochs: 3, batchSize: c.batchSize || x.shape[0], shuffle: false, verbose: 0, validationSplit: c.validationSplit });
}

module.exports = {
  CASES, rngFor, uniform, weightValues, makeValues, targetValues, optimizerLabel, makeOptimizer,
  buildWithWeights, weightNames, inputTensor, targetTensor, lossValue, gradients, fitModel, evaluateModel,
};
