'use strict';
// "Using fitDataset() to train models with tf.data.Dataset objects", from the TensorFlow.js
// "Layers API for Keras users" guide: a model trains on a Dataset with its own method,
// fitDataset() (fit() takes tensors only). Here the guide's y = 2x - 1 model learns from a
// generator dataset, validates on an array dataset, and is scored with evaluateDataset().

const tf = require('..');

async function main() {
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 1, inputShape: [1] }));
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });

  // Training data from a generator: one {xs, ys} sample at a time, shuffled and batched.
  function* samples() {
    for (let i = 0; i < 64; i++) {
      const x = i / 32 - 1;
      yield { xs: [x], ys: [2 * x - 1] };
    }
  }
  const train = tf.data.generator(samples).shuffle(64, 'example').batch(16);

  // Validation data from arrays, zipped into {xs, ys} elements.
  const vx = [-0.9, -0.3, 0.2, 0.7];
  const validation = tf.data.zip({
    xs: tf.data.array(vx.map((x) => [x])),
    ys: tf.data.array(vx.map((x) => [2 * x - 1])),
  }).batch(4);

  const history = await model.fitDataset(train, {
    epochs: 40,
    validationData: validation,
    verbose: 0,
    callbacks: { onEpochEnd: (epoch, logs) => { if ((epoch + 1) % 10 === 0) console.log(`epoch ${epoch + 1}: loss=${logs.loss.toFixed(5)} val_loss=${logs.val_loss.toFixed(5)}`); } },
  });
  console.log(`history keys: ${Object.keys(history.history).join(', ')}`);

  const score = await model.evaluateDataset(validation);
  console.log(`evaluateDataset loss: ${score.dataSync()[0].toFixed(6)}`);
  const prediction = model.predict(tf.tensor2d([[5]], [1, 1]));
  prediction.print();
  const p = prediction.dataSync()[0];
  if (Math.abs(p - 9) > 0.1) throw new Error(`expected a prediction near 9, got ${p}`);
  model.dispose();
}

main().catch((e) => { console.error(e); process.exit(1); });
