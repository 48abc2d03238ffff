//! Depthwise and separable convolution layers: DepthwiseConv2D (one `FusedDepthwiseConv2D`
//! with bias and activation inside) and SeparableConv2D (a depthwise convolution followed by a
//! 1×1 `FusedConv2D` carrying the bias and activation).

use super::constraints::Constraint;
use super::conv::ConvBase;
use super::core::{read_constraint, read_initializer, read_regularizer};
use super::helpers::{expect_rank, float, one_input, opt_value, Weights};
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{make_weight, shape_of, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::attrs::Attrs;
use crate::engine::run1;
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Tensor;
use serde_json::{Map, Value};

/// The weights and settings of the depthwise stage.
struct Depthwise {
    multiplier: usize,
    initializer: Initializer,
    regularizer: Option<Regularizer>,
    constraint: Option<Constraint>,
}

impl Depthwise {
    fn read(r: &ConfigReader, default_init: &str) -> Result<Depthwise> {
        Ok(Depthwise {
            multiplier: r.positive("depthMultiplier")?.unwrap_or(1),
            initializer: read_initializer(r, "depthwiseInitializer", default_init)?,
            regularizer: read_regularizer(r, "depthwiseRegularizer")?,
            constraint: read_constraint(r, "depthwiseConstraint")?,
        })
    }
    fn kernel(&self, layer: &str, conv: &ConvBase, in_dim: usize, trainable: bool) -> Result<LayerWeight> {
        let shape = [conv.kernel_size[0], conv.kernel_size[1], in_dim, self.multiplier];
        make_weight(layer, "depthwise_kernel", &shape, &self.initializer, trainable, self.regularizer, self.constraint.clone())
    }
}

fn nhwc(x: &Tensor, channels_last: bool) -> Result<Tensor> {
    if channels_last { Ok(x.clone()) } else { ops::transpose(x, &[0, 2, 3, 1]) }
}

fn from_nhwc(y: &Tensor, channels_last: bool) -> Result<Tensor> {
    if channels_last { Ok(y.clone()) } else { ops::transpose(y, &[0, 3, 1, 2]) }
}

/// `DepthwiseConv2D`: each input channel convolved with its own `depthMultiplier` filters.
/// Input `[batch, rows, cols, channels]` (`channelsFirst`: `[batch, channels, rows, cols]`) →
/// `[batch, newRows, newCols, channels·depthMultiplier]`, sized as Conv2D's output.
/// Weights: `depthwise_kernel` `[kh, kw, channels, depthMultiplier]`, then `bias`
/// `[channels·depthMultiplier]` when `useBias`.
///
/// Unlike tfjs 4.22, which drops it, `dilationRate` is applied (as in Keras); with the default
/// of 1 the two agree.
pub struct DepthwiseConv2D {
    base: BaseConfig,
    conv: ConvBase,
    depthwise: Depthwise,
    weights: Weights,
}

impl DepthwiseConv2D {
    pub fn from_config(r: &mut ConfigReader) -> Result<DepthwiseConv2D> {
        Ok(DepthwiseConv2D {
            conv: ConvBase::read(r, 2)?,
            depthwise: Depthwise::read(r, "glorotNormal")?,
            base: BaseConfig::read(r)?,
            weights: Weights::new(),
        })
    }
    fn check_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = single_shape(&self.base.name, shapes)?;
        expect_rank(&self.base.name, "DepthwiseConv2D input", s, 4)?;
        Ok(s)
    }
}

