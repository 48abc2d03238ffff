//! Convolution and pooling geometry, as tfjs's `conv_util.computeConv2DInfo`: attribute parsing
//! (strides, dilations, pad, dataFormat, dimRoundingMode), output sizes and paddings, and the
//! NCHW ⇄ NHWC copies the NHWC-only compute paths need. Output sizes follow tfjs exactly,
//! including its quirks, so that layer shapes line up with models built by tfjs.

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::tensor::fmt_shape;
use rayon::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pad {
    Same,
    Valid,
    Number(usize),
    /// top, bottom, left, right
    Explicit([usize; 4]),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rounding {
    Floor,
    Round,
    Ceil,
}

/// The convolution attributes shared by every conv/pool kernel.
#[derive(Debug, Clone, Copy)]
pub struct ConvAttrs {
    pub strides: (usize, usize),
    pub dilations: (usize, usize),
    pub pad: Pad,
    pub rounding: Option<Rounding>,
    pub channels_last: bool,
}

/// Geometry of one 2-D convolution (or pooling) over NHWC or NCHW data.
#[derive(Debug, Clone)]
pub struct ConvInfo {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub out_c: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dil_h: usize,
    pub dil_w: usize,
    pub filter_h: usize,
    pub filter_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub channels_last: bool,
}

impl ConvInfo {
    /// The input shape in the data format's order.
    pub fn in_shape(&self) -> Vec<usize> {
        self.shape(self.in_h, self.in_w, self.in_c)
    }
    /// The output shape in the data format's order.
    pub fn out_shape(&self) -> Vec<usize> {
        self.shape(self.out_h, self.out_w, self.out_c)
    }
    fn shape(&self, h: usize, w: usize, c: usize) -> Vec<usize> {
        if self.channels_last { vec![self.batch, h, w, c] } else { vec![self.batch, c, h, w] }
    }
    /// Multiply-adds of the convolution, to decide whether to go parallel.
    pub fn work(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.out_c * self.filter_h * self.filter_w * self.in_c.max(1)
    }
}

/// A number or a list of one or two numbers, each at least 1 (tfjs `parseTupleParam`).
pub fn pair(op: &str, attrs: &Attrs, key: &str, default: usize) -> Result<(usize, usize)> {
    let v = match attrs.i64s(op, key)? {
        None => return Ok((default, default)),
        Some(v) => v,
    };
    let (a, b) = match v.as_slice() {
        [a] => (*a, *a),
        [a, b] => (*a, *b),
        _ => return Err(Error::arg(op, format!("attribute '{key}' must be a number or a list of 2 numbers, got {v:?}"))),
    };
    if a < 1 || b < 1 {
        return Err(Error::arg(op, format!("attribute '{key}' must be positive, got {v:?}")));
    }
    Ok((a as usize, b as usize))
}

fn pad_attr(op: &str, attrs: &Attrs, channels_last: bool) -> Result<Pad> {
    let bad = |v: &Value| Error::arg(op, format!("attribute 'pad' must be 'same', 'valid', a non-negative integer or explicit [[0,0],[t,b],[l,r],[0,0]] padding, got {v}"));
    let int = |v: &Value| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as usize);
    let Some(v) = attrs.get("pad") else { return Err(Error::arg(op, "attribute 'pad' is required")) };
    match v {
        Value::String(s) if s.eq_ignore_ascii_case("same") => Ok(Pad::Same),
        Value::String(s) if s.eq_ignore_ascii_case("valid") => Ok(Pad::Valid),
        Value::Number(_) => int(v).map(Pad::Number).ok_or_else(|| bad(v)),
        Value::Array(dims) if dims.len() == 4 => {
            let mut p = [[0usize; 2]; 4];
            for (d, pair) in dims.iter().enumerate() {
                let Some([a, b]) = pair.as_array().map(|a| a.as_slice()) else { return Err(bad(v)) };
                p[d] = [int(a).ok_or_else(|| bad(v))?, int(b).ok_or_else(|| bad(v))?];
            }
            let (h, w) = if channels_last { (p[1], p[2]) } else { (p[2], p[3]) };
            Ok(Pad::Explicit([h[0], h[1], w[0], w[1]]))
        }
        _ => Err(bad(v)),
    }
}

