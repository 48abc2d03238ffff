'use strict';
// The binary weight format of tfjs model files: tensors' raw little-endian values concatenated
// in manifest order (float32/int32: 4 bytes a value, bool: 1), each described by a spec
// `{name, shape, dtype, quantization?, group?}`. Converter files may store float32 weights
// quantized (`uint8`/`uint16` with `scale` and `min`, or `float16`); they are dequantized here.

const { tensor } = require('../ops/creation');

const VALUE_BYTES = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };
const QUANTIZED = ['uint8', 'uint16', 'float16'];

/** An ArrayBuffer holding exactly the bytes of `x` (ArrayBuffer, typed array, Buffer or DataView). */
function toArrayBuffer(x, what = 'weight data') {
  if (x instanceof ArrayBuffer) return x;
  if (ArrayBuffer.isView(x)) return x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength);
  throw new Error(`${what} must be an ArrayBuffer, a typed array or an array of them, got ${x === null ? 'null' : typeof x}`);
}

/** Several ArrayBuffers read as one (tfjs `io.CompositeArrayBuffer`), e.g. the shards of a model. */
class CompositeArrayBuffer {
  constructor(buffers) {
    const list = buffers == null ? [] : Array.isArray(buffers) ? buffers : [buffers];
    this.shards = [];
    let start = 0;
    for (const b of list) {
      const buffer = toArrayBuffer(b);
      this.shards.push({ buffer, start, end: start + buffer.byteLength });
      start += buffer.byteLength;
    }
    this.byteLength = start;
  }

  /** The bytes [start, end) as a new ArrayBuffer (clamped to the data, like ArrayBuffer.slice). */
  slice(start = 0, end = this.byteLength) {
    const s = Math.max(0, Math.min(start, this.byteLength));
    const e = Math.max(s, Math.min(end, this.byteLength));
    if (this.shards.length === 1) return this.shards[0].buffer.slice(s, e);
    const out = new Uint8Array(e - s);
    for (const shard of this.shards) {
      if (shard.end <= s || shard.start >= e) continue;
      const from = Math.max(s, shard.start);
      const to = Math.min(e, shard.end);
      out.set(new Uint8Array(shard.buffer, from - shard.start, to - from), from - s);
    }
    return out.buffer;
  }

  /** One ArrayBuffer with the bytes of all `buffers`, in order. */
  static join(buffers) {
    return new CompositeArrayBuffer(buffers).slice();
  }
}

function concatenateArrayBuffers(buffers) {
  return CompositeArrayBuffer.join(buffers);
}

/** The weight specs of a manifest (`[{paths, weights}]`), in order. */
function getWeightSpecs(weightsManifest) {
  if (!Array.isArray(weightsManifest)) throw new Error(`weightsManifest must be an array of {paths, weights}, got ${describe(weightsManifest)}`);
  const specs = [];
  weightsManifest.forEach((group, i) => {
    if (group == null || typeof group !== 'object' || !Array.isArray(group.weights)) {
      throw new Error(`weightsManifest[${i}] must be {paths, weights: [...]}, got ${describe(group)}`);
    }
    specs.push(...group.weights);
  });
  return specs;
}

function describe(v) {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Checks one weight spec and returns its byte length and value count. `where` names the
 * caller for the error message.
 */
function checkSpec(spec, where) {
  if (spec == null || typeof spec !== 'object') throw new Error(`${where}: a weight spec must be {name, shape, dtype}, got ${describe(spec)}`);
  const { name, shape, dtype } = spec;
  if (typeof name !== 'string') throw new Error(`${where}: a weight spec's name must be a string, got ${describe(name)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where}: weight '${name}' has shape ${describe(shape)}; expected a list of non-negative integers`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(size)) throw new Error(`${where}: weight '${name}' has shape ${describe(shape)}, too large`);
  if (dtype === 'string' || dtype === 'complex64') {
    throw new Error(`${where}: weight '${name}' has dtype '${dtype}', which ferrograd does not support (float32, int32, bool)`);
  }
  if (!['float32', 'int32', 'bool'].includes(dtype)) {
    throw new Error(`${where}: weight '${name}' has dtype ${describe(dtype)}; expected 'float32', 'int32' or 'bool'`);
  }
  let stored = dtype;
  if (spec.quantization != null) {
    const q = spec.quantization;
    if (typeof q !== 'object' || !QUANTIZED.includes(q.dtype)) {
      throw new Error(`${where}: weight '${name}' has quantization ${describe(q)}; expected a dtype of 'uint8', 'uint16' or 'float16'`);
    }
    if (q.dtype === 'float16' && dtype !== 'float32') {
      throw new Error(`${where}: weight '${name}' is float16-quantized, which only float32 weights can be, but its dtype is '${dtype}'`);
    }
    if (q.dtype !== 'float16') {
      if (dtype === 'bool') throw new Error(`${where}: weight '${name}' is a bool weight quantized as ${q.dtype}, which is not supported`);
      if (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
        throw new Error(`${where}: weight '${name}' is quantized as ${q.dtype} but its scale and min are ${describe(q.scale)} and ${describe(q.min)}; expected finite numbers`);
      }
    }
    stored = q.dtype;
  }
  return { size, byteLength: size * VALUE_BYTES[stored], stored };
}

function float16ToFloat32(bits) {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 31) out[i] = mant === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
}

