//! Unary element-wise kernels (math, activations, predicates) and their gradient rules.
//! Float kernels compute in float32 whatever the input dtype (as tfjs's cpu backend);
//! `Neg`, `Abs`, `Sign` and `Square` keep int32.

use super::{map_into, zip_into};
use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{Buffer, DType, Tensor};

pub const SELU_SCALE: f32 = 1.050_700_987_355_480_5;
pub const SELU_ALPHA: f32 = 1.673_263_242_354_377_3;

fn one<'a>(op: &str, inputs: &'a [Tensor]) -> Result<&'a Tensor> {
    match inputs {
        [x] => Ok(x),
        _ => Err(Error::arg(op, format!("expected 1 input (x), got {}", inputs.len()))),
    }
}

fn float_map(op: &str, inputs: &[Tensor], f: impl Fn(f32) -> f32 + Sync) -> Result<Vec<Tensor>> {
    let x = one(op, inputs)?;
    Ok(vec![Tensor::f32(x.shape().to_vec(), map_into(&x.as_f32(), |v| f(*v)))])
}

/// Keeps int32 as int32 (Neg, Abs, Sign, Square).
fn keep_int(op: &str, inputs: &[Tensor], f: impl Fn(f32) -> f32 + Sync, g: impl Fn(i32) -> i32 + Sync) -> Result<Vec<Tensor>> {
    let x = one(op, inputs)?;
    Ok(vec![match x.buffer() {
        Buffer::I32(v) => Tensor::i32(x.shape().to_vec(), map_into(v, |v| g(*v))),
        _ => Tensor::f32(x.shape().to_vec(), map_into(&x.as_f32(), |v| f(*v))),
    }])
}

fn predicate(op: &str, inputs: &[Tensor], f: impl Fn(f32) -> bool + Sync) -> Result<Vec<Tensor>> {
    let x = one(op, inputs)?;
    Ok(vec![Tensor::bool(x.shape().to_vec(), map_into(&x.as_f32(), |v| f(*v) as u8))])
}

/// Abramowitz–Stegun 7.1.26 style rational approximation, refined: |error| < 1.5e-7.
pub fn erf(x: f32) -> f32 {
    let x = x as f64;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = 1.0
        - t * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    (if x >= 0.0 { y } else { -y }) as f32
}

/// e^x in a form the compiler vectorises (no libm call): range reduction by powers of two and
/// a degree-6 polynomial on [-ln2/2, ln2/2]; relative error below 2e-7 over the f32 range.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding and subtracting it rounds to an integer
    const HI: f32 = 88.722_84;
    const LO: f32 = -87.336_54;
    // Branch-free (selects only) so that loops over it vectorise; NaN flows through the
    // polynomial and comes out NaN.
    let xc = x.clamp(LO, HI);
    let shifted = xc * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.166_666_67 + r * (0.041_666_41 + r * (0.008_333_452 + r * 0.001_388_89)))));
    // n, an integer in [-126, 128], sits in the low mantissa bits of `shifted`: taking it from
    // there is integer arithmetic, which vectorises (a float-to-int cast does not).
    let k = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits((k.wrapping_add(127) as u32) << 23);
    let y = p * scale;
    let y = if x > HI { f32::INFINITY } else { y };
    if x < LO { 0.0 } else { y }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_fast(-x))
}

/// log(1 + e^x) without overflow.
pub fn softplus(x: f32) -> f32 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// Round half to even, as tfjs `round`.
fn round_even(x: f32) -> f32 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 { 2.0 * (x / 2.0).round() } else { r }
}

