// Type declarations for ferrograd: the TensorFlow.js 4.22 API on native kernels.
//
// Names, argument orders and generics follow tfjs-core 4.22 so that TypeScript written for
// `@tensorflow/tfjs-node` type-checks unchanged. Where ferrograd is narrower than tfjs the types
// say so: dtypes are float32, int32 and bool only (no string or complex64 tensors), and there is
// one backend. The same file types `require('ferrograd')` and `import ... from 'ferrograd'`.

// ---------------------------------------------------------------------------------------------
// Ranks, shapes, dtypes and tensor-like values
// ---------------------------------------------------------------------------------------------

/**
 * Ranks as type-level tags (`tf.Tensor<tf.Rank.R2>`). Unlike tfjs, `Rank` is types only: there
 * is no `tf.Rank` object at run time.
 */
export declare namespace Rank {
  type R0 = 'R0';
  type R1 = 'R1';
  type R2 = 'R2';
  type R3 = 'R3';
  type R4 = 'R4';
  type R5 = 'R5';
  type R6 = 'R6';
}
export type Rank = Rank.R0 | Rank.R1 | Rank.R2 | Rank.R3 | Rank.R4 | Rank.R5 | Rank.R6;

/** The shape of a tensor of each rank (as tfjs: rank 0 is typed `number[]`). */
export interface ShapeMap {
  R0: number[];
  R1: [number];
  R2: [number, number];
  R3: [number, number, number];
  R4: [number, number, number, number];
  R5: [number, number, number, number, number];
  R6: [number, number, number, number, number, number];
}

/** What `array()` / `arraySync()` return for each rank (bool tensors read back as 0 and 1). */
export interface ArrayMap {
  R0: number;
  R1: number[];
  R2: number[][];
  R3: number[][][];
  R4: number[][][][];
  R5: number[][][][][];
  R6: number[][][][][][];
}

/** The dtypes ferrograd supports; any other dtype is an error at run time. */
export type DataType = 'float32' | 'int32' | 'bool';
export type NumericDataType = DataType;

/** The typed array that holds the values of each dtype. */
export interface DataTypeMap {
  float32: Float32Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** The JS value of one element of each dtype (`TensorBuffer.get/set`). */
export interface SingleValueMap {
  float32: number;
  int32: number;
  bool: boolean | number;
}

export type TypedArray = Float32Array | Int32Array | Uint8Array;
export type DataValues = DataTypeMap[DataType];
export type BackendValues = Float32Array | Int32Array | Uint8Array;

/** Arrays nested to any depth. */
export interface RecursiveArray<T> extends ReadonlyArray<T | RecursiveArray<T>> {}

/** A value `tf.tensor()` (and every op argument typed `TensorLike`) turns into a tensor. */
export type TensorLike =
  | TypedArray
  | number
  | boolean
  | RecursiveArray<number | number[] | TypedArray>
  | RecursiveArray<boolean>;
export type ScalarLike = number | boolean;
export type TensorLike1D = TypedArray | number[] | boolean[];
export type TensorLike2D = TypedArray | number[] | number[][] | boolean[] | boolean[][];
export type TensorLike3D = TypedArray | number[] | number[][][] | boolean[] | boolean[][][];
export type TensorLike4D = TypedArray | number[] | number[][][][] | boolean[] | boolean[][][][];
export type TensorLike5D = TypedArray | number[] | number[][][][][] | boolean[] | boolean[][][][][];
export type TensorLike6D = TypedArray | number[] | number[][][][][][] | boolean[] | boolean[][][][][][];

/** The opaque key of a tensor's data (a native handle); kernels read it through the backend. */
export type DataId = object;

/** What JS kernels receive and return: a tensor's data key, shape and dtype. */
export interface TensorInfo {
  dataId: DataId;
  shape: number[];
  dtype: DataType;
}

export interface NamedTensorMap {
  [name: string]: Tensor;
}
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}
export interface NamedVariableMap {
  [name: string]: Variable;
}

/** Anything `tidy` may return and `dispose` may walk: tensors inside arrays and objects. */
export type TensorContainer =
  | void
  | Tensor
  | string
  | number
  | boolean
  | TensorContainerObject
  | TensorContainerArray
  | Float32Array
  | Int32Array
  | Uint8Array;
export interface TensorContainerObject {
  [x: string]: TensorContainer;
}
export interface TensorContainerArray extends Array<TensorContainer> {}

/** Explicit padding for conv and pool ops: `[[0, 0], [top, bottom], [left, right], [0, 0]]`. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];
export type PaddingType = 'valid' | 'same' | number | ExplicitPadding;
export type DimRoundingMode = 'floor' | 'round' | 'ceil';

// ---------------------------------------------------------------------------------------------
// Tensor, Variable, TensorBuffer
// ---------------------------------------------------------------------------------------------

/** A mutable host-side array with a shape; `toTensor()` makes a tensor of it. */
export declare class TensorBuffer<R extends Rank = Rank, D extends DataType = 'float32'> {
  constructor(shape: ShapeMap[R], dtype?: D, values?: DataTypeMap[D]);
  dtype: D;
  size: number;
  shape: ShapeMap[R];
  strides: number[];
  values: DataTypeMap[D];
  readonly rank: number;
  set(value: SingleValueMap[D], ...locs: number[]): void;
  get(...locs: number[]): SingleValueMap[D];
  locToIndex(locs: number[]): number;
  indexToLoc(index: number): number[];
  toTensor(): Tensor<R>;
}

/**
 * An immutable n-dimensional array held by the native engine. Tensors are made by ops, never
 * with `new`. Every op is also a method: `x.add(y).relu()` is `tf.relu(tf.add(x, y))`.
 */
export declare class Tensor<R extends Rank = Rank> implements TensorInfo {
  protected constructor();
  /** Unique id of this tensor. */
  readonly id: number;
  readonly dataId: DataId;
  readonly shape: ShapeMap[R];
  readonly size: number;
  readonly dtype: DataType;
  readonly rank: number;
  /** The rank as a string, as tfjs computes it (`'2'` for a matrix). */
  readonly rankType: string;
  readonly strides: number[];
  /** Set by `tf.keep`: the tensor outlives the enclosing `tidy`. */
  kept: boolean;
  readonly isDisposed: boolean;
  protected readonly isDisposedInternal: boolean;
  throwIfDisposed(): void;

  data<D extends DataType = NumericDataType>(): Promise<DataTypeMap[D]>;
  dataSync<D extends DataType = NumericDataType>(): DataTypeMap[D];
  array(): Promise<ArrayMap[R]>;
  arraySync(): ArrayMap[R];
  buffer<D extends DataType = 'float32'>(): Promise<TensorBuffer<R, D>>;
  bufferSync<D extends DataType = 'float32'>(): TensorBuffer<R, D>;
  dispose(): void;
  print(verbose?: boolean): void;
  toString(verbose?: boolean): string;
  clone<T extends Tensor>(this: T): T;
  zerosLike<T extends Tensor>(this: T): T;
  onesLike<T extends Tensor>(this: T): T;
  variable(trainable?: boolean, name?: string, dtype?: DataType): Variable<R>;

  // Shape and type conversions
  reshape<T extends Tensor>(shape: number[]): T;
  reshapeAs<T extends Tensor>(x: T): T;
  expandDims<T extends Tensor>(axis?: number): T;
  squeeze<T extends Tensor>(axis?: number | number[]): T;
  flatten(): Tensor1D;
  asScalar(): Scalar;
  as1D(): Tensor1D;
  as2D(rows: number, columns: number): Tensor2D;
  as3D(rows: number, columns: number, depth: number): Tensor3D;
  as4D(rows: number, columns: number, depth: number, depth2: number): Tensor4D;
  as5D(rows: number, columns: number, depth: number, depth2: number, depth3: number): Tensor5D;
  cast<T extends Tensor>(dtype: DataType): T;
  asType<T extends Tensor>(this: T, dtype: DataType): T;
  toFloat<T extends Tensor>(this: T): T;
  toInt<T extends Tensor>(this: T): T;
  toBool<T extends Tensor>(this: T): T;

  // Arithmetic and comparison (broadcasting)
  add<T extends Tensor>(b: Tensor | TensorLike): T;
  sub<T extends Tensor>(b: Tensor | TensorLike): T;
  mul<T extends Tensor>(b: Tensor | TensorLike): T;
  div<T extends Tensor>(b: Tensor | TensorLike): T;
  divNoNan<T extends Tensor>(b: Tensor | TensorLike): T;
  floorDiv<T extends Tensor>(b: Tensor | TensorLike): T;
  mod<T extends Tensor>(b: Tensor | TensorLike): T;
  pow<T extends Tensor>(exp: Tensor | TensorLike): T;
  maximum<T extends Tensor>(b: Tensor | TensorLike): T;
  minimum<T extends Tensor>(b: Tensor | TensorLike): T;
  squaredDifference<T extends Tensor>(b: Tensor | TensorLike): T;
  atan2<T extends Tensor>(b: Tensor | TensorLike): T;
  equal<T extends Tensor>(b: Tensor | TensorLike): T;
  notEqual<T extends Tensor>(b: Tensor | TensorLike): T;
  greater<T extends Tensor>(b: Tensor | TensorLike): T;
  greaterEqual<T extends Tensor>(b: Tensor | TensorLike): T;
  less<T extends Tensor>(b: Tensor | TensorLike): T;
  lessEqual<T extends Tensor>(b: Tensor | TensorLike): T;
  logicalAnd<T extends Tensor>(b: Tensor | TensorLike): T;
  logicalOr<T extends Tensor>(b: Tensor | TensorLike): T;
  logicalXor<T extends Tensor>(b: Tensor | TensorLike): T;
  logicalNot<T extends Tensor>(): T;

  // Element-wise functions and activations
  neg<T extends Tensor>(this: T): T;
  abs<T extends Tensor>(this: T): T;
  sign<T extends Tensor>(this: T): T;
  square<T extends Tensor>(this: T): T;
  sqrt<T extends Tensor>(this: T): T;
  rsqrt<T extends Tensor>(this: T): T;
  reciprocal<T extends Tensor>(this: T): T;
  exp<T extends Tensor>(this: T): T;
  expm1<T extends Tensor>(this: T): T;
  log<T extends Tensor>(this: T): T;
  log1p<T extends Tensor>(this: T): T;
  sin<T extends Tensor>(this: T): T;
  cos<T extends Tensor>(this: T): T;
  tan<T extends Tensor>(this: T): T;
  asin<T extends Tensor>(this: T): T;
  acos<T extends Tensor>(this: T): T;
  atan<T extends Tensor>(this: T): T;
  sinh<T extends Tensor>(this: T): T;
  cosh<T extends Tensor>(this: T): T;
  tanh<T extends Tensor>(this: T): T;
  sigmoid<T extends Tensor>(this: T): T;
  softplus<T extends Tensor>(this: T): T;
  logSigmoid<T extends Tensor>(this: T): T;
  floor<T extends Tensor>(this: T): T;
  ceil<T extends Tensor>(this: T): T;
  round<T extends Tensor>(this: T): T;
  erf<T extends Tensor>(this: T): T;
  isNaN<T extends Tensor>(this: T): T;
  isInf<T extends Tensor>(this: T): T;
  isFinite<T extends Tensor>(this: T): T;
  relu<T extends Tensor>(): T;
  relu6<T extends Tensor>(): T;
  elu<T extends Tensor>(): T;
  selu<T extends Tensor>(): T;
  leakyRelu<T extends Tensor>(alpha?: number): T;
  prelu<T extends Tensor>(alpha: T | TensorLike): T;
  step<T extends Tensor>(this: T, alpha?: number): T;
  clipByValue(min: number, max: number): Tensor;

