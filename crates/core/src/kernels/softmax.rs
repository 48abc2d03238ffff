//! `Softmax` (attribute `dim`) and `LogSoftmax` (attribute `axis`) along any axis, computed
//! stably: each run's maximum is subtracted before exponentiating. tfjs only supports the last
//! axis; other axes work here too.

use crate::attrs::{norm_axis, Attrs};
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::Tensor;
use rayon::prelude::*;

type G = Result<Vec<Option<Tensor>>>;

fn axis(op: &str, attrs: &Attrs, key: &str, rank: usize) -> Result<usize> {
    let a = match attrs.i64s(op, key)?.as_deref() {
        None => -1,
        Some(&[a]) => a,
        Some(other) => return Err(Error::arg(op, format!("attribute '{key}' must be a single axis, got {other:?}"))),
    };
    if rank == 0 {
        return Err(Error::shape(op, "logits of rank >= 1", "a scalar"));
    }
    norm_axis(op, a, rank)
}

/// Softmax (or log-softmax) of each contiguous run of `row.len()` values.
fn contiguous(row: &[f32], out: &mut [f32], log: bool) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for (o, &x) in out.iter_mut().zip(row) {
        *o = (x - max).exp();
        sum += *o;
    }
    if log {
        let shift = max + sum.ln();
        out.iter_mut().zip(row).for_each(|(o, &x)| *o = x - shift);
    } else {
        out.iter_mut().for_each(|o| *o /= sum);
    }
}

/// The same over the `n` rows of an `[n, inner]` block, lane by lane.
fn strided(block: &[f32], out: &mut [f32], inner: usize, log: bool) {
    let mut max = vec![f32::NEG_INFINITY; inner];
    for row in block.chunks_exact(inner) {
        max.iter_mut().zip(row).for_each(|(m, &x)| *m = m.max(x));
    }
    let mut sum = vec![0.0f32; inner];
    for (orow, row) in out.chunks_exact_mut(inner).zip(block.chunks_exact(inner)) {
        for (((o, &x), m), s) in orow.iter_mut().zip(row).zip(&max).zip(sum.iter_mut()) {
            *o = (x - m).exp();
            *s += *o;
        }
    }
    if log {
        let shift: Vec<f32> = max.iter().zip(&sum).map(|(m, s)| m + s.ln()).collect();
        for (orow, row) in out.chunks_exact_mut(inner).zip(block.chunks_exact(inner)) {
            orow.iter_mut().zip(row).zip(&shift).for_each(|((o, &x), s)| *o = x - s);
        }
    } else {
        for orow in out.chunks_exact_mut(inner) {
            orow.iter_mut().zip(&sum).for_each(|(o, s)| *o /= s);
        }
    }
}

fn run(op: &str, key: &str, i: &[Tensor], attrs: &Attrs, log: bool) -> Result<Vec<Tensor>> {
    let [x] = i else { return Err(Error::arg(op, format!("expected 1 input (logits), got {}", i.len()))) };
    let ax = axis(op, attrs, key, x.rank())?;
    let (n, inner) = (x.shape()[ax], x.shape()[ax + 1..].iter().product::<usize>());
    let xv = x.as_f32();
    let mut out = vec![0.0f32; x.size()];
    let block = n * inner;
    if block == 0 {
        return Ok(vec![Tensor::f32(x.shape().to_vec(), out)]);
    }
    let one = |(o, b): (&mut [f32], &[f32])| if inner == 1 { contiguous(b, o, log) } else { strided(b, o, inner, log) };
    if out.len() >= super::PAR_MIN {
        // Whole blocks per task, several when they are small.
        let per = (super::PAR_CHUNK / block).max(1) * block;
        out.par_chunks_mut(per).zip(xv.par_chunks(per)).for_each(|(o, b)| o.chunks_mut(block).zip(b.chunks(block)).for_each(one));
    } else {
        out.chunks_mut(block).zip(xv.chunks(block)).for_each(one);
    }
    Ok(vec![Tensor::f32(x.shape().to_vec(), out)])
}

fn softmax_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    run("Softmax", "dim", i, attrs, false)
}

fn log_softmax_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    run("LogSoftmax", "axis", i, attrs, true)
}

fn softmax_grad(c: &GradCtx) -> G {
    // dx = y·dy − y·Σ(y·dy)
    let (y, dy) = (&c.outputs[0], &c.dys[0]);
    let ax = axis("Softmax", c.attrs, "dim", y.rank())?;
    let ydy = ops::mul(dy, y)?;
    let s = ops::sum(&ydy, &[ax], true)?;
    Ok(vec![Some(ops::sub(&ydy, &ops::mul(&s, y)?)?)])
}

fn log_softmax_grad(c: &GradCtx) -> G {
    // dx = dy − exp(y)·Σdy
    let (y, dy) = (&c.outputs[0], &c.dys[0]);
    let ax = axis("LogSoftmax", c.attrs, "axis", y.rank())?;
    let s = ops::sum(dy, &[ax], true)?;
    Ok(vec![Some(ops::sub(dy, &ops::mul(&s, &ops::exp(y)?)?)?)])
}

pub fn register(r: &mut Registry) {
    r.builtin("Softmax", &["logits"], softmax_k, Some(softmax_grad));
    r.builtin("LogSoftmax", &["logits"], log_softmax_k, Some(log_softmax_grad));
}
