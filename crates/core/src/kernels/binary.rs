//! Binary element-wise kernels with NumPy/tfjs broadcasting: arithmetic, comparisons and logic,
//! with the gradient rules of the differentiable ones.

use super::{map_into, zip_into};
use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Buffer, DType, Tensor};
use rayon::prelude::*;

/// The broadcast of two shapes (tfjs `assertAndGetBroadcastShape`).
pub fn broadcast_shape(op: &str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
        let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(op, "shapes that broadcast", format!("{} and {}", fmt_shape(a), fmt_shape(b))));
        };
    }
    Ok(out)
}

/// Strides of `shape` aligned to `out` (rank `out.len()`), 0 along broadcast dimensions.
fn aligned_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let s = super::strides(shape);
    let off = out.len() - shape.len();
    (0..out.len())
        .map(|i| if i < off || shape[i - off] == 1 { 0 } else { s[i - off] })
        .collect()
}

/// Applies `f` over the broadcast of `a` (shape `sa`) and `b` (shape `sb`).
pub fn broadcast_zip<A, B, O>(a: &[A], sa: &[usize], b: &[B], sb: &[usize], out_shape: &[usize], f: impl Fn(A, B) -> O + Sync) -> Vec<O>
where
    A: Copy + Sync,
    B: Copy + Sync,
    O: Copy + Send + Sync + Default,
{
    let n: usize = out_shape.iter().product();
    if sa == sb {
        return zip_into(a, b, |x, y| f(*x, *y));
    }
    if b.len() == 1 && a.len() == n {
        let y = b[0];
        return map_into(a, |x| f(*x, y));
    }
    if a.len() == 1 && b.len() == n {
        let x = a[0];
        return map_into(b, |y| f(x, *y));
    }
    let mut out = vec![O::default(); n];
    if n == 0 {
        return out;
    }
    let rank = out_shape.len();
    let inner = out_shape[rank - 1];
    let st_a = aligned_strides(sa, out_shape);
    let st_b = aligned_strides(sb, out_shape);
    let (ia, ib) = (st_a[rank - 1], st_b[rank - 1]);
    let row = |r: usize, o: &mut [O]| {
        // Decompose the row index over the outer dimensions to find the operands' offsets.
        let (mut rem, mut oa, mut ob) = (r, 0, 0);
        for d in (0..rank - 1).rev() {
            let i = rem % out_shape[d];
            rem /= out_shape[d];
            oa += i * st_a[d];
            ob += i * st_b[d];
        }
        match (ia, ib) {
            (1, 1) => {
                for ((o, x), y) in o.iter_mut().zip(&a[oa..oa + inner]).zip(&b[ob..ob + inner]) {
                    *o = f(*x, *y);
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (o, x) in o.iter_mut().zip(&a[oa..oa + inner]) {
                    *o = f(*x, y);
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (o, y) in o.iter_mut().zip(&b[ob..ob + inner]) {
                    *o = f(x, *y);
                }
            }
            _ => {
                for (j, o) in o.iter_mut().enumerate() {
                    *o = f(a[oa + j * ia], b[ob + j * ib]);
                }
            }
        }
    };
    if n >= super::PAR_MIN && inner > 0 {
        out.par_chunks_mut(inner).enumerate().for_each(|(r, o)| row(r, o));
    } else {
        for (r, o) in out.chunks_mut(inner).enumerate() {
            row(r, o);
        }
    }
    out
}

fn two<'a>(op: &str, inputs: &'a [Tensor]) -> Result<(&'a Tensor, &'a Tensor)> {
    match inputs {
        [a, b] => Ok((a, b)),
        _ => Err(Error::arg(op, format!("expected 2 inputs (a, b), got {}", inputs.len()))),
    }
}

/// Arithmetic in the operands' common dtype: float32 when either is float, int32 otherwise.
fn arith(op: &str, inputs: &[Tensor], ff: impl Fn(f32, f32) -> f32 + Sync, fi: impl Fn(i32, i32) -> i32 + Sync) -> Result<Vec<Tensor>> {
    let (a, b) = two(op, inputs)?;
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    let out = if DType::upcast(a.dtype(), b.dtype()) == DType::Float32 {
        Tensor::f32(shape.clone(), broadcast_zip(&a.as_f32(), a.shape(), &b.as_f32(), b.shape(), &shape, ff))
    } else {
        let (x, y) = (a.to_i32_vec(), b.to_i32_vec());
        Tensor::i32(shape.clone(), broadcast_zip(&x, a.shape(), &y, b.shape(), &shape, fi))
    };
    Ok(vec![out])
}

/// Always float32 (RealDiv, Pow of floats, …).
fn float_op(op: &str, inputs: &[Tensor], ff: impl Fn(f32, f32) -> f32 + Sync) -> Result<Vec<Tensor>> {
    let (a, b) = two(op, inputs)?;
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    Ok(vec![Tensor::f32(shape.clone(), broadcast_zip(&a.as_f32(), a.shape(), &b.as_f32(), b.shape(), &shape, ff))])
}

/// Comparisons: computed in the common dtype, bool out.
fn compare(op: &str, inputs: &[Tensor], ff: impl Fn(f32, f32) -> bool + Sync, fi: impl Fn(i32, i32) -> bool + Sync) -> Result<Vec<Tensor>> {
    let (a, b) = two(op, inputs)?;
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    let v = if DType::upcast(a.dtype(), b.dtype()) == DType::Float32 {
        broadcast_zip(&a.as_f32(), a.shape(), &b.as_f32(), b.shape(), &shape, |x, y| ff(x, y) as u8)
    } else {
        broadcast_zip(&a.to_i32_vec(), a.shape(), &b.to_i32_vec(), b.shape(), &shape, |x, y| fi(x, y) as u8)
    };
    Ok(vec![Tensor::bool(shape, v)])
}

fn logical(op: &str, inputs: &[Tensor], f: impl Fn(bool, bool) -> bool + Sync) -> Result<Vec<Tensor>> {
    let (a, b) = two(op, inputs)?;
    let shape = broadcast_shape(op, a.shape(), b.shape())?;
    let (Buffer::Bool(x), Buffer::Bool(y)) = (a.buffer(), b.buffer()) else {
        let given = if a.dtype() != DType::Bool { a.dtype() } else { b.dtype() };
        return Err(Error::dtype(op, "bool", given.name()));
    };
    Ok(vec![Tensor::bool(shape.clone(), broadcast_zip(x, a.shape(), y, b.shape(), &shape, |p, q| f(p != 0, q != 0) as u8))])
}

fn floor_mod_f(a: f32, b: f32) -> f32 {
    let r = a % b;
    if r != 0.0 && (r < 0.0) != (b < 0.0) { r + b } else { r }
}
fn floor_mod_i(a: i32, b: i32) -> i32 {
    if b == 0 {
        return 0;
    }
    let r = a.wrapping_rem(b);
    if r != 0 && (r < 0) != (b < 0) { r + b } else { r }
}
fn floor_div_i(a: i32, b: i32) -> i32 {
    if b == 0 {
        return 0;
    }
    (a as f64 / b as f64).floor() as i32
}

macro_rules! kernel {
    ($name:ident, $body:expr) => {
        fn $name(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
            $body(i)
        }
    };
}

kernel!(add_k, |i| arith("Add", i, |a, b| a + b, |a: i32, b: i32| a.wrapping_add(b)));
kernel!(sub_k, |i| arith("Sub", i, |a, b| a - b, |a: i32, b: i32| a.wrapping_sub(b)));
kernel!(mul_k, |i| arith("Multiply", i, |a, b| a * b, |a: i32, b: i32| a.wrapping_mul(b)));
kernel!(div_k, |i| float_op("RealDiv", i, |a, b| a / b));
/// tfjs's FloorDiv returns int32 whatever the inputs' dtype.
fn floor_div_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let (a, b) = two("FloorDiv", i)?;
    let shape = broadcast_shape("FloorDiv", a.shape(), b.shape())?;
    let v = if DType::upcast(a.dtype(), b.dtype()) == DType::Float32 {
        broadcast_zip(&a.as_f32(), a.shape(), &b.as_f32(), b.shape(), &shape, |x: f32, y: f32| (x / y).floor() as i32)
    } else {
        broadcast_zip(&a.to_i32_vec(), a.shape(), &b.to_i32_vec(), b.shape(), &shape, floor_div_i)
    };
    Ok(vec![Tensor::i32(shape, v)])
}
kernel!(mod_k, |i| arith("Mod", i, floor_mod_f, floor_mod_i));
kernel!(pow_k, |i| arith("Pow", i, f32::powf, |a: i32, b: i32| (a as f64).powi(b) as i32));
kernel!(max_k, |i| arith("Maximum", i, |a: f32, b: f32| if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) }, |a: i32, b: i32| a.max(b)));
kernel!(min_k, |i| arith("Minimum", i, |a: f32, b: f32| if a.is_nan() || b.is_nan() { f32::NAN } else { a.min(b) }, |a: i32, b: i32| a.min(b)));
kernel!(sqdiff_k, |i| arith("SquaredDifference", i, |a, b| (a - b) * (a - b), |a: i32, b: i32| (a - b).wrapping_mul(a - b)));
kernel!(atan2_k, |i| float_op("Atan2", i, f32::atan2));
kernel!(equal_k, |i| compare("Equal", i, |a, b| a == b, |a, b| a == b));
kernel!(not_equal_k, |i| compare("NotEqual", i, |a, b| a != b, |a, b| a != b));
kernel!(greater_k, |i| compare("Greater", i, |a, b| a > b, |a, b| a > b));
kernel!(greater_equal_k, |i| compare("GreaterEqual", i, |a, b| a >= b, |a, b| a >= b));
kernel!(less_k, |i| compare("Less", i, |a, b| a < b, |a, b| a < b));
kernel!(less_equal_k, |i| compare("LessEqual", i, |a, b| a <= b, |a, b| a <= b));
kernel!(and_k, |i| logical("LogicalAnd", i, |a, b| a && b));
kernel!(or_k, |i| logical("LogicalOr", i, |a, b| a || b));