  // Reductions
  sum<T extends Tensor>(axis?: number | number[], keepDims?: boolean): T;
  mean<T extends Tensor>(axis?: number | number[], keepDims?: boolean): T;
  max<T extends Tensor>(axis?: number | number[], keepDims?: boolean): T;
  min<T extends Tensor>(axis?: number | number[], keepDims?: boolean): T;
  prod<T extends Tensor>(this: T, axis?: number | number[], keepDims?: boolean): T;
  all<T extends Tensor>(this: T, axis?: number | number[], keepDims?: boolean): T;
  any<T extends Tensor>(this: T, axis?: number | number[], keepDims?: boolean): T;
  argMax<T extends Tensor>(axis?: number): T;
  argMin<T extends Tensor>(axis?: number): T;
  logSumExp<T extends Tensor>(this: T, axis?: number | number[], keepDims?: boolean): T;
  norm(ord?: number | 'euclidean' | 'fro', axis?: number | number[], keepDims?: boolean): Tensor;
  cumsum<R2 extends Rank>(axis?: number, exclusive?: boolean, reverse?: boolean): Tensor<R2>;

  // Linear algebra
  matMul(b: Tensor | TensorLike, transposeA?: boolean, transposeB?: boolean): Tensor;
  dot(b: Tensor | TensorLike): Tensor;
  transpose<T extends Tensor>(perm?: number[]): T;

  // Slicing, joining and rearranging
  concat<T extends Tensor>(tensors: T | Array<T | TensorLike>, axis?: number): T;
  stack<T extends Tensor>(x: Tensor | Tensor[], axis?: number): T;
  unstack<T extends Tensor>(axis?: number): T[];
  split<T extends Tensor>(numOrSizeSplits: number[] | number, axis?: number): T[];
  slice<T extends Tensor>(this: T, begin: number | number[], size?: number | number[]): T;
  stridedSlice(
    begin: number[],
    end: number[],
    strides?: number[],
    beginMask?: number,
    endMask?: number,
    ellipsisMask?: number,
    newAxisMask?: number,
    shrinkAxisMask?: number,
  ): Tensor;
  gather<T extends Tensor>(this: T, indices: Tensor | TensorLike, axis?: number, batchDims?: number): T;
  tile<T extends Tensor>(reps: number[]): T;
  pad<T extends Tensor>(paddings: Array<[number, number]>, constantValue?: number): T;
  mirrorPad<T extends Tensor>(paddings: Array<[number, number]>, mode: 'reflect' | 'symmetric'): T;
  reverse<T extends Tensor>(this: T, axis?: number | number[]): T;
  where<T extends Tensor>(condition: Tensor | TensorLike, x: Tensor | TensorLike): T;
  topk<T extends Tensor>(this: T, k?: number, sorted?: boolean): { values: T; indices: T };
  broadcastTo<R2 extends Rank>(shape: ShapeMap[R2]): Tensor<R2>;
  oneHot(depth: number, onValue?: number, offValue?: number, dtype?: DataType): Tensor;

