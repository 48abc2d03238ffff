//! Tests of the recurrent layers and wrappers: forward values against plain-loop references,
//! numeric gradient checks (inputs, initial states and weights), config round trips, output
//! shapes and config errors.

use super::recurrent::{self, with_composite_ops};
use crate::kernels::rnn;
use super::{from_config, CallContext, Layer, LayerRef, Shape};
use crate::engine;
use crate::ops;
use crate::tape;
use crate::tensor::Tensor;
use crate::testutil::*;
use serde_json::{json, Value};

const INFER: CallContext = CallContext { training: false };

fn make(class: &str, cfg: Value) -> LayerRef {
    from_config(class, &cfg).unwrap_or_else(|e| panic!("{class}: {e}"))
}

fn shape(s: &[usize]) -> Shape {
    s.iter().map(|&d| Some(d)).collect()
}

/// Builds `l` for `input` and fills every weight with seeded values in `[-scale, scale)`.
fn fill_weights(l: &dyn Layer, input: &[usize], seed: u64, scale: f32) -> Vec<Vec<f32>> {
    l.build(&[shape(input)]).unwrap();
    l.weights()
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let v = rand(w.var.read().shape(), seed + i as u64, -scale, scale);
            w.var.assign(&v).unwrap();
            v.to_f32_vec()
        })
        .collect()
}

fn call1(l: &dyn Layer, xs: &[Tensor]) -> Vec<Tensor> {
    l.call(xs, &INFER).unwrap()
}

// ---- plain-loop reference ------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Simple,
    Lstm,
    Gru,
    GruResetAfter,
}

fn tanh(x: f32) -> f32 {
    x.tanh()
}
fn hard_sigmoid(x: f32) -> f32 {
    (0.2 * x + 0.5).clamp(0.0, 1.0)
}
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `a [n, k] · b [k, m]` (b's columns `c0..c0+m` of a `[k, ld]` matrix).
fn matmul(a: &[f32], n: usize, k: usize, b: &[f32], ld: usize, c0: usize, m: usize) -> Vec<f32> {
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            out[i * m + j] = (0..k).map(|p| a[i * k + p] * b[p * ld + c0 + j]).sum();
        }
    }
    out
}

struct Ref {
    kind: Kind,
    units: usize,
    act: fn(f32) -> f32,
    ract: fn(f32) -> f32,
}

impl Ref {
    /// Per-step outputs (in processing order) and the final states; `x [b, t, f]`.
    #[allow(clippy::too_many_arguments)]
    fn run(&self, x: &[f32], b: usize, t: usize, f: usize, w: &[f32], r: &[f32], bias: Option<&[f32]>, backwards: bool) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let u = self.units;
        let g = match self.kind {
            Kind::Simple => 1,
            Kind::Lstm => 4,
            _ => 3,
        };
        let mut h = vec![0.0f32; b * u];
        let mut c = vec![0.0f32; b * u];
        let mut outs = Vec::new();
        let order: Vec<usize> = if backwards { (0..t).rev().collect() } else { (0..t).collect() };
        for ti in order {
            let xt: Vec<f32> = (0..b).flat_map(|bi| x[(bi * t + ti) * f..(bi * t + ti + 1) * f].to_vec()).collect();
            let mut xz = matmul(&xt, b, f, w, g * u, 0, g * u);
            let in_bias = bias.map(|bb| &bb[..g * u]);
            if let Some(bb) = in_bias {
                for (i, v) in xz.iter_mut().enumerate() {
                    *v += bb[i % (g * u)];
                }
            }
            let at = |v: &[f32], i: usize, gate: usize| v[(i / u) * g * u + gate * u + i % u];
            match self.kind {
                Kind::Simple => {
                    let hr = matmul(&h, b, u, r, u, 0, u);
                    h = (0..b * u).map(|i| (self.act)(xz[i] + hr[i])).collect();
                }
                Kind::Lstm => {
                    let hr = matmul(&h, b, u, r, 4 * u, 0, 4 * u);
                    let z: Vec<f32> = xz.iter().zip(&hr).map(|(a, b)| a + b).collect();
                    for i in 0..b * u {
                        let ig = (self.ract)(at(&z, i, 0));
                        let fg = (self.ract)(at(&z, i, 1));
                        let cc = (self.act)(at(&z, i, 2));
                        let og = (self.ract)(at(&z, i, 3));
                        c[i] = fg * c[i] + ig * cc;
                        h[i] = og * (self.act)(c[i]);
                    }
                }
                Kind::Gru => {
                    let hr = matmul(&h, b, u, r, 3 * u, 0, 2 * u);
                    let mut zs = vec![0.0; b * u];
                    let mut rh = vec![0.0; b * u];
                    for i in 0..b * u {
                        let (bi, j) = (i / u, i % u);
                        zs[i] = (self.ract)(at(&xz, i, 0) + hr[bi * 2 * u + j]);
                        let rg = (self.ract)(at(&xz, i, 1) + hr[bi * 2 * u + u + j]);
                        rh[i] = rg * h[i];
                    }
                    let hh = matmul(&rh, b, u, r, 3 * u, 2 * u, u);
                    h = (0..b * u).map(|i| zs[i] * h[i] + (1.0 - zs[i]) * (self.act)(at(&xz, i, 2) + hh[i])).collect();
                }
                Kind::GruResetAfter => {
                    let mut hr = matmul(&h, b, u, r, 3 * u, 0, 3 * u);
                    if let Some(bb) = bias {
                        for (i, v) in hr.iter_mut().enumerate() {
                            *v += bb[3 * u + i % (3 * u)];
                        }
                    }
                    h = (0..b * u)
                        .map(|i| {
                            let z = (self.ract)(at(&xz, i, 0) + at(&hr, i, 0));
                            let rg = (self.ract)(at(&xz, i, 1) + at(&hr, i, 1));
                            let hh = (self.act)(at(&xz, i, 2) + rg * at(&hr, i, 2));
                            z * h[i] + (1.0 - z) * hh
                        })
                        .collect();
                }
            }
            outs.push(h.clone());
        }
        let states = if self.kind == Kind::Lstm { vec![h, c] } else { vec![h] };
        (outs, states)
    }
}

/// `[b, u]` per-step outputs → `[b, t, u]`.
fn seq_of(outs: &[Vec<f32>], b: usize, u: usize) -> Vec<f32> {
    let t = outs.len();
    let mut v = vec![0.0; b * t * u];
    for (ti, o) in outs.iter().enumerate() {
        for bi in 0..b {
            v[(bi * t + ti) * u..(bi * t + ti + 1) * u].copy_from_slice(&o[bi * u..(bi + 1) * u]);
        }
    }
    v
}

fn compare_with_reference(class: &str, kind: Kind, extra: Value, act: fn(f32) -> f32, ract: fn(f32) -> f32) {
    let (b, t, f, u) = (2, 3, 3, 4);
    for backwards in [false, true] {
        let mut cfg = json!({"name": "rnn", "units": u, "returnSequences": true, "returnState": true, "goBackwards": backwards});
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let l = make(class, cfg);
        let w = fill_weights(&*l, &[b, t, f], 7, 0.8);
        let x = rand(&[b, t, f], 3, -1.0, 1.0);
        let reference = Ref { kind, units: u, act, ract };
        let (outs, states) = reference.run(&x.to_f32_vec(), b, t, f, &w[0], &w[1], w.get(2).map(|v| v.as_slice()), backwards);
        for composite in [false, true] {
            let y = if composite { with_composite_ops(|| call1(&*l, std::slice::from_ref(&x))) } else { call1(&*l, std::slice::from_ref(&x)) };
            assert_eq!(y.len(), 1 + states.len(), "{class}");
            assert_eq!(y[0].shape(), &[b, t, u]);
            assert_close(&y[0].to_f32_vec(), &seq_of(&outs, b, u), 1e-5);
            for (s, want) in y[1..].iter().zip(&states) {
                assert_eq!(s.shape(), &[b, u]);
                assert_close(&s.to_f32_vec(), want, 1e-5);
            }
        }
    }
}

#[test]
fn simple_rnn_forward_matches_reference() {
    compare_with_reference("SimpleRNN", Kind::Simple, json!({}), tanh, tanh);
    compare_with_reference("SimpleRNN", Kind::Simple, json!({"activation": "relu"}), |x| x.max(0.0), tanh);
}

#[test]
fn lstm_forward_matches_reference() {
    compare_with_reference("LSTM", Kind::Lstm, json!({}), tanh, hard_sigmoid);
    compare_with_reference("LSTM", Kind::Lstm, json!({"recurrentActivation": "sigmoid"}), tanh, sigmoid);
    compare_with_reference("LSTM", Kind::Lstm, json!({"useBias": false}), tanh, hard_sigmoid);
}

#[test]
fn gru_forward_matches_reference() {
    compare_with_reference("GRU", Kind::Gru, json!({}), tanh, hard_sigmoid);
    compare_with_reference("GRU", Kind::Gru, json!({"recurrentActivation": "sigmoid", "useBias": false}), tanh, sigmoid);
    compare_with_reference("GRU", Kind::GruResetAfter, json!({"resetAfter": true, "recurrentActivation": "sigmoid"}), tanh, sigmoid);
    compare_with_reference("GRU", Kind::GruResetAfter, json!({"resetAfter": true, "useBias": false}), tanh, hard_sigmoid);
}

