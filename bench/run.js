#!/usr/bin/env node
'use strict';
// Micro-benchmarks: ferrograd vs @tensorflow/tfjs (cpu backend) vs
// @tensorflow/tfjs-backend-wasm. See bench/README.md.
//
//   node bench/run.js            # full run (about a minute or two)
//   node bench/run.js --smoke    # every workload once at tiny sizes (CI)
//   node bench/run.js --full     # never shrink workloads for slow libraries
//   node bench/run.js --libs=ferrograd,tfjs-wasm --only=matMul --json=bench/out/r.json

const os = require('os');
const fs = require('fs');
const path = require('path');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : null;
};
const SMOKE = flag('smoke');
const FULL = flag('full');
const ONLY = opt('only') ? new RegExp(opt('only'), 'i') : null;
const LIBS = opt('libs') ? opt('libs').split(',') : null;
const JSON_OUT = opt('json');

// Time limits (ms). A measurement repeats until BUDGET is used up (at least one
// timed run). A run that would take longer than CAP is shrunk along its
// batch/row dimension (by powers of two) and its time extrapolated linearly to
// the full size (marked "~" in the table) unless --full is given.
const BUDGET = SMOKE ? 0 : 2000;
const CAP = 2500;
const MAX_REPS = 20;

const now = () => performance.now();

// ---------------------------------------------------------------------------
// Libraries. Each: {name, tf | null, error, activate()}.

