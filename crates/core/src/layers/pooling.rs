//! Pooling layers: MaxPooling1D/2D and AveragePooling1D/2D (the `MaxPool`/`AvgPool` kernels;
//! 1-D pooling runs as 2-D pooling over columns of width 1), and the global poolings (a `Mean`
//! or `Max` over the spatial axes).

use super::helpers::{
    conv_out_len, data_format_value, expect_rank, float, ints_value, one_input, padding_value, read_data_format, read_padding, read_tuple,
};
use super::{shape_of, single_shape, BaseConfig, CallContext, ConfigReader, Layer, Shape};
use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::Result;
use crate::ops;
use crate::tensor::Tensor;
use serde_json::{Map, Value};

fn pool_attrs(size: [usize; 2], strides: [usize; 2], same: bool) -> Attrs {
    Attrs::new()
        .with("filterSize", size.to_vec())
        .with("strides", strides.to_vec())
        .with("pad", if same { "same" } else { "valid" })
        .with("dataFormat", "NHWC")
}

fn kernel(max: bool) -> &'static str {
    if max { "MaxPool" } else { "AvgPool" }
}

/// `MaxPooling1D` / `AveragePooling1D`: input `[batch, steps, channels]` →
/// `[batch, newSteps, channels]` with `newSteps = ceil(steps / strides)` for `'same'` and
/// `ceil((steps - poolSize + 1) / strides)` for `'valid'`. `poolSize` defaults to 2 and
/// `strides` to `poolSize`.
pub struct Pooling1D {
    max: bool,
    base: BaseConfig,
    pool_size: usize,
    strides: usize,
    same: bool,
}

impl Pooling1D {
    pub fn max_pooling(r: &mut ConfigReader) -> Result<Pooling1D> {
        Pooling1D::read(r, true)
    }
    pub fn average_pooling(r: &mut ConfigReader) -> Result<Pooling1D> {
        Pooling1D::read(r, false)
    }
    fn read(r: &mut ConfigReader, max: bool) -> Result<Pooling1D> {
        let pool_size = read_tuple(r, "poolSize", 1, Some(2))?[0];
        Ok(Pooling1D {
            max,
            pool_size,
            strides: read_tuple(r, "strides", 1, Some(pool_size))?[0],
            same: read_padding(r)?,
            base: BaseConfig::read(r)?,
        })
    }
    fn class(&self) -> &'static str {
        if self.max { "MaxPooling1D" } else { "AveragePooling1D" }
    }
    fn check_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = single_shape(&self.base.name, shapes)?;
        expect_rank(&self.base.name, &format!("{} input", self.class()), s, 3)?;
        Ok(s)
    }
}

impl Layer for Pooling1D {
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
        m.insert("poolSize".into(), ints_value(&[self.pool_size]));
        m.insert("padding".into(), padding_value(self.same));
        m.insert("strides".into(), ints_value(&[self.strides]));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.check_shape(input_shapes)?;
        let len = conv_out_len(&self.base.name, s[1], self.pool_size, self.same, self.strides, 1)?;
        Ok(vec![vec![s[0], len, s[2]]])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.check_shape(&[shape_of(x)])?;
        let (b, w, c) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let x4 = ops::reshape(&float(x)?, &[b, w, 1, c])?;
        let attrs = pool_attrs([self.pool_size, 1], [self.strides, 1], self.same);
        let y = run1(kernel(self.max), &[x4], &attrs)?;
        Ok(vec![ops::reshape(&y, &[b, y.shape()[1], c])?])
    }
}

/// `MaxPooling2D` / `AveragePooling2D`: input `[batch, rows, cols, channels]` (`channelsFirst`:
/// `[batch, channels, rows, cols]`) → `[batch, newRows, newCols, channels]`, each new size as
/// in Pooling1D. `poolSize` defaults to `[2, 2]` and `strides` to `poolSize`. An average over a
/// window that hangs over the border (`'same'`) divides by the positions inside the input.
pub struct Pooling2D {
    max: bool,
    base: BaseConfig,
    pool_size: Vec<usize>,
    strides: Vec<usize>,
    same: bool,
    channels_last: bool,
}

