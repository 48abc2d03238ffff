//! `Conv2D`, its gradient kernels `Conv2DBackpropInput` (also tfjs's `conv2dTranspose`) and
//! `Conv2DBackpropFilter`, and `FusedConv2D` (bias and activation applied to the conv output
//! before it leaves the kernel). Compute is NHWC (see `conv_gemm`); NCHW operands are copied
//! to NHWC and back.
//!
//! Beyond tfjs: the gradient kernels honour a `dilations` attribute, so dilated convolutions
//! are differentiable, and gradients pass `dimRoundingMode` on so the shapes agree.

use super::conv_direct;
use super::conv_gemm;
use super::conv_info::{conv_info, shape4, to_channels_first, to_channels_last, ConvAttrs, ConvInfo};
use super::matmul::{add_bias, apply_activation};
use crate::attrs::Attrs;
use crate::engine::{run1, run_kernel};
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{self, GradCtx, Gradient, Registry};
use crate::tensor::{fmt_shape, Tensor};
use std::borrow::Cow;

type G = Result<Vec<Option<Tensor>>>;

pub(crate) fn two<'a>(op: &str, names: &str, i: &'a [Tensor]) -> Result<(&'a Tensor, &'a Tensor)> {
    match i {
        [a, b] => Ok((a, b)),
        _ => Err(Error::arg(op, format!("expected 2 inputs ({names}), got {}", i.len()))),
    }
}

/// A 4-D operand's values in NHWC order.
fn nhwc(t: &Tensor, channels_last: bool) -> Cow<'_, [f32]> {
    let s = t.shape();
    if channels_last || t.size() == 0 {
        t.as_f32()
    } else {
        Cow::Owned(to_channels_last(&t.as_f32(), s[0], s[1], s[2] * s[3]))
    }
}

/// A tensor of `shape` (in the data format's order) from NHWC values.
fn from_nhwc(v: Vec<f32>, shape: Vec<usize>, channels_last: bool) -> Tensor {
    if channels_last {
        Tensor::f32(shape, v)
    } else {
        let v = to_channels_first(&v, shape[0], shape[1], shape[2] * shape[3]);
        Tensor::f32(shape, v)
    }
}

fn check_rank4(op: &str, what: &str, t: &Tensor) -> Result<()> {
    if t.rank() != 4 {
        return Err(Error::shape(op, format!("{what} of rank 4"), format!("rank {} ({})", t.rank(), fmt_shape(t.shape()))));
    }
    Ok(())
}

/// The filter's input depth must be the input's channel count.
pub(crate) fn check_depth(op: &str, g: &ConvInfo, filter: &[usize]) -> Result<()> {
    if filter[2] != g.in_c {
        return Err(Error::shape(
            op,
            format!("a filter whose input depth (dim 2) is the input's {} channels", g.in_c),
            format!("filter {}", fmt_shape(filter)),
        ));
    }
    Ok(())
}

/// `dy` must have the shape the forward convolution produces.
pub(crate) fn check_dy(op: &str, g: &ConvInfo, dy: &Tensor) -> Result<()> {
    if dy.shape() != g.out_shape() {
        return Err(Error::shape(op, format!("dy of shape {} (the convolution's output)", fmt_shape(&g.out_shape())), fmt_shape(dy.shape())));
    }
    Ok(())
}

/// The convolution's output in NHWC order, and its geometry.
fn conv2d_nhwc(op: &str, x: &Tensor, filter: &Tensor, attrs: &Attrs) -> Result<(Vec<f32>, ConvInfo)> {
    check_rank4(op, "an input", x)?;
    let a = ConvAttrs::parse(op, attrs, true)?;
    let g = conv_info(op, x.shape(), filter.shape(), &a, false)?;
    check_depth(op, &g, filter.shape())?;
    Ok((conv_gemm::forward(&nhwc(x, g.channels_last), &filter.as_f32(), &g), g))
}

fn conv2d_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let (x, f) = two("Conv2D", "x, filter", i)?;
    let (v, g) = conv2d_nhwc("Conv2D", x, f, attrs)?;
    Ok(vec![from_nhwc(v, g.out_shape(), g.channels_last)])
}