// Gradient rules. `ops::sum_to` reduces a broadcast gradient back to an operand's shape.

fn add_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    Ok(vec![Some(ops::sum_to(dy, a.shape())?), Some(ops::sum_to(dy, b.shape())?)])
}
fn sub_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    Ok(vec![Some(ops::sum_to(dy, a.shape())?), Some(ops::sum_to(&ops::neg(dy)?, b.shape())?)])
}
fn mul_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let a32 = ops::cast(a, DType::Float32)?;
    let b32 = ops::cast(b, DType::Float32)?;
    Ok(vec![Some(ops::sum_to(&ops::mul(dy, &b32)?, a.shape())?), Some(ops::sum_to(&ops::mul(dy, &a32)?, b.shape())?)])
}
fn div_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    // d(a/b)/da = 1/b ; d(a/b)/db = -a/b²
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let a32 = ops::cast(a, DType::Float32)?;
    let b32 = ops::cast(b, DType::Float32)?;
    let da = ops::div(dy, &b32)?;
    let db = ops::neg(&ops::div(&ops::mul(dy, &a32)?, &ops::square(&b32)?)?)?;
    Ok(vec![Some(ops::sum_to(&da, a.shape())?), Some(ops::sum_to(&db, b.shape())?)])
}
fn mod_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    // a mod b = a - floor(a/b)·b: d/da = 1, d/db = -floor(a/b)
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let q = ops::floor(&ops::div(a, b)?)?;
    Ok(vec![Some(ops::sum_to(dy, a.shape())?), Some(ops::sum_to(&ops::mul(dy, &ops::neg(&q)?)?, b.shape())?)])
}
fn pow_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    // d(a^b)/da = b·a^(b-1) ; d(a^b)/db = a^b·ln(a), taken as 0 where a <= 0
    let (a, b, y, dy) = (&c.inputs[0], &c.inputs[1], &c.outputs[0], &c.dys[0]);
    let a32 = ops::cast(a, DType::Float32)?;
    let b32 = ops::cast(b, DType::Float32)?;
    let bm1 = ops::sub(&b32, &Tensor::scalar(1.0))?;
    let da = ops::mul(dy, &ops::mul(&b32, &ops::pow(&a32, &bm1)?)?)?;
    let pos = ops::greater(&a32, &Tensor::scalar(0.0))?;
    let log_a = ops::where_(&pos, &ops::log(&a32)?, &ops::zeros_like(&a32)?)?;
    let db = ops::mul(dy, &ops::mul(&ops::cast(y, DType::Float32)?, &log_a)?)?;
    Ok(vec![Some(ops::sum_to(&da, a.shape())?), Some(ops::sum_to(&db, b.shape())?)])
}
fn max_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let ma = ops::cast(&ops::greater_equal(a, b)?, DType::Float32)?;
    let mb = ops::cast(&ops::less(a, b)?, DType::Float32)?;
    Ok(vec![Some(ops::sum_to(&ops::mul(dy, &ma)?, a.shape())?), Some(ops::sum_to(&ops::mul(dy, &mb)?, b.shape())?)])
}
fn min_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let ma = ops::cast(&ops::less_equal(a, b)?, DType::Float32)?;
    let mb = ops::cast(&ops::greater(a, b)?, DType::Float32)?;
    Ok(vec![Some(ops::sum_to(&ops::mul(dy, &ma)?, a.shape())?), Some(ops::sum_to(&ops::mul(dy, &mb)?, b.shape())?)])
}
fn sqdiff_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    // d((a-b)²)/da = 2(a-b) ; d/db = -2(a-b)
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let two_diff = ops::mul(&Tensor::scalar(2.0), &ops::sub(a, b)?)?;
    let da = ops::mul(dy, &two_diff)?;
    Ok(vec![Some(ops::sum_to(&da, a.shape())?), Some(ops::sum_to(&ops::neg(&da)?, b.shape())?)])
}
fn atan2_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    // d atan2(a,b)/da = b/(a²+b²) ; d/db = -a/(a²+b²)
    let (a, b, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d = ops::add(&ops::square(a)?, &ops::square(b)?)?;
    let da = ops::mul(dy, &ops::div(b, &d)?)?;
    let db = ops::mul(dy, &ops::neg(&ops::div(a, &d)?)?)?;
    Ok(vec![Some(ops::sum_to(&da, a.shape())?), Some(ops::sum_to(&db, b.shape())?)])
}
/// Sum of any number of same-shape tensors.
fn add_n_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let first = i.first().ok_or_else(|| Error::arg("AddN", "expected at least one input"))?;
    for (k, t) in i.iter().enumerate() {
        if t.shape() != first.shape() {
            return Err(Error::shape("AddN", format!("all inputs of shape {}", fmt_shape(first.shape())), format!("input {k} of shape {}", fmt_shape(t.shape()))));
        }
    }
    let mut acc = first.clone();
    for t in &i[1..] {
        acc = arith("AddN", &[acc, t.clone()], |a, b| a + b, |a: i32, b: i32| a.wrapping_add(b))?.remove(0);
    }
    Ok(vec![acc.with_new_id()])
}
fn add_n_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    Ok(c.inputs.iter().map(|_| Some(c.dys[0].clone())).collect())
}

