'use strict';
// TensorBuffer: a mutable host-side array with a shape, turned into a tensor by toTensor().

class TensorBuffer {
  constructor(shape, dtype = 'float32', values) {
    this.shape = shape.slice();
    this.dtype = dtype;
    this.size = shape.reduce((a, b) => a * b, 1);
    const Ctor = dtype === 'int32' ? Int32Array : dtype === 'bool' ? Uint8Array : Float32Array;
    if (values != null) {
      if (values.length !== this.size) {
        throw new Error(`buffer: length of values (${values.length}) does not match the size of the shape [${shape}] (${this.size})`);
      }
      this.values = values instanceof Ctor ? values : Ctor.from(values);
    } else {
      this.values = new Ctor(this.size);
    }
    this.strides = [];
    let acc = 1;
    for (let i = shape.length - 1; i > 0; i--) { acc *= shape[i]; this.strides.unshift(acc); }
  }
  locToIndex(locs) {
    if (locs.length !== this.shape.length) {
      throw new Error(`TensorBuffer: expected ${this.shape.length} coordinates, got ${locs.length}`);
    }
    let idx = 0;
    for (let i = 0; i < locs.length; i++) {
      if (locs[i] < 0 || locs[i] >= this.shape[i]) {
        throw new Error(`TensorBuffer: coordinate ${locs[i]} out of range [0, ${this.shape[i]}) in dimension ${i}`);
      }
      idx += locs[i] * (i < this.strides.length ? this.strides[i] : 1);
    }
    return idx;
  }
  indexToLoc(index) {
    const loc = [];
    for (let i = 0; i < this.strides.length; i++) { loc.push(Math.floor(index / this.strides[i])); index %= this.strides[i]; }
    if (this.shape.length > 0) loc.push(index);
    return loc;
  }
  set(value, ...locs) { this.values[this.locToIndex(locs)] = value; }
  get(...locs) { return this.values[this.locToIndex(locs)]; }
  get rank() { return this.shape.length; }
  toTensor() {
    const { fromFlat } = require('./convert');
    return fromFlat(this.values, this.shape, this.dtype);
  }
}

module.exports = { TensorBuffer };
