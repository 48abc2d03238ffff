#!/usr/bin/env node
'use strict';
// Generates __test__/fixtures/layers.json: for each model of __test__/layer-cases.js, built
// with real @tensorflow/tfjs (cpu backend) and fixed weights,
//   - the input, target and weights (names, shapes, values);
//   - the inference output (model.predict) and, for cases with `training`, the output of
//     model.apply(x, {training: true}) and the weights after it (batch-norm moving statistics);
//   - the loss and its gradients w.r.t. every trainable weight (tf.variableGrads around
//     model.apply(x, {training: true}));
//   - for each optimizer of the case, the weights and History after
//     model.fit(x, y, {epochs: 3, batchSize, shuffle: false, verbose: 0}), and what
//     model.evaluate(x, y) then reports.
// Where tfjs gets a layer wrong or lacks it, the case's `reference` (tfjs ops) supplies the
// expected values instead (see __test__/layer-cases.js).
//
//   node scripts/gen-layer-fixtures.js

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const H = require('../__test__/helpers.js');
const L = require('../__test__/layer-cases.js');

const OUT = path.join(__dirname, '..', '__test__', 'fixtures', 'layers.json');

let builds = 0;
const prefix = (c) => `${c.name}${builds++}`;

const enc = (t) => H.fromTensor(t);
const weightValues = (model) => model.getWeights().map((w) => H.encodeValues(w.dataSync(), 'float32'));

/** A model tfjs cannot build: output and gradients of the case's tfjs-ops formula. */
function runReference(c) {
  const fx = { name: c.name, fits: [] };
  const ref = c.reference;
  fx.weights = ref.weights.map(([name, shape], i) => ({ name, shape, values: L.weightValues(c.name, i, name, shape) }));
  fx.x = { shape: c.input.shape, dtype: c.input.dtype, values: L.makeValues(`${c.name}/x`, c.input) };
  const x = L.inputTensor(tf, fx);
  const vars = fx.weights.map((w) => tf.variable(tf.tensor(w.values, w.shape), true, `${c.name}/${w.name}`));
  const out = ref.forward(tf, vars, x);
  fx.predict = enc(out);
  fx.y = L.targetValues(`${c.name}/y`, out.shape, c.loss);
  const y = L.targetTensor(tf, fx);
  const { value, grads } = tf.variableGrads(() => L.lossValue(tf, c, y, ref.forward(tf, vars, x)), vars);
  fx.loss = value.dataSync()[0];
  fx.grads = vars.map((v) => enc(grads[v.name]));
  return fx;
}

async function runCase(c) {
  if (c.reference && typeof c.reference === 'object') return runReference(c);
  const fx = { name: c.name };
  // Weights: drawn by name and shape from the model tfjs builds.
  const p0 = prefix(c);
  const model = c.build(tf, p0);
  const names = L.weightNames(model, p0);
  fx.weights = model.weights.map((w, i) => ({ name: names[i], shape: w.shape.slice(), values: L.weightValues(c.name, i, names[i], w.shape) }));
  model.setWeights(fx.weights.map((w) => tf.tensor(w.values, w.shape)));
  fx.x = { shape: c.input.shape, dtype: c.input.dtype, values: L.makeValues(`${c.name}/x`, c.input) };
  const x = L.inputTensor(tf, fx);
  fx.predict = enc(typeof c.reference === 'function' ? c.reference(tf, model, x) : model.predict(x));
  const outShape = fx.predict.shape;
  fx.y = L.targetValues(`${c.name}/y`, outShape, c.loss);
  const y = L.targetTensor(tf, fx);

  if (c.training) {
    const m = L.buildWithWeights(tf, c, fx, prefix(c));
    const out = m.apply(x, { training: true });
    fx.applyTraining = enc(out);
    fx.weightsAfterTraining = weightValues(m);
  }

  fx.fits = [];
  if (c.noGradients) return fx;
  {
    const p = prefix(c);
    const m = L.buildWithWeights(tf, c, fx, p);
    const { value, grads } = L.gradients(tf, c, m, x, y);
    fx.loss = value.dataSync()[0];
    fx.grads = grads.map(enc);
  }

  for (const spec of c.fit) {
    const p = prefix(c);
    const m = L.buildWithWeights(tf, c, fx, p);
    const h = await L.fitModel(tf, c, m, x, y, spec);
    fx.fits.push({
      optimizer: spec,
      history: h.history,
      weights: weightValues(m),
      evaluate: L.evaluateModel(tf, c, m, x, y),
    });
  }
  return fx;
}

async function main() {
  await tf.setBackend('cpu');
  const cases = [];
  for (const c of L.CASES) {
    cases.push(await runCase(c));
    process.stdout.write(`${c.name} `);
  }
  const out = { generator: 'scripts/gen-layer-fixtures.js', tfjs: tf.version.tfjs, cases };
  fs.writeFileSync(OUT, JSON.stringify(out) + '\n');
  console.log(`\nwrote ${cases.length} layer cases to ${path.relative(process.cwd(), OUT)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
