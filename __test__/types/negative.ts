// Calls that must NOT type-check. Each `@ts-expect-error` fails the compile (TS2578) if the line
// after it stops being an error, so this file proves the declarations reject these mistakes.
import * as tf from 'ferrograd';

const x = tf.tensor1d([1, 2, 3]);

// @ts-expect-error strings are not tensor-like (no string tensors in ferrograd)
tf.add('a', 1);
// @ts-expect-error an unsupported dtype
tf.tensor([1, 2], [2], 'string');
// @ts-expect-error complex64 is not supported either
tf.zeros([2], 'complex64');
// @ts-expect-error tensor2d takes a [rows, columns] shape
tf.tensor2d([1, 2, 3, 4], [2, 2, 1]);
// @ts-expect-error no such method
x.frobnicate();
// @ts-expect-error tidy runs synchronously: no promises
tf.tidy(async () => tf.scalar(1));
// @ts-expect-error registerKernel needs a kernelFunc
tf.registerKernel({ kernelName: 'Nothing', backendName: 'cpu' });
// @ts-expect-error a kernel returns TensorInfo, not raw values
tf.registerKernel({ kernelName: 'Raw', backendName: 'cpu', kernelFunc: () => new Float32Array(1) });
// @ts-expect-error gradFunc maps input names to thunks
tf.registerGradient({ kernelName: 'Raw', gradFunc: (dy: tf.Tensor) => [dy] });
// @ts-expect-error getKernel may find nothing
tf.getKernel('Add', 'cpu').kernelFunc;
// @ts-expect-error built-in gradients have no JS gradFunc, so getGradient is a union
tf.getGradient('Relu')?.gradFunc;
// @ts-expect-error minimize takes a function returning a scalar
tf.train.sgd(0.1).minimize(x);
// @ts-expect-error a learning rate is a number
tf.train.adam('fast');
// @ts-expect-error an unknown fused activation
tf.fused.matMul({ a: x, b: x, activation: 'gelu' });
// @ts-expect-error losses take a Reduction, not a string
tf.losses.meanSquaredError(x, x, undefined, 'mean');
// @ts-expect-error the multi-input customGrad result checks its arity
tf.customGrad((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => { save([]); return { value: a.add(b), gradFunc: (dy: tf.Tensor) => [dy, dy] }; })(x);
// @ts-expect-error Rank is types only: there is no tf.Rank object at run time
tf.Rank;
// @ts-expect-error the default export is not also a named export
tf.tf;
// @ts-expect-error tensors are made by ops, not constructed
new tf.Tensor();
// @ts-expect-error fitDataset needs epochs
tf.sequential().fitDataset(tf.data.array([1]), {});
// @ts-expect-error a Dataset's map transform receives the element type
tf.data.array([1, 2]).map((s: string) => s.length);
