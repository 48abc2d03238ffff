// A TypeScript user's script against ferrograd's typed API: it must type-check under `strict`
// with no diagnostics (__test__/types.test.js). The annotations state the types each call
// should produce, so a regression in index.d.ts shows up here as an error.
import * as tf from 'ferrograd';

const report: string[] = [];
const note = (label: string, t: tf.Tensor): void => {
  report.push(`${label}: [${t.shape}] ${t.dtype} ${Array.from(t.dataSync()).join(',')}`);
};

// ---- creation --------------------------------------------------------------------------------
function creation(): void {
  const a: tf.Tensor2D = tf.tensor2d([[1, 2], [3, 4]]);
  const b: tf.Tensor1D = tf.tensor1d([10, 20]);
  const c: tf.Tensor<tf.Rank.R2> = tf.tensor<tf.Rank.R2>([1, 2, 3, 4, 5, 6], [2, 3], 'float32');
  const flags: tf.Tensor1D = tf.tensor1d([true, false, true]);
  const ints: tf.Tensor1D = tf.tensor1d(new Int32Array([0, 2, 1]), 'int32');
  const s: tf.Scalar = tf.scalar(3);
  const z: tf.Tensor2D = tf.zeros([2, 2]);
  const o: tf.Tensor2D = tf.onesLike(a);
  const f = tf.fill([2, 3], 7, 'int32');
  const e: tf.Tensor2D = tf.eye(3);
  const r: tf.Tensor1D = tf.range(0, 10, 2, 'int32');
  const l: tf.Tensor1D = tf.linspace(0, 1, 5);
  const h = tf.oneHot(ints, 3);
  const n: tf.Tensor2D = tf.randomNormal([2, 2], 0, 1, 'float32', 42);
  const u: tf.Tensor<tf.Rank.R3> = tf.randomUniform([1, 2, 3], -1, 1);
  const tn = tf.truncatedNormal([4], 0, 0.1);

  const buf = tf.buffer<tf.Rank.R2>([2, 2]);
  buf.set(5, 0, 1);
  const v: number = buf.get(0, 1);
  const fromBuf: tf.Tensor2D = buf.toTensor();

  const shape: [number, number] = a.shape;
  const rows: number[][] = a.arraySync();
  const first: number = s.arraySync();
  report.push(`${shape} ${rows[1][0]} ${first} ${v} ${a.rank} ${a.size} ${a.id >= 0}`);
  for (const t of [a, b, c, flags, s, z, o, f, e, r, l, h, n, u, tn, fromBuf]) note('created', t);
  tf.dispose([a, b, c, flags, ints, s, z, o, f, e, r, l, h, n, u, tn, fromBuf]);
}

