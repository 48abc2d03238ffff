//! Optimizer steps checked against hand-computed values of tfjs's formulas (and against the
//! values tfjs's own optimizer tests expect), weights save/load, configs and errors.

use super::*;
use crate::engine;
use crate::ops;
use crate::tape;
use crate::testutil::{assert_close, t};
use serde_json::json;

fn var(name: &str, v: &[f32]) -> Arc<Variable> {
    Variable::new(&t(&[v.len()], v), Some(name.to_string()), true)
}

/// One step on the loss Σx² (gradient 2x).
fn step_sq(opt: &mut Optimizer, w: &Arc<Variable>) {
    let g: Vec<f32> = w.read().to_f32_vec().iter().map(|x| 2.0 * x).collect();
    opt.apply_gradients(&[(w.clone(), t(w.read().shape(), &g))]).unwrap();
}

/// Values of `w` after each of `n` steps on Σx² from `init`.
fn run_sq(opt: &mut Optimizer, init: &[f32], n: usize) -> Vec<Vec<f32>> {
    let w = var("w", init);
    (0..n)
        .map(|_| {
            step_sq(opt, &w);
            w.read().to_f32_vec()
        })
        .collect()
}

fn assert_steps(got: &[Vec<f32>], want: &[&[f32]]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_close(g, w, 1e-5);
    }
}

#[test]
fn sgd_steps() {
    // x ← x − lr·g with g = 2x, lr = .1: x ← .8x
    // [1, 2] → [.8, 1.6] → [.64, 1.28] → [.512, 1.024]
    let mut o = Optimizer::sgd(0.1).unwrap();
    assert_steps(&run_sq(&mut o, &[1.0, 2.0], 3), &[&[0.8, 1.6], &[0.64, 1.28], &[0.512, 1.024]]);
    assert_eq!(o.iterations(), 3);
}

#[test]
fn momentum_steps() {
    // a ← m·a + g; x ← x − lr·a (lr .1, m .5), g = 2x
    // 1: g = [2, 4],     a = [2, 4],     x = [.8, 1.6]
    // 2: g = [1.6, 3.2], a = [2.6, 5.2], x = [.54, 1.08]
    // 3: g = [1.08, 2.16], a = [2.38, 4.76], x = [.302, .604]
    let mut o = Optimizer::momentum(0.1, 0.5, false).unwrap();
    assert_steps(&run_sq(&mut o, &[1.0, 2.0], 3), &[&[0.8, 1.6], &[0.54, 1.08], &[0.302, 0.604]]);

    // Nesterov: x ← x − lr·(g + m·a)
    // 1: a = [2, 4],     x = [1, 2] − .1·([2, 4] + [1, 2])       = [.7, 1.4]
    // 2: g = [1.4, 2.8], a = [2.4, 4.8], x = [.7, 1.4] − .1·([1.4, 2.8] + [1.2, 2.4]) = [.44, .88]
    // 3: g = [.88, 1.76], a = [2.08, 4.16], x = [.44, .88] − .1·([.88, 1.76] + [1.04, 2.08]) = [.248, .496]
    let mut o = Optimizer::momentum(0.1, 0.5, true).unwrap();
    assert_steps(&run_sq(&mut o, &[1.0, 2.0], 3), &[&[0.7, 1.4], &[0.44, 0.88], &[0.248, 0.496]]);
}

#[test]
fn rmsprop_steps() {
    // ms ← .9·ms + .1·g²; mom ← .5·mom + lr·g/√(ms + ε); x ← x − mom (lr .1, ε 1e-7)
    // 1: g = [2, 4], ms = [.4, 1.6], mom = .1·[2/√.4, 4/√1.6] = [.3162278, .3162278]
    //    x = [.6837722, 1.6837722]
    // 2: g = [1.3675445, 3.3675445], ms = [.5470178, 2.5740356]
    //    mom = .5·.3162278 + .1·[1.3675445/√.5470178, 3.3675445/√2.5740266] = [.3430154, .3680108]
    //    x = [.3407568, 1.3157614]
    // 3: x = [.0764003, .9800555]
    let mut o = Optimizer::rmsprop(0.1, 0.9, 0.5, None, false).unwrap();
    assert_steps(
        &run_sq(&mut o, &[1.0, 2.0], 3),
        &[&[0.6837722, 1.6837722], &[0.3407568, 1.3157614], &[0.0764003, 0.9800555]],
    );
    // tfjs's own test (compared, as there, within 1e-3): rmsprop(.1, .95, .1) from [1, 2].
    let mut o = Optimizer::rmsprop(0.1, 0.95, 0.1, None, false).unwrap();
    let got = run_sq(&mut o, &[1.0, 2.0], 2);
    assert_close(&got[0], &[0.5527865, 1.5527864], 1e-3);
    assert_close(&got[1], &[0.2874418, 1.2294267], 1e-3);
}

