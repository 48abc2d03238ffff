//! Wrapper layers: `Bidirectional` (a recurrent layer run forwards and backwards) and
//! `TimeDistributed` (a layer applied to every time step).

use super::recurrent::{concat_last, Rnn};
use super::{fmt_shape, single_shape, BaseConfig, CallContext, ConfigReader, Layer, LayerRef, LayerWeight, Shape};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::{self, Tensor};
use serde_json::{json, Map, Value};

/// The `layer` entry of a wrapper config: `(className, config)`.
fn read_inner(r: &ConfigReader) -> Result<(String, Map<String, Value>)> {
    let layer = r.layer().to_string();
    let v = r.value("layer").ok_or_else(|| Error::arg(&layer, "config.layer is required (a {className, config} layer)"))?;
    let class = v
        .get("className")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::arg(&layer, format!("config.layer must be {{className, config}}, got {v}")))?;
    let cfg = match v.get("config") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(other) => return Err(Error::arg(&layer, format!("config.layer.config must be an object, got {other}"))),
    };
    Ok((class.to_string(), cfg))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeMode {
    Concat,
    Sum,
    Mul,
    Ave,
}

impl MergeMode {
    fn name(self) -> &'static str {
        match self {
            MergeMode::Concat => "concat",
            MergeMode::Sum => "sum",
            MergeMode::Mul => "mul",
            MergeMode::Ave => "ave",
        }
    }
}

/// `Bidirectional`: runs a copy of a recurrent layer forwards and another backwards over the
/// input and merges their outputs.
///
/// Input `[batch, time, inputDim]`, optionally followed by initial states (the forward layer's,
/// then the backward layer's). Each direction gives `[batch, time, units]` (`returnSequences`)
/// or `[batch, units]`; the backward per-step outputs are put back into input time order.
/// `mergeMode` `concat` (default) gives `[…, 2·units]`, `sum`/`mul`/`ave` give `[…, units]`,
/// `null` returns both outputs. With the inner layer's `returnState`, the merged output(s) are
/// followed by the forward states, then the backward states. Weights: forward, then backward,
/// named `<name>/forward_<inner>/kernel`, ….
pub struct Bidirectional {
    base: BaseConfig,
    merge_mode: Option<MergeMode>,
    /// The wrapped layer as configured (reported by `config`; never built).
    layer: Rnn,
    forward: Rnn,
    backward: Rnn,
}

impl Bidirectional {
    /// `raw` is the config object itself (`mergeMode: null` differs from an absent mergeMode).
    pub fn from_config(r: &mut ConfigReader, raw: &Value) -> Result<Bidirectional> {
        let (class, cfg) = read_inner(r)?;
        let merge_mode = if matches!(raw.get("mergeMode"), Some(Value::Null)) {
            r.skip("mergeMode");
            None
        } else {
            Some(match r.choice("mergeMode", &["concat", "sum", "mul", "ave"])?.as_deref() {
                None | Some("concat") => MergeMode::Concat,
                Some("sum") => MergeMode::Sum,
                Some("mul") => MergeMode::Mul,
                _ => MergeMode::Ave,
            })
        };
        if r.value("numConstants").is_some() {
            return Err(Error::arg("Bidirectional", "constants are not supported (config.numConstants)"));
        }
        let base = BaseConfig::read(r)?;
        if !matches!(class.as_str(), "SimpleRNN" | "LSTM" | "GRU" | "RNN") {
            return Err(Error::arg("Bidirectional", format!("config.layer must be a recurrent layer (SimpleRNN, LSTM, GRU or RNN), got '{class}'")));
        }
        let inner_name = match cfg.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => base.name.clone(),
        };
        let mut cfg = cfg;
        cfg.insert("name".into(), Value::from(inner_name.clone()));
        let layer = Rnn::from_class_config(&class, &Value::Object(cfg.clone()))?;
        if !base.trainable {
            cfg.insert("trainable".into(), Value::from(false));
        }
        let make = |dir: &str, go_backwards: bool| -> Result<Rnn> {
            let mut c = cfg.clone();
            let name = format!("{dir}_{inner_name}");
            c.insert("name".into(), Value::from(name.clone()));
            c.insert("goBackwards".into(), Value::from(go_backwards));
            let mut rnn = Rnn::from_class_config(&class, &Value::Object(c))?;
            rnn.set_weight_prefix(format!("{}/{name}", base.name));
            Ok(rnn)
        };
        let forward = make("forward", layer.go_backwards())?;
        let backward = make("backward", !layer.go_backwards())?;
        Ok(Bidirectional { base, merge_mode, layer, forward, backward })
    }

    fn merge(&self, y: Tensor, y_rev: Tensor) -> Result<Vec<Tensor>> {
        Ok(match self.merge_mode {
            None => vec![y, y_rev],
            Some(MergeMode::Concat) => vec![concat_last(&y, &y_rev)?],
            Some(MergeMode::Sum) => vec![ops::add(&y, &y_rev)?],
            Some(MergeMode::Mul) => vec![ops::mul(&y, &y_rev)?],
            Some(MergeMode::Ave) => vec![ops::mul(&ops::add(&y, &y_rev)?, &Tensor::scalar(0.5))?],
        })
    }
}

