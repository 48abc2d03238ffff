'use strict';
// Trains a small CNN on the real MNIST digits and reports test accuracy, then shows a few
// predictions next to the true labels. `npm run demo`.

const tf = require('..');
const mnist = require('./mnist');

async function main() {
  const t0 = Date.now();
  const train = mnist.load('train');
  const test = mnist.load('test');
  const xTrain = tf.tensor4d(train.images, [train.n, 28, 28, 1]);
  const yTrain = tf.oneHot(tf.tensor1d(train.labels, 'int32'), 10).cast('float32');
  const xTest = tf.tensor4d(test.images, [test.n, 28, 28, 1]);
  const yTest = tf.oneHot(tf.tensor1d(test.labels, 'int32'), 10).cast('float32');
  console.log(`MNIST: ${train.n} training and ${test.n} test images (${Date.now() - t0} ms to load)`);

  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 64, activation: 'relu' }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  model.summary();
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const epochs = Number(process.env.DEMO_EPOCHS || 3);
  const started = Date.now();
  await model.fit(xTrain, yTrain, { epochs, batchSize: 64, validationSplit: 0.05 });
  const seconds = (Date.now() - started) / 1000;

  const [loss, acc] = model.evaluate(xTest, yTest, { batchSize: 1000 });
  console.log(`\ntest loss ${loss.dataSync()[0].toFixed(4)}, test accuracy ${(acc.dataSync()[0] * 100).toFixed(2)}% ` +
    `after ${epochs} epochs in ${seconds.toFixed(1)} s`);

  const k = 12;
  const probs = model.predict(xTest.slice([0, 0, 0, 0], [k, 28, 28, 1]));
  const predicted = probs.argMax(-1).dataSync();
  console.log('\nprediction  true label');
  for (let i = 0; i < k; i++) console.log(`    ${predicted[i]}           ${test.labels[i]}${predicted[i] === test.labels[i] ? '' : '   ✗'}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
