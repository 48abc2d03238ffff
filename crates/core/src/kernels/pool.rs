//! `MaxPool` and `AvgPool` over NHWC images, and their gradient kernels `MaxPoolGrad` and
//! `AvgPoolGrad`. Windows follow tfjs's pooling geometry (`computePool2DInfo`); padded
//! positions never take part: a max ignores them and an average divides by the number of
//! positions inside the image. Max ties go to the first position in the window, as tfjs's
//! `maxPoolPositions`.
//!
//! `AvgPoolGrad` divides by that same count, so it is the exact gradient of `AvgPool` (tfjs's
//! cpu kernel divides by the full window size, which differs at padded borders).

use super::conv_info::{conv_info, pair, ConvAttrs, ConvInfo};
use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Buffer, Tensor};
use rayon::prelude::*;

type G = Result<Vec<Option<Tensor>>>;

const PAR_WORK: usize = 1 << 17;

fn info(op: &str, x: &Tensor, attrs: &Attrs) -> Result<ConvInfo> {
    if x.rank() != 4 {
        return Err(Error::shape(op, "an input of rank 4", format!("rank {} ({})", x.rank(), fmt_shape(x.shape()))));
    }
    if attrs.get("filterSize").is_none() {
        return Err(Error::arg(op, "attribute 'filterSize' is required"));
    }
    let (fh, fw) = pair(op, attrs, "filterSize", 1)?;
    let mut a = ConvAttrs::parse(op, attrs, false)?;
    a.dilations = (1, 1);
    let c = x.shape()[3];
    conv_info(op, x.shape(), &[fh, fw, c, c], &a, false)
}

/// Calls `f(pixel)` (the input pixel's index within its image) for the window of `(oh, ow)`.
#[inline(always)]
fn window(g: &ConvInfo, oh: usize, ow: usize, mut f: impl FnMut(usize)) {
    let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
    let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
    let (h0, h1) = (ih0.max(0) as usize, (ih0 + g.filter_h as isize).clamp(0, g.in_h as isize) as usize);
    let (w0, w1) = (iw0.max(0) as usize, (iw0 + g.filter_w as isize).clamp(0, g.in_w as isize) as usize);
    for ih in h0..h1 {
        for iw in w0..w1 {
            f(ih * g.in_w + iw);
        }
    }
}

fn window_count(g: &ConvInfo, oh: usize, ow: usize) -> usize {
    let mut n = 0;
    window(g, oh, ow, |_| n += 1);
    n
}

/// Runs `line(l, out_line)` over the output lines (one output row of one image).
fn by_lines<T: Send>(g: &ConvInfo, out: &mut [T], line: impl Fn((usize, &mut [T])) + Sync + Send) {
    let len = g.out_w * g.in_c;
    if out.is_empty() || len == 0 {
        return;
    }
    if g.work() >= PAR_WORK {
        out.par_chunks_mut(len).enumerate().for_each(line);
    } else {
        out.chunks_mut(len).enumerate().for_each(line);
    }
}

/// Runs `image(n, dx_image)` over the images of an input-shaped gradient.
fn by_images(g: &ConvInfo, dx: &mut [f32], image: impl Fn((usize, &mut [f32])) + Sync + Send) {
    let len = g.in_h * g.in_w * g.in_c;
    if dx.is_empty() || len == 0 {
        return;
    }
    if g.work() >= PAR_WORK && g.batch > 1 {
        dx.par_chunks_mut(len).enumerate().for_each(image);
    } else {
        dx.chunks_mut(len).enumerate().for_each(image);
    }
}

fn max_pool<T: Copy + PartialOrd + Send + Sync>(x: &[T], g: &ConvInfo, lowest: T) -> Vec<T> {
    let c = g.in_c;
    let img = g.in_h * g.in_w * c;
    let mut out = vec![lowest; g.batch * g.out_h * g.out_w * c];
    by_lines(g, &mut out, |(l, o)| {
        let (n, oh) = (l / g.out_h, l % g.out_h);
        for (ow, op) in o.chunks_exact_mut(c).enumerate() {
            window(g, oh, ow, |p| {
                for (m, &v) in op.iter_mut().zip(&x[n * img + p * c..][..c]) {
                    if v > *m {
                        *m = v;
                    }
                }
            });
        }
    });
    out
}

fn max_pool_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let [x] = i else { return Err(Error::arg("MaxPool", format!("expected 1 input (x), got {}", i.len()))) };
    let g = info("MaxPool", x, attrs)?;
    let out = match x.buffer() {
        Buffer::I32(v) => Tensor::i32(g.out_shape(), max_pool(v, &g, i32::MIN)),
        _ => Tensor::f32(g.out_shape(), max_pool(&x.as_f32(), &g, f32::NEG_INFINITY)),
    };
    Ok(vec![out])
}

