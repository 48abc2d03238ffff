#!/usr/bin/env node
'use strict';
// Training workloads W1–W6 of WORKLOADS.md: ferrograd vs @tensorflow/tfjs (cpu and wasm) in one
// run. Samples/second over whole epochs (fit with shuffle, verbose 0), median of 3 runs after a
// warm-up epoch; predict samples/second; the largest gap of a 5 ms timer during W1's fit.
//
//   node bench/train.js            # full run
//   node bench/train.js --smoke    # tiny sizes, one run each (CI)
//   node bench/train.js --libs=ferrograd --only=W1

const argv = process.argv.slice(2);
const SMOKE = argv.includes('--smoke');
const opt = (name) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : null;
};
const LIBS = opt('libs') ? opt('libs').split(',') : ['ferrograd', 'tfjs-cpu', 'tfjs-wasm'];
const ONLY = opt('only') ? new RegExp(opt('only')) : null;
const RUNS = SMOKE ? 1 : 3;

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomData(n, size, seed) {
  const r = rng(seed);
  const v = new Float32Array(n * size);
  for (let i = 0; i < v.length; i++) v[i] = r() * 2 - 1;
  return v;
}
function oneHot(n, classes, seed) {
  const r = rng(seed);
  const v = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) v[i * classes + Math.floor(r() * classes)] = 1;
  return v;
}

// Per library, a smaller sample count where a full epoch would take minutes.
const WORKLOADS = [
  {
    id: 'W1', name: 'W1 MLP train (samples/s)', samples: { ferrograd: 8192, 'tfjs-cpu': 512, 'tfjs-wasm': 2048 }, batch: 128, epochs: 2,
    build(tf) {
      const m = tf.sequential();
      m.add(tf.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }));
      m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
      m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
      m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
      return m;
    },
    data: (tf, n) => [tf.tensor2d(randomData(n, 784, 1), [n, 784]), tf.tensor2d(oneHot(n, 10, 2), [n, 10])],
  },
  {
    id: 'W1p', name: 'W1 MLP predict (samples/s)', predict: true, samples: { ferrograd: 8192, 'tfjs-cpu': 1024, 'tfjs-wasm': 8192 }, batch: 1024,
    build: (tf) => WORKLOADS[0].build(tf),
    data: (tf, n) => WORKLOADS[0].data(tf, n),
  },
  {
    id: 'W2', name: 'W2 CNN train (samples/s)', samples: { ferrograd: 2048, 'tfjs-cpu': 64, 'tfjs-wasm': 256 }, batch: 64, epochs: 2,
    build(tf) {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
      m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 64, activation: 'relu' }));
      m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
      m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
      return m;
    },
    data: (tf, n) => [tf.tensor4d(randomData(n, 784, 3), [n, 28, 28, 1]), tf.tensor2d(oneHot(n, 10, 4), [n, 10])],
  },
  {
    id: 'W4', name: 'W4 LSTM train (samples/s)', samples: { ferrograd: 1024, 'tfjs-cpu': 128, 'tfjs-wasm': 256 }, batch: 64, epochs: 2,
    build(tf) {
      const m = tf.sequential();
      m.add(tf.layers.lstm({ units: 64, inputShape: [32, 16] }));
      m.add(tf.layers.dense({ units: 1 }));
      m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      return m;
    },
    data: (tf, n) => [tf.tensor3d(randomData(n, 32 * 16, 5), [n, 32, 16]), tf.tensor2d(randomData(n, 1, 6), [n, 1])],
  },
  {
    id: 'W5', name: 'W5 MLP batch 8 (samples/s)', samples: { ferrograd: 2048, 'tfjs-cpu': 256, 'tfjs-wasm': 512 }, batch: 8, epochs: 1,
    build: (tf) => WORKLOADS[0].build(tf),
    data: (tf, n) => WORKLOADS[0].data(tf, n),
  },
  {
    id: 'W6', name: 'W6 MLP + JS layer train (samples/s)', samples: { ferrograd: 8192, 'tfjs-cpu': 512, 'tfjs-wasm': 2048 }, batch: 128, epochs: 2,
    build(tf) {
      class JsRelu extends tf.layers.Layer {
        static get className() { return 'JsRelu'; }
        call(x) { return tf.relu(Array.isArray(x) ? x[0] : x); }
      }
      const m = tf.sequential();
      m.add(tf.layers.dense({ units: 256, inputShape: [784] }));
      m.add(new JsRelu({}));
      m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
      m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
      m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
      return m;
    },
    data: (tf, n) => WORKLOADS[0].data(tf, n),
  },
];

