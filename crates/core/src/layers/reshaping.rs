//! Layers that move data around: Reshape, Permute, RepeatVector, ZeroPadding2D, Cropping2D,
//! UpSampling2D, and Masking.

use super::helpers::{data_format_value, expect_rank, one_input, read_data_format, read_tuple};
use super::{fmt_shape, shape_of, shape_value, single_shape, BaseConfig, CallContext, ConfigReader, Layer, Shape};
use crate::attrs::Attrs;
use crate::engine::{run1, without_tapes};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use serde_json::{json, Map, Value};

/// `Reshape`: `[batch, …]` → `[batch, …targetShape]`, with at most one unknown target dimension
/// (`-1` or `null`) inferred from the input's size. The batch dimension is kept.
///
/// tfjs leaves the inferred dimension unknown in the symbolic output shape whenever any input
/// dimension is, including the batch; here only unknown non-batch dimensions do, so the shape
/// that follows `Reshape({targetShape: [-1]})` is known.
pub struct Reshape {
    base: BaseConfig,
    target: Shape,
}

impl Reshape {
    pub fn from_config(r: &mut ConfigReader) -> Result<Reshape> {
        let bad = |v: &Value| Error::arg(r.layer(), format!("config.targetShape must be a list of positive integers (one may be -1 or null), got {v}"));
        let target = match r.value("targetShape") {
            None => return Err(Error::arg(r.layer(), "config.targetShape is required")),
            Some(Value::Array(a)) => a
                .iter()
                .map(|d| match d {
                    Value::Null => Ok(None),
                    d => match d.as_f64() {
                        Some(f) if f.fract() == 0.0 && f < 0.0 => Ok(None),
                        Some(f) if f.fract() == 0.0 => Ok(Some(f as usize)),
                        _ => Err(bad(&Value::Array(a.clone()))),
                    },
                })
                .collect::<Result<Shape>>()?,
            Some(v) => return Err(bad(&v)),
        };
        if target.iter().filter(|d| d.is_none()).count() > 1 {
            return Err(Error::arg(r.layer(), format!("config.targetShape can have only one unknown dimension, got {}", fmt_shape(&target))));
        }
        Ok(Reshape { target, base: BaseConfig::read(r)? })
    }

    /// The target shape with its unknown dimension resolved for `size` elements per example.
    fn resolve(&self, size: usize, input: &Shape) -> Result<Vec<usize>> {
        let known: usize = self.target.iter().flatten().product();
        let err = || {
            Error::arg(&self.base.name, format!("cannot reshape an input of shape {} to target shape {}: the total size must be unchanged", fmt_shape(input), fmt_shape(&self.target)))
        };
        let unknown = self.target.iter().position(Option::is_none);
        match unknown {
            Some(_) if known == 0 || !size.is_multiple_of(known) => Err(err()),
            None if known != size => Err(err()),
            _ => Ok(self.target.iter().map(|d| d.unwrap_or(size / known.max(1))).collect()),
        }
    }
}

impl Layer for Reshape {
    super::helpers::layer_common!("Reshape");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("targetShape".into(), shape_value(&self.target));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        if s.is_empty() {
            return Err(Error::arg(&self.base.name, "Reshape needs an input with a batch dimension"));
        }
        let mut out = vec![s[0]];
        match s[1..].iter().copied().collect::<Option<Vec<usize>>>() {
            Some(dims) => out.extend(self.resolve(dims.iter().product(), s)?.into_iter().map(Some)),
            None => out.extend(self.target.iter().copied()),
        }
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        if x.rank() == 0 {
            return Err(Error::arg(&self.base.name, "Reshape needs an input with a batch dimension"));
        }
        let b = x.shape()[0];
        let mut shape = vec![b];
        shape.extend(self.resolve(x.shape()[1..].iter().product(), &shape_of(x))?);
        Ok(vec![ops::reshape(x, &shape)?])
    }
}

