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

/**
 * Einstein summation over one or two operands (no index repeated within an operand):
 * indices shared by both operands and the output are batch dims, shared ones absent from the
 * output are contracted with one batched matMul, the rest are summed out or kept.
 */
function einsum(equation, ...tensors) {
  const eq = String(equation).replace(/\s/g, '');
  const m = /^([a-zA-Z]+)(?:,([a-zA-Z]+))?->([a-zA-Z]*)$/.exec(eq);
  if (!m) throw new Error(`einsum: unsupported equation '${equation}' (expected 'ab,bc->ac' style with explicit output)`);
  const ins = m[2] === undefined ? [m[1]] : [m[1], m[2]];
  const out = m[3];
  if (tensors.length !== ins.length) throw new Error(`einsum: '${equation}' takes ${ins.length} tensor(s), got ${tensors.length}`);
  const ts = tensors.map((t, i) => T(t, `tensors[${i}]`, 'einsum'));
  ins.forEach((s, i) => {
    if (new Set(s).size !== s.length) throw new Error(`einsum: repeated index within operand '${s}' is not supported`);
    if (s.length !== ts[i].rank) throw new Error(`einsum: operand ${i} has rank ${ts[i].rank}, but '${s}' names ${s.length} dims`);
  });
  for (const c of out) if (!ins.some((s) => s.includes(c))) throw new Error(`einsum: output index '${c}' appears in no operand`);
  const { matMul } = require('./linalg');
  const red = require('./reduction');
  const size = {};
  ins.forEach((s, i) => [...s].forEach((c, d) => {
    if (size[c] != null && size[c] !== ts[i].shape[d]) throw new Error(`einsum: index '${c}' has sizes ${size[c]} and ${ts[i].shape[d]}`);
    size[c] = ts[i].shape[d];
  }));
  return tidy(() => {
    // Sum out indices that only one operand has and the output does not keep.
    const ops = ins.map((s, i) => {
      const others = ins.filter((_, j) => j !== i).join('') + out;
      const drop = [...s].map((c, d) => (others.includes(c) ? -1 : d)).filter((d) => d >= 0);
      return { s: [...s].filter((c) => others.includes(c)).join(''), t: drop.length ? red.sum(ts[i], drop) : ts[i] };
    });
    let res;
    let resIdx;
    if (ops.length === 1) {
      res = ops[0].t;
      resIdx = ops[0].s;
    } else {
      const [A, B] = ops;
      const batch = [...A.s].filter((c) => B.s.includes(c) && out.includes(c));
      const contr = [...A.s].filter((c) => B.s.includes(c) && !out.includes(c));
      const fa = [...A.s].filter((c) => !B.s.includes(c));
      const fb = [...B.s].filter((c) => !A.s.includes(c));
      const prod = (cs) => cs.reduce((p, c) => p * size[c], 1);
      const perm = (s, order) => order.map((c) => s.indexOf(c));
      const a3 = reshape(transpose(A.t, perm(A.s, [...batch, ...fa, ...contr])), [prod(batch), prod(fa), prod(contr)]);
      const b3 = reshape(transpose(B.t, perm(B.s, [...batch, ...contr, ...fb])), [prod(batch), prod(contr), prod(fb)]);
      const r = matMul(a3, b3);
      resIdx = [...batch, ...fa, ...fb].join('');
      res = reshape(r, [...resIdx].map((c) => size[c]));
    }
    if (resIdx === out) return res.shape.length === 0 ? res : clone(res);
    return transpose(res, [...out].map((c) => resIdx.indexOf(c)));
  });
}

module.exports = {
  reshape, expandDims, squeeze, flatten, cast, clone, transpose, concat, concat1d, concat2d, concat3d, concat4d,
  stack, unstack, split, slice, slice1d, slice2d, slice3d, slice4d, stridedSlice, gather, tile, pad, mirrorPad,
  reverse, where, topk, broadcastTo, oneHot, einsum,
};
