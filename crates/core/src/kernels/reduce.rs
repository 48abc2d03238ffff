//! Reductions over axes (`Sum`, `Mean`, `Max`, `Min`, `Prod`, `All`, `Any`, `ArgMax`,
//! `ArgMin`), the scan `Cumsum`, and their gradients. The reduced axes are brought together (a
//! transpose copy only when they are not already one contiguous block), then each output element
//! folds a contiguous or strided run.

use crate::attrs::{norm_axis, reduction_axes, Attrs};
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{Buffer, DType, Tensor};
use rayon::prelude::*;

/// The input viewed as `[outer, reduce, inner]` (copying through a transpose when the reduced
/// axes are not contiguous), plus the output shapes with and without kept dims.
pub struct Plan {
    /// The input, arranged; borrowed (not copied) when already laid out right.
    pub data: Tensor,
    pub outer: usize,
    pub red: usize,
    pub inner: usize,
    pub out_shape: Vec<usize>,
    pub keep_shape: Vec<usize>,
}

pub fn plan(op: &str, x: &Tensor, attrs: &Attrs) -> Result<Plan> {
    let axes = reduction_axes(op, attrs, x.rank())?;
    let keep_dims = attrs.bool_or(op, "keepDims", false)?;
    plan_axes(x, &axes, keep_dims)
}

pub fn plan_axes(x: &Tensor, axes: &[usize], keep_dims: bool) -> Result<Plan> {
    let shape = x.shape();
    let keep_shape: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let out_shape: Vec<usize> = if keep_dims {
        keep_shape.clone()
    } else {
        shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
    };
    let (t, outer, red, inner) = arrange(x, axes)?;
    Ok(Plan { data: t, outer, red, inner, out_shape, keep_shape })
}

/// `x` laid out as `[outer, reduce, inner]` over `axes` (sorted): `x` itself when the axes are
/// one contiguous block, a transposed copy with the axes moved last otherwise.
fn arrange(x: &Tensor, axes: &[usize]) -> Result<(Tensor, usize, usize, usize)> {
    let shape = x.shape();
    if axes.is_empty() {
        return Ok((x.clone(), x.size(), 1, 1));
    }
    if axes.windows(2).all(|w| w[1] == w[0] + 1) {
        let (a0, a1) = (axes[0], axes[axes.len() - 1]);
        let outer = shape[..a0].iter().product();
        let red = shape[a0..=a1].iter().product();
        let inner = shape[a1 + 1..].iter().product();
        return Ok((x.clone(), outer, red, inner));
    }
    let kept: Vec<usize> = (0..shape.len()).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let t = super::shape::transpose_data(x, &perm)?;
    let outer = kept.iter().map(|&i| shape[i]).product();
    let red = axes.iter().map(|&i| shape[i]).product();
    Ok((t, outer, red, 1))
}

/// Sum of an int32 or bool tensor in wrapping int32 arithmetic, as tfjs's `Int32Array`
/// accumulator: exact where a float32 sum would round above 2^24.
pub fn sum_i32(x: &Tensor, axes: &[usize], keep_dims: bool) -> Result<Tensor> {
    let shape = x.shape();
    let out_shape: Vec<usize> = if keep_dims {
        shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect()
    } else {
        shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
    };
    let (t, outer, red, inner) = arrange(x, axes)?;
    let data = match t.buffer() {
        Buffer::I32(v) => std::borrow::Cow::Borrowed(v.as_slice()),
        _ => std::borrow::Cow::Owned(t.to_i32_vec()),
    };
    let mut out = vec![0i32; outer * inner];
    let body = |o: usize, dst: &mut [i32]| {
        let base = o * red * inner;
        if inner == 1 {
            dst[0] = data[base..base + red].iter().fold(0i32, |a, &b| a.wrapping_add(b));
        } else {
            for row in data[base..base + red * inner].chunks_exact(inner) {
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = d.wrapping_add(v);
                }
            }
        }
    };
    if data.len() >= super::PAR_MIN && outer > 1 && inner > 0 {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, d)| body(o, d));
    } else if inner > 0 {
        for (o, d) in out.chunks_mut(inner).enumerate() {
            body(o, d);
        }
    }
    Ok(Tensor::i32(out_shape, out))
}

