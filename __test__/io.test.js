'use strict';
// Saving and loading tfjs layers-model files: the fixtures real tfjs 4.22 wrote
// (scripts/gen-model-fixtures.js) load and predict as tfjs predicted; files ferrograd writes are
// the bytes tfjs writes for the same model, load in real tfjs, and reload bit-identically; the
// tf.io handlers, routers and weight codec; bad files fail with errors naming the problem.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const tf = require('..');
const { builders, defineScaledDense, probeShapes } = require('./fixtures/tfjs-models/models');

const FIXTURES = path.join(__dirname, 'fixtures', 'tfjs-models');
const NAMES = Object.keys(probeShapes).concat(['mlp_trained']);
const BUILT = Object.keys(builders);
const ScaledDense = defineScaledDense(tf);
tf.serialization.registerClass(ScaledDense);

let tfjs = null;
function realTfjs() {
  if (tfjs == null) {
    tfjs = require('@tensorflow/tfjs');
    tfjs.serialization.registerClass(defineScaledDense(tfjs));
  }
  return tfjs;
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrograd-io-'));
test.after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
function tmpDir() {
  tmpCount += 1;
  return path.join(tmpRoot, `d${tmpCount}`);
}

const fileUrl = (p) => `file://${p}`;
const fixtureDir = (name) => path.join(FIXTURES, name);
const expectedOf = (name) => JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'expected.json'), 'utf8'));

function probe(lib, name) {
  const xs = expectedOf(name).inputs.map((i) => lib.tensor(i.data, i.shape));
  return xs.length === 1 ? xs[0] : xs;
}

function outputs(ys) {
  return (Array.isArray(ys) ? ys : [ys]).map((y) => ({ shape: y.shape, data: Array.from(y.dataSync()) }));
}

