'use strict';
// Custom layers and models in the Keras style, written in JavaScript and trained with fit():
// a dense layer with its own weights, a layer with several inputs and outputs, a layer that
// behaves differently in training, a residual block holding other layers, a subclassed model
// built from those blocks, and a model adding a reconstruction loss and metric from inside.
//
//   node examples/keras-custom-layers.js

const tf = require('..');

class MyDense extends tf.layers.Layer {
  constructor(config) {
    super(config);
    this.units = config.units;
    this.activation = config.activation || 'linear';
  }
  build(inputShape) {
    this.kernel = this.addWeight('kernel', [inputShape[inputShape.length - 1], this.units], 'float32', tf.initializers.glorotNormal({}));
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
  }
  computeOutputShape(inputShape) { return [...inputShape.slice(0, -1), this.units]; }
  call(inputs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const z = tf.add(tf.matMul(x, this.kernel.read()), this.bias.read());
    return this.activation === 'relu' ? tf.relu(z) : z;
  }
  getConfig() { return { ...super.getConfig(), units: this.units, activation: this.activation }; }
  static get className() { return 'MyDense'; }
}

// Several inputs arrive as an array; several outputs leave as one.
class MyMultiLayer extends tf.layers.Layer {
  computeOutputShape(shapes) { return [shapes[0], shapes[0], shapes[0]]; }
  call([x1, x2]) { return [tf.add(x1, x2), tf.mul(x1, x2), tf.div(x1, x2)]; }
  static get className() { return 'MyMultiLayer'; }
}

// Noise only while training: kwargs.training is true inside fit().
class MyGaussianNoise extends tf.layers.Layer {
  constructor(config) { super(config); this.stddev = config.stddev; }
  call(inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return kwargs && kwargs.training ? tf.add(x, tf.randomNormal(x.shape, 0, this.stddev)) : x;
  }
  getConfig() { return { ...super.getConfig(), stddev: this.stddev }; }
  static get className() { return 'MyGaussianNoise'; }
}

// Holds other layers in a property: their weights are tracked automatically.
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

// A loss and a metric computed from the model's insides (Keras add_loss / add_metric).
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

// A small regression problem: y = x·w + noise over 8 features.
function data(n) {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, 8], 0, 1, 'float32', 7);
    const w = tf.linspace(-1, 1, 8).reshape([8, 1]);
    const y = tf.add(tf.matMul(x, w), tf.randomNormal([n, 1], 0, 0.05, 'float32', 8));
    return { x, y };
  });
}

async function main() {
  const { x, y } = data(1024);
  const first = (h, k = 'loss') => h.history[k][0].toFixed(4);
  const last = (h, k = 'loss') => h.history[k][h.history[k].length - 1].toFixed(4);

  // MyDense and MyGaussianNoise in a Sequential model.
  const seq = tf.sequential();
  seq.add(new MyDense({ units: 16, activation: 'relu', inputShape: [8] }));
  seq.add(new MyGaussianNoise({ stddev: 0.1 }));
  seq.add(new MyDense({ units: 1 }));
  seq.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  let h = await seq.fit(x, y, { epochs: 10, verbose: 0 });
  console.log(`Sequential of MyDense + MyGaussianNoise: loss ${first(h)} -> ${last(h)}`);

  // MyMultiLayer in a functional model.
  const a = tf.input({ shape: [8] });
  const b = tf.input({ shape: [8] });
  const [sum, prod, ratio] = new MyMultiLayer({}).apply([a, b]);
  const multi = tf.model({ inputs: [a, b], outputs: [sum, prod, ratio] });
  const outs = multi.predict([tf.ones([1, 8]), tf.fill([1, 8], 2)]);
  console.log(`MyMultiLayer: 1+2=${outs[0].dataSync()[0]}, 1*2=${outs[1].dataSync()[0]}, 1/2=${outs[2].dataSync()[0]}`);

  // The subclassed residual model.
  const residual = new ResidualRegressor(1);
  residual.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  h = await residual.fit(x, y, { epochs: 10, verbose: 0 });
  console.log(`ResidualRegressor: loss ${first(h)} -> ${last(h)}; evaluate ${residual.evaluate(x, y).dataSync()[0].toFixed(4)}`);
  residual.summary();

  // The reconstructing model with its extra loss and metric.
  const recon = new ReconstructingRegressor(1);
  recon.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  h = await recon.fit(x, y, { epochs: 10, verbose: 0 });
  console.log(`ReconstructingRegressor: loss ${first(h)} -> ${last(h)}, reconstruction_error ${first(h, 'reconstruction_error')} -> ${last(h, 'reconstruction_error')}`);
  if (!(h.history.loss[9] < h.history.loss[0])) throw new Error('training did not lower the loss');
}

main().catch((e) => { console.error(e); process.exit(1); });
