'use strict';
// Tensor and Variable: JS handles on native tensors, plus the scope bookkeeping behind
// tidy/keep/dispose. A Tensor's shape, dtype and id are fetched from native once, lazily.

const native = require('./native');

const DTYPES = ['float32', 'int32', 'bool'];

// Scopes of tidy(): each holds the tensors created while it is the innermost one.
const scopes = [];

// Tensors outside any scope are freed by the garbage collector when forgotten. Registering with
// the FinalizationRegistry costs microseconds, so it is deferred: tensors wait in `pending`
// until the next turn of the event loop (or until 256 wait), and those disposed by then —
// the common `tf.add(a, b).dispose()` — are never registered at all.
const finalizer = new FinalizationRegistry((h) => native.dispose(h));
let pending = [];
let flushQueued = false;

function flushPending() {
  flushQueued = false;
  const list = pending;
  pending = [];
  for (const t of list) if (!native.isDisposed(t.h)) finalizer.register(t, t.h);
}

/** Makes `t` freed by the garbage collector once unreachable (unless disposed first). */
function watch(t) {
  pending.push(t);
  if (pending.length >= 256) flushPending();
  else if (!flushQueued) {
    flushQueued = true;
    setImmediate(flushPending).unref();
  }
}

function track(t) {
  if (scopes.length > 0) scopes[scopes.length - 1].push(t);
  else watch(t);
}

class Tensor {
  constructor(handle) {
    this.h = handle;
    this._meta = null;
    this.kept = false;
    track(this);
  }
  _m() {
    if (this._meta === null) {
      if (native.isDisposed(this.h)) throw new Error('Tensor is disposed.');
      const m = native.meta(this.h);
      this._meta = { dtype: DTYPES[m[0]], id: m[1], shape: m.slice(2) };
    }
    return this._meta;
  }
  get shape() { return this._m().shape.slice(); }
  get dtype() { return this._m().dtype; }
  get id() { return this._m().id; }
  get rank() { return this._m().shape.length; }
  get size() { return this._m().shape.reduce((a, b) => a * b, 1); }
  get rankType() { return String(this.rank); }
  get strides() {
    const s = this._m().shape;
    const out = new Array(Math.max(s.length - 1, 0));
    let acc = 1;
    for (let i = s.length - 1; i > 0; i--) { acc *= s[i]; out[i - 1] = acc; }
    return out;
  }
  // The tfjs TensorInfo view a JS kernel works with.
  get dataId() { return this.h; }
  get isDisposed() { return native.isDisposed(this.h); }
  get isDisposedInternal() { return this.isDisposed; }
  throwIfDisposed() { if (this.isDisposed) throw new Error('Tensor is disposed.'); }

  dataSync() {
    if (native.isDisposed(this.h)) throw new Error('Tensor is disposed.');
    return native.readData(this.h);
  }
  async data() { return this.dataSync(); }
  arraySync() { return toNested(this.dataSync(), this.shape); }
  async array() { return this.arraySync(); }
  async buffer() { return this.bufferSync(); }
  bufferSync() {
    const { TensorBuffer } = require('./buffer');
    return new TensorBuffer(this.shape, this.dtype, this.dataSync());
  }
  dispose() {
    if (this instanceof Variable) { require('./variables').forget(this); }
    native.dispose(this.h);
  }
  print(verbose = false) { console.log(this.toString(verbose)); }
  toString(verbose = false) { return require('./format').formatTensor(this, verbose); }
}

class Variable extends Tensor {
  constructor(handle, trainable, name) {
    // Variables are never tracked by tidy scopes, as in tfjs.
    const saved = scopes.length;
    super(handle);
    if (saved > 0) {
      const top = scopes[scopes.length - 1];
      if (top[top.length - 1] === this) top.pop();
    }
    this._trainable = trainable;
    this.name = name;
  }
  get trainable() { return this._trainable; }
  set trainable(v) { this._trainable = !!v; native.setTrainable(this.h, !!v); }
  assign(newValue) {
    const { convertToTensor } = require('./convert');
    const v = convertToTensor(newValue, 'newValue', 'assign');
    if (v.dtype !== this.dtype) {
      throw new Error(`Variable.assign (${this.name}): expected dtype ${this.dtype}, but got ${v.dtype}`);
    }
    native.assign(this.h, v.h);
    this._meta = null;
    return this;
  }
  read() { return this; }
}

// Bool tensors read back as 0/1 numbers, as in tfjs.
function toNested(data, shape) {
  const conv = (v) => v;
  if (shape.length === 0) return conv(data[0]);
  const build = (off, dim) => {
    const n = shape[dim];
    const out = new Array(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = conv(data[off + i]);
      return out;
    }
    let stride = 1;
    for (let d = dim + 1; d < shape.length; d++) stride *= shape[d];
    for (let i = 0; i < n; i++) out[i] = build(off + i * stride, dim + 1);
    return out;
  };
  return build(0, 0);
}

// Wraps native handles as Tensors.
function wrap(h) { return new Tensor(h); }

module.exports = { Tensor, Variable, wrap, scopes, track, watch, DTYPES, toNested };