// ---- ops, chained and functional --------------------------------------------------------------
function ops(): void {
  const a = tf.tensor2d([[1, -2], [3, 4]]);
  const b = tf.tensor1d([0.5, 2]);

  const chained: tf.Tensor = a.matMul(a).add(b).relu().sum(1);
  const same: tf.Tensor2D = a.abs().square().sqrt();
  const mean: tf.Scalar = a.mean();
  const cmp = a.greater(0).logicalAnd(a.less(4));
  const picked: tf.Tensor2D = tf.where(cmp, a, tf.zerosLike(a));
  const clipped = tf.clipByValue(a, -1, 1).leakyRelu(0.1);
  const reshaped = a.reshape<tf.Tensor1D>([4]).expandDims<tf.Tensor2D>(0);
  const [left, right] = tf.split<tf.Tensor2D>(a, 2, 1);
  const joined: tf.Tensor2D = tf.concat([left, right], 1);
  const stacked = tf.stack([b, b]);
  const parts: tf.Tensor[] = tf.unstack(a);
  const sl: tf.Tensor2D = tf.slice2d(a, [0, 0], [1, 2]);
  const gathered: tf.Tensor2D = tf.gather(a, tf.tensor1d([1, 0], 'int32'));
  const padded = a.pad([[1, 1], [0, 0]]);
  const { values, indices } = tf.topk(b, 1);
  const { mean: mu, variance } = tf.moments(a, 0);
  const normed: tf.Tensor = tf.norm(a, 'fro');
  const lse = tf.logSumExp(a, 1, true);
  const am = a.argMax(1);
  const cs = tf.cumsum(b, 0, false, true);
  const t: tf.Tensor2D = tf.transpose(a, [1, 0]);
  const outer: tf.Tensor2D = tf.outerProduct(b, b);
  const dotted = tf.dot(b, b);
  const prod = tf.einsum('ij,jk->ik', a, a);
  const mm: tf.Tensor3D = tf.matMul(tf.ones([2, 2, 3]), tf.ones([2, 3, 4]), false, false);
  const broadcast: tf.Tensor2D = tf.broadcastTo(b, [3, 2]);
  const sum2 = tf.addN([a, a, a]);
  const ratio = tf.divNoNan(a, tf.tensor2d([[1, 0], [2, 0]]));
  const ints = a.cast('int32').toFloat().asType('bool');
  const flat: tf.Tensor1D = a.flatten();
  const asScalar: tf.Scalar = tf.tensor1d([5]).asScalar();
  const fused = tf.fused.matMul({ a, b: a, bias: b, activation: 'relu', transposeB: true });
  const strided = tf.stridedSlice(a, [0, 0], [2, 2], [1, 2]);

  for (const x of [chained, same, mean, cmp, picked, clipped, reshaped, joined, stacked, sl, gathered, padded,
    values, indices, mu, variance, normed, lse, am, cs, t, outer, dotted, prod, mm, broadcast, sum2, ratio, ints,
    flat, asScalar, fused, strided, ...parts]) {
    note('op', x);
  }
}

// ---- neural-network ops -----------------------------------------------------------------------
function nn(): void {
  const images: tf.Tensor4D = tf.randomUniform([1, 8, 8, 3]);
  const filter: tf.Tensor4D = tf.randomNormal([3, 3, 3, 4]);
  const conv: tf.Tensor4D = tf.conv2d(images, filter, 1, 'same');
  const convT: tf.Tensor4D = tf.conv2dTranspose(conv, filter, [1, 8, 8, 3], 1, 'same');
  const dw: tf.Tensor4D = tf.depthwiseConv2d(images, tf.ones([3, 3, 3, 1]), [2, 2], 'valid');
  const sep: tf.Tensor4D = tf.separableConv2d(images, tf.ones([3, 3, 3, 1]), tf.ones([1, 1, 3, 5]), 1, 'same');
  const pooled: tf.Tensor4D = tf.maxPool(conv, 2, 2, 'valid');
  const avg: tf.Tensor4D = conv.avgPool<tf.Tensor4D>([2, 2], 2, 'same');
  const pool: tf.Tensor4D = tf.pool(conv, 2, 'max', 'valid', 1, 2);
  const seq: tf.Tensor3D = tf.conv1d(tf.ones<tf.Rank.R3>([1, 10, 2]), tf.ones<tf.Rank.R3>([3, 2, 4]), 1, 'valid');
  const bn: tf.Tensor4D = tf.batchNorm(conv, tf.zeros([4]), tf.ones([4]), undefined, undefined, 1e-3);
  const lrn: tf.Tensor4D = tf.localResponseNormalization(conv, 2);
  const resized: tf.Tensor4D = tf.image.resizeBilinear(images, [16, 16]);
  const nearest: tf.Tensor4D = tf.image.resizeNearestNeighbor(images, [4, 4], false, true);
  const fusedConv: tf.Tensor4D = tf.fused.conv2d({ x: images, filter, strides: 1, pad: 'same', bias: tf.zeros([4]), activation: 'relu6' });
  const fusedDw: tf.Tensor4D = tf.fused.depthwiseConv2d({ x: images, filter: tf.ones([3, 3, 3, 1]), strides: 1, pad: 'same' });
  const act: tf.fused.Activation = 'leakyrelu';
  const logits = tf.tensor2d([[1, 2, 3], [1, 1, 1]]);
  const probs: tf.Tensor2D = tf.softmax(logits);
  const logProbs: tf.Tensor2D = logits.logSoftmax();
  const dropped = tf.dropout(logits, 0.5, undefined, 7);

  const labels = tf.tensor2d([[0, 0, 1], [1, 0, 0]]);
  const losses: tf.Tensor[] = [
    tf.losses.meanSquaredError(labels, probs),
    tf.losses.absoluteDifference(labels, probs, undefined, tf.Reduction.SUM),
    tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0.1, tf.Reduction.MEAN),
    tf.losses.sigmoidCrossEntropy(labels, logits),
    tf.losses.logLoss(labels, probs, undefined, 1e-7),
    tf.losses.huberLoss(labels, probs, undefined, 1.0, tf.Reduction.NONE),
    tf.losses.hingeLoss(labels, probs),
    tf.losses.cosineDistance(labels, probs, 1),
  ];
  for (const x of [conv, convT, dw, sep, pooled, avg, pool, seq, bn, lrn, resized, nearest, fusedConv, fusedDw,
    probs, logProbs, dropped, ...losses]) {
    note(act, x);
  }
}

