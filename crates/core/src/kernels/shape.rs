//! Shape and data-movement kernels — reshape, cast, fill, select, transpose, tile, concat and
//! stack, split and unstack, slices, gather and segment sums, padding, reverse, top-k, one-hot,
//! ranges, broadcast — and their gradients. Kernels that only move data are written once over
//! the element type (`Elem`) and copy contiguous runs as slices rather than element by element.

use crate::attrs::{norm_axis, Attrs};
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Buffer, DType, Tensor};
use ndarray::{ArrayViewD, IxDyn};

pub(super) fn one<'a>(op: &str, i: &'a [Tensor]) -> Result<&'a Tensor> {
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

/// Element types the data-movement kernels are written once for.
pub trait Elem: Copy + Default + Send + Sync + 'static {
    fn slice_of(b: &Buffer) -> Option<&[Self]>;
    fn into_buffer(v: Vec<Self>) -> Buffer;
    /// A JS number stored into this type's typed array (float32 rounds, int32 truncates).
    fn from_f64(v: f64) -> Self;
}
impl Elem for f32 {
    fn slice_of(b: &Buffer) -> Option<&[f32]> {
        if let Buffer::F32(v) = b { Some(v) } else { None }
    }
    fn into_buffer(v: Vec<f32>) -> Buffer {
        Buffer::F32(v)
    }
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
}
impl Elem for i32 {
    fn slice_of(b: &Buffer) -> Option<&[i32]> {
        if let Buffer::I32(v) = b { Some(v) } else { None }
    }
    fn into_buffer(v: Vec<i32>) -> Buffer {
        Buffer::I32(v)
    }
    fn from_f64(v: f64) -> i32 {
        to_int32(v)
    }
}
impl Elem for u8 {
    fn slice_of(b: &Buffer) -> Option<&[u8]> {
        if let Buffer::Bool(v) = b { Some(v) } else { None }
    }
    fn into_buffer(v: Vec<u8>) -> Buffer {
        Buffer::Bool(v)
    }
    fn from_f64(v: f64) -> u8 {
        (v != 0.0 && !v.is_nan()) as u8
    }
}

/// JS `ToInt32`: truncate, then wrap modulo 2^32 (what storing into an `Int32Array` does).
pub(super) fn to_int32(v: f64) -> i32 {
    if !v.is_finite() {
        return 0;
    }
    (v.trunc() % 4_294_967_296.0) as i64 as i32
}

/// Runs `$e` with `$T` bound to the element type of dtype `$dt`.
macro_rules! with_elem {
    ($dt:expr, $T:ident => $e:expr) => {
        match $dt {
            DType::Float32 => {
                type $T = f32;
                $e
            }
            DType::Int32 => {
                type $T = i32;
                $e
            }
            DType::Bool => {
                type $T = u8;
                $e
            }
        }
    };
}
pub(super) use with_elem;

pub(super) fn elems<'a, T: Elem>(op: &str, x: &'a Tensor) -> Result<&'a [T]> {
    T::slice_of(x.buffer()).ok_or_else(|| Error::dtype(op, "one dtype for all inputs", x.dtype().name()))
}

pub(super) fn istrides(shape: &[usize]) -> Vec<isize> {
    super::strides(shape).into_iter().map(|s| s as isize).collect()
}

/// Calls `f` with `base + Σ idx[d]·strides[d]` for every index of `shape`, in row-major order;
/// the offset is updated incrementally rather than recomputed from the index.
fn for_each_offset(shape: &[usize], strides: &[isize], base: isize, mut f: impl FnMut(isize)) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; shape.len()];
    let mut off = base;
    loop {
        f(off);
        let mut d = shape.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * shape[d] as isize;
            idx[d] = 0;
        }
    }
}

/// `out[idx] = src[base + Σ idx[d]·strides[d]]` over `out_shape`. Unit dimensions are dropped
/// and neighbours that are contiguous in `src` merged, so the innermost run is as long as it
/// can be; runs of stride ±1 are copied as slices. Callers guarantee every offset is in range.
pub fn gather_strided<T: Copy>(src: &[T], out_shape: &[usize], strides: &[isize], base: isize) -> Vec<T> {
    let n: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let mut dims: Vec<(usize, isize)> = Vec::with_capacity(out_shape.len());
    for (&d, &s) in out_shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        match dims.last_mut() {
            Some(last) if last.1 == s * d as isize => *last = (last.0 * d, s),
            _ => dims.push((d, s)),
        }
    }
    let (len, step) = dims.pop().unwrap_or((1, 1));
    let (shape, st): (Vec<usize>, Vec<isize>) = dims.into_iter().unzip();
    for_each_offset(&shape, &st, base, |o| {
        let o = o as usize;
        match step {
            1 => out.extend_from_slice(&src[o..o + len]),
            -1 => out.extend(src[o + 1 - len..=o].iter().rev()),
            0 => out.extend(std::iter::repeat_n(src[o], len)),
            s => out.extend((0..len).map(|k| src[(o as isize + k as isize * s) as usize])),
        }
    });
    out
}