fn backprop_input_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Conv2DBackpropInput";
    let (dy, f) = two(OP, "dy, filter", i)?;
    let in_shape = shape4(OP, attrs, "inputShape")?;
    let a = ConvAttrs::parse(OP, attrs, true)?;
    let g = conv_info(OP, &in_shape, f.shape(), &a, false)?;
    check_depth(OP, &g, f.shape())?;
    check_dy(OP, &g, dy)?;
    let dx = conv_gemm::backprop_input(&nhwc(dy, g.channels_last), &f.as_f32(), &g);
    Ok(vec![from_nhwc(dx, in_shape, g.channels_last)])
}

fn backprop_filter_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "Conv2DBackpropFilter";
    let (x, dy) = two(OP, "x, dy", i)?;
    check_rank4(OP, "an input", x)?;
    let f_shape = shape4(OP, attrs, "filterShape")?;
    let a = ConvAttrs::parse(OP, attrs, true)?;
    let g = conv_info(OP, x.shape(), &f_shape, &a, false)?;
    check_depth(OP, &g, &f_shape)?;
    check_dy(OP, &g, dy)?;
    let dw = conv_gemm::backprop_filter(&nhwc(x, g.channels_last), &nhwc(dy, g.channels_last), &g);
    Ok(vec![Tensor::f32(f_shape, dw)])
}

/// Applies a fused op's bias and activation to NHWC conv output `v` and returns the output
/// tensor in the data format's layout. Under NCHW a scalar or 1-D bias (and 1-D PReLU weights)
/// run along the channels, which are last while the data is still NHWC.
pub(crate) fn finish_fused(op: &str, mut v: Vec<f32>, g: &ConvInfo, bias: Option<&Tensor>, prelu: Option<&Tensor>, attrs: &Attrs) -> Result<Tensor> {
    let act = attrs.str_or(op, "activation", "linear")?;
    let alpha = attrs.f64_or(op, "leakyreluAlpha", 0.2)? as f32;
    let nhwc_shape = [g.batch, g.out_h, g.out_w, g.out_c];
    let out_shape = g.out_shape();
    if let Some(b) = bias {
        let fits_channels = b.rank() == 0 || (b.rank() == 1 && (b.size() == 1 || b.size() == g.out_c));
        if !g.channels_last && !fits_channels {
            return Err(Error::shape(op, format!("a scalar or 1-D bias of {} (the output channels) under NCHW", g.out_c), fmt_shape(b.shape())));
        }
        add_bias(op, &mut v, &nhwc_shape, b)?;
    }
    let weights_after = !g.channels_last && prelu.is_some_and(|w| w.rank() > 1);
    let apply = |v: &mut [f32], shape: &[usize]| -> Result<()> {
        let pw = match prelu {
            Some(w) if act == "prelu" => {
                let fits = super::binary::broadcast_shape(op, shape, w.shape()).is_ok_and(|s| s == shape);
                if !fits {
                    return Err(Error::shape(op, format!("PReLU weights that broadcast to {}", fmt_shape(shape)), fmt_shape(w.shape())));
                }
                Some((w.as_f32().into_owned(), w.shape().to_vec()))
            }
            _ => None,
        };
        apply_activation(op, act, v, alpha, pw.as_ref().map(|(w, s)| (w.as_slice(), s.as_slice(), shape)))
    };
    if !weights_after {
        apply(&mut v, &nhwc_shape)?;
    }
    let mut v = if g.channels_last { v } else { to_channels_first(&v, g.batch, g.out_c, g.out_h * g.out_w) };
    if weights_after {
        apply(&mut v, &out_shape)?;
    }
    Ok(Tensor::f32(out_shape, v))
}

fn fused_conv2d_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "FusedConv2D";
    if !(2..=4).contains(&i.len()) {
        return Err(Error::arg(OP, format!("expected 2 to 4 inputs (x, filter, bias?, preluActivationWeights?), got {}", i.len())));
    }
    if let Some(y) = fused_direct(OP, i, attrs)? {
        return Ok(vec![y]);
    }
    let (v, g) = conv2d_nhwc(OP, &i[0], &i[1], attrs)?;
    Ok(vec![finish_fused(OP, v, &g, i.get(2), i.get(3), attrs)?])
}