fn avg_pool_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let [x] = i else { return Err(Error::arg("AvgPool", format!("expected 1 input (x), got {}", i.len()))) };
    let g = info("AvgPool", x, attrs)?;
    let (xv, c) = (x.as_f32(), g.in_c);
    let img = g.in_h * g.in_w * c;
    let mut out = vec![0.0f32; g.batch * g.out_h * g.out_w * c];
    by_lines(&g, &mut out, |(l, o)| {
        let (n, oh) = (l / g.out_h, l % g.out_h);
        for (ow, op) in o.chunks_exact_mut(c).enumerate() {
            window(&g, oh, ow, |p| {
                for (s, v) in op.iter_mut().zip(&xv[n * img + p * c..][..c]) {
                    *s += v;
                }
            });
            // An empty window gives 0/0, as tfjs.
            let inv = 1.0 / window_count(&g, oh, ow) as f32;
            op.iter_mut().for_each(|s| *s *= inv);
        }
    });
    Ok(vec![Tensor::f32(g.out_shape(), out)])
}

fn check_dy(op: &str, g: &ConvInfo, dy: &Tensor) -> Result<()> {
    if dy.shape() != g.out_shape() {
        return Err(Error::shape(op, format!("dy of shape {} (the pooling's output)", fmt_shape(&g.out_shape())), fmt_shape(dy.shape())));
    }
    Ok(())
}

fn max_pool_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "MaxPoolGrad";
    let [dy, x, _y] = i else { return Err(Error::arg(OP, format!("expected 3 inputs (dy, input, output), got {}", i.len()))) };
    let g = info(OP, x, attrs)?;
    check_dy(OP, &g, dy)?;
    let (xv, dyv, c) = (x.as_f32(), dy.as_f32(), g.in_c);
    let img = g.in_h * g.in_w * c;
    let mut dx = vec![0.0f32; x.size()];
    by_images(&g, &mut dx, |(n, dxi)| {
        let xi = &xv[n * img..(n + 1) * img];
        let mut best = vec![f32::NEG_INFINITY; c];
        let mut arg = vec![usize::MAX; c];
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                best.fill(f32::NEG_INFINITY);
                arg.fill(usize::MAX);
                window(&g, oh, ow, |p| {
                    for ((b, a), &v) in best.iter_mut().zip(arg.iter_mut()).zip(&xi[p * c..][..c]) {
                        if v > *b {
                            *b = v;
                            *a = p;
                        }
                    }
                });
                let dyp = &dyv[((n * g.out_h + oh) * g.out_w + ow) * c..][..c];
                for (ch, (&a, &d)) in arg.iter().zip(dyp).enumerate() {
                    if a != usize::MAX {
                        dxi[a * c + ch] += d;
                    }
                }
            }
        }
    });
    Ok(vec![Tensor::f32(x.shape().to_vec(), dx)])
}

fn avg_pool_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "AvgPoolGrad";
    let [dy, x] = i else { return Err(Error::arg(OP, format!("expected 2 inputs (dy, input), got {}", i.len()))) };
    let g = info(OP, x, attrs)?;
    check_dy(OP, &g, dy)?;
    let (dyv, c) = (dy.as_f32(), g.in_c);
    let mut dx = vec![0.0f32; x.size()];
    by_images(&g, &mut dx, |(n, dxi)| {
        let mut share = vec![0.0f32; c];
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                let inv = 1.0 / window_count(&g, oh, ow) as f32;
                let dyp = &dyv[((n * g.out_h + oh) * g.out_w + ow) * c..][..c];
                share.iter_mut().zip(dyp).for_each(|(s, d)| *s = d * inv);
                window(&g, oh, ow, |p| {
                    for (d, s) in dxi[p * c..][..c].iter_mut().zip(&share) {
                        *d += s;
                    }
                });
            }
        }
    });
    Ok(vec![Tensor::f32(x.shape().to_vec(), dx)])
}

fn max_pool_grad(c: &GradCtx) -> G {
    let dx = run1("MaxPoolGrad", &[c.dys[0].clone(), c.inputs[0].clone(), c.outputs[0].clone()], c.attrs)?;
    Ok(vec![Some(dx)])
}

fn avg_pool_grad(c: &GradCtx) -> G {
    Ok(vec![Some(run1("AvgPoolGrad", &[c.dys[0].clone(), c.inputs[0].clone()], c.attrs)?)])
}

fn avg_pool_grad_grad(c: &GradCtx) -> G {
    // AvgPoolGrad is linear in dy and the adjoint of AvgPool; the input only lends its shape.
    Ok(vec![Some(run1("AvgPool", std::slice::from_ref(&c.dys[0]), c.attrs)?), None])
}

pub fn register(r: &mut Registry) {
    r.builtin("MaxPool", &["x"], max_pool_k, Some(max_pool_grad));
    r.builtin("AvgPool", &["x"], avg_pool_k, Some(avg_pool_grad));
    r.builtin("MaxPoolGrad", &["dy", "input", "output"], max_pool_grad_k, None);
    r.builtin("AvgPoolGrad", &["dy", "input"], avg_pool_grad_k, Some(avg_pool_grad_grad));
}