/// Folds each reduced run with `f` from `init`, then maps the result with `fin(acc, count)`.
pub fn fold(p: &Plan, init: f32, f: impl Fn(f32, f32) -> f32 + Sync, fin: impl Fn(f32, usize) -> f32 + Sync) -> Vec<f32> {
    let (outer, red, inner) = (p.outer, p.red, p.inner);
    let data = p.data.as_f32();
    let data: &[f32] = &data;
    let mut out = vec![init; outer * inner];
    let body = |o: usize, dst: &mut [f32]| {
        let base = o * red * inner;
        if inner == 1 {
            let mut acc = init;
            for &v in &data[base..base + red] {
                acc = f(acc, v);
            }
            dst[0] = fin(acc, red);
        } else {
            for r in 0..red {
                let row = &data[base + r * inner..base + (r + 1) * inner];
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = f(*d, v);
                }
            }
            for d in dst.iter_mut() {
                *d = fin(*d, red);
            }
        }
    };
    if data.len() >= super::PAR_MIN && outer > 1 {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, d)| body(o, d));
    } else {
        for (o, d) in out.chunks_mut(inner).enumerate() {
            body(o, d);
        }
    }
    out
}

fn input<'a>(op: &str, i: &'a [Tensor]) -> Result<&'a Tensor> {
    i.first().filter(|_| i.len() == 1).ok_or_else(|| Error::arg(op, format!("expected 1 input (x), got {}", i.len())))
}

fn sum_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = input("Sum", i)?;
    if x.dtype() != DType::Float32 {
        let axes = reduction_axes("Sum", a, x.rank())?;
        return Ok(vec![sum_i32(x, &axes, a.bool_or("Sum", "keepDims", false)?)?]);
    }
    let p = plan("Sum", x, a)?;
    let v = fold(&p, 0.0, |a, b| a + b, |a, _| a);
    Ok(vec![Tensor::f32(p.out_shape, v)])
}
fn mean_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = input("Mean", i)?;
    let p = plan("Mean", x, a)?;
    let v = fold(&p, 0.0, |a, b| a + b, |a, n| a / n as f32);
    Ok(vec![Tensor::f32(p.out_shape, v)])
}
fn keep_dtype(x: &Tensor, shape: Vec<usize>, v: Vec<f32>) -> Tensor {
    match x.dtype() {
        DType::Float32 => Tensor::f32(shape, v),
        DType::Int32 => Tensor::i32(shape, v.into_iter().map(|f| f as i32).collect()),
        DType::Bool => Tensor::bool(shape, v.into_iter().map(|f| (f != 0.0) as u8).collect()),
    }
}
fn max_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = input("Max", i)?;
    let p = plan("Max", x, a)?;
    let v = fold(&p, f32::NEG_INFINITY, |a, b| if b > a || b.is_nan() { b } else { a }, |a, _| a);
    Ok(vec![keep_dtype(x, p.out_shape, v)])
}
fn min_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = input("Min", i)?;
    let p = plan("Min", x, a)?;
    let v = fold(&p, f32::INFINITY, |a, b| if b < a || b.is_nan() { b } else { a }, |a, _| a);
    Ok(vec![keep_dtype(x, p.out_shape, v)])
}
fn prod_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = input("Prod", i)?;
    let p = plan("Prod", x, a)?;
    let v = fold(&p, 1.0, |a, b| a * b, |a, _| a);
    Ok(vec![keep_dtype(x, p.out_shape, v)])
}

/// `All`/`Any`: any dtype is read as truthy (non-zero); the result is bool. tfjs's ops cast to
/// bool before the kernel, so this only widens what the kernel accepts.
fn logic_reduce(op: &str, i: &[Tensor], a: &Attrs, all: bool) -> Result<Vec<Tensor>> {
    let x = input(op, i)?;
    let p = plan(op, x, a)?;
    let v = if all {
        fold(&p, 1.0, |a, b| if a != 0.0 && b != 0.0 { 1.0 } else { 0.0 }, |a, _| a)
    } else {
        fold(&p, 0.0, |a, b| if a != 0.0 || b != 0.0 { 1.0 } else { 0.0 }, |a, _| a)
    };
    Ok(vec![Tensor::bool(p.out_shape, v.into_iter().map(|f| (f != 0.0) as u8).collect())])
}
fn all_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    logic_reduce("All", i, a, true)
}
fn any_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    logic_reduce("Any", i, a, false)
}

/// The single axis of `ArgMax`/`ArgMin`/`Cumsum` (tfjs takes the first of a list), default 0.
fn one_axis(op: &str, a: &Attrs, rank: usize) -> Result<usize> {
    let axis = a.i64s(op, "axis")?.and_then(|v| v.first().copied()).unwrap_or(0);
    norm_axis(op, axis, rank)
}

