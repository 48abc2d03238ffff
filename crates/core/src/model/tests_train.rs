//! Tests of losses, metrics, the fused softmax crossentropy and the training loop.

use super::fit_args::FitArgs;
use super::fused_loss;
use super::graph::{Graph, Node, NodeLayer, TensorRef};
use super::losses::{self, Loss, LossKind, UserFn};
use super::metrics::{self, MetricFn, MetricKind, MetricSpec};
use super::train::{self, CompileSpec, FitObserver, FitParams, Logs};
use crate::attrs::Attrs;
use crate::engine;
use crate::error::{Error, Result};
use crate::layers::{self, LayerRef};
use crate::ops;
use crate::optim::Optimizer;
use crate::registry::{self, GradCtx, Gradient, Kernel};
use crate::tape;
use crate::tensor::Tensor;
use crate::testutil::{assert_close, rand, t};
use serde_json::{json, Value};
use std::f32::consts::LN_2;
use std::sync::{Arc, Once};

/// Softmax over the last axis, registered for these tests only when no Softmax kernel is
/// (the nn kernels provide the real one).
fn fallback_softmax(i: &[Tensor], _: &Attrs) -> Result<Vec<Tensor>> {
    let x = &i[0];
    let w = *x.shape().last().expect("rank >= 1");
    let mut out = x.to_f32_vec();
    for row in out.chunks_mut(w) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        row.iter_mut().for_each(|v| *v /= sum);
    }
    Ok(vec![Tensor::f32(x.shape().to_vec(), out)])
}
fn fallback_softmax_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    // dx = y·dy − y·Σ(y·dy)
    let (y, dy) = (&c.outputs[0], &c.dys[0]);
    let ydy = ops::mul(dy, y)?;
    let s = ops::sum(&ydy, &[y.rank() - 1], true)?;
    Ok(vec![Some(ops::sub(&ydy, &ops::mul(&s, y)?)?)])
}
pub(crate) fn ensure_softmax() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if registry::get_kernel("Softmax", registry::BACKEND).is_none() {
            registry::register_kernel("Softmax", registry::BACKEND, Kernel::Native(fallback_softmax));
            registry::register_gradient("Softmax", Gradient::Native(fallback_softmax_grad));
        }
    });
}

fn softmax(x: &Tensor) -> Tensor {
    ensure_softmax();
    engine::run1("Softmax", std::slice::from_ref(x), &Attrs::new().with("dim", -1)).unwrap()
}

fn loss(name: &str, y: &Tensor, p: &Tensor) -> Vec<f32> {
    LossKind::parse(name).unwrap().compute(y, p).unwrap().to_f32_vec()
}

#[test]
fn losses_match_hand_computed_values() {
    let y = t(&[2, 3], &[0., 1., 0., 1., 0., 0.]);
    let p = t(&[2, 3], &[0.1, 0.6, 0.3, 0.5, 0.2, 0.3]);
    // mean((p − y)²): (0.01 + 0.16 + 0.09)/3, (0.25 + 0.04 + 0.09)/3
    assert_close(&loss("meanSquaredError", &y, &p), &[0.086_666_67, 0.126_666_67], 1e-6);
    assert_close(&loss("mae", &y, &p), &[0.266_666_67, 0.333_333_33], 1e-6);
    // 100 · mean(|(y − p)/y|): (0.5 + 0.5)/2, (0.25 + 0.2)/2
    assert_close(&loss("mape", &t(&[2, 2], &[1., 2., 4., -5.]), &t(&[2, 2], &[1.5, 1., 3., -4.])), &[50.0, 22.5], 1e-5);
    assert_close(&loss("msle", &y, &p), &[0.042_570_67, 0.061_612_35], 1e-5);
    let (yh, ph) = (t(&[2, 2], &[-1., 1., 1., -1.]), t(&[2, 2], &[0.3, 0.8, -0.5, 0.4]));
    // max(0, 1 − y·p): [1.3, 0.2] and [1.5, 1.4]
    assert_close(&loss("hinge", &yh, &ph), &[0.75, 1.45], 1e-6);
    assert_close(&loss("squaredHinge", &yh, &ph), &[0.865, 2.105], 1e-6);
    // 1 + max((1 − y)·p) − Σy·p: 1 + 0.3 − 0.6, 1 + 0.3 − 0.5
    assert_close(&loss("categoricalHinge", &y, &p), &[0.7, 0.8], 1e-6);
    assert_close(&loss("logcosh", &y, &p), &[0.042_428_65, 0.061_441_12], 1e-5);
    // −log(p_true / Σp): −log(2/4), −log(0.2/1)
    let p2 = t(&[2, 3], &[1., 2., 1., 0.2, 0.2, 0.6]);
    assert_close(&loss("categoricalCrossentropy", &y, &p2), &[LN_2, 1.609_438], 1e-6);
    assert_close(&loss("categoricalCrossentropy", &y, &p), &[0.510_825_6, LN_2], 1e-6);
    for labels in [Tensor::from_i32(vec![2], vec![1, 0]).unwrap(), t(&[2, 1], &[1.0, 0.7])] {
        assert_close(&loss("sparseCategoricalCrossentropy", &labels, &p), &[0.510_825_6, LN_2], 1e-6);
    }
    let (yb, pb) = (t(&[2, 3], &[0., 1., 1., 1., 0., 1.]), t(&[2, 3], &[0.1, 0.8, 0.6, 0.9, 0.4, 1.0]));
    // mean(−y·log p − (1 − y)·log(1 − p)), p clipped to [ε, 1 − ε]
    assert_close(&loss("binaryCrossentropy", &yb, &pb), &[0.279_776_6, 0.205_395_4], 1e-5);
    let (yk, pk) = (t(&[2, 2], &[0.2, 0.8, 0.5, 0.5]), t(&[2, 2], &[0.4, 0.6, 0.9, 0.1]));
    assert_close(&loss("kld", &yk, &pk), &[0.091_516_22, 0.510_825_6], 1e-5);
    // mean(p − y·log(p + ε))
    assert_close(&loss("poisson", &t(&[2, 2], &[1., 3., 0., 2.]), &t(&[2, 2], &[0.5, 2.5, 1.0, 1.5])), &[0.472_137_3, 0.844_534_8], 1e-5);
    // −cos(y, p): −(2 + 2)/(√5·√5), −(3 − 1)/(√10·√2)
    assert_close(&loss("cosineProximity", &t(&[2, 2], &[1., 2., 3., -1.]), &t(&[2, 2], &[2., 1., 1., 1.])), &[-0.8, -0.447_213_6], 1e-6);
}

