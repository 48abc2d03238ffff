//! Normalisation: `FusedBatchNorm` (inference-style batch norm with given moments, gradient for
//! every input) and local response normalisation `LRN` with its gradient kernel `LRNGrad`.

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Tensor};
use rayon::prelude::*;

type G = Result<Vec<Option<Tensor>>>;

const BN: &str = "FusedBatchNorm";

/// A batch-norm parameter laid out so that element `i` of `x` uses `values[i % values.len()]`.
/// That is how tfjs's cpu kernel indexes, and it equals broadcasting when the parameter's shape
/// (without leading 1s) ends `x`'s shape; other broadcastable shapes are expanded in full.
fn cyclic(name: &str, p: &Tensor, x: &Tensor) -> Result<Vec<f32>> {
    let bad = || Error::shape(BN, format!("a {name} that broadcasts to x's shape {}", fmt_shape(x.shape())), fmt_shape(p.shape()));
    if p.rank() > x.rank() {
        return Err(bad());
    }
    let lead = p.shape().iter().take_while(|&&d| d == 1).count();
    let core = &p.shape()[lead..];
    if x.shape().ends_with(core) {
        return Ok(p.to_f32_vec());
    }
    let shape = super::binary::broadcast_shape(BN, x.shape(), p.shape()).map_err(|_| bad())?;
    if shape != x.shape() {
        return Err(bad());
    }
    let zeros = vec![0.0f32; x.size()];
    Ok(super::binary::broadcast_zip(&zeros, x.shape(), &p.as_f32(), p.shape(), x.shape(), |_, v| v))
}

fn batch_norm_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    if !(3..=5).contains(&i.len()) {
        return Err(Error::arg(BN, format!("expected 3 to 5 inputs (x, mean, variance, offset?, scale?), got {}", i.len())));
    }
    let eps = attrs.f64_or(BN, "varianceEpsilon", 0.001)? as f32;
    let x = &i[0];
    for (name, p) in ["variance", "offset", "scale"].iter().zip(&i[2..]) {
        if p.rank() != i[1].rank() {
            return Err(Error::shape(BN, format!("a {name} of the mean's rank {}", i[1].rank()), format!("rank {} ({})", p.rank(), fmt_shape(p.shape()))));
        }
    }
    let mean = cyclic("mean", &i[1], x)?;
    let var = cyclic("variance", &i[2], x)?;
    let offset = i.get(3).map(|t| cyclic("offset", t, x)).transpose()?.unwrap_or_else(|| vec![0.0]);
    let scale = i.get(4).map(|t| cyclic("scale", t, x)).transpose()?.unwrap_or_else(|| vec![1.0]);
    let mut out = vec![0.0f32; x.size()];
    if out.is_empty() {
        return Ok(vec![Tensor::f32(x.shape().to_vec(), out)]);
    }
    // Every period divides the longest (each is a product of x's trailing dims, or x's size),
    // so the parameters can be unrolled to one common period and applied row by row.
    let period = [mean.len(), var.len(), offset.len(), scale.len()].into_iter().max().unwrap_or(1);
    let unroll = |v: &[f32]| -> Vec<f32> { (0..period).map(|j| v[j % v.len()]).collect() };
    let (mean, off) = (unroll(&mean), unroll(&offset));
    let (var, scale) = (unroll(&var), unroll(&scale));
    let mul: Vec<f32> = scale.iter().zip(&var).map(|(s, v)| s / (v + eps).sqrt()).collect();
    let xv = x.as_f32();
    let row = |(o, xs): (&mut [f32], &[f32])| {
        for ((((o, x), m), k), b) in o.iter_mut().zip(xs).zip(&mean).zip(&mul).zip(&off) {
            *o = b + (x - m) * k;
        }
    };
    if out.len() >= super::PAR_MIN {
        let rows = (super::PAR_CHUNK / period).max(1) * period;
        out.par_chunks_mut(rows).zip(xv.par_chunks(rows)).for_each(|(o, xs)| o.chunks_mut(period).zip(xs.chunks(period)).for_each(row));
    } else {
        out.chunks_mut(period).zip(xv.chunks(period)).for_each(row);
    }
    Ok(vec![Tensor::f32(x.shape().to_vec(), out)])
}

