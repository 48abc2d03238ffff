//! Layers: Keras/tfjs layers as Rust structs built from their JS config objects (camelCase,
//! tfjs field names and defaults). A layer creates its weights in `build`, computes with ops in
//! `call` (so the tape records it and gradients flow), and reports its config back exactly.

use crate::error::{Error, Result};
use crate::tensor::{DType, Tensor, Variable};
use serde_json::{Map, Value};
use std::sync::Arc;

pub mod activations;
pub mod advanced_activations;
pub mod config;
pub mod constraints;
pub mod conv;
pub mod conv_separable;
pub mod core;
pub mod embedding;
pub mod helpers;
pub mod initializers;
pub mod merge;
pub mod noise;
pub mod normalization;
pub mod pooling;
pub mod recurrent;
pub mod regularizers;
pub mod reshaping;
pub mod wrappers;

#[cfg(test)]
mod tests_layers;
#[cfg(test)]
mod tests_recurrent;

pub use config::ConfigReader;

/// A shape whose dimensions may be unknown (`None`: the batch, or a free dimension).
pub type Shape = Vec<Option<usize>>;

pub fn fmt_shape(s: &Shape) -> String {
    let parts: Vec<String> = s.iter().map(|d| d.map(|v| v.to_string()).unwrap_or_else(|| "null".into())).collect();
    format!("[{}]", parts.join(","))
}

/// What a call knows besides its inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallContext {
    /// True inside `fit`/`trainOnBatch` (dropout drops, batch norm uses batch statistics).
    pub training: bool,
}

/// A weight of a layer, with what training does to it besides the gradient step.
#[derive(Clone)]
pub struct LayerWeight {
    pub var: Arc<Variable>,
    pub regularizer: Option<regularizers::Regularizer>,
    pub constraint: Option<constraints::Constraint>,
}

impl LayerWeight {
    pub fn trainable(&self) -> bool {
        self.var.trainable()
    }
}

/// A built-in layer. Layers are shared (`Arc`) between the JS objects and the models that use
/// them, so every method takes `&self`; `build` creates the weights once.
pub trait Layer: Send + Sync {
    /// The Keras/tfjs class name (`Dense`, `Conv2D`, …).
    fn class_name(&self) -> &'static str;
    fn name(&self) -> &str;
    /// `getConfig()`: tfjs's fields, in tfjs's order, camelCase.
    fn config(&self) -> Value;
    /// Creates the weights for inputs of these shapes (no-op once built).
    fn build(&self, input_shapes: &[Shape]) -> Result<()>;
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>>;
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>>;
    /// `call` given a mask per input (`None`: unmasked; tfjs's `kwargs.mask`). Recurrent layers
    /// hold their state over masked time steps; other layers ignore masks (the default).
    fn call_masked(&self, inputs: &[Tensor], masks: &[Option<Tensor>], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let _ = masks;
        self.call(inputs, ctx)
    }
    /// The mask of the outputs, one for all of them (tfjs `computeMask` as its model executor
    /// uses it): `Masking` and `Embedding({maskZero: true})` make one, the layers tfjs marks as
    /// supporting masks pass theirs on, and every other layer drops it (the default). Masks are
    /// bool `[batch, time]`; they are constants, computed with no tape recording.
    fn compute_mask(&self, inputs: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        let _ = (inputs, masks);
        Ok(None)
    }
    /// All weights, in tfjs order (as created).
    fn weights(&self) -> Vec<LayerWeight> {
        Vec::new()
    }
    /// The fixed batch input shape given in the config (`inputShape`/`batchInputShape`).
    fn batch_input_shape(&self) -> Option<Shape> {
        None
    }
    /// `activityRegularizer`: a penalty on the layer's output that training adds to the loss
    /// (Keras semantics, divided by the batch size; tfjs 4.22 refuses such layers).
    fn activity_regularizer(&self) -> Option<&regularizers::Regularizer> {
        None
    }
}

pub type LayerRef = Arc<dyn Layer>;

/// The mask of the first input: what a layer that keeps the time axis passes on.
pub fn first_mask(masks: &[Option<Tensor>]) -> Option<Tensor> {
    masks.first().cloned().flatten()
}

/// The fields every layer config may carry (tfjs `LayerArgs`).
#[derive(Debug, Clone)]
pub struct BaseConfig {
    pub name: String,
    pub trainable: bool,
    pub batch_input_shape: Option<Shape>,
    /// What tfjs writes as `dtype`: set only for layers given an input shape (the dtype of the
    /// input layer created for them, float32 unless `dtype`/`inputDType` says otherwise).
    pub dtype: Option<DType>,
}

