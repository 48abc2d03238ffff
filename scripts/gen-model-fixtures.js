#!/usr/bin/env node
'use strict';
// Generates __test__/fixtures/tfjs-models/: model files written by the real @tensorflow/tfjs
// 4.22 (cpu backend), each with a probe input and tfjs's predictions for it (expected.json).
//
//   node scripts/gen-model-fixtures.js
//
// - mlp, cnn, lstm, gru, functional, custom: the models of fixtures/tfjs-models/models.js,
//   saved by `model.save` through tf.io.withSaveHandler and written as tfjs-node's file://
//   handler writes them (model.json + weights.bin). Weights are seeded random values.
// - mlp_trained: a dense/batch-norm model compiled with Adam, trained two epochs, saved with
//   includeOptimizer.
// - keras_float16, keras_uint8: converter-style files (Keras topology inside a `model_config`
//   wrapper, Keras weight names, weights quantized and split into shards across manifest
//   groups), predicted by tfjs after it loads them itself.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const { mulberry32 } = require('../__test__/helpers');
const { builders, defineScaledDense, probeShapes } = require('../__test__/fixtures/tfjs-models/models');

const OUT = path.join(__dirname, '..', '__test__', 'fixtures', 'tfjs-models');


function seedOf(name) {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const size = (shape) => shape.reduce((a, b) => a * b, 1);

/** Seeded values for a weight: variances positive, int32 weights small integers. */
function weightValues(rand, name, shape, dtype) {
  const n = size(shape);
  if (dtype === 'int32') return Int32Array.from({ length: n }, () => Math.floor(rand() * 7) - 3);
  if (/variance$/.test(name)) return Float32Array.from({ length: n }, () => 0.5 + rand());
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

function setSeededWeights(model, name) {
  const rand = mulberry32(seedOf(`${name}/weights`));
  model.setWeights(model.weights.map((w) => tf.tensor(weightValues(rand, w.originalName, w.shape, w.dtype), w.shape, w.dtype)));
}

function probe(name) {
  const rand = mulberry32(seedOf(`${name}/probe`));
  return probeShapes[name].map((shape) => ({ shape, data: Array.from({ length: size(shape) }, () => Math.round((rand() * 4 - 2) * 1e4) / 1e4) }));
}

function predictions(model, inputs) {
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
  const ys = model.predict(xs.length === 1 ? xs[0] : xs);
  return (Array.isArray(ys) ? ys : [ys]).map((y) => ({ shape: y.shape, data: Array.from(y.dataSync()) }));
}

function write(name, files, expected) {
  const dir = path.join(OUT, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content);
  fs.writeFileSync(path.join(dir, 'expected.json'), `${JSON.stringify(expected)}\n`);
  console.log(`${name}: ${Object.keys(files).join(', ')}`);
}

/** model.json and weights.bin exactly as tfjs-node's file:// handler writes them. */
async function fileSystemFiles(model, saveConfig) {
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
  }), saveConfig);
  const modelJSON = {
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
  return { 'model.json': JSON.stringify(modelJSON), 'weights.bin': Buffer.from(artifacts.weightData) };
}

async function tfjsFixtures() {
  tf.serialization.registerClass(defineScaledDense(tf));
  for (const name of Object.keys(builders)) {
    const model = builders[name](tf);
    setSeededWeights(model, name);
    const inputs = probe(name);
    write(name, await fileSystemFiles(model), { inputs, outputs: predictions(model, inputs) });
  }
  // Trained with Adam and saved with the optimizer's state (no dropout: the file is reproducible).
  const model = tf.sequential({
    name: 'trained',
    layers: [
      tf.layers.dense({ units: 8, activation: 'relu', inputShape: [6], name: 'trained_hidden' }),
      tf.layers.batchNormalization({ name: 'trained_norm' }),
      tf.layers.dense({ units: 3, activation: 'softmax', name: 'trained_out' }),
    ],
  });
  setSeededWeights(model, 'mlp_trained');
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const rand = mulberry32(seedOf('mlp_trained/data'));
  const xs = tf.tensor2d(Array.from({ length: 8 * 6 }, () => rand() * 2 - 1), [8, 6]);
  const ys = tf.oneHot(tf.tensor1d(Array.from({ length: 8 }, (_, i) => i % 3), 'int32'), 3);
  await model.fit(xs, ys, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
  const inputs = probe('mlp');
  write('mlp_trained', await fileSystemFiles(model, { includeOptimizer: true }), { inputs, outputs: predictions(model, inputs) });
}

// ---- converter-style files -------------------------------------------------------------------

const glorot = { class_name: 'GlorotUniform', config: { seed: null } };
const zeros = { class_name: 'Zeros', config: {} };

function kerasDense(name, units, activation, input) {
  return {
    class_name: 'Dense',
    config: {
      name, trainable: true, dtype: 'float32', units, activation, use_bias: true, kernel_initializer: glorot,
      bias_initializer: zeros, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
      kernel_constraint: null, bias_constraint: null,
    },
    name,
    inbound_nodes: [[[input, 0, 0, {}]]],
  };
}

function kerasInput(name, shape) {
  return { class_name: 'InputLayer', config: { batch_input_shape: [null, ...shape], dtype: 'float32', sparse: false, ragged: false, name }, name, inbound_nodes: [] };
}

function kerasTopology(name, layers, input, output) {
  return {
    keras_version: '2.15.0',
    backend: 'tensorflow',
    model_config: {
      class_name: 'Functional',
      config: { name, trainable: true, layers, input_layers: [[input, 0, 0]], output_layers: [[output, 0, 0]] },
    },
    training_config: { loss: 'categorical_crossentropy', metrics: ['accuracy'], weighted_metrics: null, loss_weights: null },
  };
}

function float16Bits(x) {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = (mant >>> shift) + ((mant >>> (shift - 1)) & 1);
    return sign | half;
  }
  if (exp >= 31) return sign | 0x7c00;
  const rounded = (exp << 10) + (mant >>> 13) + ((mant >>> 12) & 1);
  return sign | rounded;
}