#[test]
fn rmsprop_centered_zero_gradient_stays_finite() {
    // g = 0: ms = mg = 0, so mom = lr·0/√ε = 0 and x keeps its value (tfjs 4.22's
    // √(ms − (mg² + ε)) is √(−ε) = NaN here).
    let mut o = Optimizer::rmsprop(0.01, 0.8, 0.5, Some(1e-6), true).unwrap();
    let w = var("w", &[0.5, -1.0]);
    for _ in 0..3 {
        o.apply_gradients(&[(w.clone(), t(&[2], &[0.0, 2.0]))]).unwrap();
    }
    let x = w.read().to_f32_vec();
    assert_eq!(x[0], 0.5);
    assert!(x[1].is_finite() && x[1] < -1.0);
}

#[test]
fn rmsprop_centered_steps() {
    // ms ← .9·ms + .1·g²; mg ← .9·mg + .1·g; mom ← lr·g/√(ms − mg² + ε); x ← x − mom
    // (lr .1, momentum 0)
    // 1: g = [2, 4], ms = [.4, 1.6], mg = [.2, .4], ms − mg² = [.36, 1.44]
    //    mom = .1·[2/.6, 4/1.2] = [.3333333, .3333333], x = [.6666667, 1.6666667]
    // 2: x = [.4655676, 1.4350063]; 3: x = [.3235693, 1.2453412]
    let mut o = Optimizer::rmsprop(0.1, 0.9, 0.0, None, true).unwrap();
    assert_steps(
        &run_sq(&mut o, &[1.0, 2.0], 3),
        &[&[0.6666667, 1.6666667], &[0.4655676, 1.4350063], &[0.3235693, 1.2453412]],
    );
    // tfjs's own test (compared, as there, within 1e-3): rmsprop(.1, .95, .1, 1e-8, centered) from [1, 2].
    let mut o = Optimizer::rmsprop(0.1, 0.95, 0.1, Some(1e-8), true).unwrap();
    let got = run_sq(&mut o, &[1.0, 2.0], 2);
    assert_close(&got[0], &[0.54117, 1.541169], 1e-3);
    assert_close(&got[1], &[0.267785, 1.2035924], 1e-3);
}

#[test]
fn adam_steps() {
    // m ← .9·m + .1·g; v ← .999·v + .001·g²; x ← x − lr·(m/(1 − .9ᵗ)) / (√(v/(1 − .999ᵗ)) + ε)
    // 1: g = [2, 4], m̂ = g, v̂ = g², so x ← x − .1·g/(|g| + ε) ≈ [.9, 1.9]
    // 2: g = [1.8, 3.8], m = [.36, .74], v = [.007236, .030424]
    //    m̂ = m/.19 = [1.8947368, 3.8947368], v̂ = v/.001999 = [3.6198099, 15.2196098]
    //    x ≈ [.9, 1.9] − .1·m̂/√v̂ = [.8004122, 1.8001665]
    // 3: x ≈ [.7015863, 1.7006234]
    let mut o = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
    assert_steps(
        &run_sq(&mut o, &[1.0, 2.0], 3),
        &[&[0.9, 1.9], &[0.8004122, 1.8001665], &[0.7015863, 1.7006234]],
    );
    // tfjs's own test (compared, as there, within 1e-3): adam(.1, .8, .9) from [2, 4].
    let mut o = Optimizer::adam(0.1, 0.8, 0.9, None).unwrap();
    let got = run_sq(&mut o, &[2.0, 4.0], 2);
    assert_close(&got[0], &[1.9, 3.9], 1e-3);
    assert_close(&got[1], &[1.8000001, 3.8002], 1e-3);
}