/// `x` seen as `[outer, n, inner]` around `axis`.
fn around(x: &Tensor, axis: usize) -> (usize, usize, usize) {
    let s = x.shape();
    if s.is_empty() {
        return (1, 1, 1);
    }
    (s[..axis].iter().product(), s[axis], s[axis + 1..].iter().product())
}

/// Index of the first element along `n` that no later element beats (`wins(new, best)`), per
/// `(outer, inner)`. Compared in the input's own dtype so large int32 values stay exact; a NaN
/// never wins and, when first, is kept (tfjs compares with a strict `>`/`<`).
fn arg_index<T: Copy + Sync>(v: &[T], outer: usize, n: usize, inner: usize, wins: impl Fn(T, T) -> bool + Sync) -> Vec<i32> {
    let mut out = vec![0i32; outer * inner];
    if n == 0 || inner == 0 {
        return out;
    }
    let body = |o: usize, idx: &mut [i32]| {
        let block = &v[o * n * inner..(o + 1) * n * inner];
        if inner == 1 {
            let mut best = block[0];
            for (j, &x) in block.iter().enumerate().skip(1) {
                if wins(x, best) {
                    best = x;
                    idx[0] = j as i32;
                }
            }
            return;
        }
        let mut best: Vec<T> = block[..inner].to_vec();
        for (j, row) in block.chunks_exact(inner).enumerate().skip(1) {
            for ((b, i), &x) in best.iter_mut().zip(idx.iter_mut()).zip(row) {
                if wins(x, *b) {
                    *b = x;
                    *i = j as i32;
                }
            }
        }
    };
    if v.len() >= super::PAR_MIN && outer > 1 {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, d)| body(o, d));
    } else {
        for (o, d) in out.chunks_mut(inner).enumerate() {
            body(o, d);
        }
    }
    out
}

fn arg_reduce(op: &str, i: &[Tensor], a: &Attrs, max: bool) -> Result<Vec<Tensor>> {
    let x = input(op, i)?;
    let axis = one_axis(op, a, x.rank())?;
    let (outer, n, inner) = around(x, axis);
    let idx = match x.buffer() {
        Buffer::F32(v) if max => arg_index(v, outer, n, inner, |a, b| a > b),
        Buffer::F32(v) => arg_index(v, outer, n, inner, |a, b| a < b),
        Buffer::I32(v) if max => arg_index(v, outer, n, inner, |a, b| a > b),
        Buffer::I32(v) => arg_index(v, outer, n, inner, |a, b| a < b),
        Buffer::Bool(v) if max => arg_index(v, outer, n, inner, |a, b| a > b),
        Buffer::Bool(v) => arg_index(v, outer, n, inner, |a, b| a < b),
    };
    let shape: Vec<usize> = x.shape().iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &s)| s).collect();
    Ok(vec![Tensor::i32(shape, idx)])
}
fn arg_max_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    arg_reduce("ArgMax", i, a, true)
}
fn arg_min_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    arg_reduce("ArgMin", i, a, false)
}

/// Running sums along the middle axis of `[outer, n, inner]`, one whole row of `inner` at a time.
fn scan<T>(v: &[T], (outer, n, inner): (usize, usize, usize), exclusive: bool, reverse: bool, add: impl Fn(T, T) -> T + Sync) -> Vec<T>
where
    T: Copy + Default + Send + Sync,
{
    let mut out = vec![T::default(); v.len()];
    if v.is_empty() {
        return out;
    }
    let block = n * inner;
    let body = |o: usize, dst: &mut [T]| {
        let src = &v[o * block..(o + 1) * block];
        let mut acc = vec![T::default(); inner];
        for step in 0..n {
            let j = if reverse { n - 1 - step } else { step };
            let (row, out_row) = (&src[j * inner..(j + 1) * inner], &mut dst[j * inner..(j + 1) * inner]);
            if exclusive {
                out_row.copy_from_slice(&acc);
            }
            for (a, &x) in acc.iter_mut().zip(row) {
                *a = add(*a, x);
            }
            if !exclusive {
                out_row.copy_from_slice(&acc);
            }
        }
    };
    if v.len() >= super::PAR_MIN && outer > 1 {
        out.par_chunks_mut(block).enumerate().for_each(|(o, d)| body(o, d));
    } else {
        for (o, d) in out.chunks_mut(block).enumerate() {
            body(o, d);
        }
    }
    out
}