macro_rules! float_kernel {
    ($($fname:ident, $op:literal, $f:expr;)*) => {$(
        fn $fname(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> { float_map($op, i, $f) }
    )*};
}

float_kernel! {
    sqrt_k, "Sqrt", f32::sqrt;
    rsqrt_k, "Rsqrt", |x: f32| 1.0 / x.sqrt();
    reciprocal_k, "Reciprocal", |x: f32| 1.0 / x;
    exp_k, "Exp", exp_fast;
    expm1_k, "Expm1", f32::exp_m1;
    log_k, "Log", f32::ln;
    log1p_k, "Log1p", f32::ln_1p;
    sin_k, "Sin", f32::sin;
    cos_k, "Cos", f32::cos;
    tan_k, "Tan", f32::tan;
    asin_k, "Asin", f32::asin;
    acos_k, "Acos", f32::acos;
    atan_k, "Atan", f32::atan;
    sinh_k, "Sinh", f32::sinh;
    cosh_k, "Cosh", f32::cosh;
    tanh_k, "Tanh", f32::tanh;
    sigmoid_k, "Sigmoid", sigmoid;
    softplus_k, "Softplus", softplus;
    relu6_k, "Relu6", |x: f32| x.clamp(0.0, 6.0);
    elu_k, "Elu", |x: f32| if x >= 0.0 { x } else { x.exp_m1() };
    selu_k, "Selu", |x: f32| if x >= 0.0 { SELU_SCALE * x } else { SELU_SCALE * SELU_ALPHA * x.exp_m1() };
    floor_k, "Floor", f32::floor;
    ceil_k, "Ceil", f32::ceil;
    round_k, "Round", round_even;
    erf_k, "Erf", erf;
}

fn neg_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    keep_int("Neg", i, |x| -x, |x: i32| x.wrapping_neg())
}
fn abs_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    keep_int("Abs", i, f32::abs, |x: i32| x.wrapping_abs())
}
fn sign_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    keep_int("Sign", i, |x: f32| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { 0.0 }, i32::signum)
}
fn square_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    keep_int("Square", i, |x| x * x, |x: i32| x.wrapping_mul(x))
}
fn relu_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("Relu", i)?;
    Ok(vec![match x.buffer() {
        Buffer::I32(v) => Tensor::i32(x.shape().to_vec(), map_into(v, |v| (*v).max(0))),
        _ => Tensor::f32(x.shape().to_vec(), map_into(&x.as_f32(), |v| if *v > 0.0 { *v } else { 0.0 })),
    }])
}
fn leaky_relu_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let alpha = a.f64_or("LeakyRelu", "alpha", 0.2)? as f32;
    float_map("LeakyRelu", i, move |x| if x >= 0.0 { x } else { alpha * x })
}
fn step_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let alpha = a.f64_or("Step", "alpha", 0.0)? as f32;
    float_map("Step", i, move |x| if x.is_nan() { f32::NAN } else if x > 0.0 { 1.0 } else { alpha })
}
fn clip_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    let lo = a.f64("ClipByValue", "clipValueMin")? as f32;
    let hi = a.f64("ClipByValue", "clipValueMax")? as f32;
    if lo > hi {
        return Err(Error::arg("ClipByValue", format!("clipValueMin ({lo}) must be <= clipValueMax ({hi})")));
    }
    float_map("ClipByValue", i, move |x| if x.is_nan() { x } else { x.clamp(lo, hi) })
}
fn is_nan_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    predicate("IsNan", i, f32::is_nan)
}
fn is_inf_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    predicate("IsInf", i, f32::is_infinite)
}
fn is_finite_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    predicate("IsFinite", i, f32::is_finite)
}
fn logical_not_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let x = one("LogicalNot", i)?;
    let Buffer::Bool(v) = x.buffer() else { return Err(Error::dtype("LogicalNot", "bool", x.dtype().name())) };
    Ok(vec![Tensor::bool(x.shape().to_vec(), map_into(v, |b| (*b == 0) as u8))])
}
fn prelu_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let [x, alpha] = i else { return Err(Error::arg("Prelu", format!("expected 2 inputs (x, alpha), got {}", i.len()))) };
    let shape = super::binary::broadcast_shape("Prelu", x.shape(), alpha.shape())?;
    let v = super::binary::broadcast_zip(&x.as_f32(), x.shape(), &alpha.as_f32(), alpha.shape(), &shape, |x, a| if x > 0.0 { x } else { a * x });
    Ok(vec![Tensor::f32(shape, v)])
}