// ---- autodiff ---------------------------------------------------------------------------------
function autodiff(): void {
  // d/dx Σx² = 2x
  const g: tf.Tensor = tf.grad((x) => x.square().sum())(tf.tensor1d([1, 2, 3]));
  // d/da Σab = b, d/db Σab = a
  const [da, db] = tf.grads((a, b) => a.mul(b).sum())([tf.tensor1d([1, 2]), [3, 4]]);
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor1D) => x.exp().sum())(tf.tensor1d([0, 1]));
  const vg = tf.valueAndGrads((a, b) => tf.mul(a, b).sum())([tf.scalar(2), tf.scalar(5)]);

  const w = tf.variable(tf.tensor2d([[0.5], [-0.5]]), true, 'sample/w');
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const vgrads = tf.variableGrads(() => x.matMul(w).square().mean(), [w]);
  const dw: tf.Tensor = vgrads.grads['sample/w'];

  // A straight-through estimator: the forward pass rounds, the gradient passes through.
  const roundST = tf.customGrad((x, save) => {
    save([x]);
    return { value: x.round(), gradFunc: (dy, saved) => dy.mul(tf.onesLike(saved[0])) };
  });
  const st = tf.grad((x) => roundST(x).sum())(tf.tensor1d([0.2, 1.7]));

  // Several inputs: annotate the parameters.
  const scaled = tf.customGrad((a: tf.Tensor, k: tf.Scalar, save: tf.GradSaveFunc) => {
    save([k]);
    return { value: a.mul(k), gradFunc: (dy: tf.Tensor, [kk]: tf.Tensor[]) => [dy.mul(kk), dy.mul(a).sum()] };
  });
  const sc: tf.Tensor = scaled(tf.tensor1d([1, 2]), tf.scalar(3));

  for (const t of [g, da, db, value, grad, vg.value, ...vg.grads, vgrads.value, dw, st, sc]) note('grad', t);
  w.assign(tf.tensor2d([[1], [1]]));
  w.trainable = false;
  report.push(`variable ${w.name} trainable=${w.trainable}`);
}