#[test]
fn loss_names_and_aliases() {
    for (name, kind) in [
        ("mse", LossKind::MeanSquaredError),
        ("mean_squared_error", LossKind::MeanSquaredError),
        ("categorical_crossentropy", LossKind::CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", LossKind::SparseCategoricalCrossentropy),
        ("kld", LossKind::KullbackLeiblerDivergence),
        ("cosine", LossKind::CosineProximity),
        ("log_cosh", LossKind::Logcosh),
    ] {
        assert_eq!(LossKind::parse(name).unwrap(), kind);
    }
    assert_eq!(LossKind::Logcosh.name(), "logcosh");
    let e = LossKind::parse("softmaxCrossEntropy").unwrap_err().to_string();
    assert!(e.contains("Unknown loss softmaxCrossEntropy") && e.contains("categoricalCrossentropy"), "{e}");
    let e = losses::mean_squared_error(&Tensor::scalar(1.0), &Tensor::scalar(2.0)).unwrap_err().to_string();
    assert!(e.contains("meanSquaredError") && e.contains("scalar"), "{e}");
}

#[test]
fn losses_are_differentiable() {
    // d mse / d p = 2(p − y)/n per row
    let y = t(&[1, 2], &[1.0, 0.0]);
    let p = t(&[1, 2], &[0.5, 0.25]).with_new_id();
    let tp = tape::new_tape();
    let l = engine::with_tape(&tp, || ops::sum(&losses::mean_squared_error(&y, &p).unwrap(), &[0], false).unwrap());
    let g = tape::gradients(&tp, &l, &[p.id()], None).unwrap().remove(0).unwrap();
    assert_close(&g.to_f32_vec(), &[-0.5, 0.25], 1e-6);
}

/// The fused kernel against Softmax + the composed loss, forward and backward.
fn check_fused(labels: &Tensor, logits: &Tensor, sparse: bool) {
    let run = |fused: bool| {
        let z = logits.with_new_id();
        let tp = tape::new_tape();
        let w = rand(&[logits.shape()[0]], 5, 0.5, 1.5);
        let (per_row, total) = engine::with_tape(&tp, || {
            let per_row = if fused {
                fused_loss::softmax_crossentropy(labels, &z, sparse).unwrap()
            } else {
                let kind = if sparse { LossKind::SparseCategoricalCrossentropy } else { LossKind::CategoricalCrossentropy };
                kind.compute(labels, &softmax(&z)).unwrap()
            };
            let total = ops::sum(&ops::mul(&per_row, &w).unwrap(), &[0], false).unwrap();
            (per_row, total)
        });
        let g = tape::gradients(&tp, &total, &[z.id()], None).unwrap().remove(0).unwrap();
        (per_row.to_f32_vec(), g.to_f32_vec())
    };
    let (lf, gf) = run(true);
    let (lc, gc) = run(false);
    for (a, b) in lf.iter().zip(&lc).chain(gf.iter().zip(&gc)) {
        assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "fused {a} vs composed {b}\nloss {lf:?} vs {lc:?}\ngrad {gf:?} vs {gc:?}");
    }
}