/// A single-axis attribute (tfjs accepts a one-element list too).
pub(super) fn axis_attr(op: &str, a: &Attrs, key: &str, default: i64) -> Result<i64> {
    Ok(a.i64s(op, key)?.and_then(|v| v.first().copied()).unwrap_or(default))
}

pub(super) fn list_attr(op: &str, a: &Attrs, key: &str) -> Result<Vec<i64>> {
    a.i64s(op, key)?.ok_or_else(|| Error::arg(op, format!("attribute '{key}' is required")))
}

/// `[[before, after], …]`, one pair per dimension of a rank-`rank` input.
fn paddings_attr(op: &str, a: &Attrs, rank: usize) -> Result<Vec<[usize; 2]>> {
    let given = a.get("paddings").map(|v| v.to_string()).unwrap_or_else(|| "nothing".into());
    let bad = || Error::arg(op, format!("attribute 'paddings' must be {rank} pairs of non-negative integers, got {given}"));
    let list = a.get("paddings").and_then(|v| v.as_array()).ok_or_else(bad)?;
    if list.len() != rank {
        return Err(bad());
    }
    list.iter()
        .map(|p| {
            let p = p.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
            let side = |v: &serde_json::Value| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as usize).ok_or_else(bad);
            Ok([side(&p[0])?, side(&p[1])?])
        })
        .collect()
}

/// Copies each input's row `o` (of its own length) for every outer index `o`, one after another.
fn concat_rows<T: Copy>(srcs: &[&[T]], inners: &[usize], outer: usize) -> Vec<T> {
    let total: usize = inners.iter().sum::<usize>() * outer;
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (src, &inner) in srcs.iter().zip(inners) {
            out.extend_from_slice(&src[o * inner..(o + 1) * inner]);
        }
    }
    out
}

fn concat_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Concat";
    let first = i.first().ok_or_else(|| Error::arg(OP, "expected at least 1 input, got 0"))?;
    let rank = first.rank();
    if rank == 0 {
        return Err(Error::shape(OP, "tensors of rank >= 1", "scalars"));
    }
    let axis = norm_axis(OP, axis_attr(OP, a, "axis", 0)?, rank)?;
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = 0;
    for t in i {
        let ok = t.rank() == rank && t.shape().iter().zip(first.shape()).enumerate().all(|(d, (p, q))| d == axis || p == q);
        if !ok {
            return Err(Error::shape(
                OP,
                format!("tensors of shape {} except along axis {axis}", fmt_shape(first.shape())),
                fmt_shape(t.shape()),
            ));
        }
        out_shape[axis] += t.shape()[axis];
    }
    // tfjs writes every input into a typed array of the first input's dtype.
    let dtype = first.dtype();
    let nonempty: Vec<Tensor> = i.iter().filter(|t| t.size() > 0).map(|t| if t.dtype() == dtype { t.clone() } else { t.cast(dtype) }).collect();
    match nonempty.as_slice() {
        [] => return Ok(vec![Tensor::zeros(&out_shape, dtype)]),
        [only] => return Ok(vec![only.reshaped(out_shape)?]),
        _ => {}
    }
    let outer: usize = out_shape[..axis].iter().product();
    let inners: Vec<usize> = nonempty.iter().map(|t| t.shape()[axis..].iter().product()).collect();
    let buf = with_elem!(dtype, T => {
        let srcs = nonempty.iter().map(|t| elems::<T>(OP, t)).collect::<Result<Vec<_>>>()?;
        T::into_buffer(concat_rows(&srcs, &inners, outer))
    });
    Ok(vec![Tensor::from_buffer(out_shape, buf)])
}