/// Comparisons and logic have zero gradient (tfjs registers them so chains through them work).
fn zero_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    c.inputs.iter().map(|t| ops::zeros_like(&ops::cast(t, DType::Float32)?).map(Some)).collect()
}

pub fn register(r: &mut Registry) {
    const AB: &[&str] = &["a", "b"];
    r.builtin("Add", AB, add_k, Some(add_grad));
    r.builtin("Sub", AB, sub_k, Some(sub_grad));
    r.builtin("Multiply", AB, mul_k, Some(mul_grad));
    r.builtin("RealDiv", AB, div_k, Some(div_grad));
    r.builtin("FloorDiv", AB, floor_div_k, Some(div_grad));
    r.builtin("Mod", AB, mod_k, Some(mod_grad));
    r.builtin("Pow", AB, pow_k, Some(pow_grad));
    r.builtin("Maximum", AB, max_k, Some(max_grad));
    r.builtin("Minimum", AB, min_k, Some(min_grad));
    r.builtin("SquaredDifference", AB, sqdiff_k, Some(sqdiff_grad));
    r.builtin("Atan2", AB, atan2_k, Some(atan2_grad));
    r.builtin("AddN", &[], add_n_k, Some(add_n_grad));
    r.builtin("Equal", AB, equal_k, Some(zero_grad));
    r.builtin("NotEqual", AB, not_equal_k, Some(zero_grad));
    r.builtin("Greater", AB, greater_k, Some(zero_grad));
    r.builtin("GreaterEqual", AB, greater_equal_k, Some(zero_grad));
    r.builtin("Less", AB, less_k, Some(zero_grad));
    r.builtin("LessEqual", AB, less_equal_k, Some(zero_grad));
    r.builtin("LogicalAnd", AB, and_k, Some(zero_grad));
    r.builtin("LogicalOr", AB, or_k, Some(zero_grad));
}