impl BaseConfig {
    /// Reads the common fields. `name` is required: the JS side assigns tfjs-style unique
    /// names (`dense_Dense1`) before building the native layer.
    pub fn read(r: &mut ConfigReader) -> Result<BaseConfig> {
        let name = r.string("name")?.ok_or_else(|| Error::arg(r.layer(), "config.name is required"))?;
        let trainable = r.bool("trainable")?.unwrap_or(true);
        let input_shape = r.shape("inputShape")?;
        let batch_size = r.usize("batchSize")?;
        let parse = |key: &str, d: Option<String>| -> Result<Option<DType>> {
            match d {
                Some(d) => DType::parse(&d).map(Some).map_err(|_| Error::arg(r.layer(), format!("config.{key} must be float32, int32 or bool, got '{d}'"))),
                None => Ok(None),
            }
        };
        let given = parse("dtype", r.string("dtype")?)?;
        let input_dtype = parse("inputDType", r.string("inputDType")?)?;
        let batch_input_shape = match (r.shape("batchInputShape")?, input_shape) {
            (Some(b), _) => Some(b),
            (None, Some(s)) => {
                let mut b = vec![batch_size];
                b.extend(s);
                Some(b)
            }
            (None, None) => None,
        };
        let dtype = batch_input_shape.as_ref().map(|_| given.or(input_dtype).unwrap_or(DType::Float32));
        r.skip("weights");
        Ok(BaseConfig { name, trainable, batch_input_shape, dtype })
    }

    /// Appends tfjs's base config fields (after the layer's own, as tfjs orders them).
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert("trainable".into(), Value::from(self.trainable));
        if let Some(b) = &self.batch_input_shape {
            m.insert("batchInputShape".into(), shape_value(b));
        }
        if let Some(d) = self.dtype {
            m.insert("dtype".into(), Value::from(d.name()));
        }
    }
}

pub fn shape_value(s: &Shape) -> Value {
    Value::Array(s.iter().map(|d| d.map(Value::from).unwrap_or(Value::Null)).collect())
}

/// Concrete dimensions of a tensor as a `Shape`.
pub fn shape_of(t: &Tensor) -> Shape {
    t.shape().iter().map(|&d| Some(d)).collect()
}

/// Creates a weight variable named `<layer>/<weight>`.
pub fn make_weight(
    layer: &str,
    weight: &str,
    shape: &[usize],
    init: &initializers::Initializer,
    trainable: bool,
    regularizer: Option<regularizers::Regularizer>,
    constraint: Option<constraints::Constraint>,
) -> Result<LayerWeight> {
    let value = init.init(shape)?;
    Ok(LayerWeight { var: Variable::new(&value, Some(format!("{layer}/{weight}")), trainable), regularizer, constraint })
}

/// Checks `n` inputs were given, naming the layer.
pub fn expect_inputs(layer: &str, given: usize, want: usize) -> Result<()> {
    if given != want {
        return Err(Error::arg(layer, format!("expected {want} input(s), got {given}")));
    }
    Ok(())
}

/// The one input shape of a single-input layer.
pub fn single_shape<'a>(layer: &str, shapes: &'a [Shape]) -> Result<&'a Shape> {
    expect_inputs(layer, shapes.len(), 1)?;
    Ok(&shapes[0])
}

type Factory = fn(&mut ConfigReader, &Value) -> Result<LayerRef>;

fn make<L: Layer + 'static>(f: fn(&mut ConfigReader) -> Result<L>) -> impl Fn(&mut ConfigReader) -> Result<LayerRef> {
    move |r| Ok(Arc::new(f(r)?) as LayerRef)
}