#[test]
fn fused_softmax_crossentropy_equals_the_composed_ops() {
    let logits = rand(&[6, 5], 3, -3.0, 3.0);
    let one_hot = |classes: &[usize]| {
        let mut v = vec![0.0; classes.len() * 5];
        for (r, &c) in classes.iter().enumerate() {
            v[r * 5 + c] = 1.0;
        }
        t(&[classes.len(), 5], &v)
    };
    check_fused(&one_hot(&[0, 1, 2, 3, 4, 0]), &logits, false);
    check_fused(&rand(&[6, 5], 8, 0.0, 1.0), &logits, false);
    check_fused(&Tensor::from_i32(vec![6], vec![0, 1, 2, 3, 4, 7]).unwrap(), &logits, true);
    check_fused(&t(&[6, 1], &[4., 3., 2., 1., 0., 0.]), &logits, true);
    // Saturated rows: the true class far below (clipped at ε: no gradient through it) and far
    // above the others (clipped at 1 − ε).
    let sat = t(&[2, 3], &[-40., 5., 0., 30., 0., -2.]);
    check_fused(&t(&[2, 3], &[1., 0., 0., 1., 0., 0.]), &sat, false);
    check_fused(&Tensor::from_i32(vec![2], vec![0, 0]).unwrap(), &sat, true);
}

#[test]
fn fused_softmax_crossentropy_bad_input() {
    let e = fused_loss::softmax_crossentropy(&t(&[2, 2], &[1., 0., 0., 1.]), &t(&[2, 3], &[0.; 6]), false).unwrap_err().to_string();
    assert!(e.starts_with(fused_loss::KERNEL) && e.contains("[2,3]") && e.contains("[2,2]"), "{e}");
    let e = fused_loss::softmax_crossentropy(&t(&[3], &[0., 1., 2.]), &t(&[2, 3], &[0.; 6]), true).unwrap_err().to_string();
    assert!(e.contains("2 class indices") && e.contains("[3]"), "{e}");
}

fn metric(name: &str, y: &Tensor, p: &Tensor) -> Vec<f32> {
    MetricKind::parse(name).unwrap().compute(y, p).unwrap().to_f32_vec()
}

#[test]
fn metrics_match_hand_computed_values() {
    let y = t(&[2, 3], &[0., 1., 1., 1., 0., 1.]);
    let p = t(&[2, 3], &[0.2, 0.9, 0.5, 0.7, 0.6, 1.0]);
    // thresholded at 0.5 (strictly greater): [0, 1, 0] and [1, 1, 1]
    assert_close(&metric("binaryAccuracy", &y, &p), &[2.0 / 3.0, 2.0 / 3.0], 1e-6);
    assert_close(&metric("binaryAccuracy", &Tensor::from_i32(vec![2, 3], vec![0, 1, 1, 1, 0, 1]).unwrap(), &p), &[2.0 / 3.0, 2.0 / 3.0], 1e-6);
    let yc = t(&[3, 3], &[0., 1., 0., 1., 0., 0., 0., 0., 1.]);
    let pc = t(&[3, 3], &[0.1, 0.7, 0.2, 0.3, 0.3, 0.4, 0.5, 0.5, 0.0]);
    assert_eq!(metric("categoricalAccuracy", &yc, &pc), vec![1.0, 0.0, 0.0]);
    assert_eq!(metric("sparseCategoricalAccuracy", &t(&[3, 1], &[1., 2., 0.]), &pc), vec![1.0, 1.0, 1.0]);
    assert_eq!(metric("sparseCategoricalAccuracy", &Tensor::from_i32(vec![3], vec![1, 0, 1]).unwrap(), &pc), vec![1.0, 0.0, 0.0]);
    // exact 0/1 predictions: tp = 2, fp = 1, fn = 1
    let (yp, pp) = (t(&[5], &[1., 1., 0., 1., 0.]), t(&[5], &[1., 1., 1., 0., 0.]));
    assert_close(&metric("precision", &yp, &pp), &[2.0 / 3.0], 1e-6);
    assert_close(&metric("recall", &yp, &pp), &[2.0 / 3.0], 1e-6);
    assert_eq!(metric("precision", &yp, &t(&[5], &[0.; 5])), vec![0.0]);
    assert_close(&metric("mse", &y, &p), &[(0.04 + 0.01 + 0.25) / 3.0, (0.09 + 0.36) / 3.0], 1e-6);
    assert_close(&metric("cosine", &t(&[1, 2], &[1., 2.]), &t(&[1, 2], &[2., 1.])), &[-0.8], 1e-6);
    assert!(MetricKind::parse("nope").unwrap_err().to_string().contains("Unknown metric nope"));
}

