'use strict';
// Custom layers and models written in JavaScript: Layer subclasses (build/addWeight/call/
// computeOutputShape/getConfig), sub-layer tracking, tf.Model subclassing, addLoss/addMetric,
// tf.layers.lambda, and what happens when user code fails inside fit.
const test = require('node:test');
const assert = require('node:assert/strict');
const tf = require('..');

// ---- the classes users write (API.md §5–6, the Keras custom-layer guide) ---------------------

class MyDense extends tf.layers.Layer {
  constructor(config) {
    super(config);
    this.units = config.units;
    this.seen = [];
  }
  build(inputShape) {
    this.kernel = this.addWeight('kernel', [inputShape[inputShape.length - 1], this.units], 'float32', tf.initializers.glorotNormal({ seed: 1 }));
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
  }
  computeOutputShape(s) { return [...s.slice(0, -1), this.units]; }
  call(inputs, kwargs) {
    this.seen.push(!!(kwargs && kwargs.training));
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.add(tf.matMul(x, this.kernel.read()), this.bias.read());
  }
  getConfig() { return { ...super.getConfig(), units: this.units }; }
  static get className() { return 'MyDense'; }
}

class MyMultiLayer extends tf.layers.Layer {
  computeOutputShape(shapes) { return [shapes[0], shapes[0], shapes[0]]; }
  call([a, b]) { return [tf.add(a, b), tf.mul(a, b), tf.div(a, b)]; }
  static get className() { return 'MyMultiLayer'; }
}

class ResidualBlock extends tf.layers.Layer {
  constructor({ nLayers, nNeurons, ...config }) {
    super(config);
    this.nLayers = nLayers;
    this.nNeurons = nNeurons;
    this.hidden = Array.from({ length: nLayers }, () => tf.layers.dense({ units: nNeurons, activation: 'relu', kernelInitializer: 'heNormal' }));
  }
  call(inputs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    let z = x;
    for (const layer of this.hidden) z = layer.apply(z);
    return tf.add(x, z);
  }
  getConfig() { return { ...super.getConfig(), nLayers: this.nLayers, nNeurons: this.nNeurons }; }
  static get className() { return 'ResidualBlock'; }
}

class ResidualRegressor extends tf.Model {
  constructor(outputDim) {
    super();
    this.hidden1 = tf.layers.dense({ units: 30, activation: 'relu', kernelInitializer: 'heNormal' });
    this.block1 = new ResidualBlock({ nLayers: 2, nNeurons: 30 });
    this.block2 = new ResidualBlock({ nLayers: 2, nNeurons: 30 });
    this.out = tf.layers.dense({ units: outputDim });
  }
  call(inputs) {
    let z = this.hidden1.apply(inputs);
    for (let i = 0; i < 1 + 3; i++) z = this.block1.apply(z);
    z = this.block2.apply(z);
    return this.out.apply(z);
  }
}

function regressionData(n = 64, seed = 3) {
  let s = seed;
  const rnd = () => { s = (s * 16807) % 2147483647; return s / 2147483647 - 0.5; };
  const xs = [];
  const ys = [];
  for (let i = 0; i < n; i++) {
    const a = rnd(); const b = rnd();
    xs.push([a, b]);
    ys.push([2 * a - b + 0.5]);
  }
  return { x: tf.tensor2d(xs), y: tf.tensor2d(ys) };
}

const values = (t) => Array.from(t.dataSync());
const close = (a, b, tol = 1e-5) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])));

// ---- Layer subclasses -------------------------------------------------------------------------

