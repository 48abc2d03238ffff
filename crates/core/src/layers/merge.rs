//! Merge layers, called on a list of inputs: Add, Multiply, Average, Maximum, Minimum
//! (element-wise with broadcasting, as tfjs's `Merge`), Concatenate and Dot.

use super::helpers::{i64s_value, norm_axis, read_i64, read_i64s};
use super::{fmt_shape, shape_of, BaseConfig, CallContext, ConfigReader, Layer, Shape};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use serde_json::{Map, Value};

fn at_least_two(layer: &str, class: &str, n: usize) -> Result<()> {
    if n < 2 {
        return Err(Error::arg(layer, format!("a {class} layer must be called on a list of at least 2 inputs, got {n}")));
    }
    Ok(())
}

/// The one known batch size of the inputs, checking they agree.
fn batch_of(layer: &str, shapes: &[Shape]) -> Result<Option<usize>> {
    let mut batch = None;
    for s in shapes {
        if let Some(Some(b)) = s.first() {
            match batch {
                Some(prev) if prev != *b => {
                    let all: Vec<String> = shapes.iter().map(fmt_shape).collect();
                    return Err(Error::arg(layer, format!("cannot merge tensors with different batch sizes; got input shapes {}", all.join(", "))));
                }
                _ => batch = Some(*b),
            }
        }
    }
    Ok(batch)
}

/// tfjs `computeElementwiseOpOutputShape`: right-aligned broadcasting of two shapes (without
/// their batch dimension); an unknown dimension stays unknown unless the other is 1.
fn broadcast_shapes(layer: &str, a: &Shape, b: &Shape) -> Result<Shape> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let lead = long.len() - short.len();
    let mut out: Shape = long[..lead].to_vec();
    for (i, j) in long[lead..].iter().zip(short) {
        out.push(match (i, j) {
            (None, _) | (_, None) => None,
            (Some(1), j) => *j,
            (i, Some(1)) => *i,
            (Some(i), Some(j)) if i == j => Some(*i),
            _ => {
                return Err(Error::arg(layer, format!("operands could not be broadcast together with shapes {} and {}", fmt_shape(a), fmt_shape(b))));
            }
        });
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

/// `Add`, `Multiply`, `Average`, `Maximum`, `Minimum`: element-wise over two or more inputs of
/// the same batch size. The shapes (without the batch dimension) broadcast as numpy does, right
/// aligned; an input of lower rank is first given unit dimensions after its batch dimension.
/// Output: `[batch, …broadcast shape]`.
pub struct Merge {
    op: Op,
    base: BaseConfig,
}

impl Merge {
    fn read(r: &mut ConfigReader, op: Op) -> Result<Merge> {
        Ok(Merge { op, base: BaseConfig::read(r)? })
    }
    pub fn add(r: &mut ConfigReader) -> Result<Merge> {
        Merge::read(r, Op::Add)
    }
    pub fn multiply(r: &mut ConfigReader) -> Result<Merge> {
        Merge::read(r, Op::Multiply)
    }
    pub fn average(r: &mut ConfigReader) -> Result<Merge> {
        Merge::read(r, Op::Average)
    }
    pub fn maximum(r: &mut ConfigReader) -> Result<Merge> {
        Merge::read(r, Op::Maximum)
    }
    pub fn minimum(r: &mut ConfigReader) -> Result<Merge> {
        Merge::read(r, Op::Minimum)
    }
    fn class(&self) -> &'static str {
        match self.op {
            Op::Add => "Add",
            Op::Multiply => "Multiply",
            Op::Average => "Average",
            Op::Maximum => "Maximum",
            Op::Minimum => "Minimum",
        }
    }
}

impl Layer for Merge {
    fn class_name(&self) -> &'static str {
        self.class()
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn config(&self) -> Value {
        let mut m = Map::new();
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        self.compute_output_shape(input_shapes).map(|_| ())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let layer = &self.base.name;
        at_least_two(layer, self.class(), input_shapes.len())?;
        let batch = batch_of(layer, input_shapes)?;
        if let Some(s) = input_shapes.iter().find(|s| s.is_empty()) {
            return Err(Error::arg(layer, format!("merge inputs need a batch dimension, got shape {}", fmt_shape(s))));
        }
        let mut out = input_shapes[0][1..].to_vec();
        for s in &input_shapes[1..] {
            out = broadcast_shapes(layer, &out, &s[1..].to_vec())?;
        }
        let mut shape = vec![batch];
        shape.extend(out);
        Ok(vec![shape])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let shapes: Vec<Shape> = inputs.iter().map(shape_of).collect();
        self.compute_output_shape(&shapes)?;
        let max_rank = inputs.iter().map(Tensor::rank).max().unwrap_or(0);
        let expand = |x: &Tensor| -> Result<Tensor> {
            if x.rank() == max_rank {
                return Ok(x.clone());
            }
            let mut s = vec![x.shape()[0]];
            s.extend(std::iter::repeat_n(1, max_rank - x.rank()));
            s.extend_from_slice(&x.shape()[1..]);
            ops::reshape(x, &s)
        };
        let mut out = expand(&inputs[0])?;
        for x in &inputs[1..] {
            let x = expand(x)?;
            out = match self.op {
                Op::Add | Op::Average => ops::add(&out, &x)?,
                Op::Multiply => ops::mul(&out, &x)?,
                Op::Maximum => ops::maximum(&out, &x)?,
                Op::Minimum => ops::minimum(&out, &x)?,
            };
        }
        if self.op == Op::Average {
            out = ops::mul(&out, &Tensor::scalar(1.0 / inputs.len() as f32))?;
        }
        Ok(vec![out])
    }
    /// Masked where any masked input is (Keras; tfjs 4.22 leaves the last input's mask out).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        let mut out: Option<Tensor> = None;
        for m in masks.iter().flatten() {
            let m = ops::cast(m, DType::Bool)?;
            out = Some(match out {
                Some(o) => ops::binary("LogicalAnd", &o, &m)?,
                None => m,
            });
        }
        Ok(out)
    }
}