/// Every built-in layer class, by its Keras/tfjs class name. The JS factories
/// (`tf.layers.dense`, …) are generated from this table.
static CLASSES: &[(&str, Factory)] = &[
    ("Dense", |r, _| make(core::Dense::from_config)(r)),
    ("Activation", |r, _| make(core::Activation::from_config)(r)),
    ("Flatten", |r, _| make(core::Flatten::from_config)(r)),
    ("Dropout", |r, _| make(core::Dropout::from_config)(r)),
    ("RNN", |r, c| Ok(Arc::new(recurrent::Rnn::from_config("RNN", r, c)?))),
    ("SimpleRNN", |r, c| Ok(Arc::new(recurrent::Rnn::from_config("SimpleRNN", r, c)?))),
    ("LSTM", |r, c| Ok(Arc::new(recurrent::Rnn::from_config("LSTM", r, c)?))),
    ("GRU", |r, c| Ok(Arc::new(recurrent::Rnn::from_config("GRU", r, c)?))),
    ("SimpleRNNCell", |r, c| Ok(Arc::new(recurrent::CellLayer::from_config(recurrent::CellKind::SimpleRnn, r, c)?))),
    ("LSTMCell", |r, c| Ok(Arc::new(recurrent::CellLayer::from_config(recurrent::CellKind::Lstm, r, c)?))),
    ("GRUCell", |r, c| Ok(Arc::new(recurrent::CellLayer::from_config(recurrent::CellKind::Gru, r, c)?))),
    ("Bidirectional", |r, c| Ok(Arc::new(wrappers::Bidirectional::from_config(r, c)?))),
    ("TimeDistributed", |r, _| Ok(Arc::new(wrappers::TimeDistributed::from_config(r)?))),
    ("Conv1D", |r, _| make(conv::Conv::conv1d)(r)),
    ("Conv2D", |r, _| make(conv::Conv::conv2d)(r)),
    ("Conv2DTranspose", |r, _| make(conv::Conv::conv2d_transpose)(r)),
    ("DepthwiseConv2D", |r, _| make(conv_separable::DepthwiseConv2D::from_config)(r)),
    ("SeparableConv2D", |r, _| make(conv_separable::SeparableConv2D::from_config)(r)),
    ("MaxPooling1D", |r, _| make(pooling::Pooling1D::max_pooling)(r)),
    ("MaxPooling2D", |r, _| make(pooling::Pooling2D::max_pooling)(r)),
    ("AveragePooling1D", |r, _| make(pooling::Pooling1D::average_pooling)(r)),
    ("AveragePooling2D", |r, _| make(pooling::Pooling2D::average_pooling)(r)),
    ("GlobalAveragePooling1D", |r, _| make(pooling::GlobalPooling::average_1d)(r)),
    ("GlobalAveragePooling2D", |r, _| make(pooling::GlobalPooling::average_2d)(r)),
    ("GlobalMaxPooling1D", |r, _| make(pooling::GlobalPooling::max_1d)(r)),
    ("GlobalMaxPooling2D", |r, _| make(pooling::GlobalPooling::max_2d)(r)),
    ("BatchNormalization", |r, _| make(normalization::BatchNormalization::from_config)(r)),
    ("LayerNormalization", |r, _| make(normalization::LayerNormalization::from_config)(r)),
    ("Reshape", |r, _| make(reshaping::Reshape::from_config)(r)),
    ("Permute", |r, _| make(reshaping::Permute::from_config)(r)),
    ("RepeatVector", |r, _| make(reshaping::RepeatVector::from_config)(r)),
    ("ZeroPadding2D", |r, _| make(reshaping::ZeroPadding2D::from_config)(r)),
    ("Cropping2D", |r, _| make(reshaping::Cropping2D::from_config)(r)),
    ("UpSampling2D", |r, _| make(reshaping::UpSampling2D::from_config)(r)),
    ("Masking", |r, _| make(reshaping::Masking::from_config)(r)),
    ("Embedding", |r, _| make(embedding::Embedding::from_config)(r)),
    ("Add", |r, _| make(merge::Merge::add)(r)),
    ("Average", |r, _| make(merge::Merge::average)(r)),
    ("Concatenate", |r, _| make(merge::Concatenate::from_config)(r)),
    ("Maximum", |r, _| make(merge::Merge::maximum)(r)),
    ("Minimum", |r, _| make(merge::Merge::minimum)(r)),
    ("Multiply", |r, _| make(merge::Merge::multiply)(r)),
    ("Dot", |r, _| make(merge::Dot::from_config)(r)),
    ("ELU", |r, _| make(advanced_activations::ELU::from_config)(r)),
    ("ReLU", |r, _| make(advanced_activations::ReLU::from_config)(r)),
    ("LeakyReLU", |r, _| make(advanced_activations::LeakyReLU::from_config)(r)),
    ("PReLU", |r, _| make(advanced_activations::PReLU::from_config)(r)),
    ("Softmax", |r, _| make(advanced_activations::Softmax::from_config)(r)),
    ("ThresholdedReLU", |r, _| make(advanced_activations::ThresholdedReLU::from_config)(r)),
    ("GaussianNoise", |r, _| make(noise::GaussianNoise::from_config)(r)),
    ("GaussianDropout", |r, _| make(noise::GaussianDropout::from_config)(r)),
    ("AlphaDropout", |r, _| make(noise::AlphaDropout::from_config)(r)),
];

pub fn class_names() -> Vec<&'static str> {
    CLASSES.iter().map(|(n, _)| *n).collect()
}

/// Builds a built-in layer from a config read from a model file: keys the layer does not
/// know are ignored (Keras writes extra ones), in nested configs too; bad values still fail.
pub fn from_file_config(class_name: &str, config: &Value) -> Result<LayerRef> {
    let _scope = config::FileConfigScope::enter();
    from_config(class_name, config)
}

/// Builds a built-in layer from its class name and JS (camelCase) config.
pub fn from_config(class_name: &str, config: &Value) -> Result<LayerRef> {
    let (_, factory) = CLASSES
        .iter()
        .find(|(n, _)| *n == class_name)
        .ok_or_else(|| Error::arg("layers", format!("unknown layer class '{class_name}'")))?;
    let mut r = ConfigReader::new(class_name, config)?;
    let layer = factory(&mut r, config)?;
    r.finish()?;
    Ok(layer)
}