#[test]
fn two_step_simple_rnn_by_hand() {
    // units 1, one feature: h1 = tanh(0.5·1 + 0.1), h2 = tanh(0.5·2 + 0.25·h1 + 0.1).
    let l = make("SimpleRNN", json!({"name": "s", "units": 1, "returnSequences": true}));
    l.build(&[shape(&[1, 2, 1])]).unwrap();
    let w = l.weights();
    w[0].var.assign(&t(&[1, 1], &[0.5])).unwrap();
    w[1].var.assign(&t(&[1, 1], &[0.25])).unwrap();
    w[2].var.assign(&t(&[1], &[0.1])).unwrap();
    let y = call1(&*l, &[t(&[1, 2, 1], &[1.0, 2.0])]);
    let h1 = 0.6f32.tanh();
    let h2 = (1.1f32 + 0.25 * h1).tanh();
    assert_close(&y[0].to_f32_vec(), &[h1, h2], 1e-6);
}

#[test]
fn two_step_lstm_and_gru_by_hand() {
    // One unit, one feature, every weight 0.5, zero bias, sigmoid gates; x = [1, -1].
    let s = sigmoid;
    let l = make("LSTM", json!({"name": "l", "units": 1, "recurrentActivation": "sigmoid"}));
    l.build(&[shape(&[1, 2, 1])]).unwrap();
    let w = l.weights();
    w[0].var.assign(&t(&[1, 4], &[0.5; 4])).unwrap();
    w[1].var.assign(&t(&[1, 4], &[0.5; 4])).unwrap();
    w[2].var.assign(&t(&[4], &[0.0; 4])).unwrap();
    let (mut h, mut c) = (0.0f32, 0.0f32);
    for x in [1.0f32, -1.0] {
        let z = 0.5 * x + 0.5 * h;
        c = s(z) * c + s(z) * z.tanh();
        h = s(z) * c.tanh();
    }
    assert_close(&call1(&*l, &[t(&[1, 2, 1], &[1.0, -1.0])])[0].to_f32_vec(), &[h], 1e-6);

    let l = make("GRU", json!({"name": "g", "units": 1, "recurrentActivation": "sigmoid"}));
    l.build(&[shape(&[1, 2, 1])]).unwrap();
    let w = l.weights();
    w[0].var.assign(&t(&[1, 3], &[0.5; 3])).unwrap();
    w[1].var.assign(&t(&[1, 3], &[0.5; 3])).unwrap();
    w[2].var.assign(&t(&[3], &[0.0; 3])).unwrap();
    let mut h = 0.0f32;
    for x in [1.0f32, -1.0] {
        let z = s(0.5 * x + 0.5 * h);
        let r = s(0.5 * x + 0.5 * h);
        let hh = (0.5 * x + 0.5 * (r * h)).tanh();
        h = z * h + (1.0 - z) * hh;
    }
    assert_close(&call1(&*l, &[t(&[1, 2, 1], &[1.0, -1.0])])[0].to_f32_vec(), &[h], 1e-6);
}

// ---- gradients -------------------------------------------------------------------------------

fn grad_check_layer(class: &str, cfg: Value) {
    let l = make(class, cfg);
    let (b, t_, f) = (2, 3, 3);
    fill_weights(&*l, &[b, t_, f], 11, 0.6);
    let x = rand(&[b, t_, f], 5, -1.0, 1.0);
    // Loss w.r.t. the inputs; every output (sequence and states) enters it.
    let f_all = |xs: &[Tensor]| {
        let ys = l.call(&xs[..1], &INFER).unwrap();
        let flat: Vec<Tensor> = ys.iter().map(|y| ops::reshape(y, &[y.size()]).unwrap()).collect();
        let mut total = ops::sum(&ops::mul(&flat[0], &rand(flat[0].shape(), 1, 0.5, 1.5)).unwrap(), &[0], false).unwrap();
        for (i, y) in flat.iter().enumerate().skip(1) {
            let s = ops::sum(&ops::mul(y, &rand(y.shape(), 2 + i as u64, 0.5, 1.5)).unwrap(), &[0], false).unwrap();
            total = ops::add(&total, &s).unwrap();
        }
        total
    };
    check_grads(&f_all, std::slice::from_ref(&x));
    with_composite_ops(|| check_grads(&f_all, std::slice::from_ref(&x)));
}

#[test]
fn gradients_through_inputs() {
    grad_check_layer("SimpleRNN", json!({"name": "s", "units": 3, "returnSequences": true, "returnState": true}));
    grad_check_layer("SimpleRNN", json!({"name": "s", "units": 3, "goBackwards": true}));
    grad_check_layer("LSTM", json!({"name": "l", "units": 3, "recurrentActivation": "sigmoid", "returnSequences": true, "returnState": true}));
    grad_check_layer("LSTM", json!({"name": "l", "units": 2}));
    grad_check_layer("GRU", json!({"name": "g", "units": 3, "recurrentActivation": "sigmoid", "returnSequences": true}));
    grad_check_layer("GRU", json!({"name": "g", "units": 2, "resetAfter": true, "returnState": true, "goBackwards": true}));
    grad_check_layer("Bidirectional", json!({"name": "bi", "layer": {"className": "LSTM", "config": {"name": "l", "units": 2, "returnSequences": true, "recurrentActivation": "sigmoid"}}}));
    grad_check_layer("Bidirectional", json!({"name": "bi", "mergeMode": "mul", "layer": {"className": "GRU", "config": {"name": "g", "units": 2}}}));
    grad_check_layer("TimeDistributed", json!({"name": "td", "layer": {"className": "Dense", "config": {"name": "d", "units": 2, "activation": "tanh"}}}));
}

#[test]
fn gradients_through_initial_states() {
    let l = make("LSTM", json!({"name": "l", "units": 2, "recurrentActivation": "sigmoid", "returnSequences": true}));
    fill_weights(&*l, &[2, 3, 2], 4, 0.7);
    let xs = [rand(&[2, 3, 2], 1, -1.0, 1.0), rand(&[2, 2], 2, -1.0, 1.0), rand(&[2, 2], 3, -1.0, 1.0)];
    check_grads(&|xs: &[Tensor]| l.call(xs, &INFER).unwrap().remove(0), &xs);
    let g = make("GRU", json!({"name": "g", "units": 2}));
    fill_weights(&*g, &[2, 3, 2], 5, 0.7);
    check_grads(&|xs: &[Tensor]| g.call(xs, &INFER).unwrap().remove(0), &xs[..2]);
}

/// Analytic gradients of a weighted sum of the first output w.r.t. every weight, against
/// central differences through `Variable::assign`.
fn weight_grad_check(class: &str, cfg: Value) {
    let l = make(class, cfg);
    let input = [2, 3, 2];
    fill_weights(&*l, &input, 21, 0.7);
    let x = rand(&input, 9, -1.0, 1.0);
    let loss = || {
        let y = l.call(std::slice::from_ref(&x), &INFER).unwrap().remove(0);
        let w = rand(y.shape(), 99, 0.5, 1.5);
        ops::sum(&ops::mul(&y, &w).unwrap(), &(0..y.rank()).collect::<Vec<_>>(), false).unwrap()
    };
    let weights = l.weights();
    let tp = tape::new_tape();
    let y = engine::with_tape(&tp, loss);
    let ids: Vec<u64> = weights.iter().map(|w| w.var.id()).collect();
    let grads = tape::gradients(&tp, &y, &ids, None).unwrap();
    for (w, g) in weights.iter().zip(grads) {
        let g = g.unwrap_or_else(|| panic!("{class}: no gradient for {}", w.var.name())).to_f32_vec();
        let base = w.var.read().to_f32_vec();
        let eps = 1e-3f32;
        for j in 0..base.len() {
            let mut v = base.clone();
            v[j] += eps;
            w.var.assign(&t(w.var.read().shape(), &v)).unwrap();
            let fp = loss().to_f32_vec()[0] as f64;
            v[j] -= 2.0 * eps;
            w.var.assign(&t(w.var.read().shape(), &v)).unwrap();
            let fm = loss().to_f32_vec()[0] as f64;
            w.var.assign(&t(w.var.read().shape(), &base)).unwrap();
            let num = ((fp - fm) / (2.0 * eps as f64)) as f32;
            assert!((g[j] - num).abs() <= 2e-2 * (1.0 + num.abs()), "{class} {} element {j}: analytic {} vs numeric {num}", w.var.name(), g[j]);
        }
    }
}

#[test]
fn gradients_reach_every_weight() {
    weight_grad_check("SimpleRNN", json!({"name": "s", "units": 2, "returnSequences": true}));
    weight_grad_check("LSTM", json!({"name": "l", "units": 2, "recurrentActivation": "sigmoid", "returnSequences": true}));
    weight_grad_check("GRU", json!({"name": "g", "units": 2, "recurrentActivation": "sigmoid"}));
    weight_grad_check("GRU", json!({"name": "g", "units": 2, "resetAfter": true, "recurrentActivation": "sigmoid"}));
    weight_grad_check("Bidirectional", json!({"name": "bi", "layer": {"className": "SimpleRNN", "config": {"name": "s", "units": 2}}}));
}