/// Backward kernels of the hot activations, one pass each. They are kernels (with gradients of
/// their own) so that gradients of gradients still flow through them.
fn zip_f32(op: &str, i: &[Tensor], f: impl Fn(f32, f32) -> f32 + Sync) -> Result<Vec<Tensor>> {
    let [a, b] = i else { return Err(Error::arg(op, format!("expected 2 inputs, got {}", i.len()))) };
    if a.shape() != b.shape() {
        return Err(Error::shape(op, crate::tensor::fmt_shape(a.shape()), crate::tensor::fmt_shape(b.shape())));
    }
    Ok(vec![Tensor::f32(a.shape().to_vec(), zip_into(&a.as_f32(), &b.as_f32(), |a, b| f(*a, *b)))])
}
fn relu_grad_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    zip_f32("ReluGrad", i, |dy, x| if x > 0.0 { dy } else { 0.0 })
}
fn sigmoid_grad_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    zip_f32("SigmoidGrad", i, |dy, y| dy * y * (1.0 - y))
}
fn tanh_grad_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    zip_f32("TanhGrad", i, |dy, y| dy * (1.0 - y * y))
}
fn elu_grad_k(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    zip_f32("EluGrad", i, |dy, y| if y >= 0.0 { dy } else { dy * (y + 1.0) })
}

type G = Result<Vec<Option<Tensor>>>;

