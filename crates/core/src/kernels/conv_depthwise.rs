//! `DepthwiseConv2dNative` (each input channel convolved with its own `channelMultiplier`
//! filters; output channel `c·m + q`), its gradient kernels and `FusedDepthwiseConv2D`. NHWC
//! only, as in tfjs. Loops run over filter taps with the channels innermost, so the
//! multiply-adds vectorise; large problems run in parallel over output lines or images.
//!
//! Beyond tfjs: dilated depthwise convolutions are differentiable too.

use super::conv::{check_depth, check_dy, fused_bias_grad, fused_dy, finish_fused, two};
use super::conv_info::{conv_info, shape4, ConvAttrs, ConvInfo};
use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Tensor};
use rayon::prelude::*;

type G = Result<Vec<Option<Tensor>>>;

const PAR_WORK: usize = 1 << 17;

fn info(op: &str, in_shape: &[usize], filter: &[usize], attrs: &Attrs) -> Result<ConvInfo> {
    let a = ConvAttrs::parse(op, attrs, false)?;
    let g = conv_info(op, in_shape, filter, &a, true)?;
    check_depth(op, &g, filter)?;
    Ok(g)
}

/// Calls `f(kh, kw, ih, iw)` for the filter taps of output pixel `(oh, ow)` inside the input.
#[inline(always)]
fn taps(g: &ConvInfo, oh: usize, ow: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
    let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
    let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
    for kh in 0..g.filter_h {
        let ih = ih0 + (kh * g.dil_h) as isize;
        if ih < 0 || ih >= g.in_h as isize {
            continue;
        }
        for kw in 0..g.filter_w {
            let iw = iw0 + (kw * g.dil_w) as isize;
            if iw >= 0 && iw < g.in_w as isize {
                f(kh, kw, ih as usize, iw as usize);
            }
        }
    }
}

/// `acc[c·m + q] += a[c] · b[c·m + q]` — with `m == 1` a plain element-wise multiply-add.
#[inline(always)]
fn mac_spread(acc: &mut [f32], a: &[f32], b: &[f32], m: usize) {
    if m == 1 {
        for ((o, x), w) in acc.iter_mut().zip(a).zip(b) {
            *o += x * w;
        }
    } else {
        for ((oc, &x), wc) in acc.chunks_exact_mut(m).zip(a).zip(b.chunks_exact(m)) {
            for (o, w) in oc.iter_mut().zip(wc) {
                *o += x * w;
            }
        }
    }
}

fn forward(x: &[f32], w: &[f32], g: &ConvInfo) -> Vec<f32> {
    let (ci, co) = (g.in_c, g.out_c);
    let mut out = vec![0.0f32; g.batch * g.out_h * g.out_w * co];
    if out.is_empty() || ci == 0 {
        return out;
    }
    let m = co / ci;
    let line = |(l, o): (usize, &mut [f32])| {
        let (n, oh) = (l / g.out_h, l % g.out_h);
        for (ow, op) in o.chunks_exact_mut(co).enumerate() {
            taps(g, oh, ow, |kh, kw, ih, iw| {
                let xs = &x[((n * g.in_h + ih) * g.in_w + iw) * ci..][..ci];
                let ws = &w[(kh * g.filter_w + kw) * co..][..co];
                mac_spread(op, xs, ws, m);
            });
        }
    };
    if g.work() >= PAR_WORK {
        out.par_chunks_mut(g.out_w * co).enumerate().for_each(line);
    } else {
        out.chunks_mut(g.out_w * co).enumerate().for_each(line);
    }
    out
}

fn backprop_input(dy: &[f32], w: &[f32], g: &ConvInfo) -> Vec<f32> {
    let (ci, co) = (g.in_c, g.out_c);
    let img = g.in_h * g.in_w * ci;
    let mut dx = vec![0.0f32; g.batch * img];
    if dx.is_empty() || dy.is_empty() {
        return dx;
    }
    let m = co / ci;
    let image = |(n, dxi): (usize, &mut [f32])| {
        for oh in 0..g.out_h {
            for ow in 0..g.out_w {
                let dyp = &dy[((n * g.out_h + oh) * g.out_w + ow) * co..][..co];
                taps(g, oh, ow, |kh, kw, ih, iw| {
                    let dxp = &mut dxi[(ih * g.in_w + iw) * ci..][..ci];
                    let ws = &w[(kh * g.filter_w + kw) * co..][..co];
                    if m == 1 {
                        for ((d, a), b) in dxp.iter_mut().zip(dyp).zip(ws) {
                            *d += a * b;
                        }
                    } else {
                        for ((d, a), b) in dxp.iter_mut().zip(dyp.chunks_exact(m)).zip(ws.chunks_exact(m)) {
                            *d += a.iter().zip(b).map(|(a, b)| a * b).sum::<f32>();
                        }
                    }
                });
            }
        }
    };
    if g.work() >= PAR_WORK && g.batch > 1 {
        dx.par_chunks_mut(img).enumerate().for_each(image);
    } else {
        dx.chunks_mut(img).enumerate().for_each(image);
    }
    dx
}