// ---- shapes, states, directions ------------------------------------------------------------

#[test]
fn output_shapes_follow_return_sequences_and_return_state() {
    let (b, t_, f, u) = (3, 5, 2, 4);
    let x = rand(&[b, t_, f], 1, -1.0, 1.0);
    for class in ["SimpleRNN", "LSTM", "GRU"] {
        let states = if class == "LSTM" { 2 } else { 1 };
        for (seq, st) in [(false, false), (true, false), (false, true), (true, true)] {
            let l = make(class, json!({"name": "r", "units": u, "returnSequences": seq, "returnState": st}));
            let ys = call1(&*l, std::slice::from_ref(&x));
            let want_out: Vec<usize> = if seq { vec![b, t_, u] } else { vec![b, u] };
            assert_eq!(ys.len(), if st { 1 + states } else { 1 }, "{class} seq={seq} state={st}");
            assert_eq!(ys[0].shape(), &want_out[..]);
            for s in &ys[1..] {
                assert_eq!(s.shape(), &[b, u]);
            }
            let declared = l.compute_output_shape(&[vec![None, Some(t_), Some(f)]]).unwrap();
            assert_eq!(declared.len(), ys.len());
            for (d, y) in declared.iter().zip(&ys) {
                assert_eq!(d[0], None);
                assert_eq!(&d[1..], &shape(&y.shape()[1..])[..]);
            }
            if !seq {
                // Without returnSequences the output is the last state h.
                if st {
                    assert_close(&ys[0].to_f32_vec(), &ys[1].to_f32_vec(), 0.0);
                }
            }
        }
    }
}

#[test]
fn last_output_is_last_step_of_the_sequence() {
    let x = rand(&[2, 4, 3], 8, -1.0, 1.0);
    for class in ["SimpleRNN", "LSTM", "GRU"] {
        let seq = make(class, json!({"name": "a", "units": 3, "returnSequences": true}));
        let last = make(class, json!({"name": "b", "units": 3}));
        let w = fill_weights(&*seq, &[2, 4, 3], 2, 0.5);
        last.build(&[shape(&[2, 4, 3])]).unwrap();
        for (lw, v) in last.weights().iter().zip(&w) {
            lw.var.assign(&t(lw.var.read().shape(), v)).unwrap();
        }
        let ys = call1(&*seq, std::slice::from_ref(&x))[0].to_f32_vec();
        let y = call1(&*last, std::slice::from_ref(&x))[0].to_f32_vec();
        let tail: Vec<f32> = (0..2).flat_map(|bi| ys[(bi * 4 + 3) * 3..(bi * 4 + 4) * 3].to_vec()).collect();
        assert_close(&y, &tail, 1e-6);
    }
}

#[test]
fn initial_states_are_used() {
    let l = make("LSTM", json!({"name": "l", "units": 2, "returnState": true}));
    fill_weights(&*l, &[1, 2, 2], 3, 0.5);
    let x = rand(&[1, 2, 2], 4, -1.0, 1.0);
    let zero = call1(&*l, &[x.clone(), Tensor::zeros(&[1, 2], crate::DType::Float32), Tensor::zeros(&[1, 2], crate::DType::Float32)]);
    let default = call1(&*l, std::slice::from_ref(&x));
    assert_close(&zero[0].to_f32_vec(), &default[0].to_f32_vec(), 0.0);
    let other = call1(&*l, &[x.clone(), t(&[1, 2], &[0.5, -0.5]), t(&[1, 2], &[1.0, 1.0])]);
    assert!(other[0].to_f32_vec() != default[0].to_f32_vec());
    // Continuing from the returned states equals running the concatenated sequence.
    let x2 = rand(&[1, 2, 2], 5, -1.0, 1.0);
    let cont = call1(&*l, &[x2.clone(), default[1].clone(), default[2].clone()]);
    let mut both = x.to_f32_vec();
    both.extend(x2.to_f32_vec());
    let whole = call1(&*l, &[t(&[1, 4, 2], &both)]);
    assert_close(&cont[0].to_f32_vec(), &whole[0].to_f32_vec(), 1e-6);
    let err = l.call(&[x.clone(), t(&[1, 2], &[0.0, 0.0])], &INFER).unwrap_err().to_string();
    assert!(err.contains("2 state(s)"), "{err}");
    let err = l.call(&[x, t(&[1, 3], &[0.0; 3]), t(&[1, 2], &[0.0; 2])], &INFER).unwrap_err().to_string();
    assert!(err.contains("initial state 0"), "{err}");
}

#[test]
fn cells_step_once_and_rnn_runs_a_cell_config() {
    for (cell, layer) in [("SimpleRNNCell", "SimpleRNN"), ("LSTMCell", "LSTM"), ("GRUCell", "GRU")] {
        let c = make(cell, json!({"name": "c", "units": 3}));
        let w = fill_weights(&*c, &[2, 4], 6, 0.6);
        let x = rand(&[2, 4], 7, -1.0, 1.0);
        let n = if cell == "LSTMCell" { 2 } else { 1 };
        let mut inputs = vec![x.clone()];
        inputs.extend((0..n).map(|i| rand(&[2, 3], 20 + i as u64, -0.5, 0.5)));
        let out = call1(&*c, &inputs);
        assert_eq!(out.len(), 1 + n);
        assert_close(&out[0].to_f32_vec(), &out[1].to_f32_vec(), 0.0);
        let declared = c.compute_output_shape(&[vec![None, Some(4)], vec![None, Some(3)]]).unwrap();
        assert_eq!(declared, vec![vec![None, Some(3)]; 1 + n]);
        assert!(c.call(&inputs[..1], &INFER).unwrap_err().to_string().contains(cell));

        // The layer and RNN(cell) with the same weights agree with the cell over one step.
        let seq = make(layer, json!({"name": "l", "units": 3, "returnState": true}));
        let rnn = make("RNN", json!({"name": "r", "returnState": true, "cell": {"className": cell, "config": {"name": "c2", "units": 3}}}));
        for l in [&seq, &rnn] {
            l.build(&[shape(&[2, 1, 4])]).unwrap();
            for (lw, v) in l.weights().iter().zip(&w) {
                lw.var.assign(&t(lw.var.read().shape(), v)).unwrap();
            }
            let mut sin = vec![ops::reshape(&x, &[2, 1, 4]).unwrap()];
            sin.extend(inputs[1..].iter().cloned());
            let ys = call1(&**l, &sin);
            for (a, b) in ys.iter().zip(&out) {
                assert_close(&a.to_f32_vec(), &b.to_f32_vec(), 1e-6);
            }
        }
        assert_eq!(rnn.class_name(), "RNN");
        assert_eq!(rnn.weights()[0].var.name(), "r/kernel");
    }
}

#[test]
fn weights_have_tfjs_names_shapes_and_initial_values() {
    let l = make("LSTM", json!({"name": "lstm_LSTM1", "units": 3}));
    l.build(&[shape(&[2, 5, 4])]).unwrap();
    let w = l.weights();
    let names: Vec<&str> = w.iter().map(|w| w.var.name()).collect();
    assert_eq!(names, ["lstm_LSTM1/kernel", "lstm_LSTM1/recurrent_kernel", "lstm_LSTM1/bias"]);
    assert_eq!(w[0].var.read().shape(), &[4, 12]);
    assert_eq!(w[1].var.read().shape(), &[3, 12]);
    assert_eq!(w[2].var.read().shape(), &[12]);
    assert_close(&w[2].var.read().to_f32_vec(), &[0.0; 12], 0.0);
    // Orthogonal recurrent kernel: R·Rᵀ = I (3×12, rows orthonormal).
    let r = w[1].var.read();
    let rrt = ops::mat_mul(&r, &r, false, true).unwrap().to_f32_vec();
    assert_close(&rrt, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 1e-4);

    let l = make("LSTM", json!({"name": "l", "units": 2, "unitForgetBias": true, "biasInitializer": "zeros"}));
    l.build(&[shape(&[1, 1, 1])]).unwrap();
    assert_close(&l.weights()[2].var.read().to_f32_vec(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0], 0.0);

    let g = make("GRU", json!({"name": "g", "units": 2, "resetAfter": true}));
    g.build(&[shape(&[1, 1, 3])]).unwrap();
    let shapes: Vec<Vec<usize>> = g.weights().iter().map(|w| w.var.read().shape().to_vec()).collect();
    assert_eq!(shapes, vec![vec![3, 6], vec![2, 6], vec![2, 6]]);
    let s = make("SimpleRNN", json!({"name": "s", "units": 2, "useBias": false, "trainable": false}));
    s.build(&[shape(&[1, 1, 3])]).unwrap();
    assert_eq!(s.weights().len(), 2);
    assert!(s.weights().iter().all(|w| !w.trainable()));
}

