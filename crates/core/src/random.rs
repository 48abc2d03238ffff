//! Random tensors (tfjs `randomUniform`, `randomNormal`, `truncatedNormal`,
//! `randomStandardNormal`) from a small seeded generator: xoshiro256** seeded through
//! splitmix64. A given seed always gives the same values; without a seed every call draws
//! fresh entropy (time, a process-wide counter and an address).
//!
//! The distributions follow tfjs: uniform values are `min + (max − min)·u`; normal values come
//! from the Marsaglia polar method in pairs; truncated-normal values beyond two standard
//! deviations are redrawn; int32 normals are rounded like `Math.round`, int32 uniforms are
//! truncated as storing into an `Int32Array` does. The streams differ from tfjs's (which uses
//! seedrandom's alea), so seeded values are reproducible here but not equal to tfjs's.

use crate::error::{Error, Result};
use crate::tensor::{shape_size, Buffer, DType, Tensor};
use std::sync::atomic::{AtomicU64, Ordering};

/// splitmix64: expands a seed into well-mixed state words.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

static ENTROPY_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Rng {
    /// The generator for `seed`; equal seeds give equal streams.
    pub fn seeded(seed: u64) -> Rng {
        let mut sm = seed;
        let s = [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)];
        Rng { s }
    }

    /// A generator seeded from the clock, a process-wide counter and a stack address, so two
    /// generators made at the same instant still differ.
    pub fn from_entropy() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let count = ENTROPY_COUNTER.fetch_add(1, Ordering::Relaxed);
        let local = 0u8;
        let addr = &local as *const u8 as usize as u64;
        let mut sm = nanos ^ count.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ addr.rotate_left(32);
        Rng::seeded(splitmix64(&mut sm))
    }

    /// `seeded(seed)` when a seed is given, `from_entropy()` otherwise.
    pub fn new(seed: Option<u64>) -> Rng {
        seed.map_or_else(Rng::from_entropy, Rng::seeded)
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform value in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A seed from a JS number seed: its bits (so `1` and `1.5` differ).
pub fn seed_from_f64(seed: f64) -> u64 {
    seed.to_bits()
}

/// A seed from a string seed (FNV-1a of its UTF-8 bytes).
pub fn seed_from_str(seed: &str) -> u64 {
    seed.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01B3))
}

/// Normal values by the Marsaglia polar method (tfjs `MPRandGauss`): each accepted pair gives
/// two values; when truncated, values outside `mean ± 2·stdDev` are dropped and redrawn.
#[derive(Debug, Clone)]
pub struct Gaussian {
    rng: Rng,
    mean: f64,
    std_dev: f64,
    truncated: bool,
    spare: Option<f64>,
}

impl Gaussian {
    pub fn new(mean: f64, std_dev: f64, truncated: bool, seed: Option<u64>) -> Gaussian {
        Gaussian { rng: Rng::new(seed), mean, std_dev, truncated, spare: None }
    }

    fn in_range(&self, v: f64) -> bool {
        !self.truncated || (v >= self.mean - 2.0 * self.std_dev && v <= self.mean + 2.0 * self.std_dev)
    }

    pub fn next_value(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        loop {
            let (v1, v2, s) = loop {
                let v1 = 2.0 * self.rng.next_f64() - 1.0;
                let v2 = 2.0 * self.rng.next_f64() - 1.0;
                let s = v1 * v1 + v2 * v2;
                if s < 1.0 && s != 0.0 {
                    break (v1, v2, s);
                }
            };
            let mul = (-2.0 * s.ln() / s).sqrt();
            let x = self.mean + self.std_dev * v1 * mul;
            let y = self.mean + self.std_dev * v2 * mul;
            if self.in_range(x) {
                if self.in_range(y) {
                    self.spare = Some(y);
                }
                return x;
            }
        }
    }
}

/// JS `Math.round`: halves round up (towards +∞).
fn js_round(v: f64) -> f64 {
    (v + 0.5).floor()
}

fn check_finite(op: &str, key: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::arg(op, format!("{key} must be a finite number, got {v}")))
    }
}

