//! `Embedding`: integer indices looked up in a learned table (the `GatherV2` kernel).

use super::constraints::Constraint;
use super::core::{read_constraint, read_initializer, read_regularizer};
use super::helpers::{one_input, opt_value, Weights};
use super::initializers::Initializer;
use super::regularizers::Regularizer;
use super::{fmt_shape, make_weight, shape_value, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerWeight, Shape};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{DType, Tensor};
use serde_json::{Map, Value};

/// `Embedding`: each index `i` in `[0, inputDim)` of the input becomes row `i` of the
/// `embeddings` weight `[inputDim, outputDim]` (default initializer `randomUniform`). Input
/// `[batch, …]` (indices; non-int32 inputs are cast) → `[batch, …, outputDim]`. `inputLength`
/// fixes the input's non-batch dimensions; without an input shape in the config the batch input
/// shape is `[batchSize, …inputLength]`, or `[batchSize, null]`.
///
/// With `maskZero`, index 0 is padding: the output's mask (`[batch, …]`, true where the index
/// is not 0) makes the recurrent layers downstream skip those steps.
pub struct Embedding {
    base: BaseConfig,
    input_dim: usize,
    output_dim: usize,
    embeddings_initializer: Initializer,
    embeddings_regularizer: Option<Regularizer>,
    activity_regularizer: Option<Regularizer>,
    embeddings_constraint: Option<Constraint>,
    mask_zero: Option<bool>,
    /// `inputLength` as given (a number or a list), and as dimensions.
    input_length: Option<(Value, Shape)>,
    weights: Weights,
}

fn read_input_length(r: &ConfigReader) -> Result<Option<(Value, Shape)>> {
    let Some(v) = r.value("inputLength") else { return Ok(None) };
    let dim = |d: &Value| match d {
        Value::Null => Some(None),
        d => d.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| Some(f as usize)),
    };
    let dims = match &v {
        Value::Array(a) => a.iter().map(dim).collect::<Option<Shape>>(),
        d => dim(d).map(|d| vec![d]),
    };
    dims.map(|d| Some((v.clone(), d)))
        .ok_or_else(|| Error::arg(r.layer(), format!("config.inputLength must be a non-negative integer or a list of them, got {v}")))
}

impl Embedding {
    pub fn from_config(r: &mut ConfigReader) -> Result<Embedding> {
        let input_dim = r.positive("inputDim")?.ok_or_else(|| Error::arg(r.layer(), "config.inputDim is required (a positive integer)"))?;
        let output_dim = r.positive("outputDim")?.ok_or_else(|| Error::arg(r.layer(), "config.outputDim is required (a positive integer)"))?;
        let input_length = read_input_length(r)?;
        let mut base = BaseConfig::read(r)?;
        if base.batch_input_shape.is_none() {
            let mut b = vec![r.usize("batchSize")?];
            match &input_length {
                Some((_, dims)) => b.extend(dims.iter().copied()),
                None => b.push(None),
            }
            base.batch_input_shape = Some(b);
        }
        Ok(Embedding {
            input_dim,
            output_dim,
            embeddings_initializer: read_initializer(r, "embeddingsInitializer", "randomUniform")?,
            embeddings_regularizer: read_regularizer(r, "embeddingsRegularizer")?,
            activity_regularizer: read_regularizer(r, "activityRegularizer")?,
            embeddings_constraint: read_constraint(r, "embeddingsConstraint")?,
            mask_zero: r.bool("maskZero")?,
            input_length,
            base,
            weights: Weights::new(),
        })
    }
}

impl Layer for Embedding {
    fn activity_regularizer(&self) -> Option<&Regularizer> {
        self.activity_regularizer.as_ref()
    }
    super::helpers::layer_common!("Embedding");
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("inputDim".into(), Value::from(self.input_dim));
        m.insert("outputDim".into(), Value::from(self.output_dim));
        m.insert("embeddingsInitializer".into(), self.embeddings_initializer.to_value());
        m.insert("embeddingsRegularizer".into(), opt_value(&self.embeddings_regularizer, Regularizer::to_value));
        m.insert("activityRegularizer".into(), opt_value(&self.activity_regularizer, Regularizer::to_value));
        m.insert("embeddingsConstraint".into(), opt_value(&self.embeddings_constraint, Constraint::to_value));
        m.insert("maskZero".into(), opt_value(&self.mask_zero, |b| Value::from(*b)));
        m.insert("inputLength".into(), opt_value(&self.input_length, |(v, _)| v.clone()));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn build(&self, _: &[Shape]) -> Result<()> {
        let (name, t) = (&self.base.name, self.base.trainable);
        let shape = [self.input_dim, self.output_dim];
        self.weights.build_with(|| {
            Ok(vec![make_weight(name, "embeddings", &shape, &self.embeddings_initializer, t, self.embeddings_regularizer, self.embeddings_constraint.clone())?])
        })
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        if s.is_empty() {
            return Err(Error::arg(&self.base.name, "Embedding needs an input with a batch dimension"));
        }
        let mut out = vec![s[0]];
        match &self.input_length {
            None => out.extend(&s[1..]),
            Some((_, lens)) => {
                let bad = || Error::arg(&self.base.name, format!("inputLength is {}, but the input has shape {}", shape_value(lens), fmt_shape(s)));
                if lens.len() != s.len() - 1 {
                    return Err(bad());
                }
                for (l, d) in lens.iter().zip(&s[1..]) {
                    out.push(match (l, d) {
                        (Some(l), Some(d)) if l != d => return Err(bad()),
                        (Some(l), _) => Some(*l),
                        (None, d) => *d,
                    });
                }
            }
        }
        out.push(Some(self.output_dim));
        Ok(vec![out])
    }
    fn call(&self, inputs: &[Tensor], _ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = one_input(&self.base.name, inputs)?;
        self.build(&[])?;
        let table = self.weights.values().pop().ok_or_else(|| Error::arg(&self.base.name, "the layer has no embeddings"))?;
        let idx = ops::reshape(&ops::cast(x, DType::Int32)?, &[x.size()])?;
        let rows = ops::gather(&table, &idx, 0, 0).map_err(|e| match e {
            Error::Arg { msg, .. } => Error::arg(&self.base.name, format!("{msg} (inputDim is {})", self.input_dim)),
            e => e,
        })?;
        let mut shape = x.shape().to_vec();
        shape.push(self.output_dim);
        Ok(vec![ops::reshape(&rows, &shape)?])
    }
    fn compute_mask(&self, inputs: &[Tensor], _: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        if self.mask_zero != Some(true) {
            return Ok(None);
        }
        let x = one_input(&self.base.name, inputs)?;
        Ok(Some(ops::binary("NotEqual", &ops::cast(x, DType::Int32)?, &Tensor::i32(vec![], vec![0]))?))
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.weights.all()
    }
}