#[test]
fn accuracy_resolves_as_tfjs_compile_does() {
    let resolve = |m: &str, loss: &str, last: Option<usize>| {
        let r = metrics::resolve(&MetricSpec::from(m), &Loss::parse(loss).unwrap(), last).unwrap();
        match r.func {
            MetricFn::Builtin(k) => (r.key, k),
            MetricFn::User(_) => unreachable!(),
        }
    };
    let acc = |k| ("acc".to_string(), k);
    assert_eq!(resolve("accuracy", "categoricalCrossentropy", Some(10)), acc(MetricKind::CategoricalAccuracy));
    assert_eq!(resolve("acc", "meanSquaredError", Some(3)), acc(MetricKind::CategoricalAccuracy));
    assert_eq!(resolve("acc", "meanSquaredError", Some(1)), acc(MetricKind::BinaryAccuracy));
    assert_eq!(resolve("acc", "binaryCrossentropy", Some(4)), acc(MetricKind::BinaryAccuracy));
    assert_eq!(resolve("accuracy", "sparseCategoricalCrossentropy", Some(10)), acc(MetricKind::SparseCategoricalAccuracy));
    assert_eq!(resolve("acc", "sparseCategoricalCrossentropy", Some(1)), acc(MetricKind::BinaryAccuracy));
    assert_eq!(resolve("crossentropy", "categoricalCrossentropy", None), ("ce".into(), MetricKind::Loss(LossKind::CategoricalCrossentropy)));
    assert_eq!(resolve("ce", "binaryCrossentropy", None), ("ce".into(), MetricKind::Loss(LossKind::BinaryCrossentropy)));
    assert_eq!(resolve("ce", "sparseCategoricalCrossentropy", None), ("ce".into(), MetricKind::Loss(LossKind::SparseCategoricalCrossentropy)));
    assert_eq!(resolve("MSE", "hinge", None), ("MSE".into(), MetricKind::Loss(LossKind::MeanSquaredError)));
    assert_eq!(resolve("precision", "hinge", None), ("precision".into(), MetricKind::Precision));
}

// ---- the training loop ----

fn dense(name: &str, units: usize, activation: &str, seed: u64, extra: Value) -> LayerRef {
    let mut cfg = json!({
        "units": units, "activation": activation, "name": name,
        "kernelInitializer": {"className": "GlorotUniform", "config": {"seed": seed}},
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut cfg, extra) {
        m.extend(e);
    }
    layers::from_config("Dense", &cfg).unwrap()
}

/// A chain of layers after one input of `inputs` features, built.
fn chain(inputs: usize, layers: Vec<LayerRef>) -> Graph {
    let mut nodes = vec![Node { layer: NodeLayer::Input { name: "x".into(), shape: vec![None, Some(inputs)] }, inputs: vec![] }];
    for l in layers {
        let prev = nodes.len() - 1;
        nodes.push(Node { layer: NodeLayer::Native(l), inputs: vec![TensorRef { node: prev, index: 0 }] });
    }
    let last = nodes.len() - 1;
    let g = Graph::new(nodes, vec![0], vec![TensorRef { node: last, index: 0 }]).unwrap();
    g.build().unwrap();
    g
}

fn spec(g: &Graph, loss: &str, metrics: &[&str]) -> CompileSpec {
    let ms = vec![metrics.iter().map(|&m| MetricSpec::from(m)).collect()];
    CompileSpec::new(g, vec!["out".into()], vec![Loss::parse(loss).unwrap()], None, ms).unwrap()
}

/// Points of [-1, 1]² labelled one-hot by whether x·y > 0 (an XOR-like problem).
fn quadrants(n: usize, seed: u64) -> (Tensor, Tensor) {
    let x = rand(&[n, 2], seed, -1.0, 1.0);
    let v = x.to_f32_vec();
    let y: Vec<f32> = v.chunks(2).flat_map(|p| if p[0] * p[1] > 0.0 { [1.0, 0.0] } else { [0.0, 1.0] }).collect();
    (x, t(&[n, 2], &y))
}

fn values(g: &Graph) -> Vec<Vec<f32>> {
    g.weights().iter().map(|w| w.var.read().to_f32_vec()).collect()
}

fn args(batch: f64, epochs: f64) -> FitArgs {
    FitArgs { batch_size: batch, epochs, shuffle_seed: Some(1), ..FitArgs::default() }
}

#[test]
fn an_mlp_learns_a_toy_problem() {
    ensure_softmax();
    let g = chain(2, vec![dense("d1", 16, "relu", 1, json!({})), dense("d2", 16, "relu", 2, json!({})), dense("d3", 2, "softmax", 3, json!({}))]);
    let s = spec(&g, "categoricalCrossentropy", &["accuracy"]);
    let (x, y) = quadrants(256, 11);
    let mut opt = Optimizer::adam(0.02, 0.9, 0.999, None).unwrap();
    let h = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y), &args(32.0, 40.0), &mut ()).unwrap();
    assert_eq!(h.epoch, (0..40).collect::<Vec<_>>());
    let loss = h.get("loss").unwrap();
    let acc = h.get("acc").unwrap();
    assert!(loss[0] > 0.5 && loss[39] < 0.2 * loss[0], "loss {loss:?}");
    assert!(acc[39] > 0.9, "acc {acc:?}");
    assert_eq!(opt.iterations(), 40 * 8);
    let ev = train::evaluate(&g, &s, std::slice::from_ref(&x), std::slice::from_ref(&y), 32.0).unwrap();
    assert_eq!(ev.keys().collect::<Vec<_>>(), ["loss", "acc"]);
    assert!(ev.get("loss").unwrap() < 0.2 * loss[0] && ev.get("acc").unwrap() > 0.9, "{ev:?}");
    // Predictions in batches equal one batch.
    let p7 = train::predict(&g, std::slice::from_ref(&x), 7.0).unwrap().remove(0);
    let p256 = train::predict(&g, &[x], 1000.0).unwrap().remove(0);
    assert_eq!(p7.shape(), &[256, 2]);
    assert_close(&p7.to_f32_vec(), &p256.to_f32_vec(), 1e-6);
}