fn x32(c: &GradCtx) -> Result<Tensor> {
    ops::cast(&c.inputs[0], DType::Float32)
}
fn neg_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::neg(&c.dys[0])?)])
}
fn zeros_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::zeros_like(&x32(c)?)?)])
}
fn abs_grad(c: &GradCtx) -> G {
    // d|x|/dx = 1 for x > 0, -1 otherwise (tfjs's choice at 0)
    let s = ops::step(&x32(c)?, -1.0)?;
    Ok(vec![Some(ops::mul(&c.dys[0], &s)?)])
}
fn square_grad(c: &GradCtx) -> G {
    // d(x²)/dx = 2x
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::mul(&x32(c)?, &Tensor::scalar(2.0))?)?)])
}
fn sqrt_grad(c: &GradCtx) -> G {
    // d√x/dx = 1/(2√x)
    let y = &c.outputs[0];
    Ok(vec![Some(ops::div(&c.dys[0], &ops::mul(y, &Tensor::scalar(2.0))?)?)])
}
fn rsqrt_grad(c: &GradCtx) -> G {
    // d x^(-1/2)/dx = -1/(2 x^(3/2))
    let x = x32(c)?;
    let d = ops::mul(&ops::pow(&x, &Tensor::scalar(1.5))?, &Tensor::scalar(2.0))?;
    Ok(vec![Some(ops::neg(&ops::div(&c.dys[0], &d)?)?)])
}
fn reciprocal_grad(c: &GradCtx) -> G {
    // d(1/x)/dx = -1/x²
    let x = x32(c)?;
    Ok(vec![Some(ops::neg(&ops::div(&c.dys[0], &ops::square(&x)?)?)?)])
}
fn exp_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::mul(&c.dys[0], &c.outputs[0])?)])
}
fn expm1_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::exp(&x32(c)?)?)?)])
}
fn log_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::div(&c.dys[0], &x32(c)?)?)])
}
fn log1p_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::div(&c.dys[0], &ops::add(&x32(c)?, &Tensor::scalar(1.0))?)?)])
}
fn sin_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::unary("Cos", &x32(c)?)?)?)])
}
fn cos_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::neg(&ops::mul(&c.dys[0], &ops::unary("Sin", &x32(c)?)?)?)?)])
}
fn tan_grad(c: &GradCtx) -> G {
    // d tan x/dx = 1/cos²x
    let cos = ops::unary("Cos", &x32(c)?)?;
    Ok(vec![Some(ops::div(&c.dys[0], &ops::square(&cos)?)?)])
}
fn one_minus_x2(c: &GradCtx) -> Result<Tensor> {
    ops::sub(&Tensor::scalar(1.0), &ops::square(&x32(c)?)?)
}
fn asin_grad(c: &GradCtx) -> G {
    // 1/√(1-x²)
    Ok(vec![Some(ops::div(&c.dys[0], &ops::unary("Sqrt", &one_minus_x2(c)?)?)?)])
}
fn acos_grad(c: &GradCtx) -> G {
    // -1/√(1-x²)
    Ok(vec![Some(ops::neg(&ops::div(&c.dys[0], &ops::unary("Sqrt", &one_minus_x2(c)?)?)?)?)])
}
fn atan_grad(c: &GradCtx) -> G {
    // 1/(1+x²)
    let d = ops::add(&Tensor::scalar(1.0), &ops::square(&x32(c)?)?)?;
    Ok(vec![Some(ops::div(&c.dys[0], &d)?)])
}
fn sinh_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::unary("Cosh", &x32(c)?)?)?)])
}
fn cosh_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::unary("Sinh", &x32(c)?)?)?)])
}
fn tanh_grad(c: &GradCtx) -> G {
    // 1 - tanh²
    Ok(vec![Some(ops::binary("TanhGrad", &c.dys[0], &c.outputs[0])?)])
}
fn sigmoid_grad(c: &GradCtx) -> G {
    // σ(1-σ)
    Ok(vec![Some(ops::binary("SigmoidGrad", &c.dys[0], &c.outputs[0])?)])
}
fn softplus_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::unary("Sigmoid", &x32(c)?)?)?)])
}
fn relu_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::binary("ReluGrad", &c.dys[0], &x32(c)?)?)])
}
fn relu6_grad(c: &GradCtx) -> G {
    let x = x32(c)?;
    let mask = ops::mul(&ops::cast(&ops::less_equal(&x, &Tensor::scalar(6.0))?, DType::Float32)?, &ops::step(&x, 0.0)?)?;
    Ok(vec![Some(ops::mul(&c.dys[0], &mask)?)])
}
fn elu_grad(c: &GradCtx) -> G {
    Ok(vec![Some(ops::binary("EluGrad", &c.dys[0], &c.outputs[0])?)])
}
fn selu_grad(c: &GradCtx) -> G {
    // x > 0: scale ; else scale·alpha·eˣ
    let x = x32(c)?;
    let pos = ops::greater(&x, &Tensor::scalar(0.0))?;
    let neg = ops::mul(&ops::exp(&x)?, &Tensor::scalar(SELU_SCALE * SELU_ALPHA))?;
    let d = ops::where_(&pos, &ops::full_like(&x, SELU_SCALE)?, &neg)?;
    Ok(vec![Some(ops::mul(&c.dys[0], &d)?)])
}
fn leaky_relu_grad(c: &GradCtx) -> G {
    let alpha = c.attrs.f64_or("LeakyRelu", "alpha", 0.2)? as f32;
    let x = x32(c)?;
    let pos = ops::greater(&x, &Tensor::scalar(0.0))?;
    let d = ops::where_(&pos, &ops::full_like(&x, 1.0)?, &ops::full_like(&x, alpha)?)?;
    Ok(vec![Some(ops::mul(&c.dys[0], &d)?)])
}
fn prelu_grad(c: &GradCtx) -> G {
    // d/dx = 1 (x > 0) or alpha ; d/dalpha = 0 (x > 0) or x
    let (x, alpha, dy) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let pos = ops::greater(x, &Tensor::scalar(0.0))?;
    let dx = ops::where_(&pos, dy, &ops::mul(dy, alpha)?)?;
    let da = ops::where_(&pos, &ops::zeros_like(dy)?, &ops::mul(dy, x)?)?;
    Ok(vec![Some(ops::sum_to(&dx, x.shape())?), Some(ops::sum_to(&da, alpha.shape())?)])
}
fn clip_grad(c: &GradCtx) -> G {
    let lo = c.attrs.f64("ClipByValue", "clipValueMin")? as f32;
    let hi = c.attrs.f64("ClipByValue", "clipValueMax")? as f32;
    let x = x32(c)?;
    let inside = ops::binary(
        "LogicalAnd",
        &ops::greater_equal(&x, &Tensor::scalar(lo))?,
        &ops::less_equal(&x, &Tensor::scalar(hi))?,
    )?;
    Ok(vec![Some(ops::where_(&inside, &c.dys[0], &ops::zeros_like(&c.dys[0])?)?)])
}
fn erf_grad(c: &GradCtx) -> G {
    // d erf(x)/dx = 2/√π · e^(-x²)
    let x = x32(c)?;
    let e = ops::exp(&ops::neg(&ops::square(&x)?)?)?;
    Ok(vec![Some(ops::mul(&c.dys[0], &ops::mul(&e, &Tensor::scalar(std::f32::consts::FRAC_2_SQRT_PI))?)?)])
}
fn relu_grad_grad(c: &GradCtx) -> G {
    // ReluGrad(dy, x) = dy·[x > 0]: linear in dy, piecewise constant in x
    Ok(vec![Some(ops::binary("ReluGrad", &c.dys[0], &c.inputs[1])?), Some(ops::zeros_like(&c.inputs[1])?)])
}
fn sigmoid_grad_grad(c: &GradCtx) -> G {
    // g = dy·y(1-y): ∂g/∂dy = y(1-y), ∂g/∂y = dy(1-2y)
    let (dy, y, g) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d_dy = ops::binary("SigmoidGrad", g, y)?;
    let one_m_2y = ops::sub(&Tensor::scalar(1.0), &ops::mul(y, &Tensor::scalar(2.0))?)?;
    Ok(vec![Some(d_dy), Some(ops::mul(g, &ops::mul(dy, &one_m_2y)?)?)])
}
fn tanh_grad_grad(c: &GradCtx) -> G {
    // g = dy(1-y²): ∂g/∂dy = 1-y², ∂g/∂y = -2·dy·y
    let (dy, y, g) = (&c.inputs[0], &c.inputs[1], &c.dys[0]);
    let d_dy = ops::binary("TanhGrad", g, y)?;
    let d_y = ops::mul(g, &ops::mul(&ops::mul(dy, y)?, &Tensor::scalar(-2.0))?)?;
    Ok(vec![Some(d_dy), Some(d_y)])
}

