'use strict';
// Shape and data-movement ops.

const { k1, runKernel, tidy } = require('../engine');
const { T, parseAxis } = require('./util');

function reshape(x, shape) {
  const t = T(x, 'x', 'reshape');
  if (!Array.isArray(shape)) throw new Error(`reshape: shape must be an array, got ${typeof shape}`);
  return k1('Reshape', t, { shape });
}

function expandDims(x, axis = 0) {
  const t = T(x, 'x', 'expandDims');
  const r = t.rank;
  if (!Number.isInteger(axis) || axis < -(r + 1) || axis > r) {
    throw new Error(`expandDims: axis must be in [${-(r + 1)}, ${r}], got ${axis}`);
  }
  const a = axis < 0 ? axis + r + 1 : axis;
  const shape = t.shape;
  shape.splice(a, 0, 1);
  return k1('Reshape', t, { shape });
}

function squeeze(x, axis) {
  const t = T(x, 'x', 'squeeze');
  const shape = t.shape;
  let keep;
  if (axis == null) {
    keep = shape.filter((d) => d !== 1);
  } else {
    const axes = parseAxis(axis, t.rank, 'squeeze');
    for (const a of axes) {
      if (shape[a] !== 1) throw new Error(`squeeze: can not squeeze axis ${a} of shape [${shape}]: its size is ${shape[a]}, not 1`);
    }
    keep = shape.filter((_, i) => !axes.includes(i));
  }
  return k1('Reshape', t, { shape: keep });
}

function flatten(x) {
  const t = T(x, 'x', 'flatten');
  return k1('Reshape', t, { shape: [t.size] });
}

function cast(x, dtype) {
  const t = T(x, 'x', 'cast');
  if (!['float32', 'int32', 'bool'].includes(dtype)) throw new Error(`cast: unsupported dtype '${dtype}' (supported: float32, int32, bool)`);
  return k1('Cast', t, { dtype });
}

function clone(x) {
  return k1('Identity', T(x, 'x', 'clone'));
}

function transpose(x, perm) {
  const t = T(x, 'x', 'transpose');
  if (perm != null) {
    if (!Array.isArray(perm) || perm.length !== t.rank) {
      throw new Error(`transpose: perm must have ${t.rank} entries (the rank of x), got [${perm}]`);
    }
  }
  return k1('Transpose', t, perm == null ? {} : { perm });
}

function concat(tensors, axis = 0) {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('concat: tensors must be a non-empty array');
  const ts = tensors.map((t, i) => T(t, `tensors[${i}]`, 'concat'));
  if (ts.length === 1) return clone(ts[0]);
  const a = parseAxis(axis, ts[0].rank, 'concat')[0];
  return runKernel('Concat', ts, { axis: a });
}
const concat1d = (ts) => concat(ts, 0);
const concat2d = (ts, axis) => concat(ts, axis);
const concat3d = (ts, axis) => concat(ts, axis);
const concat4d = (ts, axis) => concat(ts, axis);

function stack(tensors, axis = 0) {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: tensors must be a non-empty array');
  const ts = tensors.map((t, i) => T(t, `tensors[${i}]`, 'stack'));
  return runKernel('Pack', ts, { axis });
}

function unstack(x, axis = 0) {
  const t = T(x, 'x', 'unstack');
  const a = parseAxis(axis, t.rank, 'unstack')[0];
  const out = runKernel('Unpack', { value: t }, { axis: a });
  return Array.isArray(out) ? out : [out];
}

function split(x, numOrSizeSplits, axis = 0) {
  const t = T(x, 'x', 'split');
  const a = parseAxis(axis, t.rank, 'split')[0];
  const out = runKernel('SplitV', { x: t }, { numOrSizeSplits, axis: a });
  return Array.isArray(out) ? out : [out];
}

function slice(x, begin, size) {
  const t = T(x, 'x', 'slice');
  const b = typeof begin === 'number' ? [begin, ...new Array(t.rank - 1).fill(0)] : begin.slice();
  while (b.length < t.rank) b.push(0);
  let s;
  if (size == null) s = new Array(t.rank).fill(-1);
  else if (typeof size === 'number') s = [size, ...new Array(t.rank - 1).fill(-1)];
  else { s = size.slice(); while (s.length < t.rank) s.push(-1); }
  return k1('Slice', t, { begin: b, size: s });
}
const slice1d = (x, b, s) => slice(x, [b], [s]);
const slice2d = slice;
const slice3d = slice;
const slice4d = slice;

function stridedSlice(x, begin, end, strides, beginMask = 0, endMask = 0, ellipsisMask = 0, newAxisMask = 0, shrinkAxisMask = 0) {
  const t = T(x, 'x', 'stridedSlice');
  return k1('StridedSlice', t, { begin, end, strides: strides || begin.map(() => 1), beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask });
}

function gather(x, indices, axis = 0, batchDims = 0) {
  const t = T(x, 'x', 'gather');
  const i = T(indices, 'indices', 'gather', 'int32');
  if (i.dtype !== 'int32') throw new Error(`gather: indices must be int32, got ${i.dtype}`);
  return runKernel('GatherV2', { x: t, indices: i }, { axis: parseAxis(axis, t.rank, 'gather')[0], batchDims });
}

function tile(x, reps) {
  const t = T(x, 'x', 'tile');
  if (!Array.isArray(reps) || reps.length !== t.rank) {
    throw new Error(`tile: reps must have ${t.rank} entries (the rank of x), got [${reps}]`);
  }
  return k1('Tile', t, { reps });
}

