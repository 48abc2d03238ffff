//! Index-driven kernels: gather and its scatter-add gradient (UnsortedSegmentSum), top-k,
//! one-hot, and the generated sequences Range and LinSpace.

use super::shape::*;
use crate::attrs::{norm_axis, Attrs};
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, DType, Tensor};

type G = Result<Vec<Option<Tensor>>>;

/// `[batch, outer, dim, slice]` sizes of a gather and its output shape (tfjs
/// `collectGatherOpShapeInfo`), with `axis` and `batchDims` resolved.
struct GatherPlan {
    batch: usize,
    outer: usize,
    dim: usize,
    slice: usize,
    out_shape: Vec<usize>,
}

fn gather_plan(op: &str, x: &Tensor, indices: &Tensor, a: &Attrs) -> Result<GatherPlan> {
    if x.rank() == 0 {
        return Err(Error::shape(op, "x of rank >= 1", "a scalar"));
    }
    let axis = norm_axis(op, axis_attr(op, a, "axis", 0)?, x.rank())?;
    let i_rank = indices.rank() as i64;
    let mut bd = a.i64_or(op, "batchDims", 0)?;
    if bd < -i_rank || bd > i_rank {
        return Err(Error::arg(op, format!("batchDims must be in [-{i_rank}, {i_rank}], got {bd}")));
    }
    if bd < 0 {
        bd += i_rank;
    }
    let bd = bd as usize;
    if bd > axis {
        return Err(Error::arg(op, format!("batchDims ({bd}) must be less than or equal to axis ({axis})")));
    }
    if x.shape()[..bd] != indices.shape()[..bd] {
        return Err(Error::shape(op, format!("indices whose first {bd} dimensions match x's {}", fmt_shape(x.shape())), fmt_shape(indices.shape())));
    }
    let s = x.shape();
    let out_shape = s[..axis].iter().chain(&indices.shape()[bd..]).chain(&s[axis + 1..]).copied().collect();
    Ok(GatherPlan {
        batch: s[..bd].iter().product(),
        outer: s[bd..axis].iter().product(),
        dim: s[axis],
        slice: s[axis + 1..].iter().product(),
        out_shape,
    })
}

fn int_input<'a>(op: &str, what: &str, t: &'a Tensor) -> Result<&'a [i32]> {
    t.i32s(&format!("{op} ({what})"))
}

fn gather_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "GatherV2";
    let [x, indices] = i else { return Err(Error::arg(OP, format!("expected 2 inputs (x, indices), got {}", i.len()))) };
    let idx = int_input(OP, "indices", indices)?;
    let p = gather_plan(OP, x, indices, a)?;
    if let Some(bad) = idx.iter().find(|&&v| v < 0 || v as usize >= p.dim) {
        return Err(Error::arg(OP, format!("the index value {bad} is not in [0, {}]", p.dim as i64 - 1)));
    }
    let n = idx.len().checked_div(p.batch).unwrap_or(0);
    let (outer, dim, slice) = (p.outer, p.dim, p.slice);
    let buf = with_elem!(x.dtype(), T => {
        let src = elems::<T>(OP, x)?;
        let mut out: Vec<T> = Vec::with_capacity(p.batch * outer * n * slice);
        for b in 0..p.batch {
            for o in 0..outer {
                let block = (b * outer + o) * dim;
                for &j in &idx[b * n..(b + 1) * n] {
                    let start = (block + j as usize) * slice;
                    out.extend_from_slice(&src[start..start + slice]);
                }
            }
        }
        T::into_buffer(out)
    });
    Ok(vec![Tensor::from_buffer(p.out_shape, buf)])
}

