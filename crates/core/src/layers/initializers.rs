//! Weight initializers (tfjs `tf.initializers.*`): parsed from an identifier (`'glorotUniform'`)
//! or a serialized `{className, config}`, and serialized back the tfjs way.

use crate::error::{Error, Result};
use crate::random::{self, Rng};
use crate::tensor::{DType, Tensor};
use serde_json::{json, Value};
use std::cell::Cell;

thread_local! {
    /// The largest weight (in values) initializers may draw on this thread; `usize::MAX`
    /// unless a model file is being loaded.
    static SIZE_LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Bounds (`Some`) or unbounds (`None`) the size of the weights initialized on this thread. A
/// model file with weights cannot need a weight larger than the largest it holds, so while one
/// loads, a corrupt layer size fails here instead of attempting a huge allocation.
pub fn set_weight_size_limit(limit: Option<usize>) {
    SIZE_LIMIT.with(|l| l.set(limit.unwrap_or(usize::MAX)));
}

/// The number of values of `shape`, checked against overflow and the thread's size limit.
fn checked_size(shape: &[usize]) -> Result<usize> {
    let size = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let limit = SIZE_LIMIT.with(Cell::get);
    match size {
        Some(n) if n <= limit => Ok(n),
        Some(n) => Err(Error::arg("initializer", format!("a weight of shape {shape:?} ({n} values) is larger than any weight the model file holds ({limit} values)"))),
        None => Err(Error::arg("initializer", format!("a weight of shape {shape:?} has too many values"))),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Initializer {
    Zeros,
    Ones,
    Constant { value: f64 },
    RandomNormal { mean: f64, stddev: f64, seed: Option<f64> },
    RandomUniform { minval: f64, maxval: f64, seed: Option<f64> },
    TruncatedNormal { mean: f64, stddev: f64, seed: Option<f64> },
    /// Glorot/He/LeCun are variance scaling with fixed parameters; `class` keeps their name.
    VarianceScaling { scale: f64, mode: FanMode, distribution: Distribution, seed: Option<f64>, class: &'static str },
    Orthogonal { gain: f64, seed: Option<f64> },
    Identity { gain: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FanMode {
    FanIn,
    FanOut,
    FanAvg,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    Normal,
    Uniform,
    TruncatedNormal,
}

impl FanMode {
    fn name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fanIn",
            FanMode::FanOut => "fanOut",
            FanMode::FanAvg => "fanAvg",
        }
    }
}
impl Distribution {
    fn name(self) -> &'static str {
        match self {
            Distribution::Normal => "normal",
            Distribution::Uniform => "uniform",
            Distribution::TruncatedNormal => "truncatedNormal",
        }
    }
}

fn vs(scale: f64, mode: FanMode, distribution: Distribution, seed: Option<f64>, class: &'static str) -> Initializer {
    Initializer::VarianceScaling { scale, mode, distribution, seed, class }
}

/// Fan-in and fan-out of a weight shape (channels-last convolution kernels).
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        2 => (shape[0] as f64, shape[1] as f64),
        n => {
            let receptive: usize = shape[..n - 2].iter().product();
            ((shape[n - 2] * receptive) as f64, (shape[n - 1] * receptive) as f64)
        }
    }
}

fn seed_of(s: Option<f64>) -> Option<u64> {
    s.map(random::seed_from_f64)
}

impl Initializer {
    /// From an identifier string or a `{className, config}` object.
    pub fn parse(op: &str, v: &Value) -> Result<Initializer> {
        let (name, cfg) = match v {
            Value::String(s) => (s.clone(), Value::Null),
            Value::Object(m) => {
                let name = m.get("className").or_else(|| m.get("class_name")).and_then(Value::as_str).ok_or_else(|| {
                    Error::arg(op, format!("an initializer object needs a className, got {v}"))
                })?;
                (name.to_string(), m.get("config").cloned().unwrap_or(Value::Null))
            }
            other => return Err(Error::arg(op, format!("an initializer must be a string or {{className, config}}, got {other}"))),
        };
        let num = |k: &str, d: f64| cfg.get(k).and_then(Value::as_f64).unwrap_or(d);
        let seed = cfg.get("seed").and_then(Value::as_f64);
        let key: String = name.chars().filter(|c| *c != '_').collect::<String>().to_lowercase();
        Ok(match key.as_str() {
            "zeros" | "zero" => Initializer::Zeros,
            "ones" | "one" => Initializer::Ones,
            "constant" => Initializer::Constant { value: num("value", 0.0) },
            "randomnormal" => Initializer::RandomNormal { mean: num("mean", 0.0), stddev: num("stddev", 0.05), seed },
            "randomuniform" => Initializer::RandomUniform { minval: num("minval", -0.05), maxval: num("maxval", 0.05), seed },
            "truncatednormal" => Initializer::TruncatedNormal { mean: num("mean", 0.0), stddev: num("stddev", 0.05), seed },
            "glorotnormal" => vs(1.0, FanMode::FanAvg, Distribution::Normal, seed, "GlorotNormal"),
            "glorotuniform" => vs(1.0, FanMode::FanAvg, Distribution::Uniform, seed, "GlorotUniform"),
            "henormal" => vs(2.0, FanMode::FanIn, Distribution::Normal, seed, "HeNormal"),
            "heuniform" => vs(2.0, FanMode::FanIn, Distribution::Uniform, seed, "HeUniform"),
            "lecunnormal" => vs(1.0, FanMode::FanIn, Distribution::Normal, seed, "LeCunNormal"),
            "lecununiform" => vs(1.0, FanMode::FanIn, Distribution::Uniform, seed, "LeCunUniform"),
            "variancescaling" => {
                let mode = match cfg.get("mode").and_then(Value::as_str).unwrap_or("fanIn") {
                    "fanIn" | "fan_in" => FanMode::FanIn,
                    "fanOut" | "fan_out" => FanMode::FanOut,
                    "fanAvg" | "fan_avg" => FanMode::FanAvg,
                    m => return Err(Error::arg(op, format!("VarianceScaling mode must be fanIn, fanOut or fanAvg, got '{m}'"))),
                };
                let distribution = match cfg.get("distribution").and_then(Value::as_str).unwrap_or("normal") {
                    "normal" => Distribution::Normal,
                    "uniform" => Distribution::Uniform,
                    "truncatedNormal" | "truncated_normal" => Distribution::TruncatedNormal,
                    d => return Err(Error::arg(op, format!("VarianceScaling distribution must be normal, uniform or truncatedNormal, got '{d}'"))),
                };
                let scale = num("scale", 1.0);
                if scale <= 0.0 {
                    return Err(Error::arg(op, format!("VarianceScaling scale must be positive, got {scale}")));
                }
                vs(scale, mode, distribution, seed, "VarianceScaling")
            }
            "orthogonal" => Initializer::Orthogonal { gain: num("gain", 1.0), seed },
            "identity" => Initializer::Identity { gain: num("gain", 1.0) },
            _ => {
                return Err(Error::arg(
                    op,
                    format!("unknown initializer '{name}' (expected one of zeros, ones, constant, randomNormal, randomUniform, truncatedNormal, varianceScaling, glorotNormal, glorotUniform, heNormal, heUniform, leCunNormal, leCunUniform, orthogonal, identity)"),
                ))
            }
        })
    }

    /// tfjs's serialized form: `{className, config}`.
    pub fn to_value(&self) -> Value {
        match self {
            Initializer::Zeros => json!({"className": "Zeros", "config": {}}),
            Initializer::Ones => json!({"className": "Ones", "config": {}}),
            Initializer::Constant { value } => json!({"className": "Constant", "config": {"value": value}}),
            Initializer::RandomNormal { mean, stddev, seed } => json!({"className": "RandomNormal", "config": {"mean": mean, "stddev": stddev, "seed": seed}}),
            Initializer::RandomUniform { minval, maxval, seed } => json!({"className": "RandomUniform", "config": {"minval": minval, "maxval": maxval, "seed": seed}}),
            Initializer::TruncatedNormal { mean, stddev, seed } => json!({"className": "TruncatedNormal", "config": {"mean": mean, "stddev": stddev, "seed": seed}}),
            // tfjs serializes Glorot/He/LeCun as the VarianceScaling they are.
            Initializer::VarianceScaling { scale, mode, distribution, seed, .. } => {
                json!({"className": "VarianceScaling", "config": {"scale": scale, "mode": mode.name(), "distribution": distribution.name(), "seed": seed}})
            }
            Initializer::Orthogonal { gain, seed } => json!({"className": "Orthogonal", "config": {"gain": gain, "seed": seed}}),
            Initializer::Identity { gain } => json!({"className": "Identity", "config": {"gain": gain}}),
        }
    }

    /// A float32 tensor of `shape` drawn from this initializer.
    pub fn init(&self, shape: &[usize]) -> Result<Tensor> {
        checked_size(shape)?;
        let f = DType::Float32;
        match self {
            Initializer::Zeros => Ok(Tensor::zeros(shape, f)),
            Initializer::Ones => Ok(Tensor::full(shape, f, 1.0)),
            Initializer::Constant { value } => Ok(Tensor::full(shape, f, *value)),
            Initializer::RandomNormal { mean, stddev, seed } => random::random_normal(shape, *mean, *stddev, f, seed_of(*seed)),
            Initializer::RandomUniform { minval, maxval, seed } => random::random_uniform(shape, *minval, *maxval, f, seed_of(*seed)),
            Initializer::TruncatedNormal { mean, stddev, seed } => random::truncated_normal(shape, *mean, *stddev, f, seed_of(*seed)),
            Initializer::VarianceScaling { scale, mode, distribution, seed, .. } => {
                let (fan_in, fan_out) = fans(shape);
                let n = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                }
                .max(1.0);
                let s = scale / n;
                match distribution {
                    Distribution::Uniform => {
                        let limit = (3.0 * s).sqrt();
                        random::random_uniform(shape, -limit, limit, f, seed_of(*seed))
                    }
                    Distribution::Normal | Distribution::TruncatedNormal => random::truncated_normal(shape, 0.0, s.sqrt(), f, seed_of(*seed)),
                }
            }
            Initializer::Orthogonal { gain, seed } => orthogonal(shape, *gain, *seed),
            Initializer::Identity { gain } => {
                if shape.len() != 2 || shape[0] != shape[1] {
                    return Err(Error::arg("Identity initializer", format!("needs a square 2-D shape, got {shape:?}")));
                }
                let n = shape[0];
                let mut v = vec![0.0f32; n * n];
                for i in 0..n {
                    v[i * n + i] = *gain as f32;
                }
                Ok(Tensor::f32(shape.to_vec(), v))
            }
        }
    }
}