function pad(x, paddings, constantValue = 0) {
  const t = T(x, 'x', 'pad');
  if (!Array.isArray(paddings) || paddings.length !== t.rank) {
    throw new Error(`pad: paddings must have ${t.rank} [before, after] pairs (the rank of x), got ${JSON.stringify(paddings)}`);
  }
  return k1('PadV2', t, { paddings, constantValue });
}
function mirrorPad(x, paddings, mode) {
  return k1('MirrorPad', T(x, 'x', 'mirrorPad'), { paddings, mode });
}

function reverse(x, axis) {
  const t = T(x, 'x', 'reverse');
  return k1('Reverse', t, { dims: parseAxis(axis, t.rank, 'reverse') });
}

function where(condition, a, b) {
  const c = T(condition, 'condition', 'where', 'bool');
  if (c.dtype !== 'bool') throw new Error(`where: condition must be bool, got ${c.dtype}`);
  return runKernel('Select', { condition: c, t: T(a, 'a', 'where'), e: T(b, 'b', 'where') });
}

function topk(x, k = 1, sorted = true) {
  const t = T(x, 'x', 'topk');
  if (t.rank === 0) throw new Error('topk: the input must be at least rank 1');
  const last = t.shape[t.rank - 1];
  if (!Number.isInteger(k) || k < 0 || k > last) throw new Error(`topk: k must be an integer in [0, ${last}], got ${k}`);
  const [values, indices] = runKernel('TopK', { x: t }, { k, sorted });
  return { values, indices };
}

function broadcastTo(x, shape) {
  return k1('BroadcastTo', T(x, 'x', 'broadcastTo'), { shape });
}

function oneHot(indices, depth, onValue = 1, offValue = 0, dtype = 'int32') {
  const i = T(indices, 'indices', 'oneHot', 'int32');
  if (i.dtype !== 'int32') throw new Error(`oneHot: indices must be int32, got ${i.dtype}`);
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`oneHot: depth must be a positive integer, got ${depth}`);
  return runKernel('OneHot', { indices: i }, { depth, onValue, offValue, dtype });
}

function einsum(equation, ...tensors) {
  const ts = tensors.map((t, i) => T(t, `tensors[${i}]`, 'einsum'));
  const eq = String(equation).replace(/\s/g, '');
  const { matMul } = require('./linalg');
  const arith = require('./arithmetic');
  const red = require('./reduction');
  return tidy(() => {
    const m = /^([a-z]+)(?:,([a-z]+))?->([a-z]*)$/.exec(eq);
    if (!m) throw new Error(`einsum: unsupported equation '${equation}' (matrix forms such as 'ij,jk->ik' are supported)`);
    const [, a, b, out] = m;
    if (b === undefined) {
      if (ts.length !== 1) throw new Error(`einsum: '${equation}' takes 1 tensor, got ${ts.length}`);
      if (a === out) return clone(ts[0]);
      if (a.length === 2 && out === a[1] + a[0]) return transpose(ts[0], [1, 0]);
      const axes = [...a].map((c, i) => (out.includes(c) ? -1 : i)).filter((i) => i >= 0);
      if ([...out].every((c) => a.includes(c)) && out === [...a].filter((c) => out.includes(c)).join('')) return red.sum(ts[0], axes);
      throw new Error(`einsum: unsupported equation '${equation}'`);
    }
    if (ts.length !== 2) throw new Error(`einsum: '${equation}' takes 2 tensors, got ${ts.length}`);
    const [x, y] = ts;
    const forms = {
      'ij,jk->ik': () => matMul(x, y),
      'ij,kj->ik': () => matMul(x, y, false, true),
      'ji,jk->ik': () => matMul(x, y, true, false),
      'ij,jk->ki': () => transpose(matMul(x, y)),
      'bij,bjk->bik': () => matMul(x, y),
      'i,i->': () => red.sum(arith.mul(x, y)),
      'i,j->ij': () => arith.mul(reshape(x, [-1, 1]), reshape(y, [1, -1])),
      'ij,ij->ij': () => arith.mul(x, y),
      'ij,ij->': () => red.sum(arith.mul(x, y)),
      'ij,j->i': () => reshape(matMul(x, reshape(y, [-1, 1])), [-1]),
    };
    const key = `${a},${b}->${out}`;
    // Rename letters canonically so 'ab,bc->ac' matches 'ij,jk->ik'.
    const letters = [...new Set((a + b + out).split(''))];
    for (const [form, fn] of Object.entries(forms)) {
      const fl = [...new Set(form.replace(/[,\->]/g, '').split(''))];
      if (fl.length !== letters.length) continue;
      const map = {};
      let ok = true;
      const src = key.replace(/[,\->]/g, '');
      const dst = form.replace(/[,\->]/g, '');
      if (src.length !== dst.length) continue;
      for (let i = 0; i < src.length && ok; i++) {
        if (map[src[i]] === undefined && !Object.values(map).includes(dst[i])) map[src[i]] = dst[i];
        else if (map[src[i]] !== dst[i]) ok = false;
      }
      if (ok && key.replace(/[a-z]/g, (c) => map[c]) === form) return fn();
    }
    throw new Error(`einsum: unsupported equation '${equation}' (matrix forms such as 'ij,jk->ik' are supported)`);
  });
}

module.exports = {
  reshape, expandDims, squeeze, flatten, cast, clone, transpose, concat, concat1d, concat2d, concat3d, concat4d,
  stack, unstack, split, slice, slice1d, slice2d, slice3d, slice4d, stridedSlice, gather, tile, pad, mirrorPad,
  reverse, where, topk, broadcastTo, oneHot, einsum,
};