async function loadLibs() {
  const libs = [];
  const want = (n) => !LIBS || LIBS.includes(n);

  if (want('ferrograd')) {
    const lib = { name: 'ferrograd', tf: null, error: null, activate: async () => {} };
    try {
      lib.tf = require('..');
      if (typeof lib.tf.ready === 'function') await lib.tf.ready();
      lib.version = lib.tf.version && (lib.tf.version.ferrograd || lib.tf.version.tfjs || String(lib.tf.version));
    } catch (e) {
      lib.error = `failed to load: ${firstLine(e)}`;
    }
    libs.push(lib);
  }

  // One tfjs instance, two backends, switched with setBackend between runs.
  let tfjs = null;
  let tfjsError = null;
  try {
    tfjs = require('@tensorflow/tfjs');
  } catch (e) {
    tfjsError = `failed to load @tensorflow/tfjs: ${firstLine(e)}`;
  }
  if (tfjs && want('tfjs-wasm')) {
    try {
      require('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      /* reported when activating */
    }
  }
  for (const backend of ['cpu', 'wasm']) {
    const name = `tfjs-${backend}`;
    if (!want(name)) continue;
    const lib = {
      name,
      tf: null,
      error: tfjsError,
      activate: async () => {
        const ok = await tfjs.setBackend(backend);
        await tfjs.ready();
        if (!ok || tfjs.getBackend() !== backend) throw new Error(`setBackend('${backend}') failed`);
      },
    };
    if (tfjs) {
      try {
        await lib.activate();
        lib.tf = tfjs;
        lib.version = tfjs.version.tfjs;
        if (backend === 'wasm') {
          const env = tfjs.env();
          lib.note = `SIMD ${await env.getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}`;
        }
      } catch (e) {
        lib.error = `backend unavailable: ${firstLine(e)}`;
      }
    }
    libs.push(lib);
  }
  return libs;
}

function firstLine(e) {
  return String((e && e.message) || e).split('\n')[0].slice(0, 160);
}

// ---------------------------------------------------------------------------
// Deterministic input data (plain JS, so only tf.tensor is needed).

function randomData(n, seed = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

const tensor = (tf, shape, seed) => tf.tensor(randomData(shape.reduce((a, b) => a * b, 1), seed), shape, 'float32');

function disposeAll(xs) {
  for (const x of xs) if (x && typeof x.dispose === 'function') x.dispose();
}

// ---------------------------------------------------------------------------
// Workloads. setup(tf, scale) returns {run(), dispose(), ops}, where run()
// performs `ops` operations and forces completion with dataSync; `scale` in
// (0, 1] shrinks the leading (batch / row) dimension for slow libraries.
// metric(t) turns the best time per op (ms) into the reported numbers.

const SIZES = SMOKE
  ? { mm: [32, 64, 128], elem: 1 << 12, conv: [2, 8, 8, 4, 8], overhead: 200, elemBatch: 1 }
  : { mm: [256, 1024, 2048], elem: 1 << 20, conv: [64, 28, 28, 16, 32], overhead: 20000, elemBatch: 10 };

function matMulWorkload(n) {
  return {
    name: `matMul ${n}×${n}×${n}`,
    unit: 'GFLOP/s',
    scalable: true,
    setup(tf, scale) {
      const m = Math.max(1, Math.round(n * scale));
      const a = tensor(tf, [m, n], 1);
      const b = tensor(tf, [n, n], 2);
      return {
        desc: m === n ? null : `${m}×${n}·${n}×${n}`,
        scale: m / n,
        ops: 1,
        flops: 2 * m * n * n,
        run() {
          const c = tf.matMul(a, b);
          c.dataSync();
          c.dispose();
        },
        dispose: () => disposeAll([a, b]),
      };
    },
    // higher is better
    value: (ms, s) => s.flops / (ms * 1e6),
    fmt: (v, ms) => `${fmtNum(v)} (${fmtMs(ms)})`,
  };
}

function elementwiseWorkload(op) {
  const n = SIZES.elem;
  const reads = op === 'add' ? 2 : 1;
  return {
    name: `${op} ${fmtCount(n)} f32`,
    unit: 'ms · GB/s',
    scalable: false,
    setup(tf) {
      const a = tensor(tf, [n], 3);
      const b = tensor(tf, [n], 4);
      const k = SIZES.elemBatch;
      const f = op === 'add' ? () => tf.add(a, b) : op === 'relu' ? () => tf.relu(a) : () => tf.exp(a);
      return {
        ops: k,
        bytes: (reads + 1) * 4 * n,
        run() {
          // k back-to-back ops; read back only the last result so the copy
          // out of the library does not dominate.
          let r = null;
          for (let i = 0; i < k; i++) {
            if (r) r.dispose();
            r = f();
          }
          r.dataSync();
          r.dispose();
        },
        dispose: () => disposeAll([a, b]),
      };
    },
    value: (ms, s) => s.bytes / (ms * 1e6), // GB/s, higher is better
    fmt: (v, ms) => `${fmtMs(ms)} · ${fmtNum(v)} GB/s`,
  };
}

function convWorkload(backward) {
  const [N, H, W, C, F] = SIZES.conv;
  return {
    name: `conv2d ${backward ? 'fwd+bwd' : 'fwd'} ${N}×${H}×${W}×${C} * 3×3×${C}×${F}`,
    unit: 'ms',
    scalable: true,
    setup(tf, scale) {
      const n = Math.max(1, Math.round(N * scale));
      const x = tensor(tf, [n, H, W, C], 5);
      const f = tensor(tf, [3, 3, C, F], 6);
      const dy = backward ? tensor(tf, [n, H, W, F], 7) : null;
      const conv = (xx, ff) => tf.conv2d(xx, ff, 1, 'same');
      const g = backward ? tf.grads(conv) : null;
      return {
        desc: n === N ? null : `batch ${n}`,
        scale: n / N,
        ops: 1,
        run() {
          if (backward) {
            const [gx, gf] = g([x, f], dy);
            gx.dataSync();
            gf.dataSync();
            disposeAll([gx, gf]);
          } else {
            const y = conv(x, f);
            y.dataSync();
            y.dispose();
          }
        },
        dispose: () => disposeAll([x, f, dy]),
      };
    },
    value: (ms) => ms, // lower is better
    fmt: (v) => fmtMs(v),
  };
}

function overheadWorkload() {
  const m = SIZES.overhead;
  return {
    name: 'tf.add overhead, 2-element tensors',
    unit: 'µs/op',
    scalable: false,
    setup(tf) {
      const a = tf.tensor([1, 2], [2], 'float32');
      const b = tf.tensor([3, 4], [2], 'float32');
      return {
        ops: m,
        run() {
          for (let i = 0; i < m; i++) tf.add(a, b).dispose();
          const r = tf.add(a, b);
          r.dataSync();
          r.dispose();
        },
        dispose: () => disposeAll([a, b]),
      };
    },
    value: (ms) => ms * 1000, // µs per op, lower is better
    fmt: (v) => `${fmtNum(v)} µs`,
  };
}

const WORKLOADS = [
  ...SIZES.mm.map(matMulWorkload),
  elementwiseWorkload('add'),
  elementwiseWorkload('relu'),
  elementwiseWorkload('exp'),
  convWorkload(false),
  convWorkload(true),
  overheadWorkload(),
].filter((w) => !ONLY || ONLY.test(w.name));

// ---------------------------------------------------------------------------
// Measurement.

function timeOnce(s) {
  const t0 = now();
  s.run();
  return now() - t0;
}

/** Best-of-N timing within the budget. Returns best ms per op. */
function measure(s, { warm }) {
  if (SMOKE) return timeOnce(s) / s.ops;
  if (!warm) timeOnce(s); // warm-up (JIT, allocator, thread pools)
  let best = Infinity;
  const t0 = now();
  for (let reps = 0; reps < MAX_REPS; reps++) {
    best = Math.min(best, timeOnce(s));
    if (now() - t0 > BUDGET) break;
  }
  return best / s.ops;
}

async function runOne(lib, w) {
  if (!lib.tf) return { error: lib.error };
  const tf = lib.tf;
  let s = null;
  try {
    await lib.activate();
    let scale = 1;
    let warm = false;
    if (w.scalable && !SMOKE && !FULL) {
      // Start at 1/64 of the batch/row dimension and double while a run is
      // expected to stay under CAP; the last probe doubles as the warm-up.
      scale = 1 / 64;
      s = w.setup(tf, scale);
      let t = timeOnce(s);
      if (t < 100) t = timeOnce(s); // the very first run includes JIT warm-up
      while (scale < 1 && t * 2 <= CAP) {
        s.dispose();
        s = null;
        scale *= 2;
        s = w.setup(tf, scale);
        t = timeOnce(s);
      }
      warm = true;
    }
    if (!s) s = w.setup(tf, scale);
    const eff = s.scale || 1;
    const msPerOp = measure(s, { warm }) / eff; // extrapolate to full size
    const value = w.value(msPerOp, scaledStats(s, eff));
    return { ms: msPerOp, value, approx: eff < 1 ? s.desc : null };
  } catch (e) {
    return { error: firstLine(e) };
  } finally {
    if (s) {
      try {
        s.dispose();
      } catch (e) {
        /* ignore */
      }
    }
  }
}

// Work counts of a shrunken run, scaled back up to the full size.
function scaledStats(s, scale) {
  const out = Object.assign({}, s);
  if (out.flops) out.flops /= scale;
  if (out.bytes) out.bytes /= scale;
  return out;
}

function memoryBandwidth() {
  const n = SMOKE ? 1 << 20 : 1 << 24; // 4 MB or 64 MB per array
  const src = new Float32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  const dst = new Float32Array(n);
  let best = Infinity;
  for (let r = 0; r < (SMOKE ? 2 : 10); r++) {
    const t0 = now();
    dst.set(src);
    best = Math.min(best, now() - t0);
  }
  if (dst[n - 1] !== n - 1) throw new Error('copy check failed');
  return { bytes: 4 * n, gbps: (2 * 4 * n) / (best * 1e6) };
}

// ---------------------------------------------------------------------------
// Formatting.

function fmtNum(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

function fmtMs(ms) {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 2)} ms`;
  return `${(ms * 1000).toFixed(ms * 1000 >= 100 ? 0 : 1)} µs`;
}

function fmtCount(n) {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

function ratio(mine, peer) {
  if (!mine || !peer || mine.error || peer.error) return 'n/a';
  // Speed-up of ferrograd over the peer: >1 means ferrograd is faster.
  const r = peer.ms / mine.ms;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

function table(rows, headers) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------

async function main() {
  const tStart = now();
  const libs = await loadLibs();
  const mem = memoryBandwidth();

  console.log(`# ferrograd benchmark${SMOKE ? ' (smoke)' : ''}`);
  console.log('');
  console.log(`- machine: ${os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown cpu'}, ${os.cpus().length} logical CPUs, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()} ${os.arch()}, node ${process.version}`);
  console.log(`- memory bandwidth (JS Float32Array copy of ${fmtCount(mem.bytes / 4)} floats, read+write): ${fmtNum(mem.gbps)} GB/s`);
  for (const lib of libs) {
    const status = lib.tf ? `${lib.version || 'loaded'}${lib.note ? ` (${lib.note})` : ''}` : `n/a — ${lib.error}`;
    console.log(`- ${lib.name}: ${status}`);
  }
  console.log('');

  const results = {};
  for (const w of WORKLOADS) {
    results[w.name] = {};
    for (const lib of libs) {
      results[w.name][lib.name] = await runOne(lib, w);
      if (process.env.BENCH_VERBOSE) console.error(w.name, lib.name, results[w.name][lib.name]);
    }
  }

  const notes = [];
  const noteRef = (text) => {
    let i = notes.indexOf(text);
    if (i < 0) {
      notes.push(text);
      i = notes.length - 1;
    }
    return `[${i + 1}]`;
  };
  const names = libs.map((l) => l.name);
  const peers = names.filter((n) => n !== 'ferrograd');
  const hasFerro = names.includes('ferrograd');
  const headers = ['op', ...names, ...(hasFerro ? peers.map((p) => `ferrograd vs ${p}`) : [])];
  const rows = WORKLOADS.map((w) => {
    const r = results[w.name];
    const cells = names.map((n) => {
      const x = r[n];
      if (x.error) return `n/a ${noteRef(`${n}: ${x.error}`)}`;
      const s = w.fmt(x.value, x.ms);
      return x.approx ? `~${s} ${noteRef(`~ measured at ${x.approx}, time extrapolated to full size`)}` : s;
    });
    const ratios = hasFerro ? peers.map((p) => ratio(r.ferrograd, r[p])) : [];
    return [`${w.name} (${w.unit})`, ...cells, ...ratios];
  });
  console.log(table(rows, headers));
  console.log('');
  if (hasFerro) console.log('Ratios are speed-ups of ferrograd over the peer (peer time / ferrograd time; >1 = ferrograd faster).');
  notes.forEach((t, i) => console.log(`[${i + 1}] ${t}`));
  console.log('');
  console.log(`total time ${((now() - tStart) / 1000).toFixed(1)} s`);

  if (JSON_OUT) {
    fs.mkdirSync(path.dirname(path.resolve(JSON_OUT)), { recursive: true });
    fs.writeFileSync(JSON_OUT, JSON.stringify({
      date: new Date().toISOString(),
      smoke: SMOKE,
      machine: { cpu: os.cpus()[0] && os.cpus()[0].model, cpus: os.cpus().length, memBandwidthGBps: mem.gbps },
      libs: libs.map((l) => ({ name: l.name, version: l.version || null, error: l.error, note: l.note || null })),
      results,
    }, null, 2));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
