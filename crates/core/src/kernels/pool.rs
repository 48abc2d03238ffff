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
use std::mem::MaybeUninit;

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
fn by_images<T: Send>(g: &ConvInfo, dx: &mut [T], image: impl Fn((usize, &mut [T])) + Sync + Send) {
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

/// The input rows (or columns) of window `o` along one axis: `[lo, hi)` clamped to the input.
#[inline(always)]
fn span(o: usize, stride: usize, pad: usize, filter: usize, len: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    (start.max(0) as usize, (start + filter as isize).clamp(0, len as isize) as usize)
}

/// One output line of a max pool: `o` (`outW × C`) from image `img` at output row `oh`.
#[inline(always)]
fn max_line<T: Copy + PartialOrd>(img: &[T], g: &ConvInfo, oh: usize, o: &mut [MaybeUninit<T>], lowest: T) {
    let c = g.in_c;
    o.iter_mut().for_each(|m| {
        m.write(lowest);
    });
    // SAFETY: every element was just written.
    let o = unsafe { &mut *(o as *mut [MaybeUninit<T>] as *mut [T]) };
    let (h0, h1) = span(oh, g.stride_h, g.pad_top, g.filter_h, g.in_h);
    for ih in h0..h1 {
        let row = &img[ih * g.in_w * c..(ih + 1) * g.in_w * c];
        for ow in 0..g.out_w {
            let (w0, w1) = span(ow, g.stride_w, g.pad_left, g.filter_w, g.in_w);
            let op = &mut o[ow * c..(ow + 1) * c];
            for iw in w0..w1 {
                for (m, &v) in op.iter_mut().zip(&row[iw * c..(iw + 1) * c]) {
                    *m = if v > *m { v } else { *m };
                }
            }
        }
    }
}

/// `max_line` compiled for AVX-512, where its selects become vector instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn max_line_avx512<T: Copy + PartialOrd>(img: &[T], g: &ConvInfo, oh: usize, o: &mut [MaybeUninit<T>], lowest: T) {
    max_line(img, g, oh, o, lowest)
}

/// `max_line` for `f32` with the running maxima of 16 channels in a register:
/// `max(v, m)` is `v > m ? v : m`, so a NaN never wins, as in `max_line`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn max_line_f32_avx512(img: &[f32], g: &ConvInfo, oh: usize, o: &mut [MaybeUninit<f32>]) {
    use std::arch::x86_64::*;
    let c = g.in_c;
    let (x, op) = (img.as_ptr(), o.as_mut_ptr() as *mut f32);
    let (h0, h1) = span(oh, g.stride_h, g.pad_top, g.filter_h, g.in_h);
    for ow in 0..g.out_w {
        let (w0, w1) = span(ow, g.stride_w, g.pad_left, g.filter_w, g.in_w);
        for c0 in (0..c).step_by(16) {
            let m = if c - c0 >= 16 { u16::MAX } else { (1u16 << (c - c0)) - 1 };
            let mut best = _mm512_set1_ps(f32::NEG_INFINITY);
            for ih in h0..h1 {
                for iw in w0..w1 {
                    best = _mm512_max_ps(_mm512_maskz_loadu_ps(m, x.add((ih * g.in_w + iw) * c + c0)), best);
                }
            }
            _mm512_mask_storeu_ps(op.add(ow * c + c0), m, best);
        }
    }
}

/// The input and output of a max pool over `f32`, viewed as such.
fn as_f32<'a, T: 'static>(x: &'a [T], o: &'a mut [MaybeUninit<T>]) -> Option<(&'a [f32], &'a mut [MaybeUninit<f32>])> {
    if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: T is f32.
    unsafe { Some((&*(x as *const [T] as *const [f32]), &mut *(o as *mut [MaybeUninit<T>] as *mut [MaybeUninit<f32>]))) }
}

fn max_pool<T: Copy + PartialOrd + Send + Sync + 'static>(x: &[T], g: &ConvInfo, lowest: T) -> Vec<T> {
    let img = g.in_h * g.in_w * g.in_c;
    let len = g.batch * g.out_h * g.out_w * g.in_c;
    if g.out_w * g.in_c == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(len);
    let wide = super::conv_direct::available();
    by_lines(g, &mut out.spare_capacity_mut()[..len], |(l, o)| {
        let (n, oh) = (l / g.out_h, l % g.out_h);
        let xi = &x[n * img..(n + 1) * img];
        #[cfg(target_arch = "x86_64")]
        if wide {
            if let Some((xf, of)) = as_f32(xi, o) {
                // SAFETY: the CPU has AVX-512 (checked above); `max_line_f32_avx512` writes all of `of`.
                return unsafe { max_line_f32_avx512(xf, g, oh, of) };
            }
            // SAFETY: as above.
            return unsafe { max_line_avx512(xi, g, oh, o, lowest) };
        }
        max_line(xi, g, oh, o, lowest);
    });
    // SAFETY: `max_line` wrote every line.
    unsafe { out.set_len(len) };
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

