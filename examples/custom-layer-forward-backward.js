'use strict';
// A custom layer with an explicit forward pass (its `call`) and an explicit backward pass
// (the gradient given with tf.customGrad), trained inside fit() like any other layer.
//
// The layer is a "soft clip": y = x for |x| ≤ c and c·sign(x) beyond. Its true derivative is 0
// outside [-c, c], which would stop learning there; the backward pass here lets a small
// fraction (leak) of the gradient through instead — a straight-through style estimator.
//
//   node examples/custom-layer-forward-backward.js

const tf = require('..');

class SoftClip extends tf.layers.Layer {
  constructor(config) {
    super(config);
    this.limit = config.limit == null ? 1 : config.limit;
    this.leak = config.leak == null ? 0.1 : config.leak;
    const { limit, leak } = this;
    this.clip = tf.customGrad((x, save) => {
      save([x]);
      return {
        // Forward: the clipped value.
        value: tf.clipByValue(x, -limit, limit),
        // Backward: 1 inside the limits, `leak` outside.
        gradFunc: (dy, [saved]) => {
          const inside = tf.lessEqual(tf.abs(saved), limit);
          return [tf.mul(dy, tf.where(inside, tf.onesLike(saved), tf.fill(saved.shape, leak)))];
        },
      };
    });
  }
  call(inputs) { return this.clip(Array.isArray(inputs) ? inputs[0] : inputs); }
  getConfig() { return { ...super.getConfig(), limit: this.limit, leak: this.leak }; }
  static get className() { return 'SoftClip'; }
}

async function main() {
  // The backward pass on its own: d/dx sum(softClip(x)) at x = [-3, 0.5, 2].
  const layer = new SoftClip({ limit: 1, leak: 0.1 });
  const g = tf.grad((x) => tf.sum(layer.apply(x)))(tf.tensor1d([-3, 0.5, 2]));
  console.log('forward  ', Array.from(layer.apply(tf.tensor1d([-3, 0.5, 2])).dataSync()));
  console.log('backward ', Array.from(g.dataSync()).map((v) => +v.toFixed(3)));

  // Inside a model: learn y = 0.5·(x0 - x1), with the clip after the first layer.
  const x = tf.randomUniform([512, 2], -2, 2, 'float32', 3);
  const y = tf.tidy(() => tf.mul(tf.sub(x.slice([0, 0], [-1, 1]), x.slice([0, 1], [-1, 1])), 0.5));
  const model = tf.sequential();
  model.add(tf.layers.dense({ units: 8, inputShape: [2] }));
  model.add(new SoftClip({ limit: 1, leak: 0.1 }));
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  const h = await model.fit(x, y, { epochs: 15, batchSize: 32, verbose: 0 });
  const loss = h.history.loss;
  console.log(`loss ${loss[0].toFixed(4)} -> ${loss[loss.length - 1].toFixed(4)}`);
  if (!(loss[loss.length - 1] < loss[0] / 2)) throw new Error('the model did not learn');
}

main().catch((e) => { console.error(e); process.exit(1); });