impl Layer for Bidirectional {
    fn class_name(&self) -> &'static str {
        "Bidirectional"
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn config(&self) -> Value {
        let mut m = Map::new();
        m.insert("mergeMode".into(), self.merge_mode.map(|x| Value::from(x.name())).unwrap_or(Value::Null));
        m.insert("layer".into(), json!({"className": self.layer.class_name(), "config": self.layer.config()}));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        self.forward.build(input_shapes)?;
        self.backward.build(input_shapes)
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let shapes = self.forward.compute_output_shape(input_shapes)?;
        let mut output = shapes[0].clone();
        let states = &shapes[1..];
        let mut out = match self.merge_mode {
            Some(MergeMode::Concat) => {
                let last = output.last_mut().expect("rank >= 2");
                *last = last.map(|d| 2 * d);
                vec![output]
            }
            None => vec![output.clone(), output],
            Some(_) => vec![output],
        };
        out.extend(states.iter().cloned());
        out.extend(states.iter().cloned());
        Ok(out)
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        self.call_masked(inputs, &[], ctx)
    }
    /// Both directions skip the masked steps.
    fn call_masked(&self, inputs: &[Tensor], masks: &[Option<Tensor>], ctx: &CallContext) -> Result<Vec<Tensor>> {
        let x = inputs.first().ok_or_else(|| Error::arg(&self.base.name, "expected an input"))?;
        let mask = super::first_mask(masks);
        let init = &inputs[1..];
        if !init.len().is_multiple_of(2) {
            return Err(Error::arg(
                &self.base.name,
                format!("initial states of a Bidirectional layer are the forward layer's then the backward layer's (an even count), got {}", init.len()),
            ));
        }
        let (fi, bi) = init.split_at(init.len() / 2);
        let (y, fs) = self.forward.run_sequence(x, fi, mask.as_ref(), ctx, true)?;
        let (y_rev, bs) = self.backward.run_sequence(x, bi, mask.as_ref(), ctx, true)?;
        let mut out = self.merge(y, y_rev)?;
        if self.layer.return_state() {
            out.extend(fs);
            out.extend(bs);
        }
        Ok(out)
    }
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(if self.layer.return_sequences() { super::first_mask(masks) } else { None })
    }
    fn weights(&self) -> Vec<LayerWeight> {
        let mut w = self.forward.weights();
        w.extend(self.backward.weights());
        w
    }
}

/// `TimeDistributed`: applies the wrapped layer to every time step. Input `[batch, time, …]`
/// (rank ≥ 3); the wrapped layer sees `[batch·time, …]` (one call for all steps) and its output
/// `[batch·time, …out]` is returned as `[batch, time, …out]`. The wrapped layer's weights are
/// named in the wrapper's scope, `<name>/kernel`, … (as tfjs builds them).
pub struct TimeDistributed {
    base: BaseConfig,
    inner_class: String,
    /// The wrapped layer's configured name (it is built under the wrapper's name, which names
    /// its weights).
    inner_name: String,
    inner: LayerRef,
}