#[test]
fn sparse_labels_train_through_the_fused_loss() {
    ensure_softmax();
    let g = chain(2, vec![dense("d1", 16, "tanh", 4, json!({})), dense("d2", 2, "softmax", 5, json!({}))]);
    let s = spec(&g, "sparseCategoricalCrossentropy", &["acc"]);
    let (x, y) = quadrants(128, 12);
    let labels = Tensor::from_i32(vec![128], y.to_f32_vec().chunks(2).map(|r| (r[1] == 1.0) as i32).collect()).unwrap();
    let mut opt = Optimizer::adam(0.05, 0.9, 0.999, None).unwrap();
    let h = train::fit(&g, &mut opt, &s, &[x], &[labels], &args(16.0, 30.0), &mut ()).unwrap();
    let loss = h.get("loss").unwrap();
    assert!(loss[29] < 0.5 * loss[0], "loss {loss:?}");
    assert!(h.get("acc").unwrap()[29] > 0.8);
}

#[test]
fn a_step_logs_the_loss_tfjs_computes() {
    ensure_softmax();
    // With a zero learning rate the logged loss is the loss of the initial weights, fused or not.
    let g = chain(3, vec![dense("d1", 4, "softmax", 6, json!({}))]);
    let s = spec(&g, "categoricalCrossentropy", &["acc", "mse"]);
    let x = rand(&[5, 3], 2, -1.0, 1.0);
    let y = t(&[5, 4], &[1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 1., 0., 0., 0.]);
    let p = train::predict(&g, std::slice::from_ref(&x), 32.0).unwrap().remove(0);
    let want_loss = metrics::mean_value(&LossKind::CategoricalCrossentropy.compute(&y, &p).unwrap());
    let want_acc = metrics::mean_value(&metrics::categorical_accuracy(&y, &p).unwrap());
    // The softmax output is found on the tape, so the step fuses it with the loss.
    let tp = tape::new_tape();
    let out = engine::with_tape(&tp, || g.forward(std::slice::from_ref(&x), &Default::default()).unwrap().remove(0));
    assert!(train::softmax_logits(&tp, &out).is_some());
    let mut opt = Optimizer::sgd(0.0).unwrap();
    let logs = train::train_on_batch(&g, &mut opt, &s, &[x], &[y]).unwrap();
    assert_eq!(logs.keys().collect::<Vec<_>>(), ["loss", "acc", "mse"]);
    assert!((logs.get("loss").unwrap() - want_loss).abs() < 1e-6, "{logs:?} vs {want_loss}");
    assert_eq!(logs.get("acc").unwrap(), want_acc);
}

#[test]
fn validation_split_holds_out_the_last_samples() {
    let g = chain(2, vec![dense("d1", 1, "sigmoid", 7, json!({}))]);
    let s = spec(&g, "binaryCrossentropy", &["accuracy"]);
    let (x, y) = quadrants(50, 3);
    let y1 = t(&[50], &y.to_f32_vec().chunks(2).map(|r| r[0]).collect::<Vec<_>>());
    let mut opt = Optimizer::sgd(0.1).unwrap();
    let a = FitArgs { validation_split: 0.2, ..args(8.0, 3.0) };
    struct Seen(Option<FitParams>, Vec<usize>);
    impl FitObserver for Seen {
        fn on_train_begin(&mut self, p: &FitParams) -> Result<()> {
            self.0 = Some(p.clone());
            Ok(())
        }
        fn on_batch_end(&mut self, _: usize, logs: &Logs) -> Result<bool> {
            self.1.push(logs.get("size").unwrap() as usize);
            Ok(false)
        }
    }
    let mut seen = Seen(None, vec![]);
    let h = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y1), &a, &mut seen).unwrap();
    let keys: Vec<&str> = h.history.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["val_loss", "val_acc", "loss", "acc"]);
    let params = seen.0.unwrap();
    assert_eq!((params.samples, params.do_validation), (40, true));
    assert_eq!(params.metrics, ["loss", "acc", "val_loss", "val_acc"]);
    assert_eq!(seen.1, [8, 8, 8, 8, 8].repeat(3));
    // The last epoch validated the final weights on samples 40..50.
    let tail = |t: &Tensor| super::batching::slice_rows(t, 40..50);
    let ev = train::evaluate(&g, &s, &[tail(&x)], &[tail(&y1)], 32.0).unwrap();
    assert!((h.get("val_loss").unwrap()[2] - ev.get("loss").unwrap()).abs() < 1e-6);
    assert!((h.get("val_acc").unwrap()[2] - ev.get("acc").unwrap()).abs() < 1e-6);
    // Validation data given explicitly.
    let a = FitArgs { validation_data: Some((vec![tail(&x)], vec![tail(&y1)])), ..args(8.0, 1.0) };
    let h = train::fit(&g, &mut opt, &s, &[x], &[y1], &a, &mut ()).unwrap();
    assert!(h.get("val_loss").is_some());
}