// ---- custom kernels and gradients ------------------------------------------------------------
function kernels(): void {
  tf.registerKernel({
    kernelName: 'SampleCube',
    backendName: tf.getBackend(),
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x } = inputs;
      if (x === undefined) throw new Error('SampleCube: missing input x');
      const scale = typeof attrs?.scale === 'number' ? attrs.scale : 1;
      const values = Float32Array.from(backend.readSync(x.dataId), (v) => scale * v ** 3);
      return backend.makeTensorInfo(x.shape, 'float32', values);
    },
  });
  tf.registerGradient({
    kernelName: 'SampleCube',
    inputsToSave: ['x'],
    // d/dx (s·x³) = 3s·x²
    gradFunc: (dy: tf.Tensor, [x], attrs) => ({
      x: () => dy.mul(x.square().mul(3 * (typeof attrs.scale === 'number' ? attrs.scale : 1))),
    }),
  });
  const cube = (x: tf.Tensor, scale = 1): tf.Tensor => tf.engine().runKernel('SampleCube', { x }, { scale });

  const y = cube(tf.tensor1d([1, 2]), 2);
  const dy = tf.grad((x) => cube(x).sum())(tf.tensor1d([1, 2]));
  const cfg = tf.getKernel('SampleCube', 'cpu');
  const grad = tf.getGradient('SampleCube');
  report.push(`kernel ${cfg?.kernelName} native=${cfg?.native ?? false} js-gradient=${grad !== undefined && 'gradFunc' in grad}`);
  report.push(`cpu kernels: ${tf.getKernelsForBackend('cpu').length}`);
  note('cube', y);
  note('dcube', dy);

  // Overriding a built-in kernel: every op that dispatches `Relu` uses it.
  const builtin = tf.getKernel('Relu', 'cpu');
  if (builtin !== undefined) {
    tf.unregisterKernel('Relu', 'cpu');
    tf.registerKernel({ ...builtin, kernelFunc: (params) => builtin.kernelFunc(params) });
  }
  tf.unregisterGradient('SampleCube');
  tf.unregisterKernel('SampleCube', 'cpu');
}

// ---- memory -----------------------------------------------------------------------------------
function memory(): void {
  const before: tf.MemoryInfo = tf.memory();
  const kept = tf.tensor1d([1, 2, 3]);
  const out = tf.tidy('sample', () => {
    const doubled = kept.mul(2);
    tf.keep(doubled.add(1));
    return { total: doubled.sum(), items: [doubled.max(), doubled.min()] };
  });
  const n: number = tf.tidy(() => kept.sum().dataSync()[0]);
  tf.dispose([kept, out]);
  report.push(`tensors ${before.numTensors} -> ${tf.memory().numTensors}, n=${n}, disposed=${kept.isDisposed}`);
}

// ---- optimizers -------------------------------------------------------------------------------
async function training(): Promise<void> {
  // Fit y = 2x - 1.
  const xs = tf.tensor2d([[0], [1], [2], [3]]);
  const ys = tf.tensor2d([[-1], [1], [3], [5]]);
  const w = tf.variable(tf.zeros<tf.Rank.R2>([1, 1]), true, 'fit/w');
  const b = tf.variable(tf.scalar(0), true, 'fit/b');
  const loss = (): tf.Scalar => tf.losses.meanSquaredError(ys, xs.matMul(w).add(b));

  const optimizers: tf.Optimizer[] = [
    tf.train.sgd(0.05),
    tf.train.momentum(0.05, 0.9, true),
    tf.train.rmsprop(0.01, 0.9, 0, 1e-7, false),
    tf.train.adam(0.1),
    tf.train.adamax(0.1, 0.9, 0.999),
    tf.train.adagrad(0.5),
    tf.train.adadelta(1),
  ];
  for (const opt of optimizers) {
    for (let step = 0; step < 5; step++) {
      const cost: tf.Scalar = opt.minimize(loss, true, [w, b]);
      if (step === 4) report.push(`${opt.getClassName()} cost ${cost.dataSync()[0]} after ${opt.iterations}`);
      cost.dispose();
    }
    const none: null = opt.minimize(loss);
    const { value, grads } = opt.computeGradients(loss, [w, b]);
    opt.applyGradients(grads);
    opt.applyGradients([{ name: 'fit/w', tensor: grads['fit/w'] }]);
    const state: tf.NamedTensor[] = await opt.getWeights();
    await opt.setWeights(state);
    const config: tf.ConfigDict = opt.getConfig();
    report.push(`${none} ${value.dataSync()[0]} ${state.length} ${JSON.stringify(config)}`);
    tf.dispose([value, grads]);
    opt.dispose();
  }
  const sgd = new tf.SGDOptimizer(0.1);
  sgd.setLearningRate(0.01);
  report.push(`${tf.SGDOptimizer.className} ${sgd instanceof tf.Optimizer}`);
  tf.disposeVariables();
}

// ---- saving and loading ------------------------------------------------------------------------
class Scale extends tf.layers.Layer {
  static readonly className = 'Scale';
  getConfig(): tf.ConfigDict {
    return { ...super.getConfig(), factor: 2 };
  }
}