/// A channels-last fused convolution whose bias (one value per output channel) and linear or
/// ReLU activation the direct kernels apply as they store the output; `None` for the others.
fn fused_direct(op: &str, i: &[Tensor], attrs: &Attrs) -> Result<Option<Tensor>> {
    let (x, f) = (&i[0], &i[1]);
    let relu = match attrs.str_or(op, "activation", "linear")? {
        "linear" | "" => false,
        "relu" => true,
        _ => return Ok(None),
    };
    if x.rank() != 4 {
        return Ok(None);
    }
    let a = ConvAttrs::parse(op, attrs, true)?;
    let g = conv_info(op, x.shape(), f.shape(), &a, false)?;
    let bias = i.get(2).map(|b| b.as_f32());
    if !g.channels_last || !conv_direct::takes(&g) || bias.as_ref().is_some_and(|b| b.len() != g.out_c) {
        return Ok(None);
    }
    check_depth(op, &g, f.shape())?;
    let y = conv_direct::forward(&x.as_f32(), &f.as_f32(), &g, bias.as_deref(), relu);
    Ok(Some(Tensor::f32(g.out_shape(), y)))
}

/// dy through a fused op's activation, from its output.
pub(crate) fn fused_dy(op: &str, c: &GradCtx) -> Result<Tensor> {
    let act = c.attrs.str_or(op, "activation", "linear")?;
    let (dy, y) = (&c.dys[0], &c.outputs[0]);
    let zero = Tensor::scalar(0.0);
    match act {
        "linear" | "" => Ok(dy.clone()),
        "relu" => ops::binary("ReluGrad", dy, y),
        "elu" => ops::binary("EluGrad", dy, y),
        "sigmoid" => ops::binary("SigmoidGrad", dy, y),
        "relu6" => {
            let inside = ops::binary("LogicalAnd", &ops::greater(y, &zero)?, &ops::less(y, &Tensor::scalar(6.0))?)?;
            ops::where_(&inside, dy, &ops::zeros_like(dy)?)
        }
        "leakyrelu" => {
            let alpha = c.attrs.f64_or(op, "leakyreluAlpha", 0.2)? as f32;
            ops::where_(&ops::greater(y, &zero)?, dy, &ops::mul(dy, &Tensor::scalar(alpha))?)
        }
        other => Err(Error::arg(op, format!("cannot compute the gradient of fused activation '{other}'"))),
    }
}

/// The bias gradient: dy summed down to the bias's shape (along the channels for a 1-D NCHW bias).
pub(crate) fn fused_bias_grad(dy: &Tensor, bias: &Tensor, channels_last: bool) -> Result<Tensor> {
    if !channels_last && bias.rank() == 1 && bias.size() > 1 {
        return ops::reshape(&ops::sum(dy, &[0, 2, 3], false)?, bias.shape());
    }
    ops::sum_to(dy, bias.shape())
}

/// The input and filter gradients of a convolution, each only if needed.
fn conv_grads(c: &GradCtx, dy: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let (x, f) = (&c.inputs[0], &c.inputs[1]);
    let dx = match c.needs(0) {
        true => Some(run1("Conv2DBackpropInput", &[dy.clone(), f.clone()], &c.attrs.clone().with("inputShape", x.shape().to_vec()))?),
        false => None,
    };
    let df = match c.needs(1) {
        true => Some(run1("Conv2DBackpropFilter", &[x.clone(), dy.clone()], &c.attrs.clone().with("filterShape", f.shape().to_vec()))?),
        false => None,
    };
    Ok((dx, df))
}

fn conv2d_grad(c: &GradCtx) -> G {
    let (dx, df) = conv_grads(c, &c.dys[0])?;
    Ok(vec![dx, df])
}