struct FailAt {
    batch: usize,
    seen: Vec<Vec<Vec<f32>>>,
    graph: Graph,
}
impl FitObserver for FailAt {
    fn on_batch_begin(&mut self, batch: usize) -> Result<()> {
        if batch == self.batch {
            return Err(Error::Foreign { message: "callback failed".into(), token: 7 });
        }
        Ok(())
    }
    fn on_batch_end(&mut self, _: usize, _: &Logs) -> Result<bool> {
        self.seen.push(values(&self.graph));
        Ok(false)
    }
}

#[test]
fn a_failing_observer_aborts_and_leaves_the_weights() {
    let g = chain(2, vec![dense("d1", 3, "relu", 8, json!({})), dense("d2", 2, "linear", 9, json!({}))]);
    let s = spec(&g, "mse", &[]);
    let (x, y) = quadrants(20, 4);
    let before = values(&g);
    let mut opt = Optimizer::adam(0.1, 0.9, 0.999, None).unwrap();
    let mut obs = FailAt { batch: 0, seen: vec![], graph: g.clone() };
    let e = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y), &args(5.0, 1.0), &mut obs).unwrap_err();
    assert_eq!(e, Error::Foreign { message: "callback failed".into(), token: 7 });
    assert_eq!(values(&g), before);
    assert_eq!(opt.iterations(), 0);
    // Failing at batch 2: the weights are those after batch 1.
    let mut obs = FailAt { batch: 2, seen: vec![], graph: g.clone() };
    assert!(train::fit(&g, &mut opt, &s, &[x], &[y], &args(5.0, 1.0), &mut obs).is_err());
    assert_eq!(obs.seen.len(), 2);
    assert_eq!(values(&g), obs.seen[1]);
    assert_eq!(opt.iterations(), 2);
}

struct FailingLoss(std::sync::atomic::AtomicUsize);
impl UserFn for FailingLoss {
    fn name(&self) -> &str {
        "failingLoss"
    }
    fn call(&self, y: &Tensor, p: &Tensor) -> Result<Tensor> {
        if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 3 {
            return Err(Error::arg("failingLoss", "thrown from the loss"));
        }
        losses::mean_squared_error(y, p)
    }
}

#[test]
fn a_step_that_fails_changes_nothing() {
    let g = chain(2, vec![dense("d1", 2, "linear", 10, json!({}))]);
    let user = Loss::User(Arc::new(FailingLoss(0.into())));
    let s = CompileSpec::new(&g, vec!["out".into()], vec![user], None, vec![]).unwrap();
    let (x, y) = quadrants(16, 5);
    let mut opt = Optimizer::sgd(0.5).unwrap();
    let mut obs = FailAt { batch: usize::MAX, seen: vec![], graph: g.clone() };
    let e = train::fit(&g, &mut opt, &s, &[x], &[y], &FitArgs { shuffle: false, ..args(4.0, 1.0) }, &mut obs).unwrap_err();
    assert!(e.to_string().contains("thrown from the loss"), "{e}");
    assert_eq!(obs.seen.len(), 3);
    assert_eq!(values(&g), obs.seen[2]);
    assert_eq!(opt.iterations(), 3);
}

#[test]
fn bad_fit_args_are_refused_before_training() {
    let g = chain(2, vec![dense("d1", 2, "linear", 11, json!({}))]);
    let s = spec(&g, "mse", &[]);
    let (x, y) = quadrants(10, 6);
    let before = values(&g);
    let mut opt = Optimizer::sgd(0.5).unwrap();
    let mut fit = |a: FitArgs| train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y), &a, &mut ()).unwrap_err().to_string();
    let cases: Vec<(FitArgs, &[&str])> = vec![
        (args(f64::NAN, 1.0), &["fit", "batchSize", "positive integer", "NaN"]),
        (args(0.0, 1.0), &["batchSize", "positive integer", "0"]),
        (args(2.5, 1.0), &["batchSize", "2.5"]),
        (args(4.0, -1.0), &["epochs", "non-negative integer", "-1"]),
        (FitArgs { initial_epoch: f64::NAN, ..args(4.0, 1.0) }, &["initialEpoch", "NaN"]),
        (FitArgs { validation_split: 1.5, ..args(4.0, 1.0) }, &["validationSplit", "[0, 1)", "1.5"]),
        (FitArgs { validation_split: -0.1, ..args(4.0, 1.0) }, &["validationSplit", "-0.1"]),
        (FitArgs { steps_per_epoch: Some(0.0), ..args(4.0, 1.0) }, &["stepsPerEpoch", "positive integer", "0"]),
        (FitArgs { class_weight: vec![Some([(0, 1.0), (1, f64::NAN)].into())], ..args(4.0, 1.0) }, &["classWeight[1]", "NaN"]),
        (FitArgs { class_weight: vec![Some([(0, 1.0)].into())], ..args(4.0, 1.0) }, &["classWeight must contain all classes", "class 1"]),
        (FitArgs { sample_weight: vec![Some(t(&[10], &[1., 1., 1., -2., 1., 1., 1., 1., 1., 1.]))], ..args(4.0, 1.0) }, &["sampleWeight", ">= 0", "-2"]),
        (FitArgs { sample_weight: vec![Some(t(&[3], &[1.; 3]))], ..args(4.0, 1.0) }, &["sampleWeight", "[10]", "[3]"]),
        (FitArgs { validation_data: Some((vec![t(&[2, 3], &[0.; 6])], vec![t(&[2, 2], &[0.; 4])])), ..args(4.0, 1.0) }, &["validationData", "[null,2]", "[2,3]"]),
    ];
    for (a, want) in cases {
        let e = fit(a);
        assert!(want.iter().all(|w| e.contains(w)), "{e} should mention {want:?}");
    }
    let e = train::fit(&g, &mut opt, &s, &[t(&[10, 3], &[0.; 30])], std::slice::from_ref(&y), &args(4.0, 1.0), &mut ()).unwrap_err().to_string();
    assert!(e.contains("input 0") && e.contains("[null,2]") && e.contains("[10,3]"), "{e}");
    let e = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), &[t(&[9, 2], &[0.; 18])], &args(4.0, 1.0), &mut ()).unwrap_err().to_string();
    assert!(e.contains("same number of samples") && e.contains("[10]") && e.contains("[9]"), "{e}");
    assert_eq!(values(&g), before);
    assert_eq!(opt.iterations(), 0);
}