/// `Concatenate`: joins two or more inputs along `axis` (default -1). The inputs must have the
/// same rank and agree on every other dimension; the output's `axis` dimension is the sum.
pub struct Concatenate {
    base: BaseConfig,
    axis: i64,
}

impl Concatenate {
    pub fn from_config(r: &mut ConfigReader) -> Result<Concatenate> {
        Ok(Concatenate { axis: read_i64(r, "axis")?.unwrap_or(-1), base: BaseConfig::read(r)? })
    }
}

impl Layer for Concatenate {
    super::helpers::layer_common!("Concatenate");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("axis".into(), Value::from(self.axis));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        self.compute_output_shape(input_shapes).map(|_| ())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let layer = &self.base.name;
        at_least_two(layer, "Concatenate", input_shapes.len())?;
        let rank = input_shapes[0].len();
        let axis = norm_axis(layer, self.axis, rank)?;
        let mismatch = || {
            let all: Vec<String> = input_shapes.iter().map(fmt_shape).collect();
            Error::arg(layer, format!("a Concatenate layer requires inputs with matching shapes except for the concat axis; got input shapes {}", all.join(", ")))
        };
        let mut out = input_shapes[0].clone();
        for s in &input_shapes[1..] {
            if s.len() != rank {
                return Err(mismatch());
            }
            for i in (0..rank).filter(|&i| i != axis) {
                match (out[i], s[i]) {
                    (Some(a), Some(b)) if a != b => return Err(mismatch()),
                    (None, b) => out[i] = b,
                    _ => {}
                }
            }
            out[axis] = match (out[axis], s[axis]) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let shapes: Vec<Shape> = inputs.iter().map(shape_of).collect();
        self.compute_output_shape(&shapes)?;
        let xs = if inputs.iter().all(|x| x.dtype() == inputs[0].dtype()) {
            inputs.to_vec()
        } else {
            inputs.iter().map(|x| ops::cast(x, DType::Float32)).collect::<Result<Vec<_>>>()?
        };
        Ok(vec![ops::concat(&xs, self.axis)?])
    }
    /// The inputs' masks (all-true for an unmasked input, broadcast over its last axis)
    /// concatenated along `axis`, then true where all of the last axis is.
    fn compute_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        if masks.iter().all(Option::is_none) {
            return Ok(None);
        }
        let full = inputs
            .iter()
            .enumerate()
            .map(|(i, x)| match masks.get(i).cloned().flatten() {
                None => Ok(Tensor::bool(x.shape().to_vec(), vec![1; x.size()])),
                Some(m) if m.rank() < x.rank() => {
                    let mut s = m.shape().to_vec();
                    s.push(1);
                    ops::reshape(&ops::cast(&m, DType::Bool)?, &s)
                }
                Some(m) => ops::cast(&m, DType::Bool),
            })
            .collect::<Result<Vec<_>>>()?;
        let joined = ops::concat(&full, self.axis)?;
        let last = joined.rank() as i64 - 1;
        Ok(Some(crate::engine::run1("All", &[joined], &crate::attrs::Attrs::new().with("axis", vec![last]).with("keepDims", false))?))
    }
}

/// `Dot`: the batched dot product of two inputs of rank 2 or 3 along `axes` (one axis for both,
/// or `[axis of input 1, axis of input 2]`), optionally of L2-normalized inputs (cosine
/// proximity). Output: the inputs' remaining dimensions, input 1's then input 2's without its
/// batch dimension; `[batch, 1]` when nothing remains. `[b, n]·[b, n]` → `[b, 1]`;
/// `[b, m, n]·[b, n, k]` with axes `[2, 1]` → `[b, m, k]`.
pub struct Dot {
    base: BaseConfig,
    axes: Vec<i64>,
    axes_is_list: bool,
    normalize: bool,
}