fn backprop_input_grad(c: &GradCtx) -> G {
    // dx = convᵀ(dy, f) is linear in each: its adjoints are conv and the filter gradient.
    let (dy, f, ddx) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d_dy = run1("Conv2D", &[ddx.clone(), f.clone()], c.attrs)?;
    let d_f = run1("Conv2DBackpropFilter", &[ddx.clone(), dy.clone()], &c.attrs.clone().with("filterShape", f.shape().to_vec()))?;
    Ok(vec![Some(d_dy), Some(d_f)])
}

fn backprop_filter_grad(c: &GradCtx) -> G {
    let (x, dy, ddf) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d_x = run1("Conv2DBackpropInput", &[dy.clone(), ddf.clone()], &c.attrs.clone().with("inputShape", x.shape().to_vec()))?;
    let d_dy = run1("Conv2D", &[x.clone(), ddf.clone()], c.attrs)?;
    Ok(vec![Some(d_x), Some(d_dy)])
}

/// The internal kernel that computes a fused convolution's filter and bias gradients in one
/// pass over `dy`.
pub const FILTER_BIAS_GRAD: &str = "_FusedConv2DBackpropFilter";

/// `_FusedConv2DBackpropFilter(x, dy, y)`: the filter gradient (and, with attribute
/// `withBias`, the bias gradient) of `y = act(conv(x, w) + b)` given the gradient `dy` of `y`,
/// for `activation` `linear` or `relu` (whose derivative is read off `y`). One output, or two
/// with the bias gradient `[outChannels]`.
fn filter_bias_grad_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = FILTER_BIAS_GRAD;
    let [x, dy, y] = i else { return Err(Error::arg(OP, format!("expected 3 inputs (x, dy, y), got {}", i.len()))) };
    check_rank4(OP, "an input", x)?;
    let f_shape = shape4(OP, attrs, "filterShape")?;
    let a = ConvAttrs::parse(OP, attrs, true)?;
    let g = conv_info(OP, x.shape(), &f_shape, &a, false)?;
    check_depth(OP, &g, &f_shape)?;
    check_dy(OP, &g, dy)?;
    let relu = match attrs.str_or(OP, "activation", "linear")? {
        "linear" | "" => false,
        "relu" => true,
        other => return Err(Error::arg(OP, format!("attribute 'activation' must be 'linear' or 'relu', got '{other}'"))),
    };
    if relu && y.shape() != dy.shape() {
        return Err(Error::shape(OP, format!("y of shape {} (the convolution's output)", fmt_shape(dy.shape())), fmt_shape(y.shape())));
    }
    let bias = attrs.bool_or(OP, "withBias", false)?;
    let yv = relu.then(|| nhwc(y, g.channels_last));
    let (dw, db) = conv_gemm::filter_grads(&nhwc(x, g.channels_last), &nhwc(dy, g.channels_last), yv.as_deref(), bias, &g);
    let mut out = vec![Tensor::f32(f_shape, dw)];
    if bias {
        out.push(Tensor::f32(vec![g.out_c], db));
    }
    Ok(out)
}

/// Gradients of `_FusedConv2DBackpropFilter`: with `dyr` the gradient through the activation,
/// the kernel is `(filterGrad(x, dyr), Σ dyr)`, linear in `x` and in `dy`; the ReLU's mask is
/// piecewise constant in `y`.
fn filter_bias_grad_grad(c: &GradCtx) -> G {
    const OP: &str = FILTER_BIAS_GRAD;
    let (x, dy, y) = (&c.inputs[0], &c.inputs[1], &c.inputs[2]);
    let relu = c.attrs.str_or(OP, "activation", "linear")? == "relu";
    let dyr = if relu { ops::binary("ReluGrad", dy, y)? } else { dy.clone() };
    let ddw = &c.dys[0];
    let d_x = run1("Conv2DBackpropInput", &[dyr, ddw.clone()], &c.attrs.clone().with("inputShape", x.shape().to_vec()))?;
    let mut d_dy = run1("Conv2D", &[x.clone(), ddw.clone()], c.attrs)?;
    if let Some(ddb) = c.dys.get(1) {
        let channels_last = c.attrs.str_or(OP, "dataFormat", "NHWC")? != "NCHW";
        let b = if channels_last { ddb.clone() } else { ops::reshape(ddb, &[ddb.size(), 1, 1])? };
        d_dy = ops::add(&d_dy, &b)?;
    }
    let (d_dy, d_y) = if relu { (ops::binary("ReluGrad", &d_dy, y)?, Some(ops::zeros_like(y)?)) } else { (d_dy, None) };
    Ok(vec![Some(d_x), Some(d_dy), d_y])
}