fn pack_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Pack";
    let first = i.first().ok_or_else(|| Error::arg(OP, "expected at least 1 input, got 0"))?;
    let axis = norm_axis(OP, axis_attr(OP, a, "axis", 0)?, first.rank() + 1)?;
    for t in i {
        if t.shape() != first.shape() {
            return Err(Error::shape(OP, format!("tensors of one shape ({})", fmt_shape(first.shape())), fmt_shape(t.shape())));
        }
        if t.dtype() != first.dtype() {
            return Err(Error::dtype(OP, format!("one dtype for all tensors ({})", first.dtype()), t.dtype().name()));
        }
    }
    let mut out_shape = first.shape().to_vec();
    out_shape.insert(axis, i.len());
    if i.len() == 1 {
        return Ok(vec![first.reshaped(out_shape)?]);
    }
    let outer: usize = first.shape()[..axis].iter().product();
    let inners = vec![first.shape()[axis..].iter().product::<usize>(); i.len()];
    let buf = with_elem!(first.dtype(), T => {
        let srcs = i.iter().map(|t| elems::<T>(OP, t)).collect::<Result<Vec<_>>>()?;
        T::into_buffer(concat_rows(&srcs, &inners, outer))
    });
    Ok(vec![Tensor::from_buffer(out_shape, buf)])
}

/// Consecutive pieces of `x` along `axis` of the given `sizes`; `squeeze` drops the axis.
fn split_along(op: &str, x: &Tensor, axis: usize, sizes: &[usize], squeeze: bool) -> Result<Vec<Tensor>> {
    let st = istrides(x.shape());
    let mut out = Vec::with_capacity(sizes.len());
    let mut begin = 0usize;
    for &s in sizes {
        let mut shape = x.shape().to_vec();
        shape[axis] = s;
        let base = begin as isize * st[axis];
        let buf = with_elem!(x.dtype(), T => T::into_buffer(gather_strided(elems::<T>(op, x)?, &shape, &st, base)));
        if squeeze {
            shape.remove(axis);
        }
        out.push(Tensor::from_buffer(shape, buf));
        begin += s;
    }
    Ok(out)
}

fn unpack_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Unpack";
    let x = i.first().filter(|_| i.len() == 1).ok_or_else(|| Error::arg(OP, format!("expected 1 input (value), got {}", i.len())))?;
    if x.rank() == 0 {
        return Err(Error::shape(OP, "a tensor of rank >= 1", "a scalar"));
    }
    let axis = norm_axis(OP, axis_attr(OP, a, "axis", 0)?, x.rank())?;
    split_along(OP, x, axis, &vec![1; x.shape()[axis]], true)
}

/// tfjs `prepareSplitSize`: a count of equal pieces, or sizes with at most one -1.
fn split_sizes(op: &str, a: &Attrs, dim: usize) -> Result<Vec<usize>> {
    if let Some(v) = a.get("numOrSizeSplits").filter(|v| v.is_number()) {
        let n = v
            .as_f64()
            .filter(|f| *f >= 1.0 && f.fract() == 0.0)
            .ok_or_else(|| Error::arg(op, format!("numOrSizeSplits must be a positive integer, got {v}")))? as usize;
        if !dim.is_multiple_of(n) {
            return Err(Error::shape(op, format!("a number of splits that evenly divides the axis ({dim})"), n.to_string()));
        }
        return Ok(vec![dim / n; n]);
    }
    let raw = list_attr(op, a, "numOrSizeSplits")?;
    if raw.iter().filter(|&&s| s == -1).count() > 1 || raw.iter().any(|&s| s < -1) {
        return Err(Error::arg(op, format!("split sizes must be non-negative with at most one -1, got {raw:?}")));
    }
    let known: i64 = raw.iter().filter(|&&s| s >= 0).sum();
    let sizes: Vec<i64> = raw.iter().map(|&s| if s == -1 { dim as i64 - known } else { s }).collect();
    if sizes.iter().any(|&s| s < 0) || sizes.iter().sum::<i64>() != dim as i64 {
        return Err(Error::shape(op, format!("split sizes that sum to the axis size ({dim})"), format!("{raw:?}")));
    }
    Ok(sizes.into_iter().map(|s| s as usize).collect())
}

fn split_v_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "SplitV";
    let x = one(OP, i)?;
    if x.rank() == 0 {
        return Err(Error::shape(OP, "a tensor of rank >= 1", "a scalar"));
    }
    let axis = norm_axis(OP, axis_attr(OP, a, "axis", 0)?, x.rank())?;
    let sizes = split_sizes(OP, a, x.shape()[axis])?;
    split_along(OP, x, axis, &sizes, false)
}