test('a custom layer works eagerly, in a Sequential model, and trains in fit', async () => {
  const eager = new MyDense({ units: 3 });
  const y = eager.apply(tf.ones([2, 4]));
  assert.deepEqual(y.shape, [2, 3]);
  assert.equal(eager.weights.length, 2);
  assert.deepEqual(eager.weights.map((w) => w.name), [`${eager.name}/kernel`, `${eager.name}/bias`]);

  const model = tf.sequential();
  const layer = new MyDense({ units: 1, inputShape: [2] });
  model.add(layer);
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
  const { x, y: target } = regressionData();
  const before = values(layer.kernel);
  const h = await model.fit(x, target, { epochs: 20, batchSize: 16, verbose: 0 });
  assert.notDeepEqual(values(layer.kernel), before, 'fit changes the JS layer\'s weights');
  assert.ok(h.history.loss[19] < h.history.loss[0] / 4, `loss falls: ${h.history.loss[0]} → ${h.history.loss[19]}`);
  assert.ok(layer.seen.includes(true), 'call sees training: true inside fit');
  layer.seen = [];
  model.predict(x);
  model.evaluate(x, target);
  assert.ok(layer.seen.length > 0 && layer.seen.every((t) => t === false), 'predict and evaluate call with training: false');
});

test('multi-input, multi-output custom layers in a functional model', () => {
  const a = tf.input({ shape: [3] });
  const b = tf.input({ shape: [3] });
  const outs = new MyMultiLayer({}).apply([a, b]);
  assert.equal(outs.length, 3);
  assert.deepEqual(outs[0].shape, [null, 3]);
  const model = tf.model({ inputs: [a, b], outputs: outs });
  const [s, p, q] = model.predict([tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[2, 2, 2]])]);
  assert.deepEqual(values(s), [3, 4, 5]);
  assert.deepEqual(values(p), [2, 4, 6]);
  assert.deepEqual(values(q), [0.5, 1, 1.5]);
});

test('sub-layers held in properties are tracked: weights, trainable flags, setWeights, dispose', () => {
  const block = new ResidualBlock({ nLayers: 2, nNeurons: 4 });
  const y = block.apply(tf.ones([3, 4]));
  assert.deepEqual(y.shape, [3, 4]);
  assert.equal(block.weights.length, 4, 'two dense layers × (kernel, bias)');
  assert.equal(block.trainableWeights.length, 4);
  assert.equal(block.countParams(), 2 * (4 * 4 + 4));
  const w = block.getWeights();
  block.setWeights(w.map((t) => tf.zerosLike(t)));
  assert.deepEqual(values(block.apply(tf.ones([1, 4]))), [1, 1, 1, 1], 'zero weights: the block is the identity');
  block.trainable = false;
  assert.equal(block.trainableWeights.length, 0);
  assert.equal(block.nonTrainableWeights.length, 4);

  class Holder extends tf.layers.Layer {
    constructor() {
      super({});
      this.parts = { first: tf.layers.dense({ units: 2 }), second: tf.layers.dense({ units: 1 }) };
      this.notALayer = { x: 1 };
    }
    call(x) { return this.parts.second.apply(this.parts.first.apply(x)); }
  }
  const h = new Holder();
  h.apply(tf.ones([1, 3]));
  assert.equal(h.weights.length, 4, 'an object of layers is tracked');
  const res = h.dispose();
  assert.equal(res.numDisposedVariables, 4);
});

test('a JS layer whose sub-layers build lazily is probed when applied symbolically, and trains in fit', async () => {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 8, inputShape: [2] }));
  const block = new ResidualBlock({ nLayers: 2, nNeurons: 8 });
  model.add(block);
  model.add(tf.layers.dense({ units: 1 }));
  assert.deepEqual(model.outputs[0].shape, [null, 1]);
  assert.equal(model.trainableWeights.length, 2 + 4 + 2, 'the block\'s dense layers are part of the model');
  const lines = [];
  model.summary(undefined, undefined, (l) => lines.push(l));
  assert.ok(lines.some((l) => l.startsWith(block.name.slice(0, 20)) && l.includes(' 144 ')), 'the block\'s row counts its sub-layers\' 2 × (8·8 + 8) params');
  assert.ok(lines.some((l) => l.includes(`Trainable params: ${model.countParams()}`)));
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const inner = block.hidden[0].weights[0];
  const before = values(inner);
  const { x, y } = regressionData();
  await model.fit(x, y, { epochs: 2, verbose: 0 });
  assert.notDeepEqual(values(inner), before, 'weights of a tracked sub-layer train');
});