  // Neural-network ops
  softmax<T extends Tensor>(this: T, dim?: number): T;
  logSoftmax<T extends Tensor>(this: T, axis?: number): T;
  conv1d<T extends Tensor2D | Tensor3D>(
    filter: Tensor3D | TensorLike3D,
    stride: number,
    pad: PaddingType,
    dataFormat?: 'NWC' | 'NCW',
    dilation?: number,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  conv2d<T extends Tensor3D | Tensor4D>(
    filter: Tensor4D | TensorLike4D,
    strides: [number, number] | number,
    pad: PaddingType,
    dataFormat?: 'NHWC' | 'NCHW',
    dilations?: [number, number] | number,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  conv2dTranspose<T extends Tensor3D | Tensor4D>(
    filter: Tensor4D | TensorLike4D,
    outputShape: [number, number, number, number] | [number, number, number],
    strides: [number, number] | number,
    pad: PaddingType,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  depthwiseConv2d<T extends Tensor3D | Tensor4D>(
    filter: Tensor4D | TensorLike4D,
    strides: [number, number] | number,
    pad: PaddingType,
    dataFormat?: 'NHWC' | 'NCHW',
    dilations?: [number, number] | number,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  separableConv2d<T extends Tensor3D | Tensor4D>(
    depthwiseFilter: Tensor4D | TensorLike4D,
    pointwiseFilter: Tensor4D | TensorLike,
    strides: [number, number] | number,
    pad: 'valid' | 'same',
    dilation?: [number, number] | number,
    dataFormat?: 'NHWC' | 'NCHW',
  ): T;
  maxPool<T extends Tensor3D | Tensor4D>(
    filterSize: [number, number] | number,
    strides: [number, number] | number,
    pad: PaddingType,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  avgPool<T extends Tensor3D | Tensor4D>(
    filterSize: [number, number] | number,
    strides: [number, number] | number,
    pad: PaddingType,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  pool<T extends Tensor3D | Tensor4D>(
    windowShape: [number, number] | number,
    poolingType: 'avg' | 'max',
    padding: PaddingType,
    dilationRate?: [number, number] | number,
    strides?: [number, number] | number,
    dimRoundingMode?: DimRoundingMode,
  ): T;
  batchNorm(
    mean: Tensor<R> | Tensor1D | TensorLike,
    variance: Tensor<R> | Tensor1D | TensorLike,
    offset?: Tensor<R> | Tensor1D | TensorLike,
    scale?: Tensor<R> | Tensor1D | TensorLike,
    varianceEpsilon?: number,
  ): Tensor<R>;
  localResponseNormalization<T extends Tensor>(depthRadius?: number, bias?: number, alpha?: number, beta?: number): T;
  resizeBilinear<T extends Tensor3D | Tensor4D>(
    newShape2D: [number, number],
    alignCorners?: boolean,
    halfPixelCenters?: boolean,
  ): T;
  resizeNearestNeighbor<T extends Tensor3D | Tensor4D>(
    newShape2D: [number, number],
    alignCorners?: boolean,
    halfPixelCenters?: boolean,
  ): T;
}

export type Scalar = Tensor<Rank.R0>;
export type Tensor1D = Tensor<Rank.R1>;
export type Tensor2D = Tensor<Rank.R2>;
export type Tensor3D = Tensor<Rank.R3>;
export type Tensor4D = Tensor<Rank.R4>;
export type Tensor5D = Tensor<Rank.R5>;
export type Tensor6D = Tensor<Rank.R6>;

/** A mutable tensor, trained by optimizers; made with `tf.variable` or `tensor.variable()`. */
export declare class Variable<R extends Rank = Rank> extends Tensor<R> {
  protected constructor();
  trainable: boolean;
  readonly name: string;
  /** Replaces the value; the new value must have the variable's dtype. */
  assign(newValue: Tensor<R> | TensorLike): void;
  /** ★ The variable itself, as tfjs-layers' `LayerVariable.read()`. */
  read(): Variable<R>;
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

export declare function tensor<R extends Rank = Rank>(values: TensorLike, shape?: ShapeMap[R], dtype?: DataType): Tensor<R>;
export declare function scalar(value: ScalarLike, dtype?: DataType): Scalar;
export declare function tensor1d(values: TensorLike1D, dtype?: DataType): Tensor1D;
export declare function tensor2d(values: TensorLike2D, shape?: [number, number], dtype?: DataType): Tensor2D;
export declare function tensor3d(values: TensorLike3D, shape?: [number, number, number], dtype?: DataType): Tensor3D;
export declare function tensor4d(values: TensorLike4D, shape?: [number, number, number, number], dtype?: DataType): Tensor4D;
export declare function tensor5d(
  values: TensorLike5D,
  shape?: [number, number, number, number, number],
  dtype?: DataType,
): Tensor5D;
export declare function tensor6d(
  values: TensorLike6D,
  shape?: [number, number, number, number, number, number],
  dtype?: DataType,
): Tensor6D;
export declare function fill<R extends Rank = Rank>(shape: ShapeMap[R], value: number | boolean, dtype?: DataType): Tensor<R>;
export declare function zeros<R extends Rank = Rank>(shape: ShapeMap[R], dtype?: DataType): Tensor<R>;
export declare function ones<R extends Rank = Rank>(shape: ShapeMap[R], dtype?: DataType): Tensor<R>;
export declare function zerosLike<T extends Tensor>(x: T | TensorLike): T;
export declare function onesLike<T extends Tensor>(x: T | TensorLike): T;
export declare function eye(
  numRows: number,
  numColumns?: number,
  batchShape?: [number] | [number, number] | [number, number, number] | [number, number, number, number],
  dtype?: DataType,
): Tensor2D;
export declare function range(start: number, stop: number, step?: number, dtype?: 'float32' | 'int32'): Tensor1D;
export declare function linspace(start: number, stop: number, num: number): Tensor1D;
export declare function oneHot(
  indices: Tensor | TensorLike,
  depth: number,
  onValue?: number,
  offValue?: number,
  dtype?: DataType,
): Tensor;
/** A trainable (by default) mutable tensor, registered under a unique name. */
export declare function variable<R extends Rank = Rank>(
  initialValue: Tensor<R> | TensorLike,
  trainable?: boolean,
  name?: string,
  dtype?: DataType,
): Variable<R>;
export declare function clone<T extends Tensor>(x: T | TensorLike): T;
export declare function buffer<R extends Rank = Rank, D extends DataType = 'float32'>(
  shape: ShapeMap[R],
  dtype?: D,
  values?: DataTypeMap[D],
): TensorBuffer<R, D>;

export declare function randomNormal<R extends Rank = Rank>(
  shape: ShapeMap[R],
  mean?: number,
  stdDev?: number,
  dtype?: 'float32' | 'int32',
  seed?: number,
): Tensor<R>;
export declare function randomUniform<R extends Rank = Rank>(
  shape: ShapeMap[R],
  minval?: number,
  maxval?: number,
  dtype?: DataType,
  seed?: number | string,
): Tensor<R>;
export declare function truncatedNormal<R extends Rank = Rank>(
  shape: ShapeMap[R],
  mean?: number,
  stdDev?: number,
  dtype?: 'float32' | 'int32',
  seed?: number,
): Tensor<R>;
export declare function randomStandardNormal<R extends Rank = Rank>(
  shape: ShapeMap[R],
  dtype?: 'float32' | 'int32',
  seed?: number,
): Tensor<R>;

// ---------------------------------------------------------------------------------------------
// Arithmetic and logic (broadcasting)
// ---------------------------------------------------------------------------------------------

export declare function add<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function sub<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function mul<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
/** Division; int32 by int32 floors, as in tfjs. */
export declare function div<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
/** `a / b`, and 0 where `b` is 0. */
export declare function divNoNan<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function floorDiv<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function mod<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function pow<T extends Tensor>(base: Tensor | TensorLike, exp: Tensor | TensorLike): T;
export declare function maximum<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function minimum<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function squaredDifference<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function atan2<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
/** Element-wise sum of tensors of one shape. */
export declare function addN<T extends Tensor>(tensors: Array<T | TensorLike>): T;

export declare function equal<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function notEqual<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function greater<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function greaterEqual<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function less<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function lessEqual<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function logicalAnd<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function logicalOr<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function logicalXor<T extends Tensor>(a: Tensor | TensorLike, b: Tensor | TensorLike): T;
export declare function logicalNot<T extends Tensor>(x: T | TensorLike): T;

// ---------------------------------------------------------------------------------------------
// Element-wise functions and activations
// ---------------------------------------------------------------------------------------------

export declare function neg<T extends Tensor>(x: T | TensorLike): T;
export declare function abs<T extends Tensor>(x: T | TensorLike): T;
export declare function sign<T extends Tensor>(x: T | TensorLike): T;
export declare function square<T extends Tensor>(x: T | TensorLike): T;
export declare function sqrt<T extends Tensor>(x: T | TensorLike): T;
export declare function rsqrt<T extends Tensor>(x: T | TensorLike): T;
export declare function reciprocal<T extends Tensor>(x: T | TensorLike): T;
export declare function exp<T extends Tensor>(x: T | TensorLike): T;
export declare function expm1<T extends Tensor>(x: T | TensorLike): T;
export declare function log<T extends Tensor>(x: T | TensorLike): T;
export declare function log1p<T extends Tensor>(x: T | TensorLike): T;
export declare function sin<T extends Tensor>(x: T | TensorLike): T;
export declare function cos<T extends Tensor>(x: T | TensorLike): T;
export declare function tan<T extends Tensor>(x: T | TensorLike): T;
export declare function asin<T extends Tensor>(x: T | TensorLike): T;
export declare function acos<T extends Tensor>(x: T | TensorLike): T;
export declare function atan<T extends Tensor>(x: T | TensorLike): T;
export declare function sinh<T extends Tensor>(x: T | TensorLike): T;
export declare function cosh<T extends Tensor>(x: T | TensorLike): T;
export declare function tanh<T extends Tensor>(x: T | TensorLike): T;
export declare function sigmoid<T extends Tensor>(x: T | TensorLike): T;
export declare function softplus<T extends Tensor>(x: T | TensorLike): T;
export declare function logSigmoid<T extends Tensor>(x: T | TensorLike): T;
export declare function relu<T extends Tensor>(x: T | TensorLike): T;
export declare function relu6<T extends Tensor>(x: T | TensorLike): T;
export declare function elu<T extends Tensor>(x: T | TensorLike): T;
export declare function selu<T extends Tensor>(x: T | TensorLike): T;
/** `x` where positive, `alpha * x` elsewhere (alpha defaults to 0.2). */
export declare function leakyRelu<T extends Tensor>(x: T | TensorLike, alpha?: number): T;
export declare function prelu<T extends Tensor>(x: T | TensorLike, alpha: T | TensorLike): T;
export declare function floor<T extends Tensor>(x: T | TensorLike): T;
export declare function ceil<T extends Tensor>(x: T | TensorLike): T;
export declare function round<T extends Tensor>(x: T | TensorLike): T;
export declare function erf<T extends Tensor>(x: T | TensorLike): T;
export declare function step<T extends Tensor>(x: T | TensorLike, alpha?: number): T;
export declare function clipByValue<T extends Tensor>(x: T | TensorLike, clipValueMin: number, clipValueMax: number): T;
export declare function isNaN<T extends Tensor>(x: T | TensorLike): T;
export declare function isInf<T extends Tensor>(x: T | TensorLike): T;
export declare function isFinite<T extends Tensor>(x: T | TensorLike): T;

// ---------------------------------------------------------------------------------------------
// Reductions (axis defaults to all axes, keepDims to false)
// ---------------------------------------------------------------------------------------------

export declare function sum<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function mean<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function max<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function min<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function prod<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function all<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function any<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function argMax<T extends Tensor>(x: Tensor | TensorLike, axis?: number): T;
export declare function argMin<T extends Tensor>(x: Tensor | TensorLike, axis?: number): T;
export declare function logSumExp<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[], keepDims?: boolean): T;
export declare function moments(
  x: Tensor | TensorLike,
  axis?: number | number[],
  keepDims?: boolean,
): { mean: Tensor; variance: Tensor };
/** Vector and matrix norms: ord `'euclidean'` (default), `'fro'`, 1, 2, `Infinity`, `-Infinity`. */
export declare function norm(
  x: Tensor | TensorLike,
  ord?: number | 'euclidean' | 'fro',
  axis?: number | number[],
  keepDims?: boolean,
): Tensor;
export declare function cumsum<T extends Tensor>(x: Tensor | TensorLike, axis?: number, exclusive?: boolean, reverse?: boolean): T;

// ---------------------------------------------------------------------------------------------
// Shapes: reshaping, slicing, joining
// ---------------------------------------------------------------------------------------------

export declare function reshape<R extends Rank = Rank>(x: Tensor | TensorLike, shape: ShapeMap[R]): Tensor<R>;
export declare function expandDims<T extends Tensor>(x: Tensor | TensorLike, axis?: number): T;
export declare function squeeze<T extends Tensor>(x: Tensor | TensorLike, axis?: number | number[]): T;
/** ★ The tensor as a 1-D tensor (tfjs has this only as the `flatten()` method). */
export declare function flatten(x: Tensor | TensorLike): Tensor1D;
export declare function cast<T extends Tensor>(x: T | TensorLike, dtype: DataType): T;
export declare function transpose<T extends Tensor>(x: T | TensorLike, perm?: number[]): T;
export declare function broadcastTo<R extends Rank = Rank>(x: Tensor | TensorLike, shape: ShapeMap[R]): Tensor<R>;

export declare function concat<T extends Tensor>(tensors: Array<T | TensorLike>, axis?: number): T;
export declare function concat1d(tensors: Array<Tensor1D | TensorLike>): Tensor1D;
export declare function concat2d(tensors: Array<Tensor2D | TensorLike>, axis: number): Tensor2D;
export declare function concat3d(tensors: Array<Tensor3D | TensorLike>, axis: number): Tensor3D;
export declare function concat4d(tensors: Array<Tensor4D | TensorLike>, axis: number): Tensor4D;
export declare function stack<T extends Tensor>(tensors: Array<T | TensorLike>, axis?: number): Tensor;
export declare function unstack(x: Tensor | TensorLike, axis?: number): Tensor[];
export declare function split<T extends Tensor>(x: Tensor | TensorLike, numOrSizeSplits: number[] | number, axis?: number): T[];

export declare function slice<T extends Tensor>(x: T | TensorLike, begin: number | number[], size?: number | number[]): T;
export declare function slice1d(x: Tensor1D | TensorLike, begin: number, size: number): Tensor1D;
export declare function slice2d(x: Tensor2D | TensorLike, begin: [number, number], size: [number, number]): Tensor2D;
export declare function slice3d(
  x: Tensor3D | TensorLike,
  begin: [number, number, number],
  size: [number, number, number],
): Tensor3D;
export declare function slice4d(
  x: Tensor4D | TensorLike,
  begin: [number, number, number, number],
  size: [number, number, number, number],
): Tensor4D;
export declare function stridedSlice(
  x: Tensor | TensorLike,
  begin: number[],
  end: number[],
  strides?: number[],
  beginMask?: number,
  endMask?: number,
  ellipsisMask?: number,
  newAxisMask?: number,
  shrinkAxisMask?: number,
): Tensor;
export declare function gather<T extends Tensor>(
  x: T | TensorLike,
  indices: Tensor | TensorLike,
  axis?: number,
  batchDims?: number,
): T;
export declare function tile<T extends Tensor>(x: T | TensorLike, reps: number[]): T;
export declare function pad<T extends Tensor>(x: T | TensorLike, paddings: Array<[number, number]>, constantValue?: number): T;
export declare function mirrorPad<T extends Tensor>(
  x: T | TensorLike,
  paddings: Array<[number, number]>,
  mode: 'reflect' | 'symmetric',
): T;
export declare function reverse<T extends Tensor>(x: T | TensorLike, axis?: number | number[]): T;
/** Elements of `a` where `condition` (bool) is true, of `b` elsewhere. */
export declare function where<T extends Tensor>(condition: Tensor | TensorLike, a: T | TensorLike, b: T | TensorLike): T;
export declare function topk<T extends Tensor>(x: T | TensorLike, k?: number, sorted?: boolean): { values: T; indices: T };
/** Matrix forms only, such as `'ij,jk->ik'`, `'bij,bjk->bik'`, `'i,i->'`, `'ij->ji'`. */
export declare function einsum(equation: string, ...tensors: Array<Tensor | TensorLike>): Tensor;

// ---------------------------------------------------------------------------------------------
// Linear algebra
// ---------------------------------------------------------------------------------------------

/** Matrix product; batched over leading dimensions for rank > 2. */
export declare function matMul<T extends Tensor>(
  a: Tensor | TensorLike,
  b: Tensor | TensorLike,
  transposeA?: boolean,
  transposeB?: boolean,
): T;
export declare function dot(t1: Tensor | TensorLike, t2: Tensor | TensorLike): Tensor;
export declare function outerProduct(v1: Tensor1D | TensorLike, v2: Tensor1D | TensorLike): Tensor2D;

// ---------------------------------------------------------------------------------------------
// Neural-network ops
// ---------------------------------------------------------------------------------------------

export declare function softmax<T extends Tensor>(logits: T | TensorLike, dim?: number): T;
export declare function logSoftmax<T extends Tensor>(logits: T | TensorLike, axis?: number): T;
export declare function conv1d<T extends Tensor2D | Tensor3D>(
  x: T | TensorLike,
  filter: Tensor3D | TensorLike,
  stride: number,
  pad: PaddingType,
  dataFormat?: 'NWC' | 'NCW',
  dilation?: number,
  dimRoundingMode?: DimRoundingMode,
): T;
export declare function conv2d<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  filter: Tensor4D | TensorLike,
  strides: [number, number] | number,
  pad: PaddingType,
  dataFormat?: 'NHWC' | 'NCHW',
  dilations?: [number, number] | number,
  dimRoundingMode?: DimRoundingMode,
): T;
export declare function conv2dTranspose<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  filter: Tensor4D | TensorLike,
  outputShape: [number, number, number, number] | [number, number, number],
  strides: [number, number] | number,
  pad: PaddingType,
  dimRoundingMode?: DimRoundingMode,
): T;
export declare function depthwiseConv2d<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  filter: Tensor4D | TensorLike,
  strides: [number, number] | number,
  pad: PaddingType,
  dataFormat?: 'NHWC' | 'NCHW',
  dilations?: [number, number] | number,
  dimRoundingMode?: DimRoundingMode,
): T;
export declare function separableConv2d<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  depthwiseFilter: Tensor4D | TensorLike,
  pointwiseFilter: Tensor4D | TensorLike,
  strides: [number, number] | number,
  pad: 'valid' | 'same',
  dilation?: [number, number] | number,
  dataFormat?: 'NHWC' | 'NCHW',
): T;
export declare function maxPool<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  filterSize: [number, number] | number,
  strides: [number, number] | number,
  pad: PaddingType,
  dimRoundingMode?: DimRoundingMode,
): T;
export declare function avgPool<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  filterSize: [number, number] | number,
  strides: [number, number] | number,
  pad: PaddingType,
  dimRoundingMode?: DimRoundingMode,
): T;
export declare function pool<T extends Tensor3D | Tensor4D>(
  input: T | TensorLike,
  windowShape: [number, number] | number,
  poolingType: 'avg' | 'max',
  pad: PaddingType,
  dilations?: [number, number] | number,
  strides?: [number, number] | number,
  dimRoundingMode?: DimRoundingMode,
): T;
/** `mean`, `variance`, `offset` and `scale` have the rank of `x`, or rank 1 (the last axis). */
export declare function batchNorm<R extends Rank = Rank>(
  x: Tensor<R> | TensorLike,
  mean: Tensor | TensorLike,
  variance: Tensor | TensorLike,
  offset?: Tensor | TensorLike,
  scale?: Tensor | TensorLike,
  varianceEpsilon?: number,
): Tensor<R>;
export declare function localResponseNormalization<T extends Tensor3D | Tensor4D>(
  x: T | TensorLike,
  depthRadius?: number,
  bias?: number,
  alpha?: number,
  beta?: number,
): T;
export declare function dropout(x: Tensor | TensorLike, rate: number, noiseShape?: number[], seed?: number | string): Tensor;