/// `sum_to(full · factor, target)`, multiplying after the reduction when `factor` already has
/// the target's shape (it is then constant along the reduced axes).
fn reduce_scaled(full: &Tensor, factor: &Tensor, target: &[usize]) -> Result<Tensor> {
    if factor.shape() == target {
        ops::mul(&ops::sum_to(full, target)?, factor)
    } else {
        ops::sum_to(&ops::mul(full, factor)?, target)
    }
}

fn batch_norm_grad(c: &GradCtx) -> G {
    // y = offset + (x - mean)·scale·r with r = (variance + ε)^(-1/2):
    //   dx = dy·scale·r          dmean = -Σ dy·scale·r        doffset = Σ dy
    //   dscale = Σ dy·(x-mean)·r  dvariance = Σ dy·(x-mean)·scale·(-½)r³
    let eps = c.attrs.f64_or(BN, "varianceEpsilon", 0.001)? as f32;
    let (x, mean, var, dy) = (&c.inputs[0], &c.inputs[1], &c.inputs[2], &c.dys[0]);
    let (offset, scale) = (c.inputs.get(3), c.inputs.get(4));
    let r = ops::unary("Rsqrt", &ops::add(var, &Tensor::scalar(eps))?)?;
    let k = match scale {
        Some(s) => ops::mul(s, &r)?,
        None => r.clone(),
    };
    let dyk = ops::mul(dy, &k)?;
    let dx = ops::sum_to(&dyk, x.shape())?;
    let dmean = ops::neg(&ops::sum_to(&dyk, mean.shape())?)?;
    let dyxm = ops::mul(dy, &ops::sub(x, mean)?)?;
    let vfac = ops::mul(&ops::mul(&k, &ops::square(&r)?)?, &Tensor::scalar(-0.5))?;
    let dvar = reduce_scaled(&dyxm, &vfac, var.shape())?;
    let mut g = vec![Some(dx), Some(dmean), Some(dvar)];
    if let Some(o) = offset {
        g.push(Some(ops::sum_to(dy, o.shape())?));
    }
    if let Some(s) = scale {
        g.push(Some(reduce_scaled(&dyxm, &r, s.shape())?));
    }
    Ok(g)
}

struct Lrn {
    radius: usize,
    bias: f64,
    alpha: f64,
    beta: f64,
}

impl Lrn {
    fn parse(op: &str, attrs: &Attrs) -> Result<Lrn> {
        let radius = attrs.i64_or(op, "depthRadius", 5)?;
        if radius < 0 {
            return Err(Error::arg(op, format!("attribute 'depthRadius' must be a non-negative integer, got {radius}")));
        }
        Ok(Lrn {
            radius: radius as usize,
            bias: attrs.f64_or(op, "bias", 1.0)?,
            alpha: attrs.f64_or(op, "alpha", 1.0)?,
            beta: attrs.f64_or(op, "beta", 0.5)?,
        })
    }
    /// The channel window of channel `c` among `n`: `[c - r, c + r]` clipped.
    fn window(&self, c: usize, n: usize) -> (usize, usize) {
        (c.saturating_sub(self.radius), (c + self.radius + 1).min(n))
    }
    /// `bias + alpha · Σ x²` over each channel's window, from prefix sums of squares.
    fn norms(&self, xs: &[f32], prefix: &mut Vec<f64>, norm: &mut Vec<f64>) {
        prefix.clear();
        prefix.push(0.0);
        let mut s = 0.0;
        for &v in xs {
            s += v as f64 * v as f64;
            prefix.push(s);
        }
        norm.clear();
        norm.extend((0..xs.len()).map(|c| {
            let (lo, hi) = self.window(c, xs.len());
            self.bias + self.alpha * (prefix[hi] - prefix[lo])
        }));
    }
}

fn check4(op: &str, what: &str, t: &Tensor) -> Result<()> {
    if t.rank() != 4 {
        return Err(Error::shape(op, format!("{what} of rank 4"), format!("rank {} ({})", t.rank(), fmt_shape(t.shape()))));
    }
    Ok(())
}