// ---- tf.Model subclasses ------------------------------------------------------------------------

test('a subclassed tf.Model compiles, fits, evaluates, predicts and summarises', async () => {
  const model = new ResidualRegressor(1);
  assert.throws(() => model.summary(undefined, undefined, () => {}), /has not been built yet/);
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const { x, y } = regressionData(128);
  const h = await model.fit(x, y, { epochs: 20, batchSize: 32, verbose: 0 });
  assert.equal(h.history.loss.length, 20);
  assert.ok(h.history.loss[19] < h.history.loss[0], `loss falls: ${h.history.loss[0]} → ${h.history.loss[19]}`);
  const ev = model.evaluate(x, y);
  assert.ok(Math.abs(ev.dataSync()[0] - h.history.loss[19]) < h.history.loss[0], 'evaluate gives a loss in range');
  const p = model.predict(x);
  assert.deepEqual(p.shape, [128, 1]);
  // 1 + 2 blocks × 2 dense + out = 6 dense layers, each kernel + bias.
  assert.equal(model.trainableWeights.length, 12);
  assert.deepEqual(model.layers.map((l) => l.getClassName()), ['Dense', 'ResidualBlock', 'ResidualBlock', 'Dense']);
  const lines = [];
  model.summary(undefined, undefined, (l) => lines.push(l));
  const text = lines.join('\n');
  assert.match(text, /residual_block_ResidualBloc/);
  assert.match(text, /\[null,30\]/);
  assert.match(text, new RegExp(`Total params: ${2 * 30 + 30 + 4 * (30 * 30 + 30) + 31}`));

  // getWeights/setWeights round trip through a second instance.
  const twin = new ResidualRegressor(1);
  twin.predict(x.slice([0, 0], [1, 2]));
  twin.setWeights(model.getWeights());
  assert.ok(close(values(twin.predict(x)), values(p)), 'same weights, same predictions');
});

test('trainOnBatch on a subclassed model, and a subclassed model used as a layer', async () => {
  const model = new ResidualRegressor(1);
  // A step small enough that plain gradient descent must lower the loss whatever the
  // (unseeded) initial weights.
  model.compile({ optimizer: tf.train.sgd(1e-4), loss: 'meanSquaredError' });
  const { x, y } = regressionData(16);
  const losses = [];
  for (let i = 0; i < 5; i++) losses.push(await model.trainOnBatch(x, y));
  assert.ok(losses.every(Number.isFinite) && losses[4] < losses[0], `steps lower the loss: ${losses}`);

  const inp = tf.input({ shape: [2] });
  const inner = new ResidualRegressor(3);
  const out = inner.apply(inp);
  assert.deepEqual(out.shape, [null, 3]);
  const outer = tf.model({ inputs: inp, outputs: tf.layers.dense({ units: 1 }).apply(out) });
  assert.equal(outer.trainableWeights.length, 12 + 2);
  outer.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const h = await outer.fit(x, y, { epochs: 3, verbose: 0 });
  assert.equal(h.history.loss.length, 3);
});

// ---- addLoss / addMetric / regularizers ----------------------------------------------------------

function linearModelWith(layer) {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'zeros' }));
  model.add(layer);
  model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
  return model;
}

