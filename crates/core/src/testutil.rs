//! Helpers for the core's tests: tensor construction, closeness checks and a numeric gradient
//! check that every differentiable kernel's rule is tested against.

use crate::engine;
use crate::ops;
use crate::tape;
use crate::tensor::Tensor;

pub fn t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), v.to_vec()).expect("test tensor")
}

/// Deterministic pseudo-random values in [lo, hi).
pub fn rand(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect();
    t(shape, &v)
}

pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan());
        assert!(ok, "element {i}: got {g}, want {w} (tol {tol})\n got {got:?}\nwant {want:?}");
    }
}

/// Analytic gradients of `sum(f(xs) · w)` (w fixed pseudo-random weights) for every input.
pub fn analytic_grads(f: &dyn Fn(&[Tensor]) -> Tensor, xs: &[Tensor]) -> Vec<Vec<f32>> {
    let tape = tape::new_tape();
    let xs: Vec<Tensor> = xs.iter().map(Tensor::with_new_id).collect();
    let y = engine::with_tape(&tape, || {
        let out = f(&xs);
        let w = rand(out.shape(), 99, 0.5, 1.5);
        ops::sum(&ops::mul(&out, &w).unwrap(), &(0..out.rank()).collect::<Vec<_>>(), false).unwrap()
    });
    let ids: Vec<u64> = xs.iter().map(Tensor::id).collect();
    tape::gradients(&tape, &y, &ids, None)
        .expect("gradients")
        .into_iter()
        .zip(&xs)
        .map(|(g, x)| g.map(|g| g.to_f32_vec()).unwrap_or_else(|| vec![0.0; x.size()]))
        .collect()
}

/// Central differences of the same scalar.
pub fn numeric_grads(f: &dyn Fn(&[Tensor]) -> Tensor, xs: &[Tensor], eps: f32) -> Vec<Vec<f32>> {
    let eval = |xs: &[Tensor]| -> f64 {
        let out = f(xs);
        let w = rand(out.shape(), 99, 0.5, 1.5);
        out.to_f32_vec().iter().zip(w.to_f32_vec()).map(|(a, b)| *a as f64 * b as f64).sum()
    };
    (0..xs.len())
        .map(|i| {
            let base = xs[i].to_f32_vec();
            (0..base.len())
                .map(|j| {
                    let mut plus = base.clone();
                    plus[j] += eps;
                    let mut minus = base.clone();
                    minus[j] -= eps;
                    let mut a = xs.to_vec();
                    a[i] = t(xs[i].shape(), &plus);
                    let fp = eval(&a);
                    a[i] = t(xs[i].shape(), &minus);
                    let fm = eval(&a);
                    ((fp - fm) / (2.0 * eps as f64)) as f32
                })
                .collect()
        })
        .collect()
}

/// Asserts that the gradient rules of the kernels `f` runs agree with central differences.
pub fn check_grads(f: &dyn Fn(&[Tensor]) -> Tensor, xs: &[Tensor]) {
    let a = analytic_grads(f, xs);
    let n = numeric_grads(f, xs, 1e-3);
    for (i, (a, n)) in a.iter().zip(&n).enumerate() {
        for (j, (x, y)) in a.iter().zip(n).enumerate() {
            assert!(
                (x - y).abs() <= 2e-2 * (1.0 + y.abs()) || (x.is_nan() && y.is_nan()),
                "input {i}, element {j}: analytic {x} vs numeric {y}\nanalytic {a:?}\nnumeric  {n:?}"
            );
        }
    }
}
