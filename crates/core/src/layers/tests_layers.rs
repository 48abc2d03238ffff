//! Tests of the built-in layers: forward values on tiny inputs against hand-computed ones,
//! output shapes against `compute_output_shape`, `getConfig` round trips, numeric gradient
//! checks through layers (inputs and weights), bad configs, and a small CNN trained in a loop.

use super::{from_config, CallContext, LayerRef, Shape};
use crate::engine;
use crate::ops;
use crate::tape;
use crate::tensor::{DType, Tensor};
use crate::testutil::*;
use serde_json::{json, Value};

fn layer(class: &str, mut cfg: Value) -> LayerRef {
    if cfg.get("name").is_none() {
        cfg["name"] = Value::from(format!("{}_test", class.to_lowercase()));
    }
    from_config(class, &cfg).unwrap_or_else(|e| panic!("{class}: {e}"))
}

fn ctx(training: bool) -> CallContext {
    CallContext { training }
}

/// Calls the layer and checks the output shape against `compute_output_shape` (batch unknown).
fn apply(l: &LayerRef, xs: &[Tensor], training: bool) -> Tensor {
    let y = l.call(xs, &ctx(training)).unwrap_or_else(|e| panic!("{}: {e}", l.class_name())).remove(0);
    let shapes: Vec<Shape> = xs
        .iter()
        .map(|x| {
            let mut s: Shape = x.shape().iter().map(|&d| Some(d)).collect();
            if !s.is_empty() {
                s[0] = None;
            }
            s
        })
        .collect();
    let want = l.compute_output_shape(&shapes).unwrap_or_else(|e| panic!("{}: {e}", l.class_name())).remove(0);
    assert_eq!(want.len(), y.rank(), "{}: rank of {want:?} vs {:?}", l.class_name(), y.shape());
    for (i, (w, d)) in want.iter().zip(y.shape()).enumerate() {
        assert!(i == 0 && w.is_none() || *w == Some(*d), "{}: computed shape {want:?} vs actual {:?}", l.class_name(), y.shape());
    }
    y
}

fn apply1(l: &LayerRef, x: &Tensor) -> Tensor {
    apply(l, std::slice::from_ref(x), false)
}

/// Builds the layer for `x` and sets its weights to `values` (in weight order).
fn set_weights(l: &LayerRef, x_shape: &[usize], values: &[Tensor]) {
    let s: Shape = x_shape.iter().map(|&d| Some(d)).collect();
    l.build(&[s]).unwrap();
    let w = l.weights();
    assert_eq!(w.len(), values.len(), "{} has {} weights", l.class_name(), w.len());
    for (w, v) in w.iter().zip(values) {
        w.var.assign(v).unwrap();
    }
}

fn err_text(class: &str, cfg: Value) -> String {
    let mut cfg = cfg;
    cfg["name"] = Value::from("bad");
    match from_config(class, &cfg) {
        Ok(_) => panic!("{class}: config {cfg} was accepted"),
        Err(e) => e.to_string(),
    }
}

/// `from_config(class, config())` reports the same config.
fn round_trip(class: &str, cfg: Value) {
    let l = layer(class, cfg);
    let c = l.config();
    let again = from_config(class, &c).unwrap_or_else(|e| panic!("{class}: its own config {c} fails: {e}"));
    assert_eq!(again.config(), c, "{class}");
    assert_eq!(again.class_name(), class);
}

/// Checks the tape's gradients of `Σ layer(xs)·w` (w fixed) against central differences, with
/// respect to the inputs (when `inputs`) and every trainable weight.
fn check_layer_grads(l: &LayerRef, xs: &[Tensor], training: bool, inputs: bool) {
    let eval = |xs: &[Tensor]| -> f64 {
        let out = l.call(xs, &ctx(training)).unwrap().remove(0);
        let w = rand(out.shape(), 99, 0.5, 1.5);
        out.to_f32_vec().iter().zip(w.to_f32_vec()).map(|(a, b)| *a as f64 * b as f64).sum()
    };
    let tp = tape::new_tape();
    let xs: Vec<Tensor> = xs.iter().map(Tensor::with_new_id).collect();
    let y = engine::with_tape(&tp, || {
        let out = l.call(&xs, &ctx(training)).unwrap().remove(0);
        let w = rand(out.shape(), 99, 0.5, 1.5);
        ops::sum(&ops::mul(&out, &w).unwrap(), &(0..out.rank()).collect::<Vec<_>>(), false).unwrap()
    });
    let weights: Vec<_> = l.weights().into_iter().filter(|w| w.trainable()).collect();
    let mut ids: Vec<u64> = if inputs { xs.iter().map(Tensor::id).collect() } else { Vec::new() };
    ids.extend(weights.iter().map(|w| w.var.id()));
    let analytic = tape::gradients(&tp, &y, &ids, None).unwrap();

    let eps = 1e-2f32;
    let mut numeric: Vec<Vec<f32>> = Vec::new();
    if inputs {
        for i in 0..xs.len() {
            let base = xs[i].to_f32_vec();
            numeric.push(
                (0..base.len())
                    .map(|j| {
                        let mut a = xs.clone();
                        let mut v = base.clone();
                        v[j] += eps;
                        a[i] = t(xs[i].shape(), &v);
                        let fp = eval(&a);
                        v[j] -= 2.0 * eps;
                        a[i] = t(xs[i].shape(), &v);
                        let fm = eval(&a);
                        ((fp - fm) / (2.0 * eps as f64)) as f32
                    })
                    .collect(),
            );
        }
    }
    for w in &weights {
        let orig = w.var.read();
        let base = orig.to_f32_vec();
        numeric.push(
            (0..base.len())
                .map(|j| {
                    let mut v = base.clone();
                    v[j] += eps;
                    w.var.assign(&t(orig.shape(), &v)).unwrap();
                    let fp = eval(&xs);
                    v[j] -= 2.0 * eps;
                    w.var.assign(&t(orig.shape(), &v)).unwrap();
                    let fm = eval(&xs);
                    w.var.assign(&orig).unwrap();
                    ((fp - fm) / (2.0 * eps as f64)) as f32
                })
                .collect(),
        );
    }
    for (k, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        let a = a.as_ref().map(Tensor::to_f32_vec).unwrap_or_else(|| vec![0.0; n.len()]);
        for (j, (x, y)) in a.iter().zip(n).enumerate() {
            assert!((x - y).abs() <= 2e-2 * (1.0 + y.abs()), "{} gradient {k}, element {j}: analytic {x} vs numeric {y}\n{a:?}\n{n:?}", l.class_name());
        }
    }
}

fn seq(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    t(shape, &(1..=n).map(|v| v as f32).collect::<Vec<_>>())
}

// ---------------------------------------------------------------------------------------------
// Convolutions