/// The gradients of a fused convolution with a linear or ReLU activation and a bias of one
/// value per output channel (or none) whose filter and bias gradients come from one
/// `_FusedConv2DBackpropFilter` pass; `None` where the general rule applies (another
/// activation or bias, no filter gradient wanted, or a replaced kernel).
fn fused_conv2d_grad_one_pass(c: &GradCtx) -> Result<Option<Vec<Option<Tensor>>>> {
    const OP: &str = "FusedConv2D";
    let relu = match c.attrs.str_or(OP, "activation", "linear")? {
        "linear" | "" => false,
        "relu" => true,
        _ => return Ok(None),
    };
    let (x, f) = (&c.inputs[0], &c.inputs[1]);
    let bias = c.inputs.get(2);
    let out_c = f.shape().get(3).copied().unwrap_or(0);
    let bias_fits = bias.is_none_or(|b| b.rank() == 1 && b.size() == out_c);
    let native = |k: &str| registry::is_native_kernel(k) && matches!(registry::get_gradient(k), Some(Gradient::Native(_)));
    if !c.needs(1) || !bias_fits || c.inputs.len() > 3 || !native(FILTER_BIAS_GRAD) || !native("Conv2DBackpropInput") || !native("ReluGrad") {
        return Ok(None);
    }
    let (dy, y) = (&c.dys[0], &c.outputs[0]);
    // The input gradient needs dy through the activation as a tensor; the filter and bias
    // gradients then read that instead of applying the derivative again.
    let (dx, dy, act) = match c.needs(0) {
        true => {
            let dyr = fused_dy(OP, c)?;
            let dx = run1("Conv2DBackpropInput", &[dyr.clone(), f.clone()], &c.attrs.clone().with("inputShape", x.shape().to_vec()))?;
            (Some(dx), dyr, "linear")
        }
        false => (None, dy.clone(), if relu { "relu" } else { "linear" }),
    };
    let attrs = c.attrs.clone().with("filterShape", f.shape().to_vec()).with("activation", act).with("withBias", bias.is_some());
    let mut grads = run_kernel(FILTER_BIAS_GRAD, &[x.clone(), dy, y.clone()], &attrs)?.into_iter().map(Some);
    let (df, db) = (grads.next().flatten(), grads.next().flatten());
    let mut g = vec![dx, df];
    if bias.is_some() {
        g.push(db);
    }
    Ok(Some(g))
}

fn fused_conv2d_grad(c: &GradCtx) -> G {
    const OP: &str = "FusedConv2D";
    if let Some(g) = fused_conv2d_grad_one_pass(c)? {
        return Ok(g);
    }
    let dy = fused_dy(OP, c)?;
    let (dx, df) = conv_grads(c, &dy)?;
    let mut g = vec![dx, df];
    if let Some(b) = c.inputs.get(2) {
        let channels_last = c.attrs.str_or(OP, "dataFormat", "NHWC")? != "NCHW";
        g.push(Some(fused_bias_grad(&dy, b, channels_last)?));
    }
    Ok(g)
}

pub fn register(r: &mut Registry) {
    r.builtin("Conv2D", &["x", "filter"], conv2d_k, Some(conv2d_grad));
    r.builtin("Conv2DBackpropInput", &["dy", "filter"], backprop_input_k, Some(backprop_input_grad));
    r.builtin("Conv2DBackpropFilter", &["x", "dy"], backprop_filter_k, Some(backprop_filter_grad));
    r.builtin("FusedConv2D", &["x", "filter", "bias", "preluActivationWeights"], fused_conv2d_k, Some(fused_conv2d_grad));
    r.builtin(FILTER_BIAS_GRAD, &["x", "dy", "y"], filter_bias_grad_k, Some(filter_bias_grad_grad));
}
