'use strict';
// Shared helpers for the golden-fixture harness (__test__/ops.fixtures.test.js)
// and the fixture generator (scripts/gen-fixtures.js). Everything here only uses
// the public TensorFlow.js API, so it works with @tensorflow/tfjs and ferrograd.

const RTOL = 1e-4;
const ATOL = 1e-5;

const FLOAT_DTYPES = new Set(['float32']);

// ---------------------------------------------------------------------------
// JSON value encoding. JSON has no NaN/Infinity, so those are stored as the
// strings "NaN", "Infinity" and "-Infinity". Booleans are stored as true/false.

function encodeNumber(v, dtype) {
  if (dtype === 'bool') return !!v;
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (dtype === 'float32') {
    // Shortest decimal that round-trips to the same float32.
    if (Object.is(v, -0)) return 0;
    for (let p = 1; p <= 9; p++) {
      const s = Number(v.toPrecision(p));
      if (Math.fround(s) === v) return s;
    }
  }
  return v;
}

function decodeNumber(v) {
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    throw new Error(`bad encoded number ${JSON.stringify(v)}`);
  }
  return v;
}

function encodeValues(values, dtype) {
  return Array.from(values, (v) => encodeNumber(v, dtype));
}

function decodeValues(values, dtype) {
  if (dtype === 'bool') return values.map((v) => !!v);
  return values.map(decodeNumber);
}

/** {shape, dtype, values} (JSON-encoded values) -> tf.Tensor */
function toTensor(tf, spec) {
  const values = decodeValues(spec.values, spec.dtype);
  return tf.tensor(values, spec.shape, spec.dtype);
}

/** tf.Tensor -> {shape, dtype, values} (JSON-encoded values) */
function fromTensor(t) {
  return { shape: t.shape.slice(), dtype: t.dtype, values: encodeValues(t.dataSync(), t.dtype) };
}

function isTensor(tf, x) {
  return (typeof tf.Tensor === 'function' && x instanceof tf.Tensor) ||
    (x != null && typeof x === 'object' && Array.isArray(x.shape) && typeof x.dataSync === 'function');
}

// ---------------------------------------------------------------------------
// Op evaluation.

/** Compile an op expression such as "tf.conv2d(x, f, 1, 'same')" into fn(tf, args). */
function compileOp(op, names) {
  // eslint-disable-next-line no-new-func
  const f = new Function('tf', ...names, `'use strict'; return (${op});`);
  return (tf, args) => f(tf, ...names.map((n) => args[n]));
}

/**
 * Normalise an op result into {kind, keys, tensors}:
 *   kind 'tensor' — a single tensor; 'array' — an array of tensors;
 *   'object' — a plain object of tensors (e.g. tf.moments, tf.topk); keys gives
 *   the order (the fixture's order when `expectedKeys` is given).
 */
function normalizeResult(tf, result, expectedKeys) {
  if (isTensor(tf, result)) return { kind: 'tensor', keys: null, tensors: [result] };
  if (Array.isArray(result)) return { kind: 'array', keys: null, tensors: result.slice() };
  if (result && typeof result === 'object') {
    const keys = expectedKeys || Object.keys(result);
    return { kind: 'object', keys, tensors: keys.map((k) => result[k]) };
  }
  throw new Error(`op returned ${typeof result}, expected a tensor, array or object of tensors`);
}

/**
 * Builds the scalar loss used for gradient fixtures:
 *   loss(g1, g2, ...) = sum_i sum(op(...)[i] * w[i])
 * over the float outputs i (those with a weight), where g1.. replace the
 * inputs listed in gradNames and all other inputs are held fixed.
 */
function makeLoss(tf, fn, args, gradNames, weights, expectedKeys) {
  return (...gts) => {
    const a = Object.assign({}, args);
    gradNames.forEach((n, i) => { a[n] = gts[i]; });
    const { tensors } = normalizeResult(tf, fn(tf, a), expectedKeys);
    let total = null;
    tensors.forEach((t, i) => {
      if (!weights[i]) return;
      const s = tf.sum(tf.mul(t, weights[i]));
      total = total === null ? s : tf.add(total, s);
    });
    if (total === null) throw new Error('no float outputs to differentiate');
    return total;
  };
}

// ---------------------------------------------------------------------------
// Comparison.

function shapeStr(s) {
  return `[${s.join(',')}]`;
}

/**
 * Compare `actual` (a tensor or {shape,dtype,values}) with an expected
 * fixture entry. Returns null when they match, else a human-readable message.
 * Floats: |a - e| <= atol + rtol * |e|, NaN matches NaN, infinities must match
 * exactly. int32 / bool: exact.
 */
function compareToFixture(actual, expected, opts = {}) {
  const rtol = opts.rtol != null ? opts.rtol : RTOL;
  const atol = opts.atol != null ? opts.atol : ATOL;
  const what = opts.what || 'value';
  const shape = Array.from(actual.shape);
  if (shape.length !== expected.shape.length || shape.some((d, i) => d !== expected.shape[i])) {
    return `${what}: shape ${shapeStr(shape)} != expected ${shapeStr(expected.shape)}`;
  }
  if (opts.checkDtype !== false && actual.dtype !== expected.dtype) {
    return `${what}: dtype ${actual.dtype} != expected ${expected.dtype}`;
  }
  const got = typeof actual.dataSync === 'function' ? actual.dataSync() : decodeValues(actual.values, actual.dtype);
  const exp = decodeValues(expected.values, expected.dtype);
  if (got.length !== exp.length) return `${what}: ${got.length} values != expected ${exp.length}`;
  const exact = !FLOAT_DTYPES.has(expected.dtype);
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < exp.length; i++) {
    const e = exact ? Number(exp[i]) : exp[i];
    const a = Number(got[i]);
    let ok;
    if (exact) ok = a === e;
    else if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else {
      const err = Math.abs(a - e);
      ok = err <= atol + rtol * Math.abs(e); // false for NaN a
      if (Number.isFinite(err)) worst = Math.max(worst, err / (atol + rtol * Math.abs(e)));
    }
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return null;
  const e = exp[first];
  return `${what}: ${bad}/${exp.length} values differ; first at flat index ${first}: ` +
    `got ${Number(got[first])}, expected ${e}` +
    (exact ? '' : ` (rtol=${rtol}, atol=${atol}, worst err/tol=${worst.toPrecision(3)})`);
}

function assertMatchesFixture(assert, actual, expected, opts) {
  const msg = compareToFixture(actual, expected, opts);
  if (msg) assert.fail(msg);
}

// ---------------------------------------------------------------------------
// Fixture-driven evaluation shared by the test and the generator.

/** Create the input tensors of a fixture case. */
function makeInputs(tf, c) {
  const args = {};
  for (const [name, spec] of Object.entries(c.inputs)) args[name] = toTensor(tf, spec);
  return args;
}

function disposeAll(tf, xs) {
  for (const x of xs) if (x && typeof x.dispose === 'function') x.dispose();
}

// ---------------------------------------------------------------------------
// Deterministic numbers for fixtures and property tests: mulberry32, seeded
// directly or with the FNV-1a hash of a string.

function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = {
  fnv1a,
  mulberry32,
  RTOL,
  ATOL,
  FLOAT_DTYPES,
  encodeNumber,
  decodeNumber,
  encodeValues,
  decodeValues,
  toTensor,
  fromTensor,
  isTensor,
  compileOp,
  normalizeResult,
  makeLoss,
  compareToFixture,
  assertMatchesFixture,
  makeInputs,
  disposeAll,
};