function quantize(values, dtype) {
  if (dtype === 'float16') return { bytes: Buffer.from(Uint16Array.from(values, float16Bits).buffer), quantization: { dtype } };
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const scale = (max - min) / 255;
  const q = Uint8Array.from(values, (v) => Math.round((v - min) / scale));
  return { bytes: Buffer.from(q.buffer), quantization: { dtype, scale, min } };
}

/** Splits `bytes` into `n` shards of near-equal size (boundaries fall inside weights). */
function shards(bytes, n) {
  const step = Math.ceil(bytes.length / n);
  return Array.from({ length: n }, (_, i) => bytes.subarray(i * step, Math.min(bytes.length, (i + 1) * step)));
}

async function converterFixture(name, topology, weights, qdtype, groups) {
  const rand = mulberry32(seedOf(`${name}/weights`));
  const specs = [];
  const parts = [];
  for (const [wname, shape] of weights) {
    const { bytes, quantization } = quantize(weightValues(rand, wname, shape, 'float32'), qdtype);
    specs.push({ name: wname, shape, dtype: 'float32', quantization });
    parts.push(bytes);
  }
  // `groups`: [[number of specs, number of shards], ...]
  const files = {};
  const weightsManifest = [];
  let first = 0;
  groups.forEach(([count, nShards], g) => {
    const bytes = Buffer.concat(parts.slice(first, first + count));
    const paths = shards(bytes, nShards).map((shard, i) => {
      const file = `group${g + 1}-shard${i + 1}of${nShards}.bin`;
      files[file] = shard;
      return file;
    });
    weightsManifest.push({ paths, weights: specs.slice(first, first + count) });
    first += count;
  });
  const modelJSON = { format: 'layers-model', generatedBy: 'keras v2.15.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: topology, weightsManifest };
  files['model.json'] = JSON.stringify(modelJSON);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: topology,
    weightSpecs: specs,
    weightData: new Uint8Array(Buffer.concat(parts)).buffer,
  }));
  const inputs = probe(name);
  write(name, files, { inputs, outputs: predictions(model, inputs) });
}

async function converterFixtures() {
  await converterFixture(
    'keras_float16',
    kerasTopology('keras_mlp', [kerasInput('input_1', [5]), kerasDense('dense', 7, 'relu', 'input_1'), kerasDense('dense_1', 3, 'softmax', 'dense')], 'input_1', 'dense_1'),
    [['dense/kernel', [5, 7]], ['dense/bias', [7]], ['dense_1/kernel', [7, 3]], ['dense_1/bias', [3]]],
    'float16',
    [[4, 3]],
  );
  const lstm = {
    class_name: 'LSTM',
    config: {
      name: 'lstm', trainable: true, dtype: 'float32', return_sequences: false, return_state: false, go_backwards: false,
      stateful: false, unroll: false, time_major: false, units: 6, activation: 'tanh', recurrent_activation: 'sigmoid',
      use_bias: true, kernel_initializer: glorot, recurrent_initializer: { class_name: 'Orthogonal', config: { gain: 1.0, seed: null } },
      bias_initializer: zeros, unit_forget_bias: true, kernel_regularizer: null, recurrent_regularizer: null,
      bias_regularizer: null, activity_regularizer: null, kernel_constraint: null, recurrent_constraint: null,
      bias_constraint: null, dropout: 0.0, recurrent_dropout: 0.0, implementation: 2,
    },
    name: 'lstm',
    inbound_nodes: [[['input_1', 0, 0, {}]]],
  };
  await converterFixture(
    'keras_uint8',
    kerasTopology('keras_lstm', [kerasInput('input_1', [4, 5]), lstm, kerasDense('dense', 2, 'linear', 'lstm')], 'input_1', 'dense'),
    [['lstm/lstm_cell/kernel', [5, 24]], ['lstm/lstm_cell/recurrent_kernel', [6, 24]], ['lstm/lstm_cell/bias', [24]], ['dense/kernel', [6, 2]], ['dense/bias', [2]]],
    'uint8',
    [[3, 2], [2, 1]],
  );
}

(async () => {
  await tf.setBackend('cpu');
  await tfjsFixtures();
  await converterFixtures();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
