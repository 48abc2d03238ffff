// The ESM entry (package.json "exports" → "import") has the same types: default and named imports.
import tf, { tensor1d, type Tensor1D } from 'ferrograd';

const a: Tensor1D = tensor1d([1, 2, 3]);
const b = tf.square(a).sum();
export const value: Promise<number> = b.data().then((d) => d[0]);
