'use strict';
// tf.data against real TensorFlow.js 4.22: each pipeline runs through both libraries and must
// give the same elements, the same `size` and the same number of tensors left behind. Where
// tfjs 4.22 has a bug (noted at each test), the behaviour here is stated with its own numbers.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const tf = require('..');
const tfjs = require('@tensorflow/tfjs');
// No first-use advice about tfjs-node in the test output.
tfjs.env().set('IS_TEST', true);

const PEOPLE = path.join(__dirname, 'fixtures', 'people.csv');
const PEOPLE_URL = `file://${PEOPLE}`;

// Elements as plain data: tensors become {shape, dtype, values}.
function plain(lib, v) {
  if (v instanceof lib.Tensor) return { shape: v.shape, dtype: v.dtype, values: Array.from(v.dataSync()) };
  if (Array.isArray(v)) return v.map((x) => plain(lib, x));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(lib, x)]));
  return v;
}

// Lets the garbage collector free forgotten tensors of earlier tests now, not mid-count.
async function settle() {
  if (!global.gc) return;
  global.gc();
  await new Promise((r) => setTimeout(r, 0));
  await new Promise((r) => setImmediate(r));
}

// Builds a dataset with `lib`, collects it, and reports what came out and what stayed allocated
// (the tensors `build` made, plus any the pipeline leaked).
async function drain(lib, build) {
  await settle();
  const before = lib.memory().numTensors;
  const ds = build(lib);
  const elements = await ds.toArray();
  const out = { size: ds.size, elements: plain(lib, elements) };
  lib.dispose(elements);
  out.remaining = lib.memory().numTensors - before;
  return out;
}

async function sameAsTfjs(build) {
  const want = await drain(tfjs, build);
  const got = await drain(tf, build);
  assert.deepEqual(got, want);
  return got;
}