#[test]
fn dropout_only_in_training() {
    let l = make("LSTM", json!({"name": "l", "units": 4, "dropout": 0.5, "recurrentDropout": 0.5}));
    fill_weights(&*l, &[8, 3, 5], 1, 0.5);
    let x = rand(&[8, 3, 5], 2, -1.0, 1.0);
    let a = call1(&*l, std::slice::from_ref(&x))[0].to_f32_vec();
    let b = call1(&*l, std::slice::from_ref(&x))[0].to_f32_vec();
    assert_eq!(a, b);
    let train = CallContext { training: true };
    let c = l.call(std::slice::from_ref(&x), &train).unwrap()[0].to_f32_vec();
    assert_eq!(c.len(), a.len());
    assert!(c != a);
    for class in ["SimpleRNN", "GRU"] {
        let l = make(class, json!({"name": "l", "units": 4, "dropout": 0.3, "recurrentDropout": 0.3}));
        let y = l.call(std::slice::from_ref(&x), &train).unwrap();
        assert_eq!(y[0].shape(), &[8, 4]);
        assert!(y[0].to_f32_vec().iter().all(|v| v.is_finite()));
    }
}

// ---- wrappers --------------------------------------------------------------------------------

#[test]
fn bidirectional_merges_forward_and_backward_passes() {
    let (b, t_, f, u) = (2, 4, 3, 2);
    let x = rand(&[b, t_, f], 3, -1.0, 1.0);
    let inner = json!({"name": "lstm_LSTM1", "units": u, "returnSequences": true, "returnState": true});
    for seq in [true, false] {
        let mut inner = inner.clone();
        inner["returnSequences"] = json!(seq);
        let fwd = make("LSTM", inner.clone());
        let mut back_cfg = inner.clone();
        back_cfg["goBackwards"] = json!(true);
        let bwd = make("LSTM", back_cfg);
        let wf = fill_weights(&*fwd, &[b, t_, f], 1, 0.6);
        let wb = fill_weights(&*bwd, &[b, t_, f], 2, 0.6);
        let yf = call1(&*fwd, std::slice::from_ref(&x));
        let yb = call1(&*bwd, std::slice::from_ref(&x));
        // The backward pass's per-step outputs, back in input time order.
        let yb_out = if seq {
            let v = yb[0].to_f32_vec();
            let mut r = vec![0.0; v.len()];
            for bi in 0..b {
                for ti in 0..t_ {
                    let (src, dst) = ((bi * t_ + ti) * u, (bi * t_ + (t_ - 1 - ti)) * u);
                    r[dst..dst + u].copy_from_slice(&v[src..src + u]);
                }
            }
            r
        } else {
            yb[0].to_f32_vec()
        };
        let yf_out = yf[0].to_f32_vec();
        for mode in [json!("concat"), json!("sum"), json!("mul"), json!("ave"), Value::Null] {
            let bi = make("Bidirectional", json!({"name": "bidi", "mergeMode": mode, "layer": {"className": "LSTM", "config": inner}}));
            bi.build(&[shape(&[b, t_, f])]).unwrap();
            let bw = bi.weights();
            assert_eq!(bw.len(), 6);
            assert_eq!(bw[0].var.name(), "bidi/forward_lstm_LSTM1/kernel");
            assert_eq!(bw[5].var.name(), "bidi/backward_lstm_LSTM1/bias");
            for (w, v) in bw.iter().zip(wf.iter().chain(&wb)) {
                w.var.assign(&t(w.var.read().shape(), v)).unwrap();
            }
            let ys = call1(&*bi, std::slice::from_ref(&x));
            let declared = bi.compute_output_shape(&[shape(&[b, t_, f])]).unwrap();
            assert_eq!(declared.len(), ys.len());
            for (d, y) in declared.iter().zip(&ys) {
                assert_eq!(d, &shape(y.shape()));
            }
            let n_out = if mode.is_null() { 2 } else { 1 };
            assert_eq!(ys.len(), n_out + 4, "{mode}");
            let merged: Vec<f32> = match mode.as_str() {
                Some("concat") => {
                    let rows = yf_out.len() / u;
                    (0..rows).flat_map(|r| yf_out[r * u..(r + 1) * u].iter().chain(&yb_out[r * u..(r + 1) * u]).copied().collect::<Vec<_>>()).collect()
                }
                Some("sum") => yf_out.iter().zip(&yb_out).map(|(a, b)| a + b).collect(),
                Some("mul") => yf_out.iter().zip(&yb_out).map(|(a, b)| a * b).collect(),
                Some("ave") => yf_out.iter().zip(&yb_out).map(|(a, b)| 0.5 * (a + b)).collect(),
                _ => yf_out.clone(),
            };
            assert_close(&ys[0].to_f32_vec(), &merged, 1e-6);
            if mode.is_null() {
                assert_close(&ys[1].to_f32_vec(), &yb_out, 1e-6);
            }
            // States: forward h, c then backward h, c.
            let states: Vec<Vec<f32>> = ys[n_out..].iter().map(Tensor::to_f32_vec).collect();
            let want: Vec<Vec<f32>> = yf[1..].iter().chain(&yb[1..]).map(Tensor::to_f32_vec).collect();
            for (s, w) in states.iter().zip(&want) {
                assert_close(s, w, 1e-6);
            }
            if mode == json!("concat") {
                let c = with_composite_ops(|| call1(&*bi, std::slice::from_ref(&x)));
                assert_close(&c[0].to_f32_vec(), &merged, 1e-6);
            }
        }
    }
}

#[test]
fn time_distributed_dense_applies_per_step() {
    let td = make("TimeDistributed", json!({"name": "td", "layer": {"className": "Dense", "config": {"name": "dense_Dense1", "units": 3, "activation": "relu"}}}));
    let w = fill_weights(&*td, &[2, 4, 5], 3, 1.0);
    let names: Vec<String> = td.weights().iter().map(|w| w.var.name().to_string()).collect();
    assert_eq!(names, ["td/kernel", "td/bias"]);
    let x = rand(&[2, 4, 5], 1, -1.0, 1.0);
    let y = call1(&*td, std::slice::from_ref(&x));
    assert_eq!(y[0].shape(), &[2, 4, 3]);
    let xv = x.to_f32_vec();
    let want: Vec<f32> = (0..8)
        .flat_map(|row| {
            let o = matmul(&xv[row * 5..(row + 1) * 5], 1, 5, &w[0], 3, 0, 3);
            o.iter().zip(&w[1]).map(|(a, b)| (a + b).max(0.0)).collect::<Vec<_>>()
        })
        .collect();
    assert_close(&y[0].to_f32_vec(), &want, 1e-5);
    assert_eq!(td.compute_output_shape(&[vec![None, Some(4), Some(5)]]).unwrap(), vec![vec![None, Some(4), Some(3)]]);
    let err = td.call(&[rand(&[2, 5], 1, 0.0, 1.0)], &INFER).unwrap_err().to_string();
    assert!(err.contains("td") && err.contains("rank >= 3"), "{err}");
    // Rank 4 inputs: the inner layer sees [batch·time, a, b].
    let td = make("TimeDistributed", json!({"name": "td2", "layer": {"className": "Flatten", "config": {"name": "f"}}}));
    assert_eq!(call1(&*td, &[rand(&[2, 3, 4, 5], 1, 0.0, 1.0)])[0].shape(), &[2, 3, 20]);
}

// ---- configs -----------------------------------------------------------------------------------

fn round_trip(class: &str, cfg: Value) -> Value {
    let l = make(class, cfg);
    let c = l.config();
    let again = make(class, c.clone()).config();
    assert_eq!(c, again, "{class} config round trip");
    c
}