async function saving(): Promise<void> {
  tf.serialization.registerClass(Scale);
  const registered: string = tf.serialization.getRegisteredName(Scale);
  const inA = tf.input({ shape: [3], name: 'a' });
  const out = tf.layers.dense({ units: 2 }).apply(inA) as tf.SymbolicTensor;
  const model = tf.model({ inputs: inA, outputs: out });
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const saved: tf.io.SaveResult = await model.save('file:///tmp/ferrograd-types-sample', { includeOptimizer: true });
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  const loaded: tf.LayersModel = await tf.loadLayersModel(tf.io.fromMemory(captured as tf.io.ModelArtifacts), { strict: false });
  const fromFile: tf.LayersModel = await tf.loadLayersModel('file:///tmp/ferrograd-types-sample/model.json');
  await fromFile.saveWeights('file:///tmp/ferrograd-types-sample-weights');
  await loaded.loadWeights('file:///tmp/ferrograd-types-sample-weights', { strict: true });
  const named: tf.NamedTensorMap = tf.io.decodeWeights(new ArrayBuffer(0), []);
  loaded.loadWeights(named, false);
  const { data, specs } = await tf.io.encodeWeights([{ name: 'w', tensor: tf.ones([2]) }]);
  const shards = new tf.io.CompositeArrayBuffer([data, new ArrayBuffer(4)]);
  const topology: string = loaded.toJSON();
  const topologyObject: tf.io.PyJsonDict = loaded.toJSON(null, false);
  const rebuilt: tf.LayersModel = await tf.models.modelFromJSON({ modelTopology: topologyObject });
  const router: tf.io.IORouter = (url) => (typeof url === 'string' && url.startsWith('mem://') ? tf.io.withSaveHandler(async (a) => ({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) })) : null);
  tf.io.registerSaveRouter(router);
  const handlers: tf.io.IOHandler[] = tf.io.getSaveHandlers('mem://x');
  const classes = tf.serialization.SerializationMap.getMap().classNameMap;
  report.push(`${registered} ${saved.modelArtifactsInfo.weightDataBytes} ${specs.length} ${shards.byteLength} ${topology.length} ${rebuilt.name} ${handlers.length} ${Object.keys(classes).length}`);
}

// ---- environment ------------------------------------------------------------------------------
async function environment(): Promise<void> {
  await tf.setBackend('tensorflow');
  await tf.ready();
  const isNode: boolean = tf.env().getBool('IS_NODE');
  tf.env().set('DEBUG', false);
  const versions: string = `${tf.version.tfjs} ${tf.version['tfjs-core']} ${tf.version.ferrograd}`;
  const backend: tf.KernelBackend = tf.backend();
  const t0 = tf.util.now();
  await tf.nextFrame();
  const size: number = tf.util.sizeFromShape([2, 3]);
  const flat: number[] = tf.util.flatten([[1, 2], [3]]);
  const x = tf.tensor1d([1, 2, 3]);
  const data: Float32Array = await x.data<'float32'>();
  const arr: number[] = await x.array();
  const buf: tf.TensorBuffer<tf.Rank.R1> = await x.buffer();
  tf.print(x, true);
  report.push(`${isNode} ${versions} ${backend.floatPrecision()} ${tf.util.now() >= t0} ${size} ${flat} ${data} ${arr} ${buf.size} ${x}`);
  x.dispose();
}