/// `Permute`: reorders the non-batch dimensions; `dims` is a permutation of `1..=n` (1-based,
/// the batch stays first). `[batch, d1, d2]` with `dims: [2, 1]` → `[batch, d2, d1]`.
pub struct Permute {
    base: BaseConfig,
    dims: Vec<usize>,
}

impl Permute {
    pub fn from_config(r: &mut ConfigReader) -> Result<Permute> {
        let dims = match r.value("dims") {
            None => return Err(Error::arg(r.layer(), "config.dims is required (a permutation of 1..n)")),
            Some(Value::Array(a)) => a.iter().map(|v| v.as_u64().map(|d| d as usize)).collect::<Option<Vec<usize>>>(),
            Some(_) => None,
        };
        let mut sorted = dims.clone().unwrap_or_default();
        sorted.sort_unstable();
        if dims.is_none() || sorted != (1..=sorted.len()).collect::<Vec<_>>() {
            return Err(Error::arg(r.layer(), format!("invalid permutation config.dims {}: it must contain consecutive integers starting from 1", r.value("dims").unwrap_or_default())));
        }
        Ok(Permute { dims: dims.unwrap_or_default(), base: BaseConfig::read(r)? })
    }
}

impl Layer for Permute {
    super::helpers::layer_common!("Permute");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("dims".into(), json!(self.dims));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        expect_rank(&self.base.name, "Permute input", s, self.dims.len() + 1)?;
        let mut out = vec![s[0]];
        out.extend(self.dims.iter().map(|&d| s[d]));
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.compute_output_shape(&[shape_of(x)])?;
        let mut perm = vec![0];
        perm.extend(&self.dims);
        Ok(vec![ops::transpose(x, &perm)?])
    }
}

/// `RepeatVector`: `[batch, features]` → `[batch, n, features]`, the input repeated `n` times.
pub struct RepeatVector {
    base: BaseConfig,
    n: usize,
}

impl RepeatVector {
    pub fn from_config(r: &mut ConfigReader) -> Result<RepeatVector> {
        let n = r.positive("n")?.ok_or_else(|| Error::arg(r.layer(), "config.n is required (a positive integer)"))?;
        Ok(RepeatVector { n, base: BaseConfig::read(r)? })
    }
}

impl Layer for RepeatVector {
    super::helpers::layer_common!("RepeatVector");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("n".into(), Value::from(self.n));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        expect_rank(&self.base.name, "RepeatVector input", s, 2)?;
        Ok(vec![vec![s[0], Some(self.n), s[1]]])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.compute_output_shape(&[shape_of(x)])?;
        let (b, d) = (x.shape()[0], x.shape()[1]);
        Ok(vec![ops::tile(&ops::reshape(x, &[b, 1, d])?, &[1, self.n, 1])?])
    }
}

/// `[[top, bottom], [left, right]]` from a number, `[symmetric height, symmetric width]` or the
/// full form (ZeroPadding2D `padding`, Cropping2D `cropping`).
fn read_pairs(r: &ConfigReader, key: &str, default: Option<usize>) -> Result<[[usize; 2]; 2]> {
    let v = match (r.value(key), default) {
        (Some(v), _) => v,
        (None, Some(d)) => return Ok([[d, d], [d, d]]),
        (None, None) => return Err(Error::arg(r.layer(), format!("config.{key} is required"))),
    };
    let bad = || Error::arg(r.layer(), format!("config.{key} must be an integer, [height, width] or [[top, bottom], [left, right]], got {v}"));
    let int = |v: &Value| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as usize);
    if let Some(n) = int(&v) {
        return Ok([[n, n], [n, n]]);
    }
    let Some([h, w]) = v.as_array().map(Vec::as_slice) else { return Err(bad()) };
    let pair = |p: &Value| -> Option<[usize; 2]> {
        match int(p) {
            Some(n) => Some([n, n]),
            None => match p.as_array().map(Vec::as_slice) {
                Some([a, b]) => Some([int(a)?, int(b)?]),
                _ => None,
            },
        }
    };
    match (pair(h), pair(w), h.is_number() == w.is_number()) {
        (Some(h), Some(w), true) => Ok([h, w]),
        _ => Err(bad()),
    }
}