export declare namespace image {
  function resizeBilinear<T extends Tensor3D | Tensor4D>(
    images: T | TensorLike,
    size: [number, number],
    alignCorners?: boolean,
    halfPixelCenters?: boolean,
  ): T;
  function resizeNearestNeighbor<T extends Tensor3D | Tensor4D>(
    images: T | TensorLike,
    size: [number, number],
    alignCorners?: boolean,
    halfPixelCenters?: boolean,
  ): T;
}

/** Ops with bias and activation in one kernel (`_FusedMatMul`, `FusedConv2D`, `FusedDepthwiseConv2D`). */
export declare namespace fused {
  type Activation = 'linear' | 'relu' | 'prelu' | 'elu' | 'relu6' | 'leakyrelu' | 'sigmoid';
  interface FusedActivationArgs {
    bias?: Tensor | TensorLike;
    activation?: Activation;
    /** Required by `'prelu'`; needs a bias. */
    preluActivationWeights?: Tensor;
    /** The slope of `'leakyrelu'` (default 0.2). */
    leakyreluAlpha?: number;
  }
  function matMul(
    args: {
      a: Tensor | TensorLike;
      b: Tensor | TensorLike;
      transposeA?: boolean;
      transposeB?: boolean;
    } & FusedActivationArgs,
  ): Tensor;
  function conv2d<T extends Tensor3D | Tensor4D>(
    args: {
      x: T | TensorLike;
      filter: Tensor4D | TensorLike;
      strides: [number, number] | number;
      pad: PaddingType;
      dataFormat?: 'NHWC' | 'NCHW';
      dilations?: [number, number] | number;
      dimRoundingMode?: DimRoundingMode;
    } & FusedActivationArgs,
  ): T;
  function depthwiseConv2d<T extends Tensor3D | Tensor4D>(
    args: {
      x: T | TensorLike;
      filter: Tensor4D | TensorLike;
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number;
      dataFormat?: 'NHWC' | 'NCHW';
      dilations?: [number, number] | number;
      dimRoundingMode?: DimRoundingMode;
    } & FusedActivationArgs,
  ): T;
}

// ---------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------

/** How `tf.losses.*` reduce the weighted per-element losses (default `SUM_BY_NONZERO_WEIGHTS`). */
export declare enum Reduction {
  NONE = 0,
  MEAN = 1,
  SUM = 2,
  SUM_BY_NONZERO_WEIGHTS = 3,
}

export declare namespace losses {
  function computeWeightedLoss<T extends Tensor, O extends Tensor>(
    losses: T | TensorLike,
    weights?: Tensor | TensorLike,
    reduction?: Reduction,
  ): O;
  function meanSquaredError<T extends Tensor, O extends Tensor>(
    labels: T | TensorLike,
    predictions: T | TensorLike,
    weights?: Tensor | TensorLike,
    reduction?: Reduction,
  ): O;
  function absoluteDifference<T extends Tensor, O extends Tensor>(
    labels: T | TensorLike,
    predictions: T | TensorLike,
    weights?: Tensor | TensorLike,
    reduction?: Reduction,
  ): O;
  function softmaxCrossEntropy<T extends Tensor, O extends Tensor>(
    onehotLabels: T | TensorLike,
    logits: T | TensorLike,
    weights?: Tensor | TensorLike,
    labelSmoothing?: number,
    reduction?: Reduction,
  ): O;
  function sigmoidCrossEntropy<T extends Tensor, O extends Tensor>(
    multiClassLabels: T | TensorLike,
    logits: T | TensorLike,
    weights?: Tensor | TensorLike,
    labelSmoothing?: number,
    reduction?: Reduction,
  ): O;
  function logLoss<T extends Tensor, O extends Tensor>(
    labels: T | TensorLike,
    predictions: T | TensorLike,
    weights?: Tensor | TensorLike,
    epsilon?: number,
    reduction?: Reduction,
  ): O;
  function huberLoss<T extends Tensor, O extends Tensor>(
    labels: T | TensorLike,
    predictions: T | TensorLike,
    weights?: Tensor | TensorLike,
    delta?: number,
    reduction?: Reduction,
  ): O;
  function hingeLoss<T extends Tensor, O extends Tensor>(
    labels: T | TensorLike,
    predictions: T | TensorLike,
    weights?: Tensor | TensorLike,
    reduction?: Reduction,
  ): O;
  function cosineDistance<T extends Tensor, O extends Tensor>(
    labels: T | TensorLike,
    predictions: T | TensorLike,
    axis: number,
    weights?: Tensor | TensorLike,
    reduction?: Reduction,
  ): O;
}

// ---------------------------------------------------------------------------------------------
// Memory and autodiff
// ---------------------------------------------------------------------------------------------

export interface MemoryInfo {
  /** Live native tensors (variables included). */
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
  unreliable?: boolean;
  reasons?: string[];
}

export type ScopeFn<T extends TensorContainer> = () => T;

/** Runs `fn` and disposes the tensors it made, except those it returns (or `keep`s). */
export declare function tidy<T extends TensorContainer>(fn: ScopeFn<T>): T;
export declare function tidy<T extends TensorContainer>(name: string, fn: ScopeFn<T>): T;
/** Exempts a tensor from disposal by the enclosing `tidy`. */
export declare function keep<T extends Tensor>(result: T): T;
/** Disposes every tensor found in `container` (a tensor, or arrays and objects of them). */
export declare function dispose(container: TensorContainer): void;
export declare function memory(): MemoryInfo;
export declare function disposeVariables(): void;

/** `f`'s gradient at `x`; `f` must return a tensor (any shape, `dy` weighting the outputs). */
export declare function grad(f: (x: Tensor) => Tensor): (x: Tensor, dy?: Tensor | TensorLike) => Tensor;
export declare function grads(
  f: (...args: Tensor[]) => Tensor,
): (args: Array<Tensor | TensorLike>, dy?: Tensor | TensorLike) => Tensor[];
export declare function valueAndGrad<I extends Tensor, O extends Tensor>(
  f: (x: I) => O,
): (x: I, dy?: O | TensorLike) => { value: O; grad: I };
export declare function valueAndGrads<O extends Tensor>(
  f: (...args: Tensor[]) => O,
): (args: Array<Tensor | TensorLike>, dy?: O | TensorLike) => { grads: Tensor[]; value: O };
/** Gradients of the scalar `f()` w.r.t. `varList` (default: all trainable variables), by name. */
export declare function variableGrads(f: () => Scalar, varList?: Variable[]): { value: Scalar; grads: NamedTensorMap };

/** Passed as the last argument to a `customGrad` function: saves tensors for `gradFunc`. */
export type GradSaveFunc = (save: Tensor[]) => void;
export interface CustomGradientResult<T extends Tensor> {
  value: T;
  /** Returns one gradient per input, in order (a single tensor for a single input). */
  gradFunc: (dy: T, saved: Tensor[]) => Tensor | Tensor[];
}
/**
 * An op with a user-supplied gradient, used even when it is not the true derivative.
 * `f(...inputs, save)`; functions of several inputs annotate their parameters.
 */
export declare function customGrad<T extends Tensor>(
  f: (x: Tensor, save: GradSaveFunc) => CustomGradientResult<T>,
): (x: Tensor | TensorLike) => T;
export declare function customGrad<A extends Tensor[], T extends Tensor>(
  f: (...args: [...A, GradSaveFunc]) => CustomGradientResult<T>,
): (...args: { [K in keyof A]: A[K] | TensorLike }) => T;

// ---------------------------------------------------------------------------------------------
// Kernel and gradient registry, engine, backend
// ---------------------------------------------------------------------------------------------

type AttributeValue = number | number[] | boolean | boolean[] | string | string[] | NamedAttrMap;
export type Attribute = AttributeValue | RecursiveArray<AttributeValue>;
/** Kernel attributes; they travel to native code as JSON, so they cannot hold tensors. */
export interface NamedAttrMap {
  [name: string]: Attribute;
}
export interface NamedTensorInfoMap {
  [name: string]: TensorInfo | undefined;
}
/** Kernel inputs by name (`{x}`, `{a, b}`), or in the kernel's input order. */
export type KernelInputs = { [name: string]: Tensor | TensorLike | undefined } | Array<Tensor | TensorLike>;

/** What a JS kernel sees as `backend`: reads and makes tensor data by `dataId`. */
export interface KernelBackend {
  readSync(dataId: DataId): BackendValues;
  read(dataId: DataId): Promise<BackendValues>;
  /** A new output tensor (zeros when `values` is omitted). */
  makeTensorInfo(shape: number[], dtype?: DataType, values?: BackendValues | number[] | boolean[]): TensorInfo;
  disposeData(dataId: DataId): boolean;
  numDataIds(): number;
  epsilon(): number;
  floatPrecision(): number;
}

export interface KernelParams {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: NamedAttrMap;
}
// KernelFunc and GradFunc are checked bivariantly (method syntax), so implementations may annotate
// their parameters more narrowly, as tfjs code does (`gradFunc: (dy: Tensor, saved) => ...`).
export type KernelFunc = { kernel(params: KernelParams): TensorInfo | TensorInfo[] }['kernel'];
export type KernelSetupFunc = (backend: KernelBackend) => void;
export type KernelDisposeFunc = KernelSetupFunc;
export interface KernelConfig {
  kernelName: string;
  /** `'cpu'`; `'tensorflow'` (what tfjs-node scripts use) counts as `'cpu'`. */
  backendName: string;
  kernelFunc: KernelFunc;
  setupFunc?: KernelSetupFunc;
  disposeFunc?: KernelDisposeFunc;
}
/** A registered kernel; `native` is true for a built-in (Rust) kernel. */
export interface RegisteredKernel extends KernelConfig {
  native?: boolean;
}

