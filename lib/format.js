'use strict';
// Text form of a tensor in tfjs's layout: values padded per column, nested brackets, and with
// `verbose` the dtype, rank and shape.

const MAX_ELEMS = 100;

function valueString(v, dtype) {
  if (dtype === 'bool') return v ? 'true' : 'false';
  return String(parseFloat(Number(v).toFixed(7)));
}

function formatTensor(t, verbose) {
  const shape = t.shape;
  const dtype = t.dtype;
  const data = t.dataSync();
  const lines = ['Tensor'];
  if (verbose) {
    lines.push(`  dtype: ${dtype}`, `  rank: ${shape.length}`, `  shape: [${shape}]`, '  values:');
  }
  const body = formatValues(data, shape, dtype);
  lines.push(...body.map((l) => (l ? '    ' + l : '')));
  return lines.join('\n');
}

function formatValues(data, shape, dtype) {
  const strs = Array.from(data, (v) => valueString(v, dtype));
  if (shape.length === 0) return [strs[0]];
  const cols = shape[shape.length - 1];
  const widths = new Array(cols).fill(0);
  strs.forEach((s, i) => { const c = i % cols; if (s.length > widths[c]) widths[c] = s.length; });
  const padded = strs.map((s, i) => s.padEnd(widths[i % cols]));
  if (strs.length > MAX_ELEMS * cols && shape.length === 1) {
    return ['[' + padded.slice(0, 3).join(', ') + ', ..., ' + padded.slice(-3).join(', ') + ']'];
  }
  const rec = (off, dim) => {
    const n = shape[dim];
    if (dim === shape.length - 1) return ['[' + padded.slice(off, off + n).join(', ') + ']'];
    let stride = 1;
    for (let d = dim + 1; d < shape.length; d++) stride *= shape[d];
    const out = [];
    for (let i = 0; i < n; i++) {
      const sub = rec(off + i * stride, dim + 1);
      const last = i === n - 1;
      sub.forEach((line, j) => {
        let l = (i === 0 && j === 0 ? '[' : ' ') + line;
        if (j === sub.length - 1) l += last ? ']' : ',';
        out.push(l);
      });
      if (!last && shape.length - dim > 2) out.push('');
    }
    return out;
  };
  return rec(0, 0);
}

module.exports = { formatTensor };
