//! Image resizing: `ResizeBilinear` and `ResizeNearestNeighbor` over NHWC images (a 3-D image
//! is taken as a batch of one), with their gradient kernels. The sampling positions follow
//! tfjs's cpu kernels (`alignCorners`, `halfPixelCenters`); the gradient kernels scatter `dy`
//! through exactly the positions and weights of the forward pass, so they are its exact
//! adjoints also with `halfPixelCenters` (which tfjs's cpu gradients ignore).

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Buffer, Tensor};
use rayon::prelude::*;

type G = Result<Vec<Option<Tensor>>>;

const PAR_MIN: usize = 1 << 15;

struct Mode {
    align: bool,
    half: bool,
}

fn mode(op: &str, attrs: &Attrs) -> Result<Mode> {
    let align = attrs.bool_or(op, "alignCorners", false)?;
    let half = attrs.bool_or(op, "halfPixelCenters", false)?;
    if align && half {
        return Err(Error::arg(op, "if halfPixelCenters is true, alignCorners must be false"));
    }
    Ok(Mode { align, half })
}

fn size_attr(op: &str, attrs: &Attrs) -> Result<(usize, usize)> {
    match attrs.i64s(op, "size")?.as_deref() {
        Some(&[h, w]) if h >= 0 && w >= 0 => Ok((h as usize, w as usize)),
        other => Err(Error::arg(op, format!("attribute 'size' must be [newHeight, newWidth] of non-negative integers, got {other:?}"))),
    }
}

/// `[batch, height, width, channels]` of a 3-D or 4-D image tensor.
fn dims(op: &str, what: &str, t: &Tensor) -> Result<[usize; 4]> {
    match *t.shape() {
        [h, w, c] => Ok([1, h, w, c]),
        [b, h, w, c] => Ok([b, h, w, c]),
        _ => Err(Error::shape(op, format!("{what} of rank 3 or 4"), format!("rank {} ({})", t.rank(), fmt_shape(t.shape())))),
    }
}

fn out_shape(t: &Tensor, d: [usize; 4], h: usize, w: usize) -> Vec<usize> {
    if t.rank() == 3 { vec![h, w, d[3]] } else { vec![d[0], h, w, d[3]] }
}

/// Input-per-output scale along one axis (tfjs's effective sizes).
fn ratio(m: &Mode, input: usize, output: usize) -> f64 {
    let (i, o) = if m.align && output > 1 { (input.saturating_sub(1), output - 1) } else { (input, output) };
    i as f64 / o as f64
}

/// Per output index: the two source indices and the weight of the second.
fn bilinear_axis(m: &Mode, input: usize, output: usize) -> Vec<(usize, usize, f32)> {
    let r = ratio(m, input, output);
    let last = input as f64 - 1.0;
    (0..output)
        .map(|o| {
            let src = if m.half { r * (o as f64 + 0.5) - 0.5 } else { r * o as f64 };
            let lo = src.floor().max(0.0);
            let hi = src.ceil().min(last);
            (lo as usize, hi.max(0.0) as usize, (src - lo) as f32)
        })
        .collect()
}

/// Per output index: the source index.
fn nearest_axis(m: &Mode, input: usize, output: usize) -> Vec<usize> {
    let r = ratio(m, input, output);
    (0..output)
        .map(|o| {
            let src = if m.half { r * (o as f64 + 0.5) } else { r * o as f64 };
            let i = if m.align { (src + 0.5).floor() } else { src.floor() };
            i.min(input as f64 - 1.0).max(0.0) as usize
        })
        .collect()
}

fn check_source(op: &str, d: [usize; 4], h: usize, w: usize) -> Result<()> {
    if (d[1] == 0 || d[2] == 0) && h * w * d[0] * d[3] > 0 {
        return Err(Error::shape(op, "images with at least one pixel to sample from", format!("{}x{} images", d[1], d[2])));
    }
    Ok(())
}

/// Runs `f(line, out_line)` over output lines (one output row of one image).
fn by_lines<T: Send>(out: &mut [T], len: usize, f: impl Fn((usize, &mut [T])) + Sync + Send) {
    if len == 0 || out.is_empty() {
        return;
    }
    if out.len() >= PAR_MIN {
        out.par_chunks_mut(len).enumerate().for_each(f);
    } else {
        out.chunks_mut(len).enumerate().for_each(f);
    }
}

