//! Shape and data-movement kernels: reshape, cast, fill, select, transpose, tile, … and their
//! gradients.

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Buffer, DType, Tensor};
use ndarray::{ArrayViewD, IxDyn};

fn one<'a>(op: &str, i: &'a [Tensor]) -> Result<&'a Tensor> {
    i.first().filter(|_| i.len() == 1).ok_or_else(|| Error::arg(op, format!("expected 1 input (x), got {}", i.len())))
}

/// Reads a shape attribute, resolving one `-1` (tfjs `inferFromImplicitShape`).
pub fn shape_attr(op: &str, attrs: &Attrs, key: &str, size: Option<usize>) -> Result<Vec<usize>> {
    let raw = attrs.i64s(op, key)?.ok_or_else(|| Error::arg(op, format!("attribute '{key}' is required")))?;
    let mut infer = None;
    let mut known = 1usize;
    for (i, &d) in raw.iter().enumerate() {
        if d == -1 {
            if infer.is_some() {
                return Err(Error::arg(op, format!("shape {raw:?} has more than one -1")));
            }
            infer = Some(i);
        } else if d < 0 {
            return Err(Error::arg(op, format!("shape {raw:?} has a negative dimension")));
        } else {
            known *= d as usize;
        }
    }
    let mut shape: Vec<usize> = raw.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        let size = size.ok_or_else(|| Error::arg(op, "-1 in a shape needs a size to infer from"))?;
        if known == 0 || size % known != 0 {
            return Err(Error::shape(op, format!("a shape whose known dimensions divide {size}"), format!("{raw:?}")));
        }
        shape[i] = size / known;
    }
    Ok(shape)
}

fn reshape_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("Reshape", i)?;
    let shape = shape_attr("Reshape", a, "shape", Some(x.size()))?;
    if shape.iter().product::<usize>() != x.size() {
        return Err(Error::shape(
            "Reshape",
            format!("a shape of {} elements (the input is {})", x.size(), fmt_shape(x.shape())),
            fmt_shape(&shape),
        ));
    }
    Ok(vec![x.reshaped(shape)?])
}
fn cast_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("Cast", i)?;
    let dtype = DType::parse(a.str_or("Cast", "dtype", "float32")?).map_err(|_| {
        Error::dtype("Cast", "one of float32, int32, bool", a.str_or("Cast", "dtype", "").unwrap_or(""))
    })?;
    Ok(vec![x.cast(dtype)])
}
fn identity_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    Ok(vec![one("Identity", i)?.with_new_id()])
}
fn zeros_like_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("ZerosLike", i)?;
    Ok(vec![Tensor::full(x.shape(), x.dtype(), 0.0)])
}
fn ones_like_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("OnesLike", i)?;
    Ok(vec![Tensor::full(x.shape(), x.dtype(), 1.0)])
}
fn fill_k(_: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let shape = shape_attr("Fill", a, "shape", None)?;
    let dtype = DType::parse(a.str_or("Fill", "dtype", "float32")?)?;
    let value = a.f64("Fill", "value")?;
    Ok(vec![Tensor::full(&shape, dtype, value)])
}

/// `Select(condition, t, e)`: condition broadcasts against t/e (tfjs `where`).
fn select_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let [c, t, e] = i else { return Err(Error::arg("Select", format!("expected 3 inputs (condition, t, e), got {}", i.len()))) };
    if c.dtype() != DType::Bool {
        return Err(Error::dtype("Select (condition)", "bool", c.dtype().name()));
    }
    if t.shape() != e.shape() && t.size() != 1 && e.size() != 1 {
        // tfjs requires t and e of one shape; we also allow broadcasting them.
        super::binary::broadcast_shape("Select", t.shape(), e.shape())?;
    }
    let te_shape = super::binary::broadcast_shape("Select", t.shape(), e.shape())?;
    let shape = super::binary::broadcast_shape("Select", c.shape(), &te_shape)?;
    let Buffer::Bool(cv) = c.buffer() else { unreachable!("checked above") };
    let cb = ops_broadcast_u8(cv, c.shape(), &shape);
    let dtype = DType::upcast(t.dtype(), e.dtype());
    let out = match dtype {
        DType::Float32 => {
            let tv = super::binary::broadcast_zip(&t.as_f32(), t.shape(), &cb, &shape, &shape, |x, _| x);
            let ev = super::binary::broadcast_zip(&e.as_f32(), e.shape(), &cb, &shape, &shape, |x, _| x);
            Tensor::f32(shape.clone(), super::zip_into(&cb, &tv.iter().zip(&ev).map(|(a, b)| (*a, *b)).collect::<Vec<_>>(), |c, (a, b)| if *c != 0 { *a } else { *b }))
        }
        _ => {
            let (tv, ev) = (t.to_i32_vec(), e.to_i32_vec());
            let tv = super::binary::broadcast_zip(&tv, t.shape(), &cb, &shape, &shape, |x, _| x);
            let ev = super::binary::broadcast_zip(&ev, e.shape(), &cb, &shape, &shape, |x, _| x);
            let v: Vec<i32> = cb.iter().zip(tv.iter().zip(&ev)).map(|(c, (a, b))| if *c != 0 { *a } else { *b }).collect();
            if dtype == DType::Bool { Tensor::bool(shape, v.into_iter().map(|x| x as u8).collect()) } else { Tensor::i32(shape, v) }
        }
    };
    Ok(vec![out])
}

fn ops_broadcast_u8(v: &[u8], from: &[usize], to: &[usize]) -> Vec<u8> {
    if from == to {
        return v.to_vec();
    }
    let ones = vec![0u8; 1];
    super::binary::broadcast_zip(v, from, &ones, &[], to, |x, _| x)
}