#[test]
fn adamax_steps() {
    // lrₜ = −lr/(t·decay + 1) (t = earlier steps); m ← .9·m + .1·g; u ← max(.999·u, |g|);
    // x ← x + lrₜ/(1 − .9ᵗ⁺¹)·m/(u + ε)   (lr .1, decay .5), from [1, −2]
    // 1: g = [2, −4], m = [.2, −.4], u = [2, 4], x = [1, −2] − .1/.1·[.1, −.1] = [.9, −1.9]
    // 2: g = [1.8, −3.8], m = [.36, −.74], u = [1.998, 3.996], lrₜ = −.1/1.5
    //    x = [.9, −1.9] − (.1/1.5)/.19·[.1801802, −.1851852] = [.8367789, −1.8350227]
    // 3: lrₜ = −.1/2, x = [.7913601, −1.7872795]
    let mut o = Optimizer::adamax(0.1, 0.9, 0.999, None, 0.5).unwrap();
    assert_steps(
        &run_sq(&mut o, &[1.0, -2.0], 3),
        &[&[0.9, -1.9], &[0.8367789, -1.8350227], &[0.7913601, -1.7872795]],
    );
    // tfjs's own test (compared, as there, within 1e-3): adamax(.1, .8, .9, ε, decay .1) from [2, 4].
    let mut o = Optimizer::adamax(0.1, 0.8, 0.9, None, 0.1).unwrap();
    let got = run_sq(&mut o, &[2.0, 4.0], 2);
    assert_close(&got[0], &[1.9, 3.9], 1e-3);
    assert_close(&got[1], &[1.80697, 3.8086], 1e-3);
}

#[test]
fn adagrad_steps() {
    // acc ← acc + g² (from .1); x ← x − lr·g/√(acc + ε) (lr .1)
    // 1: g = [2, 4], acc = [4.1, 16.1], x = [1 − .2/√4.1, 2 − .4/√16.1] = [.9012270, 1.9003110]
    // 2: g = [1.8024541, 3.8006221], acc = [7.3488407, 30.5447282], x = [.8347373, 1.8315430]
    // 3: x = [.7822992, 1.7762966]
    let mut o = Optimizer::adagrad(0.1, 0.1).unwrap();
    assert_steps(
        &run_sq(&mut o, &[1.0, 2.0], 3),
        &[&[0.901227, 1.900311], &[0.8347373, 1.831543], &[0.7822992, 1.7762966]],
    );
}

#[test]
fn adadelta_steps() {
    // u = √(au + ε)/√(ag + ε)·g (ag from before the step); ag ← ρ·ag + (1 − ρ)·g²;
    // au ← ρ·au + (1 − ρ)·u²; x ← x − lr·u   (lr .1, ρ .95)
    // From zero state ag and au stay equal, so u = g and the steps are SGD's (as in tfjs):
    // [1, 2] → [.8, 1.6] → [.64, 1.28] → [.512, 1.024]
    let mut o = Optimizer::adadelta(0.1, 0.95, None).unwrap();
    assert_steps(&run_sq(&mut o, &[1.0, 2.0], 3), &[&[0.8, 1.6], &[0.64, 1.28], &[0.512, 1.024]]);

    // From loaded state ag = [1, 4], au = [.25, 1], g = [2, 4]:
    // u = [√.25/√1·2, √1/√4·4] = [1, 2], x = [1, 2] − .1·[1, 2] = [.9, 1.8]
    // ag = [.95 + .05·4, 3.8 + .05·16] = [1.15, 4.6]; au = [.2375 + .05, .95 + .2] = [.2875, 1.15]
    // Then g = [1.8, 3.6]: u = [√.2875/√1.15·1.8, √1.15/√4.6·3.6] = [.9, 1.8], x = [.81, 1.62]
    let mut o = Optimizer::adadelta(0.1, 0.95, None).unwrap();
    o.set_weights(vec![
        ("iter".into(), Tensor::i32(vec![], vec![0])),
        ("w/accum_grad".into(), t(&[2], &[1.0, 4.0])),
        ("w/accum_var".into(), t(&[2], &[0.25, 1.0])),
    ])
    .unwrap();
    let got = run_sq(&mut o, &[1.0, 2.0], 2);
    assert_close(&got[0], &[0.9, 1.8], 1e-5);
    assert_close(&got[1], &[0.81, 1.62], 1e-5);
    let w = o.get_weights();
    assert_close(&w[1].1.to_f32_vec(), &[0.95 * 1.15 + 0.05 * 1.8 * 1.8, 0.95 * 4.6 + 0.05 * 3.6 * 3.6], 1e-5);
    assert_close(&w[2].1.to_f32_vec(), &[0.95 * 0.2875 + 0.05 * 0.81, 0.95 * 1.15 + 0.05 * 3.24], 1e-5);
}