/// Sums the rows of `x` (split after `segmentIds`' dimensions) into `numSegments` rows; ids
/// outside `[0, numSegments)` are dropped. float32 out, as tfjs's cpu kernel (a float mask
/// times x).
fn unsorted_segment_sum_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "UnsortedSegmentSum";
    let [x, ids] = i else { return Err(Error::arg(OP, format!("expected 2 inputs (x, segmentIds), got {}", i.len()))) };
    let idv = int_input(OP, "segmentIds", ids)?;
    let n = a.i64(OP, "numSegments")?;
    if n < 0 {
        return Err(Error::arg(OP, format!("numSegments must be non-negative, got {n}")));
    }
    let n = n as usize;
    if ids.rank() > x.rank() || ids.shape() != &x.shape()[..ids.rank()] {
        return Err(Error::shape(OP, format!("segmentIds of a shape that begins {}", fmt_shape(x.shape())), fmt_shape(ids.shape())));
    }
    let row_shape = &x.shape()[ids.rank()..];
    let inner: usize = row_shape.iter().product();
    let xv = x.as_f32();
    let mut out = vec![0f32; n * inner];
    for (k, &id) in idv.iter().enumerate() {
        if id >= 0 && (id as usize) < n {
            let dst = &mut out[id as usize * inner..(id as usize + 1) * inner];
            for (d, &v) in dst.iter_mut().zip(&xv[k * inner..(k + 1) * inner]) {
                *d += v;
            }
        }
    }
    let mut shape = vec![n];
    shape.extend_from_slice(row_shape);
    Ok(vec![Tensor::f32(shape, out)])
}

/// A total order with NaN above every number, so sorting never sees an inconsistent comparison.
fn total_cmp<T: PartialOrd>(a: &T, b: &T) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    a.partial_cmp(b).unwrap_or_else(|| {
        #[allow(clippy::eq_op)]
        let (a_nan, b_nan) = (a != a, b != b);
        match (a_nan, b_nan) {
            (true, true) => Equal,
            (true, false) => Greater,
            _ => Less,
        }
    })
}

/// Up to this `k`, top-k scans each row once instead of selecting over all indices.
const SMALL_K: usize = 16;

/// Largest `k` of each last-axis row: values descending, ties by lower index first (tfjs's
/// order). `sorted: false` leaves the order unspecified in tfjs; it is sorted here too.
fn top_k_rows<T: Copy + PartialOrd>(v: &[T], n: usize, k: usize) -> (Vec<T>, Vec<i32>) {
    let rows = v.len().checked_div(n).unwrap_or(0);
    let (mut vals, mut idxs) = (Vec::with_capacity(rows * k), Vec::with_capacity(rows * k));
    let mut order: Vec<usize> = Vec::with_capacity(n);
    for row in v.chunks_exact(n.max(1)).take(rows) {
        let cmp = |&i: &usize, &j: &usize| total_cmp(&row[j], &row[i]).then(i.cmp(&j));
        order.clear();
        if k <= SMALL_K && k < n {
            // One pass keeping the best k in order: most elements lose to the current k-th at
            // once. Scanning by increasing index keeps the earlier of equal values in front.
            for i in 0..n {
                if order.len() == k {
                    // A later index only gets in by being strictly greater than the k-th.
                    if k == 0 || total_cmp(&row[i], &row[order[k - 1]]).is_le() {
                        continue;
                    }
                    order.pop();
                }
                let at = order.partition_point(|j| cmp(j, &i).is_lt());
                order.insert(at, i);
            }
        } else {
            order.extend(0..n);
            if k > 0 && k < n {
                order.select_nth_unstable_by(k - 1, cmp);
                order.truncate(k);
            }
            order.sort_unstable_by(cmp);
        }
        for &i in &order[..k] {
            vals.push(row[i]);
            idxs.push(i as i32);
        }
    }
    (vals, idxs)
}