function decodeWeight(spec, bytes, info) {
  const { dtype, shape } = spec;
  const q = spec.quantization;
  let values;
  if (info.stored === 'float16') values = float16ToFloat32(new Uint16Array(bytes));
  else if (info.stored === 'uint8' || info.stored === 'uint16') {
    const raw = info.stored === 'uint8' ? new Uint8Array(bytes) : new Uint16Array(bytes);
    values = dtype === 'int32' ? new Int32Array(raw.length) : new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i] * q.scale + q.min;
      values[i] = dtype === 'int32' ? Math.round(v) : v;
    }
  } else if (dtype === 'float32') values = new Float32Array(bytes);
  else if (dtype === 'int32') values = new Int32Array(bytes);
  else values = new Uint8Array(bytes);
  return tensor(values, shape, dtype);
}

/**
 * Decodes `weightData` (an ArrayBuffer, or an array of them read as one) into `{name: Tensor}`
 * following `specs` (tfjs `io.decodeWeights`). Data shorter than the specs need is an error
 * naming the first weight it cuts.
 */
function decodeWeights(weightData, specs, where = 'io.decodeWeights') {
  if (!Array.isArray(specs)) throw new Error(`${where}: weight specs must be an array, got ${describe(specs)}`);
  const infos = specs.map((s) => checkSpec(s, where));
  const data = new CompositeArrayBuffer(weightData);
  const out = {};
  let offset = 0;
  try {
    specs.forEach((spec, i) => {
      const { byteLength } = infos[i];
      if (offset + byteLength > data.byteLength) {
        throw new Error(`${where}: the weight data is truncated: weight '${spec.name}' needs bytes ${offset} to ${offset + byteLength}, but there are only ${data.byteLength}`);
      }
      if (out[spec.name] != null) out[spec.name].dispose();
      out[spec.name] = decodeWeight(spec, data.slice(offset, offset + byteLength), infos[i]);
      offset += byteLength;
    });
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  }
  return out;
}

/**
 * Encodes named tensors (`[{name, tensor}]` or `{name: tensor}`) as one ArrayBuffer plus
 * specs (tfjs `io.encodeWeights`); `group` tags every spec (tfjs writes 'optimizer').
 */
async function encodeWeights(tensors, group) {
  const entries = Array.isArray(tensors) ? tensors.map((e) => [e && e.name, e && e.tensor]) : Object.entries(tensors || {});
  const specs = [];
  const parts = [];
  for (const [name, t] of entries) {
    if (t == null || typeof t.dataSync !== 'function') throw new Error(`io.encodeWeights: weight '${name}' is not a Tensor`);
    if (!['float32', 'int32', 'bool'].includes(t.dtype)) throw new Error(`io.encodeWeights: unsupported dtype in weight '${name}': ${t.dtype}`);
    const spec = { name, shape: t.shape, dtype: t.dtype };
    if (group != null) spec.group = group;
    specs.push(spec);
    const values = t.dataSync();
    parts.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.byteLength;
  }
  return { data: bytes.buffer, specs };
}

module.exports = {
  CompositeArrayBuffer, concatenateArrayBuffers, getWeightSpecs, decodeWeights, encodeWeights,
  checkSpec, toArrayBuffer, describe, VALUE_BYTES,
};