#[test]
fn conv2d_values_padding_strides_and_formats() {
    let x = seq(&[1, 3, 3, 1]);
    let l = layer("Conv2D", json!({"filters": 1, "kernelSize": 2}));
    set_weights(&l, &[1, 3, 3, 1], &[t(&[2, 2, 1, 1], &[1.0; 4]), t(&[1], &[0.5])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[12.5, 16.5, 24.5, 28.5], 1e-6);

    // 'same' with stride 2: the window hangs over the bottom/right border.
    let l = layer("Conv2D", json!({"filters": 1, "kernelSize": [2, 2], "strides": 2, "padding": "same", "useBias": false}));
    set_weights(&l, &[1, 3, 3, 1], &[t(&[2, 2, 1, 1], &[1.0; 4])]);
    let y = apply1(&l, &x);
    assert_eq!(y.shape(), &[1, 2, 2, 1]);
    assert_close(&y.to_f32_vec(), &[12.0, 9.0, 15.0, 9.0], 1e-6);

    // A fused relu, two filters, channelsFirst.
    let l = layer("Conv2D", json!({"filters": 2, "kernelSize": 2, "activation": "relu", "dataFormat": "channelsFirst"}));
    set_weights(&l, &[1, 1, 3, 3], &[t(&[2, 2, 1, 2], &[1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0]), t(&[2], &[0.0, 20.0])]);
    let y = apply1(&l, &seq(&[1, 1, 3, 3]));
    assert_eq!(y.shape(), &[1, 2, 2, 2]);
    assert_close(&y.to_f32_vec(), &[12.0, 16.0, 24.0, 28.0, 8.0, 4.0, 0.0, 0.0], 1e-6);

    // Dilation 2 on a 3×3 input: one output from the four corners.
    let l = layer("Conv2D", json!({"filters": 1, "kernelSize": 2, "dilationRate": 2, "useBias": false}));
    set_weights(&l, &[1, 3, 3, 1], &[t(&[2, 2, 1, 1], &[1.0; 4])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[1.0 + 3.0 + 7.0 + 9.0], 1e-6);

    // A non-fusable activation runs after the fused conv.
    let l = layer("Conv2D", json!({"filters": 1, "kernelSize": 3, "activation": "tanh", "useBias": false}));
    set_weights(&l, &[1, 3, 3, 1], &[t(&[3, 3, 1, 1], &[0.01; 9])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[0.45f32.tanh()], 1e-6);
}

#[test]
fn conv1d_values() {
    let x = t(&[1, 4, 1], &[1.0, 2.0, 4.0, 8.0]);
    let l = layer("Conv1D", json!({"filters": 1, "kernelSize": 2, "useBias": false}));
    set_weights(&l, &[1, 4, 1], &[t(&[2, 1, 1], &[1.0, -1.0])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[-1.0, -2.0, -4.0], 1e-6);
    let l = layer("Conv1D", json!({"filters": 1, "kernelSize": [2], "dilationRate": 2, "strides": 1, "useBias": false}));
    set_weights(&l, &[1, 4, 1], &[t(&[2, 1, 1], &[1.0, -1.0])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[-3.0, -6.0], 1e-6);
    // 'same' with stride 2 and two channels in, channelsFirst.
    let l = layer("Conv1D", json!({"filters": 1, "kernelSize": 1, "strides": 2, "padding": "same", "dataFormat": "channelsFirst"}));
    set_weights(&l, &[1, 2, 4], &[t(&[1, 2, 1], &[1.0, 10.0]), t(&[1], &[0.5])]);
    let y = apply1(&l, &t(&[1, 2, 4], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]));
    assert_eq!(y.shape(), &[1, 1, 2]);
    assert_close(&y.to_f32_vec(), &[51.5, 73.5], 1e-6);
}

#[test]
fn conv2d_transpose_values() {
    let x = seq(&[1, 2, 2, 1]);
    let l = layer("Conv2DTranspose", json!({"filters": 1, "kernelSize": 2, "strides": 2}));
    set_weights(&l, &[1, 2, 2, 1], &[t(&[2, 2, 1, 1], &[1.0; 4]), t(&[1], &[0.5])]);
    let y = apply1(&l, &x);
    assert_eq!(y.shape(), &[1, 4, 4, 1]);
    let want: Vec<f32> = [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0].iter().map(|v| v + 0.5).collect();
    assert_close(&y.to_f32_vec(), &want, 1e-6);
    // Stride 1, 'valid': the full correlation, 3×3.
    let l = layer("Conv2DTranspose", json!({"filters": 1, "kernelSize": 2, "useBias": false}));
    set_weights(&l, &[1, 2, 2, 1], &[t(&[2, 2, 1, 1], &[1.0; 4])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0], 1e-6);
    // 'same', channelsFirst, two filters: kernel [kh, kw, filters, inChannels].
    let l = layer("Conv2DTranspose", json!({"filters": 2, "kernelSize": 1, "strides": 2, "padding": "same", "dataFormat": "channelsFirst"}));
    set_weights(&l, &[1, 1, 2, 2], &[t(&[1, 1, 2, 1], &[1.0, -1.0]), t(&[2], &[0.0, 1.0])]);
    let y = apply1(&l, &seq(&[1, 1, 2, 2]));
    assert_eq!(y.shape(), &[1, 2, 4, 4]);
    let v = y.to_f32_vec();
    assert_close(&[v[0], v[1], v[2], v[10], v[16], v[17], v[26]], &[1.0, 0.0, 2.0, 4.0, 0.0, 1.0, -3.0], 1e-6);
}

#[test]
fn depthwise_and_separable_values() {
    // Two channels: c0 = 1..4, c1 = 10..40 (NHWC interleaved).
    let x = t(&[1, 2, 2, 2], &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]);
    let l = layer("DepthwiseConv2D", json!({"kernelSize": 2}));
    set_weights(&l, &[1, 2, 2, 2], &[t(&[2, 2, 2, 1], &[1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5]), t(&[2], &[1.0, 2.0])]);
    assert_close(&apply1(&l, &x).to_f32_vec(), &[11.0, 52.0], 1e-6);

    // Multiplier 2, 'same', channelsFirst: output channel c·2 + q.
    let l = layer("DepthwiseConv2D", json!({"kernelSize": 1, "depthMultiplier": 2, "padding": "same", "dataFormat": "channelsFirst", "useBias": false}));
    set_weights(&l, &[1, 2, 1, 2], &[t(&[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0])]);
    let y = apply1(&l, &t(&[1, 2, 1, 2], &[1.0, 2.0, 10.0, 20.0]));
    assert_eq!(y.shape(), &[1, 4, 1, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 2.0, 4.0, 30.0, 60.0, 40.0, 80.0], 1e-6);

    let l = layer("SeparableConv2D", json!({"filters": 1, "kernelSize": 2, "activation": "relu"}));
    set_weights(
        &l,
        &[1, 2, 2, 2],
        &[t(&[2, 2, 2, 1], &[1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5]), t(&[1, 1, 2, 1], &[1.0, -1.0]), t(&[1], &[3.0])],
    );
    assert_close(&apply1(&l, &x).to_f32_vec(), &[0.0], 1e-6); // relu(10 - 50 + 3)
    let names: Vec<String> = l.weights().iter().map(|w| w.var.name().to_string()).collect();
    assert_eq!(names, ["separableconv2d_test/depthwise_kernel", "separableconv2d_test/pointwise_kernel", "separableconv2d_test/bias"]);
}

#[test]
fn conv_layers_use_fused_kernels() {
    let kernels = |class: &str, cfg: Value, shape: &[usize]| -> Vec<String> {
        let l = layer(class, cfg);
        let tp = tape::new_tape();
        engine::with_tape(&tp, || l.call(&[rand(shape, 1, -1.0, 1.0)], &ctx(true)).unwrap());
        let nodes = &tp.lock().unwrap().nodes;
        nodes.iter().map(|n| n.kernel.clone()).collect()
    };
    assert_eq!(kernels("Conv2D", json!({"filters": 4, "kernelSize": 3, "activation": "relu"}), &[2, 5, 5, 3]), ["FusedConv2D"]);
    assert_eq!(
        kernels("Conv2D", json!({"filters": 4, "kernelSize": 3, "activation": "elu", "dataFormat": "channelsFirst"}), &[2, 3, 5, 5]),
        ["FusedConv2D"]
    );
    assert_eq!(kernels("Conv1D", json!({"filters": 4, "kernelSize": 3, "activation": "relu"}), &[2, 7, 3]), ["Reshape", "Reshape", "FusedConv2D", "Reshape"]);
    assert_eq!(kernels("DepthwiseConv2D", json!({"kernelSize": 3, "activation": "relu"}), &[2, 5, 5, 3]), ["FusedDepthwiseConv2D"]);
    assert_eq!(
        kernels("SeparableConv2D", json!({"filters": 4, "kernelSize": 3, "activation": "relu"}), &[2, 5, 5, 3]),
        ["DepthwiseConv2dNative", "FusedConv2D"]
    );
}

#[test]
fn conv2d_gradients() {
    let x = rand(&[2, 4, 4, 2], 3, -1.0, 1.0);
    let l = layer("Conv2D", json!({"filters": 3, "kernelSize": 3, "padding": "same", "strides": 2, "kernelInitializer": {"className": "GlorotUniform", "config": {"seed": 7}}, "biasInitializer": "ones"}));
    check_layer_grads(&l, std::slice::from_ref(&x), true, true);
    let l = layer("Conv2D", json!({"filters": 2, "kernelSize": [2, 3], "dilationRate": [1, 2], "activation": "sigmoid", "dataFormat": "channelsFirst"}));
    check_layer_grads(&l, &[rand(&[2, 2, 4, 5], 4, -1.0, 1.0)], true, true);
}

#[test]
fn other_conv_gradients() {
    let l = layer("Conv1D", json!({"filters": 2, "kernelSize": 2, "strides": 2, "activation": "tanh"}));
    check_layer_grads(&l, &[rand(&[2, 5, 3], 5, -1.0, 1.0)], true, true);
    let l = layer("Conv2DTranspose", json!({"filters": 2, "kernelSize": 3, "strides": 2, "padding": "same"}));
    check_layer_grads(&l, &[rand(&[1, 2, 3, 2], 6, -1.0, 1.0)], true, true);
    let l = layer("DepthwiseConv2D", json!({"kernelSize": 2, "depthMultiplier": 2, "biasInitializer": "ones"}));
    check_layer_grads(&l, &[rand(&[2, 3, 3, 2], 7, -1.0, 1.0)], true, true);
    let l = layer("SeparableConv2D", json!({"filters": 2, "kernelSize": 2, "padding": "same", "dataFormat": "channelsFirst"}));
    check_layer_grads(&l, &[rand(&[1, 2, 3, 3], 8, -1.0, 1.0)], true, true);
}

// ---------------------------------------------------------------------------------------------
// Pooling

#[test]
fn pooling_values() {
    let x = seq(&[1, 4, 4, 1]);
    let max = layer("MaxPooling2D", json!({}));
    assert_close(&apply1(&max, &x).to_f32_vec(), &[6.0, 8.0, 14.0, 16.0], 0.0);
    let avg = layer("AveragePooling2D", json!({"poolSize": 2}));
    assert_close(&apply1(&avg, &x).to_f32_vec(), &[3.5, 5.5, 11.5, 13.5], 1e-6);
    // 3×3 windows, stride 2, 'same': the average counts only positions inside the input.
    let avg = layer("AveragePooling2D", json!({"poolSize": [3, 3], "strides": [2, 2], "padding": "same"}));
    let y = apply1(&avg, &x);
    assert_eq!(y.shape(), &[1, 2, 2, 1]);
    assert_close(&y.to_f32_vec(), &[6.0, 7.5, 12.0, 13.5], 1e-6);
    // channelsFirst, two channels.
    let max = layer("MaxPooling2D", json!({"poolSize": [2, 1], "dataFormat": "channelsFirst"}));
    let y = apply1(&max, &seq(&[1, 2, 2, 2]));
    assert_eq!(y.shape(), &[1, 2, 1, 2]);
    assert_close(&y.to_f32_vec(), &[3.0, 4.0, 7.0, 8.0], 0.0);

    let x1 = t(&[1, 5, 2], &[1.0, -1.0, 3.0, -3.0, 2.0, -2.0, 5.0, -5.0, 4.0, -4.0]);
    let y = apply1(&layer("MaxPooling1D", json!({})), &x1);
    assert_eq!(y.shape(), &[1, 2, 2]);
    assert_close(&y.to_f32_vec(), &[3.0, -1.0, 5.0, -2.0], 0.0);
    let y = apply1(&layer("AveragePooling1D", json!({"poolSize": 3, "strides": 1})), &x1);
    assert_close(&y.to_f32_vec(), &[2.0, -2.0, 10.0 / 3.0, -10.0 / 3.0, 11.0 / 3.0, -11.0 / 3.0], 1e-6);
    let y = apply1(&layer("MaxPooling1D", json!({"poolSize": [2], "padding": "same"})), &x1);
    assert_close(&y.to_f32_vec(), &[3.0, -1.0, 5.0, -2.0, 4.0, -4.0], 0.0);

    assert_close(&apply1(&layer("GlobalAveragePooling1D", json!({})), &x1).to_f32_vec(), &[3.0, -3.0], 1e-6);
    assert_close(&apply1(&layer("GlobalMaxPooling1D", json!({})), &x1).to_f32_vec(), &[5.0, -1.0], 0.0);
    let x2 = seq(&[2, 2, 2, 2]);
    assert_close(&apply1(&layer("GlobalAveragePooling2D", json!({})), &x2).to_f32_vec(), &[4.0, 5.0, 12.0, 13.0], 1e-6);
    assert_close(&apply1(&layer("GlobalMaxPooling2D", json!({})), &x2).to_f32_vec(), &[7.0, 8.0, 15.0, 16.0], 0.0);
    let cf = layer("GlobalAveragePooling2D", json!({"dataFormat": "channelsFirst"}));
    assert_close(&apply1(&cf, &x2).to_f32_vec(), &[2.5, 6.5, 10.5, 14.5], 1e-6);
    let cf = layer("GlobalMaxPooling2D", json!({"dataFormat": "channelsFirst"}));
    assert_close(&apply1(&cf, &x2).to_f32_vec(), &[4.0, 8.0, 12.0, 16.0], 0.0);
}

#[test]
fn pooling_gradients() {
    let x = rand(&[2, 4, 5, 2], 11, -1.0, 1.0);
    check_layer_grads(&layer("AveragePooling2D", json!({"poolSize": 3, "strides": 2, "padding": "same"})), std::slice::from_ref(&x), true, true);
    check_layer_grads(&layer("MaxPooling2D", json!({"dataFormat": "channelsFirst"})), std::slice::from_ref(&x), true, true);
    check_layer_grads(&layer("GlobalAveragePooling2D", json!({})), std::slice::from_ref(&x), true, true);
    check_layer_grads(&layer("GlobalMaxPooling1D", json!({})), &[rand(&[2, 4, 3], 12, -1.0, 1.0)], true, true);
    check_layer_grads(&layer("AveragePooling1D", json!({"poolSize": 2, "strides": 1})), &[rand(&[2, 4, 3], 13, -1.0, 1.0)], true, true);
}

// ---------------------------------------------------------------------------------------------
// Normalization

#[test]
fn batch_normalization_training_and_inference() {
    let l = layer("BatchNormalization", json!({}));
    let x = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    // Inference before any training: moving mean 0, variance 1.
    let k = 1.0 / (1.0f32 + 1e-3).sqrt();
    assert_close(&apply1(&l, &x).to_f32_vec(), &[k, 2.0 * k, 3.0 * k, 4.0 * k], 1e-6);
    // Training: the batch's mean [2, 3] and (biased) variance [1, 1].
    let y = apply(&l, std::slice::from_ref(&x), true);
    assert_close(&y.to_f32_vec(), &[-k, -k, k, k], 1e-6);
    let w = l.weights();
    let names: Vec<&str> = w.iter().map(|w| w.var.name()).collect();
    assert_eq!(names, ["batchnormalization_test/gamma", "batchnormalization_test/beta", "batchnormalization_test/moving_mean", "batchnormalization_test/moving_variance"]);
    assert_eq!(w.iter().map(|w| w.trainable()).collect::<Vec<_>>(), [true, true, false, false]);
    assert_close(&w[2].var.read().to_f32_vec(), &[0.02, 0.03], 1e-6);
    assert_close(&w[3].var.read().to_f32_vec(), &[1.0, 1.0], 1e-6);
    // Inference now uses the moving statistics, with gamma and beta.
    w[0].var.assign(&t(&[2], &[2.0, 1.0])).unwrap();
    w[1].var.assign(&t(&[2], &[0.5, -0.5])).unwrap();
    let y = apply1(&l, &x);
    let want: Vec<f32> = [(1.0, 0), (2.0, 1), (3.0, 0), (4.0, 1)]
        .iter()
        .map(|&(v, c)| {
            let (g, b, m) = [(2.0, 0.5, 0.02), (1.0, -0.5, 0.03)][c];
            g * (v - m) * k + b
        })
        .collect();
    assert_close(&y.to_f32_vec(), &want, 1e-6);

    // axis 1 of a rank-4 input (channelsFirst), momentum 0.5, no scale.
    let l = layer("BatchNormalization", json!({"axis": 1, "momentum": 0.5, "scale": false, "epsilon": 0.01}));
    let x = t(&[1, 2, 1, 2], &[1.0, 3.0, 10.0, 30.0]);
    let y = apply(&l, std::slice::from_ref(&x), true);
    let (k1, k2) = (1.0 / (1.0f32 + 0.01).sqrt(), 1.0 / (100.0f32 + 0.01).sqrt());
    assert_close(&y.to_f32_vec(), &[-k1, k1, -10.0 * k2, 10.0 * k2], 1e-5);
    let w = l.weights();
    assert_eq!(w.len(), 3);
    assert_close(&w[1].var.read().to_f32_vec(), &[1.0, 10.0], 1e-6);
    assert_close(&w[2].var.read().to_f32_vec(), &[1.0, 50.5], 1e-5);
}

#[test]
fn batch_normalization_gradients() {
    let l = layer("BatchNormalization", json!({"gammaInitializer": {"className": "Constant", "config": {"value": 1.5}}, "betaInitializer": "ones"}));
    check_layer_grads(&l, &[rand(&[4, 3], 21, -2.0, 2.0)], true, true);
    let l = layer("BatchNormalization", json!({"axis": 1}));
    check_layer_grads(&l, &[rand(&[2, 2, 2, 3], 22, -2.0, 2.0)], true, true);
    // Inference: the moving statistics are constants.
    let l = layer("BatchNormalization", json!({"movingVarianceInitializer": {"className": "Constant", "config": {"value": 2.0}}}));
    check_layer_grads(&l, &[rand(&[3, 2, 2], 23, -2.0, 2.0)], false, true);
}

#[test]
fn layer_normalization_values_and_gradients() {
    let l = layer("LayerNormalization", json!({}));
    let x = t(&[2, 3], &[1.0, 2.0, 3.0, 2.0, 4.0, 6.0]);
    let y = apply1(&l, &x);
    let (k1, k2) = (1.0 / (2.0f32 / 3.0 + 1e-3).sqrt(), 1.0 / (8.0f32 / 3.0 + 1e-3).sqrt());
    assert_close(&y.to_f32_vec(), &[-k1, 0.0, k1, -2.0 * k2, 0.0, 2.0 * k2], 1e-5);
    // Over two axes, with gamma and beta of shape [2, 2].
    let l = layer("LayerNormalization", json!({"axis": [1, 2], "epsilon": 0.0001}));
    set_weights(&l, &[1, 2, 2], &[t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]), t(&[2, 2], &[0.0, 0.0, 1.0, 1.0])]);
    let y = apply1(&l, &t(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]));
    let k = 1.0 / (1.25f32 + 1e-4).sqrt();
    assert_close(&y.to_f32_vec(), &[-1.5 * k, -0.5 * 2.0 * k, 0.5 * 3.0 * k + 1.0, 1.5 * 4.0 * k + 1.0], 1e-5);

    let l = layer("LayerNormalization", json!({"gammaInitializer": {"className": "RandomUniform", "config": {"seed": 3}}, "betaInitializer": "ones"}));
    check_layer_grads(&l, &[rand(&[3, 4], 31, -2.0, 2.0)], true, true);
    let l = layer("LayerNormalization", json!({"axis": [-2, -1]}));
    check_layer_grads(&l, &[rand(&[2, 2, 3], 32, -2.0, 2.0)], true, true);
}