#[test]
fn configs_round_trip() {
    let c = round_trip("LSTM", json!({"name": "lstm_LSTM1", "units": 5}));
    assert_eq!(c["units"], json!(5));
    assert_eq!(c["activation"], json!("tanh"));
    assert_eq!(c["recurrentActivation"], json!("hardSigmoid"));
    // tfjs serializes glorotUniform as the VarianceScaling it is.
    assert_eq!(c["kernelInitializer"]["className"], json!("VarianceScaling"));
    assert_eq!(c["kernelInitializer"]["config"]["mode"], json!("fanAvg"));
    assert_eq!(c["recurrentInitializer"]["className"], json!("Orthogonal"));
    assert_eq!(c["biasInitializer"]["className"], json!("Zeros"));
    assert_eq!(c["returnSequences"], json!(false));
    assert_eq!(c["stateful"], json!(false));
    assert_eq!(c["dropout"], json!(0.0));
    assert_eq!(c["name"], json!("lstm_LSTM1"));
    // tfjs leaves unitForgetBias and implementation unset unless given (null in model files).
    assert_eq!((&c["unitForgetBias"], &c["implementation"]), (&Value::Null, &Value::Null));
    let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    let at = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert_eq!(at("unitForgetBias"), at("biasInitializer") + 1, "tfjs's key order");
    assert_eq!(at("implementation"), at("recurrentDropout") + 1, "tfjs's key order");
    assert!(c.get("cell").is_none());
    round_trip(
        "LSTM",
        json!({"name": "l", "units": 2, "activation": "relu", "recurrentActivation": "sigmoid", "useBias": false,
               "kernelInitializer": "heNormal", "recurrentInitializer": {"className": "Identity", "config": {"gain": 2}},
               "unitForgetBias": true, "kernelRegularizer": {"className": "L1L2", "config": {"l1": 0.1, "l2": 0.2}},
               "recurrentConstraint": {"className": "MaxNorm", "config": {"maxValue": 2, "axis": 0}},
               "dropout": 0.25, "recurrentDropout": 0.5, "implementation": 2, "returnSequences": true,
               "returnState": true, "goBackwards": true, "unroll": true, "inputShape": [7, 3], "trainable": false}),
    );
    let c = round_trip("GRU", json!({"name": "g", "units": 3, "resetAfter": true, "batchInputShape": [null, 4, 2]}));
    assert_eq!(c["resetAfter"], json!(true));
    assert_eq!(c["batchInputShape"], json!([null, 4, 2]));
    assert_eq!(round_trip("GRU", json!({"name": "g", "units": 3}))["resetAfter"], json!(false));
    let c = round_trip("SimpleRNN", json!({"name": "s", "units": 3, "dropout": 7}));
    assert_eq!(c["dropout"], json!(1.0), "tfjs clamps rates into [0, 1]");
    assert!(c.get("recurrentActivation").is_none());
    for cell in ["SimpleRNNCell", "LSTMCell", "GRUCell"] {
        let c = round_trip(cell, json!({"name": "c", "units": 2}));
        assert!(c.get("returnSequences").is_none());
        let c = round_trip("RNN", json!({"name": "r", "returnSequences": true, "cell": {"className": cell, "config": {"name": "c", "units": 2}}}));
        assert_eq!(c["cell"]["className"], json!(cell));
        assert_eq!(c["cell"]["config"]["name"], json!("c"));
        assert_eq!(c["name"], json!("r"));
        assert_eq!(c["units"], json!(2));
    }
    // LSTM activation null is linear (tfjs getActivation(null)); SimpleRNN's is its default.
    assert_eq!(make("LSTM", json!({"name": "l", "units": 1, "activation": null})).config()["activation"], json!("linear"));
    assert_eq!(make("SimpleRNN", json!({"name": "s", "units": 1, "activation": null})).config()["activation"], json!("tanh"));

    let c = round_trip("Bidirectional", json!({"name": "bi", "mergeMode": "sum", "layer": {"className": "GRU", "config": {"name": "g", "units": 2, "returnSequences": true}}}));
    assert_eq!(c["mergeMode"], json!("sum"));
    assert_eq!(c["layer"]["className"], json!("GRU"));
    assert_eq!(c["layer"]["config"]["name"], json!("g"));
    assert_eq!(c["layer"]["config"]["goBackwards"], json!(false));
    assert_eq!(round_trip("Bidirectional", json!({"name": "bi", "layer": {"className": "LSTM", "config": {"name": "l", "units": 2}}}))["mergeMode"], json!("concat"));
    assert_eq!(round_trip("Bidirectional", json!({"name": "bi", "mergeMode": null, "layer": {"className": "LSTM", "config": {"name": "l", "units": 2}}}))["mergeMode"], Value::Null);
    let c = round_trip("TimeDistributed", json!({"name": "td", "inputShape": [4, 5], "layer": {"className": "Dense", "config": {"name": "d", "units": 3}}}));
    assert_eq!(c["layer"]["config"]["name"], json!("d"));
    assert_eq!(c["layer"]["config"]["units"], json!(3));
    assert_eq!(c["batchInputShape"], json!([null, 4, 5]));
}

#[test]
fn bad_configs_name_the_layer() {
    let err = |class: &str, cfg: Value| from_config(class, &cfg).err().unwrap_or_else(|| panic!("{class} {cfg} should fail")).to_string();
    for class in ["SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"] {
        let e = err(class, json!({"name": "x"}));
        assert!(e.starts_with(class) && e.contains("units"), "{e}");
        let e = err(class, json!({"name": "x", "units": 2, "unitz": 3}));
        assert!(e.starts_with(class) && e.contains("unknown config field 'unitz'"), "{e}");
        let e = err(class, json!({"name": "x", "units": 0}));
        assert!(e.starts_with(class) && e.contains("positive"), "{e}");
    }
    let e = err("SimpleRNN", json!({"name": "x", "units": 2, "recurrentActivation": "sigmoid"}));
    assert!(e.contains("recurrentActivation"), "{e}");
    let e = err("LSTM", json!({"name": "x", "units": 2, "stateful": true}));
    assert!(e.starts_with("LSTM") && e.contains("stateful"), "{e}");
    let e = err("GRU", json!({"name": "x", "units": 2, "activation": "nope"}));
    assert!(e.starts_with("GRU") && e.contains("nope"), "{e}");
    let e = err("RNN", json!({"name": "x"}));
    assert!(e.starts_with("RNN") && e.contains("cell"), "{e}");
    let e = err("RNN", json!({"name": "x", "cell": {"className": "Dense", "config": {}}}));
    assert!(e.contains("Dense"), "{e}");
    let e = err("RNN", json!({"name": "x", "cell": [{"className": "LSTMCell", "config": {"units": 1}}]}));
    assert!(e.contains("stacked"), "{e}");
    let e = err("RNN", json!({"name": "x", "cell": {"className": "LSTMCell", "config": {"name": "c"}}}));
    assert!(e.starts_with("LSTMCell") && e.contains("units"), "{e}");
    let e = err("Bidirectional", json!({"name": "b"}));
    assert!(e.starts_with("Bidirectional") && e.contains("layer"), "{e}");
    let e = err("Bidirectional", json!({"name": "b", "layer": {"className": "Dense", "config": {"units": 1}}}));
    assert!(e.starts_with("Bidirectional") && e.contains("Dense"), "{e}");
    let e = err("Bidirectional", json!({"name": "b", "mergeMode": "max", "layer": {"className": "LSTM", "config": {"units": 1}}}));
    assert!(e.starts_with("Bidirectional") && e.contains("mergeMode"), "{e}");
    let e = err("Bidirectional", json!({"name": "b", "layer": {"className": "LSTM", "config": {"units": 1, "bogus": 1}}}));
    assert!(e.starts_with("LSTM") && e.contains("bogus"), "{e}");
    let e = err("TimeDistributed", json!({"name": "t"}));
    assert!(e.starts_with("TimeDistributed") && e.contains("layer"), "{e}");
    let e = err("TimeDistributed", json!({"name": "t", "layer": {"className": "Dense", "config": {}}}));
    assert!(e.starts_with("Dense") && e.contains("units"), "{e}");
    let e = err("TimeDistributed", json!({"name": "t", "layer": {"className": "Nope", "config": {}}}));
    assert!(e.contains("Nope"), "{e}");
    // Input problems at call time name the layer.
    let l = make("GRU", json!({"name": "gru_GRU1", "units": 2}));
    let e = l.call(&[rand(&[2, 3], 1, 0.0, 1.0)], &INFER).unwrap_err().to_string();
    assert!(e.starts_with("gru_GRU1") && e.contains("rank 3"), "{e}");
    call1(&*l, &[rand(&[2, 3, 4], 1, 0.0, 1.0)]);
    let e = l.call(&[rand(&[2, 3, 5], 1, 0.0, 1.0)], &INFER).unwrap_err().to_string();
    assert!(e.starts_with("gru_GRU1") && e.contains("last dimension 4"), "{e}");
    assert!(l.build(&[vec![None, Some(3)]]).is_err());
}

#[test]
fn helpers_agree_with_and_without_kernels() {
    let x = rand(&[3, 2, 4], 1, -1.0, 1.0);
    let v = x.to_f32_vec();
    let at = |i: usize, j: usize, k: usize| v[(i * 2 + j) * 4 + k];
    for composite in [false, true] {
        let run = || {
            for axis in 0..3 {
                let parts = recurrent::unstack(&x, axis).unwrap();
                assert_eq!(parts.len(), x.shape()[axis]);
                for (n, p) in parts.iter().enumerate() {
                    let mut want_shape = x.shape().to_vec();
                    want_shape.remove(axis);
                    assert_eq!(p.shape(), &want_shape[..]);
                    let want: Vec<f32> = (0..3)
                        .flat_map(|i| (0..2).flat_map(move |j| (0..4).map(move |k| (i, j, k))))
                        .filter(|&(i, j, k)| [i, j, k][axis] == n)
                        .map(|(i, j, k)| at(i, j, k))
                        .collect();
                    assert_close(&p.to_f32_vec(), &want, 0.0);
                }
                let back = recurrent::stack(&parts, axis).unwrap();
                assert_eq!(back.shape(), x.shape());
                assert_close(&back.to_f32_vec(), &v, 0.0);
            }
            let s = recurrent::split0(&x, &[1, 2]).unwrap();
            assert_eq!(s[1].shape(), &[2, 2, 4]);
            assert_close(&s[1].to_f32_vec(), &v[8..], 0.0);
            let parts = recurrent::unstack(&x, 0).unwrap();
            let c = recurrent::concat_last(&parts[0], &parts[1]).unwrap();
            assert_eq!(c.shape(), &[2, 8]);
            assert_close(&c.to_f32_vec(), &[&v[0..4], &v[8..12], &v[4..8], &v[12..16]].concat(), 0.0);
            // Gradients flow through all of them.
            check_grads(&|xs: &[Tensor]| recurrent::stack(&recurrent::unstack(&xs[0], 1).unwrap(), 2).unwrap(), std::slice::from_ref(&x));
            check_grads(
                &|xs: &[Tensor]| {
                    let p = recurrent::split0(&xs[0], &[2, 1]).unwrap();
                    recurrent::concat_last(&p[0], &p[0]).unwrap()
                },
                std::slice::from_ref(&x),
            );
        };
        if composite { with_composite_ops(run) } else { run() }
    }
}