impl TimeDistributed {
    pub fn from_config(r: &mut ConfigReader) -> Result<TimeDistributed> {
        let (class, mut cfg) = read_inner(r)?;
        let base = BaseConfig::read(r)?;
        if matches!(class.as_str(), "TimeDistributed" | "Bidirectional") {
            return Err(Error::arg("TimeDistributed", format!("wrapping a '{class}' layer is not supported")));
        }
        let inner_name = match cfg.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => base.name.clone(),
        };
        cfg.insert("name".into(), Value::from(base.name.clone()));
        if !base.trainable {
            cfg.insert("trainable".into(), Value::from(false));
        }
        let inner = super::from_config(&class, &Value::Object(cfg))?;
        Ok(TimeDistributed { base, inner_class: class, inner_name, inner })
    }

    fn child_shape(&self, s: &Shape) -> Result<Shape> {
        if s.len() < 3 {
            return Err(Error::arg(&self.base.name, format!("TimeDistributed expects an input of rank >= 3, got {}", fmt_shape(s))));
        }
        let mut c = vec![s[0]];
        c.extend_from_slice(&s[2..]);
        Ok(c)
    }
}

impl Layer for TimeDistributed {
    fn class_name(&self) -> &'static str {
        "TimeDistributed"
    }
    fn name(&self) -> &str {
        &self.base.name
    }
    fn config(&self) -> Value {
        let mut inner = self.inner.config();
        if let Value::Object(m) = &mut inner {
            m.insert("name".into(), Value::from(self.inner_name.clone()));
        }
        let mut m = Map::new();
        m.insert("layer".into(), json!({"className": self.inner_class, "config": inner}));
        self.base.write(&mut m);
        Value::Object(m)
    }
    fn batch_input_shape(&self) -> Option<Shape> {
        self.base.batch_input_shape.clone()
    }
    fn build(&self, input_shapes: &[Shape]) -> Result<()> {
        let s = single_shape(&self.base.name, input_shapes)?;
        self.inner.build(&[self.child_shape(s)?])
    }
    fn compute_output_shape(&self, input_shapes: &[Shape]) -> Result<Vec<Shape>> {
        let s = single_shape(&self.base.name, input_shapes)?;
        let child = self.inner.compute_output_shape(&[self.child_shape(s)?])?;
        let c = child.first().ok_or_else(|| Error::arg(&self.base.name, "the wrapped layer has no output"))?;
        let mut out = vec![c.first().copied().flatten(), s[1]];
        out.extend_from_slice(c.get(1..).unwrap_or(&[]));
        Ok(vec![out])
    }
    /// Passes the mask on (tfjs `supportsMasking`).
    fn compute_mask(&self, _: &[Tensor], masks: &[Option<Tensor>]) -> Result<Option<Tensor>> {
        Ok(super::first_mask(masks))
    }
    fn call(&self, inputs: &[Tensor], ctx: &CallContext) -> Result<Vec<Tensor>> {
        super::expect_inputs(&self.base.name, inputs.len(), 1)?;
        let x = &inputs[0];
        if x.rank() < 3 {
            return Err(Error::shape(&self.base.name, "TimeDistributed input of rank >= 3", tensor::fmt_shape(x.shape())));
        }
        let (b, t) = (x.shape()[0], x.shape()[1]);
        let mut merged = vec![b * t];
        merged.extend_from_slice(&x.shape()[2..]);
        let ys = self.inner.call(&[ops::reshape(x, &merged)?], ctx)?;
        if ys.len() != 1 {
            return Err(Error::arg(&self.base.name, format!("the wrapped layer must return one tensor, got {}", ys.len())));
        }
        let y = &ys[0];
        if y.rank() == 0 || y.shape()[0] != b * t {
            return Err(Error::shape(&self.base.name, format!("a wrapped-layer output of {} rows", b * t), tensor::fmt_shape(y.shape())));
        }
        let mut shape = vec![b, t];
        shape.extend_from_slice(&y.shape()[1..]);
        Ok(vec![ops::reshape(y, &shape)?])
    }
    fn weights(&self) -> Vec<LayerWeight> {
        self.inner.weights()
    }
}