pub fn register(r: &mut Registry) {
    const X: &[&str] = &["x"];
    r.builtin("Neg", X, neg_k, Some(neg_grad));
    r.builtin("Abs", X, abs_k, Some(abs_grad));
    r.builtin("Sign", X, sign_k, Some(zeros_grad));
    r.builtin("Square", X, square_k, Some(square_grad));
    r.builtin("Sqrt", X, sqrt_k, Some(sqrt_grad));
    r.builtin("Rsqrt", X, rsqrt_k, Some(rsqrt_grad));
    r.builtin("Reciprocal", X, reciprocal_k, Some(reciprocal_grad));
    r.builtin("Exp", X, exp_k, Some(exp_grad));
    r.builtin("Expm1", X, expm1_k, Some(expm1_grad));
    r.builtin("Log", X, log_k, Some(log_grad));
    r.builtin("Log1p", X, log1p_k, Some(log1p_grad));
    r.builtin("Sin", X, sin_k, Some(sin_grad));
    r.builtin("Cos", X, cos_k, Some(cos_grad));
    r.builtin("Tan", X, tan_k, Some(tan_grad));
    r.builtin("Asin", X, asin_k, Some(asin_grad));
    r.builtin("Acos", X, acos_k, Some(acos_grad));
    r.builtin("Atan", X, atan_k, Some(atan_grad));
    r.builtin("Sinh", X, sinh_k, Some(sinh_grad));
    r.builtin("Cosh", X, cosh_k, Some(cosh_grad));
    r.builtin("Tanh", X, tanh_k, Some(tanh_grad));
    r.builtin("Sigmoid", X, sigmoid_k, Some(sigmoid_grad));
    r.builtin("Softplus", X, softplus_k, Some(softplus_grad));
    r.builtin("Relu", X, relu_k, Some(relu_grad));
    r.builtin("Relu6", X, relu6_k, Some(relu6_grad));
    r.builtin("Elu", X, elu_k, Some(elu_grad));
    r.builtin("Selu", X, selu_k, Some(selu_grad));
    r.builtin("LeakyRelu", X, leaky_relu_k, Some(leaky_relu_grad));
    r.builtin("Prelu", &["x", "alpha"], prelu_k, Some(prelu_grad));
    r.builtin("Step", X, step_k, Some(zeros_grad));
    r.builtin("ClipByValue", X, clip_k, Some(clip_grad));
    r.builtin("Floor", X, floor_k, Some(zeros_grad));
    r.builtin("Ceil", X, ceil_k, Some(zeros_grad));
    r.builtin("Round", X, round_k, Some(zeros_grad));
    r.builtin("Erf", X, erf_k, Some(erf_grad));
    r.builtin("IsNan", X, is_nan_k, Some(zeros_grad));
    r.builtin("IsInf", X, is_inf_k, Some(zeros_grad));
    r.builtin("IsFinite", X, is_finite_k, Some(zeros_grad));
    r.builtin("LogicalNot", X, logical_not_k, None);
    r.builtin("ReluGrad", &["dy", "x"], relu_grad_k, Some(relu_grad_grad));
    r.builtin("SigmoidGrad", &["dy", "y"], sigmoid_grad_k, Some(sigmoid_grad_grad));
    r.builtin("TanhGrad", &["dy", "y"], tanh_grad_k, Some(tanh_grad_grad));
    r.builtin("EluGrad", &["dy", "y"], elu_grad_k, None);
}