pub fn rounding(op: &str, attrs: &Attrs) -> Result<Option<Rounding>> {
    match attrs.str_or(op, "dimRoundingMode", "")? {
        "" => Ok(None),
        "floor" => Ok(Some(Rounding::Floor)),
        "round" => Ok(Some(Rounding::Round)),
        "ceil" => Ok(Some(Rounding::Ceil)),
        other => Err(Error::arg(op, format!("attribute 'dimRoundingMode' must be 'floor', 'round' or 'ceil', got '{other}'"))),
    }
}

impl ConvAttrs {
    /// Parses the attributes; `nchw_allowed` says whether `dataFormat` may be NCHW.
    pub fn parse(op: &str, attrs: &Attrs, nchw_allowed: bool) -> Result<ConvAttrs> {
        let channels_last = match attrs.str_or(op, "dataFormat", "NHWC")? {
            "NHWC" => true,
            "NCHW" if nchw_allowed => false,
            other => {
                let want = if nchw_allowed { "'NHWC' or 'NCHW'" } else { "'NHWC' (the only layout tfjs supports here)" };
                return Err(Error::arg(op, format!("attribute 'dataFormat' must be {want}, got '{other}'")));
            }
        };
        Ok(ConvAttrs {
            strides: pair(op, attrs, "strides", 1)?,
            dilations: pair(op, attrs, "dilations", 1)?,
            pad: pad_attr(op, attrs, channels_last)?,
            rounding: rounding(op, attrs)?,
            channels_last,
        })
    }
}

fn round_dim(v: f64, mode: Option<Rounding>) -> f64 {
    match mode {
        None => v.trunc(),
        Some(Rounding::Floor) => v.floor(),
        Some(Rounding::Ceil) => v.ceil(),
        // JS Math.round: halves go up
        Some(Rounding::Round) => (v + 0.5).floor(),
    }
}

