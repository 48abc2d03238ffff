'use strict';
// The JavaScript examples of the TensorFlow.js "Layers API for Keras users" guide, run as they
// are written there (with tf.train.sgd taking a number, as in real tfjs).

const tf = require('..');

async function main() {
  // Build and compile a model; generate synthetic data; train; predict.
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, inputShape: [1] }));
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const xs = tf.tensor2d([[1], [2], [3], [4]], [4, 1]);
  const ys = tf.tensor2d([[1], [3], [5], [7]], [4, 1]);
  await model.fit(xs, ys, { epochs: 1000, verbose: 0 });
  const prediction = model.predict(tf.tensor2d([[5]], [1, 1]));
  prediction.print();
  const p = prediction.dataSync()[0];
  if (Math.abs(p - 9) > 0.5) throw new Error(`expected a prediction near 9, got ${p}`);

  // Layers are created by factories with a single config object (lowerCamelCase keys).
  tf.layers.dense({ units: 1, inputShape: [1] });

  // Symbolic and imperative apply().
  const myInput = tf.input({ shape: [2, 4] });
  const flatten = tf.layers.flatten();
  console.log(JSON.stringify(flatten.apply(myInput).shape));
  flatten.apply(tf.ones([2, 3, 4])).print();

  // Optimizers live under tf.train.
  const mySGD = tf.train.sgd(0.2);
  const m2 = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  m2.compile({ optimizer: mySGD, loss: 'meanSquaredError' });
  await m2.fit(xs, ys, { epochs: 5, verbose: 0 });

  // A functional model with two inputs and two outputs.
  const a = tf.input({ shape: [4] });
  const b = tf.input({ shape: [4] });
  const shared = tf.layers.dense({ units: 3, activation: 'relu' });
  const m3 = tf.model({ inputs: [a, b], outputs: [shared.apply(a), tf.layers.dense({ units: 1 }).apply(shared.apply(b))] });
  const outs = m3.predict([tf.ones([2, 4]), tf.ones([2, 4])]);
  console.log(outs.map((o) => JSON.stringify(o.shape)).join(' '));
  m3.summary();

  // Saving and loading: tf.loadLayersModel reads tfjs's model.json (here from a file; an
  // http(s) URL such as 'https://foo.bar/model.json' loads the same way) and resolves to a Model.
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'ferrograd-example-'));
  await m2.save(`file://${dir}`);
  const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
  const probe = tf.tensor2d([[5]], [1, 1]);
  console.log('saved and reloaded model predicts', loaded.predict(probe).dataSync()[0].toFixed(4),
    'as the original does', m2.predict(probe).dataSync()[0].toFixed(4));
  require('node:fs').rmSync(dir, { recursive: true, force: true });

  model.dispose();
  m2.dispose();
}

main().catch((e) => { console.error(e); process.exit(1); });