/// `tf.randomUniform(shape, minval, maxval, dtype, seed)`: values in [minval, maxval).
/// float32 values are kept below `maxval` after rounding to float32; int32 values are the
/// float values truncated (so `[0, 10)` gives 0…9); bool values are those truncations ≠ 0.
pub fn random_uniform(shape: &[usize], minval: f64, maxval: f64, dtype: DType, seed: Option<u64>) -> Result<Tensor> {
    const OP: &str = "randomUniform";
    check_finite(OP, "minval", minval)?;
    check_finite(OP, "maxval", maxval)?;
    let n = shape_size(shape);
    let range = maxval - minval;
    let mut rng = Rng::new(seed);
    let mut draw = move || minval + range * rng.next_f64();
    let buf = match dtype {
        DType::Float32 => {
            let (lo, hi) = (minval as f32, maxval as f32);
            Buffer::F32(
                (0..n)
                    .map(|_| {
                        let v = draw() as f32;
                        if range > 0.0 && v >= hi && hi > lo {
                            hi.next_down()
                        } else {
                            v
                        }
                    })
                    .collect(),
            )
        }
        DType::Int32 => Buffer::I32((0..n).map(|_| draw() as i32).collect()),
        DType::Bool => Buffer::Bool((0..n).map(|_| (draw().trunc() != 0.0) as u8).collect()),
    };
    Ok(Tensor::from_buffer(shape.to_vec(), buf))
}

fn normal(op: &str, shape: &[usize], mean: f64, std_dev: f64, dtype: DType, truncated: bool, seed: Option<u64>) -> Result<Tensor> {
    check_finite(op, "mean", mean)?;
    if !(std_dev.is_finite() && std_dev >= 0.0) {
        return Err(Error::arg(op, format!("stdDev must be a finite number >= 0, got {std_dev}")));
    }
    let n = shape_size(shape);
    let mut g = Gaussian::new(mean, std_dev, truncated, seed);
    let buf = match dtype {
        DType::Float32 => Buffer::F32((0..n).map(|_| g.next_value() as f32).collect()),
        DType::Int32 => Buffer::I32((0..n).map(|_| js_round(g.next_value()) as i32).collect()),
        DType::Bool => return Err(Error::dtype(op, "float32 or int32", "bool")),
    };
    Ok(Tensor::from_buffer(shape.to_vec(), buf))
}

/// `tf.randomNormal(shape, mean, stdDev, dtype, seed)`; int32 values are rounded.
pub fn random_normal(shape: &[usize], mean: f64, std_dev: f64, dtype: DType, seed: Option<u64>) -> Result<Tensor> {
    normal("randomNormal", shape, mean, std_dev, dtype, false, seed)
}

/// `tf.truncatedNormal(shape, mean, stdDev, dtype, seed)`: normal values within
/// `mean ± 2·stdDev`, those beyond redrawn.
pub fn truncated_normal(shape: &[usize], mean: f64, std_dev: f64, dtype: DType, seed: Option<u64>) -> Result<Tensor> {
    normal("truncatedNormal", shape, mean, std_dev, dtype, true, seed)
}

