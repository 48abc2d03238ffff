//! Ops for Rust callers (gradient rules, layers, the training loop): thin functions over
//! `run_kernel`, so everything they do is dispatched through the registry and recorded on the
//! active tapes, exactly like the ops JS calls.

use crate::attrs::Attrs;
use crate::engine::{run1, run_kernel};
use crate::error::Result;
use crate::tensor::{DType, Tensor};

pub fn unary(kernel: &str, x: &Tensor) -> Result<Tensor> {
    run1(kernel, std::slice::from_ref(x), &Attrs::new())
}
pub fn binary(kernel: &str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    run1(kernel, &[a.clone(), b.clone()], &Attrs::new())
}

macro_rules! binary_ops {
    ($($f:ident => $k:literal),* $(,)?) => {$(
        pub fn $f(a: &Tensor, b: &Tensor) -> Result<Tensor> { binary($k, a, b) }
    )*};
}
macro_rules! unary_ops {
    ($($f:ident => $k:literal),* $(,)?) => {$(
        pub fn $f(x: &Tensor) -> Result<Tensor> { unary($k, x) }
    )*};
}

binary_ops! {
    add => "Add", sub => "Sub", mul => "Multiply", div => "RealDiv", pow => "Pow",
    maximum => "Maximum", minimum => "Minimum",
    greater => "Greater", greater_equal => "GreaterEqual", less => "Less", less_equal => "LessEqual",
    equal => "Equal",
}
unary_ops! {
    neg => "Neg", square => "Square", exp => "Exp", log => "Log", floor => "Floor", relu => "Relu",
    sigmoid => "Sigmoid", tanh => "Tanh", sqrt => "Sqrt", abs => "Abs",
    zeros_like => "ZerosLike", ones_like => "OnesLike",
}

pub fn step(x: &Tensor, alpha: f32) -> Result<Tensor> {
    run1("Step", std::slice::from_ref(x), &Attrs::new().with("alpha", alpha as f64))
}
pub fn cast(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        return Ok(x.clone());
    }
    run1("Cast", std::slice::from_ref(x), &Attrs::new().with("dtype", dtype.name()))
}
pub fn full_like(x: &Tensor, v: f32) -> Result<Tensor> {
    run1("Fill", &[], &Attrs::new().with("shape", x.shape().to_vec()).with("value", v as f64).with("dtype", "float32"))
}
/// `where(condition, t, e)` (tfjs `Select`).
pub fn where_(cond: &Tensor, t: &Tensor, e: &Tensor) -> Result<Tensor> {
    run1("Select", &[cond.clone(), t.clone(), e.clone()], &Attrs::new())
}
pub fn reshape(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    run1("Reshape", std::slice::from_ref(x), &Attrs::new().with("shape", shape.to_vec()))
}
pub fn sum(x: &Tensor, axes: &[usize], keep_dims: bool) -> Result<Tensor> {
    run1("Sum", std::slice::from_ref(x), &Attrs::new().with("axis", axes.to_vec()).with("keepDims", keep_dims))
}
pub fn mean(x: &Tensor, axes: &[usize], keep_dims: bool) -> Result<Tensor> {
    run1("Mean", std::slice::from_ref(x), &Attrs::new().with("axis", axes.to_vec()).with("keepDims", keep_dims))
}
pub fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    run1("Transpose", std::slice::from_ref(x), &Attrs::new().with("perm", perm.to_vec()))
}
pub fn mat_mul(a: &Tensor, b: &Tensor, transpose_a: bool, transpose_b: bool) -> Result<Tensor> {
    run1("BatchMatMul", &[a.clone(), b.clone()], &Attrs::new().with("transposeA", transpose_a).with("transposeB", transpose_b))
}
pub fn tile(x: &Tensor, reps: &[usize]) -> Result<Tensor> {
    run1("Tile", std::slice::from_ref(x), &Attrs::new().with("reps", reps.to_vec()))
}

/// Sums a broadcast result back to `shape` (the gradient of broadcasting).
pub fn sum_to(dy: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if dy.shape() == shape {
        return Ok(dy.clone());
    }
    let lead = dy.rank() - shape.len();
    let axes: Vec<usize> = (0..dy.rank())
        .filter(|&i| i < lead || (shape[i - lead] == 1 && dy.shape()[i] != 1))
        .collect();
    let s = if axes.is_empty() { dy.clone() } else { sum(dy, &axes, false)? };
    reshape(&s, shape)
}

/// Broadcasts `x` (of a shape that broadcasts to `shape`) up to `shape`.
pub fn broadcast_to(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    let zeros = run1("Fill", &[], &Attrs::new().with("shape", shape.to_vec()).with("value", 0.0).with("dtype", x.dtype().name()))?;
    add(x, &zeros)
}

/// Runs `run_kernel` and returns all outputs (multi-output kernels).
pub fn run(kernel: &str, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    run_kernel(kernel, inputs, attrs)
}

pub fn concat(xs: &[Tensor], axis: i64) -> Result<Tensor> {
    run1("Concat", xs, &Attrs::new().with("axis", axis))
}
/// Splits `x` along `axis` into pieces of the given sizes (tfjs `SplitV`).
pub fn split(x: &Tensor, sizes: &[usize], axis: i64) -> Result<Vec<Tensor>> {
    run_kernel("SplitV", std::slice::from_ref(x), &Attrs::new().with("numOrSizeSplits", sizes.to_vec()).with("axis", axis))
}
pub fn stack(xs: &[Tensor], axis: i64) -> Result<Tensor> {
    run1("Pack", xs, &Attrs::new().with("axis", axis))
}
pub fn unstack(x: &Tensor, axis: i64) -> Result<Vec<Tensor>> {
    run_kernel("Unpack", std::slice::from_ref(x), &Attrs::new().with("axis", axis))
}
pub fn slice(x: &Tensor, begin: &[usize], size: &[usize]) -> Result<Tensor> {
    run1("Slice", std::slice::from_ref(x), &Attrs::new().with("begin", begin.to_vec()).with("size", size.to_vec()))
}
/// Pads with `value`; `paddings[d] = [before, after]` (tfjs `PadV2`).
pub fn pad(x: &Tensor, paddings: &[[usize; 2]], value: f32) -> Result<Tensor> {
    let p: Vec<Vec<usize>> = paddings.iter().map(|p| p.to_vec()).collect();
    run1("PadV2", std::slice::from_ref(x), &Attrs::new().with("paddings", p).with("constantValue", value as f64))
}
pub fn reverse(x: &Tensor, dims: &[usize]) -> Result<Tensor> {
    run1("Reverse", std::slice::from_ref(x), &Attrs::new().with("dims", dims.to_vec()))
}
pub fn gather(x: &Tensor, indices: &Tensor, axis: i64, batch_dims: i64) -> Result<Tensor> {
    run1("GatherV2", &[x.clone(), indices.clone()], &Attrs::new().with("axis", axis).with("batchDims", batch_dims))
}
pub fn unsorted_segment_sum(x: &Tensor, segment_ids: &Tensor, num_segments: usize) -> Result<Tensor> {
    run1("UnsortedSegmentSum", &[x.clone(), segment_ids.clone()], &Attrs::new().with("numSegments", num_segments))
}
pub fn cumsum(x: &Tensor, axis: i64, exclusive: bool, reverse: bool) -> Result<Tensor> {
    run1("Cumsum", std::slice::from_ref(x), &Attrs::new().with("axis", axis).with("exclusive", exclusive).with("reverse", reverse))
}