/// The first position of the maximum of each channel in each window of output row `oh`:
/// `arg[ow·C + ch]` is a pixel index within the image, `u32::MAX` where no value beats −∞.
#[inline(always)]
fn max_args(img: &[f32], g: &ConvInfo, oh: usize, best: &mut [f32], arg: &mut [u32]) {
    let c = g.in_c;
    best.fill(f32::NEG_INFINITY);
    arg.fill(u32::MAX);
    let (h0, h1) = span(oh, g.stride_h, g.pad_top, g.filter_h, g.in_h);
    for ih in h0..h1 {
        for ow in 0..g.out_w {
            let (w0, w1) = span(ow, g.stride_w, g.pad_left, g.filter_w, g.in_w);
            let (b, a) = (&mut best[ow * c..(ow + 1) * c], &mut arg[ow * c..(ow + 1) * c]);
            for iw in w0..w1 {
                let p = ih * g.in_w + iw;
                for ((b, a), &v) in b.iter_mut().zip(a.iter_mut()).zip(&img[p * c..(p + 1) * c]) {
                    let more = v > *b;
                    *b = if more { v } else { *b };
                    *a = if more { p as u32 } else { *a };
                }
            }
        }
    }
}

/// Walks the input of one image for disjoint windows (strides at least the window): calls
/// `gap(ih, iw0, iw1)` for the pixels of row `ih` in no window, `line(oh)` before the rows of
/// output row `oh`, and `pixel(ih, iw, oh, ow)` for each pixel in a window, row by row.
#[inline(always)]
fn walk_disjoint(g: &ConvInfo, mut gap: impl FnMut(usize, usize, usize), mut line: impl FnMut(usize), mut pixel: impl FnMut(usize, usize, usize, usize)) {
    let mut next_row = 0;
    for oh in 0..g.out_h {
        let (h0, h1) = span(oh, g.stride_h, g.pad_top, g.filter_h, g.in_h);
        (next_row..h0).for_each(|ih| gap(ih, 0, g.in_w));
        if h1 > h0 {
            line(oh);
        }
        for ih in h0..h1 {
            let mut next_col = 0;
            for ow in 0..g.out_w {
                let (w0, w1) = span(ow, g.stride_w, g.pad_left, g.filter_w, g.in_w);
                if w0 > next_col {
                    gap(ih, next_col, w0);
                }
                (w0..w1).for_each(|iw| pixel(ih, iw, oh, ow));
                next_col = next_col.max(w1);
            }
            if next_col < g.in_w {
                gap(ih, next_col, g.in_w);
            }
        }
        next_row = next_row.max(h1);
    }
    (next_row..g.in_h).for_each(|ih| gap(ih, 0, g.in_w));
}

/// `dx` of one image when no two windows overlap: every input pixel is written once, with its
/// window's `dy` where it is the window's first maximum and 0 elsewhere.
fn max_grad_disjoint(img: &[f32], dy: &[f32], g: &ConvInfo, dx: &mut [MaybeUninit<f32>], best: &mut [f32], arg: &mut [u32]) {
    let c = g.in_c;
    let dx = std::cell::RefCell::new(dx);
    let arg = std::cell::RefCell::new(arg);
    walk_disjoint(
        g,
        |ih, iw0, iw1| {
            dx.borrow_mut()[(ih * g.in_w + iw0) * c..(ih * g.in_w + iw1) * c].iter_mut().for_each(|d| {
                d.write(0.0);
            })
        },
        |oh| max_args(img, g, oh, best, &mut arg.borrow_mut()),
        |ih, iw, oh, ow| {
            let p = (ih * g.in_w + iw) as u32;
            let (arg, mut dx) = (arg.borrow(), dx.borrow_mut());
            let (a, d) = (&arg[ow * c..(ow + 1) * c], &dy[(oh * g.out_w + ow) * c..][..c]);
            for ((o, &a), &d) in dx[p as usize * c..(p as usize + 1) * c].iter_mut().zip(a).zip(d) {
                o.write(if a == p { d } else { 0.0 });
            }
        },
    );
}

/// `dx` of one image, zeroed, for overlapping windows: each window adds its `dy` to its first
/// maximum.
fn max_grad_overlapping(img: &[f32], dy: &[f32], g: &ConvInfo, dx: &mut [f32], best: &mut [f32], arg: &mut [u32]) {
    let c = g.in_c;
    for oh in 0..g.out_h {
        max_args(img, g, oh, best, arg);
        let dyl = &dy[oh * g.out_w * c..(oh + 1) * g.out_w * c];
        for (i, (&a, &d)) in arg.iter().zip(dyl).enumerate() {
            if a != u32::MAX {
                dx[a as usize * c + i % c] += d;
            }
        }
    }
}