/** Input name → a function computing that input's gradient. */
export interface NamedGradientMap {
  [inputName: string]: () => Tensor;
}
/** `dy` is an array for kernels with several outputs; `saved` holds inputsToSave then outputsToSave. */
export type GradFunc = { grad(dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): NamedGradientMap }['grad'];
export interface GradConfig {
  kernelName: string;
  inputsToSave?: string[];
  saveAllInputs?: boolean;
  outputsToSave?: boolean[];
  gradFunc: GradFunc;
}
/** What `getGradient` reports for a built-in (Rust) gradient: it has no JS `gradFunc`. */
export interface NativeGradConfig {
  kernelName: string;
  native: true;
}

export declare function registerKernel(config: KernelConfig): void;
export declare function unregisterKernel(kernelName: string, backendName: string): void;
export declare function getKernel(kernelName: string, backendName: string): RegisteredKernel | undefined;
export declare function getKernelsForBackend(backendName: string): RegisteredKernel[];
export declare function registerGradient(config: GradConfig): void;
export declare function unregisterGradient(kernelName: string): void;
export declare function getGradient(kernelName: string): GradConfig | NativeGradConfig | undefined;

export interface Engine {
  /** Runs a kernel through the registry: one tensor, or an array for several outputs. */
  runKernel<T extends Tensor | Tensor[]>(kernelName: string, inputs: KernelInputs, attrs?: NamedAttrMap): T;
  readonly backend: KernelBackend;
  readonly backendName: string;
  readonly registeredVariables: NamedVariableMap;
  tidy: typeof tidy;
  keep: typeof keep;
  dispose: typeof dispose;
  memory: typeof memory;
  startScope(name?: string): void;
  endScope(result?: TensorContainer): void;
  /** Disposes all variables. */
  reset(): void;
}
export declare function engine(): Engine;
export declare function backend(): KernelBackend;
/** Always `'cpu'`. */
export declare function getBackend(): string;
/** Accepts `'cpu'` and `'tensorflow'`; any other name is an error. */
export declare function setBackend(backendName: string): Promise<boolean>;
export declare function ready(): Promise<void>;

export type FlagValue = number | boolean | string;
export interface Flags {
  [featureName: string]: FlagValue;
}
/** Flags scripts commonly read: `IS_NODE`, `IS_BROWSER`, `DEBUG`, `IS_TEST`, `PROD`, `WEBGL_VERSION`. */
export interface Environment {
  get(flagName: string): FlagValue;
  getBool(flagName: string): boolean;
  getNumber(flagName: string): number;
  getFlags(): Flags;
  set(flagName: string, value: FlagValue): void;
}
export declare function env(): Environment;

// ---------------------------------------------------------------------------------------------
// Optimizers
// ---------------------------------------------------------------------------------------------

export type ConfigDictValue = boolean | number | string | null | ConfigDictArray | ConfigDict;
export interface ConfigDict {
  [key: string]: ConfigDictValue;
}
export interface ConfigDictArray extends Array<ConfigDictValue> {}

export declare abstract class Optimizer {
  /** Steps applied so far. */
  readonly iterations: number;
  /**
   * One training step: differentiates the scalar `f()` w.r.t. `varList` (default: all trainable
   * variables) and applies the update. Returns the cost when `returnCost` is true.
   */
  minimize(f: () => Scalar, returnCost: true, varList?: Variable[]): Scalar;
  minimize(f: () => Scalar, returnCost?: false, varList?: Variable[]): null;
  minimize(f: () => Scalar, returnCost?: boolean, varList?: Variable[]): Scalar | null;
  computeGradients(f: () => Scalar, varList?: Variable[]): { value: Scalar; grads: NamedTensorMap };
  /** Updates the variables named in `variableGradients`. */
  abstract applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  dispose(): void;
  saveIterations(): Promise<NamedTensor>;
  /** The optimizer's state (iterations first, then slot variables). */
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weightValues: NamedTensor[]): Promise<void>;
  getClassName(): string;
  abstract getConfig(): ConfigDict;
}

export declare class SGDOptimizer extends Optimizer {
  static readonly className: string;
  constructor(learningRate: number);
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  setLearningRate(learningRate: number): void;
  getConfig(): ConfigDict;
}
export declare class MomentumOptimizer extends SGDOptimizer {
  constructor(learningRate: number, momentum: number, useNesterov?: boolean);
  setMomentum(momentum: number): void;
}
export declare class RMSPropOptimizer extends Optimizer {
  static readonly className: string;
  constructor(learningRate: number, decay?: number, momentum?: number, epsilon?: number, centered?: boolean);
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  getConfig(): ConfigDict;
}
export declare class AdamOptimizer extends Optimizer {
  static readonly className: string;
  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number);
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  getConfig(): ConfigDict;
}
export declare class AdamaxOptimizer extends Optimizer {
  static readonly className: string;
  constructor(learningRate: number, beta1: number, beta2: number, epsilon?: number, decay?: number);
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  getConfig(): ConfigDict;
}
export declare class AdagradOptimizer extends Optimizer {
  static readonly className: string;
  constructor(learningRate: number, initialAccumulatorValue?: number);
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  getConfig(): ConfigDict;
}
export declare class AdadeltaOptimizer extends Optimizer {
  static readonly className: string;
  constructor(learningRate: number, rho: number, epsilon?: number);
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void;
  getConfig(): ConfigDict;
}

/** Optimizer factories with tfjs defaults. */
export declare namespace train {
  function sgd(learningRate: number): SGDOptimizer;
  function momentum(learningRate: number, momentum: number, useNesterov?: boolean): MomentumOptimizer;
  function rmsprop(
    learningRate: number,
    decay?: number,
    momentum?: number,
    epsilon?: number,
    centered?: boolean,
  ): RMSPropOptimizer;
  function adam(learningRate?: number, beta1?: number, beta2?: number, epsilon?: number): AdamOptimizer;
  function adamax(learningRate?: number, beta1?: number, beta2?: number, epsilon?: number, decay?: number): AdamaxOptimizer;
  function adagrad(learningRate: number, initialAccumulatorValue?: number): AdagradOptimizer;
  function adadelta(learningRate?: number, rho?: number, epsilon?: number): AdadeltaOptimizer;
}

// ---------------------------------------------------------------------------------------------
// Miscellany
// ---------------------------------------------------------------------------------------------

/** The tfjs API level implemented, and ferrograd's own version. */
export declare const version: {
  readonly 'tfjs-core': string;
  readonly 'tfjs-layers': string;
  readonly 'tfjs-data': string;
  readonly tfjs: string;
  readonly ferrograd: string;
};
export declare function print<T extends Tensor>(x: T, verbose?: boolean): void;
/** Resolves on the next turn of the event loop. */
export declare function nextFrame(): Promise<void>;

export declare namespace util {
  function sizeFromShape(shape: number[]): number;
  function flatten<T extends number | boolean>(arr: T | RecursiveArray<T>): T[];
  /** Milliseconds, high resolution. */
  function now(): number;
}

/** The namespace itself, for `import tf from 'ferrograd'`. */
declare const tf: typeof import('./index.js');
export default tf;

// ---------------------------------------------------------------------------------------------
// Layers and models
// ---------------------------------------------------------------------------------------------

/** A shape whose dimensions may be unknown (null), as layers see their inputs. */
export type Shape = Array<number | null>;

/** A placeholder flowing through `Layer.apply` while a model is being defined. */
export declare class SymbolicTensor {
  readonly dtype: DataType;
  readonly shape: Shape;
  readonly name: string;
  readonly rank: number;
  readonly id: number;
  readonly sourceLayer: layers.Layer;
  readonly outputIndex: number;
}

export interface LayerArgs {
  name?: string;
  trainable?: boolean;
  inputShape?: Shape;
  batchInputShape?: Shape;
  batchSize?: number;
  inputDim?: number;
  dtype?: DataType;
}

export interface Kwargs {
  training?: boolean;
  /** The inputs' masks (one per input for layers called on a list). */
  mask?: Tensor | Array<Tensor | null> | null;
  [key: string]: unknown;
}


export declare namespace initializers {
  class Initializer {
    readonly className: string;
    getClassName(): string;
    getConfig(): ConfigDict;
    apply(shape: number[], dtype?: DataType): Tensor;
  }
  interface SeedArgs { seed?: number }
  function zeros(): Initializer;
  function ones(): Initializer;
  function constant(args: { value: number }): Initializer;
  function randomNormal(args: { mean?: number; stddev?: number; seed?: number }): Initializer;
  function randomUniform(args: { minval?: number; maxval?: number; seed?: number }): Initializer;
  function truncatedNormal(args: { mean?: number; stddev?: number; seed?: number }): Initializer;
  function varianceScaling(args: { scale?: number; mode?: 'fanIn' | 'fanOut' | 'fanAvg'; distribution?: 'normal' | 'uniform' | 'truncatedNormal'; seed?: number }): Initializer;
  function glorotNormal(args?: SeedArgs): Initializer;
  function glorotUniform(args?: SeedArgs): Initializer;
  function heNormal(args?: SeedArgs): Initializer;
  function heUniform(args?: SeedArgs): Initializer;
  function leCunNormal(args?: SeedArgs): Initializer;
  function leCunUniform(args?: SeedArgs): Initializer;
  function orthogonal(args?: { gain?: number; seed?: number }): Initializer;
  function identity(args?: { gain?: number }): Initializer;
}

export type InitializerIdentifier =
  | 'zeros' | 'ones' | 'constant' | 'randomNormal' | 'randomUniform' | 'truncatedNormal' | 'varianceScaling'
  | 'glorotNormal' | 'glorotUniform' | 'heNormal' | 'heUniform' | 'leCunNormal' | 'leCunUniform' | 'orthogonal' | 'identity';
export type ActivationIdentifier =
  | 'linear' | 'relu' | 'relu6' | 'elu' | 'selu' | 'sigmoid' | 'hardSigmoid' | 'tanh' | 'softmax' | 'softplus'
  | 'softsign' | 'swish' | 'mish' | 'gelu';
export type RegularizerSpec = 'l1' | 'l2' | 'l1l2' | regularizers.Regularizer | { className: string; config: ConfigDict };
export type ConstraintSpec = 'maxNorm' | 'unitNorm' | 'nonNeg' | 'minMaxNorm' | constraints.Constraint | { className: string; config: ConfigDict };

/** Weight penalties for layer configs; `apply(x)` is the scalar penalty of a weight. */
export declare namespace regularizers {
  abstract class Regularizer {
    getClassName(): string;
    getConfig(): ConfigDict;
    apply(x: Tensor): Scalar;
  }
  class L1L2 extends Regularizer {
    static readonly className: 'L1L2';
    readonly l1: number;
    readonly l2: number;
    getConfig(): { l1: number; l2: number };
  }
  function l1(config?: { l1?: number }): L1L2;
  function l2(config?: { l2?: number }): L1L2;
  function l1l2(config?: { l1?: number; l2?: number }): L1L2;
}