fn backprop_filter(x: &[f32], dy: &[f32], g: &ConvInfo) -> Vec<f32> {
    let (ci, co) = (g.in_c, g.out_c);
    let len = g.filter_h * g.filter_w * co;
    if len == 0 || dy.is_empty() {
        return vec![0.0; len];
    }
    let m = co / ci;
    let line = |mut dw: Vec<f32>, l: usize| {
        let (n, oh) = (l / g.out_h, l % g.out_h);
        for ow in 0..g.out_w {
            let dyp = &dy[((n * g.out_h + oh) * g.out_w + ow) * co..][..co];
            taps(g, oh, ow, |kh, kw, ih, iw| {
                let xs = &x[((n * g.in_h + ih) * g.in_w + iw) * ci..][..ci];
                mac_spread(&mut dw[(kh * g.filter_w + kw) * co..][..co], xs, dyp, m);
            });
        }
        dw
    };
    let lines = g.batch * g.out_h;
    if g.work() >= PAR_WORK {
        let add = |mut a: Vec<f32>, b: Vec<f32>| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        };
        (0..lines).into_par_iter().fold(|| vec![0.0; len], line).reduce(|| vec![0.0; len], add)
    } else {
        (0..lines).fold(vec![0.0; len], line)
    }
}

fn check_x(op: &str, x: &Tensor) -> Result<()> {
    if x.rank() != 4 {
        return Err(Error::shape(op, "an input of rank 4", format!("rank {} ({})", x.rank(), fmt_shape(x.shape()))));
    }
    Ok(())
}

fn depthwise_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "DepthwiseConv2dNative";
    let (x, f) = two(OP, "x, filter", i)?;
    check_x(OP, x)?;
    let g = info(OP, x.shape(), f.shape(), attrs)?;
    Ok(vec![Tensor::f32(g.out_shape(), forward(&x.as_f32(), &f.as_f32(), &g))])
}

fn backprop_input_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "DepthwiseConv2dNativeBackpropInput";
    let (dy, f) = two(OP, "dy, filter", i)?;
    let in_shape = shape4(OP, attrs, "inputShape")?;
    let g = info(OP, &in_shape, f.shape(), attrs)?;
    check_dy(OP, &g, dy)?;
    Ok(vec![Tensor::f32(in_shape, backprop_input(&dy.as_f32(), &f.as_f32(), &g))])
}

fn backprop_filter_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "DepthwiseConv2dNativeBackpropFilter";
    let (x, dy) = two(OP, "x, dy", i)?;
    check_x(OP, x)?;
    let f_shape = shape4(OP, attrs, "filterShape")?;
    let g = info(OP, x.shape(), &f_shape, attrs)?;
    check_dy(OP, &g, dy)?;
    Ok(vec![Tensor::f32(f_shape, backprop_filter(&x.as_f32(), &dy.as_f32(), &g))])
}

fn fused_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "FusedDepthwiseConv2D";
    if !(2..=4).contains(&i.len()) {
        return Err(Error::arg(OP, format!("expected 2 to 4 inputs (x, filter, bias?, preluActivationWeights?), got {}", i.len())));
    }
    check_x(OP, &i[0])?;
    let g = info(OP, i[0].shape(), i[1].shape(), attrs)?;
    let v = forward(&i[0].as_f32(), &i[1].as_f32(), &g);
    Ok(vec![finish_fused(OP, v, &g, i.get(2), i.get(3), attrs)?])
}

fn grads_of(c: &GradCtx, dy: &Tensor) -> Result<(Tensor, Tensor)> {
    let (x, f) = (&c.inputs[0], &c.inputs[1]);
    let dx = run1("DepthwiseConv2dNativeBackpropInput", &[dy.clone(), f.clone()], &c.attrs.clone().with("inputShape", x.shape().to_vec()))?;
    let df = run1("DepthwiseConv2dNativeBackpropFilter", &[x.clone(), dy.clone()], &c.attrs.clone().with("filterShape", f.shape().to_vec()))?;
    Ok((dx, df))
}

fn depthwise_grad(c: &GradCtx) -> G {
    let (dx, df) = grads_of(c, &c.dys[0])?;
    Ok(vec![Some(dx), Some(df)])
}

fn fused_grad(c: &GradCtx) -> G {
    let dy = fused_dy("FusedDepthwiseConv2D", c)?;
    let (dx, df) = grads_of(c, &dy)?;
    let mut g = vec![Some(dx), Some(df)];
    if let Some(b) = c.inputs.get(2) {
        g.push(Some(fused_bias_grad(&dy, b, true)?));
    }
    Ok(g)
}

fn backprop_input_grad(c: &GradCtx) -> G {
    // Linear in dy and in the filter: the adjoints are the forward conv and the filter gradient.
    let (dy, f, ddx) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d_dy = run1("DepthwiseConv2dNative", &[ddx.clone(), f.clone()], c.attrs)?;
    let d_f = run1("DepthwiseConv2dNativeBackpropFilter", &[ddx.clone(), dy.clone()], &c.attrs.clone().with("filterShape", f.shape().to_vec()))?;
    Ok(vec![Some(d_dy), Some(d_f)])
}

fn backprop_filter_grad(c: &GradCtx) -> G {
    let (x, dy, ddf) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d_x = run1("DepthwiseConv2dNativeBackpropInput", &[dy.clone(), ddf.clone()], &c.attrs.clone().with("inputShape", x.shape().to_vec()))?;
    let d_dy = run1("DepthwiseConv2dNative", &[x.clone(), ddf.clone()], c.attrs)?;
    Ok(vec![Some(d_x), Some(d_dy)])
}

pub fn register(r: &mut Registry) {
    r.builtin("DepthwiseConv2dNative", &["x", "filter"], depthwise_k, Some(depthwise_grad));
    r.builtin("DepthwiseConv2dNativeBackpropInput", &["dy", "filter"], backprop_input_k, Some(backprop_input_grad));
    r.builtin("DepthwiseConv2dNativeBackpropFilter", &["x", "dy"], backprop_filter_k, Some(backprop_filter_grad));
    r.builtin("FusedDepthwiseConv2D", &["x", "filter", "bias", "preluActivationWeights"], fused_k, Some(fused_grad));
}