/// tfjs `parseSliceParams` + `assertParamsValid`: begin padded with 0, size with -1 (to the end).
fn slice_params(op: &str, x: &Tensor, a: &Attrs) -> Result<(Vec<usize>, Vec<usize>)> {
    let rank = x.rank();
    let begin = list_attr(op, a, "begin")?;
    let size = a.i64s(op, "size")?.unwrap_or_default();
    if begin.len() > rank || size.len() > rank {
        return Err(Error::arg(op, format!("begin {begin:?} and size {size:?} must not be longer than the input's rank ({rank})")));
    }
    let mut b = vec![0usize; rank];
    let mut s = vec![0usize; rank];
    for d in 0..rank {
        let dim = x.shape()[d] as i64;
        let bd = begin.get(d).copied().unwrap_or(0);
        if bd < 0 || bd > dim {
            return Err(Error::arg(op, format!("begin[{d}] must be in [0, {dim}], got {bd}")));
        }
        let sd = match size.get(d).copied().unwrap_or(-1) {
            -1 => dim - bd,
            v if v < -1 => return Err(Error::arg(op, format!("negative size values must be exactly -1, got {v} at index {d}"))),
            v => v,
        };
        if bd + sd > dim {
            return Err(Error::shape(op, format!("begin[{d}] + size[{d}] <= {dim} (the input's dimension)"), (bd + sd).to_string()));
        }
        b[d] = bd as usize;
        s[d] = sd as usize;
    }
    Ok((b, s))
}

fn slice_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Slice";
    let x = one(OP, i)?;
    let (begin, size) = slice_params(OP, x, a)?;
    if size == x.shape() {
        return Ok(vec![x.with_new_id()]);
    }
    let st = istrides(x.shape());
    let base: isize = begin.iter().zip(&st).map(|(&b, &s)| b as isize * s).sum();
    let buf = with_elem!(x.dtype(), T => T::into_buffer(gather_strided(elems::<T>(OP, x)?, &size, &st, base)));
    Ok(vec![Tensor::from_buffer(size, buf)])
}

/// What one sparse entry of a strided-slice spec became in the dense (per input axis) spec.
#[derive(Clone, Copy)]
enum FinalDim {
    Dim(usize),
    NewAxis,
    Shrink,
}

/// A resolved strided slice: per input axis the first index read, the step and the number of
/// elements read; and the output shape (shrunk axes dropped, new axes inserted).
struct StridedPlan {
    begin: Vec<i64>,
    step: Vec<i64>,
    counts: Vec<usize>,
    final_shape: Vec<usize>,
}