#[test]
fn weights_regularizers_and_constraints_enter_training() {
    // SGD(0): the logged loss is the initial one. mse of a zero target + 0.5·Σw² (l2 = 0.5).
    let reg = json!({"kernelRegularizer": {"className": "L1L2", "config": {"l1": 0.0, "l2": 0.5}}, "useBias": false});
    let g = chain(2, vec![dense("d1", 1, "linear", 12, reg)]);
    let s = spec(&g, "mse", &[]);
    let x = t(&[4, 2], &[1., 0., 0., 1., 1., 1., -1., 2.]);
    let y = t(&[4, 1], &[0.; 4]);
    let w = g.weights()[0].var.read().to_f32_vec();
    let preds: Vec<f32> = x.to_f32_vec().chunks(2).map(|r| r[0] * w[0] + r[1] * w[1]).collect();
    let sq: Vec<f32> = preds.iter().map(|p| p * p).collect();
    let penalty = 0.5 * (w[0] * w[0] + w[1] * w[1]);
    let mut opt = Optimizer::sgd(0.0).unwrap();
    let logs = train::train_on_batch(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y)).unwrap();
    let want = sq.iter().sum::<f32>() / 4.0 + penalty;
    assert!((logs.get("loss").unwrap() as f32 - want).abs() < 1e-5, "{logs:?} vs {want}");
    // Class weights (by the [n, 1] target's value) and sample weights multiply per sample.
    let yc = t(&[4, 1], &[0., 1., 1., 0.]);
    let a = FitArgs {
        class_weight: vec![Some([(0, 2.0), (1, 0.5)].into())],
        sample_weight: vec![Some(t(&[4], &[1., 3., 1., 1.]))],
        shuffle: false,
        ..args(4.0, 1.0)
    };
    let h = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&yc), &a, &mut ()).unwrap();
    let per: Vec<f32> = preds.iter().zip(yc.to_f32_vec()).map(|(p, y)| (p - y) * (p - y)).collect();
    let want = (per[0] * 2.0 + per[1] * 1.5 + per[2] * 0.5 + per[3] * 2.0) / 4.0 + penalty;
    assert!((h.get("loss").unwrap()[0] as f32 - want).abs() < 1e-5, "{h:?} vs {want}");
    // A nonNeg constraint holds after every update.
    let g = chain(2, vec![dense("d1", 3, "linear", 13, json!({"kernelConstraint": "nonNeg"}))]);
    let s = spec(&g, "mse", &[]);
    let mut opt = Optimizer::sgd(1.0).unwrap();
    train::fit(&g, &mut opt, &s, &[x], &[t(&[4, 3], &[-5.; 12])], &args(2.0, 2.0), &mut ()).unwrap();
    assert!(g.weights()[0].var.read().to_f32_vec().iter().all(|&v| v >= 0.0));
}