impl Layer for DepthwiseConv2D {
    fn activity_regularizer(&self) -> Option<&Regularizer> {
        self.conv.activity_regularizer.as_ref()
    }
    super::helpers::layer_common!("DepthwiseConv2D");
    fn config(&self) -> Value {
        let mut m = Map::new();
        self.conv.write(&mut m, true, true);
        self.base.write(&mut m);
        m.insert("depthMultiplier".into(), Value::from(self.depthwise.multiplier));
        m.insert("depthwiseInitializer".into(), self.depthwise.initializer.to_value());
        m.insert("depthwiseRegularizer".into(), opt_value(&self.depthwise.regularizer, Regularizer::to_value));
        m.insert("depthwiseConstraint".into(), opt_value(&self.depthwise.constraint, Constraint::to_value));
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        if self.weights.is_built() {
            return Ok(());
        }
        let s = self.check_shape(input_shapes)?;
        let in_dim = self.conv.in_channels(&self.base.name, s)?;
        let (name, t) = (&self.base.name, self.base.trainable);
        self.weights.build_with(|| {
            let mut w = vec![self.depthwise.kernel(name, &self.conv, in_dim, t)?];
            if self.conv.use_bias {
                let c = &self.conv;
                w.push(make_weight(name, "bias", &[in_dim * self.depthwise.multiplier], &c.bias_initializer, t, c.bias_regularizer, c.bias_constraint.clone())?);
            }
            Ok(w)
        })
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.check_shape(input_shapes)?;
        let filters = s[self.conv.channel_axis(4)].map(|c| c * self.depthwise.multiplier);
        Ok(vec![self.conv.out_shape(&self.base.name, s, filters, true)?])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        let shapes = [shape_of(x)];
        self.check_shape(&shapes)?;
        self.build(&shapes)?;
        let c = &self.conv;
        let mut w = self.weights.values().into_iter();
        let kernel = w.next().ok_or_else(|| Error::arg(&self.base.name, "the layer has no depthwise kernel"))?;
        c.check_channels(&self.base.name, x, kernel.shape()[2])?;
        let (fused, rest) = c.split_activation();
        let attrs = c.attrs([c.strides[0], c.strides[1]], [c.dilation_rate[0], c.dilation_rate[1]], true, fused);
        let mut ins = vec![nhwc(&float(x)?, c.channels_last)?, kernel];
        ins.extend(w.next());
        let y = run1("FusedDepthwiseConv2D", &ins, &attrs)?;
        Ok(vec![rest.apply(&from_nhwc(&y, c.channels_last)?)?])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}

/// `SeparableConv2D`: a depthwise convolution (`depthMultiplier` filters per input channel)
/// followed by a 1×1 convolution to `filters` channels. Input `[batch, rows, cols, channels]`
/// (`channelsFirst`: `[batch, channels, rows, cols]`) → `[batch, newRows, newCols, filters]`,
/// sized as Conv2D's output. Weights: `depthwise_kernel` `[kh, kw, channels, depthMultiplier]`,
/// `pointwise_kernel` `[1, 1, channels·depthMultiplier, filters]`, then `bias` `[filters]`.
///
/// Two departures from tfjs 4.22, whose behaviour there is a bug: `pointwiseInitializer` is
/// used (tfjs initializes the pointwise kernel with `depthwiseInitializer`), and `getConfig`
/// reports `depthMultiplier` (tfjs drops it, so its configs do not rebuild the layer).
pub struct SeparableConv2D {
    base: BaseConfig,
    filters: usize,
    conv: ConvBase,
    depthwise: Depthwise,
    pointwise_initializer: Initializer,
    pointwise_regularizer: Option<Regularizer>,
    pointwise_constraint: Option<Constraint>,
    weights: Weights,
}

impl SeparableConv2D {
    pub fn from_config(r: &mut ConfigReader) -> Result<SeparableConv2D> {
        let filters = r.positive("filters")?.ok_or_else(|| Error::arg(r.layer(), "config.filters is required (a positive integer)"))?;
        let conv = ConvBase::read(r, 2)?;
        if ["kernelInitializer", "kernelRegularizer", "kernelConstraint"].iter().any(|k| r.value(k).is_some()) {
            return Err(Error::arg(
                r.layer(),
                "fields kernelInitializer, kernelRegularizer and kernelConstraint are invalid for SeparableConv2D; use depthwiseInitializer, \
                 depthwiseRegularizer, depthwiseConstraint, pointwiseInitializer, pointwiseRegularizer and pointwiseConstraint instead",
            ));
        }
        Ok(SeparableConv2D {
            filters,
            conv,
            depthwise: Depthwise::read(r, "glorotUniform")?,
            pointwise_initializer: read_initializer(r, "pointwiseInitializer", "glorotUniform")?,
            pointwise_regularizer: read_regularizer(r, "pointwiseRegularizer")?,
            pointwise_constraint: read_constraint(r, "pointwiseConstraint")?,
            base: BaseConfig::read(r)?,
            weights: Weights::new(),
        })
    }
    fn check_shape<'a>(&self, shapes: &'a [Shape]) -> Result<&'a Shape> {
        let s = single_shape(&self.base.name, shapes)?;
        expect_rank(&self.base.name, "SeparableConv2D input", s, 4)?;
        Ok(s)
    }
}