/** Projections applied to a weight after each training update; `apply(w)` is the projected value. */
export declare namespace constraints {
  abstract class Constraint {
    getClassName(): string;
    getConfig(): ConfigDict;
    apply<T extends Tensor>(w: T): T;
  }
  function maxNorm(config?: { maxValue?: number; axis?: number | number[] }): Constraint;
  function unitNorm(config?: { axis?: number | number[] }): Constraint;
  function nonNeg(): Constraint;
  function minMaxNorm(config?: { minValue?: number; maxValue?: number; rate?: number; axis?: number | number[] }): Constraint;
}

/** Metrics as functions of (yTrue, yPred): per-sample values over the last axis, except the scalars
 * precision, recall and r2Score. */
export declare namespace metrics {
  type MetricFn = (yTrue: Tensor | TensorLike, yPred: Tensor | TensorLike) => Tensor;
  const binaryAccuracy: MetricFn;
  const categoricalAccuracy: MetricFn;
  const sparseCategoricalAccuracy: MetricFn;
  const precision: MetricFn;
  const recall: MetricFn;
  const binaryCrossentropy: MetricFn;
  const categoricalCrossentropy: MetricFn;
  const sparseCategoricalCrossentropy: MetricFn;
  const cosineProximity: MetricFn;
  const meanSquaredError: MetricFn;
  const MSE: MetricFn;
  const mse: MetricFn;
  const meanAbsoluteError: MetricFn;
  const MAE: MetricFn;
  const mae: MetricFn;
  const meanAbsolutePercentageError: MetricFn;
  const MAPE: MetricFn;
  const mape: MetricFn;
  function r2Score(yTrue: Tensor | TensorLike, yPred: Tensor | TensorLike): Scalar;
}

export interface DenseLayerArgs extends LayerArgs {
  units: number;
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier | initializers.Initializer;
  biasInitializer?: InitializerIdentifier | initializers.Initializer;
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  activityRegularizer?: RegularizerSpec;
  kernelConstraint?: ConstraintSpec;
  biasConstraint?: ConstraintSpec;
}

export declare namespace layers {
  class Layer {
    constructor(config?: LayerArgs);
    static readonly className: string;
    name: string;
    built: boolean;
    trainable: boolean;
    batchInputShape?: Shape;
    readonly weights: Variable[];
    readonly trainableWeights: Variable[];
    readonly nonTrainableWeights: Variable[];
    readonly losses: Array<Tensor | (() => Tensor)>;
    getClassName(): string;
    apply(inputs: Tensor | Tensor[], kwargs?: Kwargs): Tensor | Tensor[];
    apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: Kwargs): SymbolicTensor | SymbolicTensor[];
    build(inputShape: Shape | Shape[]): void;
    call(inputs: Tensor | Tensor[], kwargs?: Kwargs): Tensor | Tensor[];
    /** The mask of the outputs (Masking, Embedding with maskZero, layers that pass one on), or null. */
    computeMask(inputs: Tensor | Tensor[], mask?: Tensor | Array<Tensor | null> | null): Tensor | null;
    computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[];
    getConfig(): ConfigDict;
    addWeight(
      name: string,
      shape: number[],
      dtype?: DataType,
      initializer?: InitializerIdentifier | initializers.Initializer,
      regularizer?: RegularizerSpec,
      trainable?: boolean,
      constraint?: ConstraintSpec,
    ): Variable;
    /** Adds a loss term; inside fit it enters the step's total loss (Keras `add_loss`). */
    addLoss(loss: Tensor | (() => Tensor) | Array<Tensor | (() => Tensor)>): void;
    /** ★ Reports a metric from `call` (Keras `add_metric`): its epoch mean appears in the fit logs and History. */
    addMetric(value: Tensor | number, name: string): void;
    getWeights(): Tensor[];
    setWeights(weights: Tensor[]): void;
    countParams(): number;
    dispose(): { refCountAfterDispose: number; numDisposedVariables: number };
  }
  /** ★ Keras `Lambda`: a layer computing `fn(inputs, arguments)`; it cannot be serialized. */
  function lambda(config: LayerArgs & { fn: (inputs: Tensor | Tensor[], args: ConfigDict) => Tensor | Tensor[]; outputShape?: Shape; arguments?: ConfigDict }): Layer;
  function dense(config: DenseLayerArgs): Layer;
  function activation(config: LayerArgs & { activation: ActivationIdentifier }): Layer;
  function flatten(config?: LayerArgs & { dataFormat?: 'channelsFirst' | 'channelsLast' }): Layer;
  function dropout(config: LayerArgs & { rate: number; noiseShape?: Shape; seed?: number }): Layer;
  function inputLayer(config: LayerArgs & { sparse?: boolean }): Layer;
  function simpleRNN(config: RNNLayerArgs): Layer;
  function lstm(config: RNNLayerArgs & { recurrentActivation?: ActivationIdentifier; unitForgetBias?: boolean; implementation?: number }): Layer;
  function gru(config: RNNLayerArgs & { recurrentActivation?: ActivationIdentifier; resetAfter?: boolean; implementation?: number }): Layer;
  function rnn(config: LayerArgs & { cell: { className: string; config: ConfigDict }; returnSequences?: boolean; returnState?: boolean; goBackwards?: boolean }): Layer;
  function simpleRNNCell(config: RNNLayerArgs): Layer;
  function lstmCell(config: RNNLayerArgs & { recurrentActivation?: ActivationIdentifier; unitForgetBias?: boolean }): Layer;
  function gruCell(config: RNNLayerArgs & { recurrentActivation?: ActivationIdentifier; resetAfter?: boolean }): Layer;
  function bidirectional(config: LayerArgs & { layer: Layer | { className: string; config: ConfigDict }; mergeMode?: 'concat' | 'sum' | 'mul' | 'ave' | null }): Layer;
  function timeDistributed(config: LayerArgs & { layer: Layer | { className: string; config: ConfigDict } }): Layer;
  function conv1d(config: ConvLayerArgs): Layer;
  function conv2d(config: ConvLayerArgs): Layer;
  function conv2dTranspose(config: ConvLayerArgs): Layer;
  function depthwiseConv2d(config: ConvLayerArgs & { depthMultiplier?: number; depthwiseInitializer?: InitializerIdentifier | initializers.Initializer }): Layer;
  function separableConv2d(config: ConvLayerArgs & { depthMultiplier?: number; depthwiseInitializer?: InitializerIdentifier | initializers.Initializer; pointwiseInitializer?: InitializerIdentifier | initializers.Initializer }): Layer;
  function maxPooling1d(config?: Pooling1DLayerArgs): Layer;
  function averagePooling1d(config?: Pooling1DLayerArgs): Layer;
  function maxPooling2d(config?: Pooling2DLayerArgs): Layer;
  function averagePooling2d(config?: Pooling2DLayerArgs): Layer;
  function maxPool1d(config?: Pooling1DLayerArgs): Layer;
  function avgPool1d(config?: Pooling1DLayerArgs): Layer;
  function avgPooling1d(config?: Pooling1DLayerArgs): Layer;
  function maxPool2d(config?: Pooling2DLayerArgs): Layer;
  function avgPool2d(config?: Pooling2DLayerArgs): Layer;
  function avgPooling2d(config?: Pooling2DLayerArgs): Layer;
  function globalAveragePooling1d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalAveragePooling2d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalMaxPooling1d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalMaxPooling2d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalAvgPool1d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalAvgPool2d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalMaxPool1d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function globalMaxPool2d(config?: LayerArgs & { dataFormat?: DataFormat }): Layer;
  function batchNormalization(config?: LayerArgs & { axis?: number; momentum?: number; epsilon?: number; center?: boolean; scale?: boolean;
    betaInitializer?: InitializerIdentifier | initializers.Initializer; gammaInitializer?: InitializerIdentifier | initializers.Initializer;
    movingMeanInitializer?: InitializerIdentifier | initializers.Initializer; movingVarianceInitializer?: InitializerIdentifier | initializers.Initializer;
    betaRegularizer?: RegularizerSpec; gammaRegularizer?: RegularizerSpec; betaConstraint?: ConstraintSpec; gammaConstraint?: ConstraintSpec }): Layer;
  function layerNormalization(config?: LayerArgs & { axis?: number | number[]; epsilon?: number; center?: boolean; scale?: boolean;
    betaInitializer?: InitializerIdentifier | initializers.Initializer; gammaInitializer?: InitializerIdentifier | initializers.Initializer;
    betaRegularizer?: RegularizerSpec; gammaRegularizer?: RegularizerSpec }): Layer;
  function reshape(config: LayerArgs & { targetShape: Shape }): Layer;
  function permute(config: LayerArgs & { dims: number[] }): Layer;
  function repeatVector(config: LayerArgs & { n: number }): Layer;
  function zeroPadding2d(config?: LayerArgs & { padding?: number | [number, number] | [[number, number], [number, number]]; dataFormat?: DataFormat }): Layer;
  function cropping2d(config: LayerArgs & { cropping: number | [number, number] | [[number, number], [number, number]]; dataFormat?: DataFormat }): Layer;
  /** tfjs's spelling of `cropping2d`. */
  function cropping2D(config: LayerArgs & { cropping: number | [number, number] | [[number, number], [number, number]]; dataFormat?: DataFormat }): Layer;
  function upSampling2d(config?: LayerArgs & { size?: number[]; dataFormat?: DataFormat; interpolation?: 'nearest' | 'bilinear' }): Layer;
  function masking(config?: LayerArgs & { maskValue?: number }): Layer;
  function embedding(config: LayerArgs & { inputDim: number; outputDim: number; embeddingsInitializer?: InitializerIdentifier | initializers.Initializer;
    embeddingsRegularizer?: RegularizerSpec; embeddingsConstraint?: ConstraintSpec; maskZero?: boolean; inputLength?: number | number[] }): Layer;
  function add(config?: LayerArgs): Layer;
  function average(config?: LayerArgs): Layer;
  function concatenate(config?: LayerArgs & { axis?: number }): Layer;
  function maximum(config?: LayerArgs): Layer;
  function minimum(config?: LayerArgs): Layer;
  function multiply(config?: LayerArgs): Layer;
  function dot(config: LayerArgs & { axes: number | [number, number]; normalize?: boolean }): Layer;
  function elu(config?: LayerArgs & { alpha?: number }): Layer;
  function reLU(config?: LayerArgs & { maxValue?: number }): Layer;
  function leakyReLU(config?: LayerArgs & { alpha?: number }): Layer;
  function prelu(config?: LayerArgs & { alphaInitializer?: InitializerIdentifier | initializers.Initializer; alphaRegularizer?: RegularizerSpec; alphaConstraint?: ConstraintSpec; sharedAxes?: number | number[] }): Layer;
  function softmax(config?: LayerArgs & { axis?: number }): Layer;
  function thresholdedReLU(config?: LayerArgs & { theta?: number }): Layer;
  function gaussianNoise(config: LayerArgs & { stddev: number }): Layer;
  function gaussianDropout(config: LayerArgs & { rate: number }): Layer;
  function alphaDropout(config: LayerArgs & { rate: number; noiseShape?: Shape }): Layer;
}