/// `max_grad_disjoint` with AVX-512 registers: per window and 16 channels the running
/// maximum and its position stay in two vector registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn max_grad_disjoint_avx512(img: &[f32], dy: &[f32], g: &ConvInfo, dx: &mut [MaybeUninit<f32>], arg: &mut [u32]) {
    use std::arch::x86_64::*;
    let c = g.in_c;
    let masks: Vec<(usize, u16)> = (0..c).step_by(16).map(|c0| (c0, if c - c0 >= 16 { u16::MAX } else { (1u16 << (c - c0)) - 1 })).collect();
    let (x, dyp, ap, dxp) = (img.as_ptr(), dy.as_ptr(), arg.as_mut_ptr(), dx.as_mut_ptr() as *mut f32);
    walk_disjoint(
        g,
        |ih, iw0, iw1| std::ptr::write_bytes(dxp.add((ih * g.in_w + iw0) * c), 0, (iw1 - iw0) * c),
        |oh| {
            let (h0, h1) = span(oh, g.stride_h, g.pad_top, g.filter_h, g.in_h);
            for ow in 0..g.out_w {
                let (w0, w1) = span(ow, g.stride_w, g.pad_left, g.filter_w, g.in_w);
                for &(c0, m) in &masks {
                    let mut best = _mm512_set1_ps(f32::NEG_INFINITY);
                    let mut at = _mm512_set1_epi32(-1);
                    for ih in h0..h1 {
                        for iw in w0..w1 {
                            let p = ih * g.in_w + iw;
                            let v = _mm512_maskz_loadu_ps(m, x.add(p * c + c0));
                            let more = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best);
                            best = _mm512_mask_blend_ps(more, best, v);
                            at = _mm512_mask_blend_epi32(more, at, _mm512_set1_epi32(p as i32));
                        }
                    }
                    _mm512_mask_storeu_epi32(ap.add(ow * c + c0) as *mut i32, m, at);
                }
            }
        },
        |ih, iw, oh, ow| {
            let p = ih * g.in_w + iw;
            let pv = _mm512_set1_epi32(p as i32);
            for &(c0, m) in &masks {
                let at = _mm512_maskz_loadu_epi32(m, ap.add(ow * c + c0) as *const i32);
                let d = _mm512_maskz_loadu_ps(m, dyp.add((oh * g.out_w + ow) * c + c0));
                let won = _mm512_cmpeq_epi32_mask(at, pv);
                _mm512_mask_storeu_ps(dxp.add(p * c + c0), m, _mm512_maskz_mov_ps(won, d));
            }
        },
    );
}

fn max_pool_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "MaxPoolGrad";
    let [dy, x, _y] = i else { return Err(Error::arg(OP, format!("expected 3 inputs (dy, input, output), got {}", i.len()))) };
    let g = info(OP, x, attrs)?;
    check_dy(OP, &g, dy)?;
    let (xv, dyv, c) = (x.as_f32(), dy.as_f32(), g.in_c);
    if g.in_h * g.in_w >= u32::MAX as usize {
        return Err(Error::arg(OP, format!("images of at most {} pixels, got {}x{}", u32::MAX - 1, g.in_h, g.in_w)));
    }
    let img = g.in_h * g.in_w * c;
    let out_img = g.out_h * g.out_w * c;
    let scratch = || (vec![0.0f32; g.out_w * c], vec![0u32; g.out_w * c]);
    if g.stride_h >= g.filter_h && g.stride_w >= g.filter_w {
        let wide = super::conv_direct::available();
        let mut dx: Vec<f32> = Vec::with_capacity(x.size());
        by_images(&g, &mut dx.spare_capacity_mut()[..x.size()], |(n, dxi)| {
            let (mut best, mut arg) = scratch();
            let (xi, dyi) = (&xv[n * img..(n + 1) * img], &dyv[n * out_img..(n + 1) * out_img]);
            #[cfg(target_arch = "x86_64")]
            if wide {
                // SAFETY: the CPU has AVX-512 (checked above).
                return unsafe { max_grad_disjoint_avx512(xi, dyi, &g, dxi, &mut arg) };
            }
            max_grad_disjoint(xi, dyi, &g, dxi, &mut best, &mut arg);
        });
        // SAFETY: `max_grad_disjoint` wrote every pixel of every image.
        unsafe { dx.set_len(x.size()) };
        return Ok(vec![Tensor::f32(x.shape().to_vec(), dx)]);
    }
    let mut dx = vec![0.0f32; x.size()];
    by_images(&g, &mut dx, |(n, dxi)| {
        let (mut best, mut arg) = scratch();
        max_grad_overlapping(&xv[n * img..(n + 1) * img], &dyv[n * out_img..(n + 1) * out_img], &g, dxi, &mut best, &mut arg);
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