/// Copies `x` permuted by `perm` into a new row-major buffer.
pub fn transpose_data(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let rank = x.rank();
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
        return Err(Error::arg("Transpose", format!("perm must be a permutation of 0..{rank}, got {perm:?}")));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    fn permute<T: Clone>(v: &[T], s: &[usize], perm: &[usize]) -> Vec<T> {
        let view = ArrayViewD::from_shape(IxDyn(s), v).expect("shape matches data");
        view.permuted_axes(IxDyn(perm)).iter().cloned().collect()
    }
    let buf = match x.buffer() {
        Buffer::F32(v) => Buffer::F32(permute(v, x.shape(), perm)),
        Buffer::I32(v) => Buffer::I32(permute(v, x.shape(), perm)),
        Buffer::Bool(v) => Buffer::Bool(permute(v, x.shape(), perm)),
    };
    Ok(Tensor::from_buffer(shape, buf))
}

fn transpose_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("Transpose", i)?;
    let perm: Vec<usize> = match a.i64s("Transpose", "perm")? {
        Some(p) => p.into_iter().map(|v| crate::attrs::norm_axis("Transpose", v, x.rank())).collect::<Result<_>>()?,
        None => (0..x.rank()).rev().collect(),
    };
    Ok(vec![transpose_data(x, &perm)?])
}

fn tile_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("Tile", i)?;
    let reps = a.i64s("Tile", "reps")?.ok_or_else(|| Error::arg("Tile", "attribute 'reps' is required"))?;
    if reps.len() != x.rank() || reps.iter().any(|&r| r < 0) {
        return Err(Error::arg("Tile", format!("reps must have {} non-negative entries (the input's rank), got {reps:?}", x.rank())));
    }
    let shape: Vec<usize> = x.shape().iter().zip(&reps).map(|(&d, &r)| d * r as usize).collect();
    let n: usize = shape.iter().product();
    let src_strides = super::strides(x.shape());
    let index = |mut o: usize| -> usize {
        let mut off = 0;
        for d in (0..shape.len()).rev() {
            let i = o % shape[d];
            o /= shape[d];
            off += (i % x.shape()[d]) * src_strides[d];
        }
        off
    };
    let buf = match x.buffer() {
        Buffer::F32(v) => Buffer::F32((0..n).map(|o| v[index(o)]).collect()),
        Buffer::I32(v) => Buffer::I32((0..n).map(|o| v[index(o)]).collect()),
        Buffer::Bool(v) => Buffer::Bool((0..n).map(|o| v[index(o)]).collect()),
    };
    Ok(vec![Tensor::from_buffer(shape, buf)])
}

type G = Result<Vec<Option<Tensor>>>;

fn reshape_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::reshape(&c.dys[0], c.inputs[0].shape())?)])
}
fn identity_grad(c: &GradCtx) -> G {
    Ok(vec![Some(c.dys[0].clone())])
}
fn cast_grad(c: &GradCtx) -> G {
    Ok(vec![Some(c.dys[0].clone())])
}
fn zeros_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::zeros_like(&ops::cast(&c.inputs[0], DType::Float32)?)?)])
}
fn select_grad(c: &GradCtx) -> G {
    let (cond, t, e, dy) = (&c.inputs[0], &c.inputs[1], &c.inputs[2], &c.dys[0]);
    let zeros = ops::zeros_like(dy)?;
    let dt = ops::where_(cond, dy, &zeros)?;
    let de = ops::where_(cond, &zeros, dy)?;
    Ok(vec![None, Some(ops::sum_to(&dt, t.shape())?), Some(ops::sum_to(&de, e.shape())?)])
}
fn transpose_grad(c: &GradCtx) -> G {
    let x = &c.inputs[0];
    let perm: Vec<usize> = match c.attrs.i64s("Transpose", "perm")? {
        Some(p) => p.into_iter().map(|v| crate::attrs::norm_axis("Transpose", v, x.rank())).collect::<Result<_>>()?,
        None => (0..x.rank()).rev().collect(),
    };
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    Ok(vec![Some(ops::transpose(&c.dys[0], &inv)?)])
}
fn tile_grad(c: &GradCtx) -> G {
    // Sum the tiled copies: view dy as [r0, d0, r1, d1, …] and reduce the r axes.
    let x = &c.inputs[0];
    let reps = c.attrs.i64s("Tile", "reps")?.unwrap_or_default();
    let mut split = Vec::new();
    for (&d, &r) in x.shape().iter().zip(&reps) {
        split.extend([r as usize, d]);
    }
    let v = ops::reshape(&c.dys[0], &split)?;
    let axes: Vec<usize> = (0..x.rank()).map(|i| 2 * i).collect();
    Ok(vec![Some(ops::reshape(&ops::sum(&v, &axes, false)?, x.shape())?)])
}

pub fn register(r: &mut Registry) {
    const X: &[&str] = &["x"];
    r.builtin("Reshape", X, reshape_k, Some(reshape_grad));
    r.builtin("Cast", X, cast_k, Some(cast_grad));
    r.builtin("Identity", X, identity_k, Some(identity_grad));
    r.builtin("ZerosLike", X, zeros_like_k, Some(zeros_grad));
    r.builtin("OnesLike", X, ones_like_k, Some(zeros_grad));
    r.builtin("Fill", &[], fill_k, None);
    r.builtin("Select", &["condition", "t", "e"], select_k, Some(select_grad));
    r.builtin("Transpose", X, transpose_k, Some(transpose_grad));
    r.builtin("Tile", X, tile_k, Some(tile_grad));
}