#[test]
fn adam_minimizes_a_quadratic_through_the_tape() {
    // (w − 2)² with gradients from the tape; adam(.1) for 100 steps ends near 2.
    let w = var("w", &[0.0]);
    let mut o = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
    for _ in 0..100 {
        let tp = tape::new_tape();
        let y = engine::with_tape(&tp, || {
            let d = ops::sub(&w.read(), &Tensor::scalar(2.0)).unwrap();
            ops::sum(&ops::square(&d).unwrap(), &[0], false).unwrap()
        });
        let g = tape::gradients(&tp, &y, &[w.id()], None).unwrap().remove(0).expect("a gradient");
        o.apply_gradients(&[(w.clone(), g)]).unwrap();
    }
    let v = w.read().to_f32_vec()[0];
    assert!((v - 2.0).abs() < 0.05, "w = {v}");
    assert_eq!(o.iterations(), 100);
}

#[test]
fn weights_are_named_and_ordered_like_tfjs() {
    let a = var("dense/kernel", &[1.0, 2.0]);
    let b = var("dense/bias", &[3.0]);
    let mut o = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
    for _ in 0..2 {
        o.apply_gradients(&[(a.clone(), t(&[2], &[1.0, 1.0])), (b.clone(), t(&[1], &[1.0]))]).unwrap();
    }
    let w = o.get_weights();
    let names: Vec<&str> = w.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["iter", "dense/kernel/m", "dense/bias/m", "dense/kernel/v", "dense/bias/v"]);
    assert_eq!(w[0].1.dtype(), DType::Int32);
    assert!(w[0].1.shape().is_empty());
    assert_eq!(w[0].1.to_i32_vec(), [2]);
    // m = .9·.1 + .1 = .19 after two steps of g = 1.
    assert_close(&w[1].1.to_f32_vec(), &[0.19, 0.19], 1e-6);

    let suffixes = |o: &Optimizer| -> Vec<String> { o.get_weights().into_iter().map(|(n, _)| n).collect() };
    let w1 = var("x", &[1.0]);
    let g = || vec![(w1.clone(), t(&[1], &[1.0]))];
    let cases: Vec<(Optimizer, Vec<&str>)> = vec![
        (Optimizer::sgd(0.1).unwrap(), vec!["iter"]),
        (Optimizer::momentum(0.1, 0.9, false).unwrap(), vec!["iter", "x/momentum"]),
        (Optimizer::rmsprop(0.1, 0.9, 0.0, None, false).unwrap(), vec!["iter", "x/rms", "x/momentum"]),
        (Optimizer::rmsprop(0.1, 0.9, 0.0, None, true).unwrap(), vec!["iter", "x/rms", "x/momentum", "x/mg"]),
        (Optimizer::adamax(0.1, 0.9, 0.999, None, 0.0).unwrap(), vec!["iter", "x/m", "x/v"]),
        (Optimizer::adagrad(0.1, 0.1).unwrap(), vec!["iter", "x/accumulator"]),
        (Optimizer::adadelta(0.1, 0.95, None).unwrap(), vec!["iter", "x/accum_grad", "x/accum_var"]),
    ];
    for (mut o, want) in cases {
        o.apply_gradients(&g()).unwrap();
        assert_eq!(suffixes(&o), want, "{}", o.class_name());
    }
}