test('addLoss inside call enters the training loss; addMetric reaches logs and History', async () => {
  class Penalized extends tf.layers.Layer {
    call(x) {
      this.addLoss(tf.scalar(5));
      this.addLoss(() => tf.mul(tf.mean(x), 0));
      this.addMetric(tf.mean(x), 'out_mean');
      this.addMetric(7, 'seven');
      return x;
    }
    static get className() { return 'Penalized'; }
  }
  const { x, y } = regressionData(32);
  const plain = linearModelWith(new tf.layers.Layer({}));
  const withLoss = linearModelWith(new Penalized({}));
  const logs = [];
  const hp = await plain.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 });
  const h = await withLoss.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, callbacks: { onEpochEnd: (e, l) => logs.push(l) } });
  assert.ok(Math.abs(h.history.loss[0] - (hp.history.loss[0] + 5)) < 1e-5, `loss ${h.history.loss[0]} = ${hp.history.loss[0]} + 5`);
  // The zero-initialised, never-updated dense layer outputs its bias, 0.
  assert.deepEqual(h.history.out_mean, [0, 0]);
  assert.deepEqual(h.history.seven, [7, 7]);
  assert.equal(logs[1].seven, 7);
  // evaluate counts the added loss too.
  // evaluate counts the added loss too, and reports the added metrics after it (as Keras).
  const ev = withLoss.evaluate(x, y);
  assert.equal(ev.length, 3);
  assert.ok(Math.abs(ev[0].dataSync()[0] - (plain.evaluate(x, y).dataSync()[0] + 5)) < 1e-5);
  assert.deepEqual(ev.slice(1).map((t) => t.dataSync()[0]), [0, 7]);
});

test('addLoss is differentiated: a penalty on a weight shrinks it', async () => {
  class Shrink extends tf.layers.Layer {
    build() { this.w = this.addWeight('w', [1], 'float32', tf.initializers.ones()); }
    call(x) {
      this.addLoss(tf.mul(tf.sum(tf.square(this.w.read())), 10));
      return tf.mul(x, this.w.read());
    }
    static get className() { return 'Shrink'; }
  }
  const model = tf.sequential();
  const layer = new Shrink({ inputShape: [1] });
  model.add(layer);
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  await model.fit(tf.zeros([4, 1]), tf.zeros([4, 1]), { epochs: 1, batchSize: 4, verbose: 0 });
  // d/dw of 10·w² at w = 1 is 20; one SGD step of 0.01 gives 0.8 (the data term is zero).
  assert.ok(Math.abs(layer.w.dataSync()[0] - 0.8) < 1e-6, `w = ${layer.w.dataSync()[0]}`);
});

test('a regularizer given to addWeight enters the loss', async () => {
  class Reg extends tf.layers.Layer {
    build() { this.w = this.addWeight('w', [2], 'float32', tf.initializers.ones(), { className: 'L1L2', config: { l1: 0, l2: 0.5 } }); }
    call(x) { return tf.mul(x, this.w.read()); }
    static get className() { return 'Reg'; }
  }
  const model = tf.sequential();
  model.add(new Reg({ inputShape: [2] }));
  model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
  const h = await model.fit(tf.zeros([2, 2]), tf.zeros([2, 2]), { epochs: 1, verbose: 0 });
  assert.ok(Math.abs(h.history.loss[0] - 1) < 1e-6, `0.5 · (1² + 1²) = 1, got ${h.history.loss[0]}`);
});

test('the ReconstructingRegressor of the Keras guide trains with its reconstruction loss and metric', async () => {
  class ReconstructingRegressor extends tf.Model {
    constructor(outputDim) {
      super();
      this.hidden = Array.from({ length: 5 }, () => tf.layers.dense({ units: 30, activation: 'relu', kernelInitializer: 'heNormal' }));
      this.out = tf.layers.dense({ units: outputDim });
    }
    build(batchInputShape) {
      this.reconstruct = tf.layers.dense({ units: batchInputShape[batchInputShape.length - 1] });
    }
    call(inputs, kwargs = {}) {
      let z = inputs;
      for (const layer of this.hidden) z = layer.apply(z);
      const reconstruction = this.reconstruct.apply(z);
      const reconLoss = tf.mean(tf.square(tf.sub(reconstruction, inputs)));
      this.addLoss(tf.mul(0.05, reconLoss));
      if (kwargs.training) this.addMetric(reconLoss, 'reconstruction_error');
      return this.out.apply(z);
    }
  }
  const model = new ReconstructingRegressor(1);
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const { x, y } = regressionData(128);
  const h = await model.fit(x, y, { epochs: 10, verbose: 0 });
  assert.equal(h.history.reconstruction_error.length, 10);
  const recon = h.history.reconstruction_error;
  assert.ok(recon.every((r) => Number.isFinite(r) && r > 0));
  // Each epoch's loss is its mean MSE plus 0.05 × its mean reconstruction error.
  h.history.loss.forEach((l, i) => assert.ok(l > 0.05 * recon[i], `epoch ${i}: loss ${l} includes 0.05 × ${recon[i]}`));
  assert.ok(h.history.loss[9] < h.history.loss[0], 'the loss falls');
  assert.equal(model.trainableWeights.length, 2 * 7, 'the layer made in build() is tracked');
});