/** Each value within 1e-5 of the expected one, relative to max(|expected|, 1). */
function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: number of outputs`);
  actual.forEach((a, i) => {
    assert.deepEqual(a.shape, expected[i].shape, `${what}: output ${i} shape`);
    a.data.forEach((v, j) => {
      const e = expected[i].data[j];
      assert.ok(Math.abs(v - e) <= 1e-5 * Math.max(Math.abs(e), 1), `${what}: output ${i}[${j}] is ${v}, expected ${e}`);
    });
  });
}

/** Copies a fixture to a temporary directory, applying `edit(modelJSON, files)` to it. */
function editedCopy(name, edit) {
  const dir = tmpDir();
  fs.cpSync(fixtureDir(name), dir, { recursive: true });
  const jsonPath = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const files = { dir };
  const out = edit ? edit(json, files) : undefined;
  fs.writeFileSync(jsonPath, JSON.stringify(out === undefined ? json : out));
  return fileUrl(jsonPath);
}

/** The artifacts a save hands to its IOHandler. */
async function artifactsOf(model, config) {
  let artifacts;
  const result = await model.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
  }), config);
  return { artifacts, result };
}

// ---- tfjs files in ferrograd ---------------------------------------------------------------------

test('every tfjs fixture loads and predicts what tfjs predicted (1e-5 relative)', async () => {
  for (const name of NAMES) {
    const model = await tf.loadLayersModel(fileUrl(path.join(fixtureDir(name), 'model.json')));
    assertClose(outputs(model.predict(probe(tf, name))), expectedOf(name).outputs, name);
  }
});

test('file:// also takes the directory that holds model.json', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('cnn')));
  assert.equal(model.name, 'cnn');
  assertClose(outputs(model.predict(probe(tf, 'cnn'))), expectedOf('cnn').outputs, 'cnn');
});

test('a loaded functional model keeps its inputs, outputs and the shared layer', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('functional')));
  assert.deepEqual(model.inputs.map((t) => t.sourceLayer.name), ['in_a', 'in_b']);
  assert.deepEqual(model.outputs.map((t) => t.sourceLayer.name), ['main_out', 'aux_out']);
  const shared = model.getLayer('shared');
  assert.equal(shared.inboundNodes.length, 2, 'the shared layer is applied to both inputs');
  assert.equal(model.layers.filter((l) => l === shared).length, 1);
});

test('a converter model: model_config wrapper, Keras names and shards over two manifest groups', async () => {
  const json = JSON.parse(fs.readFileSync(path.join(fixtureDir('keras_uint8'), 'model.json'), 'utf8'));
  assert.ok(json.modelTopology.model_config && json.weightsManifest.length === 2);
  assert.equal(json.weightsManifest[0].weights[0].name, 'lstm/lstm_cell/kernel');
  const model = await tf.loadLayersModel(fileUrl(path.join(fixtureDir('keras_uint8'), 'model.json')));
  // lstm/lstm_cell/kernel (Keras's cell scope) lands on lstm/kernel.
  assert.deepEqual(model.getLayer('lstm').weights.map((w) => w.name), ['lstm/kernel', 'lstm/recurrent_kernel', 'lstm/bias']);
  assert.equal(model.getLayer('lstm').getConfig().recurrentActivation, 'sigmoid');
});

test('trainingConfig re-compiles the loaded model and the optimizer state is restored', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('mlp_trained')));
  assert.equal(model.optimizer.getClassName(), 'Adam');
  assert.deepEqual(model.optimizer.getConfig(), { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  assert.equal(model.loss, 'categoricalCrossentropy');
  assert.deepEqual(model.metricsNames, ['loss', 'acc']);
  // tfjs trained 2 epochs of 2 batches; Adam's first moment of the output bias is what tfjs saved.
  const weights = await model.optimizer.getWeights();
  assert.equal(weights[0].name, 'iter');
  assert.equal(weights[0].tensor.dataSync()[0], 4);
  const saved = JSON.parse(fs.readFileSync(path.join(fixtureDir('mlp_trained'), 'model.json'), 'utf8')).weightsManifest[0].weights;
  assert.equal(weights.length, saved.filter((s) => s.group === 'optimizer').length);
  const history = await model.fit(tf.ones([4, 6]), tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), { epochs: 1, verbose: 0 });
  assert.ok(Number.isFinite(history.history.loss[0]));
});

// ---- ferrograd files in tfjs ---------------------------------------------------------------------

function fixtureWeights(name) {
  const json = JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'model.json'), 'utf8'));
  const data = fs.readFileSync(path.join(fixtureDir(name), 'weights.bin'));
  return tf.io.decodeWeights(data, json.weightsManifest[0].weights);
}

test('built by the same code with the same weights, ferrograd writes the model.json and weights.bin tfjs wrote', async () => {
  for (const name of BUILT) {
    const model = builders[name](tf);
    model.loadWeights(fixtureWeights(name));
    const dir = tmpDir();
    const result = await model.save(fileUrl(dir));
    const ours = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const theirs = JSON.parse(fs.readFileSync(path.join(fixtureDir(name), 'model.json'), 'utf8'));
    assert.match(ours.generatedBy, /^ferrograd v\d+\.\d+\.\d+/);
    assert.equal(theirs.generatedBy, 'TensorFlow.js tfjs-layers v4.22.0');
    // Equal as text (so key order too), generatedBy aside.
    ours.generatedBy = theirs.generatedBy;
    assert.equal(JSON.stringify(ours), JSON.stringify(theirs), `${name}: model.json`);
    assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(fs.readFileSync(path.join(fixtureDir(name), 'weights.bin'))), `${name}: weights.bin`);
    assert.equal(result.modelArtifactsInfo.modelTopologyType, 'JSON');
    assert.equal(result.modelArtifactsInfo.weightDataBytes, fs.statSync(path.join(dir, 'weights.bin')).size);
    assert.ok(result.modelArtifactsInfo.dateSaved instanceof Date);
  }
});

test('what ferrograd saves loads in real tfjs (tf.io.fromMemory) and predicts the same', async () => {
  const tfr = realTfjs();
  for (const name of NAMES) {
    const model = await tf.loadLayersModel(fileUrl(fixtureDir(name)));
    const ours = outputs(model.predict(probe(tf, name)));
    const { artifacts } = await artifactsOf(model, { includeOptimizer: name === 'mlp_trained' });
    const loaded = await tfr.loadLayersModel(tfr.io.fromMemory(artifacts));
    assertClose(outputs(loaded.predict(probe(tfr, name))), ours, `${name} in tfjs`);
    if (name === 'mlp_trained') assert.equal(loaded.optimizer.getClassName(), 'Adam');
  }
});

test('save then load reproduces the predictions bit for bit', async () => {
  for (const name of NAMES) {
    const model = await tf.loadLayersModel(fileUrl(fixtureDir(name)));
    const dir = tmpDir();
    await model.save(fileUrl(dir));
    const again = await tf.loadLayersModel(fileUrl(path.join(dir, 'model.json')));
    assert.deepEqual(outputs(again.predict(probe(tf, name))), outputs(model.predict(probe(tf, name))), name);
  }
});

test('includeOptimizer: the reloaded model trains on exactly as the original does', async () => {
  // Batch norm's moving statistics change in training too; no dropout, so training is repeatable.
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 5, activation: 'relu', inputShape: [6], kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const hidden = model.layers[0].name;
  const x = tf.tensor2d(Array.from({ length: 48 }, (_, i) => Math.sin(i)), [8, 6]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(x, y, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
  const dir = tmpDir();
  await model.save(fileUrl(dir), { includeOptimizer: true });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.deepEqual(Object.keys(json), ['modelTopology', 'weightsManifest', 'format', 'generatedBy', 'convertedBy', 'trainingConfig']);
  assert.deepEqual(json.trainingConfig, {
    loss: 'categorical_crossentropy', metrics: ['accuracy'],
    optimizer_config: { class_name: 'Adam', config: { learningRate: 0.02, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
  });
  const optSpecs = json.weightsManifest[0].weights.filter((w) => w.group === 'optimizer');
  assert.deepEqual(optSpecs.slice(0, 2).map((w) => w.name), ['iter', `${hidden}/kernel/m`]);
  const again = await tf.loadLayersModel(fileUrl(dir));
  const a = await model.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
  const b = await again.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
  assert.deepEqual(b.history, a.history);
  assert.deepEqual(outputs(again.predict(x)), outputs(model.predict(x)));
  // Without includeOptimizer there is no training config, as in tfjs.
  const plain = tmpDir();
  await model.save(fileUrl(plain));
  assert.equal(JSON.parse(fs.readFileSync(path.join(plain, 'model.json'), 'utf8')).trainingConfig, undefined);
  assert.equal((await tf.loadLayersModel(fileUrl(plain))).optimizer, undefined);
});

test('compile strings: a string optimizer and loss list save as tfjs writes them', async () => {
  const model = builders.gru(tf);
  model.compile({ optimizer: 'sgd', loss: ['meanSquaredError'], metrics: ['mse'] });
  const { artifacts } = await artifactsOf(model, { includeOptimizer: true });
  assert.deepEqual(artifacts.trainingConfig, {
    loss: ['mean_squared_error'], metrics: ['mse'], optimizer_config: { class_name: 'SGD', config: { learningRate: 0.01 } },
  });
  model.compile({ optimizer: 'sgd', loss: (a, b) => tf.losses.meanSquaredError(a, b) });
  await assert.rejects(artifactsOf(model, { includeOptimizer: true }), /loss function \(not a loss name\) cannot save its training config/);
});

// One model per built-in layer class, plus functional graphs: merges, a layer shared at two
// depths, a model nested in a model, and a Sequential model given its InputLayer.
const LAYER_CASES = [
  ['dense', { units: 3, activation: 'relu6' }, [5]],
  ['activation', { activation: 'selu' }, [4]],
  ['dropout', { rate: 0.3 }, [4]],
  ['flatten', {}, [2, 3]],
  ['reshape', { targetShape: [3, 2] }, [6]],
  ['permute', { dims: [2, 1] }, [2, 3]],
  ['repeatVector', { n: 3 }, [4]],
  ['embedding', { inputDim: 10, outputDim: 3 }, [4]],
  ['masking', { maskValue: 0 }, [3, 2]],
  ['conv1d', { filters: 2, kernelSize: 2, padding: 'same' }, [6, 3]],
  ['conv2d', { filters: 2, kernelSize: [2, 3], useBias: false }, [5, 6, 2]],
  ['conv2dTranspose', { filters: 2, kernelSize: 2, strides: 2 }, [3, 3, 2]],
  ['depthwiseConv2d', { kernelSize: 2, depthMultiplier: 2 }, [4, 4, 2]],
  ['separableConv2d', { filters: 3, kernelSize: 2 }, [4, 4, 2]],
  ['cropping2D', { cropping: [[1, 0], [0, 1]] }, [4, 4, 1]],
  ['upSampling2d', { size: [2, 1] }, [2, 2, 1]],
  ['zeroPadding2d', { padding: [1, 2] }, [2, 2, 1]],
  ['maxPooling1d', { poolSize: 2 }, [6, 2]],
  ['averagePooling1d', { poolSize: 3, strides: 1, padding: 'same' }, [6, 2]],
  ['maxPooling2d', { poolSize: [2, 2], strides: [1, 2] }, [4, 4, 1]],
  ['averagePooling2d', { poolSize: 2 }, [4, 4, 2]],
  ['globalAveragePooling1d', {}, [5, 3]],
  ['globalMaxPooling1d', {}, [5, 3]],
  ['globalAveragePooling2d', {}, [3, 3, 2]],
  ['globalMaxPooling2d', {}, [3, 3, 2]],
  ['simpleRNN', { units: 3, returnSequences: true }, [4, 2]],
  ['lstm', { units: 3, goBackwards: true }, [4, 2]],
  ['gru', { units: 3, returnSequences: true }, [4, 2]],
  ['batchNormalization', { axis: -1, center: false }, [3, 4]],
  ['layerNormalization', { axis: -1 }, [3, 4]],
  ['elu', {}, [4]],
  ['reLU', { maxValue: 1.5 }, [4]],
  ['leakyReLU', { alpha: 0.1 }, [4]],
  ['prelu', {}, [4]],
  ['softmax', { axis: -1 }, [4]],
  ['thresholdedReLU', { theta: 0.3 }, [4]],
  ['gaussianNoise', { stddev: 0.2 }, [4]],
  ['gaussianDropout', { rate: 0.2 }, [4]],
  ['alphaDropout', { rate: 0.2 }, [4]],
  ['bidirectional', (lib) => ({ layer: lib.layers.lstm({ units: 2, returnSequences: true }), mergeMode: 'ave' }), [3, 2]],
  ['timeDistributed', (lib) => ({ layer: lib.layers.dense({ units: 2 }) }), [3, 4]],
  ['rnn', (lib) => ({ cell: lib.layers.gruCell({ units: 2 }) }), [3, 2]],
];

const GRAPH_CASES = {
  merges: (lib) => {
    const a = lib.input({ shape: [4], name: 'merge_a' });
    const b = lib.input({ shape: [4], name: 'merge_b' });
    const kinds = ['add', 'average', 'maximum', 'minimum', 'multiply'].map((k) => lib.layers[k]());
    const outs = [...kinds, lib.layers.dot({ axes: 1 }), lib.layers.concatenate({ axis: 1 })].map((l) => l.apply([a, b]));
    return lib.model({ inputs: [a, b], outputs: outs, name: 'merges' });
  },
  sharedAtTwoDepths: (lib) => {
    const a = lib.input({ shape: [3], name: 'deep_in' });
    const d1 = lib.layers.dense({ units: 3, name: 'deep_1' });
    const d2 = lib.layers.dense({ units: 3, name: 'deep_2' });
    const x = d1.apply(d2.apply(d1.apply(a)));
    return lib.model({ inputs: a, outputs: [lib.layers.add({ name: 'deep_add' }).apply([x, d2.apply(a)]), x], name: 'deep' });
  },
  nested: (lib) => {
    const inner = lib.sequential({ name: 'inner', layers: [lib.layers.dense({ units: 3, inputShape: [2], name: 'inner_dense' })] });
    const a = lib.input({ shape: [2], name: 'outer_in' });
    return lib.model({ inputs: a, outputs: lib.layers.dense({ units: 1, name: 'outer_out' }).apply(inner.apply(a)), name: 'outer' });
  },
  explicitInput: (lib) => lib.sequential({
    name: 'explicit',
    layers: [lib.layers.inputLayer({ inputShape: [3], name: 'explicit_in' }), lib.layers.dense({ units: 2, name: 'explicit_dense' })],
  }),
};

function inputsFor(lib, model) {
  const xs = model.inputs.map((t, k) => {
    const shape = [2, ...t.shape.slice(1)];
    const n = shape.reduce((a, b) => a * b, 1);
    if (t.dtype === 'int32' || model.layers.some((l) => l.getClassName() === 'Embedding')) {
      return lib.tensor(Array.from({ length: n }, (_, i) => (i * 7 + k) % 10), shape, 'int32');
    }
    return lib.tensor(Array.from({ length: n }, (_, i) => Math.sin(i + 3 * k)), shape);
  });
  return xs.length === 1 ? xs[0] : xs;
}

test('every built-in layer and graph shape: bit-identical reload, same predictions and same files in real tfjs', async () => {
  const tfr = realTfjs();
  const models = LAYER_CASES.map(([factory, config, shape]) => [factory, () => {
    const c = typeof config === 'function' ? config(tf) : config;
    return tf.sequential({ layers: [tf.layers[factory]({ ...c, inputShape: shape })] });
  }]).concat(Object.entries(GRAPH_CASES).map(([name, build]) => [name, () => build(tf)]));
  for (const [name, build] of models) {
    const model = build();
    const { artifacts } = await artifactsOf(model);
    const want = outputs(model.predict(inputsFor(tf, model)));
    const again = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    assert.deepEqual(outputs(again.predict(inputsFor(tf, again))), want, `${name}: reloaded`);
    const theirs = await tfr.loadLayersModel(tfr.io.fromMemory(artifacts));
    assertClose(outputs(theirs.predict(inputsFor(tfr, theirs))), want, `${name} in tfjs`);
    let resaved;
    await theirs.save(tfr.io.withSaveHandler(async (a) => { resaved = a; return {}; }));
    const ours = JSON.parse(JSON.stringify(artifacts.modelTopology));
    // tfjs leaves SeparableConv2D's depth_multiplier out of its config (and so cannot reload a
    // depth multiplier other than 1); ferrograd keeps it.
    if (name === 'separableConv2d') delete ours.config.layers[0].config.depth_multiplier;
    assert.equal(JSON.stringify(resaved.modelTopology), JSON.stringify(ours), `${name}: tfjs re-saves the same model.json topology`);
    assert.ok(Buffer.from(resaved.weightData).equals(Buffer.from(artifacts.weightData)), `${name}: tfjs re-saves the same weights`);
  }
});

test('trainableOnly saves the trainable weights; an empty model has nothing to save', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('mlp')));
  const { artifacts } = await artifactsOf(model, { trainableOnly: true });
  assert.deepEqual(artifacts.weightSpecs.map((s) => s.name),
    ['mlp_hidden/kernel', 'mlp_hidden/bias', 'mlp_norm/gamma', 'mlp_norm/beta', 'mlp_out/kernel', 'mlp_out/bias']);
  await assert.rejects(tf.loadLayersModel(tf.io.fromMemory(artifacts)), /2 of 8 weights are not in the file: mlp_norm\/moving_mean, mlp_norm\/moving_variance/);
  await assert.rejects(tf.sequential().save(tf.io.withSaveHandler(async () => ({}))), /the model has no layers to save/);
});

// ---- saving is atomic ------------------------------------------------------------------------------

test('a failed save leaves the model saved before it intact', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('mlp')));
  const dir = tmpDir();
  await model.save(fileUrl(dir));
  const before = { json: fs.readFileSync(path.join(dir, 'model.json')), bin: fs.readFileSync(path.join(dir, 'weights.bin')) };
  const other = await tf.loadLayersModel(fileUrl(fixtureDir('cnn')));

  // A layer whose config cannot be produced: nothing is written.
  class Broken extends tf.layers.Layer {
    static get className() { return 'Broken'; }
    getConfig() { throw new Error('Broken.getConfig: not serializable'); }
  }
  const broken = tf.sequential({ layers: [new Broken({ inputShape: [2] })] });
  await assert.rejects(broken.save(fileUrl(dir)), /not serializable/);
  // weights.bin cannot be replaced (a directory took its place): model.json is left alone.
  fs.renameSync(path.join(dir, 'weights.bin'), path.join(dir, 'weights.keep'));
  fs.mkdirSync(path.join(dir, 'weights.bin'));
  fs.writeFileSync(path.join(dir, 'weights.bin', 'x'), '');
  await assert.rejects(other.save(fileUrl(dir)), /save \(file:\/\/\): writing the model to .* failed/);
  fs.rmSync(path.join(dir, 'weights.bin'), { recursive: true });
  fs.renameSync(path.join(dir, 'weights.keep'), path.join(dir, 'weights.bin'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin'], 'no temporary files are left');
  assert.ok(fs.readFileSync(path.join(dir, 'model.json')).equals(before.json));
  assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(before.bin));
  const reloaded = await tf.loadLayersModel(fileUrl(dir));
  assertClose(outputs(reloaded.predict(probe(tf, 'mlp'))), expectedOf('mlp').outputs, 'mlp after failed saves');

  // A path that is a file, or lies under one, is refused.
  const file = path.join(tmpRoot, 'a-file');
  fs.writeFileSync(file, 'x');
  await assert.rejects(model.save(fileUrl(file)), /exists and is not a directory/);
  await assert.rejects(model.save(fileUrl(path.join(file, 'sub'))), /save \(file:\/\/\)/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
});

// ---- bad files ---------------------------------------------------------------------------------------

async function loadError(url, options) {
  try {
    await tf.loadLayersModel(url, options);
  } catch (e) {
    assert.ok(e instanceof Error);
    return e.message;
  }
  throw new Error(`loading ${url} succeeded`);
}

test('bad files fail with errors that name the problem', async () => {
  const spec = (json, name) => json.weightsManifest[0].weights.find((w) => w.name === name);
  const dir = tmpDir();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": {"class_name": "Sequential",');
  assert.match(await loadError(fileUrl(path.join(dir, 'model.json'))), /model\.json is not valid JSON/);
  assert.match(await loadError(fileUrl(path.join(tmpRoot, 'nowhere', 'model.json'))), /does not exist/);

  const noWeights = editedCopy('mlp', (j, f) => fs.rmSync(path.join(f.dir, 'weights.bin')));
  assert.match(await loadError(noWeights), /the weight file .*weights\.bin listed in .* does not exist/);

  const truncated = editedCopy('mlp', (j, f) => fs.truncateSync(path.join(f.dir, 'weights.bin'), 300));
  assert.match(await loadError(truncated), /weight data is truncated: it has 300 bytes, the manifest describes 460; weight 'mlp_out\/kernel' needs bytes 288 to 384/);
  const oversized = editedCopy('mlp', (j, f) => fs.appendFileSync(path.join(f.dir, 'weights.bin'), Buffer.alloc(8)));
  assert.match(await loadError(oversized), /weight data has 468 bytes, more than the 460 bytes the weights manifest describes/);

  // The kernel described as [8, 6] (same byte size) and as int32.
  const shape = editedCopy('mlp', (j) => { spec(j, 'mlp_hidden/kernel').shape = [8, 6]; });
  assert.match(await loadError(shape), /weight 'mlp_hidden\/kernel' has shape \[6,8\] in the model, but \[8,6\] in the file/);
  const dtype = editedCopy('mlp', (j) => { spec(j, 'mlp_hidden/kernel').dtype = 'int32'; });
  assert.match(await loadError(dtype), /weight 'mlp_hidden\/kernel' has dtype float32 in the model, but int32 in the file/);
  const badDtype = editedCopy('mlp', (j) => { spec(j, 'mlp_hidden/kernel').dtype = 'float64'; });
  assert.match(await loadError(badDtype), /weight 'mlp_hidden\/kernel' has dtype "float64"; expected 'float32', 'int32' or 'bool'/);
  const badQuant = editedCopy('mlp', (j) => { spec(j, 'mlp_out/bias').quantization = { dtype: 'int4' }; });
  assert.match(await loadError(badQuant), /weight 'mlp_out\/bias' has quantization \{"dtype":"int4"\}/);

  // Extra and missing weights: strict refuses, strict: false ignores.
  const extra = editedCopy('mlp', (j, f) => {
    j.weightsManifest[0].weights.push({ name: 'mlp_out/extra', shape: [2], dtype: 'float32' });
    fs.appendFileSync(path.join(f.dir, 'weights.bin'), Buffer.alloc(8));
  });
  assert.match(await loadError(extra), /the file has weight 'mlp_out\/extra', which the model does not have/);
  assertClose(outputs((await tf.loadLayersModel(extra, { strict: false })).predict(probe(tf, 'mlp'))), expectedOf('mlp').outputs, 'extra, strict: false');
  const missing = editedCopy('mlp', (j, f) => {
    const ws = j.weightsManifest[0].weights;
    ws.pop();
    const bin = path.join(f.dir, 'weights.bin');
    fs.truncateSync(bin, fs.statSync(bin).size - 32);
  });
  assert.match(await loadError(missing), /1 of 8 weights are not in the file: mlp_norm\/moving_variance/);
  const lenient = await tf.loadLayersModel(missing, { strict: false });
  assert.deepEqual(Array.from(lenient.getLayer('mlp_norm').weights[3].dataSync()), new Array(8).fill(1), 'left at its initial value');
  const twice = editedCopy('mlp', (j) => { spec(j, 'mlp_out/bias').name = 'mlp_out/kernel'; });
  assert.match(await loadError(twice), /lists weight 'mlp_out\/kernel' twice/);

  // Classes.
  const unknown = editedCopy('custom', (j) => { j.modelTopology.config.layers[0].class_name = 'UnregisteredDense'; });
  assert.match(await loadError(unknown), /unknown layer class 'UnregisteredDense'.*tf\.serialization\.registerClass/);
  const graph = editedCopy('mlp', (j) => { j.format = 'graph-model'; });
  assert.match(await loadError(graph), /format is 'graph-model', not 'layers-model'/);
  const noTopology = editedCopy('mlp', (j) => { delete j.modelTopology; });
  assert.match(await loadError(noTopology), /has no modelTopology/);
  const danglingInput = editedCopy('functional', (j) => { j.modelTopology.config.layers[3].inbound_nodes[0][0][0] = 'nothing'; });
  assert.match(await loadError(danglingInput), /refers to layer 'nothing', which the model does not have/);
});

test('unknown config options are tolerated, bad values are not', async () => {
  const extras = editedCopy('mlp', (j) => {
    const dense = j.modelTopology.config.layers[0].config;
    dense.keras_only_option = { anything: [1, 2] };
    dense.kernel_initializer.config.extra = 3;
    j.modelTopology.config.layers[3].config.lora_rank = null;
  });
  assertClose(outputs((await tf.loadLayersModel(extras)).predict(probe(tf, 'mlp'))), expectedOf('mlp').outputs, 'with extra options');
  const units = editedCopy('mlp', (j) => { j.modelTopology.config.layers[0].config.units = 'eight'; });
  assert.match(await loadError(units), /Dense: config\.units must be a non-negative integer, got "eight"/);
  const activation = editedCopy('mlp', (j) => { j.modelTopology.config.layers[0].config.activation = 'relux'; });
  assert.match(await loadError(activation), /unknown activation 'relux'/);
  // A layer size that no weight in the file could hold fails before allocating it.
  const huge = editedCopy('mlp', (j) => { j.modelTopology.config.layers[0].config.units = 4e9; });
  assert.match(await loadError(huge), /larger than any weight the model file holds/);
});

test('snake_case option values in model files read as tfjs reads them', async () => {
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'snake',
      layers: [
        {
          class_name: 'Conv2D',
          config: {
            name: 'c', filters: 2, kernel_size: [2, 2], data_format: 'channels_last', padding: 'same', batch_input_shape: [null, 4, 4, 1],
            kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_avg', distribution: 'truncated_normal', seed: 1 } },
            bias_initializer: 'glorot_uniform', activation: 'hard_sigmoid',
          },
        },
        { class_name: 'GlobalAveragePooling2D', config: { name: 'g', data_format: 'channels_last' } },
      ],
    },
  };
  const model = await tf.models.modelFromJSON(topology);
  const c = model.getLayer('c').getConfig();
  assert.equal(c.dataFormat, 'channelsLast');
  assert.equal(c.activation, 'hardSigmoid');
  assert.deepEqual(c.kernelInitializer.config, { scale: 2, mode: 'fanAvg', distribution: 'truncatedNormal', seed: 1 });
  assert.equal(c.biasInitializer.config.mode, 'fanAvg', 'glorot_uniform is the VarianceScaling it is');
  assert.deepEqual(model.predict(tf.ones([1, 4, 4, 1])).shape, [1, 2]);
});

// ---- tf.io -------------------------------------------------------------------------------------------

test('withSaveHandler, fromMemory (both forms) and custom IOHandler objects', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('functional')));
  const { artifacts, result } = await artifactsOf(model);
  assert.deepEqual(Object.keys(artifacts), ['modelTopology', 'format', 'generatedBy', 'convertedBy', 'weightData', 'weightSpecs']);
  assert.equal(artifacts.format, 'layers-model');
  assert.equal(artifacts.convertedBy, null);
  assert.ok(artifacts.weightData instanceof ArrayBuffer);
  assert.equal(result.modelArtifactsInfo.weightSpecsBytes, Buffer.byteLength(JSON.stringify(artifacts.weightSpecs)));
  assert.equal(result.modelArtifactsInfo.modelTopologyBytes, Buffer.byteLength(JSON.stringify(artifacts.modelTopology)));

  const want = outputs(model.predict(probe(tf, 'functional')));
  const viaMemory = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  assert.deepEqual(outputs(viaMemory.predict(probe(tf, 'functional'))), want);
  const legacy = await tf.loadLayersModel(tf.io.fromMemory(artifacts.modelTopology, artifacts.weightSpecs, artifacts.weightData));
  assert.deepEqual(outputs(legacy.predict(probe(tf, 'functional'))), want);
  assert.equal(tf.io.fromMemorySync(artifacts).load(), artifacts);

  class MemoryStore {
    async save(a) { this.saved = a; return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) }; }
    async load() { return this.saved; }
  }
  const store = new MemoryStore();
  await model.save(store);
  assert.deepEqual(outputs((await tf.loadLayersModel(store)).predict(probe(tf, 'functional'))), want);
  await assert.rejects(model.save({ load: () => null }), /expected a URL string or an IOHandler with a save method/);
  await assert.rejects(tf.loadLayersModel({ save: () => null }), /IOHandler with a load method/);
  await assert.rejects(tf.loadLayersModel({ load: async () => 42 }), /returned 42, not model artifacts/);
  await assert.rejects(model.save('nowhere://x'), /no save handler for 'nowhere:\/\/x'/);
  await assert.rejects(tf.loadLayersModel('relative/model.json'), /no load handler for 'relative\/model\.json'/);
});

test('routers: registerSaveRouter/registerLoadRouter route a custom scheme', async () => {
  const stores = new Map();
  const router = (url) => {
    if (typeof url !== 'string' || !url.startsWith('mem://')) return null;
    return { save: async (a) => { stores.set(url, a); return { modelArtifactsInfo: {} }; }, load: async () => stores.get(url) };
  };
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
  assert.equal(tf.io.getSaveHandlers('mem://a').length, 1);
  assert.equal(tf.io.getLoadHandlers('mem://a').length, 1);
  assert.equal(tf.io.getSaveHandlers('file:///tmp/x').length, 1);
  assert.equal(tf.io.getLoadHandlers('https://example.com/model.json').length, 1);
  assert.equal(tf.io.getSaveHandlers('other://a').length, 0);
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('gru')));
  await model.save('mem://gru');
  const again = await tf.loadLayersModel('mem://gru');
  assert.deepEqual(outputs(again.predict(probe(tf, 'gru'))), outputs(model.predict(probe(tf, 'gru'))));
  assert.throws(() => tf.io.registerLoadRouter('mem://'), /a router must be a function/);
});

test('encodeWeights/decodeWeights: float32, int32 and bool, in order, as tfjs encodes them', async () => {
  const named = [
    { name: 'f', tensor: tf.tensor2d([[1.5, -2], [3, 4.25]]) },
    { name: 'i', tensor: tf.tensor1d([7, -1, 2 ** 30], 'int32') },
    { name: 'b', tensor: tf.tensor1d([true, false, true], 'bool') },
  ];
  const { data, specs } = await tf.io.encodeWeights(named);
  assert.deepEqual(specs, [
    { name: 'f', shape: [2, 2], dtype: 'float32' }, { name: 'i', shape: [3], dtype: 'int32' }, { name: 'b', shape: [3], dtype: 'bool' },
  ]);
  assert.equal(data.byteLength, 16 + 12 + 3);
  const ours = Buffer.from(data);
  const theirs = Buffer.from((await realTfjs().io.encodeWeights(named.map((n) => ({ name: n.name, tensor: realTfjs().tensor(n.tensor.arraySync(), n.tensor.shape, n.tensor.dtype) })))).data);
  assert.ok(ours.equals(theirs), 'the bytes tfjs writes');
  const grouped = await tf.io.encodeWeights({ f: named[0].tensor }, 'optimizer');
  assert.deepEqual(grouped.specs, [{ name: 'f', shape: [2, 2], dtype: 'float32', group: 'optimizer' }]);
  const back = tf.io.decodeWeights(data, specs);
  assert.deepEqual(back.f.arraySync(), [[1.5, -2], [3, 4.25]]);
  assert.deepEqual(back.i.arraySync(), [7, -1, 2 ** 30]);
  assert.equal(back.b.dtype, 'bool');
  assert.deepEqual(back.b.arraySync(), [1, 0, 1]);
  // Split anywhere across several buffers (shards) decodes the same.
  const bytes = new Uint8Array(data);
  const split = [bytes.slice(0, 5).buffer, bytes.slice(5, 21).buffer, bytes.slice(21).buffer];
  assert.deepEqual(tf.io.decodeWeights(split, specs).i.arraySync(), [7, -1, 2 ** 30]);
  assert.throws(() => tf.io.decodeWeights(bytes.slice(0, 20).buffer, specs), /truncated: weight 'i' needs bytes 16 to 28, but there are only 20/);
  await assert.rejects(tf.io.encodeWeights([{ name: 'x', tensor: 3 }]), /weight 'x' is not a Tensor/);
});

test('decodeWeights dequantizes float16, uint8 and uint16 weights', () => {
  // float16: 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), -0.
  const halves = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000]);
  const f16 = tf.io.decodeWeights(halves.buffer, [{ name: 'h', shape: [6], dtype: 'float32', quantization: { dtype: 'float16' } }]);
  assert.deepEqual(Array.from(f16.h.dataSync()), [1, -2, 0.5, 65504, 2 ** -24, -0]);
  // uint8: q·scale + min.
  const u8 = tf.io.decodeWeights(new Uint8Array([0, 1, 255]).buffer, [{ name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }]);
  assert.deepEqual(Array.from(u8.q.dataSync()), [-1, -0.5, 126.5]);
  const u16 = tf.io.decodeWeights(new Uint16Array([0, 3, 1000]).buffer, [{ name: 'q', shape: [3], dtype: 'int32', quantization: { dtype: 'uint16', scale: 0.25, min: 1 } }]);
  assert.deepEqual(Array.from(u16.q.dataSync()), [1, 2, 251], 'int32 rounds');
  assert.throws(() => tf.io.decodeWeights(new ArrayBuffer(2), [{ name: 'q', shape: [1], dtype: 'int32', quantization: { dtype: 'float16' } }]),
    /weight 'q' is float16-quantized, which only float32 weights can be/);
  assert.throws(() => tf.io.decodeWeights(new ArrayBuffer(1), [{ name: 'q', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }]),
    /quantized as uint8 but its scale and min are undefined and undefined/);
});

test('CompositeArrayBuffer reads several buffers as one', () => {
  const c = new tf.io.CompositeArrayBuffer([new Uint8Array([1, 2, 3]).buffer, new Uint8Array([4]).buffer, new Uint8Array([5, 6]).buffer]);
  assert.equal(c.byteLength, 6);
  assert.deepEqual(Array.from(new Uint8Array(c.slice(2, 5))), [3, 4, 5]);
  assert.deepEqual(Array.from(new Uint8Array(tf.io.concatenateArrayBuffers([new Uint8Array([9]).buffer, new Uint8Array([8]).buffer]))), [9, 8]);
  assert.deepEqual(tf.io.getWeightSpecs([{ paths: ['a'], weights: [{ name: 'x' }] }, { paths: ['b'], weights: [{ name: 'y' }] }]).map((s) => s.name), ['x', 'y']);
});

test('io.fileSystem is the file:// handler; weightsLoaderFactory fetches only the groups it needs', async () => {
  const model = await tf.loadLayersModel(tf.io.fileSystem(path.join(fixtureDir('gru'), 'model.json')));
  const dir = tmpDir();
  await model.save(tf.io.fileSystem(dir));
  assert.ok(fs.readFileSync(path.join(dir, 'weights.bin')).equals(fs.readFileSync(path.join(fixtureDir('gru'), 'weights.bin'))));
  const manifest = JSON.parse(fs.readFileSync(path.join(fixtureDir('keras_uint8'), 'model.json'), 'utf8')).weightsManifest;
  const fetched = [];
  const load = tf.io.weightsLoaderFactory(async (urls) => {
    fetched.push(...urls);
    return urls.map((u) => new Uint8Array(fs.readFileSync(u)).buffer);
  });
  const weights = await load(manifest, fixtureDir('keras_uint8'), ['dense/bias']);
  assert.deepEqual(Object.keys(weights), ['dense/bias']);
  assert.deepEqual(fetched, [path.join(fixtureDir('keras_uint8'), 'group2-shard1of1.bin')]);
  const all = tf.io.decodeWeights(
    ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'group2-shard1of1.bin'].map((f) => new Uint8Array(fs.readFileSync(path.join(fixtureDir('keras_uint8'), f))).buffer),
    tf.io.getWeightSpecs(manifest),
  );
  assert.deepEqual(Array.from(weights['dense/bias'].dataSync()), Array.from(all['dense/bias'].dataSync()));
  await assert.rejects(load(manifest, fixtureDir('keras_uint8'), ['nope']), /the manifest has no weights named nope/);
});

// ---- http -------------------------------------------------------------------------------------------

function serve(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

test('http(s):// loads through fetch (sharded files included) and saves as a multipart POST', async () => {
  const posted = {};
  const server = await serve(async (req, res) => {
    if (req.method === 'POST') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] } }).formData();
      for (const [k, v] of form.entries()) posted[k] = Buffer.from(await v.arrayBuffer());
      res.end('ok');
      return;
    }
    const file = path.join(FIXTURES, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(FIXTURES) || !fs.existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(fs.readFileSync(file));
  });
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    for (const name of ['keras_float16', 'lstm']) {
      const model = await tf.loadLayersModel(`${base}/${name}/model.json`);
      assertClose(outputs(model.predict(probe(tf, name))), expectedOf(name).outputs, `${name} over http`);
    }
    assert.match(await loadError(`${base}/nothing/model.json`), /failed with HTTP status 404/);
    const model = await tf.loadLayersModel(`${base}/mlp/model.json`);
    const result = await model.save(`${base}/upload`);
    assert.equal(result.responses[0].status, 200);
    const json = JSON.parse(posted['model.json'].toString());
    assert.deepEqual(json.weightsManifest[0].paths, ['./model.weights.bin']);
    assert.ok(posted['model.weights.bin'].equals(fs.readFileSync(path.join(fixtureDir('mlp'), 'weights.bin'))));
  } finally {
    server.close();
  }
});

// ---- weights only ---------------------------------------------------------------------------------

test('saveWeights/loadWeights move weights between models of the same structure', async () => {
  const source = await tf.loadLayersModel(fileUrl(fixtureDir('functional')));
  const dir = tmpDir();
  await source.saveWeights(fileUrl(dir));
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(json.modelTopology, undefined, 'weights only');
  const target = builders.functional(tf);
  assert.notDeepEqual(outputs(target.predict(probe(tf, 'functional'))), expectedOf('functional').outputs);
  await target.loadWeights(fileUrl(dir));
  assertClose(outputs(target.predict(probe(tf, 'functional'))), expectedOf('functional').outputs, 'after loadWeights');
  await assert.rejects(tf.loadLayersModel(fileUrl(dir)), /has no modelTopology \(weights only\? load them with model\.loadWeights\)/);
  // A full save's file serves too; a model of another structure is refused by name.
  const mlp = builders.mlp(tf);
  await mlp.loadWeights(fileUrl(fixtureDir('mlp')));
  assertClose(outputs(mlp.predict(probe(tf, 'mlp'))), expectedOf('mlp').outputs, 'mlp weights from a full save');
  await assert.rejects(mlp.loadWeights(fileUrl(dir)), /the file has weight 'shared\/kernel', which the model does not have/);
  // tfjs's synchronous form takes {name: Tensor}.
  assert.throws(() => mlp.loadWeights({ 'mlp_out/bias': tf.zeros([2]) }), /weight 'mlp_out\/bias' has shape \[3\] in the model, but \[2\] in the file/);
});

// ---- serialization -----------------------------------------------------------------------------------

test('tf.serialization: registerClass, getRegisteredName and the class map', () => {
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  assert.equal(map.ScaledDense[0], ScaledDense);
  assert.equal(tf.serialization.getRegisteredName(ScaledDense), 'Custom>ScaledDense');
  class Renamed extends tf.layers.Layer { static get className() { return 'Renamed'; } }
  assert.equal(tf.serialization.registerClass(Renamed, 'Pkg', 'Alias'), Renamed);
  assert.equal(tf.serialization.getRegisteredName(Renamed), 'Pkg>Alias');
  assert.throws(() => tf.serialization.registerClass(() => null), /has no static className property/);
  assert.throws(() => tf.serialization.registerClass({}), /expected a class, got object/);
  const emptyName = class { static get className() { return ''; } };
  assert.throws(() => tf.serialization.registerClass(emptyName), /has an empty className/);
  assert.ok(new tf.serialization.Serializable() instanceof tf.serialization.Serializable);
});

test('toJSON and models.modelFromJSON rebuild the same topology', async () => {
  const model = await tf.loadLayersModel(fileUrl(fixtureDir('lstm')));
  const json = JSON.parse(fs.readFileSync(path.join(fixtureDir('lstm'), 'model.json'), 'utf8'));
  assert.deepEqual(model.toJSON(null, false), json.modelTopology);
  assert.equal(model.toJSON(), JSON.stringify(json.modelTopology));
  const rebuilt = await tf.models.modelFromJSON({ modelTopology: json.modelTopology });
  assert.deepEqual(rebuilt.toJSON(null, false), json.modelTopology);
  assert.deepEqual(rebuilt.weights.map((w) => w.name), model.weights.map((w) => w.name));
});