fn top_k_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "TopK";
    let x = one(OP, i)?;
    if x.rank() == 0 {
        return Err(Error::shape(OP, "a tensor of rank >= 1", "a scalar"));
    }
    let n = x.shape()[x.rank() - 1];
    let k = a.i64_or(OP, "k", 1)?;
    if k < 0 || k > n as i64 {
        return Err(Error::arg(OP, format!("k must be in [0, {n}] (the last dimension), got {k}")));
    }
    let k = k as usize;
    a.bool_or(OP, "sorted", true)?;
    let mut shape = x.shape().to_vec();
    let last = shape.len() - 1;
    shape[last] = k;
    let (vals, idx) = with_elem!(x.dtype(), T => {
        let (v, i) = top_k_rows(elems::<T>(OP, x)?, n, k);
        (T::into_buffer(v), i)
    });
    Ok(vec![Tensor::from_buffer(shape.clone(), vals), Tensor::i32(shape, idx)])
}

fn one_hot_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "OneHot";
    let indices = i.first().filter(|_| i.len() == 1).ok_or_else(|| Error::arg(OP, format!("expected 1 input (indices), got {}", i.len())))?;
    let idx = int_input(OP, "indices", indices)?;
    let depth = a.i64(OP, "depth")?;
    if depth < 0 {
        return Err(Error::arg(OP, format!("depth must be non-negative, got {depth}")));
    }
    let depth = depth as usize;
    // tfjs fills a Float32Array, so the values pass through float32 on their way to `dtype`.
    let on = a.f64_or(OP, "onValue", 1.0)? as f32 as f64;
    let off = a.f64_or(OP, "offValue", 0.0)? as f32 as f64;
    let name = a.str_or(OP, "dtype", "int32")?;
    let dtype = DType::parse(name).map_err(|_| Error::dtype(OP, "one of float32, int32, bool", name))?;
    let mut shape = indices.shape().to_vec();
    shape.push(depth);
    let buf = with_elem!(dtype, T => {
        let mut out = vec![T::from_f64(off); idx.len() * depth];
        let on = T::from_f64(on);
        for (e, &v) in idx.iter().enumerate() {
            if v >= 0 && (v as usize) < depth {
                out[e * depth + v as usize] = on;
            }
        }
        T::into_buffer(out)
    });
    Ok(vec![Tensor::from_buffer(shape, buf)])
}

/// Longest 1-D output `Range`/`LinSpace` make (tfjs is bound by the typed-array length limit).
const MAX_LEN: f64 = u32::MAX as f64;

/// tfjs `rangeImpl`, quirks included: an empty result for a positive step > 1 on a decreasing
/// range, while a step of exactly 1 there is flipped to -1; values accumulate step by step
/// in the output's own type.
fn range_k(_: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Range";
    let start = a.f64(OP, "start")?;
    let stop = a.f64(OP, "stop")?;
    let mut step = a.f64_or(OP, "step", 1.0)?;
    let dtype = a.str_or(OP, "dtype", "float32")?;
    if step == 0.0 {
        return Err(Error::arg(OP, "step must not be zero"));
    }
    let empty = start == stop || (start < stop && step < 0.0) || (stop < start && step > 1.0);
    // NaN bounds give an empty typed array in tfjs.
    let n = if empty { 0.0 } else { ((stop - start) / step).ceil().abs() };
    let n = if n.is_nan() { 0.0 } else { n };
    if n > MAX_LEN {
        return Err(Error::arg(OP, format!("a range from {start} to {stop} by {step} has too many elements")));
    }
    let n = n as usize;
    if stop < start && step == 1.0 {
        step = -1.0;
    }
    Ok(vec![match dtype {
        "float32" => {
            let mut v = Vec::with_capacity(n);
            let mut cur = start as f32;
            for _ in 0..n {
                v.push(cur);
                cur = (cur as f64 + step) as f32;
            }
            Tensor::f32(vec![n], v)
        }
        "int32" => {
            let mut v = Vec::with_capacity(n);
            let mut cur = to_int32(start);
            for _ in 0..n {
                v.push(cur);
                cur = to_int32(cur as f64 + step);
            }
            Tensor::i32(vec![n], v)
        }
        other => return Err(Error::dtype(OP, "float32 or int32", other)),
    }])
}