// ---- lambda -------------------------------------------------------------------------------------

test('tf.layers.lambda works in models and refuses to serialize', async () => {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 4, inputShape: [2] }));
  const lam = tf.layers.lambda({ fn: (x) => tf.exp(x) });
  model.add(lam);
  model.add(tf.layers.lambda({ fn: (x) => tf.sum(x, -1, true), outputShape: [1] }));
  assert.deepEqual(model.outputs[0].shape, [null, 1]);
  const y = lam.apply(tf.zeros([2, 3]));
  assert.deepEqual(values(y), [1, 1, 1, 1, 1, 1]);
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const { x, y: t } = regressionData(16);
  await model.fit(x, t, { epochs: 1, verbose: 0 });
  assert.throws(() => lam.getConfig(), /Lambda layer '.*' cannot be serialized/);
  assert.throws(() => model.getConfig(), /cannot be serialized/);
  assert.throws(() => tf.layers.lambda({}), /lambda: expected a config with fn/);
});

// ---- failures inside fit -------------------------------------------------------------------------

async function failsCleanly(makeModel, { x, y }, re) {
  const model = makeModel();
  // A first fit that works, so the weights are real.
  await model.fit(x, y, { epochs: 1, verbose: 0 });
  const before = model.getWeights().map(values);
  model._fail = true;
  const tensorsBefore = tf.memory().numTensors;
  await assert.rejects(model.fit(x, y, { epochs: 2, verbose: 0 }), (err) => {
    assert.match(err.message, re);
    assert.ok(err.stack.includes('custom.test.js'), 'the stack of the user\'s error is kept');
    return true;
  });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'the failed step\'s tensors are freed');
  assert.deepEqual(model.getWeights().map(values), before, 'no weight changed');
  model._fail = false;
  const h = await model.fit(x, y, { epochs: 1, verbose: 0 });
  assert.ok(Number.isFinite(h.history.loss[0]), 'the next fit works');
}

class Flaky extends tf.layers.Layer {
  call(x) {
    const tmp = tf.mul(x, 2);
    if (this.failing && this.failing()) throw new TypeError('custom call failed');
    return tf.sub(tmp, x);
  }
  static get className() { return 'Flaky'; }
}

function modelWith(layer, loss = 'meanSquaredError') {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 3, inputShape: [2] }));
  model.add(layer);
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: 'adam', loss });
  layer.failing = () => model._fail;
  return model;
}

test('an exception in a custom call during fit rejects with that error and changes nothing', async () => {
  await failsCleanly(() => modelWith(new Flaky({})), regressionData(32), /custom call failed/);
});