/// TensorFlow's strided-slice canonicalisation (as tfjs `sliceInfo`): expands the ellipsis and
/// new axes into a per-axis spec, then resolves masks, negative indices and clamping.
fn strided_slice_plan(op: &str, x_shape: &[usize], a: &Attrs) -> Result<StridedPlan> {
    let begin = list_attr(op, a, "begin")?;
    let end = list_attr(op, a, "end")?;
    let strides = a.i64s(op, "strides")?.unwrap_or_else(|| vec![1; begin.len()]);
    if begin.len() != strides.len() || end.len() != strides.len() {
        return Err(Error::arg(op, format!("begin, end and strides must have one length, got {begin:?}, {end:?}, {strides:?}")));
    }
    let mask = |k: &str| -> Result<i64> {
        let m = a.i64_or(op, k, 0)?;
        if m < 0 {
            return Err(Error::arg(op, format!("attribute '{k}' must be a non-negative bit mask, got {m}")));
        }
        Ok(m)
    };
    let (begin_mask, end_mask, mut ellipsis_mask) = (mask("beginMask")?, mask("endMask")?, mask("ellipsisMask")?);
    let (new_axis_mask, shrink_mask) = (mask("newAxisMask")?, mask("shrinkAxisMask")?);
    if strides.len() > 62 {
        return Err(Error::arg(op, format!("at most 62 slice entries are supported, got {}", strides.len())));
    }
    let bit = |m: i64, i: usize| i < 63 && (m >> i) & 1 == 1;
    if ellipsis_mask & (ellipsis_mask - 1) != 0 {
        return Err(Error::arg(op, "multiple ellipses in slice is not allowed"));
    }

    let mut sparse_dims = strides.len();
    let mut ellipsis_seen = false;
    let mut new_after_ellipsis = 0i64;
    for i in 0..sparse_dims {
        if ellipsis_seen && bit(new_axis_mask, i) {
            new_after_ellipsis += 1;
        }
        if bit(ellipsis_mask, i) {
            ellipsis_seen = true;
        }
    }
    if !ellipsis_seen {
        ellipsis_mask |= 1 << sparse_dims.min(62);
        sparse_dims += 1;
    }

    let rank = x_shape.len();
    let (mut d_begin, mut d_end, mut d_stride) = (vec![0i64; rank], vec![0i64; rank], vec![1i64; rank]);
    let (mut d_begin_mask, mut d_end_mask, mut d_shrink) = (vec![false; rank], vec![false; rank], vec![false; rank]);
    let mut gather: Vec<FinalDim> = Vec::new();
    let mut full = 0usize;
    for i in 0..sparse_dims {
        if bit(ellipsis_mask, i) {
            let next = (rank as i64 - (sparse_dims - i) as i64 + 1 + new_after_ellipsis).clamp(0, rank as i64) as usize;
            while full < next {
                d_begin_mask[full] = true;
                d_end_mask[full] = true;
                gather.push(FinalDim::Dim(full));
                full += 1;
            }
        } else if bit(new_axis_mask, i) {
            gather.push(FinalDim::NewAxis);
        } else {
            if full == rank {
                let expected = format!("a slice spec for at most {rank} dimensions (the input's rank)");
                return Err(Error::shape(op, expected, format!("an index for dimension {full}")));
            }
            d_begin[full] = begin[i];
            d_end[full] = end[i];
            d_stride[full] = strides[i];
            d_begin_mask[full] = bit(begin_mask, i);
            d_end_mask[full] = bit(end_mask, i);
            if bit(shrink_mask, i) {
                d_shrink[full] = true;
                gather.push(FinalDim::Shrink);
            } else {
                gather.push(FinalDim::Dim(full));
            }
            full += 1;
        }
    }

    let mut counts = vec![0usize; rank];
    for d in 0..rank {
        let (stride, dim) = (d_stride[d], x_shape[d] as i64);
        if stride == 0 {
            return Err(Error::arg(op, format!("strides[{d}] must be non-zero")));
        }
        if d_shrink[d] {
            if stride < 0 {
                return Err(Error::arg(op, "only stride 1 allowed on non-range indexing"));
            }
            let fwd = if d_begin[d] < 0 { dim + d_begin[d] } else { d_begin[d] };
            if fwd < 0 || fwd >= dim {
                return Err(Error::arg(op, format!("slice index {} of dimension {d} out of bounds", d_begin[d])));
            }
            d_begin[d] = fwd;
            d_end[d] = fwd + 1;
        } else {
            let valid = if stride > 0 { [0, dim] } else { [-1, dim - 1] };
            let canonical = |v: i64, masked: bool, c: usize| {
                if masked {
                    return if stride > 0 { valid[c] } else { valid[1 - c] };
                }
                let fwd = if v < 0 { dim + v } else { v };
                fwd.clamp(valid[0], valid[1])
            };
            d_begin[d] = canonical(d_begin[d], d_begin_mask[d], 0);
            d_end[d] = canonical(d_end[d], d_end_mask[d], 1);
        }
        let interval = d_end[d] - d_begin[d];
        counts[d] = if interval == 0 || (interval < 0) != (stride < 0) {
            0
        } else {
            ((interval.abs() + stride.abs() - 1) / stride.abs()) as usize
        };
    }
    let final_shape = gather
        .iter()
        .filter_map(|g| match *g {
            FinalDim::Dim(d) => Some(counts[d]),
            FinalDim::NewAxis => Some(1),
            FinalDim::Shrink => None,
        })
        .collect();
    Ok(StridedPlan { begin: d_begin, step: d_stride, counts, final_shape })
}

fn strided_slice_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "StridedSlice";
    let x = one(OP, i)?;
    let StridedPlan { begin, step, counts, final_shape } = strided_slice_plan(OP, x.shape(), a)?;
    let st = istrides(x.shape());
    let strides: Vec<isize> = st.iter().zip(&step).map(|(&s, &k)| s * k as isize).collect();
    // A dimension read nothing has no valid begin; the output is empty then anyway.
    let base: isize = if counts.contains(&0) { 0 } else { begin.iter().zip(&st).map(|(&b, &s)| b as isize * s).sum() };
    let buf = with_elem!(x.dtype(), T => T::into_buffer(gather_strided(elems::<T>(OP, x)?, &counts, &strides, base)));
    Ok(vec![Tensor::from_buffer(final_shape, buf)])
}

fn pad_impl<T: Copy>(src: &[T], shape: &[usize], pads: &[[usize; 2]], fill: T) -> (Vec<usize>, Vec<T>) {
    let out_shape: Vec<usize> = shape.iter().zip(pads).map(|(&d, p)| p[0] + d + p[1]).collect();
    let Some(k) = pads.iter().rposition(|p| p[0] + p[1] > 0) else { return (out_shape, src.to_vec()) };
    let mut out = vec![fill; out_shape.iter().product()];
    if src.is_empty() {
        return (out_shape, out);
    }
    // Dimensions after `k` are unpadded, so each input block from dimension `k` on is one run.
    let ost = istrides(&out_shape);
    let chunk = shape[k] * ost[k] as usize;
    let base: isize = pads[..=k].iter().zip(&ost).map(|(p, &s)| p[0] as isize * s).sum();
    let mut s = 0;
    for_each_offset(&shape[..k], &ost[..k], base, |o| {
        let o = o as usize;
        out[o..o + chunk].copy_from_slice(&src[s..s + chunk]);
        s += chunk;
    });
    (out_shape, out)
}