#[test]
fn set_weights_continues_training() {
    // tfjs's save/load test: rmsprop(.1, .95, .1, centered): one step, hand the weights to a
    // second optimizer, whose step gives the values of the second step.
    let x = var("x", &[1.0, 2.0]);
    let mut o1 = Optimizer::rmsprop(0.1, 0.95, 0.1, None, true).unwrap();
    step_sq(&mut o1, &x);
    assert_close(&x.read().to_f32_vec(), &[0.5411684, 1.5411685], 1e-5);
    let mut o2 = Optimizer::rmsprop(0.1, 0.95, 0.1, None, true).unwrap();
    o2.set_weights(o1.get_weights()).unwrap();
    step_sq(&mut o2, &x);
    assert_close(&x.read().to_f32_vec(), &[0.2677834, 1.2035918], 1e-5);
    assert_eq!(o2.iterations(), 2);

    // Adam's bias correction resumes from the restored iteration count; state binds to a
    // differently named variable by position.
    for resumed_name in ["w", "other"] {
        let a = var("w", &[1.0, 2.0]);
        let mut o = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
        step_sq(&mut o, &a);
        let saved = o.get_weights();
        step_sq(&mut o, &a);
        step_sq(&mut o, &a);
        let b = var(resumed_name, &[0.9, 1.9]);
        let mut o2 = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
        o2.set_weights(saved).unwrap();
        step_sq(&mut o2, &b);
        step_sq(&mut o2, &b);
        assert_close(&b.read().to_f32_vec(), &a.read().to_f32_vec(), 1e-6);
        assert_eq!(o2.get_weights()[1].0, "w/m");
    }

    // Matching by name wins over position.
    let mut o = Optimizer::momentum(0.1, 0.5, false).unwrap();
    o.set_weights(vec![
        ("iter".into(), Tensor::i32(vec![], vec![1])),
        ("a/momentum".into(), t(&[1], &[10.0])),
        ("b/momentum".into(), t(&[1], &[20.0])),
    ])
    .unwrap();
    let (a, b) = (var("a", &[0.0]), var("b", &[0.0]));
    o.apply_gradients(&[(b.clone(), t(&[1], &[0.0])), (a.clone(), t(&[1], &[0.0]))]).unwrap();
    // a ← .5·a + 0; x ← −.1·a
    assert_close(&a.read().to_f32_vec(), &[-0.5], 1e-6);
    assert_close(&b.read().to_f32_vec(), &[-1.0], 1e-6);
}

