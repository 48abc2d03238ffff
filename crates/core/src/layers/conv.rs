//! Convolution layers: Conv1D, Conv2D and Conv2DTranspose (this file), DepthwiseConv2D and
//! SeparableConv2D (`conv_separable`). Config fields, defaults, weight names and shapes follow
//! tfjs-layers; Conv1D and Conv2D run as one `FusedConv2D` each, with the bias and (where the
//! kernel can fuse it) the activation applied inside the kernel.

use super::activations::Activation as Act;
use super::constraints::Constraint;
use super::core::{read_activation, read_constraint, read_initializer, read_regularizer};
use super::helpers::{
    conv_out_len, data_format_value, expect_rank, float, ints_value, one_input, opt_value, padding_value, read_data_format, read_padding,
    read_tuple, Weights,
};
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{fmt_shape, make_weight, shape_of, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;
use serde_json::{Map, Value};

/// The fields every tfjs convolution layer has (tfjs `BaseConv`).
#[derive(Clone)]
pub struct ConvBase {
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    /// `padding: 'same'` (else `'valid'`).
    pub same: bool,
    pub channels_last: bool,
    pub dilation_rate: Vec<usize>,
    pub activation: Act,
    pub use_bias: bool,
    pub bias_initializer: Initializer,
    pub bias_regularizer: Option<Regularizer>,
    pub activity_regularizer: Option<Regularizer>,
    pub bias_constraint: Option<Constraint>,
}

impl ConvBase {
    /// Reads the fields of a `rank`-D convolution (1 or 2 spatial dimensions).
    pub fn read(r: &ConfigReader, rank: usize) -> Result<ConvBase> {
        Ok(ConvBase {
            kernel_size: read_tuple(r, "kernelSize", rank, None)?,
            strides: read_tuple(r, "strides", rank, Some(1))?,
            same: read_padding(r)?,
            channels_last: read_data_format(r)?,
            dilation_rate: read_tuple(r, "dilationRate", rank, Some(1))?,
            activation: read_activation(r, "activation", Act::Linear)?,
            use_bias: r.bool("useBias")?.unwrap_or(true),
            bias_initializer: read_initializer(r, "biasInitializer", "zeros")?,
            bias_regularizer: read_regularizer(r, "biasRegularizer")?,
            activity_regularizer: read_regularizer(r, "activityRegularizer")?,
            bias_constraint: read_constraint(r, "biasConstraint")?,
        })
    }

    /// tfjs's `BaseConv.getConfig` fields, in order (some classes drop `dataFormat` or
    /// `dilationRate`).
    pub fn write(&self, m: &mut Map<String, Value>, data_format: bool, dilation: bool) {
        m.insert("kernelSize".into(), ints_value(&self.kernel_size));
        m.insert("strides".into(), ints_value(&self.strides));
        m.insert("padding".into(), padding_value(self.same));
        if data_format {
            m.insert("dataFormat".into(), data_format_value(self.channels_last));
        }
        if dilation {
            m.insert("dilationRate".into(), ints_value(&self.dilation_rate));
        }
        m.insert("activation".into(), Value::from(self.activation.name()));
        m.insert("useBias".into(), Value::from(self.use_bias));
        m.insert("biasInitializer".into(), self.bias_initializer.to_value());
        m.insert("biasRegularizer".into(), opt_value(&self.bias_regularizer, Regularizer::to_value));
        m.insert("activityRegularizer".into(), opt_value(&self.activity_regularizer, Regularizer::to_value));
        m.insert("biasConstraint".into(), opt_value(&self.bias_constraint, Constraint::to_value));
    }

    /// The channel axis of a rank-`n` input.
    pub fn channel_axis(&self, n: usize) -> usize {
        if self.channels_last { n - 1 } else { 1 }
    }

    /// The known channel count of an input shape.
    pub fn in_channels(&self, layer: &str, s: &Shape) -> Result<usize> {
        s[self.channel_axis(s.len())]
            .ok_or_else(|| Error::arg(layer, format!("the channel dimension of the input must be known, got input shape {}", fmt_shape(s))))
    }

    /// The output shape of a convolution with `filters` output channels.
    pub fn out_shape(&self, layer: &str, s: &Shape, filters: Option<usize>, dilate: bool) -> Result<Shape> {
        let n = s.len();
        let space: Vec<Option<usize>> = if self.channels_last { s[1..n - 1].to_vec() } else { s[2..].to_vec() };
        let mut out = vec![s[0]];
        let mut new_space = Vec::with_capacity(space.len());
        for (i, d) in space.into_iter().enumerate() {
            let dil = if dilate { self.dilation_rate[i] } else { 1 };
            new_space.push(conv_out_len(layer, d, self.kernel_size[i], self.same, self.strides[i], dil)?);
        }
        if self.channels_last {
            out.extend(new_space);
            out.push(filters);
        } else {
            out.push(filters);
            out.extend(new_space);
        }
        Ok(out)
    }

    /// Attributes of a 2-D conv kernel with these strides/dilations (`[h, w]`).
    pub fn attrs(&self, strides: [usize; 2], dilations: [usize; 2], channels_last: bool, activation: &str) -> Attrs {
        Attrs::new()
            .with("strides", strides.to_vec())
            .with("pad", if self.same { "same" } else { "valid" })
            .with("dilations", dilations.to_vec())
            .with("dataFormat", if channels_last { "NHWC" } else { "NCHW" })
            .with("activation", activation)
    }

    /// The activation fused into the kernel, and the one applied afterwards.
    pub fn split_activation(&self) -> (&'static str, Act) {
        match self.activation.fused_name() {
            Some(name) => (name, Act::Linear),
            None => ("linear", self.activation),
        }
    }

    /// Checks that `x` has the channels the kernel was built for.
    pub fn check_channels(&self, layer: &str, x: &Tensor, want: usize) -> Result<()> {
        let c = x.shape()[self.channel_axis(x.rank())];
        if c != want {
            return Err(Error::shape(layer, format!("an input with {want} channels (as built)"), format!("shape {}", crate::tensor::fmt_shape(x.shape()))));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Conv1D,
    Conv2D,
    Conv2DTranspose,
}

/// `Conv1D`, `Conv2D` and `Conv2DTranspose`.
///
/// - Conv1D: input `[batch, steps, channels]` (`channelsFirst`: `[batch, channels, steps]`) →
///   `[batch, newSteps, filters]`; kernel `[kernelSize, channels, filters]`.
/// - Conv2D: input `[batch, rows, cols, channels]` (`channelsFirst`: `[batch, channels, rows,
///   cols]`) → `[batch, newRows, newCols, filters]`; kernel `[kh, kw, channels, filters]`.
///   `newRows = ceil(rows / stride)` for `'same'`, `ceil((rows - dilatedKernel + 1) / stride)`
///   for `'valid'`.
/// - Conv2DTranspose: input `[batch, rows, cols, channels]` → `[batch, rows·stride (+
///   max(kernel - stride, 0) for 'valid'), …, filters]`; kernel `[kh, kw, filters, channels]`.
///   As in tfjs, `dilationRate` is accepted but not used (nor reported by `getConfig`).
///
/// Weights: `kernel`, then `bias` `[filters]` when `useBias`.
pub struct Conv {
    kind: Kind,
    base: BaseConfig,
    filters: usize,
    kernel_initializer: Initializer,
    kernel_regularizer: Option<Regularizer>,
    kernel_constraint: Option<Constraint>,
    conv: ConvBase,
    weights: Weights,
}

impl Conv {
    pub fn conv1d(r: &mut ConfigReader) -> Result<Conv> {
        Conv::read(r, Kind::Conv1D)
    }
    pub fn conv2d(r: &mut ConfigReader) -> Result<Conv> {
        Conv::read(r, Kind::Conv2D)
    }
    pub fn conv2d_transpose(r: &mut ConfigReader) -> Result<Conv> {
        Conv::read(r, Kind::Conv2DTranspose)
    }

    fn read(r: &mut ConfigReader, kind: Kind) -> Result<Conv> {
        let rank = if kind == Kind::Conv1D { 1 } else { 2 };
        let filters = r
            .positive("filters")?
            .ok_or_else(|| Error::arg(r.layer(), "config.filters is required (a positive integer)"))?;
        let conv = ConvBase::read(r, rank)?;
        Ok(Conv {
            kind,
            filters,
            kernel_initializer: read_initializer(r, "kernelInitializer", "glorotNormal")?,
            kernel_regularizer: read_regularizer(r, "kernelRegularizer")?,
            kernel_constraint: read_constraint(r, "kernelConstraint")?,
            conv,
            base: BaseConfig::read(r)?,
            weights: Weights::new(),
        })
    }

    fn class(&self) -> &'static str {
        match self.kind {
            Kind::Conv1D => "Conv1D",
            Kind::Conv2D => "Conv2D",
            Kind::Conv2DTranspose => "Conv2DTranspose",
        }
    }

    fn input_rank(&self) -> usize {
        if self.kind == Kind::Conv1D { 3 } else { 4 }
    }

    fn check_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = single_shape(&self.base.name, shapes)?;
        expect_rank(&self.base.name, &format!("{} input", self.class()), s, self.input_rank())?;
        Ok(s)
    }

    /// Output size of a transposed convolution along one axis (tfjs `deconvLength`).
    fn deconv_len(&self, d: Option<usize>, i: usize) -> Option<usize> {
        let (k, s) = (self.conv.kernel_size[i], self.conv.strides[i]);
        d.map(|d| if self.conv.same { d * s } else { d * s + k.saturating_sub(s) })
    }

    fn call_conv1d(&self, x: &Tensor, kernel: &Tensor, bias: Option<Tensor>) -> Result<Tensor> {
        let c = &self.conv;
        let (fused, rest) = c.split_activation();
        // A 1-D convolution is a 2-D one over rows of height 1.
        let (b, d1, d2) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let x4 = if c.channels_last { ops::reshape(x, &[b, 1, d1, d2])? } else { ops::reshape(x, &[b, d1, 1, d2])? };
        let ks = kernel.shape();
        let k4 = ops::reshape(kernel, &[1, ks[0], ks[1], ks[2]])?;
        let attrs = c.attrs([1, c.strides[0]], [1, c.dilation_rate[0]], c.channels_last, fused);
        let mut inputs = vec![x4, k4];
        inputs.extend(bias);
        let y = run1("FusedConv2D", &inputs, &attrs)?;
        let s = y.shape();
        let y = if c.channels_last { ops::reshape(&y, &[s[0], s[2], s[3]])? } else { ops::reshape(&y, &[s[0], s[1], s[3]])? };
        rest.apply(&y)
    }

    fn call_conv2d(&self, x: &Tensor, kernel: &Tensor, bias: Option<Tensor>) -> Result<Tensor> {
        let c = &self.conv;
        let (fused, rest) = c.split_activation();
        let attrs = c.attrs([c.strides[0], c.strides[1]], [c.dilation_rate[0], c.dilation_rate[1]], c.channels_last, fused);
        let mut inputs = vec![x.clone(), kernel.clone()];
        inputs.extend(bias);
        rest.apply(&run1("FusedConv2D", &inputs, &attrs)?)
    }

    fn call_transpose(&self, x: &Tensor, kernel: &Tensor, bias: Option<Tensor>) -> Result<Tensor> {
        let c = &self.conv;
        let out = self.compute_output_shape(&[shape_of(x)])?.remove(0);
        let out: Vec<usize> = out.into_iter().map(|d| d.unwrap_or(0)).collect();
        let attrs = c.attrs([c.strides[0], c.strides[1]], [1, 1], c.channels_last, "linear").with("inputShape", out);
        let mut y = run1("Conv2DBackpropInput", &[x.clone(), kernel.clone()], &attrs)?;
        if let Some(b) = bias {
            let b = if c.channels_last { b } else { ops::reshape(&b, &[self.filters, 1, 1])? };
            y = ops::add(&y, &b)?;
        }
        c.activation.apply(&y)
    }
}

impl Layer for Conv {
    fn activity_regularizer(&self) -> Option<&Regularizer> {
        self.conv.activity_regularizer.as_ref()
    }
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
        m.insert("filters".into(), Value::from(self.filters));
        m.insert("kernelInitializer".into(), self.kernel_initializer.to_value());
        m.insert("kernelRegularizer".into(), opt_value(&self.kernel_regularizer, Regularizer::to_value));
        m.insert("kernelConstraint".into(), opt_value(&self.kernel_constraint, Constraint::to_value));
        self.conv.write(&mut m, self.kind != Kind::Conv1D, self.kind != Kind::Conv2DTranspose);
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        if self.weights.is_built() {
            return Ok(());
        }
        let s = self.check_shape(input_shapes)?;
        let in_dim = self.conv.in_channels(&self.base.name, s)?;
        let mut kshape = self.conv.kernel_size.clone();
        if self.kind == Kind::Conv2DTranspose {
            kshape.extend([self.filters, in_dim]);
        } else {
            kshape.extend([in_dim, self.filters]);
        }
        let (name, t) = (&self.base.name, self.base.trainable);
        self.weights.build_with(|| {
            let mut w = vec![make_weight(name, "kernel", &kshape, &self.kernel_initializer, t, self.kernel_regularizer, self.kernel_constraint.clone())?];
            if self.conv.use_bias {
                w.push(make_weight(name, "bias", &[self.filters], &self.conv.bias_initializer, t, self.conv.bias_regularizer, self.conv.bias_constraint.clone())?);
            }
            Ok(w)
        })
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.check_shape(input_shapes)?;
        if self.kind != Kind::Conv2DTranspose {
            return Ok(vec![self.conv.out_shape(&self.base.name, s, Some(self.filters), true)?]);
        }
        let (c, h, w) = if self.conv.channels_last { (3, 1, 2) } else { (1, 2, 3) };
        let mut out = s.clone();
        out[c] = Some(self.filters);
        out[h] = self.deconv_len(s[h], 0);
        out[w] = self.deconv_len(s[w], 1);
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        let shapes = [shape_of(x)];
        self.check_shape(&shapes)?;
        self.build(&shapes)?;
        let x = float(x)?;
        let mut w = self.weights.values().into_iter();
        let kernel = w.next().ok_or_else(|| Error::arg(&self.base.name, "the layer has no kernel"))?;
        let bias = w.next();
        let in_dim = if self.kind == Kind::Conv2DTranspose { kernel.shape()[3] } else { kernel.shape()[kernel.rank() - 2] };
        self.conv.check_channels(&self.base.name, &x, in_dim)?;
        let y = match self.kind {
            Kind::Conv1D => self.call_conv1d(&x, &kernel, bias)?,
            Kind::Conv2D => self.call_conv2d(&x, &kernel, bias)?,
            Kind::Conv2DTranspose => self.call_transpose(&x, &kernel, bias)?,
        };
        Ok(vec![y])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}