impl Pooling2D {
    pub fn max_pooling(r: &mut ConfigReader) -> Result<Pooling2D> {
        Pooling2D::read(r, true)
    }
    pub fn average_pooling(r: &mut ConfigReader) -> Result<Pooling2D> {
        Pooling2D::read(r, false)
    }
    fn read(r: &mut ConfigReader, max: bool) -> Result<Pooling2D> {
        let pool_size = read_tuple(r, "poolSize", 2, Some(2))?;
        let strides = if r.value("strides").is_none() { pool_size.clone() } else { read_tuple(r, "strides", 2, None)? };
        Ok(Pooling2D { max, pool_size, strides, same: read_padding(r)?, channels_last: read_data_format(r)?, base: BaseConfig::read(r)? })
    }
    fn class(&self) -> &'static str {
        if self.max { "MaxPooling2D" } else { "AveragePooling2D" }
    }
    fn check_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = single_shape(&self.base.name, shapes)?;
        expect_rank(&self.base.name, &format!("{} input", self.class()), s, 4)?;
        Ok(s)
    }
}

impl Layer for Pooling2D {
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
        m.insert("poolSize".into(), ints_value(&self.pool_size));
        m.insert("padding".into(), padding_value(self.same));
        m.insert("strides".into(), ints_value(&self.strides));
        m.insert("dataFormat".into(), data_format_value(self.channels_last));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.check_shape(input_shapes)?;
        let (h, w) = if self.channels_last { (1, 2) } else { (2, 3) };
        let mut out = s.clone();
        out[h] = conv_out_len(&self.base.name, s[h], self.pool_size[0], self.same, self.strides[0], 1)?;
        out[w] = conv_out_len(&self.base.name, s[w], self.pool_size[1], self.same, self.strides[1], 1)?;
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.check_shape(&[shape_of(x)])?;
        let mut x = float(x)?;
        if !self.channels_last {
            x = ops::transpose(&x, &[0, 2, 3, 1])?;
        }
        let attrs = pool_attrs([self.pool_size[0], self.pool_size[1]], [self.strides[0], self.strides[1]], self.same);
        let mut y = run1(kernel(self.max), &[x], &attrs)?;
        if !self.channels_last {
            y = ops::transpose(&y, &[0, 3, 1, 2])?;
        }
        Ok(vec![y])
    }
}

/// Global poolings: the mean or maximum over all steps / pixels.
/// - GlobalAveragePooling1D / GlobalMaxPooling1D: `[batch, steps, channels]` → `[batch, channels]`.
/// - GlobalAveragePooling2D / GlobalMaxPooling2D: `[batch, rows, cols, channels]` (`channelsFirst`:
///   `[batch, channels, rows, cols]`) → `[batch, channels]`.
pub struct GlobalPooling {
    max: bool,
    two_d: bool,
    base: BaseConfig,
    channels_last: bool,
}

impl GlobalPooling {
    fn read(r: &mut ConfigReader, max: bool, two_d: bool) -> Result<GlobalPooling> {
        let channels_last = if two_d { read_data_format(r)? } else { true };
        Ok(GlobalPooling { max, two_d, channels_last, base: BaseConfig::read(r)? })
    }
    pub fn average_1d(r: &mut ConfigReader) -> Result<GlobalPooling> {
        GlobalPooling::read(r, false, false)
    }
    pub fn max_1d(r: &mut ConfigReader) -> Result<GlobalPooling> {
        GlobalPooling::read(r, true, false)
    }
    pub fn average_2d(r: &mut ConfigReader) -> Result<GlobalPooling> {
        GlobalPooling::read(r, false, true)
    }
    pub fn max_2d(r: &mut ConfigReader) -> Result<GlobalPooling> {
        GlobalPooling::read(r, true, true)
    }
    fn class(&self) -> &'static str {
        match (self.max, self.two_d) {
            (false, false) => "GlobalAveragePooling1D",
            (true, false) => "GlobalMaxPooling1D",
            (false, true) => "GlobalAveragePooling2D",
            (true, true) => "GlobalMaxPooling2D",
        }
    }
    fn rank(&self) -> usize {
        if self.two_d { 4 } else { 3 }
    }
    fn check_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = single_shape(&self.base.name, shapes)?;
        expect_rank(&self.base.name, &format!("{} input", self.class()), s, self.rank())?;
        Ok(s)
    }
}

impl Layer for GlobalPooling {
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
        if self.two_d {
            m.insert("dataFormat".into(), data_format_value(self.channels_last));
        }
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        Ok(())
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.check_shape(input_shapes)?;
        let c = if self.channels_last { s[s.len() - 1] } else { s[1] };
        Ok(vec![vec![s[0], c]])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.check_shape(&[shape_of(x)])?;
        let axes: Vec<usize> = match (self.two_d, self.channels_last) {
            (false, _) => vec![1],
            (true, true) => vec![1, 2],
            (true, false) => vec![2, 3],
        };
        let attrs = Attrs::new().with("axis", axes).with("keepDims", false);
        let y = if self.max { run1("Max", std::slice::from_ref(x), &attrs)? } else { run1("Mean", &[float(x)?], &attrs)? };
        Ok(vec![y])
    }
}