#[test]
fn set_weights_errors_are_clear() {
    let mut adam = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
    let e = adam.set_weights(vec![]).unwrap_err().to_string();
    assert!(e.contains("Adam.setWeights") && e.contains("'iter'"), "{e}");

    let iter = || ("iter".to_string(), Tensor::i32(vec![], vec![3]));
    let e = adam.set_weights(vec![iter(), ("w/m".into(), t(&[1], &[0.0]))]).unwrap_err().to_string();
    assert!(e.contains("Adam.setWeights") && e.contains("/m, /v") && e.contains("got 1"), "{e}");

    let e = adam
        .set_weights(vec![iter(), ("w/m".into(), t(&[2], &[0.0, 0.0])), ("w/v".into(), t(&[1], &[0.0]))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("w/v") && e.contains("[2]") && e.contains("[1]"), "{e}");

    let e = adam
        .set_weights(vec![("iter".into(), t(&[2], &[1.0, 2.0]))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("iteration count"), "{e}");
    let e = adam.set_weights(vec![("iter".into(), Tensor::scalar(-1.0))]).unwrap_err().to_string();
    assert!(e.contains("non-negative integer") && e.contains("-1"), "{e}");

    let mut sgd = Optimizer::sgd(0.1).unwrap();
    let e = sgd.set_weights(vec![iter(), ("w/x".into(), t(&[1], &[0.0]))]).unwrap_err().to_string();
    assert!(e.contains("SGD") && e.contains("no state weights"), "{e}");
    sgd.set_weights(vec![iter()]).unwrap();
    assert_eq!(sgd.iterations(), 3);

    // Loaded state whose shape does not fit the variable it binds to.
    adam.set_weights(vec![iter(), ("w/m".into(), t(&[1], &[0.0])), ("w/v".into(), t(&[1], &[0.0]))]).unwrap();
    let w = var("w", &[1.0, 2.0]);
    let e = adam.apply_gradients(&[(w.clone(), t(&[2], &[1.0, 1.0]))]).unwrap_err().to_string();
    assert!(e.contains("Adam.applyGradients (w)") && e.contains("w/m") && e.contains("[2]") && e.contains("[1]"), "{e}");
    assert_close(&w.read().to_f32_vec(), &[1.0, 2.0], 0.0);
}

#[test]
fn apply_gradients_checks_before_changing_anything() {
    let a = var("a", &[1.0, 2.0]);
    let b = var("b", &[1.0]);
    let mut o = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
    let e = o
        .apply_gradients(&[(a.clone(), t(&[2], &[1.0, 1.0])), (b.clone(), t(&[2], &[1.0, 1.0]))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("Adam.applyGradients (b)") && e.contains("[1]") && e.contains("[2]"), "{e}");
    assert_close(&a.read().to_f32_vec(), &[1.0, 2.0], 0.0);
    assert_eq!(o.iterations(), 0);
    assert_eq!(o.get_weights().len(), 1);

    let i = Variable::new(&Tensor::i32(vec![1], vec![1]), Some("i".into()), true);
    let e = o.apply_gradients(&[(i, t(&[1], &[1.0]))]).unwrap_err().to_string();
    assert!(e.contains("float32") && e.contains("int32"), "{e}");

    // An empty list still counts as an iteration (tfjs increments unconditionally).
    o.apply_gradients(&[]).unwrap();
    assert_eq!(o.iterations(), 1);
}

#[test]
fn large_variables_update_in_parallel_like_small_ones() {
    let n = crate::kernels::PAR_MIN * 2 + 3;
    let pattern = [0.5f32, -1.0, 2.0, 3.5, -0.25, 1.0, 0.0];
    let big: Vec<f32> = (0..n).map(|i| pattern[i % 7]).collect();
    for make in [
        || Optimizer::adam(0.1, 0.9, 0.999, None).unwrap(),
        || Optimizer::rmsprop(0.1, 0.9, 0.3, None, true).unwrap(),
        || Optimizer::momentum(0.1, 0.9, true).unwrap(),
    ] {
        let (mut ob, mut os) = (make(), make());
        let wb = var("big", &big);
        let ws = var("small", &pattern);
        for _ in 0..3 {
            step_sq(&mut ob, &wb);
            step_sq(&mut os, &ws);
        }
        let (vb, vs) = (wb.read().to_f32_vec(), ws.read().to_f32_vec());
        for (i, v) in vb.iter().enumerate() {
            assert_eq!(v.to_bits(), vs[i % 7].to_bits(), "{} element {i}", ob.class_name());
        }
    }
}

#[test]
fn hyperparameters_are_validated() {
    let cases: Vec<(Result<Optimizer>, &str, &str)> = vec![
        (Optimizer::sgd(f64::NAN), "SGD", "learningRate must be a finite number >= 0, got NaN"),
        (Optimizer::sgd(-0.1), "SGD", "learningRate must be a finite number >= 0, got -0.1"),
        (Optimizer::momentum(0.1, -1.0, false), "Momentum", "momentum must be a finite number >= 0, got -1"),
        (Optimizer::adam(0.1, 1.0, 0.999, None), "Adam", "beta1 must be a number in [0, 1), got 1"),
        (Optimizer::adam(0.1, 0.9, f64::NAN, None), "Adam", "beta2 must be a number in [0, 1), got NaN"),
        (Optimizer::adam(0.1, 0.9, 0.999, Some(-1e-7)), "Adam", "epsilon must be a finite number >= 0"),
        (Optimizer::rmsprop(0.1, 1.5, 0.0, None, false), "RMSProp", "decay must be a number in [0, 1], got 1.5"),
        (Optimizer::adamax(f64::INFINITY, 0.9, 0.999, None, 0.0), "Adamax", "learningRate must be a finite number >= 0, got inf"),
        (Optimizer::adamax(0.1, 0.9, 0.999, None, -1.0), "Adamax", "decay must be"),
        (Optimizer::adagrad(0.1, -0.1), "Adagrad", "initialAccumulatorValue must be a finite number >= 0, got -0.1"),
        (Optimizer::adadelta(0.1, 2.0, None), "Adadelta", "rho must be a number in [0, 1], got 2"),
    ];
    for (r, class, msg) in cases {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Arg { .. }), "{e:?}");
        let e = e.to_string();
        assert!(e.starts_with(&format!("{class}: ")) && e.contains(msg), "{e}");
    }
    let mut o = Optimizer::sgd(0.1).unwrap();
    assert!(o.set_learning_rate(f64::NAN).unwrap_err().to_string().contains("SGD: learningRate"));
    o.set_learning_rate(0.5).unwrap();
    assert_eq!(o.learning_rate(), 0.5);
    assert_steps(&run_sq(&mut o, &[1.0], 1), &[&[0.0]]);
}

#[test]
fn configs_round_trip_with_tfjs_keys() {
    let all = [
        Optimizer::sgd(0.1).unwrap(),
        Optimizer::momentum(0.1, 0.8, true).unwrap(),
        Optimizer::rmsprop(0.1, 0.8, 0.2, Some(1e-6), true).unwrap(),
        Optimizer::adam(0.1, 0.2, 0.3, Some(2e-8)).unwrap(),
        Optimizer::adamax(0.1, 0.2, 0.3, Some(2e-8), 0.1).unwrap(),
        Optimizer::adagrad(0.1, 0.2).unwrap(),
        Optimizer::adadelta(0.1, 0.2, Some(2e-8)).unwrap(),
    ];
    for o in &all {
        let back = Optimizer::from_config(o.class_name(), &o.get_config()).unwrap();
        assert_eq!(back.get_config(), o.get_config());
        assert_eq!(back.class_name(), o.class_name());
    }
    assert_eq!(all[1].get_config(), json!({"learningRate": 0.1, "momentum": 0.8, "useNesterov": true}));
    assert_eq!(
        all[2].get_config(),
        json!({"learningRate": 0.1, "decay": 0.8, "momentum": 0.2, "epsilon": 1e-6, "centered": true})
    );
    assert_eq!(all[5].get_config(), json!({"learningRate": 0.1, "initialAccumulatorValue": 0.2}));

    // Defaults of tf.train.* for absent keys; lower-case names work too.
    let adam = Optimizer::from_config("adam", &json!({})).unwrap();
    assert_eq!(adam.get_config(), json!({"learningRate": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}));
    let rms = Optimizer::from_config("RMSProp", &json!({"learningRate": 0.01})).unwrap();
    assert_eq!(rms.get_config(), json!({"learningRate": 0.01, "decay": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": false}));
    let ada = Optimizer::from_config("adadelta", &Value::Null).unwrap();
    assert_eq!(ada.get_config(), json!({"learningRate": 0.001, "rho": 0.95, "epsilon": 1e-7}));
    let adamax = Optimizer::from_config("adamax", &json!({"epsilon": null})).unwrap();
    assert_eq!(adamax.get_config(), json!({"learningRate": 0.002, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7, "decay": 0.0}));
    let adagrad = Optimizer::from_config("adagrad", &json!({"learningRate": 0.5})).unwrap();
    assert_eq!(adagrad.get_config(), json!({"learningRate": 0.5, "initialAccumulatorValue": 0.1}));

    let err = |name: &str, cfg: Value| Optimizer::from_config(name, &cfg).unwrap_err().to_string();
    let e = err("sgd", json!({}));
    assert!(e.contains("SGD.fromConfig") && e.contains("'learningRate' is required"), "{e}");
    let e = err("momentum", json!({"learningRate": 0.1}));
    assert!(e.contains("'momentum' is required"), "{e}");
    let e = err("adam", json!({"beta1": "0.9"}));
    assert!(e.contains("'beta1' must be a number") && e.contains("\"0.9\""), "{e}");
    let e = err("momentum", json!({"learningRate": 0.1, "momentum": 0.9, "useNesterov": 1}));
    assert!(e.contains("'useNesterov' must be a boolean"), "{e}");
    let e = err("adam", json!([1]));
    assert!(e.contains("config object"), "{e}");
    let e = err("adam", json!({"learningRate": -1}));
    assert!(e.contains("Adam: learningRate"), "{e}");
    let e = err("nadam", json!({}));
    assert!(e.contains("Optimizer.fromConfig") && e.contains("'nadam'"), "{e}");
}

#[test]
fn string_identifiers_use_tfjs_layers_defaults() {
    let cfg = |n: &str| Optimizer::from_identifier(n).unwrap().get_config();
    assert_eq!(cfg("sgd"), json!({"learningRate": 0.01}));
    assert_eq!(cfg("Adagrad"), json!({"learningRate": 0.01, "initialAccumulatorValue": 0.1}));
    assert_eq!(cfg("adadelta"), json!({"learningRate": 1.0, "rho": 0.95, "epsilon": 1e-7}));
    assert_eq!(cfg("rmsprop")["learningRate"], json!(0.001));
    assert_eq!(Optimizer::from_identifier("adamax").unwrap().class_name(), "Adamax");
    let e = Optimizer::from_identifier("momentum").unwrap_err().to_string();
    assert_eq!(e, "getOptimizer: Unknown Optimizer momentum");
}
