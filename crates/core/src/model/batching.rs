//! Batches of the data tensors: rows taken along the first axis, either a contiguous range (one
//! block copy, or no copy at all when the range is the whole tensor) or the rows of a shuffled
//! index order (one slice copy per row); the epoch's sample order (tfjs `util.shuffle`); and
//! the row-wise concatenation of per-batch outputs.

use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::{fmt_shape, Buffer, Tensor};
use std::ops::Range;

fn row_len(t: &Tensor) -> usize {
    match t.shape().first() {
        Some(&n) if n > 0 => t.size() / n,
        _ => 0,
    }
}

fn with_rows(t: &Tensor, rows: usize) -> Vec<usize> {
    let mut shape = t.shape().to_vec();
    if let Some(first) = shape.first_mut() {
        *first = rows;
    }
    shape
}

fn gather<T: Copy>(v: &[T], row: usize, idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * row);
    for &i in idx {
        out.extend_from_slice(&v[i * row..(i + 1) * row]);
    }
    out
}

/// Rows `idx` of `t` (each index `< t.shape()[0]`).
pub fn gather_rows(t: &Tensor, idx: &[usize]) -> Tensor {
    let row = row_len(t);
    let shape = with_rows(t, idx.len());
    let buf = match t.buffer() {
        Buffer::F32(v) => Buffer::F32(gather(v, row, idx)),
        Buffer::I32(v) => Buffer::I32(gather(v, row, idx)),
        Buffer::Bool(v) => Buffer::Bool(gather(v, row, idx)),
    };
    Tensor::from_buffer(shape, buf)
}

/// Rows `range` of `t`: `t` itself when the range covers it.
pub fn slice_rows(t: &Tensor, range: Range<usize>) -> Tensor {
    if range.start == 0 && t.shape().first() == Some(&range.end) {
        return t.clone();
    }
    let row = row_len(t);
    let (a, b) = (range.start * row, range.end * row);
    let shape = with_rows(t, range.len());
    let buf = match t.buffer() {
        Buffer::F32(v) => Buffer::F32(v[a..b].to_vec()),
        Buffer::I32(v) => Buffer::I32(v[a..b].to_vec()),
        Buffer::Bool(v) => Buffer::Bool(v[a..b].to_vec()),
    };
    Tensor::from_buffer(shape, buf)
}

/// Which rows a batch holds.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    Range(usize, usize),
    Indices(&'a [usize]),
}

impl Rows<'_> {
    pub fn len(&self) -> usize {
        match self {
            Rows::Range(a, b) => b - a,
            Rows::Indices(i) => i.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn take(&self, t: &Tensor) -> Tensor {
        match *self {
            Rows::Range(a, b) => slice_rows(t, a..b),
            Rows::Indices(i) => gather_rows(t, i),
        }
    }
    /// The same rows of per-sample values.
    pub fn take_values(&self, v: &[f32]) -> Vec<f32> {
        match *self {
            Rows::Range(a, b) => v[a..b].to_vec(),
            Rows::Indices(i) => i.iter().map(|&k| v[k]).collect(),
        }
    }
}

/// The order samples are visited in, epoch after epoch, and the batches cut from it.
pub struct SampleOrder {
    order: Vec<usize>,
    cursor: usize,
    shuffle: bool,
    rng: Rng,
}

impl SampleOrder {
    /// Samples `0..n`; the first batch starts a new pass.
    pub fn new(n: usize, shuffle: bool, seed: Option<u64>) -> SampleOrder {
        SampleOrder { order: (0..n).collect(), cursor: n, shuffle, rng: Rng::new(seed) }
    }
    /// Starts a pass over all samples, reshuffling the order (tfjs `util.shuffle`: each index
    /// from the top down swaps with a uniformly drawn one at or below it).
    pub fn start_pass(&mut self) {
        if self.shuffle {
            let mut counter = self.order.len();
            while counter > 0 {
                let index = ((self.rng.next_f64() * counter as f64) as usize).min(counter - 1);
                counter -= 1;
                self.order.swap(counter, index);
            }
        }
        self.cursor = 0;
    }
    /// The next batch of at most `size` samples of this pass (none once it is done).
    pub fn next_batch(&mut self, size: usize) -> Option<Rows<'_>> {
        let n = self.order.len();
        if self.cursor >= n {
            return None;
        }
        let (a, b) = (self.cursor, (self.cursor + size).min(n));
        self.cursor = b;
        Some(if self.shuffle { Rows::Indices(&self.order[a..b]) } else { Rows::Range(a, b) })
    }
    /// The next batch, starting a new pass when this one is done (stepwise epochs).
    pub fn next_batch_wrapping(&mut self, size: usize) -> Option<Rows<'_>> {
        if self.cursor >= self.order.len() {
            self.start_pass();
        }
        self.next_batch(size)
    }
    /// Batches in one pass of `n` samples by `size` (tfjs `makeBatches`).
    pub fn batches_per_pass(n: usize, size: usize) -> usize {
        n.div_ceil(size.max(1))
    }
}

/// Per-batch outputs stacked along the first axis.
#[derive(Default)]
pub struct RowStack {
    parts: Vec<Tensor>,
}

fn concat<T: Copy>(parts: &[Tensor], total: usize, get: impl Fn(&Buffer) -> Option<&[T]>) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(total);
    for t in parts {
        out.extend_from_slice(get(t.buffer())?);
    }
    Some(out)
}

impl RowStack {
    pub fn push(&mut self, t: Tensor) {
        self.parts.push(t);
    }
    /// The stacked tensor (a single part is returned as it is); `None` when nothing was pushed.
    pub fn finish(mut self, op: &str) -> Result<Option<Tensor>> {
        if self.parts.len() <= 1 {
            return Ok(self.parts.pop());
        }
        let first = &self.parts[0];
        let rest_shape = first.shape().get(1..).unwrap_or(&[]).to_vec();
        if let Some(bad) = self.parts.iter().find(|t| t.dtype() != first.dtype() || t.rank() == 0 || t.shape()[1..] != rest_shape[..]) {
            return Err(Error::shape(op, format!("batch outputs of shape [*,{}] {}", rest_shape.iter().map(usize::to_string).collect::<Vec<_>>().join(","), first.dtype()), format!("{} {}", fmt_shape(bad.shape()), bad.dtype())));
        }
        let rows: usize = self.parts.iter().map(|t| t.shape()[0]).sum();
        let total: usize = self.parts.iter().map(Tensor::size).sum();
        let buf = match first.buffer() {
            Buffer::F32(_) => concat(&self.parts, total, |b| if let Buffer::F32(v) = b { Some(v.as_slice()) } else { None }).map(Buffer::F32),
            Buffer::I32(_) => concat(&self.parts, total, |b| if let Buffer::I32(v) = b { Some(v.as_slice()) } else { None }).map(Buffer::I32),
            Buffer::Bool(_) => concat(&self.parts, total, |b| if let Buffer::Bool(v) = b { Some(v.as_slice()) } else { None }).map(Buffer::Bool),
        };
        let buf = buf.ok_or_else(|| Error::dtype(op, "batch outputs of one dtype", "mixed dtypes"))?;
        let mut shape = vec![rows];
        shape.extend(rest_shape);
        Ok(Some(Tensor::from_buffer(shape, buf)))
    }
}