// ---------------------------------------------------------------------------------------------
// Embedding

#[test]
fn embedding_values_shapes_and_gradients() {
    let l = layer("Embedding", json!({"inputDim": 3, "outputDim": 2}));
    set_weights(&l, &[2, 2], &[t(&[3, 2], &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5])]);
    let ids = t(&[2, 2], &[1.0, 2.0, 0.0, 1.0]);
    let y = apply1(&l, &ids);
    assert_eq!(y.shape(), &[2, 2, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 1.5, 2.0, 2.5, 0.0, 0.5, 1.0, 1.5], 0.0);
    let y = apply1(&l, &Tensor::i32(vec![3], vec![2, 2, 0]));
    assert_close(&y.to_f32_vec(), &[2.0, 2.5, 2.0, 2.5, 0.0, 0.5], 0.0);
    assert_eq!(l.batch_input_shape(), Some(vec![None, None]));
    // Out of range.
    let e = l.call(&[Tensor::i32(vec![1, 1], vec![3])], &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("embedding_test"), "{e}");
    // The default initializer is randomUniform(-0.05, 0.05).
    let l = layer("Embedding", json!({"inputDim": 50, "outputDim": 4, "inputLength": 3}));
    l.build(&[vec![None, Some(3)]]).unwrap();
    let w = l.weights()[0].var.read().to_f32_vec();
    assert!(w.iter().all(|v| v.abs() <= 0.05) && w.iter().any(|v| *v != 0.0));
    assert_eq!(l.batch_input_shape(), Some(vec![None, Some(3)]));
    assert_eq!(l.compute_output_shape(&[vec![None, None]]).unwrap(), vec![vec![None, Some(3), Some(4)]]);
    assert!(l.compute_output_shape(&[vec![None, Some(4)]]).is_err());

    let l = layer("Embedding", json!({"inputDim": 4, "outputDim": 3}));
    check_layer_grads(&l, &[Tensor::i32(vec![2, 3], vec![0, 3, 3, 1, 0, 2])], true, false);
}

