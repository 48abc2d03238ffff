'use strict';
// tfjs-style unique names: `dense_Dense1`, `conv2d_Conv2D2`, `sequential_1`, `input1`.

const counters = new Map();

function uid(prefix) {
  const n = (counters.get(prefix) || 0) + 1;
  counters.set(prefix, n);
  return prefix + n;
}

function toSnakeCase(name) {
  return name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

function layerName(className) {
  return `${toSnakeCase(className)}_${uid(className)}`;
}

module.exports = { uid, toSnakeCase, layerName };