fn pad_v2_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "PadV2";
    let x = one(OP, i)?;
    let pads = paddings_attr(OP, a, x.rank())?;
    let c = a.f64_or(OP, "constantValue", 0.0)?;
    let (shape, buf) = with_elem!(x.dtype(), T => {
        let (s, v) = pad_impl(elems::<T>(OP, x)?, x.shape(), &pads, T::from_f64(c));
        (s, T::into_buffer(v))
    });
    Ok(vec![Tensor::from_buffer(shape, buf)])
}

fn mirror_pad_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "MirrorPad";
    let x = one(OP, i)?;
    let pads = paddings_attr(OP, a, x.rank())?;
    let offset = match a.str_or(OP, "mode", "")? {
        "reflect" => 0isize,
        "symmetric" => 1,
        m => return Err(Error::arg(OP, format!("mode must be 'reflect' or 'symmetric', got '{m}'"))),
    };
    let shape = x.shape();
    for (d, (p, &n)) in pads.iter().zip(shape).enumerate() {
        let max = n as isize - 1 + offset;
        if p[0] as isize > max || p[1] as isize > max {
            let msg = format!("paddings in dimension {d} must be in [0, {max}] for an input of shape {}, got {p:?}", fmt_shape(shape));
            return Err(Error::arg(OP, msg));
        }
    }
    if x.rank() == 0 {
        return Ok(vec![x.with_new_id()]);
    }
    let out_shape: Vec<usize> = shape.iter().zip(&pads).map(|(&d, p)| p[0] + d + p[1]).collect();
    // Per dimension, the input index each output index reads, pre-multiplied by the stride.
    let st = super::strides(shape);
    let tables: Vec<Vec<usize>> = (0..shape.len())
        .map(|d| {
            let (start, end) = (pads[d][0] as isize, (pads[d][0] + shape[d]) as isize);
            (0..out_shape[d] as isize)
                .map(|c| {
                    let src = if c < start { 2 * start - c - offset } else if c >= end { 2 * (end - 1) - c + offset } else { c };
                    (src - start) as usize * st[d]
                })
                .collect()
        })
        .collect();
    let last = shape.len() - 1;
    let (lo, hi) = (pads[last][0], pads[last][0] + shape[last]);
    let buf = with_elem!(x.dtype(), T => {
        let src = elems::<T>(OP, x)?;
        let mut out: Vec<T> = Vec::with_capacity(out_shape.iter().product());
        if out_shape.iter().all(|&d| d > 0) {
            let mut idx = vec![0usize; last];
            'rows: loop {
                let base: usize = idx.iter().enumerate().map(|(d, &c)| tables[d][c]).sum();
                let row = &tables[last];
                out.extend(row[..lo].iter().map(|&s| src[base + s]));
                out.extend_from_slice(&src[base..base + shape[last]]);
                out.extend(row[hi..].iter().map(|&s| src[base + s]));
                let mut d = last;
                loop {
                    if d == 0 {
                        break 'rows;
                    }
                    d -= 1;
                    idx[d] += 1;
                    if idx[d] < out_shape[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
        T::into_buffer(out)
    });
    Ok(vec![Tensor::from_buffer(out_shape, buf)])
}

/// The axes of `Reverse`'s `dims` (all of them when absent), resolved and deduplicated.
fn reverse_dims(op: &str, a: &Attrs, rank: usize) -> Result<Vec<usize>> {
    let mut dims = match a.i64s(op, "dims")? {
        None => (0..rank).collect(),
        Some(v) => v.into_iter().map(|d| norm_axis(op, d, rank)).collect::<Result<Vec<_>>>()?,
    };
    dims.sort_unstable();
    dims.dedup();
    Ok(dims)
}

fn reverse_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Reverse";
    let x = one(OP, i)?;
    let dims = reverse_dims(OP, a, x.rank())?;
    if x.rank() == 0 || x.size() == 0 {
        return Ok(vec![x.with_new_id()]);
    }
    let mut st = istrides(x.shape());
    let mut base = 0isize;
    for &d in &dims {
        base += (x.shape()[d] as isize - 1) * st[d];
        st[d] = -st[d];
    }
    let buf = with_elem!(x.dtype(), T => T::into_buffer(gather_strided(elems::<T>(OP, x)?, x.shape(), &st, base)));
    Ok(vec![Tensor::from_buffer(x.shape().to_vec(), buf)])
}

/// Repeats `src` (of `shape`) `reps[d]` times along each dimension. Each block is written once
/// from the input — as a single run from the innermost repeated dimension inward — and then
/// duplicated with `copy_within`, so the work is a few large memory copies.
fn tile_impl<T: Copy + Default>(src: &[T], shape: &[usize], reps: &[usize]) -> (Vec<usize>, Vec<T>) {
    let out_shape: Vec<usize> = shape.iter().zip(reps).map(|(&d, &r)| d * r).collect();
    let n: usize = out_shape.iter().product();
    // Dimensions from `k` on are not repeated: they are copied as whole runs.
    let k = reps.iter().rposition(|&r| r != 1).map_or(0, |p| p + 1);
    if n == 0 || k == 0 {
        return (out_shape, if n == 0 { Vec::new() } else { src.to_vec() });
    }
    let in_st = super::strides(shape);
    let out_block: Vec<usize> = (0..=shape.len()).map(|d| out_shape[d..].iter().product()).collect();
    let mut out = vec![T::default(); n];
    struct Ctx<'a, T> {
        src: &'a [T],
        shape: &'a [usize],
        reps: &'a [usize],
        in_st: &'a [usize],
        out_block: &'a [usize],
        k: usize,
    }
    fn fill<T: Copy>(c: &Ctx<T>, out: &mut [T], d: usize, s: usize, o: usize) {
        let len = c.shape[d] * c.out_block[d + 1];
        if d + 1 == c.k {
            out[o..o + len].copy_from_slice(&c.src[s..s + len]);
        } else {
            for i in 0..c.shape[d] {
                fill(c, out, d + 1, s + i * c.in_st[d], o + i * c.out_block[d + 1]);
            }
        }
        // Doubling copies: a short block repeated many times costs log2(reps) calls, not reps.
        let total = len * c.reps[d];
        let mut done = len;
        while done < total {
            let n = done.min(total - done);
            out.copy_within(o..o + n, o + done);
            done += n;
        }
    }
    let c = Ctx { src, shape, reps, in_st: &in_st, out_block: &out_block, k };
    fill(&c, &mut out, 0, 0, 0);
    (out_shape, out)
}