// ---------------------------------------------------------------------------------------------
// Merge

#[test]
fn merge_values_and_broadcasting() {
    let a = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let b = t(&[2, 2], &[4.0, 1.0, 0.0, 8.0]);
    let c = t(&[2, 2], &[1.0, 1.0, 1.0, 1.0]);
    let abc = [a.clone(), b.clone(), c.clone()];
    assert_close(&apply(&layer("Add", json!({})), &abc, false).to_f32_vec(), &[6.0, 4.0, 4.0, 13.0], 0.0);
    assert_close(&apply(&layer("Multiply", json!({})), &abc, false).to_f32_vec(), &[4.0, 2.0, 0.0, 32.0], 0.0);
    assert_close(&apply(&layer("Average", json!({})), &abc, false).to_f32_vec(), &[2.0, 4.0 / 3.0, 4.0 / 3.0, 13.0 / 3.0], 1e-6);
    assert_close(&apply(&layer("Maximum", json!({})), &abc, false).to_f32_vec(), &[4.0, 2.0, 3.0, 8.0], 0.0);
    assert_close(&apply(&layer("Minimum", json!({})), &abc, false).to_f32_vec(), &[1.0, 1.0, 0.0, 1.0], 0.0);

    // A lower-rank input gets unit dimensions after the batch: [2, 2] + [2, 3, 2].
    let d = seq(&[2, 3, 2]);
    let y = apply(&layer("Add", json!({})), &[a.clone(), d], false);
    assert_eq!(y.shape(), &[2, 3, 2]);
    assert_close(&y.to_f32_vec()[..4], &[2.0, 4.0, 4.0, 6.0], 0.0);
    // Same rank, a unit dimension broadcasts: [2, 1, 2] · [2, 3, 2].
    let y = apply(&layer("Multiply", json!({})), &[t(&[2, 1, 2], &[1.0, 2.0, 3.0, 4.0]), seq(&[2, 3, 2])], false);
    assert_eq!(y.shape(), &[2, 3, 2]);
    assert_eq!(layer("Add", json!({})).compute_output_shape(&[vec![None, Some(1), Some(2)], vec![None, None, Some(2)]]).unwrap(), vec![vec![None, None, Some(2)]]);

    let e = layer("Add", json!({"name": "add_1"})).call(&[a.clone(), t(&[2, 3], &[0.0; 6])], &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("add_1") && e.to_string().contains("broadcast"), "{e}");
    let e = layer("Add", json!({"name": "add_2"})).compute_output_shape(&[vec![Some(2), Some(3)], vec![Some(4), Some(3)]]).unwrap_err();
    assert!(e.to_string().contains("add_2") && e.to_string().contains("batch"), "{e}");
    let e = layer("Maximum", json!({"name": "max_1"})).call(std::slice::from_ref(&a), &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("max_1") && e.to_string().contains("at least 2"), "{e}");
}

#[test]
fn concatenate_and_dot_values() {
    let a = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let b = t(&[2, 1], &[5.0, 6.0]);
    let y = apply(&layer("Concatenate", json!({})), &[a.clone(), b.clone()], false);
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 5.0, 3.0, 4.0, 6.0], 0.0);
    let y = apply(&layer("Concatenate", json!({"axis": 1})), &[seq(&[1, 1, 2]), seq(&[1, 2, 2])], false);
    assert_eq!(y.shape(), &[1, 3, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 1.0, 2.0, 3.0, 4.0], 0.0);
    let e = layer("Concatenate", json!({"name": "cat_1"})).call(&[seq(&[1, 2, 2]), seq(&[1, 3, 2])], &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("cat_1") && e.to_string().contains("matching shapes"), "{e}");

    let dot = layer("Dot", json!({"axes": 1}));
    let y = apply(&dot, &[a.clone(), t(&[2, 2], &[1.0, 1.0, 2.0, -1.0])], false);
    assert_eq!(y.shape(), &[2, 1]);
    assert_close(&y.to_f32_vec(), &[3.0, 2.0], 0.0);
    // Cosine proximity.
    let dot = layer("Dot", json!({"axes": -1, "normalize": true}));
    let y = apply(&dot, &[t(&[1, 2], &[3.0, 4.0]), t(&[1, 2], &[4.0, 3.0])], false);
    assert_close(&y.to_f32_vec(), &[24.0 / 25.0], 1e-6);
    // [b, m, n]·[b, n, k] along [2, 1] is a batched matrix product.
    let dot = layer("Dot", json!({"axes": [2, 1]}));
    let y = apply(&dot, &[seq(&[1, 2, 3]), t(&[1, 3, 1], &[1.0, 0.0, -1.0])], false);
    assert_eq!(y.shape(), &[1, 2, 1]);
    assert_close(&y.to_f32_vec(), &[-2.0, -2.0], 0.0);
    // Along axis 1 of both: [b, n, m]ᵀ·[b, n, k] → [b, m, k].
    let dot = layer("Dot", json!({"axes": 1}));
    let y = apply(&dot, &[seq(&[1, 2, 2]), t(&[1, 2, 1], &[1.0, 1.0])], false);
    assert_close(&y.to_f32_vec(), &[4.0, 6.0], 0.0);
    // Mixed ranks: [b, m, n]·[b, n] → [b, m].
    let dot = layer("Dot", json!({"axes": [2, 1]}));
    let y = apply(&dot, &[seq(&[1, 2, 3]), t(&[1, 3], &[1.0, 1.0, 1.0])], false);
    assert_eq!(y.shape(), &[1, 2]);
    assert_close(&y.to_f32_vec(), &[6.0, 15.0], 0.0);
    let e = layer("Dot", json!({"axes": 1, "name": "dot_1"})).call(&[a.clone(), b.clone()], &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("dot_1"), "{e}");
}