#[derive(Default)]
struct Scratch {
    prefix: Vec<f64>,
    norm: Vec<f64>,
    acc: Vec<f64>,
}

/// Runs `f(pixel, out_channels, scratch)` over the pixels (channel vectors of `c`) of `out`.
fn per_pixel(c: usize, out: &mut [f32], f: impl Fn(usize, &mut [f32], &mut Scratch) + Sync) {
    if c == 0 || out.is_empty() {
        return;
    }
    if out.len() >= super::PAR_MIN {
        out.par_chunks_mut(c).enumerate().for_each_init(Scratch::default, |s, (p, o)| f(p, o, s));
    } else {
        let mut s = Scratch::default();
        out.chunks_mut(c).enumerate().for_each(|(p, o)| f(p, o, &mut s));
    }
}

fn lrn_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let [x] = i else { return Err(Error::arg("LRN", format!("expected 1 input (x), got {}", i.len()))) };
    check4("LRN", "an input", x)?;
    let p = Lrn::parse("LRN", attrs)?;
    let (xv, c) = (x.as_f32(), x.shape()[3]);
    let mut out = vec![0.0f32; x.size()];
    per_pixel(c, &mut out, |px, o, s| {
        let xs = &xv[px * c..(px + 1) * c];
        p.norms(xs, &mut s.prefix, &mut s.norm);
        for ((o, &v), n) in o.iter_mut().zip(xs).zip(&s.norm) {
            *o = (v as f64 * n.powf(-p.beta)) as f32;
        }
    });
    Ok(vec![Tensor::f32(x.shape().to_vec(), out)])
}

fn lrn_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "LRNGrad";
    let [x, y, dy] = i else { return Err(Error::arg(OP, format!("expected 3 inputs (x, y, dy), got {}", i.len()))) };
    check4(OP, "x", x)?;
    for (name, t) in [("y", y), ("dy", dy)] {
        if t.shape() != x.shape() {
            return Err(Error::shape(OP, format!("{name} of x's shape {}", fmt_shape(x.shape())), fmt_shape(t.shape())));
        }
    }
    let p = Lrn::parse(OP, attrs)?;
    let (xv, yv, dyv, c) = (x.as_f32(), y.as_f32(), dy.as_f32(), x.shape()[3]);
    let mut out = vec![0.0f32; x.size()];
    // y_i = x_i·n_i^(-β) with n_i = bias + α·Σ_{k∈win(i)} x_k², and k ∈ win(i) ⇔ i ∈ win(k):
    //   dx_k = dy_k·n_k^(-β) − 2αβ·x_k·Σ_{i∈win(k)} dy_i·y_i/n_i
    per_pixel(c, &mut out, |px, o, s| {
        let r = px * c..(px + 1) * c;
        let (xs, ys, ds) = (&xv[r.clone()], &yv[r.clone()], &dyv[r]);
        p.norms(xs, &mut s.prefix, &mut s.norm);
        s.acc.clear();
        s.acc.push(0.0);
        let mut sum = 0.0f64;
        for ((&d, &y), n) in ds.iter().zip(ys).zip(&s.norm) {
            sum += d as f64 * y as f64 / n;
            s.acc.push(sum);
        }
        for (k, o) in o.iter_mut().enumerate() {
            let (lo, hi) = p.window(k, c);
            let g = ds[k] as f64 * s.norm[k].powf(-p.beta) - 2.0 * p.alpha * p.beta * xs[k] as f64 * (s.acc[hi] - s.acc[lo]);
            *o = g as f32;
        }
    });
    Ok(vec![Tensor::f32(x.shape().to_vec(), out)])
}

fn lrn_grad(c: &GradCtx) -> G {
    let dx = run1("LRNGrad", &[c.inputs[0].clone(), c.outputs[0].clone(), c.dys[0].clone()], c.attrs)?;
    Ok(vec![Some(dx)])
}

pub fn register(r: &mut Registry) {
    r.builtin(BN, &["x", "mean", "variance", "offset", "scale"], batch_norm_k, Some(batch_norm_grad));
    r.builtin("LRN", &["x"], lrn_k, Some(lrn_grad));
    r.builtin("LRNGrad", &["x", "y", "dy"], lrn_grad_k, None);
}