/// Conv geometry of `in_shape` (in the attrs' data format) against a
/// `[filterH, filterW, inC, outC]` filter; a depthwise filter's last dim is the multiplier.
pub fn conv_info(op: &str, in_shape: &[usize], filter: &[usize], a: &ConvAttrs, depthwise: bool) -> Result<ConvInfo> {
    if in_shape.len() != 4 {
        return Err(Error::shape(op, "an input of rank 4", format!("rank {} ({})", in_shape.len(), fmt_shape(in_shape))));
    }
    if filter.len() != 4 {
        return Err(Error::shape(op, "a filter of rank 4", format!("rank {} ({})", filter.len(), fmt_shape(filter))));
    }
    let (batch, in_h, in_w, in_c) = if a.channels_last {
        (in_shape[0], in_shape[1], in_shape[2], in_shape[3])
    } else {
        (in_shape[0], in_shape[2], in_shape[3], in_shape[1])
    };
    let (fh, fw) = (filter[0], filter[1]);
    let (sh, sw) = a.strides;
    let (dh, dw) = a.dilations;
    let eff_h = (fh + (fh.saturating_sub(1)) * (dh - 1)) as f64;
    let eff_w = (fw + (fw.saturating_sub(1)) * (dw - 1)) as f64;
    let (ih, iw) = (in_h as f64, in_w as f64);
    let (out_h, out_w, top, left) = match a.pad {
        Pad::Number(p) => {
            // tfjs (computeOutputShape2D) sizes both dims with the filter height and stride height.
            let p2 = 2.0 * p as f64;
            let oh = round_dim((ih - eff_h + p2) / sh as f64 + 1.0, a.rounding);
            let ow = round_dim((iw - eff_h + p2) / sh as f64 + 1.0, a.rounding);
            (oh, ow, p as f64, p as f64)
        }
        Pad::Same => {
            let oh = (ih / sh as f64).ceil();
            let ow = (iw / sw as f64).ceil();
            let along_h = ((oh - 1.0) * sh as f64 + eff_h - ih).max(0.0);
            let along_w = ((ow - 1.0) * sw as f64 + eff_w - iw).max(0.0);
            (oh, ow, (along_h / 2.0).floor(), (along_w / 2.0).floor())
        }
        Pad::Valid => (((ih - eff_h + 1.0) / sh as f64).ceil(), ((iw - eff_w + 1.0) / sw as f64).ceil(), 0.0, 0.0),
        Pad::Explicit([t, b, l, r]) => {
            let oh = round_dim((ih - eff_h + (t + b) as f64) / sh as f64 + 1.0, a.rounding);
            let ow = round_dim((iw - eff_w + (l + r) as f64) / sw as f64 + 1.0, a.rounding);
            (oh, ow, t as f64, l as f64)
        }
    };
    if out_h < 0.0 || out_w < 0.0 || !out_h.is_finite() || !out_w.is_finite() {
        return Err(Error::shape(
            op,
            format!("a filter of effective size {eff_h}x{eff_w} that fits the padded input"),
            format!("input {} and filter {} (output would be {out_h}x{out_w})", fmt_shape(in_shape), fmt_shape(filter)),
        ));
    }
    let out_c = if depthwise { filter[3] * in_c } else { filter[3] };
    Ok(ConvInfo {
        batch,
        in_h,
        in_w,
        in_c,
        out_h: out_h as usize,
        out_w: out_w as usize,
        out_c,
        stride_h: sh,
        stride_w: sw,
        dil_h: dh,
        dil_w: dw,
        filter_h: fh,
        filter_w: fw,
        pad_top: top as usize,
        pad_left: left as usize,
        channels_last: a.channels_last,
    })
}

/// A shape attribute of exactly four non-negative integers (`inputShape`, `filterShape`).
pub fn shape4(op: &str, attrs: &Attrs, key: &str) -> Result<Vec<usize>> {
    let v = attrs.i64s(op, key)?.ok_or_else(|| Error::arg(op, format!("attribute '{key}' is required")))?;
    if v.len() != 4 || v.iter().any(|&d| d < 0) {
        return Err(Error::arg(op, format!("attribute '{key}' must be 4 non-negative integers, got {v:?}")));
    }
    Ok(v.into_iter().map(|d| d as usize).collect())
}

/// `[n, c, hw]` → `[n, hw, c]` (NCHW → NHWC with the spatial dims flattened).
pub fn to_channels_last(v: &[f32], n: usize, c: usize, hw: usize) -> Vec<f32> {
    swap_inner(v, n, c, hw)
}

/// `[n, hw, c]` → `[n, c, hw]`.
pub fn to_channels_first(v: &[f32], n: usize, c: usize, hw: usize) -> Vec<f32> {
    swap_inner(v, n, hw, c)
}

/// Transposes each of the `n` `[a, b]` matrices of `v`.
fn swap_inner(v: &[f32], n: usize, a: usize, b: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; v.len()];
    if a * b == 0 {
        return out;
    }
    let one = |(src, dst): (&[f32], &mut [f32])| {
        for i in 0..a {
            let row = &src[i * b..(i + 1) * b];
            for (j, &x) in row.iter().enumerate() {
                dst[j * a + i] = x;
            }
        }
    };
    if v.len() >= super::PAR_MIN && n > 1 {
        v.par_chunks(a * b).zip(out.par_chunks_mut(a * b)).for_each(one);
    } else {
        v.chunks(a * b).zip(out.chunks_mut(a * b)).for_each(one);
    }
    out
}