/// The training step the layer is meant to make fast: LSTM(64) over [64, 32, 16], forward and
/// backward. Run with `cargo test --release -- --ignored --nocapture lstm_training_step_speed`.
#[test]
#[ignore]
fn lstm_training_step_speed() {
    let l = make("LSTM", json!({"name": "l", "units": 64}));
    let x = rand(&[64, 32, 16], 1, -1.0, 1.0);
    l.build(&[shape(&[64, 32, 16])]).unwrap();
    let ids: Vec<u64> = l.weights().iter().map(|w| w.var.id()).collect();
    let step = || {
        let tp = tape::new_tape();
        let y = engine::with_tape(&tp, || {
            let y = l.call(std::slice::from_ref(&x), &CallContext { training: true }).unwrap().remove(0);
            ops::mean(&ops::square(&y).unwrap(), &[0, 1], false).unwrap()
        });
        tape::gradients(&tp, &y, &ids, None).unwrap()
    };
    step();
    let n = 100;
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        step();
    }
    println!("LSTM(64) [64,32,16] forward+backward: {:.2} ms/step", t0.elapsed().as_secs_f64() * 1e3 / n as f64);
}

#[test]
fn masked_steps_keep_the_state() {
    // Masking(0) → SimpleRNN(2 units, linear, all-ones kernels, no bias): h ← Σx + Σh per step.
    // Row 0: x = [1,2], [0,0] (masked), [3,1]: h = [3,3], kept [3,3], 4 + 6 = [10,10].
    // Row 1: [0,0] (masked, h stays 0), [1,1]: h = [2,2], [2,-1]: 1 + 4 = [5,5].
    let x = t(&[2, 3, 2], &[1.0, 2.0, 0.0, 0.0, 3.0, 1.0, 0.0, 0.0, 1.0, 1.0, 2.0, -1.0]);
    let masking = make("Masking", json!({"name": "m"}));
    let mask = masking.compute_mask(std::slice::from_ref(&x), &[]).unwrap().expect("a mask");
    assert_eq!(mask.shape(), &[2, 3]);
    assert_eq!(mask.to_f32_vec(), vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0]);
    let ones = json!({"className": "Ones", "config": {}});
    let rnn = |seq: bool| {
        make("SimpleRNN", json!({"name": "r", "units": 2, "activation": "linear", "useBias": false,
            "kernelInitializer": ones, "recurrentInitializer": ones, "returnSequences": seq}))
    };
    let masks = [Some(mask.clone())];
    let last = rnn(false);
    assert_close(&last.call_masked(std::slice::from_ref(&x), &masks, &INFER).unwrap()[0].to_f32_vec(), &[10.0, 10.0, 5.0, 5.0], 1e-6);
    assert!(last.compute_mask(std::slice::from_ref(&x), &masks).unwrap().is_none());
    let seq = rnn(true);
    let y = seq.call_masked(std::slice::from_ref(&x), &masks, &INFER).unwrap();
    assert_close(&y[0].to_f32_vec(), &[3.0, 3.0, 3.0, 3.0, 10.0, 10.0, 0.0, 0.0, 2.0, 2.0, 5.0, 5.0], 1e-6);
    assert_eq!(seq.compute_mask(std::slice::from_ref(&x), &masks).unwrap().map(|m| m.to_f32_vec()), Some(mask.to_f32_vec()));
    // Unmasked, the zero step counts: row 0 goes [3,3], [6,6], [16,16].
    assert_close(&last.call(std::slice::from_ref(&x), &INFER).unwrap()[0].to_f32_vec(), &[16.0, 16.0, 5.0, 5.0], 1e-6);
    // A mask of the wrong shape is an error naming the layer.
    let err = last.call_masked(std::slice::from_ref(&x), &[Some(t(&[2, 2], &[1.0; 4]))], &INFER).unwrap_err().to_string();
    assert!(err.contains("r") && err.contains("[2,3]"), "{err}");
}

#[test]
fn masks_through_bidirectional_embedding_and_merges() {
    let ones = json!({"className": "Ones", "config": {}});
    // Embedding with maskZero: index 0 is masked.
    let emb = make("Embedding", json!({"name": "e", "inputDim": 3, "outputDim": 1, "maskZero": true, "embeddingsInitializer": ones}));
    let ids = Tensor::i32(vec![2, 3], vec![1, 0, 2, 0, 0, 1]);
    let mask = emb.compute_mask(std::slice::from_ref(&ids), &[]).unwrap().expect("a mask");
    assert_eq!(mask.to_f32_vec(), vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
    let plain = make("Embedding", json!({"name": "e2", "inputDim": 3, "outputDim": 1}));
    assert!(plain.compute_mask(std::slice::from_ref(&ids), &[]).unwrap().is_none());
    // Bidirectional SimpleRNN (linear, ones, 1 unit, no bias; h ← x + h) over x = ones [2, 3, 1]:
    // both directions count the unmasked steps: row 0 → 2, row 1 → 1; 'sum' merges them.
    let x = t(&[2, 3, 1], &[1.0; 6]);
    let bi = make("Bidirectional", json!({"name": "b", "mergeMode": "sum", "layer": {"className": "SimpleRNN", "config": {
        "name": "r", "units": 1, "activation": "linear", "useBias": false, "kernelInitializer": ones, "recurrentInitializer": ones}}}));
    let y = bi.call_masked(std::slice::from_ref(&x), &[Some(mask.clone())], &INFER).unwrap();
    assert_close(&y[0].to_f32_vec(), &[4.0, 2.0], 1e-6);
    assert_close(&bi.call(std::slice::from_ref(&x), &INFER).unwrap()[0].to_f32_vec(), &[6.0, 6.0], 1e-6);
    // Merges: masked where any input is; Concatenate along the features ANDs as well.
    let other = Tensor::bool(vec![2, 3], vec![1, 1, 0, 1, 1, 1]);
    for class in ["Add", "Concatenate"] {
        let m = make(class, json!({"name": class.to_lowercase()}));
        let got = m.compute_mask(&[x.clone(), x.clone()], &[Some(mask.clone()), Some(other.clone())]).unwrap().expect("a mask");
        assert_eq!(got.to_f32_vec(), vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0], "{class}");
        let one = m.compute_mask(&[x.clone(), x.clone()], &[None, Some(other.clone())]).unwrap().expect("a mask");
        assert_eq!(one.to_f32_vec(), other.to_f32_vec(), "{class}");
        assert!(m.compute_mask(&[x.clone(), x.clone()], &[None, None]).unwrap().is_none(), "{class}");
    }
    // Dense drops the mask (as in tfjs); Dropout passes it on.
    let dense = make("Dense", json!({"name": "d", "units": 1}));
    assert!(dense.compute_mask(std::slice::from_ref(&x), &[Some(mask.clone())]).unwrap().is_none());
    let drop = make("Dropout", json!({"name": "dr", "rate": 0.5}));
    assert!(drop.compute_mask(std::slice::from_ref(&x), &[Some(mask.clone())]).unwrap().is_some());
}

// ---- fused sequence kernels ------------------------------------------------------------------

/// All outputs of `l` on `xs` (input and initial states) and the gradients of a weighted sum of
/// them w.r.t. every input and weight.
fn outputs_and_grads(l: &dyn Layer, xs: &[Tensor], mask: Option<&Tensor>) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let xs: Vec<Tensor> = xs.iter().map(Tensor::with_new_id).collect();
    let tp = tape::new_tape();
    let (ys, loss) = engine::with_tape(&tp, || {
        let ys = l.call_masked(&xs, &[mask.cloned()], &INFER).unwrap();
        let mut total = Tensor::scalar(0.0);
        for (i, y) in ys.iter().enumerate() {
            let w = rand(y.shape(), 40 + i as u64, 0.5, 1.5);
            let s = ops::sum(&ops::mul(y, &w).unwrap(), &(0..y.rank()).collect::<Vec<_>>(), false).unwrap();
            total = ops::add(&total, &s).unwrap();
        }
        (ys, total)
    });
    let mut ids: Vec<u64> = xs.iter().map(Tensor::id).collect();
    ids.extend(l.weights().iter().map(|w| w.var.id()));
    let grads = tape::gradients(&tp, &loss, &ids, None).unwrap();
    (
        ys.iter().map(Tensor::to_f32_vec).collect(),
        grads.into_iter().enumerate().map(|(i, g)| g.unwrap_or_else(|| panic!("no gradient for source {i}")).to_f32_vec()).collect(),
    )
}