async function errorOf(promiseOrFn) {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

const range = (n) => [...Array(n).keys()];

test('array: items in order, size known; tensors are cloned on each pass', async () => {
  const r = await sameAsTfjs((lib) => lib.data.array([1, 2, 3]));
  assert.deepEqual(r, { size: 3, elements: [1, 2, 3], remaining: 0 });
  await sameAsTfjs((lib) => lib.data.array([{ a: 1, b: [2, 'x'] }, { a: null, b: [] }]));
  // The source tensor survives the pass (the consumer got a clone), so 1 tensor remains.
  const t = await sameAsTfjs((lib) => lib.data.array([lib.tensor([1, 2])]));
  assert.equal(t.remaining, 1);
});

test('batch: numbers, booleans, arrays, typed arrays, tensors and nested objects', async () => {
  const r = await sameAsTfjs((lib) => lib.data.array([1, 2, 3, 4, 5]).batch(2));
  assert.deepEqual(r.elements.map((e) => e.values), [[1, 2], [3, 4], [5]]);
  const dropped = await sameAsTfjs((lib) => lib.data.array([1, 2, 3, 4, 5]).batch(2, false));
  assert.equal(dropped.size, 2);
  await sameAsTfjs((lib) => lib.data.array([[1, 2], [3, 4], [5, 6]]).batch(2));
  await sameAsTfjs((lib) => lib.data.array([true, false, true]).batch(3));
  await sameAsTfjs((lib) => lib.data.array([new Float32Array([1, 2]), new Float32Array([3, 4])]).batch(2));
  await sameAsTfjs((lib) => lib.data.array([{ xs: { a: 1, b: 2 }, ys: [1] }, { xs: { a: 3, b: 4 }, ys: [0] }]).batch(2));
  // Missing numbers: null batches as 0 (and array() turns undefined into null, as tfjs does).
  const missing = await sameAsTfjs((lib) => lib.data.array([{ a: null }, { a: undefined }, { a: 2 }]).batch(3));
  assert.deepEqual(missing.elements[0].a.values, [0, 0, 2]);
  // Stacking tensors disposes the element tensors: 3 sources + 2 batches, which drain() disposes.
  const stacked = await sameAsTfjs((lib) => lib.data.array([lib.tensor([1, 2]), lib.tensor([3, 4]), lib.tensor([5, 6])]).batch(2));
  assert.equal(stacked.remaining, 3);
  await sameAsTfjs((lib) => lib.data.array([lib.tensor([1], [1], 'int32'), lib.tensor([2], [1], 'int32')]).batch(2));
});

test('batch: arrays of tensors batch position by position (tfjs 4.22 makes an empty tensor of them)', async () => {
  const ds = tf.data.array([[tf.tensor([1, 2]), tf.scalar(0)], [tf.tensor([3, 4]), tf.scalar(1)]]).batch(2);
  const [b] = await ds.toArray();
  assert.deepEqual(plain(tf, b), [
    { shape: [2, 2], dtype: 'float32', values: [1, 2, 3, 4] },
    { shape: [2], dtype: 'float32', values: [0, 1] },
  ]);
});

test('batch: values that cannot form one tensor are an error naming where they are', async () => {
  const strings = await errorOf(tf.data.array([{ name: 'a' }, { name: 'b' }]).batch(2).toArray());
  assert.match(strings.message, /^Dataset\.batch: cannot batch the values at name: .*string/);
  const ragged = await errorOf(tf.data.array([[1, 2], [3]]).batch(2).toArray());
  assert.match(ragged.message, /^Dataset\.batch: cannot batch the values at the element root/);
  const mixed = await errorOf(tf.data.array([tf.scalar(1), 2]).batch(2).toArray());
  assert.match(mixed.message, /element 1 holds number where element 0 holds a Tensor/);
});

test('map runs in a tidy scope and disposes the element tensors it consumed; mapAsync awaits', async () => {
  // Per element: ones() and the product are intermediates; only {x, y} survive the map.
  const r = await sameAsTfjs((lib) => lib.data.array([1, 2, 3])
    .map((v) => { const s = lib.scalar(v); const t = lib.ones([2]); return { x: lib.mul(s, lib.scalar(2)), y: t.add(s) }; })
    .batch(2));
  assert.equal(r.remaining, 0);
  assert.deepEqual(r.elements[0].x.values, [2, 4]);
  await sameAsTfjs((lib) => lib.data.array([1, 2]).mapAsync(async (x) => lib.scalar(x * 10)));
  await sameAsTfjs((lib) => lib.data.array([lib.tensor([1, 2]), lib.tensor([3, 4])]).map((t) => lib.sum(t)));
  await assert.rejects(tf.data.array([1]).map(async (x) => x).toArray(), /Dataset\.map: the function returned a Promise; use mapAsync/);
});

test('filter, take, skip, repeat, concatenate, prefetch: elements and sizes', async () => {
  const scalars = (lib) => lib.data.array([1, 2, 3, 4]).map((x) => lib.scalar(x));
  // Rejected and skipped tensors are disposed.
  assert.equal((await sameAsTfjs((lib) => scalars(lib).filter((t) => t.dataSync()[0] % 2 === 0))).remaining, 0);
  assert.equal((await sameAsTfjs((lib) => scalars(lib).skip(3))).remaining, 0);
  const cases = [
    (lib) => lib.data.array([1, 2, 3, 4]).filter((x) => x % 2 === 0),
    (lib) => lib.data.array([1, 2, 3]).take(2),
    (lib) => lib.data.array([1, 2, 3]).take(0),
    (lib) => lib.data.array([1, 2, 3]).take(9),
    (lib) => lib.data.array([1, 2, 3]).skip(1),
    (lib) => lib.data.array([1, 2, 3]).skip(0),
    (lib) => lib.data.array([1, 2, 3]).skip(5),
    (lib) => lib.data.array([1, 2]).repeat(3),
    (lib) => lib.data.array([1, 2]).repeat(0),
    (lib) => lib.data.array([1, 2]).repeat().take(5),
    (lib) => lib.data.array([1, 2, 3]).batch(2).repeat(2),
    (lib) => lib.data.array([1, 2, 3]).repeat(2).batch(4),
    (lib) => lib.data.array([1, 2]).concatenate(lib.data.array([3])),
    (lib) => lib.data.array([]).concatenate(lib.data.array([3])),
    (lib) => lib.data.array([1, 2, 3]).prefetch(2),
    (lib) => lib.data.array([1, 2, 3]).filter((x) => x > 1).take(1),
  ];
  for (const build of cases) await sameAsTfjs(build);
  const sizes = (lib) => [
    lib.data.array([1, 2, 3]).repeat().size,
    lib.data.array([1, 2, 3]).repeat().take(4).size,
    lib.data.array([1, 2, 3]).repeat().skip(4).size,
    lib.data.array([1, 2, 3]).repeat().batch(2).size,
    lib.data.array([1, 2, 3]).repeat().filter((x) => x).size,
    lib.data.array([1, 2, 3]).filter((x) => x).repeat(2).size,
    lib.data.array([1, 2, 3]).concatenate(lib.data.array([1]).repeat()).size,
    lib.data.array([1, 2, 3]).filter((x) => x).concatenate(lib.data.array([1])).size,
    lib.data.generator(function* gen() { yield 1; }).size,
  ];
  assert.deepEqual(sizes(tf), sizes(tfjs));
  assert.deepEqual(sizes(tf), [Infinity, 4, Infinity, Infinity, Infinity, null, Infinity, null, null]);
});

test('take and skip with a negative or missing count keep every element, and size says so (tfjs 4.22 reports -1 and 0)', async () => {
  const ds = tf.data.array([1, 2, 3]);
  for (const d of [ds.take(-1), ds.take(), ds.skip(-1), ds.skip()]) {
    assert.equal(d.size, 3);
    assert.deepEqual(await d.toArray(), [1, 2, 3]);
  }
});

test('repeat of an empty dataset ends instead of looping forever', async () => {
  const ds = tf.data.array([]).repeat();
  assert.equal(ds.size, 0);
  assert.deepEqual(await ds.toArray(), []);
  assert.deepEqual(await tf.data.generator(function* none() {}).repeat().take(3).toArray(), []);
});

test('shuffle: a seed gives tfjs\'s order, pass after pass', async () => {
  const r = await sameAsTfjs((lib) => lib.data.array(range(20)).shuffle(5, 'seed'));
  assert.notDeepEqual(r.elements, range(20));
  assert.deepEqual([...r.elements].sort((a, b) => a - b), range(20));
  await sameAsTfjs((lib) => lib.data.array(range(20)).shuffle(100, 42));
  await sameAsTfjs((lib) => lib.data.array(range(20)).shuffle(1, 'seed'));
  // Each pass of a repeated shuffle draws a new order, the same new order as tfjs.
  await sameAsTfjs((lib) => lib.data.array(range(7)).shuffle(3, 'x').repeat(3));
  await sameAsTfjs((lib) => lib.data.array(range(10)).map((x) => lib.scalar(x)).shuffle(4, 'q').batch(3));
  await sameAsTfjs((lib) => lib.data.array(range(10)).shuffle(4, 'q').take(3));
  // Two datasets with one seed agree; another seed differs.
  const order = async (seed) => tf.data.array(range(30)).shuffle(30, seed).toArray();
  assert.deepEqual(await order('a'), await order('a'));
  assert.notDeepEqual(await order('a'), await order('b'));
});

test('shuffle with reshuffleEachIteration false repeats its first order (tfjs 4.22 reshuffles anyway)', async () => {
  const ds = tf.data.array(range(12)).shuffle(12, 'fixed', false);
  const first = await ds.toArray();
  assert.deepEqual(await ds.toArray(), first);
  assert.deepEqual(await ds.toArray(), first);
  // The first pass is tfjs's first pass for the same arguments.
  assert.deepEqual(first, await tfjs.data.array(range(12)).shuffle(12, 'fixed', false).toArray());
  const again = tf.data.array(range(12)).shuffle(12, 'fixed');
  assert.notDeepEqual(await again.toArray(), await again.toArray());
});

test('zip: arrays and objects of datasets, nested; as long as the shortest', async () => {
  const r = await sameAsTfjs((lib) => lib.data.zip([lib.data.array([1, 2, 3]), lib.data.array(['a', 'b'])]));
  assert.deepEqual(r.elements, [[1, 'a'], [2, 'b']]);
  assert.equal(r.size, 2);
  const deep = (lib) => lib.data.zip([lib.data.array([1, 2]), [lib.data.array([3, 4]), { q: lib.data.array([5, 6]) }]]);
  assert.deepEqual((await drain(tf, deep)).elements, (await drain(tfjs, deep)).elements);
  await sameAsTfjs((lib) => lib.data.zip({ xs: lib.data.array([[1, 2], [3, 4], [5, 6]]).map((x) => lib.tensor(x)), ys: lib.data.array([1, 0, 1]) }).batch(2));
  // The size of nested datasets is known (tfjs 4.22 reports NaN or null).
  assert.equal(deep(tf).size, 2);
  const nested = tf.data.zip({ a: tf.data.array([1, 2, 3]), b: { c: tf.data.array([4, 5, 6, 7]) } });
  assert.equal(nested.size, 3);
  assert.deepEqual(await nested.toArray(), [{ a: 1, b: { c: 4 } }, { a: 2, b: { c: 5 } }, { a: 3, b: { c: 6 } }]);
  assert.equal(tf.data.zip([tf.data.array([1]), tf.data.generator(function* g() { yield 1; })]).size, null);
  assert.throws(() => tf.data.zip(5), /tf\.data\.zip: expected an array or an object of Datasets, but got 5/);
  assert.throws(() => tf.data.zip([tf.data.array([1]), 3]), /the leaves of the structure must be Datasets, but datasets\[1\] is 3/);
  assert.throws(() => tf.data.zip(tf.data.array([1])), /but got a single Dataset/);
});

test('generator: sync and async generators, iterators with sync or Promise next()', async () => {
  await sameAsTfjs((lib) => lib.data.generator(function* gen() { yield 1; yield 2; }));
  await sameAsTfjs((lib) => lib.data.generator(async function* gen() { yield 1; yield 2; }));
  await sameAsTfjs((lib) => lib.data.generator(async () => (function* gen() { yield 7; }())));
  const counter = (lib, async) => lib.data.generator(() => {
    let i = 0;
    const next = () => (i < 3 ? { value: i++, done: false } : { value: undefined, done: true });
    return { next: async ? async () => next() : next };
  });
  await sameAsTfjs((lib) => counter(lib, false));
  await sameAsTfjs((lib) => counter(lib, true));
  // Tensors a generator makes are the consumer's: batching them leaves nothing behind.
  const r = await sameAsTfjs((lib) => lib.data.generator(function* gen() {
    for (let i = 0; i < 5; i++) yield { xs: lib.fill([2], i), ys: lib.scalar(i) };
  }).batch(2));
  assert.equal(r.remaining, 0);
  // Each pass calls the function again.
  let calls = 0;
  const ds = tf.data.generator(function* gen() { calls++; yield calls; });
  assert.deepEqual([await ds.toArray(), await ds.toArray()], [[1], [2]]);
});

test('generator errors: not a function, no iterator, a throwing generator', async () => {
  assert.throws(() => tf.data.generator(5), /tf\.data\.generator: the argument must be a function, but got 5/);
  await assert.rejects(tf.data.generator(() => 5).toArray(), /tf\.data\.generator: the function must return an iterator .*but returned 5/);
  await assert.rejects(tf.data.generator(() => ({ next: () => 3 })).toArray(), /next\(\) must return \{value, done\}/);
  class Boom extends Error {}
  const e = await errorOf(tf.data.generator(function* gen() { yield 1; throw new Boom('boom'); }).toArray());
  assert.ok(e instanceof Boom);
  assert.equal(e.message, 'Error thrown while iterating through a dataset: boom');
});

test('func: one shared stream of {value, done} results', async () => {
  let i = 0;
  const ds = tf.data.func(() => (i < 4 ? { value: i++, done: false } : { value: null, done: true }));
  assert.deepEqual(await ds.take(2).toArray(), [0, 1]);
  assert.deepEqual(await ds.toArray(), [2, 3]);
});

test('iterator(): next() resolves to {value, done}, then stays done; for await works', async () => {
  const it = await tf.data.array([1, 2]).iterator();
  assert.deepEqual(await it.next(), { value: 1, done: false });
  assert.deepEqual(await it.next(), { value: 2, done: false });
  assert.deepEqual(await it.next(), { value: null, done: true });
  assert.deepEqual(await it.next(), { value: null, done: true });
  const seen = [];
  for await (const x of await tf.data.array([3, 4]).map((v) => v * 2).iterator()) seen.push(x);
  assert.deepEqual(seen, [6, 8]);
  // Several reads in flight at once still come back in order.
  const it2 = await tf.data.array(range(6)).map((v) => v + 1).shuffle(2, 's').iterator();
  const all = await Promise.all(range(7).map(() => it2.next()));
  assert.deepEqual(all.map((r) => r.value).slice(0, 6), await tfjs.data.array(range(6)).map((v) => v + 1).shuffle(2, 's').toArray());
  assert.equal(all[6].done, true);
});

test('forEachAsync visits every element, awaits async callbacks, and disposes the element tensors', async () => {
  const seen = [];
  await tf.data.array([1, 2, 3]).forEachAsync((x) => seen.push(x));
  assert.deepEqual(seen, [1, 2, 3]);
  // tfjs 4.22 does not await an async callback; awaiting it keeps the order of side effects.
  const later = [];
  await tf.data.array([1, 2]).forEachAsync(async (x) => { await new Promise((r) => setTimeout(r, 2)); later.push(x); });
  assert.deepEqual(later, [1, 2]);
  await settle();
  const before = tf.memory().numTensors;
  let sum = 0;
  await tf.data.array(range(10)).map((x) => tf.fill([3], x)).batch(4).forEachAsync((b) => {
    const s = b.sum();
    sum += s.dataSync()[0];
    s.dispose();
  });
  assert.equal(sum, 3 * 45);
  assert.equal(tf.memory().numTensors, before);
});

test('a long pipeline over many batches does not grow numTensors', async () => {
  const pipeline = tf.data.generator(function* gen() {
    for (let i = 0; i < 3000; i++) yield { x: tf.fill([4], i % 7), label: i % 3 };
  })
    .map(({ x, label }) => ({ xs: x.mul(tf.scalar(2)).add(tf.scalar(1)), ys: tf.oneHot(tf.tensor1d([label], 'int32'), 3).reshape([3]) }))
    .filter((e) => e.ys.argMax().dataSync()[0] !== 2)
    .shuffle(64, 'long')
    .batch(16)
    .prefetch(3);
  await settle();
  const before = tf.memory().numTensors;
  // In flight at most: the shuffle window (64 elements of 2 tensors), a batch being gathered
  // (16 elements), and 3 prefetched batches. A leak of one tensor per element would pass this
  // bound within the first 100 of the 2000 elements.
  const inFlight = 2 * 64 + 2 * 16 + 2 * 3 + 2;
  let batches = 0;
  const it = await pipeline.iterator();
  for (let r = await it.next(); !r.done; r = await it.next()) {
    batches++;
    assert.deepEqual(r.value.xs.shape, [r.value.xs.shape[0], 4]);
    tf.dispose(r.value);
    const live = tf.memory().numTensors - before;
    assert.ok(live <= inFlight, `${live} tensors alive after ${batches} batches`);
  }
  assert.equal(batches, Math.ceil(2000 / 16));
  // Once the stream is drained, nothing of it remains.
  assert.equal(tf.memory().numTensors, before);
  // The same pipeline through tfjs keeps no tensors either.
  const small = (lib) => lib.data.array(range(40)).map((i) => ({ xs: lib.fill([4], i % 7), ys: lib.oneHot(lib.tensor1d([i % 3], 'int32'), 3).reshape([3]) }))
    .filter((e) => e.ys.argMax().dataSync()[0] !== 2).shuffle(8, 'long').batch(5);
  assert.equal((await sameAsTfjs(small)).remaining, 0);
});

test('argument errors name the method and what it expected', async () => {
  const ds = tf.data.array([1, 2, 3]);
  assert.throws(() => ds.batch(0), /Dataset\.batch: batchSize must be a positive integer, but got 0/);
  assert.throws(() => ds.batch(2.5), /batchSize must be a positive integer, but got 2\.5/);
  assert.throws(() => ds.shuffle(), /Dataset\.shuffle: bufferSize must be a positive integer, but got undefined \(the dataset has 3 elements/);
  assert.throws(() => ds.shuffle(0), /bufferSize must be a positive integer/);
  assert.throws(() => ds.shuffle(2, {}), /seed must be a string or a number/);
  assert.throws(() => ds.prefetch(), /Dataset\.prefetch: bufferSize must be a positive integer, but got undefined/);
  assert.throws(() => ds.take('2'), /Dataset\.take: count must be an integer/);
  assert.throws(() => ds.repeat(NaN), /Dataset\.repeat: count must be an integer/);
  assert.throws(() => ds.map(), /Dataset\.map: the transform must be a function, but got undefined/);
  assert.throws(() => ds.filter(3), /Dataset\.filter: the predicate must be a function, but got 3/);
  assert.throws(() => ds.concatenate([1]), /Dataset\.concatenate: expected a Dataset, but got an array/);
  assert.throws(() => tf.data.array('abc'), /tf\.data\.array: items must be an array, but got string/);
  await assert.rejects(ds.repeat().toArray(), /Dataset\.toArray: cannot collect an infinite dataset/);
  await assert.rejects(ds.forEachAsync(), /Dataset\.forEachAsync: f must be a function/);
  await assert.rejects(new tf.data.Dataset().toArray(), /Dataset\.iterator: Dataset does not implement iterator\(\)/);
});

// ---- csv ------------------------------------------------------------------------------------------

test('csv: rows as objects, numbers read as tfjs reads them, quoted and empty fields', async () => {
  const r = await sameAsTfjs((lib) => lib.data.csv(PEOPLE_URL));
  assert.equal(r.size, null);
  assert.deepEqual(r.elements[1], { id: 2, height: 1.82, weight: undefined, name: 'Bob ""B""', smoker: 'false', label: 1 });
  assert.deepEqual(r.elements[3], { id: 4, height: 1.75, weight: 74, name: undefined, smoker: 'TRUE', label: 0 });
  assert.deepEqual(await tf.data.csv(PEOPLE_URL).columnNames(), ['id', 'height', 'weight', 'name', 'smoker', 'label']);
});

test('csv: column configs (isLabel → {xs, ys}, dtype, default, required, configuredColumnsOnly)', async () => {
  const configs = [
    { columnConfigs: { label: { isLabel: true } } },
    { columnConfigs: { label: { isLabel: true, dtype: 'int32' }, smoker: { dtype: 'bool' }, weight: { default: -1 }, height: { dtype: 'int32' } } },
    { configuredColumnsOnly: true, columnConfigs: { label: { isLabel: true }, height: {}, weight: { default: 0 } } },
    { columnNames: ['a', 'b', 'c', 'd', 'e', 'f'], columnConfigs: { f: { isLabel: true } } },
  ];
  for (const config of configs) {
    const want = await tfjs.data.csv(PEOPLE_URL, config).columnNames();
    assert.deepEqual(await tf.data.csv(PEOPLE_URL, config).columnNames(), want);
    await sameAsTfjs((lib) => lib.data.csv(PEOPLE_URL, config));
  }
  const labelled = await tf.data.csv(PEOPLE_URL, configs[2]).toArray();
  assert.deepEqual(labelled[1], { xs: { height: 1.82, weight: 0 }, ys: { label: 1 } });
  // Batched: rows of features and labels become tensors; a missing number becomes NaN.
  await sameAsTfjs((lib) => lib.data.csv(PEOPLE_URL, { columnConfigs: { label: { isLabel: true } } })
    .map(({ xs, ys }) => ({ xs: [xs.height, xs.weight], ys: [ys.label] })).batch(4));
  const e = await errorOf(tf.data.csv(PEOPLE_URL, { columnConfigs: { weight: { required: true } } }).toArray());
  assert.match(e.message, /^tf\.data\.csv: required column 'weight' is empty in line 3 of file:\/\/.*people\.csv: "2,1\.82,,/);
});

test('csv: delimiters, whitespace, headerless files, line endings', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrograd-csv-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name, text) => { fs.writeFileSync(path.join(dir, name), text); return `file://${path.join(dir, name)}`; };
  const ws = file('ws.csv', 'a b  c\n1 2  3\n4  5 6\n');
  const semi = file('semi.csv', 'x;y\r\n1;2\r\n3;4');
  const noHeader = file('nohdr.csv', '1,2\n3,4\n');
  await sameAsTfjs((lib) => lib.data.csv(ws, { delimWhitespace: true }));
  await sameAsTfjs((lib) => lib.data.csv(ws, { delimiter: ' ' }));
  await sameAsTfjs((lib) => lib.data.csv(semi, { delimiter: ';' }));
  await sameAsTfjs((lib) => lib.data.csv(semi, { delimiter: ';', columnNames: ['u', 'v'] }));
  const r = await sameAsTfjs((lib) => lib.data.csv(noHeader, { hasHeader: false, columnNames: ['p', 'q'] }));
  assert.deepEqual(r.elements, [{ p: 1, q: 2 }, { p: 3, q: 4 }]);
  await sameAsTfjs((lib) => lib.data.csv(file('hdr.csv', 'a,b\n')));
  // A plain path works like a file:// URL.
  assert.deepEqual(await tf.data.csv(path.join(dir, 'semi.csv'), { delimiter: ';' }).toArray(), [{ x: 1, y: 2 }, { x: 3, y: 4 }]);
  // A file larger than one read chunk, with a multi-byte character across the chunk boundary.
  const rows = range(30000).map((i) => `${i},é${i}`);
  const big = file('big.csv', `n,s\n${rows.join('\n')}\n`);
  const all = await tf.data.csv(big).toArray();
  assert.equal(all.length, 30000);
  assert.deepEqual(all[29999], { n: 29999, s: 'é29999' });
  assert.ok(all.every((row, i) => row.s === `é${i}`));

  const bad = async (text, config, pattern) => assert.match((await errorOf(tf.data.csv(file('bad.csv', text), config).toArray())).message, pattern);
  await bad('a,b\n1,2\n3\n', {}, /tf\.data\.csv: line 3 of .*bad\.csv has 1 field\(s\), but there are 2 columns \(a, b\): "3"/);
  await bad('', {}, /tf\.data\.csv: .*bad\.csv has no data \(expected a header line\)/);
  await bad('a,a\n1,2\n', {}, /tf\.data\.csv: duplicate column names: a/);
  await bad('1,2\n', { hasHeader: false }, /columnNames must be given when hasHeader is false/);
  await bad('a,b\n1,2\n', { columnNames: ['x'] }, /columnNames has 1 names, but the header line of .* has 2 columns/);
  await bad('a,b\n1,2\n', { columnConfigs: { z: {} } }, /columnConfigs has 'z', which is not a column \(columns: a, b\)/);
  await assert.rejects(tf.data.csv(`file://${path.join(dir, 'missing.csv')}`).toArray(), /tf\.data\.csv: cannot read file:\/\/.*missing\.csv: ENOENT/);
  assert.throws(() => tf.data.csv(ws, { delimiter: ' ', delimWhitespace: true }), /give either delimiter or delimWhitespace/);
  assert.throws(() => tf.data.csv(ws, { delimiter: '::' }), /delimiter must be a single character/);
  assert.throws(() => tf.data.csv(ws, { header: true }), /unknown config key 'header'/);
  assert.throws(() => tf.data.csv(ws, { columnConfigs: { a: { dtype: 'float64' } } }), /columnConfigs\.a\.dtype must be one of/);
  assert.throws(() => tf.data.csv(42), /source must be a 'file:\/\/' URL, a path or an http\(s\) URL, but got number/);
});

test('csv: fields split exactly as tfjs splits them, on awkward lines', () => {
  const { splitFields } = require('../lib/data/csv');
  const lines = ['', ',', 'a', 'a,', ',a', '"a"', '"a,b",c', '"a""b",c', '"a"b,c', '"a" ,c', 'a"b,c', '"', '""', '"""',
    '""""', '"a', 'a,"b', '"a"x"y",z', ' a , b ', 'a,,b', '"",""', '"a""",b', 'x,"y""z""",w', 'é,"ü"', '"a""b""c"', ',,',
    '"a"  "b"', '"a","b","c"', 'a,b,"c', '"x""', '""x', 'a""b', '  a  b  ', '"a b" c'];
  const configs = [[',', false], [';', false], [' ', false], [' ', true]];
  for (const [delimiter, collapse] of configs) {
    const reference = new tfjs.data.CSVDataset(null, { columnNames: ['a'], ...(collapse ? { delimWhitespace: true } : { delimiter }) });
    for (const raw of lines) {
      const line = delimiter === ',' || delimiter === ' ' ? raw : raw.replace(/,/g, delimiter);
      assert.deepEqual(splitFields(line, delimiter, collapse), reference.parseRow(line, false), `${JSON.stringify(line)} with '${delimiter}'${collapse ? ' (whitespace)' : ''}`);
    }
  }
});

test('csv: an http URL is fetched (a local server); a failed request is an error', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/people.csv') { res.writeHead(200, { 'content-type': 'text/csv' }); res.end(fs.readFileSync(PEOPLE)); return; }
    res.writeHead(404); res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.address().port}`;
  assert.deepEqual(await tf.data.csv(`${base}/people.csv`).toArray(), await tf.data.csv(PEOPLE_URL).toArray());
  await assert.rejects(tf.data.csv(`${base}/nope.csv`).toArray(), /tf\.data\.csv: fetching http:\/\/127\.0\.0\.1:\d+\/nope\.csv failed: 404/);
});
