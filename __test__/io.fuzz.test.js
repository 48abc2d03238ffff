'use strict';
// Seeded random corruptions of tfjs model files: model.json text cut or garbled, values in its
// topology and weights manifest replaced, removed or repeated, weights.bin bytes changed, cut or
// extended. Every load must either produce a model or reject with an Error, never crash the
// process or hang.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('..');
const { defineScaledDense } = require('./fixtures/tfjs-models/models');
const { mulberry32 } = require('./helpers');

tf.serialization.registerClass(defineScaledDense(tf));

const FIXTURES = path.join(__dirname, 'fixtures', 'tfjs-models');
const BASES = ['mlp', 'functional', 'lstm', 'custom', 'keras_uint8'];
const MUTATIONS = 300;


const VALUES = [null, true, false, 0, -1, 1, 2, 3, 2.5, 1e6, 4e9, -1e9, 1e300, '', 'x', 'relu', 'float32', 'int32', 'same',
  'Dense', [], {}, [1], [null, 2], [0, 0], [[['x', 0, 0, {}]]], { class_name: 'Dense', config: {} }, { className: 'Zeros' }];

/** Every [parent, key] in a JSON tree. */
function slots(root) {
  const out = [];
  const walk = (v) => {
    if (v === null || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      out.push([v, k]);
      walk(v[k]);
    }
  };
  walk(root);
  return out;
}

function mutateJSON(json, rand) {
  const all = slots(json);
  const [parent, key] = all[Math.floor(rand() * all.length)];
  const kind = Math.floor(rand() * 4);
  if (kind === 0) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
    return `delete ${key}`;
  }
  if (kind === 1 && Array.isArray(parent)) {
    parent.splice(Number(key), 0, JSON.parse(JSON.stringify(parent[key])));
    return `repeat [${key}]`;
  }
  const value = VALUES[Math.floor(rand() * VALUES.length)];
  parent[key] = JSON.parse(JSON.stringify(value));
  return `${key} = ${JSON.stringify(value)}`;
}

function mutateText(text, rand) {
  const at = Math.floor(rand() * text.length);
  const kind = Math.floor(rand() * 3);
  if (kind === 0) return [text.slice(0, at), `cut at ${at}`];
  if (kind === 1) return [text.slice(0, at) + text.slice(at + 1), `drop char ${at}`];
  const c = '{}[],:"0a-'[Math.floor(rand() * 10)];
  return [text.slice(0, at) + c + text.slice(at + 1), `char ${at} = ${c}`];
}

function mutateBytes(bytes, rand) {
  const kind = Math.floor(rand() * 3);
  if (kind === 0) {
    const out = Buffer.from(bytes);
    for (let i = 0; i < 4; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    return [out, 'flip bytes'];
  }
  if (kind === 1) {
    const n = Math.floor(rand() * bytes.length);
    return [bytes.subarray(0, n), `cut to ${n} bytes`];
  }
  return [Buffer.concat([bytes, Buffer.alloc(1 + Math.floor(rand() * 16), 7)]), 'extend'];
}

test(`${MUTATIONS} seeded corruptions of model files each load or reject with an Error`, { timeout: 300000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrograd-fuzz-'));
  const rand = mulberry32(20240601);
  const outcomes = { loaded: 0, rejected: 0 };
  try {
    for (let i = 0; i < MUTATIONS; i++) {
      const base = BASES[i % BASES.length];
      const dir = path.join(root, `m${i}`);
      fs.cpSync(path.join(FIXTURES, base), dir, { recursive: true });
      const jsonPath = path.join(dir, 'model.json');
      const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
      const binFiles = fs.readdirSync(dir).filter((f) => f.endsWith('.bin'));
      let what;
      const r = rand();
      if (r < 0.6) {
        what = mutateJSON(json, rand);
        if (rand() < 0.3) what += `; ${mutateJSON(json, rand)}`;
        fs.writeFileSync(jsonPath, JSON.stringify(json));
      } else if (r < 0.8) {
        let text;
        [text, what] = mutateText(JSON.stringify(json), rand);
        fs.writeFileSync(jsonPath, text);
      } else {
        const bin = path.join(dir, binFiles[Math.floor(rand() * binFiles.length)]);
        let bytes;
        [bytes, what] = mutateBytes(fs.readFileSync(bin), rand);
        fs.writeFileSync(bin, bytes);
      }
      try {
        const model = await tf.loadLayersModel(`file://${jsonPath}`, { strict: rand() < 0.8 });
        assert.equal(typeof model.predict, 'function', `${base} (${what}): loading gave no model`);
        outcomes.loaded += 1;
        model.dispose();
      } catch (e) {
        assert.ok(e instanceof Error, `${base} (${what}): rejected with ${e} instead of an Error`);
        assert.ok(e.message.length > 0, `${base} (${what}): an empty error message`);
        outcomes.rejected += 1;
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  assert.equal(outcomes.loaded + outcomes.rejected, MUTATIONS);
  // The mutations are strong enough to break most files, mild enough that some still load.
  assert.ok(outcomes.rejected > MUTATIONS / 4 && outcomes.loaded > 10, JSON.stringify(outcomes));
});