fn bilinear_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "ResizeBilinear";
    let [x] = i else { return Err(Error::arg(OP, format!("expected 1 input (images), got {}", i.len()))) };
    let (m, (nh, nw)) = (mode(OP, attrs)?, size_attr(OP, attrs)?);
    let d @ [b, h, w, c] = dims(OP, "images", x)?;
    check_source(OP, d, nh, nw)?;
    let (rows, cols) = (bilinear_axis(&m, h, nh), bilinear_axis(&m, w, nw));
    let xv = x.as_f32();
    let mut out = vec![0.0f32; b * nh * nw * c];
    by_lines(&mut out, nw * c, |(l, o)| {
        let (n, r) = (l / nh, l % nh);
        let (top, bot, fr) = rows[r];
        let (top, bot) = (&xv[(n * h + top) * w * c..][..w * c], &xv[(n * h + bot) * w * c..][..w * c]);
        for (op, &(left, right, fc)) in o.chunks_exact_mut(c).zip(&cols) {
            let (tl, tr) = (&top[left * c..][..c], &top[right * c..][..c]);
            let (bl, br) = (&bot[left * c..][..c], &bot[right * c..][..c]);
            for k in 0..c {
                let t = tl[k] + (tr[k] - tl[k]) * fc;
                let u = bl[k] + (br[k] - bl[k]) * fc;
                op[k] = t + (u - t) * fr;
            }
        }
    });
    Ok(vec![Tensor::f32(out_shape(x, d, nh, nw), out)])
}

fn gather_nearest<T: Copy + Default + Send + Sync>(x: &[T], d: [usize; 4], rows: &[usize], cols: &[usize]) -> Vec<T> {
    let [b, h, w, c] = d;
    let (nh, nw) = (rows.len(), cols.len());
    let mut out = vec![T::default(); b * nh * nw * c];
    by_lines(&mut out, nw * c, |(l, o)| {
        let (n, r) = (l / nh, l % nh);
        let src = &x[(n * h + rows[r]) * w * c..][..w * c];
        for (op, &col) in o.chunks_exact_mut(c).zip(cols) {
            op.copy_from_slice(&src[col * c..][..c]);
        }
    });
    out
}

fn nearest_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "ResizeNearestNeighbor";
    let [x] = i else { return Err(Error::arg(OP, format!("expected 1 input (images), got {}", i.len()))) };
    let (m, (nh, nw)) = (mode(OP, attrs)?, size_attr(OP, attrs)?);
    let d @ [_, h, w, _] = dims(OP, "images", x)?;
    check_source(OP, d, nh, nw)?;
    let (rows, cols) = (nearest_axis(&m, h, nh), nearest_axis(&m, w, nw));
    let buf = match x.buffer() {
        Buffer::F32(v) => Buffer::F32(gather_nearest(v, d, &rows, &cols)),
        Buffer::I32(v) => Buffer::I32(gather_nearest(v, d, &rows, &cols)),
        Buffer::Bool(v) => Buffer::Bool(gather_nearest(v, d, &rows, &cols)),
    };
    Ok(vec![Tensor::from_buffer(out_shape(x, d, nh, nw), buf)])
}

/// Shapes of a resize gradient's (images, dy): image dims, dy's spatial size.
fn grad_dims(op: &str, i: &[Tensor]) -> Result<([usize; 4], usize, usize)> {
    let [x, dy] = i else { return Err(Error::arg(op, format!("expected 2 inputs (images, dy), got {}", i.len()))) };
    let d = dims(op, "images", x)?;
    let e = dims(op, "dy", dy)?;
    if dy.rank() != x.rank() || e[0] != d[0] || e[3] != d[3] {
        return Err(Error::shape(op, format!("dy with the images' rank, batch and channels ({})", fmt_shape(x.shape())), fmt_shape(dy.shape())));
    }
    check_source(op, d, e[1], e[2])?;
    Ok((d, e[1], e[2]))
}