test('an exception in a JS kernel or its gradFunc during fit rejects cleanly', async () => {
  let failKernel = false;
  let failGrad = false;
  tf.registerKernel({
    kernelName: 'TestSquarePlus', backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      if (failKernel) throw new RangeError('kernel TestSquarePlus failed');
      const v = backend.readSync(inputs.x.dataId);
      return backend.makeTensorInfo(inputs.x.shape, 'float32', v.map((e) => e * e + 1));
    },
  });
  tf.registerGradient({
    kernelName: 'TestSquarePlus', inputsToSave: ['x'],
    gradFunc: (dy, [x]) => {
      if (failGrad) throw new Error('gradFunc of TestSquarePlus failed');
      return { x: () => tf.mul(dy, tf.mul(x, 2)) };
    },
  });
  class UsesKernel extends tf.layers.Layer {
    call(x) { return tf.engine().runKernel('TestSquarePlus', { x }); }
    static get className() { return 'UsesKernel'; }
  }
  try {
    const data = regressionData(32);
    await failsCleanly(() => { const m = modelWith(new UsesKernel({})); Object.defineProperty(m, '_fail', { set(v) { failKernel = v; }, get() { return failKernel; } }); return m; }, data, /kernel TestSquarePlus failed/);
    await failsCleanly(() => { const m = modelWith(new UsesKernel({})); Object.defineProperty(m, '_fail', { set(v) { failGrad = v; }, get() { return failGrad; } }); return m; }, data, /gradFunc of TestSquarePlus failed/);
  } finally {
    tf.unregisterKernel('TestSquarePlus', 'cpu');
    tf.unregisterGradient('TestSquarePlus');
  }
});

test('an exception in a customGrad gradient, a loss or a metric function during fit rejects cleanly', async () => {
  let fail = false;
  const clipGrad = tf.customGrad((x, save) => {
    save([x]);
    return { value: tf.relu(x), gradFunc: (dy, [sx]) => {
      if (fail) throw new Error('customGrad gradient failed');
      return [tf.mul(dy, tf.step(sx))];
    } };
  });
  class CustomGradLayer extends tf.layers.Layer {
    call(x) { return clipGrad(x); }
    static get className() { return 'CustomGradLayer'; }
  }
  const bind = (m) => { Object.defineProperty(m, '_fail', { set(v) { fail = v; }, get() { return fail; } }); return m; };
  const data = regressionData(32);
  await failsCleanly(() => bind(modelWith(new CustomGradLayer({}))), data, /customGrad gradient failed/);
  const myLoss = (yt, yp) => {
    if (fail) throw new Error('loss function failed');
    return tf.mean(tf.square(tf.sub(yt, yp)));
  };
  await failsCleanly(() => bind(modelWith(new tf.layers.Layer({}), myLoss)), data, /loss function failed/);
  const myMetric = (yt, yp) => {
    if (fail) throw new Error('metric function failed');
    return tf.mean(tf.abs(tf.sub(yt, yp)));
  };
  await failsCleanly(() => {
    const m = modelWith(new tf.layers.Layer({}));
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError', metrics: [myMetric] });
    return bind(m);
  }, data, /metric function failed/);
});

test('main-thread ops between a JS layer\'s calls are not recorded: training is unaffected', async () => {
  const { x, y } = regressionData(64);
  const run = async (busy) => {
    const model = modelWith(new Flaky({}));
    model.setWeights(model.getWeights().map((w, i) => tf.fill(w.shape, 0.1 * (i + 1))));
    let timer = null;
    let ticks = 0;
    if (busy) timer = setInterval(() => { tf.tidy(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])).sum()); ticks++; }, 0);
    try {
      await model.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    } finally {
      if (timer) clearInterval(timer);
    }
    return { weights: model.getWeights().map(values), ticks };
  };
  const quiet = await run(false);
  const busy = await run(true);
  assert.ok(busy.ticks > 0, 'the event loop ran timers during fit');
  assert.deepEqual(busy.weights, quiet.weights);
});