export type DataFormat = 'channelsFirst' | 'channelsLast';
export interface ConvLayerArgs extends LayerArgs {
  filters?: number;
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: 'valid' | 'same';
  dataFormat?: DataFormat;
  dilationRate?: number | number[];
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier | initializers.Initializer;
  biasInitializer?: InitializerIdentifier | initializers.Initializer;
  kernelConstraint?: ConstraintSpec;
  biasConstraint?: ConstraintSpec;
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  activityRegularizer?: RegularizerSpec;
}
export interface Pooling1DLayerArgs extends LayerArgs {
  poolSize?: number | [number];
  strides?: number | [number];
  padding?: 'valid' | 'same';
}
export interface Pooling2DLayerArgs extends LayerArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number];
  padding?: 'valid' | 'same';
  dataFormat?: DataFormat;
}

export interface RNNLayerArgs extends LayerArgs {
  units: number;
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier | initializers.Initializer;
  recurrentInitializer?: InitializerIdentifier | initializers.Initializer;
  biasInitializer?: InitializerIdentifier | initializers.Initializer;
  kernelRegularizer?: RegularizerSpec;
  recurrentRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  kernelConstraint?: ConstraintSpec;
  recurrentConstraint?: ConstraintSpec;
  biasConstraint?: ConstraintSpec;
  dropout?: number;
  recurrentDropout?: number;
  returnSequences?: boolean;
  returnState?: boolean;
  goBackwards?: boolean;
  stateful?: boolean;
  unroll?: boolean;
}

export interface InputConfig {
  shape?: Shape;
  batchShape?: Shape;
  name?: string;
  dtype?: DataType;
}
export declare function input(config: InputConfig): SymbolicTensor;

export interface ModelPredictArgs {
  batchSize?: number;
  verbose?: boolean;
}

export declare class LayersModel extends layers.Layer {
  constructor(args?: { inputs?: SymbolicTensor | SymbolicTensor[]; outputs?: SymbolicTensor | SymbolicTensor[]; name?: string });
  readonly inputs: SymbolicTensor[];
  readonly outputs: SymbolicTensor[];
  readonly layers: layers.Layer[];
  stopTraining: boolean;
  getLayer(name: string): layers.Layer;
  getLayer(name: undefined, index: number): layers.Layer;
  getLayer(index: number): layers.Layer;
  predict(x: Tensor | Tensor[], args?: ModelPredictArgs): Tensor | Tensor[];
  predictOnBatch(x: Tensor | Tensor[]): Tensor | Tensor[];
  compile(args: ModelCompileArgs): void;
  fit(x: Tensor | Tensor[], y: Tensor | Tensor[], args?: ModelFitArgs): Promise<History>;
  evaluate(x: Tensor | Tensor[], y: Tensor | Tensor[], args?: { batchSize?: number; verbose?: number }): Scalar | Scalar[];
  trainOnBatch(x: Tensor | Tensor[], y: Tensor | Tensor[]): Promise<number | number[]>;
  fitDataset<T extends TensorContainer>(dataset: data.Dataset<T>, args: ModelFitDatasetArgs<T>): Promise<History>;
  evaluateDataset<T extends TensorContainer>(dataset: data.Dataset<T> | data.LazyIterator<T>, args?: ModelEvaluateDatasetArgs): Promise<Scalar | Scalar[]>;
  optimizer?: Optimizer;
  readonly metricsNames?: string[];
  /** The loss and metrics given to `compile` (saved in the training config). */
  loss?: ModelCompileArgs['loss'];
  metrics?: ModelCompileArgs['metrics'];
  /** Saved into and read from model.json's `userDefinedMetadata`. */
  userDefinedMetadata?: {};
  summary(lineLength?: number, positions?: number[], printFn?: (message?: string) => void): void;
  /**
   * Saves topology and weights (tfjs layers-model format): `'file:///dir'` writes
   * `dir/model.json` and `dir/weights.bin` as tfjs-node does; also http(s):// URLs, routed
   * schemes and IOHandlers. `includeOptimizer` adds the training config and optimizer state.
   */
  save(handlerOrURL: io.IOHandler | string, config?: io.SaveConfig): Promise<io.SaveResult>;
  /** ★ Saves the weights only (model.json without a topology, and weights.bin). */
  saveWeights(handlerOrURL: io.IOHandler | string): Promise<io.SaveResult>;
  /** ★ Loads weights saved by `saveWeights` or `save`, matched by name. */
  loadWeights(handlerOrURL: io.IOHandler | string, options?: { strict?: boolean } | boolean): Promise<void>;
  /** tfjs: sets weights from `{name: Tensor}`, matched by name (`strict` defaults to true). */
  loadWeights(weights: NamedTensorMap, strict?: boolean): void;
  /** The model topology as model.json holds it (snake_case), as a string or an object. */
  toJSON(unused?: unknown, returnString?: true): string;
  toJSON(unused: unknown, returnString: false): io.PyJsonDict;
}
export declare class Sequential extends LayersModel {
  constructor(config?: { layers?: layers.Layer[]; name?: string });
  add(layer: layers.Layer): void;
  pop(): void;
}
export type Logs = { [key: string]: number };

export interface CustomCallbackArgs {
  onTrainBegin?: (logs?: Logs) => void | Promise<void>;
  onTrainEnd?: (logs?: Logs) => void | Promise<void>;
  onEpochBegin?: (epoch: number, logs?: Logs) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs?: Logs) => void | Promise<void>;
  onBatchBegin?: (batch: number, logs?: Logs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs?: Logs) => void | Promise<void>;
  /** fitDataset: called after a batch at most every `yieldEvery` milliseconds. */
  onYield?: (epoch: number, batch: number, logs: Logs) => void | Promise<void>;
}

export declare class Callback {
  model?: LayersModel;
  setModel(model: LayersModel): void;
  setParams(params: Logs): void;
}

export interface EarlyStoppingCallbackArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  verbose?: number;
  mode?: 'auto' | 'min' | 'max';
  baseline?: number;
  restoreBestWeights?: boolean;
}
export declare class EarlyStopping extends Callback {
  constructor(args?: EarlyStoppingCallbackArgs);
  onTrainBegin(): void;
  onEpochEnd(epoch: number, logs: Logs): void;
  onTrainEnd(): void;
}
export declare namespace callbacks {
  function earlyStopping(args?: EarlyStoppingCallbackArgs): EarlyStopping;
}

export type LossOrMetricFn = (yTrue: Tensor, yPred: Tensor) => Tensor;
export interface ModelCompileArgs {
  optimizer: string | Optimizer;
  loss: string | string[] | { [outputName: string]: string } | LossOrMetricFn | LossOrMetricFn[];
  metrics?: Array<string | LossOrMetricFn> | { [outputName: string]: string | LossOrMetricFn | Array<string | LossOrMetricFn> };
  lossWeights?: number[] | { [outputName: string]: number };
}
export interface ModelFitArgs {
  batchSize?: number;
  epochs?: number;
  verbose?: 0 | 1 | 2;
  callbacks?: CustomCallbackArgs | CustomCallbackArgs[];
  validationSplit?: number;
  validationData?: [Tensor | Tensor[], Tensor | Tensor[]];
  shuffle?: boolean;
  classWeight?: { [classIndex: string]: number } | Array<{ [classIndex: string]: number }>;
  sampleWeight?: Tensor;
  initialEpoch?: number;
  stepsPerEpoch?: number;
  /** Validation batches to use (default: all of the validation data). */
  validationSteps?: number;
  /** Batch size of the validation pass (default: batchSize). */
  validationBatchSize?: number;
  /** ★ Validate after every n-th epoch (Keras `validation_freq`, default 1). */
  validationFreq?: number;
  /** When to call onYield hooks: 'auto' (every 125 ms), 'batch', 'epoch', 'never' or milliseconds. */
  yieldEvery?: YieldEveryOptions;
}
export interface History {
  epoch: number[];
  history: { [key: string]: number[] };
  params: Logs | null;
}

/** Keras-style base class for subclassed models. */
export declare const Model: typeof LayersModel;
export declare function sequential(config?: { layers?: layers.Layer[]; name?: string }): Sequential;
export declare function model(args: { inputs: SymbolicTensor | SymbolicTensor[]; outputs: SymbolicTensor | SymbolicTensor[]; name?: string }): LayersModel;

// ---- tf.data ------------------------------------------------------------------------------------

/** A nest of datasets for `tf.data.zip`: Datasets inside arrays and objects. */
export type DatasetContainer = data.Dataset<TensorContainer> | DatasetContainer[] | { [key: string]: DatasetContainer };

/** Per-column options of `tf.data.csv`. */
export interface ColumnConfig {
  /** An empty field in this column is an error (unless `default` is given). */
  required?: boolean;
  /** 'int32' floors numbers; 'bool' reads '1' and 'true' (any case) as 1, anything else as 0. */
  dtype?: 'float32' | 'int32' | 'bool' | 'string';
  /** The value of an empty field. */
  default?: TensorContainer;
  /** The column goes to `ys` (elements become `{xs, ys}`). */
  isLabel?: boolean;
}
export interface CSVConfig {
  /** The first line names the columns (default true). */
  hasHeader?: boolean;
  /** Column names; required when hasHeader is false, else they replace the header's. */
  columnNames?: string[];
  columnConfigs?: { [columnName: string]: ColumnConfig };
  /** Only the columns in columnConfigs appear in elements. */
  configuredColumnsOnly?: boolean;
  /** One character (default ','). */
  delimiter?: string;
  /** Fields are separated by runs of spaces (do not also give `delimiter`). */
  delimWhitespace?: boolean;
}

export declare namespace data {
  /** An iterator over a dataset's elements; `next()` resolves to `{value, done}`. */
  interface LazyIterator<T> {
    next(): Promise<IteratorResult<T>>;
    toArray(): Promise<T[]>;
    [Symbol.asyncIterator](): AsyncIterator<T>;
  }
  /** A stream of elements; each `iterator()` call starts a fresh pass. */
  class Dataset<T extends TensorContainer> {
    static readonly MAX_BUFFER_SIZE: number;
    /** Elements per pass: a count, Infinity, or null when unknown. */
    size: number | null;
    iterator(): Promise<LazyIterator<T>>;
    batch(batchSize: number, smallLastBatch?: boolean): Dataset<TensorContainer>;
    concatenate(dataset: Dataset<T>): Dataset<T>;
    filter(predicate: (value: T) => boolean): Dataset<T>;
    forEachAsync(f: (input: T) => void | Promise<void>): Promise<void>;
    map<O extends TensorContainer>(transform: (value: T) => O): Dataset<O>;
    mapAsync<O extends TensorContainer>(transform: (value: T) => Promise<O>): Dataset<O>;
    prefetch(bufferSize: number): Dataset<T>;
    repeat(count?: number): Dataset<T>;
    skip(count?: number): Dataset<T>;
    shuffle(bufferSize: number, seed?: string | number, reshuffleEachIteration?: boolean): Dataset<T>;
    take(count?: number): Dataset<T>;
    toArray(): Promise<T[]>;
  }
  /** The rows of a CSV file: objects keyed by column name, or `{xs, ys}` with label columns. */
  class CSVDataset extends Dataset<TensorContainerObject> {
    constructor(source: string, csvConfig?: CSVConfig);
    columnNames(): Promise<string[]>;
  }
  function array<T extends TensorContainer>(items: T[]): Dataset<T>;
  function zip<O extends TensorContainer>(datasets: DatasetContainer): Dataset<O>;
  function generator<T extends TensorContainer>(
    generator: () => Iterator<T> | AsyncIterator<T> | Promise<Iterator<T> | AsyncIterator<T>>,
  ): Dataset<T>;
  function func<T extends TensorContainer>(f: () => IteratorResult<T> | Promise<IteratorResult<T>>): Dataset<T>;
  /** `source`: a 'file://' URL, a file path, or an http(s) URL. */
  function csv(source: string, csvConfig?: CSVConfig): CSVDataset;
}