impl Layer for SeparableConv2D {
    fn activity_regularizer(&self) -> Option<&Regularizer> {
        self.conv.activity_regularizer.as_ref()
    }
    super::helpers::layer_common!("SeparableConv2D");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("filters".into(), Value::from(self.filters));
        self.conv.write(&mut m, true, true);
        self.base.write(&mut m);
        m.insert("depthwiseInitializer".into(), self.depthwise.initializer.to_value());
        m.insert("pointwiseInitializer".into(), self.pointwise_initializer.to_value());
        m.insert("depthwiseRegularizer".into(), opt_value(&self.depthwise.regularizer, Regularizer::to_value));
        m.insert("pointwiseRegularizer".into(), opt_value(&self.pointwise_regularizer, Regularizer::to_value));
        m.insert("depthwiseConstraint".into(), opt_value(&self.depthwise.constraint, Constraint::to_value));
        m.insert("pointwiseConstraint".into(), opt_value(&self.pointwise_constraint, Constraint::to_value));
        m.insert("depthMultiplier".into(), Value::from(self.depthwise.multiplier));
        Value::Object(m)
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        if self.weights.is_built() {
            return Ok(());
        }
        let s = self.check_shape(input_shapes)?;
        let in_dim = self.conv.in_channels(&self.base.name, s)?;
        let (name, t) = (&self.base.name, self.base.trainable);
        self.weights.build_with(|| {
            let pw_shape = [1, 1, in_dim * self.depthwise.multiplier, self.filters];
            let mut w = vec![
                self.depthwise.kernel(name, &self.conv, in_dim, t)?,
                make_weight(name, "pointwise_kernel", &pw_shape, &self.pointwise_initializer, t, self.pointwise_regularizer, self.pointwise_constraint.clone())?,
            ];
            if self.conv.use_bias {
                let c = &self.conv;
                w.push(make_weight(name, "bias", &[self.filters], &c.bias_initializer, t, c.bias_regularizer, c.bias_constraint.clone())?);
            }
            Ok(w)
        })
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = self.check_shape(input_shapes)?;
        Ok(vec![self.conv.out_shape(&self.base.name, s, Some(self.filters), true)?])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        let shapes = [shape_of(x)];
        self.check_shape(&shapes)?;
        self.build(&shapes)?;
        let c = &self.conv;
        let mut w = self.weights.values().into_iter();
        let (Some(dk), Some(pk)) = (w.next(), w.next()) else { return Err(Error::arg(&self.base.name, "the layer has no kernels")) };
        c.check_channels(&self.base.name, x, dk.shape()[2])?;
        let dw_attrs = c.attrs([c.strides[0], c.strides[1]], [c.dilation_rate[0], c.dilation_rate[1]], true, "linear");
        let d = run1("DepthwiseConv2dNative", &[nhwc(&float(x)?, c.channels_last)?, dk], &dw_attrs)?;
        let (fused, rest) = c.split_activation();
        let pw_attrs = Attrs::new()
            .with("strides", vec![1, 1])
            .with("pad", "valid")
            .with("dilations", vec![1, 1])
            .with("dataFormat", "NHWC")
            .with("activation", fused);
        let mut ins = vec![d, pk];
        ins.extend(w.next());
        let y = run1("FusedConv2D", &ins, &pw_attrs)?;
        Ok(vec![from_nhwc(&rest.apply(&y)?, c.channels_last)?])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}