test('regularizers of built-in layers held by a JS layer enter the loss', async () => {
  class Holder extends tf.layers.Layer {
    constructor() {
      super({});
      this.inner = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: 'ones', kernelRegularizer: tf.regularizers ? tf.regularizers.l2({ l2: 0.25 }) : { className: 'L1L2', config: { l1: 0, l2: 0.25 } } });
    }
    call(x) { return this.inner.apply(x); }
    static get className() { return 'Holder'; }
  }
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape: [3] }));
  model.add(new Holder());
  model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
  const h = await model.fit(tf.zeros([2, 3]), tf.zeros([2, 1]), { epochs: 1, verbose: 0 });
  // kernel = ones [3, 1]: penalty 0.25 · 3 = 0.75; the data term is zero.
  assert.ok(Math.abs(h.history.loss[0] - 0.75) < 1e-6, `loss ${h.history.loss[0]}`);
});

test('a JS layer running large multithreaded ops inside fit does not deadlock the worker', async () => {
  class Heavy extends tf.layers.Layer {
    call(x) {
      // Big enough for the parallel kernels (≥ 32k elements per op).
      const big = tf.matMul(tf.ones([256, 256]), tf.ones([256, 256]));
      const s = tf.mul(tf.mean(tf.exp(tf.mul(big, 1e-4))), 0);
      return tf.add(x, s);
    }
    static get className() { return 'Heavy'; }
  }
  const model = modelWith(new Heavy({}));
  const { x, y } = regressionData(64);
  const h = await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
  assert.equal(h.history.loss.length, 2);
});

// ---- saving --------------------------------------------------------------------------------------

const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');

test('a model with a custom layer holding sub-layers saves and loads exactly', async () => {
  tf.serialization.registerClass(ResidualBlock);
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 6, inputShape: [2] }));
  model.add(new ResidualBlock({ nLayers: 2, nNeurons: 6 }));
  model.add(tf.layers.dense({ units: 1 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fg-custom-'));
  try {
    await model.save(`file://${dir}`);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const names = json.weightsManifest[0].weights.map((w) => w.name);
    assert.equal(names.length, 8, 'the block\'s sub-layer weights are saved');
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    const { x } = regressionData(8);
    assert.deepEqual(values(loaded.predict(x)), values(model.predict(x)));
    assert.equal(loaded.layers[1].getClassName(), 'ResidualBlock');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a subclassed model round-trips its weights with saveWeights/loadWeights', async () => {
  const model = new ResidualRegressor(1);
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const { x, y } = regressionData(32);
  await model.fit(x, y, { epochs: 2, verbose: 0 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fg-subclassed-'));
  try {
    await model.saveWeights(`file://${dir}`);
    const twin = new ResidualRegressor(1);
    twin.predict(x);   // builds it
    assert.notDeepEqual(values(twin.predict(x)), values(model.predict(x)));
    await twin.loadWeights(`file://${dir}`);
    assert.deepEqual(values(twin.predict(x)), values(model.predict(x)));
    const other = new ResidualRegressor(2);
    other.predict(x);
    await assert.rejects(other.loadWeights(`file://${dir}`), /matching by position, weight \d+ of those left .* but the model's/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('addMetric and addLoss also reach fitDataset logs and evaluateDataset', async () => {
  class Reporter extends tf.layers.Layer {
    call(x) {
      this.addLoss(tf.scalar(2));
      this.addMetric(11, 'eleven');
      return x;
    }
    static get className() { return 'Reporter'; }
  }
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'zeros' }));
  model.add(new Reporter({}));
  model.compile({ optimizer: tf.train.sgd(0), loss: 'meanSquaredError' });
  const ds = tf.data.array([...Array(8).keys()]).map(() => ({ xs: tf.zeros([2]), ys: tf.zeros([1]) })).batch(4);
  const h = await model.fitDataset(ds, { epochs: 2, verbose: 0 });
  assert.deepEqual(h.history.eleven, [11, 11]);
  assert.ok(Math.abs(h.history.loss[0] - 2) < 1e-6, `loss ${h.history.loss[0]} includes the added 2`);
  const ev = await model.evaluateDataset(ds);
  assert.deepEqual(ev.map((t) => t.dataSync()[0]), [2, 11]);
});
