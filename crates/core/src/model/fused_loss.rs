//! `_SoftmaxCrossentropy`: tfjs-layers' categorical (or sparse categorical) crossentropy of
//! `softmax(logits)` in one kernel, forward and backward. The training loop uses it when a
//! model output is a softmax and the loss is one of those two: it replaces a chain of about
//! ten small kernels per step (twenty more in the backward pass) by one pass over the rows.
//!
//! It computes exactly what the composed ops compute — softmax, the sparse variant's extra
//! clip, division by the row sum, clipping to [ε, 1 − ε], log — and its gradient is the chain
//! rule through those same steps, clip masks included (a clipped probability passes no
//! gradient), so it agrees with the composed loss to float32 rounding. The gradient is computed
//! natively, so it is not itself differentiable (no gradients of gradients through it).
//!
//! Inputs `labels` (dense: the logits' shape; sparse: one class index per row, any dtype) and
//! `logits` (`[..., classes]`); attribute `sparse`; output: the per-row losses `[...]`.

use super::losses::{class_index, EPSILON};
use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::kernels::unary::exp_fast;
use crate::kernels::{PAR_CHUNK, PAR_MIN};
use crate::registry::{self, GradCtx, Gradient, Kernel, Registry};
use crate::tensor::{fmt_shape, Tensor};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::Once;

pub const KERNEL: &str = "_SoftmaxCrossentropy";
const INPUTS: &[&str] = &["labels", "logits"];

const LO: f32 = EPSILON as f32;
const HI: f32 = (1.0 - EPSILON) as f32;

fn clip(x: f32) -> f32 {
    if x.is_nan() { x } else { x.clamp(LO, HI) }
}
fn inside(x: f32) -> bool {
    (LO..=HI).contains(&x)
}

/// One row's target: a dense row of label weights, or a class index (none: out of range).
#[derive(Clone, Copy)]
enum Target<'a> {
    Dense(&'a [f32]),
    Index(Option<usize>),
}

impl Target<'_> {
    fn get(&self, i: usize) -> f32 {
        match self {
            Target::Dense(y) => y[i],
            Target::Index(c) => (*c == Some(i)) as u8 as f32,
        }
    }
}

/// Row-wise softmax of a block of rows, as the Softmax kernel computes it (each row's maximum
/// subtracted first), with the Exp kernel's vectorisable exp (within 2e-7 of libm's) run as one
/// flat loop over the block.
fn softmax_block(z: &[f32], p: &mut [f32], classes: usize) {
    for (zr, pr) in z.chunks(classes).zip(p.chunks_mut(classes)) {
        let max = zr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (o, &x) in pr.iter_mut().zip(zr) {
            *o = x - max;
        }
    }
    for v in p.iter_mut() {
        *v = exp_fast(*v);
    }
    for pr in p.chunks_mut(classes) {
        let sum: f32 = pr.iter().sum();
        pr.iter_mut().for_each(|o| *o /= sum);
    }
}

/// The composed loss's prediction before its normalisation: `p`, or `clip(p)` when sparse.
fn pre_norm(p: &[f32], sparse: bool, i: usize) -> f32 {
    if sparse { clip(p[i]) } else { p[i] }
}

/// `−Σ y·log(clip(p'/Σp'))` of one row of softmax output `p`.
fn row_loss(p: &[f32], y: Target, sparse: bool) -> f32 {
    let total: f32 = (0..p.len()).fold(0.0, |acc, i| acc + pre_norm(p, sparse, i));
    let mut acc = 0.0f32;
    for i in 0..p.len() {
        let (yi, q) = (y.get(i), clip(pre_norm(p, sparse, i) / total));
        // A zero label adds 0·log(q) = 0 (q is in [ε, 1 − ε]) unless q is NaN.
        if yi != 0.0 || q.is_nan() {
            acc += yi * q.ln();
        }
    }
    -acc
}

/// `d loss / d z` of one row of softmax output `p`, scaled by the upstream gradient `d`.
fn row_grad(p: &[f32], y: Target, sparse: bool, d: f32, dz: &mut [f32]) {
    let total: f32 = (0..p.len()).fold(0.0, |acc, i| acc + pre_norm(p, sparse, i));
    // g = dL/dq (q = p'/S): −d·y/clip(q) where q was not clipped. dz holds g for now.
    let mut gp = 0.0f32;
    for (i, g) in dz.iter_mut().enumerate() {
        let pi = pre_norm(p, sparse, i);
        let q = pi / total;
        let t = -d * y.get(i);
        // ±0 and NaN stay what dividing them by clip(q) > 0 gives.
        *g = if !inside(q) { 0.0 } else if t == 0.0 || t.is_nan() { t } else { t / clip(q) };
        gp += *g * pi;
    }
    // h = dL/dp' = g/S − Σ g·p'/S², then through the sparse clip, then the softmax.
    let db = -(gp / (total * total));
    let mut hp = 0.0f32;
    for (h, &pi) in dz.iter_mut().zip(p) {
        *h = if sparse && !inside(pi) { 0.0 } else { *h / total + db };
        hp += *h * pi;
    }
    for (h, &pi) in dz.iter_mut().zip(p) {
        *h = pi * *h - pi * hp;
    }
}

struct Parts<'a> {
    z: std::borrow::Cow<'a, [f32]>,
    dense: Option<std::borrow::Cow<'a, [f32]>>,
    index: Option<Vec<Option<usize>>>,
    classes: usize,
    rows: usize,
}