fn spatial_axes(channels_last: bool) -> (usize, usize) {
    if channels_last { (1, 2) } else { (2, 3) }
}

/// `ZeroPadding2D`: pads rows and columns with zeros. Input `[batch, rows, cols, channels]`
/// (`channelsFirst`: `[batch, channels, rows, cols]`) → `[batch, rows + top + bottom, cols +
/// left + right, channels]`. `padding` defaults to 1 on every side.
pub struct ZeroPadding2D {
    base: BaseConfig,
    padding: [[usize; 2]; 2],
    channels_last: bool,
}

impl ZeroPadding2D {
    pub fn from_config(r: &mut ConfigReader) -> Result<ZeroPadding2D> {
        Ok(ZeroPadding2D { padding: read_pairs(r, "padding", Some(1))?, channels_last: read_data_format(r)?, base: BaseConfig::read(r)? })
    }
}

impl Layer for ZeroPadding2D {
    super::helpers::layer_common!("ZeroPadding2D");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("padding".into(), json!(self.padding));
        m.insert("dataFormat".into(), data_format_value(self.channels_last));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        expect_rank(&self.base.name, "ZeroPadding2D input", s, 4)?;
        let (h, w) = spatial_axes(self.channels_last);
        let mut out = s.clone();
        out[h] = s[h].map(|d| d + self.padding[0][0] + self.padding[0][1]);
        out[w] = s[w].map(|d| d + self.padding[1][0] + self.padding[1][1]);
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.compute_output_shape(&[shape_of(x)])?;
        let (h, w) = spatial_axes(self.channels_last);
        let mut p = [[0usize; 2]; 4];
        p[h] = self.padding[0];
        p[w] = self.padding[1];
        Ok(vec![ops::pad(x, &p, 0.0)?])
    }
}

/// `Cropping2D`: removes rows and columns at the borders. Input `[batch, rows, cols, channels]`
/// (`channelsFirst`: `[batch, channels, rows, cols]`) → `[batch, rows - top - bottom, cols -
/// left - right, channels]`.
pub struct Cropping2D {
    base: BaseConfig,
    cropping: [[usize; 2]; 2],
    channels_last: bool,
}

impl Cropping2D {
    pub fn from_config(r: &mut ConfigReader) -> Result<Cropping2D> {
        Ok(Cropping2D { cropping: read_pairs(r, "cropping", None)?, channels_last: read_data_format(r)?, base: BaseConfig::read(r)? })
    }
    fn cropped(&self, d: Option<usize>, i: usize) -> Result<Option<usize>> {
        let [a, b] = self.cropping[i];
        match d {
            Some(d) if a + b > d => Err(Error::arg(&self.base.name, format!("cannot crop {a} + {b} from a dimension of {d}"))),
            d => Ok(d.map(|d| d - a - b)),
        }
    }
}

impl Layer for Cropping2D {
    super::helpers::layer_common!("Cropping2D");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("cropping".into(), json!(self.cropping));
        m.insert("dataFormat".into(), data_format_value(self.channels_last));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        expect_rank(&self.base.name, "Cropping2D input", s, 4)?;
        let (h, w) = spatial_axes(self.channels_last);
        let mut out = s.clone();
        out[h] = self.cropped(s[h], 0)?;
        out[w] = self.cropped(s[w], 1)?;
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        let out = self.compute_output_shape(&[shape_of(x)])?.remove(0);
        let size: Vec<usize> = out.iter().map(|d| d.unwrap_or(0)).collect();
        let (h, w) = spatial_axes(self.channels_last);
        let mut begin = vec![0; 4];
        begin[h] = self.cropping[0][0];
        begin[w] = self.cropping[1][0];
        Ok(vec![ops::slice(x, &begin, &size)?])
    }
}

