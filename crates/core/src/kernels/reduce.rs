//! Reductions over axes (`Sum`, `Mean`, `Max`, `Min`, `Prod`, …) and their gradients.
//! The reduced axes are brought together (a transpose copy only when they are not already one
//! contiguous block), then each output element folds a contiguous or strided run.

use crate::attrs::{reduction_axes, Attrs};
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{DType, Tensor};
use rayon::prelude::*;

/// The input viewed as `[outer, reduce, inner]` (copying through a transpose when the reduced
/// axes are not contiguous), plus the output shapes with and without kept dims.
pub struct Plan {
    pub data: Vec<f32>,
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
    let contiguous = axes.windows(2).all(|w| w[1] == w[0] + 1);
    let (data, outer, red, inner) = if axes.is_empty() {
        (x.to_f32_vec(), x.size(), 1, 1)
    } else if contiguous {
        let (a0, a1) = (axes[0], axes[axes.len() - 1]);
        let outer = shape[..a0].iter().product();
        let red = shape[a0..=a1].iter().product();
        let inner = shape[a1 + 1..].iter().product();
        (x.to_f32_vec(), outer, red, inner)
    } else {
        let kept: Vec<usize> = (0..shape.len()).filter(|i| !axes.contains(i)).collect();
        let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
        let t = super::shape::transpose_data(x, &perm)?;
        let outer = kept.iter().map(|&i| shape[i]).product();
        let red = axes.iter().map(|&i| shape[i]).product();
        (t.to_f32_vec(), outer, red, 1)
    };
    Ok(Plan { data, outer, red, inner, out_shape, keep_shape })
}

/// Folds each reduced run with `f` from `init`, then maps the result with `fin(acc, count)`.
pub fn fold(p: &Plan, init: f32, f: impl Fn(f32, f32) -> f32 + Sync, fin: impl Fn(f32, usize) -> f32 + Sync) -> Vec<f32> {
    let (outer, red, inner) = (p.outer, p.red, p.inner);
    let mut out = vec![init; outer * inner];
    let body = |o: usize, dst: &mut [f32]| {
        let base = o * red * inner;
        if inner == 1 {
            let mut acc = init;
            for &v in &p.data[base..base + red] {
                acc = f(acc, v);
            }
            dst[0] = fin(acc, red);
        } else {
            for r in 0..red {
                let row = &p.data[base + r * inner..base + (r + 1) * inner];
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = f(*d, v);
                }
            }
            for d in dst.iter_mut() {
                *d = fin(*d, red);
            }
        }
    };
    if p.data.len() >= super::PAR_MIN && outer > 1 {
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
    let p = plan("Sum", x, a)?;
    let v = fold(&p, 0.0, |a, b| a + b, |a, _| a);
    Ok(vec![match x.dtype() {
        DType::Float32 => Tensor::f32(p.out_shape, v),
        _ => Tensor::i32(p.out_shape, v.into_iter().map(|f| f as i32).collect()),
    }])
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
}