/// A (semi-)orthogonal matrix by Gram–Schmidt on Gaussian rows, reshaped to `shape`.
fn orthogonal(shape: &[usize], gain: f64, seed: Option<f64>) -> Result<Tensor> {
    if shape.len() < 2 {
        return Err(Error::arg("Orthogonal initializer", format!("needs a shape of rank >= 2, got {shape:?}")));
    }
    let cols = shape[shape.len() - 1];
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let (r, c) = if rows < cols { (rows, cols) } else { (cols, rows) };
    let mut g = random::Gaussian::new(0.0, 1.0, false, seed_of(seed).or_else(|| Some(Rng::from_entropy().next_u64())));
    let mut m: Vec<Vec<f64>> = (0..r).map(|_| (0..c).map(|_| g.next_value()).collect()).collect();
    for i in 0..r {
        for j in 0..i {
            let d: f64 = (0..c).map(|k| m[i][k] * m[j][k]).sum();
            for k in 0..c {
                m[i][k] -= d * m[j][k];
            }
        }
        let n = m[i].iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        m[i].iter_mut().for_each(|x| *x /= n);
    }
    let mut v = vec![0.0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            let x = if rows < cols { m[i][j] } else { m[j][i] };
            v[i * cols + j] = (gain * x) as f32;
        }
    }
    Ok(Tensor::f32(shape.to_vec(), v))
}