impl Parts<'_> {
    fn target(&self, r: usize) -> Target<'_> {
        match (&self.dense, &self.index) {
            (Some(y), _) => Target::Dense(&y[r * self.classes..(r + 1) * self.classes]),
            (None, Some(ix)) => Target::Index(ix[r]),
            (None, None) => Target::Index(None),
        }
    }
}

fn parts<'a>(inputs: &'a [Tensor], attrs: &Attrs) -> Result<(Parts<'a>, bool, Vec<usize>)> {
    let [labels, logits] = inputs else {
        return Err(Error::arg(KERNEL, format!("expected 2 inputs (labels, logits), got {}", inputs.len())));
    };
    let sparse = attrs.bool_or(KERNEL, "sparse", false)?;
    let Some((&classes, lead)) = logits.shape().split_last() else {
        return Err(Error::shape(KERNEL, "logits of rank >= 1", "a scalar"));
    };
    let rows = lead.iter().product::<usize>();
    let (dense, index) = if sparse {
        if labels.size() != rows {
            return Err(Error::shape(KERNEL, format!("{rows} class indices (one per row of logits {})", fmt_shape(logits.shape())), fmt_shape(labels.shape())));
        }
        (None, Some(labels.as_f32().iter().map(|&v| class_index(v, classes)).collect()))
    } else {
        if labels.shape() != logits.shape() {
            return Err(Error::shape(KERNEL, format!("labels of the logits' shape {}", fmt_shape(logits.shape())), fmt_shape(labels.shape())));
        }
        (Some(labels.as_f32()), None)
    };
    Ok((Parts { z: logits.as_f32(), dense, index, classes, rows }, sparse, lead.to_vec()))
}

/// Runs `f(rows, out)` over blocks of rows (`out` holding `out.len() / rows` values per row),
/// in parallel when there is enough work.
fn for_blocks(rows: usize, classes: usize, out: &mut [f32], f: impl Fn(Range<usize>, &mut [f32]) + Sync) {
    if rows == 0 {
        return;
    }
    let per_row = out.len() / rows;
    let rows_per_task = (PAR_CHUNK / classes.max(1)).max(1);
    if rows * classes < PAR_MIN || rows <= rows_per_task {
        return f(0..rows, out);
    }
    out.par_chunks_mut(rows_per_task * per_row).enumerate().for_each(|(b, block)| {
        let first = b * rows_per_task;
        f(first..first + block.len() / per_row, block)
    });
}

impl Parts<'_> {
    /// The softmax of logits rows `rows`.
    fn softmax(&self, rows: &Range<usize>) -> Vec<f32> {
        let c = self.classes;
        let z = &self.z[rows.start * c..rows.end * c];
        let mut p = vec![0.0f32; z.len()];
        softmax_block(z, &mut p, c);
        p
    }
}

fn kernel(inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let (p, sparse, out_shape) = parts(inputs, attrs)?;
    let c = p.classes;
    let mut out = vec![0.0f32; p.rows];
    if c > 0 {
        for_blocks(p.rows, c, &mut out, |rows, o| {
            let sm = p.softmax(&rows);
            for ((o, r), pr) in o.iter_mut().zip(rows).zip(sm.chunks(c)) {
                *o = row_loss(pr, p.target(r), sparse);
            }
        });
    }
    Ok(vec![Tensor::f32(out_shape, out)])
}

fn grad(ctx: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let (p, sparse, _) = parts(ctx.inputs, ctx.attrs)?;
    let c = p.classes;
    let dy = ctx.dys[0].as_f32();
    let mut dz = vec![0.0f32; p.rows * c];
    if c > 0 {
        for_blocks(p.rows, c, &mut dz, |rows, o| {
            let sm = p.softmax(&rows);
            for ((dzr, r), pr) in o.chunks_mut(c).zip(rows).zip(sm.chunks(c)) {
                row_grad(pr, p.target(r), sparse, dy[r], dzr);
            }
        });
    }
    Ok(vec![None, Some(Tensor::f32(ctx.inputs[1].shape().to_vec(), dz))])
}

/// Adds the kernel and its gradient to a registry being built.
pub fn register(r: &mut Registry) {
    r.builtin(KERNEL, INPUTS, kernel, Some(grad));
}

/// Registers the kernel (and its gradient) on first use unless something already is.
fn ensure_registered() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if registry::get_kernel(KERNEL, registry::BACKEND).is_none() {
            registry::register_kernel(KERNEL, registry::BACKEND, Kernel::Native(kernel));
        }
        if registry::get_gradient(KERNEL).is_none() {
            registry::register_gradient(KERNEL, Gradient::Native(grad));
        }
    });
}

/// `categoricalCrossentropy(labels, softmax(logits))` (or the sparse variant) per row, as one
/// recorded kernel.
pub fn softmax_crossentropy(labels: &Tensor, logits: &Tensor, sparse: bool) -> Result<Tensor> {
    ensure_registered();
    run1(KERNEL, &[labels.clone(), logits.clone()], &Attrs::new().with("sparse", sparse))
}

/// Whether fusing a recorded Softmax with the loss computes what the recorded ops would: the
/// native Softmax kernel and gradient are the registered ones, and so are this kernel's.
pub fn available() -> bool {
    ensure_registered();
    let native = |name: &str| registry::is_native_kernel(name) && matches!(registry::get_gradient(name), Some(Gradient::Native(_)));
    native("Softmax") && native(KERNEL)
}