#[test]
fn fused_kernels_match_the_stepwise_path() {
    let (b, t_, f, u) = (5, 4, 3, 4);
    // Row 1 skips its first steps, row 3 every step, row 4 the middle one.
    let mask = Tensor::bool(vec![b, t_], vec![1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1]);
    let cases = [
        ("LSTM", json!({}), false),
        ("LSTM", json!({"recurrentActivation": "sigmoid", "activation": "relu", "returnSequences": true, "goBackwards": true}), false),
        ("LSTM", json!({"useBias": false, "returnSequences": true, "goBackwards": true}), true),
        ("LSTM", json!({"returnSequences": true, "unitForgetBias": true}), true),
        ("GRU", json!({}), false),
        ("GRU", json!({"activation": "linear", "recurrentActivation": "sigmoid", "returnSequences": true}), true),
        ("GRU", json!({"resetAfter": true, "returnSequences": true}), false),
        ("GRU", json!({"resetAfter": true, "useBias": false, "goBackwards": true}), true),
        ("GRU", json!({"resetAfter": true, "recurrentActivation": "sigmoid", "returnSequences": true, "goBackwards": true}), true),
        ("SimpleRNN", json!({}), false),
        ("SimpleRNN", json!({"activation": "relu", "returnSequences": true, "goBackwards": true}), true),
        ("SimpleRNN", json!({"activation": "sigmoid", "useBias": false}), true),
    ];
    for (class, extra, masked) in cases {
        let mut cfg = json!({"name": "r", "units": u, "returnState": true});
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let l = make(class, cfg);
        fill_weights(&*l, &[b, t_, f], 13, 0.8);
        let states = if class == "LSTM" { 2 } else { 1 };
        let mut xs = vec![rand(&[b, t_, f], 2, -1.5, 1.5)];
        xs.extend((0..states).map(|i| rand(&[b, u], 30 + i as u64, -0.8, 0.8)));
        let mask = masked.then_some(&mask);
        let (want_y, want_g) = recurrent::with_stepwise(|| outputs_and_grads(&*l, &xs, mask));
        for rows in [0, 1, 2, 3] {
            let (y, g) = rnn::with_block_rows(rows, || outputs_and_grads(&*l, &xs, mask));
            for (got, want) in y.iter().zip(&want_y) {
                assert_close(got, want, 1e-5);
            }
            // Outside a gradient scope the kernel keeps only two steps of its workspace.
            let inferred = rnn::with_block_rows(rows, || l.call_masked(&xs, &[mask.cloned()], &INFER).unwrap());
            for (got, want) in inferred.iter().zip(&want_y) {
                assert_close(&got.to_f32_vec(), want, 1e-5);
            }
            assert_eq!(g.len(), want_g.len());
            for (got, want) in g.iter().zip(&want_g) {
                assert_close(got, want, 1e-4);
            }
        }
    }
}

#[test]
fn fused_kernels_match_the_stepwise_path_with_wider_layers() {
    // 20 units: the recurrent products span several 16-wide column blocks and partial ones.
    let (b, t_, f, u) = (9, 3, 5, 20);
    let mask = Tensor::bool(vec![b, t_], (0..b * t_).map(|i| (i % 4 != 1) as u8).collect());
    for (class, extra) in [
        ("LSTM", json!({"returnSequences": true})),
        ("GRU", json!({"goBackwards": true})),
        ("GRU", json!({"resetAfter": true, "returnSequences": true})),
        ("SimpleRNN", json!({"returnSequences": true})),
    ] {
        let mut cfg = json!({"name": "r", "units": u, "returnState": true});
        for (k, v) in extra.as_object().unwrap() {
            cfg[k] = v.clone();
        }
        let l = make(class, cfg);
        fill_weights(&*l, &[b, t_, f], 17, 0.4);
        let x = rand(&[b, t_, f], 5, -1.0, 1.0);
        let want = recurrent::with_stepwise(|| outputs_and_grads(&*l, std::slice::from_ref(&x), Some(&mask)));
        for general in [false, true] {
            let run = || rnn::with_block_rows(4, || outputs_and_grads(&*l, std::slice::from_ref(&x), Some(&mask)));
            let got = if general { rnn::with_general_gemm(run) } else { run() };
            for (a, w) in got.0.iter().zip(&want.0) {
                assert_close(a, w, 1e-5);
            }
            for (a, w) in got.1.iter().zip(&want.1) {
                assert_close(a, w, 1e-4);
            }
        }
    }
}

#[test]
fn fused_tanh_is_within_a_few_ulps() {
    let mut xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.005).collect();
    // Around the switch between the two forms at 0.4, and the ends of the range.
    let at = |x: f32, ulps: i32| f32::from_bits((x.to_bits() as i32 + ulps) as u32);
    xs.extend([0.0, -0.0, 1e-30, -1e-8, at(0.4, -1), 0.4, at(0.4, 1), -at(0.4, 1), 9.0, 20.0, -44.0, 90.0, 1e30, f32::INFINITY, f32::NEG_INFINITY, f32::NAN]);
    for (what, ys) in [("scalar", xs.iter().map(|&x| rnn::tanh_fast(x)).collect::<Vec<_>>()), ("vector", rnn::tanh_of(&xs))] {
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = (x as f64).tanh();
            if x.is_nan() {
                assert!(y.is_nan(), "{what} tanh(NaN) = {y}");
                continue;
            }
            assert!(((y as f64) - want).abs() <= 4.0 * f32::EPSILON as f64 * want.abs().max(1e-38), "{what} tanh({x}) = {y}, want {want}");
            assert_eq!(y.is_sign_negative(), x.is_sign_negative(), "{what} tanh({x}) = {y}: sign");
        }
    }
}

#[test]
fn recurrent_products_match_a_plain_loop() {
    for (m, n, k) in [(1, 1, 1), (7, 16, 3), (13, 150, 9), (6, 64, 64), (32, 256, 64), (32, 64, 256), (5, 17, 0)] {
        let (lda, ldb, ldc) = (k + 2, n + 3, n + 1);
        let a = rand(&[m, lda], 1, -1.0, 1.0).to_f32_vec();
        let b = rand(&[k.max(1), ldb], 2, -1.0, 1.0).to_f32_vec();
        let c0 = rand(&[m, ldc], 3, -1.0, 1.0).to_f32_vec();
        for (accumulate, transposed, general) in [(false, false, false), (true, false, false), (true, true, false), (false, false, true), (true, true, true)] {
            let mut c = c0.clone();
            // `a` as stored, or read as the transpose of a [k, m] matrix (rows m + 1 apart).
            let at: Vec<f32> = if transposed { (0..k * (m + 1)).map(|i| if i % (m + 1) < m { a[(i % (m + 1)) * lda + i / (m + 1)] } else { f32::NAN }).collect() } else { a.clone() };
            let (a_rs, a_cs) = if transposed { (1, m + 1) } else { (lda, 1) };
            let cp = c.as_mut_ptr();
            // SAFETY: every operand spans the rows × leading dimensions addressed.
            let product = || unsafe { rnn::small_gemm(m, n, k, cp, ldc, accumulate, at.as_ptr(), a_rs, a_cs, b.as_ptr(), ldb) };
            if general { rnn::with_general_gemm(product) } else { product() };
            for i in 0..m {
                for j in 0..ldc {
                    let got = c[i * ldc + j];
                    if j >= n {
                        assert_eq!(got, c0[i * ldc + j], "m={m} n={n} k={k}: column {j} is outside c");
                        continue;
                    }
                    let dot: f32 = (0..k).map(|p| a[i * lda + p] * b[p * ldb + j]).sum();
                    let want = if accumulate { c0[i * ldc + j] + dot } else { dot };
                    assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "m={m} n={n} k={k} acc={accumulate} transposed={transposed} general={general} ({i},{j}): {got} vs {want}");
                }
            }
        }
    }
}

#[test]
fn fused_bidirectional_matches_the_stepwise_path() {
    let x = rand(&[3, 5, 2], 4, -1.0, 1.0);
    let mask = Tensor::bool(vec![3, 5], vec![1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1]);
    for inner in ["LSTM", "GRU", "SimpleRNN"] {
        let l = make("Bidirectional", json!({"name": "bi", "layer": {"className": inner, "config": {"name": "r", "units": 3, "returnSequences": true}}}));
        fill_weights(&*l, &[3, 5, 2], 8, 0.7);
        for m in [None, Some(&mask)] {
            let want = recurrent::with_stepwise(|| outputs_and_grads(&*l, std::slice::from_ref(&x), m));
            let got = outputs_and_grads(&*l, std::slice::from_ref(&x), m);
            for (a, b) in got.0.iter().zip(&want.0).chain(got.1.iter().zip(&want.1)) {
                assert_close(a, b, 1e-4);
            }
        }
    }
}

/// Runs a fused sequence kernel on `xs` (x, kernel, recurrentKernel, h0, (c0), (bias)) and
/// returns all its outputs but the workspace, flattened into one vector.
fn run_fused(kernel: &str, xs: &[Tensor], mask: Option<&Tensor>, attrs: &crate::Attrs) -> Tensor {
    let mut inputs = xs.to_vec();
    if let Some(m) = mask {
        inputs.push(m.clone());
    }
    let mut out = engine::run_kernel(kernel, &inputs, attrs).unwrap();
    out.pop();
    let flat: Vec<Tensor> = out.iter().map(|y| ops::reshape(y, &[y.size()]).unwrap()).collect();
    ops::concat(&flat, 0).unwrap()
}

