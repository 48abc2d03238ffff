'use strict';
// The lazy iterators behind tf.data: each `next()` returns a Promise of `{value, done}`. Most
// are async generators, whose `next()` calls queue up and run one at a time, so a consumer
// that asks for several elements at once (prefetch, shuffle) still gets them in order.
// Memory follows tfjs: an operator that consumes an element's tensors disposes them.

const { tidy } = require('../engine');
const { alea } = require('./alea');
const { cloneNest, disposeConsumed, batchElements } = require('./nest');

const done = () => ({ value: null, done: true });

/** tfjs's `LazyIterator`: `next()`, plus `toArray()` and `for await` support. */
class LazyIterator {
  constructor(next) {
    this._next = next;
  }
  next() { return this._next(); }
  async toArray() {
    const out = [];
    for (let r = await this.next(); !r.done; r = await this.next()) out.push(r.value);
    return out;
  }
  [Symbol.asyncIterator]() { return this; }
}

function fromGenerator(gen) {
  return new LazyIterator(() => gen.next().then((r) => (r.done ? done() : { value: r.value, done: false })));
}

// ---- sources --------------------------------------------------------------------------------

/** The items of an array, copied (tensors cloned) on every pass. */
function itemsIterator(items) {
  return fromGenerator((async function* items_() {
    for (let i = 0; i < items.length; i++) yield cloneNest(items[i]);
  })());
}

/** Elements from an iterator object whose `next()` returns `{value, done}` or a Promise of it. */
function iteratorFromNextFn(source, op) {
  return fromGenerator((async function* fromSource() {
    for (;;) {
      let r;
      try {
        r = await source.next();
      } catch (e) {
        if (e instanceof Error) e.message = `Error thrown while iterating through a dataset: ${e.message}`;
        throw e;
      }
      if (r == null || typeof r !== 'object') {
        throw new Error(`${op}: next() must return {value, done} (or a Promise of it), but returned ${r === null ? 'null' : typeof r}`);
      }
      if (r.done) return;
      yield r.value;
    }
  })());
}

// ---- operators --------------------------------------------------------------------------------

// `transform(x)` inside a tidy scope: tensors it makes and does not return are disposed.
function tidied(transform, x, op) {
  return tidy(() => {
    const out = transform(x);
    if (out != null && typeof out.then === 'function') {
      throw new Error(`${op}: the function returned a Promise; use mapAsync for asynchronous transforms`);
    }
    return out;
  });
}

/** `transform` applied to each element; the element's tensors not in the result are disposed. */
function mapIterator(upstream, transform, isAsync) {
  return fromGenerator((async function* map() {
    for (;;) {
      const r = await upstream.next();
      if (r.done) return;
      const out = isAsync ? await transform(r.value) : tidied(transform, r.value, 'Dataset.map');
      disposeConsumed(r.value, out);
      yield out;
    }
  })());
}

/** The elements for which `predicate` is truthy; the others are disposed. */
function filterIterator(upstream, predicate) {
  return fromGenerator((async function* filter() {
    for (;;) {
      const r = await upstream.next();
      if (r.done) return;
      if (tidied(predicate, r.value, 'Dataset.filter')) yield r.value;
      else disposeConsumed(r.value, null);
    }
  })());
}

/** At most `count` elements (all when `count` is negative or undefined). */
function takeIterator(upstream, count) {
  let taken = 0;
  return new LazyIterator(async () => {
    if (taken++ >= count) return done();
    return upstream.next();
  });
}

/** All but the first `count` elements; the skipped ones are disposed. */
function skipIterator(upstream, count) {
  return fromGenerator((async function* skip() {
    for (let i = 0; i < count; i++) {
      const r = await upstream.next();
      if (r.done) return;
      disposeConsumed(r.value, null);
    }
    for (;;) {
      const r = await upstream.next();
      if (r.done) return;
      yield r.value;
    }
  })());
}

/**
 * The elements of each iterator `nextIterator()` returns, one iterator after the other,
 * until it returns null. With `stopWhenEmpty`, an iterator that yields nothing ends the chain
 * (so an empty dataset repeated forever is empty rather than a hang).
 */
function chainIterator(nextIterator, stopWhenEmpty) {
  return fromGenerator((async function* chain() {
    for (let it = await nextIterator(); it != null; it = await nextIterator()) {
      let any = false;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        any = true;
        yield r.value;
      }
      if (!any && stopWhenEmpty) return;
    }
  })());
}

/** Elements grouped `size` at a time and batched (see nest.batchElements). */
function batchIterator(upstream, size, smallLastBatch) {
  return fromGenerator((async function* batch() {
    for (;;) {
      const rows = [];
      let ended = false;
      while (rows.length < size) {
        const r = await upstream.next();
        if (r.done) { ended = true; break; }
        rows.push(r.value);
      }
      if (rows.length === size || (smallLastBatch && rows.length > 0)) yield batchElements(rows);
      else disposeConsumed(rows, null);
      if (ended) return;
    }
  })());
}

/**
 * tfjs's windowed shuffle: a window of pending reads; each step takes a random one (the last
 * moves into its place) and, unless the input is exhausted, reads one more. The draws are
 * those of tfjs, so a seed gives tfjs's order.
 */
function shuffleIterator(upstream, windowSize, seed) {
  const random = alea(seed);
  const window = [];
  let exhausted = false;
  const refill = () => { while (window.length < windowSize) window.push(upstream.next()); };
  return fromGenerator((async function* shuffle() {
    for (;;) {
      if (!exhausted) refill();
      let picked = null;
      while (window.length > 0) {
        const i = Math.floor(random() * window.length);
        const chosen = window[i];
        const last = window.pop();
        if (i < window.length) window[i] = last;
        const r = await chosen;
        if (r.done) {
          exhausted = true;
        } else {
          refill();
          picked = r;
          break;
        }
      }
      if (picked === null) return;
      yield picked.value;
    }
  })());
}

/** Keeps `bufferSize` reads of `upstream` in flight ahead of the consumer. */
function prefetchIterator(upstream, bufferSize) {
  const buffer = [];
  return new LazyIterator(() => {
    while (buffer.length < bufferSize) buffer.push(upstream.next());
    return buffer.shift();
  });
}

/**
 * Elements of the same structure as `iterators` (arrays and objects whose leaves are
 * iterators), each leaf replaced by that iterator's next element; ends with the shortest.
 */
function zipIterator(iterators, isLeaf) {
  const leaves = [];
  const collect = (node) => {
    if (isLeaf(node)) leaves.push(node);
    else for (const k of Object.keys(node)) collect(node[k]);
  };
  collect(iterators);
  return fromGenerator((async function* zip() {
    if (leaves.length === 0) return;
    for (;;) {
      const results = await Promise.all(leaves.map((it) => it.next()));
      if (results.some((r) => r.done)) return;
      const values = new Map(leaves.map((it, i) => [it, results[i].value]));
      const build = (node) => {
        if (isLeaf(node)) return values.get(node);
        const out = Array.isArray(node) ? [] : {};
        for (const k of Object.keys(node)) out[k] = build(node[k]);
        return out;
      };
      yield build(iterators);
    }
  })());
}

module.exports = {
  LazyIterator, itemsIterator, iteratorFromNextFn, mapIterator, filterIterator, takeIterator, skipIterator,
  chainIterator, batchIterator, shuffleIterator, prefetchIterator, zipIterator,
};