async function loadLib(name) {
  if (name === 'ferrograd') return require('..');
  const tf = require('@tensorflow/tfjs');
  if (name === 'tfjs-wasm') require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(name === 'tfjs-wasm' ? 'wasm' : 'cpu');
  await tf.ready();
  return tf;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(tf, w, lib) {
  const n = SMOKE ? Math.min(64, w.samples[lib]) : w.samples[lib];
  const batch = SMOKE ? Math.min(w.batch, 16) : w.batch;
  const model = w.build(tf);
  const [x, y] = w.data(tf, n);
  if (w.predict) {
    model.predict(x, { batchSize: batch }).dataSync();
    const times = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const out = model.predict(x, { batchSize: batch });
      out.dataSync();
      out.dispose();
      times.push(performance.now() - t0);
    }
    return { value: n / (median(times) / 1000) };
  }
  await model.fit(x, y, { epochs: 1, batchSize: batch, shuffle: true, verbose: 0 });
  const times = [];
  let gap = 0;
  for (let r = 0; r < RUNS; r++) {
    let last = performance.now();
    const timer = setInterval(() => { const t = performance.now(); gap = Math.max(gap, t - last); last = t; }, 5);
    const t0 = performance.now();
    await model.fit(x, y, { epochs: SMOKE ? 1 : w.epochs, batchSize: batch, shuffle: true, verbose: 0 });
    times.push(performance.now() - t0);
    clearInterval(timer);
  }
  const epochs = SMOKE ? 1 : w.epochs;
  return { value: (n * epochs) / (median(times) / 1000), gap };
}

function fmt(v) {
  if (v == null) return 'n/a';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

async function main() {
  const results = {};
  for (const lib of LIBS) {
    let tf;
    try {
      tf = await loadLib(lib);
    } catch (e) {
      for (const w of WORKLOADS) results[`${w.id}/${lib}`] = { error: `load: ${e.message.split('\n')[0]}` };
      continue;
    }
    for (const w of WORKLOADS) {
      if (ONLY && !ONLY.test(w.id)) continue;
      try {
        results[`${w.id}/${lib}`] = await measure(tf, w, lib);
      } catch (e) {
        results[`${w.id}/${lib}`] = { error: e.message.split('\n')[0] };
      }
    }
  }
  const cols = LIBS;
  const rows = [['workload', ...cols, ...cols.filter((c) => c !== 'ferrograd').map((c) => `× ${c}`)]];
  const notes = [];
  for (const w of WORKLOADS) {
    if (ONLY && !ONLY.test(w.id)) continue;
    const cell = (lib) => {
      const r = results[`${w.id}/${lib}`];
      if (!r) return '';
      if (r.error) { notes.push(`${w.id} ${lib}: ${r.error}`); return `n/a [${notes.length}]`; }
      return fmt(r.value);
    };
    const f = results[`${w.id}/ferrograd`];
    const ratio = (lib) => {
      const r = results[`${w.id}/${lib}`];
      return f && !f.error && r && !r.error ? `${(f.value / r.value).toFixed(1)}×` : 'n/a';
    };
    rows.push([w.name, ...cols.map(cell), ...cols.filter((c) => c !== 'ferrograd').map(ratio)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const [k, r] of rows.entries()) {
    console.log('| ' + r.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |');
    if (k === 0) console.log('|' + widths.map((wd) => '-'.repeat(wd + 2)).join('|') + '|');
  }
  const w1 = results['W1/ferrograd'];
  if (w1 && !w1.error) console.log(`\nlargest gap of a 5 ms timer during W1 fit (ferrograd): ${w1.gap.toFixed(1)} ms`);
  notes.forEach((n, i) => console.log(`[${i + 1}] ${n}`));
}

main().catch((e) => { console.error(e); process.exit(1); });