/// Scatters each image's `dy` lines into its `dx` with `put(dx_image, dy_pixel, row, col)`.
fn scatter(d: [usize; 4], dy: &[f32], nh: usize, nw: usize, put: impl Fn(&mut [f32], &[f32], usize, usize) + Sync) -> Vec<f32> {
    let [b, h, w, c] = d;
    let img = h * w * c;
    let mut dx = vec![0.0f32; b * img];
    if dx.is_empty() || c == 0 {
        return dx;
    }
    let image = |(n, dxi): (usize, &mut [f32])| {
        for r in 0..nh {
            for col in 0..nw {
                put(dxi, &dy[((n * nh + r) * nw + col) * c..][..c], r, col);
            }
        }
    };
    if dy.len() >= PAR_MIN && b > 1 {
        dx.par_chunks_mut(img).enumerate().for_each(image);
    } else {
        dx.chunks_mut(img).enumerate().for_each(image);
    }
    dx
}

fn bilinear_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "ResizeBilinearGrad";
    let m = mode(OP, attrs)?;
    let (d @ [_, h, w, c], nh, nw) = grad_dims(OP, i)?;
    let (rows, cols) = (bilinear_axis(&m, h, nh), bilinear_axis(&m, w, nw));
    let dx = scatter(d, &i[1].as_f32(), nh, nw, |dxi, g, r, col| {
        let (top, bot, fr) = rows[r];
        let (left, right, fc) = cols[col];
        for (row, wr) in [(top, 1.0 - fr), (bot, fr)] {
            for (cc, wc) in [(left, 1.0 - fc), (right, fc)] {
                let wt = wr * wc;
                for (a, v) in dxi[(row * w + cc) * c..][..c].iter_mut().zip(g) {
                    *a += v * wt;
                }
            }
        }
    });
    Ok(vec![Tensor::f32(i[0].shape().to_vec(), dx)])
}

fn nearest_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "ResizeNearestNeighborGrad";
    let m = mode(OP, attrs)?;
    let (d @ [_, h, w, c], nh, nw) = grad_dims(OP, i)?;
    let (rows, cols) = (nearest_axis(&m, h, nh), nearest_axis(&m, w, nw));
    let dx = scatter(d, &i[1].as_f32(), nh, nw, |dxi, g, r, col| {
        for (a, v) in dxi[(rows[r] * w + cols[col]) * c..][..c].iter_mut().zip(g) {
            *a += v;
        }
    });
    Ok(vec![Tensor::f32(i[0].shape().to_vec(), dx)])
}

fn resize_grad(c: &GradCtx, kernel: &str) -> G {
    Ok(vec![Some(run1(kernel, &[c.inputs[0].clone(), c.dys[0].clone()], c.attrs)?)])
}

/// The gradient kernels are linear in dy with the forward resize as adjoint; the images only
/// lend their shape.
fn resize_grad_grad(c: &GradCtx, kernel: &str) -> G {
    let dy = &c.inputs[1];
    let s = dy.shape();
    let size = vec![s[s.len() - 3], s[s.len() - 2]];
    let d_dy = run1(kernel, std::slice::from_ref(&c.dys[0]), &c.attrs.clone().with("size", size))?;
    Ok(vec![None, Some(d_dy)])
}

fn bilinear_grad(c: &GradCtx) -> G {
    resize_grad(c, "ResizeBilinearGrad")
}
fn nearest_grad(c: &GradCtx) -> G {
    resize_grad(c, "ResizeNearestNeighborGrad")
}
fn bilinear_grad_grad(c: &GradCtx) -> G {
    resize_grad_grad(c, "ResizeBilinear")
}
fn nearest_grad_grad(c: &GradCtx) -> G {
    resize_grad_grad(c, "ResizeNearestNeighbor")
}

pub fn register(r: &mut Registry) {
    r.builtin("ResizeBilinear", &["images"], bilinear_k, Some(bilinear_grad));
    r.builtin("ResizeNearestNeighbor", &["images"], nearest_k, Some(nearest_grad));
    r.builtin("ResizeBilinearGrad", &["images", "dy"], bilinear_grad_k, Some(bilinear_grad_grad));
    r.builtin("ResizeNearestNeighborGrad", &["images", "dy"], nearest_grad_k, Some(nearest_grad_grad));
}