// ---- tf.data and fitDataset ---------------------------------------------------------------------
async function datasets(): Promise<void> {
  const nums: tf.data.Dataset<number> = tf.data.array([1, 2, 3, 4]);
  const evens: number[] = await nums.filter((x) => x % 2 === 0).toArray();
  const pairs = tf.data.zip({ a: nums, b: [nums.map((x) => x * 10)] });
  const shuffled = nums.shuffle(4, 'seed', false).repeat(2).skip(1).take(5).prefetch(2);
  const total: number | null = shuffled.size;
  await nums.concatenate(tf.data.array([5])).forEachAsync((x) => { report.push(`n ${x}`); });
  const it: tf.data.LazyIterator<number> = await nums.iterator();
  const first: IteratorResult<number> = await it.next();
  const xy = tf.data.generator(function* () {
    for (let i = 0; i < 8; i++) yield { xs: [i / 8], ys: [i / 4] };
  }).batch(4);
  const later = tf.data.generator(async function* () { yield 1; });
  const counted = tf.data.func<number>(() => ({ value: 1, done: false })).take(2);
  const viaMapAsync = nums.mapAsync(async (x) => tf.scalar(x));
  const csvConfig: tf.CSVConfig = { hasHeader: true, columnConfigs: { label: { isLabel: true, dtype: 'int32' } }, delimiter: ',' };
  const rows: tf.data.CSVDataset = tf.data.csv('file:///tmp/none.csv', csvConfig);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const args: tf.ModelFitDatasetArgs<tf.TensorContainer> = { epochs: 2, batchesPerEpoch: 2, verbose: 0, yieldEvery: 'never', validationData: xy, callbacks: { onYield: () => undefined } };
  const h: tf.History = await model.fitDataset(xy.repeat(), { ...args, callbacks: [tf.callbacks.earlyStopping({ monitor: 'loss' })] });
  const score = await model.evaluateDataset(xy, { batches: 1 });
  const evalArgs: tf.ModelEvaluateDatasetArgs = { batches: 2 };
  report.push(`${evens} ${total} ${first.done} ${h.epoch.length} ${Array.isArray(score)} ${evalArgs.batches} ${rows.size} ${(await pairs.toArray()).length}`);
  report.push(`${(await later.toArray()).length} ${(await counted.toArray()).length} ${tf.data.Dataset.MAX_BUFFER_SIZE}`);
  tf.dispose(await viaMapAsync.toArray());
  model.dispose();
}

function metricsAndWeightOptions(): void {
  const yTrue = tf.tensor2d([[0, 1], [1, 0]]);
  const yPred = tf.tensor2d([[0.2, 0.8], [0.6, 0.4]]);
  const acc: tf.Tensor = tf.metrics.categoricalAccuracy(yTrue, yPred);
  const r2: tf.Scalar = tf.metrics.r2Score(yTrue, yPred);
  const values = [tf.metrics.binaryAccuracy, tf.metrics.sparseCategoricalAccuracy, tf.metrics.precision, tf.metrics.recall,
    tf.metrics.binaryCrossentropy, tf.metrics.categoricalCrossentropy, tf.metrics.sparseCategoricalCrossentropy,
    tf.metrics.cosineProximity, tf.metrics.meanSquaredError, tf.metrics.MSE, tf.metrics.mse, tf.metrics.meanAbsoluteError,
    tf.metrics.MAE, tf.metrics.mae, tf.metrics.meanAbsolutePercentageError, tf.metrics.MAPE, tf.metrics.mape].length;
  const l2: tf.regularizers.L1L2 = tf.regularizers.l2({ l2: 1e-3 });
  const penalty: tf.Scalar = tf.regularizers.l1l2({ l1: 0.1 }).apply(yPred);
  const nonNeg: tf.constraints.Constraint = tf.constraints.nonNeg();
  const projected: tf.Tensor2D = tf.constraints.maxNorm({ maxValue: 1, axis: -1 }).apply(yPred);
  const dense = tf.layers.dense({ units: 2, kernelRegularizer: l2, biasRegularizer: tf.regularizers.l1(),
    kernelConstraint: tf.constraints.unitNorm({ axis: 0 }), biasConstraint: tf.constraints.minMaxNorm({ maxValue: 2 }) });
  const mask: tf.Tensor | null = dense.computeMask(yPred, null);
  report.push(`${acc.shape} ${r2.rank} ${values} ${penalty.rank} ${nonNeg.getClassName()} ${projected.shape} ${dense.name} ${mask}`);
}

async function main(): Promise<string[]> {
  creation();
  metricsAndWeightOptions();
  ops();
  nn();
  autodiff();
  kernels();
  memory();
  await training();
  await saving();
  await environment();
  await datasets();
  return report;
}

export { main };