/// `tf.randomStandardNormal(shape, dtype, seed)`: `randomNormal` with mean 0, stdDev 1.
pub fn random_standard_normal(shape: &[usize], dtype: DType, seed: Option<u64>) -> Result<Tensor> {
    normal("randomStandardNormal", shape, 0.0, 1.0, dtype, false, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 100_000;

    fn moments(v: &[f32]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn uniform_moments_and_bounds() {
        let t = random_uniform(&[N], 2.0, 5.0, DType::Float32, Some(7)).unwrap();
        assert_eq!(t.shape(), &[N]);
        let v = t.f32s("test").unwrap();
        assert!(v.iter().all(|&x| (2.0..5.0).contains(&x)));
        let (mean, std) = moments(v);
        // U(2, 5): mean 3.5, std 3/√12 = .8660
        assert!((mean - 3.5).abs() < 0.02, "mean {mean}");
        assert!((std - 0.8660254).abs() < 0.01, "std {std}");

        // A range so narrow that float32 rounding would reach maxval stays below it.
        // [1, next float32 after 1): half the draws would round up to maxval.
        let hi = 1.0f32.next_up();
        let t = random_uniform(&[1000], 1.0, hi as f64, DType::Float32, Some(1)).unwrap();
        assert!(t.f32s("test").unwrap().iter().all(|&x| x == 1.0));

        let mut r = Rng::seeded(3);
        assert!((0..N).map(|_| r.next_f64()).all(|u| (0.0..1.0).contains(&u)));
    }

    #[test]
    fn uniform_int32_and_bool() {
        let t = random_uniform(&[N], 0.0, 10.0, DType::Int32, Some(11)).unwrap();
        let v = t.i32s("test").unwrap();
        let mut counts = [0usize; 10];
        for &x in v {
            assert!((0..10).contains(&x), "{x}");
            counts[x as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (c as f64 - N as f64 / 10.0).abs() < 600.0), "{counts:?}");
        let t = random_uniform(&[3, 4], 0.0, 1.0, DType::Bool, Some(1)).unwrap();
        assert_eq!(t.dtype(), DType::Bool);
        assert!(t.to_i32_vec().iter().all(|&x| x == 0));
    }

    #[test]
    fn normal_moments() {
        let t = random_normal(&[N], 1.0, 2.0, DType::Float32, Some(5)).unwrap();
        let (mean, std) = moments(t.f32s("test").unwrap());
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert!((std - 2.0).abs() < 0.03, "std {std}");

        let t = random_standard_normal(&[100, 1000], DType::Float32, Some(6)).unwrap();
        assert_eq!(t.shape(), &[100, 1000]);
        let v = t.f32s("test").unwrap();
        let (mean, std) = moments(v);
        assert!(mean.abs() < 0.015 && (std - 1.0).abs() < 0.015, "mean {mean} std {std}");
        // About 68.27% within one standard deviation.
        let within = v.iter().filter(|x| x.abs() <= 1.0).count() as f64 / v.len() as f64;
        assert!((within - 0.6827).abs() < 0.01, "{within}");
    }

    #[test]
    fn truncated_normal_stays_within_two_std() {
        let t = truncated_normal(&[N], -3.0, 0.5, DType::Float32, Some(9)).unwrap();
        let v = t.f32s("test").unwrap();
        assert!(v.iter().all(|&x| (-4.0..=-2.0).contains(&x)));
        // N(0, 1) truncated to ±2: std = √(1 − 2·2·φ(2)/(Φ(2) − Φ(−2))) = .8796
        let (mean, std) = moments(v);
        assert!((mean + 3.0).abs() < 0.01, "mean {mean}");
        assert!((std - 0.5 * 0.8796).abs() < 0.01, "std {std}");
    }

    #[test]
    fn int32_normals_are_rounded() {
        let t = random_normal(&[N], 0.0, 3.0, DType::Int32, Some(2)).unwrap();
        let v: Vec<f32> = t.i32s("test").unwrap().iter().map(|&x| x as f32).collect();
        let (mean, std) = moments(&v);
        // Rounding adds variance 1/12: √(9 + 1/12) = 3.0139
        assert!(mean.abs() < 0.05 && (std - 3.0139).abs() < 0.04, "mean {mean} std {std}");
        let t = truncated_normal(&[1000], 0.0, 1.0, DType::Int32, Some(2)).unwrap();
        assert!(t.i32s("test").unwrap().iter().all(|x| (-2..=2).contains(x)));
        assert_eq!(js_round(-2.5), -2.0);
        assert_eq!(js_round(2.5), 3.0);
    }

    #[test]
    fn seeds_are_deterministic_and_unseeded_calls_differ() {
        let a = random_normal(&[64], 0.0, 1.0, DType::Float32, Some(42)).unwrap().to_f32_vec();
        let b = random_normal(&[64], 0.0, 1.0, DType::Float32, Some(42)).unwrap().to_f32_vec();
        let c = random_normal(&[64], 0.0, 1.0, DType::Float32, Some(43)).unwrap().to_f32_vec();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let u1 = random_uniform(&[64], 0.0, 1.0, DType::Float32, Some(seed_from_str("abc"))).unwrap().to_f32_vec();
        let u2 = random_uniform(&[64], 0.0, 1.0, DType::Float32, Some(seed_from_str("abc"))).unwrap().to_f32_vec();
        assert_eq!(u1, u2);
        assert_ne!(seed_from_f64(1.0), seed_from_f64(1.5));
        let n1 = random_uniform(&[64], 0.0, 1.0, DType::Float32, None).unwrap().to_f32_vec();
        let n2 = random_uniform(&[64], 0.0, 1.0, DType::Float32, None).unwrap().to_f32_vec();
        assert_ne!(n1, n2);
        let (g1, g2) = (Rng::from_entropy().next_u64(), Rng::from_entropy().next_u64());
        assert_ne!(g1, g2);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let e = random_normal(&[2], 0.0, 1.0, DType::Bool, None).unwrap_err().to_string();
        assert_eq!(e, "randomNormal: expected dtype float32 or int32, but got bool");
        let e = truncated_normal(&[2], 0.0, -1.0, DType::Float32, None).unwrap_err().to_string();
        assert!(e.contains("truncatedNormal") && e.contains("stdDev") && e.contains("-1"), "{e}");
        let e = random_uniform(&[2], f64::NAN, 1.0, DType::Float32, None).unwrap_err().to_string();
        assert!(e.contains("randomUniform") && e.contains("minval") && e.contains("NaN"), "{e}");
        let e = random_standard_normal(&[2], DType::Bool, None).unwrap_err().to_string();
        assert!(e.contains("randomStandardNormal"), "{e}");
        // Empty shapes and zero std are fine.
        assert_eq!(random_normal(&[0, 3], 0.0, 1.0, DType::Float32, Some(1)).unwrap().size(), 0);
        let z = truncated_normal(&[5], 4.0, 0.0, DType::Float32, Some(1)).unwrap();
        assert_eq!(z.to_f32_vec(), vec![4.0; 5]);
    }
}