impl Dot {
    pub fn from_config(r: &mut ConfigReader) -> Result<Dot> {
        let (axes, axes_is_list) = read_i64s(r, "axes")?.ok_or_else(|| Error::arg(r.layer(), "config.axes is required (an integer or a list of 2 integers)"))?;
        if axes_is_list && axes.len() != 2 {
            return Err(Error::arg(r.layer(), format!("config.axes must be an integer or a list of 2 integers, got {axes:?}")));
        }
        Ok(Dot { axes, axes_is_list, normalize: r.bool("normalize")?.unwrap_or(false), base: BaseConfig::read(r)? })
    }
    /// The contracted axis of each input, for inputs of these ranks.
    fn axes_for(&self, r1: usize, r2: usize) -> Result<(usize, usize)> {
        let (a, b) = if self.axes_is_list { (self.axes[0], self.axes[1]) } else { (self.axes[0], self.axes[0]) };
        Ok((norm_axis(&self.base.name, a, r1)?, norm_axis(&self.base.name, b, r2)?))
    }
    fn check(&self, shapes: &[Shape]) -> Result<(usize, usize)> {
        let layer = &self.base.name;
        if shapes.len() != 2 {
            return Err(Error::arg(layer, format!("a Dot layer must be called on a list of exactly 2 inputs, got {}", shapes.len())));
        }
        let (s1, s2) = (&shapes[0], &shapes[1]);
        if !(2..=3).contains(&s1.len()) || !(2..=3).contains(&s2.len()) {
            return Err(Error::arg(layer, format!("Dot supports inputs of rank 2 or 3, got shapes {} and {}", fmt_shape(s1), fmt_shape(s2))));
        }
        let (a, b) = self.axes_for(s1.len(), s2.len())?;
        if a == 0 || b == 0 {
            return Err(Error::arg(layer, "Dot cannot contract the batch dimension (axis 0)"));
        }
        if let (Some(x), Some(y)) = (s1[a], s2[b]) {
            if x != y {
                return Err(Error::arg(layer, format!("dimension incompatibility: {x} !== {y} (shapes {} and {}, axes {a} and {b})", fmt_shape(s1), fmt_shape(s2))));
            }
        }
        batch_of(layer, shapes)?;
        Ok((a, b))
    }
}

/// x / sqrt(max(Σx², ε)) along `axis` (tfjs `l2Normalize`).
fn l2_normalize(x: &Tensor, axis: usize) -> Result<Tensor> {
    let x = ops::cast(x, DType::Float32)?;
    let sq = ops::sum(&ops::square(&x)?, &[axis], true)?;
    let norm = ops::sqrt(&ops::maximum(&sq, &Tensor::scalar(1e-7))?)?;
    ops::div(&x, &norm)
}

/// tfjs `batchDot` for inputs of rank 2 or 3 contracted along `a` and `b`.
fn batch_dot(x: &Tensor, y: &Tensor, a: usize, b: usize) -> Result<Tensor> {
    let (xn, yn) = (x.rank(), y.rank());
    let pad = |t: &Tensor, n: usize| -> Result<Tensor> {
        let mut s = t.shape().to_vec();
        s.extend(std::iter::repeat_n(1, n));
        ops::reshape(t, &s)
    };
    let diff = xn.abs_diff(yn);
    let (x, y) = if xn > yn { (x.clone(), pad(y, diff)?) } else { (pad(x, diff)?, y.clone()) };
    let mut out = if x.rank() == 2 {
        if a == b {
            ops::sum(&ops::mul(&x, &y)?, &[a], false)?
        } else {
            ops::sum(&ops::mul(&ops::transpose(&x, &[1, 0])?, &y)?, &[b], false)?
        }
    } else {
        ops::mat_mul(&x, &y, a != x.rank() - 1, b == y.rank() - 1)?
    };
    if diff > 0 {
        let idx = if xn > yn { xn + yn - 3 } else { xn - 1 };
        let s: Vec<usize> = out.shape().iter().enumerate().filter(|(i, _)| *i < idx || *i >= idx + diff).map(|(_, d)| *d).collect();
        out = ops::reshape(&out, &s)?;
    }
    if out.rank() == 1 {
        out = ops::reshape(&out, &[out.shape()[0], 1])?;
    }
    Ok(out)
}

impl Layer for Dot {
    super::helpers::layer_common!("Dot");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("axes".into(), i64s_value(&self.axes, self.axes_is_list));
        m.insert("normalize".into(), Value::from(self.normalize));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        self.check(input_shapes).map(|_| ())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let (a, b) = self.check(input_shapes)?;
        let mut s1 = input_shapes[0].clone();
        let mut s2 = input_shapes[1].clone();
        s1.remove(a);
        s2.remove(b);
        s2.remove(0);
        s1.extend(s2);
        if s1.len() == 1 {
            s1.push(Some(1));
        }
        Ok(vec![s1])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let shapes: Vec<Shape> = inputs.iter().map(shape_of).collect();
        let (a, b) = self.check(&shapes)?;
        let (mut x, mut y) = (inputs[0].clone(), inputs[1].clone());
        if self.normalize {
            x = l2_normalize(&x, a)?;
            y = l2_normalize(&y, b)?;
        }
        Ok(vec![batch_dot(&x, &y, a, b)?])
    }
}