fn broadcast_to_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "BroadcastTo";
    let x = one(OP, i)?;
    let shape = shape_attr(OP, a, "shape", None)?;
    let bad = || Error::shape(OP, format!("a shape that {} broadcasts to", fmt_shape(x.shape())), fmt_shape(&shape));
    if shape.len() < x.rank() {
        return Err(bad());
    }
    let mut padded = vec![1usize; shape.len() - x.rank()];
    padded.extend_from_slice(x.shape());
    let mut reps = vec![1usize; shape.len()];
    for (d, (&have, &want)) in padded.iter().zip(&shape).enumerate() {
        if have != want {
            if have != 1 {
                return Err(bad());
            }
            reps[d] = want;
        }
    }
    let buf = with_elem!(x.dtype(), T => T::into_buffer(tile_impl(elems::<T>(OP, x)?, &padded, &reps).1));
    Ok(vec![Tensor::from_buffer(shape, buf)])
}

fn tile_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("Tile", i)?;
    let reps = a.i64s("Tile", "reps")?.ok_or_else(|| Error::arg("Tile", "attribute 'reps' is required"))?;
    if reps.len() != x.rank() || reps.iter().any(|&r| r < 0) {
        return Err(Error::arg("Tile", format!("reps must have {} non-negative entries (the input's rank), got {reps:?}", x.rank())));
    }
    let reps: Vec<usize> = reps.into_iter().map(|r| r as usize).collect();
    let (shape, buf) = with_elem!(x.dtype(), T => {
        let (s, v) = tile_impl(elems::<T>("Tile", x)?, x.shape(), &reps);
        (s, T::into_buffer(v))
    });
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
pub(super) fn zeros_grad(c: &GradCtx) -> G {
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

fn concat_grad(c: &GradCtx) -> G {
    let first = &c.inputs[0];
    let axis = norm_axis("Concat", axis_attr("Concat", c.attrs, "axis", 0)?, first.rank())?;
    let sizes: Vec<usize> = c.inputs.iter().map(|t| t.shape()[axis]).collect();
    Ok(ops::split(&c.dys[0], &sizes, axis as i64)?.into_iter().map(Some).collect())
}
fn pack_grad(c: &GradCtx) -> G {
    let axis = norm_axis("Pack", axis_attr("Pack", c.attrs, "axis", 0)?, c.inputs[0].rank() + 1)?;
    Ok(ops::unstack(&c.dys[0], axis as i64)?.into_iter().map(Some).collect())
}
fn unpack_grad(c: &GradCtx) -> G {
    let axis = norm_axis("Unpack", axis_attr("Unpack", c.attrs, "axis", 0)?, c.inputs[0].rank())?;
    Ok(vec![Some(ops::stack(c.dys, axis as i64)?)])
}
fn split_v_grad(c: &GradCtx) -> G {
    let axis = norm_axis("SplitV", axis_attr("SplitV", c.attrs, "axis", 0)?, c.inputs[0].rank())?;
    Ok(vec![Some(ops::concat(c.dys, axis as i64)?)])
}
fn slice_grad(c: &GradCtx) -> G {
    let x = &c.inputs[0];
    let (begin, size) = slice_params("Slice", x, c.attrs)?;
    let pads: Vec<[usize; 2]> = (0..x.rank()).map(|d| [begin[d], x.shape()[d] - begin[d] - size[d]]).collect();
    Ok(vec![Some(ops::pad(&c.dys[0], &pads, 0.0)?)])
}
fn pad_grad(c: &GradCtx) -> G {
    let x = &c.inputs[0];
    let pads = paddings_attr("PadV2", c.attrs, x.rank())?;
    let begin: Vec<usize> = pads.iter().map(|p| p[0]).collect();
    Ok(vec![Some(ops::slice(&c.dys[0], &begin, x.shape())?)])
}
/// `g` restricted to `[start, start + len)` along `axis`.
fn slice_axis(g: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
    let mut begin = vec![0; g.rank()];
    let mut size = g.shape().to_vec();
    begin[axis] = start;
    size[axis] = len;
    ops::slice(g, &begin, &size)
}
/// `g` padded with zeros along `axis` only.
fn pad_axis(g: &Tensor, axis: usize, before: usize, after: usize) -> Result<Tensor> {
    let mut pads = vec![[0, 0]; g.rank()];
    pads[axis] = [before, after];
    ops::pad(g, &pads, 0.0)
}
fn mirror_pad_grad(c: &GradCtx) -> G {
    // tfjs only slices the centre out of dy, dropping what the mirrored copies received; here
    // each padded band is reversed and added back onto the input elements it copied, one axis
    // at a time (the padding is separable).
    let x = &c.inputs[0];
    let pads = paddings_attr("MirrorPad", c.attrs, x.rank())?;
    let reflect = c.attrs.str_or("MirrorPad", "mode", "")? == "reflect";
    let mut g = c.dys[0].clone();
    for (d, &[b, a]) in pads.iter().enumerate() {
        let n = x.shape()[d];
        let mut acc = slice_axis(&g, d, b, n)?;
        if b > 0 {
            let band = ops::reverse(&slice_axis(&g, d, 0, b)?, &[d])?;
            let (lo, hi) = if reflect { (1, n - 1 - b) } else { (0, n - b) };
            acc = ops::add(&acc, &pad_axis(&band, d, lo, hi)?)?;
        }
        if a > 0 {
            let band = ops::reverse(&slice_axis(&g, d, b + n, a)?, &[d])?;
            let (lo, hi) = if reflect { (n - 1 - a, 1) } else { (n - a, 0) };
            acc = ops::add(&acc, &pad_axis(&band, d, lo, hi)?)?;
        }
        g = acc;
    }
    Ok(vec![Some(g)])
}
fn reverse_grad(c: &GradCtx) -> G {
    let dims = reverse_dims("Reverse", c.attrs, c.inputs[0].rank())?;
    Ok(vec![Some(ops::reverse(&c.dys[0], &dims)?)])
}
fn broadcast_to_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::sum_to(&c.dys[0], c.inputs[0].shape())?)])
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
    // Concat and Pack take a variable number of tensors, passed positionally.
    r.builtin("Concat", &[], concat_k, Some(concat_grad));
    r.builtin("Pack", &[], pack_k, Some(pack_grad));
    r.builtin("Unpack", &["value"], unpack_k, Some(unpack_grad));
    r.builtin("SplitV", X, split_v_k, Some(split_v_grad));
    r.builtin("Slice", X, slice_k, Some(slice_grad));
    r.builtin("StridedSlice", X, strided_slice_k, None);
    r.builtin("PadV2", X, pad_v2_k, Some(pad_grad));
    r.builtin("MirrorPad", X, mirror_pad_k, Some(mirror_pad_grad));
    r.builtin("Reverse", X, reverse_k, Some(reverse_grad));
    r.builtin("BroadcastTo", X, broadcast_to_k, Some(broadcast_to_grad));
}
