'use strict';
// Golden optimizer trajectories from real @tensorflow/tfjs (cpu backend): for each optimizer
// and configuration, the variable after each of three minimize() steps of a fixed loss, and
// the names of its slot weights. Writes __test__/fixtures/optimizers.json.

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const CASES = [
  ['sgd', [0.1]],
  ['momentum', [0.1, 0.9]],
  ['momentum', [0.05, 0.8, true]],
  ['rmsprop', [0.01]],
  ['rmsprop', [0.01, 0.8, 0.5, 1e-6, true]],
  ['adam', [0.1]],
  ['adam', [0.01, 0.8, 0.9, 1e-5]],
  ['adamax', [0.1]],
  ['adagrad', [0.1]],
  ['adadelta', [1.0]],
];

async function main() {
  await tf.setBackend('cpu');
  const init = [1.5, -0.5, 2.0, 0.25];
  const target = tf.tensor1d([0.3, 0.1, -1.0, 0.5]);
  const scale = tf.tensor1d([1, 2, 0.5, 3]);
  const out = { init, target: Array.from(target.dataSync()), scale: Array.from(scale.dataSync()), cases: [] };
  for (const [name, args] of CASES) {
    const opt = tf.train[name](...args);
    const w = tf.variable(tf.tensor1d(init), true, `w_${out.cases.length}`);
    const steps = [];
    for (let i = 0; i < 3; i++) {
      opt.minimize(() => tf.sum(tf.mul(tf.square(tf.sub(w, target)), scale)));
      steps.push(Array.from(w.dataSync()));
    }
    let slotNames = null;
    try {
      slotNames = (await opt.getWeights()).map((x) => x.name.replace(/^w_\d+/, 'w'));
    } catch (e) {
      slotNames = null;
    }
    out.cases.push({ name, args, steps, slotNames });
    w.dispose();
    opt.dispose();
  }
  const file = path.join(__dirname, '..', '__test__', 'fixtures', 'optimizers.json');
  fs.writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
  console.log(`wrote ${out.cases.length} optimizer cases to ${path.relative(process.cwd(), file)}`);
}

main();
