'use strict';
// tf.data.Dataset: a recipe for a stream of elements. Each `iterator()` call starts a fresh
// pass; the chaining methods return new datasets whose `size` follows tfjs (a known count,
// Infinity, or null when it cannot be known without iterating).

const { alea } = require('./alea');
const it = require('./iterators');
const { disposeConsumed } = require('./nest');

function describe(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'number' ? String(v) : typeof v;
}

function checkFunction(op, what, f) {
  if (typeof f !== 'function') throw new Error(`${op}: ${what} must be a function, but got ${describe(f)}`);
}

function checkPositiveInt(op, what, v) {
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${op}: ${what} must be a positive integer, but got ${describe(v)}`);
}

// A count where negative or undefined means "all" and Infinity is allowed.
function checkCount(op, v) {
  if (v === undefined) return -1;
  if (typeof v !== 'number' || Number.isNaN(v) || (Number.isFinite(v) && !Number.isInteger(v))) {
    throw new Error(`${op}: count must be an integer (negative or omitted for all), but got ${describe(v)}`);
  }
  return v;
}

function isDataset(d) {
  return d instanceof Dataset || (d != null && typeof d === 'object' && typeof d.iterator === 'function');
}

class Dataset {
  constructor() {
    /** Elements per pass: a number, Infinity, or null when unknown. */
    this.size = null;
  }

  /** A fresh iterator over the elements. */
  async iterator() {
    throw new Error(`Dataset.iterator: ${this.constructor.name} does not implement iterator()`);
  }

  /**
   * Groups `batchSize` consecutive elements into one: tensors are stacked and numbers,
   * booleans and arrays of them become tensors, with a new leading dimension; arrays and
   * objects are batched member by member.
   */
  batch(batchSize, smallLastBatch = true) {
    checkPositiveInt('Dataset.batch', 'batchSize', batchSize);
    let size = this.size;
    if (size != null && size !== Infinity) size = smallLastBatch ? Math.ceil(size / batchSize) : Math.floor(size / batchSize);
    return fromIteratorFn(async () => it.batchIterator(await this.iterator(), batchSize, !!smallLastBatch), size);
  }

  /** The elements of this dataset, then those of `dataset`. */
  concatenate(dataset) {
    if (!isDataset(dataset)) throw new Error(`Dataset.concatenate: expected a Dataset, but got ${describe(dataset)}`);
    let size = null;
    if (this.size === Infinity || dataset.size === Infinity) size = Infinity;
    else if (this.size != null && dataset.size != null) size = this.size + dataset.size;
    return fromIteratorFn(async () => {
      const parts = [await this.iterator(), await dataset.iterator()];
      return it.chainIterator(async () => (parts.length > 0 ? parts.shift() : null), false);
    }, size);
  }

  /** The elements for which `predicate(element)` is truthy (the others are disposed). */
  filter(predicate) {
    checkFunction('Dataset.filter', 'the predicate', predicate);
    return fromIteratorFn(async () => it.filterIterator(await this.iterator(), predicate), this.size === Infinity ? Infinity : null);
  }

  /**
   * Calls `f(element)` for each element, awaiting it when it returns a Promise; the element's
   * tensors are disposed afterwards unless `f` returns them.
   */
  async forEachAsync(f) {
    checkFunction('Dataset.forEachAsync', 'f', f);
    const iter = await this.iterator();
    for (let r = await iter.next(); !r.done; r = await iter.next()) {
      let out = f(r.value);
      if (out != null && typeof out.then === 'function') out = await out;
      disposeConsumed(r.value, out);
    }
  }

  /**
   * `transform(element)` of each element, run in a tidy scope; tensors of the element that the
   * result does not contain are disposed.
   */
  map(transform) {
    checkFunction('Dataset.map', 'the transform', transform);
    return fromIteratorFn(async () => it.mapIterator(await this.iterator(), transform, false), this.size);
  }

  /** `await transform(element)` of each element (no tidy scope; consumed tensors are disposed). */
  mapAsync(transform) {
    checkFunction('Dataset.mapAsync', 'the transform', transform);
    return fromIteratorFn(async () => it.mapIterator(await this.iterator(), transform, true), this.size);
  }

  /** Reads up to `bufferSize` elements ahead of the consumer. */
  prefetch(bufferSize) {
    checkPositiveInt('Dataset.prefetch', 'bufferSize', bufferSize);
    return fromIteratorFn(async () => it.prefetchIterator(await this.iterator(), bufferSize), this.size);
  }

  /** The dataset `count` times over (forever when `count` is negative or omitted). */
  repeat(count) {
    const n = checkCount('Dataset.repeat', count);
    let size = null;
    if (n === 0 || this.size === 0) size = 0;
    else if (this.size != null) size = n > 0 ? this.size * n : Infinity;
    return fromIteratorFn(async () => {
      let passes = 0;
      return it.chainIterator(async () => (n >= 0 && passes++ >= n ? null : this.iterator()), true);
    }, size);
  }

  /** All but the first `count` elements (the skipped ones are disposed). */
  skip(count) {
    const n = checkCount('Dataset.skip', count);
    let size = this.size;
    if (size === Infinity && n === Infinity) size = null;
    else if (size != null && n > 0) size = Math.max(size - n, 0);
    return fromIteratorFn(async () => {
      const iter = await this.iterator();
      return n > 0 ? it.skipIterator(iter, n) : iter;
    }, size);
  }

  /**
   * Elements in random order, drawn from a window of `bufferSize` upcoming ones (tfjs's
   * algorithm and random numbers: a seed gives tfjs's order). Each pass draws a new order
   * unless `reshuffleEachIteration` is false.
   */
  shuffle(bufferSize, seed, reshuffleEachIteration = true) {
    if (!(Number.isInteger(bufferSize) && bufferSize > 0)) {
      const hint = this.size != null && this.size !== Infinity ? ` (the dataset has ${this.size} elements; a buffer that large shuffles them fully)` : '';
      throw new Error(`Dataset.shuffle: bufferSize must be a positive integer, but got ${describe(bufferSize)}${hint}`);
    }
    if (seed != null && typeof seed !== 'string' && typeof seed !== 'number') {
      throw new Error(`Dataset.shuffle: seed must be a string or a number, but got ${describe(seed)}`);
    }
    const random = alea(seed || `${Date.now()}.${Math.random()}`);
    let fixedSeed = null;
    return fromIteratorFn(async () => {
      let passSeed;
      if (reshuffleEachIteration) {
        passSeed = random.int32() + random.int32();
      } else {
        if (fixedSeed === null) fixedSeed = random.int32();
        passSeed = fixedSeed;
      }
      return it.shuffleIterator(await this.iterator(), bufferSize, String(passSeed));
    }, this.size);
  }

  /** The first `count` elements (all when `count` is negative or omitted). */
  take(count) {
    const n = checkCount('Dataset.take', count);
    const size = n >= 0 && this.size != null ? Math.min(this.size, n) : this.size;
    return fromIteratorFn(async () => {
      const iter = await this.iterator();
      return n >= 0 ? it.takeIterator(iter, n) : iter;
    }, size);
  }

  /** Every element, in an array (the dataset must be finite). */
  async toArray() {
    if (this.size === Infinity) throw new Error('Dataset.toArray: cannot collect an infinite dataset into an array (use take(n) first)');
    const iter = await this.iterator();
    const out = [];
    for (let r = await iter.next(); !r.done; r = await iter.next()) out.push(r.value);
    return out;
  }
}
Dataset.MAX_BUFFER_SIZE = 10000;

class IteratorFnDataset extends Dataset {
  constructor(iteratorFn, size) {
    super();
    this._iteratorFn = iteratorFn;
    this.size = size;
  }
  iterator() { return this._iteratorFn(); }
}

function fromIteratorFn(iteratorFn, size = null) {
  return new IteratorFnDataset(iteratorFn, size);
}

/** tf.data.array(items): the items in order (tensors in them are cloned on each pass). */
function array(items) {
  if (!Array.isArray(items)) throw new Error(`tf.data.array: items must be an array, but got ${describe(items)}`);
  return fromIteratorFn(async () => it.itemsIterator(items), items.length);
}

/**
 * tf.data.zip(datasets): elements of the same structure as `datasets` (an array or object,
 * nested to any depth, whose leaves are Datasets), each leaf replaced by that dataset's
 * element; as long as the shortest dataset.
 */
function zip(datasets) {
  if (datasets == null || typeof datasets !== 'object' || isDataset(datasets)) {
    throw new Error(`tf.data.zip: expected an array or an object of Datasets, but got ${isDataset(datasets) ? 'a single Dataset' : describe(datasets)}`);
  }
  let size = null;
  let known = true;
  let leaves = 0;
  const visit = (node, path, inside) => {
    if (isDataset(node)) {
      leaves++;
      if (node.size == null) known = false;
      else size = size == null ? node.size : Math.min(size, node.size);
      return;
    }
    if (node == null || typeof node !== 'object') {
      throw new Error(`tf.data.zip: the leaves of the structure must be Datasets, but ${path} is ${describe(node)}`);
    }
    if (inside.has(node)) throw new Error('tf.data.zip: circular references are not supported');
    inside.add(node);
    for (const k of Object.keys(node)) visit(node[k], `${path}${Array.isArray(node) ? `[${k}]` : `.${k}`}`, inside);
    inside.delete(node);
  };
  visit(datasets, 'datasets', new Set());
  if (leaves === 0) size = 0;
  else if (!known) size = null;
  return fromIteratorFn(async () => {
    const start = async (node) => {
      if (isDataset(node)) return node.iterator();
      const out = Array.isArray(node) ? [] : {};
      for (const k of Object.keys(node)) out[k] = await start(node[k]);
      return out;
    };
    const isIter = (n) => n != null && typeof n.next === 'function';
    return it.zipIterator(await start(datasets), isIter);
  }, size);
}

/**
 * tf.data.generator(fn): `fn()` (called once per pass, may be async) returns an iterator —
 * a generator object, an async generator, or any object whose `next()` returns
 * `{value, done}` or a Promise of it.
 */
function generator(fn) {
  checkFunction('tf.data.generator', 'the argument', fn);
  return fromIteratorFn(async () => {
    const source = await fn();
    if (source == null || typeof source.next !== 'function') {
      throw new Error(`tf.data.generator: the function must return an iterator (e.g. a generator object), but returned ${describe(source)}`);
    }
    return it.iteratorFromNextFn(source, 'tf.data.generator');
  });
}

/**
 * tf.data.func(f): elements from `f()`, which returns `{value, done}` (or a Promise of it).
 * All passes share the one stream, as in tfjs.
 */
function func(f) {
  checkFunction('tf.data.func', 'the argument', f);
  const iter = it.iteratorFromNextFn({ next: () => f() }, 'tf.data.func');
  return fromIteratorFn(async () => iter);
}

module.exports = { Dataset, fromIteratorFn, array, zip, generator, func, isDataset };