fn lin_space_k(_: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "LinSpace";
    let start = a.f64(OP, "start")?;
    let stop = a.f64(OP, "stop")?;
    let num = a.i64(OP, "num")?;
    if num <= 0 || num as f64 > MAX_LEN {
        return Err(Error::arg(OP, format!("num must be a positive number of values, got {num}")));
    }
    let num = num as usize;
    let step = (stop - start) / (num as f64 - 1.0);
    let mut v = Vec::with_capacity(num);
    let mut cur = start as f32;
    for _ in 0..num {
        v.push(cur);
        cur = (cur as f64 + step) as f32;
    }
    Ok(vec![Tensor::f32(vec![num], v)])
}

fn gather_grad(c: &GradCtx) -> G {
    // Scatter-add dy's rows back to the rows they were read from. Batches are folded into the
    // segment ids (b·dim + index) so that one UnsortedSegmentSum serves every batchDims.
    let (x, indices, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let p = gather_plan("GatherV2", x, indices, c.attrs)?;
    let idx = int_input("GatherV2", "indices", indices)?;
    let n = idx.len().checked_div(p.batch).unwrap_or(0);
    let (b, o, d, s) = (p.batch, p.outer, p.dim, p.slice);
    let dx = if x.size() == 0 || n == 0 {
        ops::zeros_like(&ops::cast(x, DType::Float32)?)?
    } else {
        let ids: Vec<i32> = idx.iter().enumerate().map(|(k, &j)| ((k / n) * d) as i32 + j).collect();
        let ids = Tensor::i32(vec![b * n], ids);
        let rows = if o == 1 {
            ops::reshape(dy, &[b * n, s])?
        } else {
            let t = ops::transpose(&ops::reshape(dy, &[b, o, n, s])?, &[0, 2, 1, 3])?;
            ops::reshape(&t, &[b * n, o * s])?
        };
        let summed = ops::unsorted_segment_sum(&rows, &ids, b * d)?;
        let back = if o == 1 { summed } else { ops::transpose(&ops::reshape(&summed, &[b, d, o, s])?, &[0, 2, 1, 3])? };
        ops::reshape(&back, x.shape())?
    };
    // tfjs hands the indices themselves back as their "gradient"; kept for parity.
    Ok(vec![Some(dx), Some(indices.clone())])
}
fn unsorted_segment_sum_grad(c: &GradCtx) -> G {
    // Each x row receives the gradient of its segment; rows whose id fell outside
    // [0, numSegments) contributed nothing and get zero.
    let (x, ids, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let n = c.attrs.i64("UnsortedSegmentSum", "numSegments")?.max(0) as i32;
    let idv = int_input("UnsortedSegmentSum", "segmentIds", ids)?;
    if n == 0 || x.size() == 0 {
        return Ok(vec![Some(ops::zeros_like(&ops::cast(x, DType::Float32)?)?), None]);
    }
    let clipped = Tensor::i32(ids.shape().to_vec(), idv.iter().map(|&i| i.clamp(0, n - 1)).collect());
    let mut mask_shape = ids.shape().to_vec();
    mask_shape.resize(x.rank(), 1);
    let mask = Tensor::bool(mask_shape, idv.iter().map(|&i| (i >= 0 && i < n) as u8).collect());
    let gathered = ops::gather(dy, &clipped, 0, 0)?;
    Ok(vec![Some(ops::where_(&mask, &gathered, &ops::zeros_like(&gathered)?)?), None])
}

pub fn register(r: &mut Registry) {
    const X: &[&str] = &["x"];
    r.builtin("GatherV2", &["x", "indices"], gather_k, Some(gather_grad));
    r.builtin("UnsortedSegmentSum", &["x", "segmentIds"], unsorted_segment_sum_k, Some(unsorted_segment_sum_grad));
    r.builtin("TopK", X, top_k_k, None);
    r.builtin("OneHot", &["indices"], one_hot_k, Some(zeros_grad));
    r.builtin("Range", &[], range_k, None);
    r.builtin("LinSpace", &[], lin_space_k, None);
}