#[test]
fn fused_kernels_pass_numeric_gradient_checks() {
    let (b, t_, f, u) = (3, 3, 2, 3);
    let mask = t(&[b, t_], &[1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    for (kernel, gates, states, reset_after) in
        [("_LSTMSequence", 4, 2, false), ("_GRUSequence", 3, 1, false), ("_GRUSequence", 3, 1, true), ("_SimpleRNNSequence", 1, 1, false)]
    {
        for (seq, backwards, masked) in [(true, false, false), (false, true, true), (true, true, true)] {
            let mut xs = vec![
                rand(&[b, t_, f], 1, -1.0, 1.0),
                rand(&[f, gates * u], 2, -0.8, 0.8),
                rand(&[u, gates * u], 3, -0.8, 0.8),
            ];
            xs.extend((0..states).map(|i| rand(&[b, u], 4 + i as u64, -0.5, 0.5)));
            let bias_shape = if reset_after { vec![2, gates * u] } else { vec![gates * u] };
            xs.push(rand(&bias_shape, 9, -0.3, 0.3));
            let attrs = crate::Attrs::new()
                .with("activation", "tanh")
                .with("recurrentActivation", "sigmoid")
                .with("returnSequences", seq)
                .with("goBackwards", backwards)
                .with("resetAfter", reset_after)
                .with("hasBias", true)
                .with("hasMask", masked);
            let m = masked.then_some(&mask);
            rnn::with_block_rows(2, || check_grads(&|xs: &[Tensor]| run_fused(kernel, xs, m, &attrs), &xs));
        }
    }
}

#[test]
fn fused_gradients_compute_only_what_is_needed() {
    use crate::registry::{self, GradCtx, Gradient};
    let (b, t_, f, u) = (2, 3, 2, 2);
    let xs = vec![rand(&[b, t_, f], 1, -1.0, 1.0), rand(&[f, 4 * u], 2, -0.5, 0.5), rand(&[u, 4 * u], 3, -0.5, 0.5), rand(&[b, u], 4, -0.5, 0.5), rand(&[b, u], 5, -0.5, 0.5), rand(&[4 * u], 6, -0.5, 0.5)];
    let attrs = crate::Attrs::new().with("hasBias", true);
    let outputs = engine::run_kernel("_LSTMSequence", &xs, &attrs).unwrap();
    assert_eq!(outputs.len(), 4);
    let dys: Vec<Tensor> = outputs.iter().map(|o| rand(o.shape(), 7, -1.0, 1.0)).collect();
    let Some(Gradient::Native(rule)) = registry::get_gradient("_LSTMSequence") else { panic!("a native gradient") };
    let all = rule(&GradCtx { dys: &dys, inputs: &xs, outputs: &outputs, attrs: &attrs, needs: &[] }).unwrap();
    assert!(all.iter().all(Option::is_some));
    let needs = [false, true, false, false, true, true];
    let some = rule(&GradCtx { dys: &dys, inputs: &xs, outputs: &outputs, attrs: &attrs, needs: &needs }).unwrap();
    for (i, (g, &want)) in some.iter().zip(&needs).enumerate() {
        assert_eq!(g.is_some(), want, "input {i}");
        if let Some(g) = g {
            assert_eq!(g.shape(), xs[i].shape());
            assert_close(&g.to_f32_vec(), &all[i].as_ref().unwrap().to_f32_vec(), 0.0);
        }
    }
    let none = rule(&GradCtx { dys: &dys, inputs: &xs, outputs: &outputs, attrs: &attrs, needs: &[false; 6] }).unwrap();
    assert!(none.iter().all(Option::is_none));
}

#[test]
fn fused_kernels_check_their_inputs() {
    let (b, t_, f, u) = (2, 3, 2, 2);
    let x = rand(&[b, t_, f], 1, -1.0, 1.0);
    let k = rand(&[f, 4 * u], 2, -0.5, 0.5);
    let rk = rand(&[u, 4 * u], 3, -0.5, 0.5);
    let h = rand(&[b, u], 4, -0.5, 0.5);
    let run = |inputs: &[Tensor], attrs: crate::Attrs| engine::run_kernel("_LSTMSequence", inputs, &attrs).unwrap_err().to_string();
    let e = run(&[x.clone(), k.clone(), rk.clone(), h.clone()], crate::Attrs::new());
    assert!(e.contains("_LSTMSequence") && e.contains("expected 5 inputs"), "{e}");
    let e = run(&[x.clone(), k.clone(), rand(&[u, 3 * u], 3, 0.0, 1.0), h.clone(), h.clone()], crate::Attrs::new());
    assert!(e.contains("_LSTMSequence") && e.contains("recurrentKernel") && e.contains("[2,6]"), "{e}");
    let e = run(&[ops::reshape(&x, &[b, t_ * f]).unwrap(), k.clone(), rk.clone(), h.clone(), h.clone()], crate::Attrs::new());
    assert!(e.contains("rank 3"), "{e}");
    let e = run(&[x.clone(), k.clone(), rk.clone(), h.clone(), h.clone(), rand(&[b, 2], 1, 0.0, 1.0)], crate::Attrs::new().with("hasMask", true));
    assert!(e.contains("mask") && e.contains("[2,3]"), "{e}");
    let e = run(&[x.clone(), k.clone(), rk.clone(), h.clone(), h.clone()], crate::Attrs::new().with("activation", "selu"));
    assert!(e.contains("activation") && e.contains("selu"), "{e}");
    let e = run(&[x, k, rk, h.clone(), h], crate::Attrs::new().with("hasBias", true));
    assert!(e.contains("expected 6 inputs"), "{e}");
}

#[test]
fn gradients_of_gradients_through_recurrent_layers() {
    // Nested gradient scopes take the op-by-op path (the fused gradient is not differentiable):
    // the analytic second derivative agrees with differences of fused first derivatives.
    for (class, cfg) in [
        ("LSTM", json!({"name": "l", "units": 2, "recurrentActivation": "sigmoid"})),
        ("GRU", json!({"name": "g", "units": 2, "resetAfter": true, "returnSequences": true})),
    ] {
        let l = make(class, cfg);
        fill_weights(&*l, &[2, 3, 2], 3, 0.6);
        let x = rand(&[2, 3, 2], 6, -1.0, 1.0);
        let dx = |xs: &[Tensor]| {
            let xi = xs[0].clone();
            let inner = tape::new_tape();
            let y = engine::with_tape(&inner, || {
                let y = l.call(std::slice::from_ref(&xi), &INFER).unwrap().remove(0);
                ops::sum(&ops::square(&y).unwrap(), &(0..y.rank()).collect::<Vec<_>>(), false).unwrap()
            });
            tape::gradients(&inner, &y, &[xi.id()], None).unwrap().remove(0).unwrap()
        };
        check_grads(&dx, std::slice::from_ref(&x));
    }
    // The gradient kernels themselves have no gradient: an error, not a silent zero.
    let (b, t_, f, u) = (1, 2, 1, 1);
    let xs = vec![rand(&[b, t_, f], 1, -1.0, 1.0), rand(&[f, u], 2, -0.5, 0.5), rand(&[u, u], 3, -0.5, 0.5), rand(&[b, u], 4, -0.5, 0.5)];
    let outer = tape::new_tape();
    let x_id = xs[0].id();
    let g = engine::with_tape(&outer, || {
        let out = engine::run_kernel("_SimpleRNNSequence", &xs, &crate::Attrs::new()).unwrap();
        let rule = match crate::registry::get_gradient("_SimpleRNNSequence") {
            Some(crate::registry::Gradient::Native(r)) => r,
            _ => panic!("a native gradient"),
        };
        let dys: Vec<Tensor> = out.iter().map(|o| ops::ones_like(o).unwrap()).collect();
        rule(&crate::registry::GradCtx { dys: &dys, inputs: &xs, outputs: &out, attrs: &crate::Attrs::new(), needs: &[] }).unwrap().remove(0).unwrap()
    });
    let e = tape::gradients(&outer, &g, &[x_id], None).unwrap_err().to_string();
    assert!(e.contains("_SimpleRNNSequenceGrad"), "{e}");
}

/// Throughput of the per-step products at the LSTM(64) sizes. Run with
/// `cargo test --release -- --ignored --nocapture recurrent_product_speed`.
#[test]
#[ignore]
fn recurrent_product_speed() {
    for (name, m, n, k, a_rs, a_cs) in [("long k", 6, 64, 4096, 4096, 1), ("h·U", 32, 256, 64, 64, 1), ("dz·Uᵀ", 32, 64, 256, 256, 1), ("hᵀ·dz", 64, 256, 32, 1, 384), ("xᵀ·dz", 16, 256, 32, 1, 512)] {
        let a = rand(&[(m * a_rs).max(k * a_cs) + m * k], 1, -1.0, 1.0).to_f32_vec();
        let b = rand(&[k, n], 2, -1.0, 1.0).to_f32_vec();
        let mut c = vec![0.0f32; m * n];
        let reps = 20000;
        let t0 = std::time::Instant::now();
        for _ in 0..reps {
            // SAFETY: the operands span what the shapes and strides address.
            unsafe { rnn::small_gemm(m, n, k, c.as_mut_ptr(), n, true, a.as_ptr(), a_rs, a_cs, b.as_ptr(), n) };
        }
        let s = t0.elapsed().as_secs_f64();
        println!("{name} [{m}x{k}]·[{k}x{n}]: {:.2} µs, {:.1} GFLOP/s", s * 1e6 / reps as f64, 2.0 * (m * n * k * reps) as f64 / s / 1e9);
    }
}
