'use strict';
// Custom ops, kernels and gradients:
//  1. an op written with other ops (its gradient comes for free);
//  2. a kernel registered under a new name with registerKernel and run with
//     tf.engine().runKernel, plus its gradient registered with registerGradient;
//  3. a gradient given directly for an arbitrary function with tf.customGrad;
// and the kernel of (2) used by a custom layer trained with fit().
//
//   node examples/custom-op-kernel-gradient.js

const tf = require('..');

// 1. An op made of ops: the "squared hinge" of x, max(0, 1 - x)².
function squaredHinge(x) {
  return tf.tidy(() => tf.square(tf.relu(tf.sub(1, x))));
}

// 2. A kernel: Swish (x · sigmoid(x)) computed in one go, and its gradient.
tf.registerKernel({
  kernelName: 'Swish',
  backendName: tf.getBackend(),
  // Kernels work on raw data: read the input's values, write the output's.
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs;
    const v = backend.readSync(x.dataId);
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i] / (1 + Math.exp(-v[i]));
    return backend.makeTensorInfo(x.shape, 'float32', out);
  },
});
tf.registerGradient({
  kernelName: 'Swish',
  inputsToSave: ['x'],
  // d/dx x·σ(x) = σ(x) · (1 + x·(1 − σ(x)))
  gradFunc: (dy, [x]) => ({
    x: () => tf.tidy(() => {
      const s = tf.sigmoid(x);
      return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
    }),
  }),
});
const swish = (x) => tf.engine().runKernel('Swish', { x });

// 3. customGrad: log(1 + eˣ) with a gradient written out (σ(x)).
const softplus = tf.customGrad((x, save) => {
  save([x]);
  return { value: tf.log1p(tf.exp(x)), gradFunc: (dy, [sx]) => [tf.mul(dy, tf.sigmoid(sx))] };
});

class SwishLayer extends tf.layers.Layer {
  call(inputs) { return swish(Array.isArray(inputs) ? inputs[0] : inputs); }
  static get className() { return 'SwishLayer'; }
}

function numericGrad(f, xs, eps = 1e-3) {
  return xs.map((v) => (f(v + eps) - f(v - eps)) / (2 * eps));
}

async function main() {
  const pts = [-2, -0.5, 0.3, 1.5];
  const x = tf.tensor1d(pts);
  const check = (name, op, scalarF) => {
    const g = Array.from(tf.grad((t) => tf.sum(op(t)))(x).dataSync());
    const n = numericGrad(scalarF, pts);
    const err = Math.max(...g.map((v, i) => Math.abs(v - n[i])));
    console.log(`${name.padEnd(14)} value ${Array.from(op(x).dataSync()).map((v) => v.toFixed(4)).join(', ')}  grad ${g.map((v) => v.toFixed(4)).join(', ')}  (numeric error ${err.toExponential(1)})`);
    if (err > 1e-2) throw new Error(`${name}: analytic and numeric gradients differ`);
  };
  const sig = (v) => 1 / (1 + Math.exp(-v));
  check('squaredHinge', squaredHinge, (v) => Math.max(0, 1 - v) ** 2);
  check('Swish kernel', swish, (v) => v * sig(v));
  check('customGrad', softplus, (v) => Math.log1p(Math.exp(v)));

  // The registered kernel inside a model trained on a worker thread.
  const xs = tf.randomUniform([256, 4], -1, 1, 'float32', 5);
  const ys = tf.sum(tf.square(xs), -1, true);
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 16, inputShape: [4] }));
  model.add(new SwishLayer({}));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  const h = await model.fit(xs, ys, { epochs: 20, batchSize: 32, verbose: 0 });
  const loss = h.history.loss;
  console.log(`model with the Swish kernel: loss ${loss[0].toFixed(4)} -> ${loss[loss.length - 1].toFixed(4)}`);
  if (!(loss[loss.length - 1] < loss[0] / 2)) throw new Error('the model did not learn');
}

main().catch((e) => { console.error(e); process.exit(1); });