/// `UpSampling2D`: repeats rows and columns `size` times (`'nearest'`, the default) or resizes
/// bilinearly. Input `[batch, rows, cols, channels]` (`channelsFirst`: `[batch, channels, rows,
/// cols]`) → `[batch, rows·size[0], cols·size[1], channels]`. `size` defaults to `[2, 2]`.
pub struct UpSampling2D {
    base: BaseConfig,
    size: Vec<usize>,
    channels_last: bool,
    bilinear: bool,
}

impl UpSampling2D {
    pub fn from_config(r: &mut ConfigReader) -> Result<UpSampling2D> {
        Ok(UpSampling2D {
            size: read_tuple(r, "size", 2, Some(2))?,
            channels_last: read_data_format(r)?,
            bilinear: r.choice("interpolation", &["nearest", "bilinear"])?.as_deref() == Some("bilinear"),
            base: BaseConfig::read(r)?,
        })
    }
}

impl Layer for UpSampling2D {
    super::helpers::layer_common!("UpSampling2D");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("size".into(), json!(self.size));
        m.insert("dataFormat".into(), data_format_value(self.channels_last));
        m.insert("interpolation".into(), Value::from(if self.bilinear { "bilinear" } else { "nearest" }));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        expect_rank(&self.base.name, "UpSampling2D input", s, 4)?;
        let (h, w) = spatial_axes(self.channels_last);
        let mut out = s.clone();
        out[h] = s[h].map(|d| d * self.size[0]);
        out[w] = s[w].map(|d| d * self.size[1]);
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.compute_output_shape(&[shape_of(x)])?;
        let (h, w) = spatial_axes(self.channels_last);
        let new_size = vec![x.shape()[h] * self.size[0], x.shape()[w] * self.size[1]];
        let mut x = ops::cast(x, DType::Float32)?;
        if !self.channels_last {
            x = ops::transpose(&x, &[0, 2, 3, 1])?;
        }
        let kernel = if self.bilinear { "ResizeBilinear" } else { "ResizeNearestNeighbor" };
        let attrs = Attrs::new().with("size", new_size).with("alignCorners", false).with("halfPixelCenters", false);
        let mut y = run1(kernel, &[x], &attrs)?;
        if !self.channels_last {
            y = ops::transpose(&y, &[0, 3, 1, 2])?;
        }
        Ok(vec![y])
    }
}

/// `Masking`: zeroes every timestep whose features (the last axis) all equal `maskValue`
/// (default 0). Input `[batch, …, features]` → the same shape. Its mask (`[batch, …]`, true
/// where a feature differs from `maskValue`) makes the recurrent layers downstream skip those
/// steps.
pub struct Masking {
    base: BaseConfig,
    mask_value: f64,
}

impl Masking {
    pub fn from_config(r: &mut ConfigReader) -> Result<Masking> {
        Ok(Masking { mask_value: r.f64("maskValue")?.unwrap_or(0.0), base: BaseConfig::read(r)? })
    }
}

impl Layer for Masking {
    super::helpers::layer_common!("Masking");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("maskValue".into(), Value::from(self.mask_value));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        Ok(vec![single_shape(&self.base.name, input_shapes)?.clone()])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        if x.rank() == 0 {
            return Err(Error::arg(&self.base.name, "Masking needs an input of rank >= 1"));
        }
        // Which positions to keep is a constant as far as gradients go.
        let keep = without_tapes(|| -> Result<Tensor> {
            let differs = ops::binary("NotEqual", x, &Tensor::scalar(self.mask_value as f32))?;
            let any = run1("Any", &[differs], &Attrs::new().with("axis", vec![x.rank() as i64 - 1]).with("keepDims", true))?;
            ops::cast(&any, x.dtype())
        })?;
        Ok(vec![ops::mul(x, &keep)?])
    }
    fn compute_mask(&self, inputs: &[Tensor], _: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        if x.rank() == 0 {
            return Err(Error::arg(&self.base.name, "Masking needs an input of rank >= 1"));
        }
        let differs = ops::binary("NotEqual", x, &Tensor::scalar(self.mask_value as f32))?;
        Ok(Some(run1("Any", &[differs], &Attrs::new().with("axis", vec![x.rank() as i64 - 1]).with("keepDims", false))?))
    }
}