#[test]
fn epochs_steps_and_stopping() {
    let g = chain(2, vec![dense("d1", 1, "linear", 14, json!({}))]);
    let s = spec(&g, "mse", &["mae"]);
    let (x, y) = quadrants(10, 7);
    let y1 = t(&[10], &y.to_f32_vec().chunks(2).map(|r| r[0]).collect::<Vec<_>>());
    let mut opt = Optimizer::sgd(0.01).unwrap();
    // initialEpoch 2 of 4, three steps of 4 samples per epoch: the order runs on over epochs.
    struct Sizes(Vec<usize>, usize);
    impl FitObserver for Sizes {
        fn on_batch_end(&mut self, _: usize, logs: &Logs) -> Result<bool> {
            self.0.push(logs.get("size").unwrap() as usize);
            Ok(false)
        }
        fn on_epoch_end(&mut self, epoch: usize, logs: &Logs) -> Result<bool> {
            assert!(logs.get("loss").is_some() && logs.get("mae").is_some());
            self.1 = epoch;
            Ok(false)
        }
    }
    let mut sizes = Sizes(vec![], 0);
    let a = FitArgs { initial_epoch: 2.0, epochs: 4.0, steps_per_epoch: Some(3.0), ..args(4.0, 4.0) };
    let h = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y1), &a, &mut sizes).unwrap();
    assert_eq!(h.epoch, [2, 3]);
    assert_eq!(sizes.0, [4, 4, 2, 4, 4, 2]);
    assert_eq!(opt.iterations(), 6);
    // Stopping from on_batch_end ends the epoch and the training.
    struct StopAt(usize);
    impl FitObserver for StopAt {
        fn on_batch_end(&mut self, batch: usize, _: &Logs) -> Result<bool> {
            self.0 += 1;
            Ok(batch == 1)
        }
    }
    let mut stop = StopAt(0);
    let h = train::fit(&g, &mut opt, &s, std::slice::from_ref(&x), std::slice::from_ref(&y1), &args(2.0, 5.0), &mut stop).unwrap();
    assert_eq!((h.epoch.clone(), stop.0), (vec![0], 2));
    // Zero epochs run nothing.
    let h = train::fit(&g, &mut opt, &s, &[x], &[y1], &args(2.0, 0.0), &mut ()).unwrap();
    assert!(h.epoch.is_empty() && h.history.is_empty());
}

#[test]
fn several_outputs_log_per_output_losses() {
    // Two heads on one input; metric names get the output prefix, duplicates an index.
    let d1 = dense("a", 1, "linear", 15, json!({}));
    let d2 = dense("b", 2, "linear", 16, json!({}));
    let nodes = vec![
        Node { layer: NodeLayer::Input { name: "x".into(), shape: vec![None, Some(2)] }, inputs: vec![] },
        Node { layer: NodeLayer::Native(d1), inputs: vec![TensorRef { node: 0, index: 0 }] },
        Node { layer: NodeLayer::Native(d2), inputs: vec![TensorRef { node: 0, index: 0 }] },
    ];
    let g = Graph::new(nodes, vec![0], vec![TensorRef { node: 1, index: 0 }, TensorRef { node: 2, index: 0 }]).unwrap();
    let ms = vec![vec![MetricSpec::from("mae"), MetricSpec::from("mae")]];
    let s = CompileSpec::new(&g, vec!["a".into(), "b".into()], vec![Loss::parse("mse").unwrap()], Some(vec![1.0, 2.0]), ms).unwrap();
    assert_eq!(s.metrics_names(), ["loss", "a_loss", "b_loss", "a_mae_0", "a_mae_1", "b_mae_0", "b_mae_1"]);
    let x = rand(&[6, 2], 9, -1.0, 1.0);
    let (ya, yb) = (rand(&[6, 1], 10, -1.0, 1.0), rand(&[6, 2], 11, -1.0, 1.0));
    let mut opt = Optimizer::sgd(0.0).unwrap();
    let logs = train::train_on_batch(&g, &mut opt, &s, std::slice::from_ref(&x), &[ya.clone(), yb.clone()]).unwrap();
    let (la, lb) = (logs.get("a_loss").unwrap(), logs.get("b_loss").unwrap());
    assert!((logs.get("loss").unwrap() - (la + 2.0 * lb)).abs() < 1e-6, "{logs:?}");
    let ev = train::evaluate(&g, &s, &[x], &[ya, yb], 4.0).unwrap();
    assert!((ev.get("a_loss").unwrap() - la).abs() < 1e-6 && (ev.get("b_loss").unwrap() - lb).abs() < 1e-6, "{ev:?} vs {logs:?}");
    let e = CompileSpec::new(&g, vec!["a".into(), "b".into()], vec![Loss::parse("mse").unwrap(); 3], None, vec![]).unwrap_err().to_string();
    assert!(e.contains("2 output(s)") && e.contains("got 3"), "{e}");
}

#[test]
fn shuffled_batches_gather_rows() {
    use super::batching::{gather_rows, SampleOrder};
    let x = Tensor::from_i32(vec![5, 2], (0..10).collect()).unwrap();
    assert_eq!(gather_rows(&x, &[3, 0, 3]).to_i32_vec(), [6, 7, 0, 1, 6, 7]);
    let mut order = SampleOrder::new(100, true, Some(3));
    order.start_pass();
    let mut all = Vec::new();
    while let Some(rows) = order.next_batch(32) {
        all.extend(gather_rows(&Tensor::from_i32(vec![100, 1], (0..100).collect()).unwrap(), match rows {
            super::batching::Rows::Indices(i) => i,
            super::batching::Rows::Range(..) => unreachable!(),
        })
        .to_i32_vec());
    }
    assert_ne!(all, (0..100).collect::<Vec<_>>());
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}