#[test]
fn merge_gradients() {
    let xs = [rand(&[2, 3], 41, -1.0, 1.0), rand(&[2, 3], 42, -1.0, 1.0), rand(&[2, 1, 3], 43, -1.0, 1.0)];
    for class in ["Add", "Multiply", "Average", "Maximum", "Minimum"] {
        check_layer_grads(&layer(class, json!({})), &xs, true, true);
    }
    check_layer_grads(&layer("Concatenate", json!({"axis": 0})), &xs[..2], true, true);
    check_layer_grads(&layer("Dot", json!({"axes": 1, "normalize": true})), &xs[..2], true, true);
    check_layer_grads(&layer("Dot", json!({"axes": [1, 2]})), &[rand(&[2, 3, 2], 44, -1.0, 1.0), rand(&[2, 4, 3], 45, -1.0, 1.0)], true, true);
}

// ---------------------------------------------------------------------------------------------
// Reshaping

#[test]
fn reshaping_values() {
    let x = seq(&[2, 2, 3]);
    let y = apply1(&layer("Reshape", json!({"targetShape": [3, -1]})), &x);
    assert_eq!(y.shape(), &[2, 3, 2]);
    assert_eq!(layer("Reshape", json!({"targetShape": [-1]})).compute_output_shape(&[vec![None, Some(2), Some(3)]]).unwrap(), vec![vec![None, Some(6)]]);
    assert_eq!(layer("Reshape", json!({"targetShape": [null, 2]})).compute_output_shape(&[vec![None, None, Some(2)]]).unwrap(), vec![vec![None, None, Some(2)]]);
    let e = layer("Reshape", json!({"targetShape": [5], "name": "reshape_1"})).call(std::slice::from_ref(&x), &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("reshape_1"), "{e}");

    let y = apply1(&layer("Permute", json!({"dims": [2, 1]})), &x);
    assert_eq!(y.shape(), &[2, 3, 2]);
    assert_close(&y.to_f32_vec()[..6], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], 0.0);

    let y = apply1(&layer("RepeatVector", json!({"n": 3})), &t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]));
    assert_eq!(y.shape(), &[2, 3, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0], 0.0);

    let img = seq(&[1, 2, 2, 1]);
    let y = apply1(&layer("ZeroPadding2D", json!({"padding": [[1, 0], [0, 2]]})), &img);
    assert_eq!(y.shape(), &[1, 3, 4, 1]);
    assert_close(&y.to_f32_vec(), &[0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0], 0.0);
    let y = apply1(&layer("ZeroPadding2D", json!({"dataFormat": "channelsFirst"})), &seq(&[1, 1, 1, 1]));
    assert_eq!(y.shape(), &[1, 1, 3, 3]);
    assert_close(&y.to_f32_vec(), &[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 0.0);

    let y = apply1(&layer("Cropping2D", json!({"cropping": [[1, 0], [0, 1]]})), &seq(&[1, 3, 3, 1]));
    assert_eq!(y.shape(), &[1, 2, 2, 1]);
    assert_close(&y.to_f32_vec(), &[4.0, 5.0, 7.0, 8.0], 0.0);
    let y = apply1(&layer("Cropping2D", json!({"cropping": 1, "dataFormat": "channelsFirst"})), &seq(&[1, 1, 3, 3]));
    assert_close(&y.to_f32_vec(), &[5.0], 0.0);

    let y = apply1(&layer("UpSampling2D", json!({})), &img);
    assert_eq!(y.shape(), &[1, 4, 4, 1]);
    assert_close(&y.to_f32_vec(), &[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0], 0.0);
    let y = apply1(&layer("UpSampling2D", json!({"size": [1, 3], "dataFormat": "channelsFirst"})), &seq(&[1, 1, 1, 2]));
    assert_close(&y.to_f32_vec(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 0.0);
    let y = apply1(&layer("UpSampling2D", json!({"size": [1, 2], "interpolation": "bilinear"})), &seq(&[1, 1, 2, 1]));
    assert_close(&y.to_f32_vec(), &[1.0, 1.5, 2.0, 2.0], 1e-6);

    let m = layer("Masking", json!({"maskValue": -1}));
    let y = apply1(&m, &t(&[1, 3, 2], &[1.0, -1.0, -1.0, -1.0, 0.0, 2.0]));
    assert_close(&y.to_f32_vec(), &[1.0, -1.0, 0.0, 0.0, 0.0, 2.0], 0.0);
}

#[test]
fn reshaping_gradients() {
    let x = rand(&[2, 3, 4, 2], 51, -1.0, 1.0);
    for (class, cfg) in [
        ("Reshape", json!({"targetShape": [-1, 4]})),
        ("Permute", json!({"dims": [3, 1, 2]})),
        ("ZeroPadding2D", json!({"padding": [1, 2]})),
        ("Cropping2D", json!({"cropping": [[1, 0], [1, 2]]})),
        ("UpSampling2D", json!({"size": [2, 1]})),
        ("UpSampling2D", json!({"interpolation": "bilinear", "dataFormat": "channelsFirst"})),
        ("Masking", json!({})),
    ] {
        check_layer_grads(&layer(class, cfg), std::slice::from_ref(&x), true, true);
    }
    check_layer_grads(&layer("RepeatVector", json!({"n": 2})), &[rand(&[2, 3], 52, -1.0, 1.0)], true, true);
}

// ---------------------------------------------------------------------------------------------
// Advanced activations and noise

#[test]
fn advanced_activation_values() {
    let x = t(&[1, 5], &[-2.0, -0.5, 0.0, 1.0, 3.0]);
    let run = |class: &str, cfg: Value| apply1(&layer(class, cfg), &x).to_f32_vec();
    assert_close(&run("ReLU", json!({})), &[0.0, 0.0, 0.0, 1.0, 3.0], 0.0);
    assert_close(&run("ReLU", json!({"maxValue": 2})), &[0.0, 0.0, 0.0, 1.0, 2.0], 0.0);
    assert_close(&run("LeakyReLU", json!({})), &[-0.6, -0.15, 0.0, 1.0, 3.0], 1e-6);
    assert_close(&run("LeakyReLU", json!({"alpha": 0.1})), &[-0.2, -0.05, 0.0, 1.0, 3.0], 1e-6);
    let e = |v: f32| v.exp() - 1.0;
    assert_close(&run("ELU", json!({})), &[e(-2.0), e(-0.5), 0.0, 1.0, 3.0], 1e-6);
    assert_close(&run("ELU", json!({"alpha": 0.5})), &[0.5 * e(-2.0), 0.5 * e(-0.5), 0.0, 1.0, 3.0], 1e-6);
    assert_close(&run("ThresholdedReLU", json!({})), &[0.0, 0.0, 0.0, 0.0, 3.0], 0.0);
    assert_close(&run("ThresholdedReLU", json!({"theta": 0.5})), &[0.0, 0.0, 0.0, 1.0, 3.0], 0.0);
    let s: f32 = x.to_f32_vec().iter().map(|v| v.exp()).sum();
    let soft: Vec<f32> = x.to_f32_vec().iter().map(|v| v.exp() / s).collect();
    assert_close(&run("Softmax", json!({})), &soft, 1e-6);

    // Softmax defaults to axis 1 (tfjs), also of rank-3 inputs; a list of axes works too.
    let x3 = t(&[1, 2, 2], &[0.0, 1.0, 2.0, 3.0]);
    let y = apply1(&layer("Softmax", json!({})), &x3).to_f32_vec();
    let p = 1.0 / (1.0 + 2.0f32.exp());
    assert_close(&y, &[p, p, 1.0 - p, 1.0 - p], 1e-6);
    let y = apply1(&layer("Softmax", json!({"axis": [1, 2]})), &x3).to_f32_vec();
    let z: f32 = (0..4).map(|v| (v as f32).exp()).sum();
    assert_close(&y, &(0..4).map(|v| (v as f32).exp() / z).collect::<Vec<_>>(), 1e-6);

    // PReLU: alpha per feature, shared along axis 1 of a rank-3 input.
    let l = layer("PReLU", json!({"sharedAxes": 1}));
    set_weights(&l, &[1, 2, 2], &[t(&[1, 2], &[0.5, 2.0])]);
    let y = apply1(&l, &t(&[1, 2, 2], &[-1.0, -1.0, 3.0, -4.0]));
    assert_close(&y.to_f32_vec(), &[-0.5, -2.0, 3.0, -8.0], 0.0);
    let l = layer("PReLU", json!({}));
    let y = apply1(&l, &x);
    assert_close(&y.to_f32_vec(), &[0.0, 0.0, 0.0, 1.0, 3.0], 0.0);
    assert_eq!(l.weights()[0].var.read().shape(), &[5]);
}

#[test]
fn advanced_activation_gradients() {
    // Away from the kinks, so central differences are exact enough.
    let x = t(&[2, 3], &[-1.5, -0.7, 0.4, 0.9, 1.6, 2.5]);
    for (class, cfg) in [
        ("ReLU", json!({"maxValue": 2})),
        ("LeakyReLU", json!({})),
        ("ELU", json!({"alpha": 0.7})),
        ("ThresholdedReLU", json!({})),
        ("Softmax", json!({"axis": -1})),
        ("Softmax", json!({"axis": [0, 1]})),
        ("PReLU", json!({"alphaInitializer": {"className": "Constant", "config": {"value": 0.25}}})),
    ] {
        check_layer_grads(&layer(class, cfg), std::slice::from_ref(&x), true, true);
    }
}

#[test]
fn noise_layers() {
    let x = rand(&[4, 50], 61, -1.0, 1.0);
    for (class, cfg) in [("GaussianNoise", json!({"stddev": 0.5})), ("GaussianDropout", json!({"rate": 0.3})), ("AlphaDropout", json!({"rate": 0.3}))] {
        let l = layer(class, cfg);
        assert_eq!(apply1(&l, &x).to_f32_vec(), x.to_f32_vec(), "{class} is the identity at inference");
        let y = apply(&l, std::slice::from_ref(&x), true);
        assert_eq!(y.shape(), x.shape());
        assert_ne!(y.to_f32_vec(), x.to_f32_vec(), "{class} adds noise in training");
    }
    // AlphaDropout keeps the mean and variance of standard-normal-ish inputs (roughly), and a
    // dropped value is a·α' + b for every position in a shared noise dimension.
    let l = layer("AlphaDropout", json!({"rate": 0.5, "noiseShape": [1, null]}));
    let y = apply(&l, &[Tensor::zeros(&[3, 400], DType::Float32)], true).to_f32_vec();
    for j in 0..400 {
        assert!(y[j] == y[400 + j] && y[j] == y[800 + j], "column {j} shares its decision");
    }
    let distinct: std::collections::BTreeSet<u32> = y.iter().map(|v| v.to_bits()).collect();
    assert_eq!(distinct.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Configs

#[test]
fn config_round_trips() {
    let seeded = json!({"className": "GlorotUniform", "config": {"seed": 3}});
    let cases = [
        ("Conv1D", json!({"filters": 4, "kernelSize": 3, "strides": 2, "padding": "same", "dilationRate": 1, "activation": "relu", "kernelRegularizer": "l2"})),
        ("Conv2D", json!({"filters": 8, "kernelSize": [3, 2], "dataFormat": "channelsFirst", "useBias": false, "kernelInitializer": seeded, "inputShape": [3, 8, 8]})),
        ("Conv2D", json!({"filters": 2, "kernelSize": 3, "biasConstraint": "nonNeg", "activityRegularizer": {"className": "L1L2", "config": {"l1": 0.1, "l2": 0.0}}})),
        ("Conv2DTranspose", json!({"filters": 3, "kernelSize": 2, "strides": [2, 1], "activation": "sigmoid"})),
        ("DepthwiseConv2D", json!({"kernelSize": 3, "depthMultiplier": 2, "depthwiseConstraint": {"className": "MaxNorm", "config": {"maxValue": 3, "axis": 0}}})),
        ("SeparableConv2D", json!({"filters": 5, "kernelSize": 3, "depthMultiplier": 3, "pointwiseInitializer": "heNormal", "dtype": "float32"})),
        ("MaxPooling1D", json!({"poolSize": 3})),
        ("AveragePooling1D", json!({"poolSize": [2], "strides": 1, "padding": "same"})),
        ("MaxPooling2D", json!({"poolSize": [3, 2], "strides": 1, "dataFormat": "channelsFirst"})),
        ("AveragePooling2D", json!({})),
        ("GlobalAveragePooling1D", json!({})),
        ("GlobalMaxPooling1D", json!({"batchInputShape": [null, 10, 3]})),
        ("GlobalAveragePooling2D", json!({"dataFormat": "channelsFirst"})),
        ("GlobalMaxPooling2D", json!({"trainable": false})),
        ("BatchNormalization", json!({"axis": 1, "momentum": 0.9, "epsilon": 0.01, "center": false, "gammaRegularizer": "l1"})),
        ("LayerNormalization", json!({"axis": [1, 2], "scale": false})),
        ("LayerNormalization", json!({"axis": -1})),
        ("Reshape", json!({"targetShape": [2, -1]})),
        ("Permute", json!({"dims": [2, 1]})),
        ("RepeatVector", json!({"n": 4})),
        ("ZeroPadding2D", json!({"padding": 2})),
        ("Cropping2D", json!({"cropping": [1, 2], "dataFormat": "channelsFirst"})),
        ("UpSampling2D", json!({"size": [2, 3], "interpolation": "bilinear"})),
        ("Masking", json!({"maskValue": -1})),
        ("Embedding", json!({"inputDim": 10, "outputDim": 4, "inputLength": 5, "maskZero": true, "batchInputShape": [null, 5]})),
        ("Embedding", json!({"inputDim": 10, "outputDim": 4, "embeddingsInitializer": "ones", "inputShape": [null]})),
        ("Add", json!({})),
        ("Average", json!({})),
        ("Concatenate", json!({"axis": 1})),
        ("Maximum", json!({})),
        ("Minimum", json!({})),
        ("Multiply", json!({})),
        ("Dot", json!({"axes": [1, 2], "normalize": true})),
        ("Dot", json!({"axes": -1})),
        ("ELU", json!({"alpha": 1})),
        ("ReLU", json!({"maxValue": 6})),
        ("ReLU", json!({})),
        ("LeakyReLU", json!({"alpha": 0.2})),
        ("PReLU", json!({"sharedAxes": [1, 2], "alphaConstraint": "nonNeg"})),
        ("Softmax", json!({"axis": -1})),
        ("ThresholdedReLU", json!({"theta": 0.5})),
        ("GaussianNoise", json!({"stddev": 0.1})),
        ("GaussianDropout", json!({"rate": 0.2})),
        ("AlphaDropout", json!({"rate": 0.2})),
    ];
    for (class, cfg) in cases {
        round_trip(class, cfg);
    }
}

#[test]
fn layer_normalization_reports_its_resolved_axes_once_built() {
    // As tfjs: `axis: -1` becomes the list of non-negative axes when the layer is built.
    let l = layer("LayerNormalization", json!({"axis": -1}));
    assert_eq!(l.config()["axis"], json!(-1));
    l.build(&[vec![None, Some(3), Some(4)]]).unwrap();
    assert_eq!(l.config()["axis"], json!([2]));
    let again = from_config("LayerNormalization", &l.config()).unwrap();
    again.build(&[vec![None, Some(3), Some(4)]]).unwrap();
    assert_eq!(again.config(), l.config());
}

#[test]
fn configs_carry_dtype_only_with_an_input_shape() {
    // As tfjs: a layer given an input shape writes the dtype of the input it implies (float32
    // by default); a dtype alone, or an input shape the layer derives itself, writes none.
    assert_eq!(layer("Dense", json!({"units": 1, "inputShape": [3]})).config()["dtype"], json!("float32"));
    assert_eq!(layer("Dense", json!({"units": 1, "batchInputShape": [2, 3], "dtype": "int32"})).config()["dtype"], json!("int32"));
    assert_eq!(layer("Dense", json!({"units": 1, "inputShape": [3], "inputDType": "int32"})).config()["dtype"], json!("int32"));
    assert!(layer("Dense", json!({"units": 1, "dtype": "int32"})).config().get("dtype").is_none());
    let c = layer("Dense", json!({"units": 1, "inputDim": 3})).config();
    assert_eq!((c["batchInputShape"].clone(), c.get("dtype")), (json!([null, 3]), None));
    let c = layer("Embedding", json!({"inputDim": 10, "outputDim": 4, "inputLength": 5})).config();
    assert_eq!((c["batchInputShape"].clone(), c.get("dtype")), (json!([null, 5]), None));
}

#[test]
fn file_configs_ignore_unknown_keys_at_every_level_but_not_bad_values() {
    let strict = from_config("Dense", &json!({"name": "d", "units": 2, "kerasExtra": 1}));
    assert!(strict.err().unwrap().to_string().contains("unknown config field 'kerasExtra'"));
    let d = super::from_file_config("Dense", &json!({"name": "d", "units": 2, "kerasExtra": 1, "kernelInitializer": "glorotUniform"})).unwrap();
    assert_eq!(d.config()["units"], json!(2));
    let bad = super::from_file_config("Dense", &json!({"name": "d", "units": "two", "kerasExtra": 1}));
    assert!(bad.err().unwrap().to_string().contains("config.units must be"));
    // Nested configs (a wrapped layer) are read leniently too, and strictness comes back after.
    let inner = json!({"className": "LSTM", "config": {"name": "l", "units": 2, "timeMajor": false}});
    assert!(super::from_file_config("Bidirectional", &json!({"name": "b", "layer": inner.clone(), "extra": [1]})).is_ok());
    assert!(from_config("Bidirectional", &json!({"name": "b", "layer": inner})).is_err());
}

#[test]
fn weight_size_limit_bounds_initializers_on_this_thread() {
    use super::initializers::{set_weight_size_limit, Initializer};
    let init = Initializer::parse("t", &json!("zeros")).unwrap();
    set_weight_size_limit(Some(6));
    assert!(init.init(&[2, 3]).is_ok());
    let err = init.init(&[7]).err().unwrap().to_string();
    set_weight_size_limit(None);
    assert!(err.contains("larger than any weight the model file holds (6 values)"), "{err}");
    assert!(init.init(&[7]).is_ok());
    assert!(init.init(&[usize::MAX, 2]).err().unwrap().to_string().contains("too many values"));
}

#[test]
fn configs_report_tfjs_fields_and_defaults() {
    let c = layer("Conv2D", json!({"filters": 2, "kernelSize": 3})).config();
    assert_eq!(c["kernelSize"], json!([3, 3]));
    assert_eq!(c["strides"], json!([1, 1]));
    assert_eq!(c["dilationRate"], json!([1, 1]));
    assert_eq!(c["padding"], "valid");
    assert_eq!(c["dataFormat"], "channelsLast");
    assert_eq!(c["activation"], "linear");
    assert_eq!(c["kernelInitializer"]["className"], "VarianceScaling");
    assert_eq!(c["biasInitializer"]["className"], "Zeros");
    assert_eq!(c["kernelRegularizer"], Value::Null);
    let c = layer("Conv1D", json!({"filters": 2, "kernelSize": 3})).config();
    assert!(c.get("dataFormat").is_none());
    assert_eq!(c["kernelSize"], json!([3]));
    assert!(layer("Conv2DTranspose", json!({"filters": 2, "kernelSize": 3})).config().get("dilationRate").is_none());
    let c = layer("DepthwiseConv2D", json!({"kernelSize": 3})).config();
    assert_eq!(c["depthMultiplier"], 1);
    assert!(c.get("filters").is_none());
    let c = layer("MaxPooling2D", json!({"poolSize": 3})).config();
    assert_eq!((c["poolSize"].clone(), c["strides"].clone()), (json!([3, 3]), json!([3, 3])));
    let c = layer("BatchNormalization", json!({})).config();
    assert_eq!((c["axis"].clone(), c["momentum"].clone(), c["epsilon"].clone()), (json!(-1), json!(0.99), json!(0.001)));
    assert_eq!(layer("Concatenate", json!({})).config()["axis"], -1);
    assert_eq!(layer("Softmax", json!({})).config()["axis"], 1);
    assert_eq!(layer("LeakyReLU", json!({})).config()["alpha"], 0.3);
    assert_eq!(layer("ZeroPadding2D", json!({})).config()["padding"], json!([[1, 1], [1, 1]]));
    assert_eq!(layer("Reshape", json!({"targetShape": [-1, 2]})).config()["targetShape"], json!([null, 2]));
    let c = layer("Embedding", json!({"inputDim": 3, "outputDim": 2})).config();
    assert_eq!(c["embeddingsInitializer"]["className"], "RandomUniform");
    assert_eq!(c["batchInputShape"], json!([null, null]));
    assert!(layer("AlphaDropout", json!({"rate": 0.1, "noiseShape": [1, 2]})).config().get("noiseShape").is_none());
}

#[test]
fn bad_configs_name_the_layer_and_the_field() {
    let e = err_text("Conv2D", json!({"filters": 2, "kernelSize": 3, "stride": 2}));
    assert!(e.contains("Conv2D") && e.contains("'stride'") && e.contains("did you mean 'strides'"), "{e}");
    let e = err_text("Conv2D", json!({"filters": 2, "kernelSize": 3, "kernelInitialiser": "ones"}));
    assert!(e.contains("did you mean 'kernelInitializer'"), "{e}");
    let e = err_text("Conv2D", json!({"filters": 2, "kernelSize": [3, 3, 3]}));
    assert!(e.starts_with("Conv2D") && e.contains("kernelSize"), "{e}");
    let e = err_text("Conv2D", json!({"filters": 2, "kernelSize": 0}));
    assert!(e.starts_with("Conv2D") && e.contains("kernelSize"), "{e}");
    let e = err_text("Conv1D", json!({"filters": 2, "kernelSize": [3, 3]}));
    assert!(e.starts_with("Conv1D") && e.contains("kernelSize"), "{e}");
    let e = err_text("Conv2D", json!({"filters": 2}));
    assert!(e.starts_with("Conv2D") && e.contains("kernelSize is required"), "{e}");
    let e = err_text("Conv2D", json!({"kernelSize": 2}));
    assert!(e.starts_with("Conv2D") && e.contains("filters"), "{e}");
    let e = err_text("Conv2D", json!({"filters": 2, "kernelSize": 2, "padding": "full"}));
    assert!(e.contains("padding"), "{e}");
    let e = err_text("Conv1D", json!({"filters": 2, "kernelSize": 2, "padding": "causal"}));
    assert!(e.starts_with("Conv1D") && e.contains("causal"), "{e}");
    let e = err_text("Conv2D", json!({"filters": 2, "kernelSize": 2, "dataFormat": "NHWC"}));
    assert!(e.contains("dataFormat"), "{e}");
    let e = err_text("SeparableConv2D", json!({"filters": 2, "kernelSize": 2, "kernelInitializer": "ones"}));
    assert!(e.starts_with("SeparableConv2D") && e.contains("depthwiseInitializer"), "{e}");
    let e = err_text("MaxPooling2D", json!({"poolSize": [2, 2, 2]}));
    assert!(e.starts_with("MaxPooling2D") && e.contains("poolSize"), "{e}");
    let e = err_text("BatchNormalization", json!({"momentun": 0.9}));
    assert!(e.starts_with("BatchNormalization") && e.contains("did you mean 'momentum'"), "{e}");
    let e = err_text("Embedding", json!({"inputDim": 3}));
    assert!(e.starts_with("Embedding") && e.contains("outputDim"), "{e}");
    let e = err_text("Permute", json!({"dims": [0, 1]}));
    assert!(e.starts_with("Permute") && e.contains("dims"), "{e}");
    let e = err_text("Reshape", json!({"targetShape": [-1, -1]}));
    assert!(e.starts_with("Reshape"), "{e}");
    let e = err_text("Dot", json!({"axes": [1, 2, 3]}));
    assert!(e.starts_with("Dot") && e.contains("axes"), "{e}");
    let e = err_text("Cropping2D", json!({"cropping": [[1, 2, 3], [1, 2]]}));
    assert!(e.starts_with("Cropping2D") && e.contains("cropping"), "{e}");
    let e = err_text("GaussianDropout", json!({"rate": 1.5}));
    assert!(e.starts_with("GaussianDropout") && e.contains("rate"), "{e}");

    // Inputs that do not fit name the layer instance.
    let l = layer("Conv2D", json!({"filters": 2, "kernelSize": 3, "name": "conv_a"}));
    let e = l.call(&[Tensor::zeros(&[1, 5, 5], DType::Float32)], &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("conv_a") && e.to_string().contains("rank 4"), "{e}");
    l.call(&[Tensor::zeros(&[1, 5, 5, 3], DType::Float32)], &ctx(false)).unwrap();
    let e = l.call(&[Tensor::zeros(&[1, 5, 5, 4], DType::Float32)], &ctx(false)).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("conv_a") && e.to_string().contains("3 channels"), "{e}");
    let e = l.compute_output_shape(&[vec![None, Some(1), Some(4), Some(3)]]).unwrap_err();
    assert!(e.to_string().contains("conv_a"), "{e}");
}

#[test]
fn output_shapes() {
    let shape = |class: &str, cfg: Value, s: Shape| layer(class, cfg).compute_output_shape(&[s]).unwrap().remove(0);
    let n = None;
    assert_eq!(shape("Conv2D", json!({"filters": 8, "kernelSize": 3, "strides": 2}), vec![n, Some(28), Some(27), Some(3)]), vec![n, Some(13), Some(13), Some(8)]);
    assert_eq!(shape("Conv2D", json!({"filters": 8, "kernelSize": 3, "padding": "same", "strides": 2}), vec![n, Some(28), n, Some(3)]), vec![n, Some(14), n, Some(8)]);
    assert_eq!(shape("Conv2D", json!({"filters": 8, "kernelSize": 3, "dilationRate": 2, "dataFormat": "channelsFirst"}), vec![n, Some(3), Some(9), Some(9)]), vec![n, Some(8), Some(5), Some(5)]);
    assert_eq!(shape("Conv1D", json!({"filters": 4, "kernelSize": 5}), vec![n, Some(10), Some(2)]), vec![n, Some(6), Some(4)]);
    assert_eq!(shape("Conv2DTranspose", json!({"filters": 4, "kernelSize": 3, "strides": 2}), vec![n, Some(5), Some(6), Some(2)]), vec![n, Some(11), Some(13), Some(4)]);
    assert_eq!(shape("Conv2DTranspose", json!({"filters": 4, "kernelSize": 3, "strides": 2, "padding": "same"}), vec![n, Some(5), Some(6), Some(2)]), vec![n, Some(10), Some(12), Some(4)]);
    assert_eq!(shape("DepthwiseConv2D", json!({"kernelSize": 3, "depthMultiplier": 3}), vec![n, Some(5), Some(5), Some(2)]), vec![n, Some(3), Some(3), Some(6)]);
    assert_eq!(shape("SeparableConv2D", json!({"filters": 7, "kernelSize": 3, "padding": "same"}), vec![n, Some(5), Some(5), Some(2)]), vec![n, Some(5), Some(5), Some(7)]);
    assert_eq!(shape("MaxPooling2D", json!({}), vec![n, Some(7), Some(6), Some(3)]), vec![n, Some(3), Some(3), Some(3)]);
    assert_eq!(shape("AveragePooling2D", json!({"padding": "same"}), vec![n, Some(7), Some(6), Some(3)]), vec![n, Some(4), Some(3), Some(3)]);
    assert_eq!(shape("MaxPooling1D", json!({"poolSize": 3, "strides": 2}), vec![n, Some(9), Some(4)]), vec![n, Some(4), Some(4)]);
    assert_eq!(shape("GlobalMaxPooling2D", json!({"dataFormat": "channelsFirst"}), vec![n, Some(3), Some(4), Some(5)]), vec![n, Some(3)]);
    assert_eq!(shape("Embedding", json!({"inputDim": 5, "outputDim": 2}), vec![n, Some(3), Some(4)]), vec![n, Some(3), Some(4), Some(2)]);
    assert_eq!(shape("Permute", json!({"dims": [3, 1, 2]}), vec![n, Some(2), Some(3), Some(4)]), vec![n, Some(4), Some(2), Some(3)]);
    assert_eq!(shape("RepeatVector", json!({"n": 5}), vec![n, Some(3)]), vec![n, Some(5), Some(3)]);
    assert_eq!(shape("Cropping2D", json!({"cropping": [[1, 2], [0, 1]]}), vec![n, Some(8), n, Some(3)]), vec![n, Some(5), n, Some(3)]);
    let cat = layer("Concatenate", json!({})).compute_output_shape(&[vec![n, Some(2), Some(3)], vec![n, Some(2), Some(4)]]).unwrap();
    assert_eq!(cat, vec![vec![n, Some(2), Some(7)]]);
    let dot = layer("Dot", json!({"axes": [2, 1]})).compute_output_shape(&[vec![n, Some(2), Some(3)], vec![n, Some(3), Some(4)]]).unwrap();
    assert_eq!(dot, vec![vec![n, Some(2), Some(4)]]);
}

// ---------------------------------------------------------------------------------------------
// A small CNN trained in a loop

#[test]
fn cnn_trains_with_fused_kernels() {
    let seed = |s: u64| json!({"className": "GlorotUniform", "config": {"seed": s}});
    let layers = [
        layer("Conv2D", json!({"filters": 16, "kernelSize": 3, "activation": "relu", "kernelInitializer": seed(1), "name": "c1"})),
        layer("MaxPooling2D", json!({"poolSize": 2, "name": "p1"})),
        layer("Conv2D", json!({"filters": 32, "kernelSize": 3, "activation": "relu", "kernelInitializer": seed(2), "name": "c2"})),
        layer("MaxPooling2D", json!({"poolSize": 2, "name": "p2"})),
        from_config("Flatten", &json!({"name": "f"})).unwrap(),
        from_config("Dense", &json!({"units": 4, "kernelInitializer": seed(3), "name": "d"})).unwrap(),
    ];
    let batch = 16;
    let x = rand(&[batch, 12, 12, 1], 71, 0.0, 1.0);
    // Labels: which quadrant is brightest, so the task is learnable.
    let xv = x.to_f32_vec();
    let mut onehot = vec![0.0f32; batch * 4];
    for b in 0..batch {
        let mut q = [0.0f32; 4];
        for i in 0..12 {
            for j in 0..12 {
                q[(i / 6) * 2 + j / 6] += xv[b * 144 + i * 12 + j];
            }
        }
        let best = (0..4).max_by(|&a, &c| q[a].total_cmp(&q[c])).unwrap();
        onehot[b * 4 + best] = 1.0;
    }
    let y_true = t(&[batch, 4], &onehot);
    let forward = |x: &Tensor| -> Tensor {
        let mut h = x.clone();
        for l in &layers {
            h = l.call(&[h], &ctx(true)).unwrap().remove(0);
        }
        h
    };
    let loss_of = |logits: &Tensor| -> Tensor {
        let logp = crate::engine::run1("LogSoftmax", std::slice::from_ref(logits), &crate::Attrs::new().with("axis", -1)).unwrap();
        let nll = ops::neg(&ops::sum(&ops::mul(&logp, &y_true).unwrap(), &[0, 1], false).unwrap()).unwrap();
        ops::div(&nll, &Tensor::scalar(batch as f32)).unwrap()
    };
    forward(&x); // builds the weights
    let vars: Vec<_> = layers.iter().flat_map(|l| l.weights()).collect();
    assert_eq!(vars.len(), 6);
    let mut losses = Vec::new();
    for step in 0..40 {
        let tp = tape::new_tape();
        let loss = engine::with_tape(&tp, || loss_of(&forward(&x)));
        if step == 0 {
            let kernels: Vec<String> = tp.lock().unwrap().nodes.iter().map(|n| n.kernel.clone()).collect();
            assert_eq!(kernels.iter().filter(|k| *k == "FusedConv2D").count(), 2, "{kernels:?}");
            assert!(!kernels.iter().any(|k| k == "Relu" || k == "Add" || k == "Conv2D"), "separate bias/activation passes: {kernels:?}");
        }
        let ids: Vec<u64> = vars.iter().map(|w| w.var.id()).collect();
        let grads = tape::gradients(&tp, &loss, &ids, None).unwrap();
        for (w, g) in vars.iter().zip(grads) {
            let g = g.expect("every weight gets a gradient");
            w.var.assign(&ops::sub(&w.var.read(), &ops::mul(&g, &Tensor::scalar(0.2)).unwrap()).unwrap()).unwrap();
        }
        losses.push(loss.to_f32_vec()[0]);
    }
    assert!(losses[39] < 0.8 * losses[0], "loss did not fall: {losses:?}");
}

#[test]
fn constraint_axes_count_from_the_end_and_read_back_as_given() {
    use super::constraints::Constraint;
    let c = Constraint::parse("t", &json!({"className": "MaxNorm", "config": {"maxValue": 1, "axis": -1}})).unwrap();
    assert_eq!(c.to_value()["config"]["axis"], json!(-1));
    // w = [[3, 4], [0, 0.5]]: row norms 5 and 0.5; only the first row exceeds 1 and is scaled.
    let w = t(&[2, 2], &[3.0, 4.0, 0.0, 0.5]);
    assert_close(&c.apply(&w).unwrap().to_f32_vec(), &[0.6, 0.8, 0.0, 0.5], 1e-5);
    assert_eq!(Constraint::parse("t", &json!("maxNorm")).unwrap().to_value()["config"]["axis"], json!(0));
    let listed = Constraint::parse("t", &json!({"className": "UnitNorm", "config": {"axis": [0, 1]}})).unwrap();
    assert_eq!(listed.to_value()["config"]["axis"], json!([0, 1]));
    assert!(Constraint::parse("t", &json!({"className": "UnitNorm", "config": {"axis": "x"}})).is_err());
    let far = Constraint::parse("t", &json!({"className": "UnitNorm", "config": {"axis": 2}})).unwrap();
    assert!(far.apply(&w).unwrap_err().to_string().contains("out of range"));
}