export type YieldEveryOptions = 'auto' | 'batch' | 'epoch' | 'never' | number;
export interface ModelFitDatasetArgs<T extends TensorContainer> {
  epochs: number;
  /** Batches per epoch; then one iterator runs on across epochs. Default: one pass per epoch. */
  batchesPerEpoch?: number;
  verbose?: 0 | 1 | 2;
  callbacks?: CustomCallbackArgs | Callback | Array<CustomCallbackArgs | Callback>;
  validationData?: [Tensor | Tensor[], Tensor | Tensor[]] | data.Dataset<T>;
  /** Batch size of tensor validationData (default 32). */
  validationBatchSize?: number;
  /** Batches of a validation dataset to use (default: all). */
  validationBatches?: number;
  yieldEvery?: YieldEveryOptions;
  initialEpoch?: number;
  classWeight?: { [classIndex: string]: number } | Array<{ [classIndex: string]: number } | null> | { [outputName: string]: { [classIndex: string]: number } };
}
export interface ModelEvaluateDatasetArgs {
  /** Batches to evaluate (default: the whole dataset). */
  batches?: number;
  verbose?: number;
}

// ---------------------------------------------------------------------------------------------
// Saving and loading (tfjs layers-model files)
// ---------------------------------------------------------------------------------------------

export declare namespace io {
  type PyJsonValue = boolean | number | string | null | PyJsonArray | PyJsonDict;
  interface PyJsonDict {
    [key: string]: PyJsonValue;
  }
  interface PyJsonArray extends Array<PyJsonValue> {}
  type WeightData = ArrayBuffer | ArrayBuffer[];
  type WeightGroup = 'model' | 'optimizer';
  interface Quantization {
    dtype: 'uint8' | 'uint16' | 'float16';
    scale?: number;
    min?: number;
  }
  interface WeightsManifestEntry {
    name: string;
    shape: number[];
    dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
    group?: WeightGroup;
    quantization?: Quantization;
  }
  interface WeightsManifestGroupConfig {
    paths: string[];
    weights: WeightsManifestEntry[];
  }
  type WeightsManifestConfig = WeightsManifestGroupConfig[];
  interface TrainingConfig {
    optimizer_config: { class_name: string; config: ConfigDict };
    loss: string | string[] | { [key: string]: string };
    metrics?: string[] | { [key: string]: string | string[] };
    weighted_metrics?: string[];
    sample_weight_mode?: string;
    loss_weights?: number[] | { [key: string]: number };
  }
  interface ModelArtifacts {
    modelTopology?: PyJsonDict | ArrayBuffer;
    trainingConfig?: TrainingConfig;
    weightSpecs?: WeightsManifestEntry[];
    weightData?: WeightData;
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    signature?: {};
    userDefinedMetadata?: { [key: string]: {} };
    modelInitializer?: {};
    initializerSignature?: {};
  }
  interface ModelJSON {
    modelTopology: PyJsonDict;
    trainingConfig?: TrainingConfig;
    weightsManifest: WeightsManifestConfig;
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    signature?: {};
    userDefinedMetadata?: { [key: string]: {} };
    modelInitializer?: {};
    initializerSignature?: {};
  }
  interface ModelArtifactsInfo {
    dateSaved: Date;
    modelTopologyType: 'JSON' | 'GraphDef';
    modelTopologyBytes?: number;
    weightSpecsBytes?: number;
    weightDataBytes?: number;
  }
  /** What `fetch` resolves to, as far as the http handler uses it. */
  interface FetchResponse {
    ok: boolean;
    status: number;
    arrayBuffer(): Promise<ArrayBuffer>;
    text(): Promise<string>;
  }
  interface SaveResult {
    modelArtifactsInfo: ModelArtifactsInfo;
    responses?: FetchResponse[];
    errors?: Array<{} | string>;
  }
  interface SaveConfig {
    trainableOnly?: boolean;
    includeOptimizer?: boolean;
  }
  type SaveHandler = (modelArtifact: ModelArtifacts) => Promise<SaveResult>;
  type LoadHandler = () => Promise<ModelArtifacts>;
  interface IOHandler {
    save?: SaveHandler;
    load?: LoadHandler;
  }
  interface IOHandlerSync {
    save?: (modelArtifact: ModelArtifacts) => SaveResult;
    load?: () => ModelArtifacts;
  }
  type FetchFunction = (url: string, init?: {}, options?: { isBinary?: boolean }) => Promise<FetchResponse>;
  interface LoadOptions {
    /** Weight matching in `loadLayersModel`: every weight present, no extra ones (default true). */
    strict?: boolean;
    requestInit?: {};
    onProgress?: (fraction: number) => void;
    fetchFunc?: FetchFunction;
    weightPathPrefix?: string;
    weightUrlConverter?: (weightFileName: string) => Promise<string>;
    streamWeights?: boolean;
  }
  type IORouter = (url: string | string[], loadOptions?: LoadOptions) => IOHandler | null;

  function registerSaveRouter(router: IORouter): void;
  function registerLoadRouter(router: IORouter): void;
  function getSaveHandlers(url: string | string[]): IOHandler[];
  function getLoadHandlers(url: string | string[], loadOptions?: LoadOptions): IOHandler[];
  /** An IOHandler whose `load` returns these artifacts. */
  function fromMemory(modelArtifacts: ModelArtifacts): IOHandler;
  /** The older form: topology, weight specs, weight data and training config. */
  function fromMemory(modelTopology: {}, weightSpecs?: WeightsManifestEntry[], weightData?: WeightData, trainingConfig?: TrainingConfig): IOHandler;
  function fromMemorySync(modelArtifacts: ModelArtifacts): IOHandlerSync;
  function fromMemorySync(modelTopology: {}, weightSpecs?: WeightsManifestEntry[], weightData?: WeightData, trainingConfig?: TrainingConfig): IOHandlerSync;
  /** An IOHandler whose `save` calls `saveHandler` with the artifacts. */
  function withSaveHandler(saveHandler: (artifacts: ModelArtifacts) => Promise<SaveResult>): IOHandler;
  function withSaveHandlerSync(saveHandler: (artifacts: ModelArtifacts) => SaveResult): IOHandlerSync;
  function encodeWeights(tensors: NamedTensorMap | NamedTensor[], group?: WeightGroup): Promise<{ data: ArrayBuffer; specs: WeightsManifestEntry[] }>;
  function decodeWeights(weightData: WeightData | ArrayBufferView, specs: WeightsManifestEntry[]): NamedTensorMap;
  function concatenateArrayBuffers(buffers: ArrayBuffer[] | ArrayBuffer): ArrayBuffer;
  /** Several ArrayBuffers read as one. */
  class CompositeArrayBuffer {
    constructor(buffers?: ArrayBuffer | ArrayBufferView | Array<ArrayBuffer | ArrayBufferView>);
    readonly byteLength: number;
    slice(start?: number, end?: number): ArrayBuffer;
    static join(buffers?: ArrayBuffer[] | ArrayBuffer): ArrayBuffer;
  }
  function getWeightSpecs(weightsManifest: WeightsManifestConfig): WeightsManifestEntry[];
  function getModelArtifactsInfoForJSON(modelArtifacts: ModelArtifacts): ModelArtifactsInfo;
  function getModelArtifactsForJSON(
    modelJSON: ModelJSON,
    loadWeights: (weightsManifest: WeightsManifestConfig) => Promise<[WeightsManifestEntry[], WeightData]>,
  ): Promise<ModelArtifacts>;
  function getModelArtifactsForJSONSync(modelJSON: ModelJSON, weightSpecs?: WeightsManifestEntry[], weightData?: WeightData): ModelArtifacts;
  /** http(s):// models over `fetch`; `save` POSTs model.json and model.weights.bin. */
  function http(path: string, loadOptions?: LoadOptions): IOHandler;
  function browserHTTPRequest(path: string, loadOptions?: LoadOptions): IOHandler;
  function isHTTPScheme(url: string): boolean;
  /** tfjs-node's file system handler: a directory to save to, model.json (or its directory) to load. */
  function fileSystem(path: string): IOHandler;
  function loadWeights(manifest: WeightsManifestConfig, filePathPrefix?: string, weightNames?: string[], requestInit?: {}): Promise<NamedTensorMap>;
  function weightsLoaderFactory(
    fetchWeightsFunction: (fetchUrls: string[]) => Promise<ArrayBuffer[]>,
  ): (weightManifest: WeightsManifestConfig, filePathPrefix?: string, weightNames?: string[]) => Promise<NamedTensorMap>;
}

export declare namespace serialization {
  type SerializableConstructor<T extends Serializable = Serializable> = {
    new (...args: never[]): T;
    className: string;
    fromConfig?: FromConfigMethod<T>;
  };
  type FromConfigMethod<T> = (cls: SerializableConstructor<T & Serializable>, config: ConfigDict) => T;
  /** A class with a config, rebuilt from it by `fromConfig` (by default `new cls(config)`). */
  class Serializable {
    getClassName(): string;
    static fromConfig<T extends Serializable>(cls: SerializableConstructor<T>, config: ConfigDict): T;
  }
  /** The registry model files are read through: class name → [class, fromConfig]. */
  class SerializationMap {
    classNameMap: { [className: string]: [Function, Function | undefined] };
    static getMap(): SerializationMap;
    static register(cls: { className: string; fromConfig?: Function }): void;
  }
  /** Registers a class (e.g. a custom layer) under its static `className`, for loading. */
  function registerClass<T extends Function & { className: string }>(cls: T, pkg?: string, name?: string): T;
  function getRegisteredName(cls: Function & { className?: string }): string;
}

/**
 * Loads a layers model: `'file:///dir/model.json'` or `'file:///dir'`, an http(s):// URL (over
 * `fetch`), a routed scheme or an IOHandler. Custom layers must be registered first
 * (`tf.serialization.registerClass`); a training config re-compiles the model.
 */
export declare function loadLayersModel(pathOrIOHandler: string | io.IOHandler, options?: io.LoadOptions): Promise<LayersModel>;

export declare namespace models {
  /** A model from a topology (model.json's `modelTopology`, or `{modelTopology}`); weights are fresh. */
  function modelFromJSON(modelAndWeightsConfig: io.ModelJSON | { modelTopology: io.PyJsonDict } | io.PyJsonDict, customObjects?: ConfigDict): Promise<LayersModel>;
}