/// Cumsum keeps float32; int32 and bool sum in (wrapping) int32, as tfjs's `upcastType(x, int32)`.
fn cumsum_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = input("Cumsum", i)?;
    let axis = one_axis("Cumsum", a, x.rank())?;
    let exclusive = a.bool_or("Cumsum", "exclusive", false)?;
    let reverse = a.bool_or("Cumsum", "reverse", false)?;
    let (outer, n, inner) = around(x, axis);
    let shape = x.shape().to_vec();
    Ok(vec![match x.buffer() {
        Buffer::F32(v) => Tensor::f32(shape, scan(v, (outer, n, inner), exclusive, reverse, |a, b| a + b)),
        _ => Tensor::i32(shape, scan(&x.to_i32_vec(), (outer, n, inner), exclusive, reverse, i32::wrapping_add)),
    }])
}

type G = Result<Vec<Option<Tensor>>>;

/// `dy` reshaped to the kept-dims shape and broadcast over the input.
fn expand(c: &GradCtx, op: &str, g: &Tensor) -> Result<Tensor> {
    let x = &c.inputs[0];
    let axes = reduction_axes(op, c.attrs, x.rank())?;
    let keep: Vec<usize> = x.shape().iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    ops::broadcast_to(&ops::reshape(g, &keep)?, x.shape())
}
fn sum_grad(c: &GradCtx) -> G {
    Ok(vec![Some(expand(c, "Sum", &c.dys[0])?)])
}
fn mean_grad(c: &GradCtx) -> G {
    let x = &c.inputs[0];
    let n = (x.size() / c.outputs[0].size().max(1)) as f32;
    let g = ops::div(&c.dys[0], &Tensor::scalar(n))?;
    Ok(vec![Some(expand(c, "Mean", &g)?)])
}
fn extremum_grad(c: &GradCtx, op: &str) -> G {
    // dy flows to the elements equal to the extremum
    let x = ops::cast(&c.inputs[0], DType::Float32)?;
    let y = expand(c, op, &ops::cast(&c.outputs[0], DType::Float32)?)?;
    let mask = ops::cast(&ops::equal(&x, &y)?, DType::Float32)?;
    Ok(vec![Some(ops::mul(&expand(c, op, &c.dys[0])?, &mask)?)])
}
fn max_grad(c: &GradCtx) -> G {
    extremum_grad(c, "Max")
}
fn min_grad(c: &GradCtx) -> G {
    extremum_grad(c, "Min")
}
fn arg_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::zeros_like(&ops::cast(&c.inputs[0], DType::Float32)?)?)])
}
fn cumsum_grad(c: &GradCtx) -> G {
    // Each x_i feeds every later (earlier, when reversed) output: the adjoint scans dy the other way.
    let x = &c.inputs[0];
    let axis = one_axis("Cumsum", c.attrs, x.rank())?;
    let exclusive = c.attrs.bool_or("Cumsum", "exclusive", false)?;
    let reverse = c.attrs.bool_or("Cumsum", "reverse", false)?;
    Ok(vec![Some(ops::cumsum(&c.dys[0], axis as i64, exclusive, !reverse)?)])
}
fn prod_grad(c: &GradCtx) -> G {
    // d(Πx)/dxᵢ = Πx / xᵢ
    let x = ops::cast(&c.inputs[0], DType::Float32)?;
    let y = expand(c, "Prod", &ops::cast(&c.outputs[0], DType::Float32)?)?;
    Ok(vec![Some(ops::mul(&expand(c, "Prod", &c.dys[0])?, &ops::div(&y, &x)?)?)])
}

pub fn register(r: &mut Registry) {
    const X: &[&str] = &["x"];
    r.builtin("Sum", X, sum_k, Some(sum_grad));
    r.builtin("Mean", X, mean_k, Some(mean_grad));
    r.builtin("Max", X, max_k, Some(max_grad));
    r.builtin("Min", X, min_k, Some(min_grad));
    r.builtin("Prod", X, prod_k, Some(prod_grad));
    r.builtin("All", X, all_k, None);
    r.builtin("Any", X, any_k, None);
    r.builtin("ArgMax", X, arg_max_k, Some(arg_grad));
    r.builtin("ArgMin", X, arg_min_k, Some(arg_grad));
    r.builtin("Cumsum", X, cumsum_k, Some(cumsum_grad));
}
