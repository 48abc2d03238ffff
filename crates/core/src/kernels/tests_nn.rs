//! Forward values (small hand-computed cases and comparisons with direct loops) and numeric
//! gradient checks of the neural-network kernels.

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::tensor::Tensor;
use crate::testutil::*;
use serde_json::json;
use std::slice::from_ref;

fn run(k: &str, inputs: &[Tensor], attrs: &Attrs) -> Tensor {
    run1(k, inputs, attrs).unwrap_or_else(|e| panic!("{k}: {e}"))
}

fn attrs(v: serde_json::Value) -> Attrs {
    Attrs::from_value(v)
}

/// `f(xs) = kernel(xs)` for `check_grads`.
fn kernel_fn(k: &'static str, a: Attrs) -> impl Fn(&[Tensor]) -> Tensor {
    move |xs: &[Tensor]| run(k, xs, &a)
}

#[test]
fn softmax_and_log_softmax_values() {
    let x = t(&[3], &[1.0, 2.0, 3.0]);
    let y = run("Softmax", from_ref(&x), &attrs(json!({"dim": -1})));
    assert_close(&y.to_f32_vec(), &[0.090_030_57, 0.244_728_47, 0.665_240_94], 1e-6);
    let l = run("LogSoftmax", &[x], &attrs(json!({"axis": -1})));
    assert_close(&l.to_f32_vec(), &[-2.407_606, -1.407_606, -0.407_606], 1e-6);
    // Along a non-last axis, and without overflow for large logits.
    let x = t(&[2, 2], &[1.0, 2.0, 3.0, 5.0]);
    let y = run("Softmax", &[x], &attrs(json!({"dim": 0})));
    assert_close(&y.to_f32_vec(), &[0.119_202_92, 0.047_425_87, 0.880_797, 0.952_574_13], 1e-6);
    let y = run("Softmax", &[t(&[2], &[1000.0, 1000.0])], &Attrs::new());
    assert_close(&y.to_f32_vec(), &[0.5, 0.5], 0.0);
    let l = run("LogSoftmax", &[t(&[2], &[1000.0, 0.0])], &Attrs::new());
    assert_close(&l.to_f32_vec(), &[0.0, -1000.0], 1e-6);
}

#[test]
fn softmax_gradients() {
    let x = rand(&[2, 3, 4], 3, -2.0, 2.0);
    for (k, key) in [("Softmax", "dim"), ("LogSoftmax", "axis")] {
        for ax in [-1, 0, 1] {
            check_grads(&kernel_fn(k, attrs(json!({ key: ax }))), from_ref(&x));
        }
    }
}

/// Explicit-padding geometry for the direct-loop references.
#[derive(Clone, Copy)]
struct Geo {
    s: (usize, usize),
    d: (usize, usize),
    pad: [usize; 4],
}

impl Geo {
    fn out(&self, h: usize, w: usize, fh: usize, fw: usize) -> (usize, usize) {
        let eh = (fh - 1) * self.d.0 + 1;
        let ew = (fw - 1) * self.d.1 + 1;
        ((h + self.pad[0] + self.pad[1] - eh) / self.s.0 + 1, (w + self.pad[2] + self.pad[3] - ew) / self.s.1 + 1)
    }
    fn attrs(&self) -> serde_json::Value {
        let p = self.pad;
        json!({"strides": [self.s.0, self.s.1], "dilations": [self.d.0, self.d.1],
               "pad": [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]})
    }
}

/// Every (x index, filter index, y index) product of an NHWC convolution, by direct loops.
fn products(xs: [usize; 4], ws: [usize; 4], g: Geo, depthwise: bool) -> (Vec<(usize, usize, usize)>, Vec<usize>) {
    let [n, h, w, ci] = xs;
    let [fh, fw, _, m] = ws;
    let (oh, ow) = g.out(h, w, fh, fw);
    let co = if depthwise { ci * m } else { m };
    let mut v = Vec::new();
    for b in 0..n {
        for y in 0..oh {
            for x in 0..ow {
                for kh in 0..fh {
                    for kw in 0..fw {
                        let ih = (y * g.s.0 + kh * g.d.0) as isize - g.pad[0] as isize;
                        let iw = (x * g.s.1 + kw * g.d.1) as isize - g.pad[2] as isize;
                        if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                            continue;
                        }
                        let xi = ((b * h + ih as usize) * w + iw as usize) * ci;
                        let yi = ((b * oh + y) * ow + x) * co;
                        let wi = (kh * fw + kw) * ci * m;
                        for c in 0..ci {
                            for o in 0..m {
                                let out_c = if depthwise { c * m + o } else { o };
                                v.push((xi + c, wi + c * m + o, yi + out_c));
                            }
                        }
                    }
                }
            }
        }
    }
    (v, vec![n, oh, ow, co])
}

/// Forward output, input gradient and filter gradient by direct loops.
fn reference(x: &Tensor, w: &Tensor, dy: &Tensor, g: Geo, depthwise: bool) -> [Vec<f32>; 3] {
    let s = |t: &Tensor| -> [usize; 4] { t.shape().try_into().unwrap() };
    let (p, _) = products(s(x), s(w), g, depthwise);
    let (xv, wv, dyv) = (x.to_f32_vec(), w.to_f32_vec(), dy.to_f32_vec());
    let (mut y, mut dx, mut dw) = (vec![0.0; dy.size()], vec![0.0; x.size()], vec![0.0; w.size()]);
    for (xi, wi, yi) in p {
        y[yi] += xv[xi] * wv[wi];
        dx[xi] += dyv[yi] * wv[wi];
        dw[wi] += xv[xi] * dyv[yi];
    }
    [y, dx, dw]
}

fn compare_with_reference(xs: [usize; 4], ws: [usize; 4], g: Geo, depthwise: bool) {
    let (_, ys) = products(xs, ws, g, depthwise);
    let x = rand(&xs, 1, -1.0, 1.0);
    let w = rand(&ws, 2, -1.0, 1.0);
    let dy = rand(&ys, 3, -1.0, 1.0);
    let [y, dx, dw] = reference(&x, &w, &dy, g, depthwise);
    let names = if depthwise {
        ["DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"]
    } else {
        ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"]
    };
    let a = g.attrs();
    let got = run(names[0], &[x.clone(), w.clone()], &attrs(a.clone()));
    assert_eq!(got.shape(), &ys);
    assert_close(&got.to_f32_vec(), &y, 1e-4);
    let mut ai = a.clone();
    ai["inputShape"] = json!(xs);
    assert_close(&run(names[1], &[dy.clone(), w.clone()], &attrs(ai)).to_f32_vec(), &dx, 1e-4);
    let mut af = a;
    af["filterShape"] = json!(ws);
    assert_close(&run(names[2], &[x, dy], &attrs(af)).to_f32_vec(), &dw, 1e-4);
}

#[test]
fn conv2d_hand_computed() {
    let x = t(&[1, 3, 3, 1], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let w = t(&[2, 2, 1, 1], &[1.0, 2.0, 3.0, 4.0]);
    let valid = run("Conv2D", &[x.clone(), w.clone()], &attrs(json!({"strides": 1, "pad": "valid"})));
    assert_eq!(valid.shape(), &[1, 2, 2, 1]);
    assert_close(&valid.to_f32_vec(), &[37.0, 47.0, 67.0, 77.0], 0.0);
    // 'same' with an even filter pads only after (bottom, right).
    let same = run("Conv2D", &[x.clone(), w.clone()], &attrs(json!({"strides": 1, "pad": "same"})));
    assert_close(&same.to_f32_vec(), &[37.0, 47.0, 21.0, 67.0, 77.0, 33.0, 23.0, 26.0, 9.0], 0.0);
    let strided = run("Conv2D", &[x.clone(), w.clone()], &attrs(json!({"strides": 2, "pad": "same"})));
    assert_close(&strided.to_f32_vec(), &[37.0, 21.0, 23.0, 9.0], 0.0);
    // A numeric pad sizes both output dims with the filter height, as tfjs does.
    let tall = run("Conv2D", &[rand(&[1, 5, 5, 1], 1, 0.0, 1.0), t(&[3, 1, 1, 1], &[1.0; 3])], &attrs(json!({"strides": 1, "pad": 0})));
    assert_eq!(tall.shape(), &[1, 3, 3, 1]);
    // conv2dTranspose of ones: each output pixel spreads over its 2×2 input window.
    let dy = t(&[1, 2, 2, 1], &[1.0, 2.0, 3.0, 4.0]);
    let ones = t(&[2, 2, 1, 1], &[1.0; 4]);
    let dx = run("Conv2DBackpropInput", &[dy, ones], &attrs(json!({"strides": 1, "pad": "valid", "inputShape": [1, 3, 3, 1]})));
    assert_close(&dx.to_f32_vec(), &[1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 3.0, 7.0, 4.0], 0.0);
    // NCHW gives the same numbers laid out channels-first.
    let x2 = rand(&[1, 4, 4, 2], 5, -1.0, 1.0);
    let w2 = rand(&[3, 3, 2, 3], 6, -1.0, 1.0);
    let nhwc = run("Conv2D", &[x2.clone(), w2.clone()], &attrs(json!({"strides": 1, "pad": "same"})));
    let x2c = crate::ops::transpose(&x2, &[0, 3, 1, 2]).unwrap();
    let nchw = run("Conv2D", &[x2c, w2], &attrs(json!({"strides": 1, "pad": "same", "dataFormat": "NCHW"})));
    let back = crate::ops::transpose(&nchw, &[0, 2, 3, 1]).unwrap();
    assert_close(&back.to_f32_vec(), &nhwc.to_f32_vec(), 1e-6);
}

#[test]
fn conv2d_matches_direct_loops() {
    let cases = [
        ([2, 5, 6, 3], [3, 3, 3, 4], Geo { s: (1, 1), d: (1, 1), pad: [1, 1, 1, 1] }),
        ([1, 7, 7, 2], [3, 2, 2, 3], Geo { s: (2, 3), d: (1, 1), pad: [0, 2, 1, 0] }),
        ([2, 8, 8, 2], [3, 3, 2, 2], Geo { s: (1, 1), d: (2, 2), pad: [2, 2, 2, 2] }),
        ([3, 4, 4, 5], [1, 1, 5, 6], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 0, 0] }),
        // Large enough to run in parallel chunks.
        ([9, 13, 12, 8], [3, 3, 8, 16], Geo { s: (1, 1), d: (1, 1), pad: [1, 1, 1, 1] }),
        ([6, 16, 16, 8], [1, 1, 8, 24], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 0, 0] }),
    ];
    for (xs, ws, g) in cases {
        compare_with_reference(xs, ws, g, false);
    }
}

/// Shapes that reach each form of the register-tiled kernels (`conv_direct`): channel counts
/// that fill whole vectors of taps (the input-gradient scatter and the filter gradient by tap
/// vectors) or not, a last partial vector of taps or of output channels, more than 64 output
/// channels, lines shorter and longer than a tile, strides, dilations, padding on every side
/// and cropping.
const DIRECT_CASES: [([usize; 4], [usize; 4], Geo); 12] = [
    ([2, 7, 9, 16], [3, 3, 16, 32], Geo { s: (1, 1), d: (1, 1), pad: [1, 1, 1, 1] }),
    ([2, 9, 8, 32], [3, 2, 32, 20], Geo { s: (2, 1), d: (1, 1), pad: [0, 1, 1, 0] }),
    ([2, 6, 7, 8], [1, 3, 8, 5], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 2, 1] }),
    ([1, 10, 11, 8], [2, 2, 8, 70], Geo { s: (1, 2), d: (2, 1), pad: [1, 0, 2, 1] }),
    ([1, 9, 19, 16], [2, 3, 16, 17], Geo { s: (1, 1), d: (1, 2), pad: [0, 2, 0, 3] }),
    ([3, 12, 13, 1], [3, 3, 1, 16], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 0, 0] }),
    ([2, 8, 30, 3], [2, 3, 3, 33], Geo { s: (2, 3), d: (1, 1), pad: [1, 1, 0, 2] }),
    ([2, 5, 5, 48], [1, 1, 48, 16], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 0, 0] }),
    ([2, 4, 5, 16], [1, 1, 16, 24], Geo { s: (1, 1), d: (1, 1), pad: [0, 1, 1, 0] }),
    ([2, 6, 14, 16], [3, 3, 16, 40], Geo { s: (1, 1), d: (1, 1), pad: [1, 1, 1, 1] }),
    ([2, 6, 7, 32], [2, 2, 32, 64], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 0, 0] }),
    // Large enough to split over threads.
    ([16, 13, 13, 16], [3, 3, 16, 32], Geo { s: (1, 1), d: (1, 1), pad: [0, 0, 0, 0] }),
];

#[test]
fn conv2d_register_tiles_match_direct_loops() {
    for (xs, ws, g) in DIRECT_CASES {
        compare_with_reference(xs, ws, g, false);
    }
}

/// The im2col path, which CPUs without AVX-512 take, on the same shapes.
#[test]
fn conv2d_im2col_matches_direct_loops() {
    super::conv_direct::without_avx512(|| {
        for (xs, ws, g) in DIRECT_CASES {
            compare_with_reference(xs, ws, g, false);
        }
    });
}

/// The fused bias and ReLU of the register tiles against `Conv2D` followed by both.
#[test]
fn fused_conv2d_bias_relu_in_tiles() {
    for (xs, ws, g) in DIRECT_CASES {
        let (x, w) = (rand(&xs, 4, -1.0, 1.0), rand(&ws, 5, -1.0, 1.0));
        let b = rand(&[ws[3]], 6, -1.0, 1.0);
        let conv = run("Conv2D", &[x.clone(), w.clone()], &attrs(g.attrs()));
        let bv = b.to_f32_vec();
        let want: Vec<f32> = conv.to_f32_vec().iter().enumerate().map(|(i, v)| (v + bv[i % ws[3]]).max(0.0)).collect();
        let mut a = g.attrs();
        a["activation"] = json!("relu");
        let got = run("FusedConv2D", &[x.clone(), w.clone(), b.clone()], &attrs(a));
        assert_eq!(got.shape(), conv.shape());
        assert_close(&got.to_f32_vec(), &want, 1e-6);
        let linear = run("FusedConv2D", &[x, w], &attrs(g.attrs()));
        assert_close(&linear.to_f32_vec(), &conv.to_f32_vec(), 0.0);
    }
}

#[test]
fn depthwise_matches_direct_loops_and_hand_values() {
    let x = t(&[1, 2, 2, 2], &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]);
    let w = t(&[2, 2, 2, 1], &[1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5]);
    let y = run("DepthwiseConv2dNative", &[x, w], &attrs(json!({"strides": 1, "pad": "valid"})));
    assert_eq!(y.shape(), &[1, 1, 1, 2]);
    assert_close(&y.to_f32_vec(), &[10.0, 50.0], 0.0);
    let cases = [
        ([2, 5, 5, 3], [3, 3, 3, 1], Geo { s: (1, 1), d: (1, 1), pad: [1, 1, 1, 1] }),
        ([1, 6, 7, 2], [2, 3, 2, 3], Geo { s: (2, 2), d: (1, 1), pad: [0, 1, 1, 1] }),
        ([2, 7, 7, 2], [3, 3, 2, 2], Geo { s: (1, 1), d: (2, 2), pad: [2, 2, 2, 2] }),
        ([4, 20, 20, 16], [3, 3, 16, 1], Geo { s: (1, 1), d: (1, 1), pad: [1, 1, 1, 1] }),
    ];
    for (xs, ws, g) in cases {
        compare_with_reference(xs, ws, g, true);
    }
    let e = run1("DepthwiseConv2dNative", &[rand(&[1, 3, 3, 2], 1, 0.0, 1.0), rand(&[2, 2, 2, 1], 2, 0.0, 1.0)], &attrs(json!({"strides": 1, "pad": "valid", "dataFormat": "NCHW"})))
        .unwrap_err()
        .to_string();
    assert!(e.contains("DepthwiseConv2dNative") && e.contains("NCHW"), "{e}");
}

#[test]
fn conv_gradients() {
    let x = rand(&[2, 5, 5, 3], 1, -1.0, 1.0);
    let w = rand(&[3, 3, 3, 2], 2, -1.0, 1.0);
    for a in [
        json!({"strides": 1, "pad": "same"}),
        json!({"strides": 2, "pad": "valid"}),
        json!({"strides": [2, 1], "pad": 1, "dimRoundingMode": "ceil"}),
        json!({"strides": 1, "pad": "same", "dilations": 2}),
        json!({"strides": 1, "pad": [[0, 0], [1, 0], [0, 2], [0, 0]]}),
    ] {
        check_grads(&kernel_fn("Conv2D", attrs(a.clone())), &[x.clone(), w.clone()]);
    }
    let xc = rand(&[1, 3, 4, 4], 3, -1.0, 1.0);
    check_grads(&kernel_fn("Conv2D", attrs(json!({"strides": 1, "pad": "same", "dataFormat": "NCHW"}))), &[xc, w.clone()]);
    // The gradient kernels are differentiable too (second order).
    let dy = rand(&[2, 3, 3, 2], 4, -1.0, 1.0);
    let a = json!({"strides": 2, "pad": "same", "inputShape": [2, 5, 5, 3]});
    check_grads(&kernel_fn("Conv2DBackpropInput", attrs(a)), &[dy.clone(), w.clone()]);
    let a = json!({"strides": 2, "pad": "same", "filterShape": [3, 3, 3, 2]});
    check_grads(&kernel_fn("Conv2DBackpropFilter", attrs(a)), &[x.clone(), dy]);
    let wd = rand(&[3, 3, 3, 2], 5, -1.0, 1.0);
    for a in [json!({"strides": 1, "pad": "same"}), json!({"strides": 2, "pad": "valid"}), json!({"strides": 1, "pad": "same", "dilations": 2})] {
        check_grads(&kernel_fn("DepthwiseConv2dNative", attrs(a)), &[x.clone(), wd.clone()]);
    }
    let dyd = rand(&[2, 5, 5, 6], 6, -1.0, 1.0);
    let a = json!({"strides": 1, "pad": "same", "inputShape": [2, 5, 5, 3]});
    check_grads(&kernel_fn("DepthwiseConv2dNativeBackpropInput", attrs(a)), &[dyd.clone(), wd.clone()]);
    let a = json!({"strides": 1, "pad": "same", "filterShape": [3, 3, 3, 2]});
    check_grads(&kernel_fn("DepthwiseConv2dNativeBackpropFilter", attrs(a)), &[x, dyd]);
}

#[test]
fn fused_convolutions() {
    let x = rand(&[2, 4, 4, 3], 1, -1.0, 1.0);
    let w = rand(&[3, 3, 3, 2], 2, -1.0, 1.0);
    let b = t(&[2], &[0.3, -0.2]);
    let base = json!({"strides": 1, "pad": "same"});
    let conv = run("Conv2D", &[x.clone(), w.clone()], &attrs(base.clone()));
    let want: Vec<f32> = conv.to_f32_vec().iter().enumerate().map(|(i, v)| (v + b.to_f32_vec()[i % 2]).max(0.0)).collect();
    let mut a = base.clone();
    a["activation"] = json!("relu");
    let got = run("FusedConv2D", &[x.clone(), w.clone(), b.clone()], &attrs(a));
    assert_close(&got.to_f32_vec(), &want, 1e-6);
    for act in ["linear", "relu", "elu", "sigmoid", "leakyrelu", "relu6"] {
        let mut a = base.clone();
        a["activation"] = json!(act);
        a["leakyreluAlpha"] = json!(0.1);
        check_grads(&kernel_fn("FusedConv2D", attrs(a.clone())), &[x.clone(), w.clone(), b.clone()]);
        let wd = rand(&[3, 3, 3, 1], 3, -1.0, 1.0);
        check_grads(&kernel_fn("FusedDepthwiseConv2D", attrs(a)), &[x.clone(), wd, t(&[3], &[0.1, 0.2, -0.3])]);
    }
    // NCHW: a 1-D bias and PReLU weights run along the channels.
    let xc = crate::ops::transpose(&x, &[0, 3, 1, 2]).unwrap();
    let alpha = t(&[2], &[0.1, 0.5]);
    let a = json!({"strides": 1, "pad": "same", "dataFormat": "NCHW", "activation": "prelu"});
    let got = run("FusedConv2D", &[xc.clone(), w.clone(), b.clone(), alpha.clone()], &attrs(a));
    let nhwc = run("FusedConv2D", &[x, w.clone(), b.clone(), alpha], &attrs(json!({"strides": 1, "pad": "same", "activation": "prelu"})));
    let back = crate::ops::transpose(&got, &[0, 2, 3, 1]).unwrap();
    assert_close(&back.to_f32_vec(), &nhwc.to_f32_vec(), 1e-6);
    let a = json!({"strides": 1, "pad": "same", "dataFormat": "NCHW", "activation": "relu"});
    check_grads(&kernel_fn("FusedConv2D", attrs(a)), &[xc, w, b]);
}

#[test]
fn pooling_values_and_gradients() {
    let x = t(&[1, 4, 4, 1], &(0..16).map(|v| v as f32).collect::<Vec<_>>());
    let a = attrs(json!({"filterSize": 2, "strides": 2, "pad": "valid"}));
    assert_close(&run("MaxPool", from_ref(&x), &a).to_f32_vec(), &[5.0, 7.0, 13.0, 15.0], 0.0);
    assert_close(&run("AvgPool", from_ref(&x), &a).to_f32_vec(), &[2.5, 4.5, 10.5, 12.5], 0.0);
    // Padded positions do not count in an average, nor win a max.
    let x = t(&[1, 2, 2, 1], &[-1.0, -2.0, -3.0, -4.0]);
    let a = attrs(json!({"filterSize": 3, "strides": 1, "pad": "same"}));
    assert_close(&run("AvgPool", from_ref(&x), &a).to_f32_vec(), &[-2.5; 4], 1e-6);
    assert_close(&run("MaxPool", &[x], &a).to_f32_vec(), &[-1.0; 4], 0.0);
    let xi = Tensor::from_i32(vec![1, 2, 2, 1], vec![3, 9, 4, 1]).unwrap();
    let m = run("MaxPool", &[xi], &attrs(json!({"filterSize": 2, "strides": 1, "pad": "valid"})));
    assert_eq!(m.to_i32_vec(), vec![9]);

    let x = rand(&[2, 5, 5, 3], 7, -1.0, 1.0);
    for a in [
        json!({"filterSize": 2, "strides": 2, "pad": "valid"}),
        json!({"filterSize": 3, "strides": 1, "pad": "same"}),
        json!({"filterSize": [3, 2], "strides": [2, 1], "pad": "same"}),
        json!({"filterSize": 3, "strides": 2, "pad": 1, "dimRoundingMode": "ceil"}),
    ] {
        check_grads(&kernel_fn("MaxPool", attrs(a.clone())), from_ref(&x));
        check_grads(&kernel_fn("AvgPool", attrs(a)), from_ref(&x));
    }
    let dy = rand(&[2, 5, 5, 3], 8, -1.0, 1.0);
    let a = attrs(json!({"filterSize": 3, "strides": 1, "pad": "same"}));
    check_grads(&move |v: &[Tensor]| run("AvgPoolGrad", &[v[0].clone(), x.clone()], &a), &[dy]);
}

/// The gradients of a relu or linear `FusedConv2D` with respect to its filter and bias only
/// (its input is not a source, as for a model's first layer) come from one
/// `_FusedConv2DBackpropFilter` pass over dy; they match the filter gradient and sum of dy
/// through the activation by the separate kernels, with and without a bias, NHWC and NCHW.
#[test]
fn fused_conv2d_filter_and_bias_gradients_in_one_pass() {
    fused_one_pass_cases();
    super::conv_direct::without_avx512(fused_one_pass_cases);
}

fn fused_one_pass_cases() {
    use crate::engine::{run_kernel, with_tape};
    use crate::tape;
    let mut cases: Vec<([usize; 4], [usize; 4], serde_json::Value)> = DIRECT_CASES.iter().map(|&(xs, ws, g)| (xs, ws, g.attrs())).collect();
    cases.push(([2, 3, 6, 5], [3, 3, 3, 4], json!({"strides": 1, "pad": "same", "dataFormat": "NCHW"})));
    for (xs, ws, a) in cases {
        for (act, with_bias) in [("relu", true), ("relu", false), ("linear", true)] {
            let nchw = a["dataFormat"] == "NCHW";
            let (x, w, b) = (rand(&xs, 21, -1.0, 1.0), rand(&ws, 22, -1.0, 1.0), rand(&[ws[3]], 23, -0.5, 0.5));
            let mut fa = a.clone();
            fa["activation"] = json!(act);
            let fa = attrs(fa);
            let (w, b) = (w.with_new_id(), b.with_new_id());
            let inputs = if with_bias { vec![x.clone(), w.clone(), b.clone()] } else { vec![x.clone(), w.clone()] };
            let tp = tape::new_tape();
            let (y, seed) = with_tape(&tp, || {
                let y = run("FusedConv2D", &inputs, &fa);
                (y.clone(), rand(y.shape(), 24, -1.0, 1.0))
            });
            let got = tape::gradients(&tp, &y, &[w.id(), b.id()], Some(seed.clone())).unwrap();
            let dyr = if act == "relu" { run("ReluGrad", &[seed.clone(), y.clone()], &Attrs::new()) } else { seed };
            let mut af = a.clone();
            af["filterShape"] = json!(ws);
            let want_w = run("Conv2DBackpropFilter", &[x.clone(), dyr.clone()], &attrs(af.clone()));
            assert_close(&got[0].as_ref().unwrap().to_f32_vec(), &want_w.to_f32_vec(), 1e-4);
            if with_bias {
                let axes = if nchw { vec![0, 2, 3] } else { vec![0, 1, 2] };
                let want_b = run("Sum", from_ref(&dyr), &attrs(json!({"axis": axes, "keepDims": false})));
                assert_close(&got[1].as_ref().unwrap().to_f32_vec(), &want_b.to_f32_vec(), 1e-4);
            } else {
                assert!(got[1].is_none());
            }
            // The kernel itself, given dy through the activation already (what the rule passes
            // when the input gradient is wanted too).
            af["activation"] = json!("linear");
            af["withBias"] = json!(true);
            let out = run_kernel("_FusedConv2DBackpropFilter", &[x.clone(), dyr.clone(), y.clone()], &attrs(af)).unwrap();
            assert_close(&out[0].to_f32_vec(), &want_w.to_f32_vec(), 1e-4);
        }
    }
}

/// `_FusedConv2DBackpropFilter` is differentiable (second order through a fused convolution).
#[test]
fn fused_filter_gradient_kernel_gradients() {
    use crate::engine::run_kernel;
    let x = rand(&[2, 5, 4, 3], 31, -1.0, 1.0);
    let dy = rand(&[2, 5, 4, 2], 32, -1.0, 1.0);
    // y away from 0, where the ReLU's derivative does not change under a small step.
    let y = Tensor::f32(dy.shape().to_vec(), rand(dy.shape(), 33, -1.0, 1.0).to_f32_vec().iter().map(|v| v + 0.2 * v.signum()).collect());
    for act in ["relu", "linear"] {
        let a = attrs(json!({"strides": 1, "pad": "same", "filterShape": [3, 3, 3, 2], "activation": act, "withBias": true}));
        for out in 0..2 {
            let a = a.clone();
            check_grads(&move |v: &[Tensor]| run_kernel("_FusedConv2DBackpropFilter", v, &a).unwrap()[out].clone(), &[x.clone(), dy.clone(), y.clone()]);
        }
    }
    let e = run_kernel("_FusedConv2DBackpropFilter", &[x.clone(), dy.clone(), y.clone()], &attrs(json!({"strides": 1, "pad": "same", "filterShape": [3, 3, 3, 2], "activation": "elu"})))
        .unwrap_err()
        .to_string();
    assert!(e.contains("_FusedConv2DBackpropFilter") && e.contains("elu"), "{e}");
}

/// Max pool and its gradient by direct loops over explicit windows: the first maximum of a
/// window (strictly greater than all before it, starting from −∞) takes the window's dy.
fn max_pool_reference(x: &[f32], [n, h, w, c]: [usize; 4], (fh, fw): (usize, usize), (sh, sw): (usize, usize), (pt, pl): (usize, usize), (oh, ow): (usize, usize), dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut y, mut dx) = (vec![0.0; n * oh * ow * c], vec![0.0; x.len()]);
    for b in 0..n {
        for (i, j, ch) in (0..oh).flat_map(|i| (0..ow).flat_map(move |j| (0..c).map(move |ch| (i, j, ch)))) {
            let (mut best, mut at) = (f32::NEG_INFINITY, None);
            for kh in 0..fh {
                for kw in 0..fw {
                    let (ih, iw) = ((i * sh + kh) as isize - pt as isize, (j * sw + kw) as isize - pl as isize);
                    if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                        continue;
                    }
                    let xi = ((b * h + ih as usize) * w + iw as usize) * c + ch;
                    if x[xi] > best {
                        (best, at) = (x[xi], Some(xi));
                    }
                }
            }
            let yi = ((b * oh + i) * ow + j) * c + ch;
            y[yi] = best;
            if let Some(xi) = at {
                dx[xi] += dy[yi];
            }
        }
    }
    (y, dx)
}

#[test]
fn max_pool_matches_direct_loops() {
    max_pool_cases();
    super::conv_direct::without_avx512(max_pool_cases);
}

fn max_pool_cases() {
    // (input, filter, strides, 'same'): channel counts below, at and above a vector of 16,
    // disjoint and overlapping windows, gaps between windows, padding (windows that hang over
    // the edge).
    let cases = [
        ([3, 26, 26, 16], (2, 2), (2, 2), false),
        ([2, 11, 11, 32], (2, 2), (2, 2), false),
        ([2, 7, 9, 21], (2, 3), (2, 3), true),
        ([1, 9, 8, 5], (3, 3), (2, 2), true),
        ([2, 8, 7, 17], (2, 2), (3, 3), false),
        ([1, 6, 6, 3], (3, 2), (1, 1), true),
        ([1, 5, 6, 2], (2, 2), (1, 1), false),
    ];
    for (xs, f, s, same) in cases {
        let a = json!({"filterSize": [f.0, f.1], "strides": [s.0, s.1], "pad": if same { "same" } else { "valid" }});
        // tfjs's 'same' padding: the total split with the smaller half before.
        let before = |len: usize, f: usize, s: usize| if same { ((len.div_ceil(s) - 1) * s + f).saturating_sub(len) / 2 } else { 0 };
        let p = (before(xs[1], f.0, s.0), before(xs[2], f.1, s.1));
        let mut x = rand(&xs, 11, -1.0, 1.0).to_f32_vec();
        // Ties (the first wins), −∞ and NaN (neither ever wins).
        for (i, v) in x.iter_mut().enumerate() {
            match i % 37 {
                3 => *v = 0.5,
                4 => *v = 0.5,
                9 => *v = f32::NEG_INFINITY,
                20 => *v = f32::NAN,
                _ => {}
            }
        }
        let xt = t(&xs, &x);
        let y = run("MaxPool", from_ref(&xt), &attrs(a.clone()));
        let (oh, ow) = (y.shape()[1], y.shape()[2]);
        let dy = rand(y.shape(), 12, -1.0, 1.0);
        let (want_y, want_dx) = max_pool_reference(&x, xs, f, s, p, (oh, ow), &dy.to_f32_vec());
        assert_close(&y.to_f32_vec(), &want_y, 0.0);
        let dx = run("MaxPoolGrad", &[dy, xt, y], &attrs(a));
        assert_close(&dx.to_f32_vec(), &want_dx, 1e-6);
    }
    // A window of −∞ only: the output is −∞ and no gradient flows.
    let x = t(&[1, 2, 2, 1], &[f32::NEG_INFINITY; 4]);
    let a = attrs(json!({"filterSize": 2, "strides": 2, "pad": "valid"}));
    let y = run("MaxPool", from_ref(&x), &a);
    assert_eq!(y.to_f32_vec(), vec![f32::NEG_INFINITY]);
    assert_eq!(run("MaxPoolGrad", &[t(&[1, 1, 1, 1], &[1.0]), x, y], &a).to_f32_vec(), vec![0.0; 4]);
}

#[test]
fn batch_norm_values_and_gradients() {
    let x = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let (mean, var) = (t(&[2], &[2.0, 3.0]), t(&[2], &[1.0, 4.0]));
    let (off, scale) = (t(&[2], &[0.5, 0.0]), t(&[2], &[2.0, 1.0]));
    let a = attrs(json!({"varianceEpsilon": 0.0}));
    let y = run("FusedBatchNorm", &[x.clone(), mean.clone(), var.clone(), off.clone(), scale.clone()], &a);
    assert_close(&y.to_f32_vec(), &[-1.5, -0.5, 2.5, 0.5], 1e-6);
    let y = run("FusedBatchNorm", &[x, mean, var], &a);
    assert_close(&y.to_f32_vec(), &[-1.0, -0.5, 1.0, 0.5], 1e-6);

    let x = rand(&[2, 3, 3, 4], 1, -1.0, 1.0);
    let p = |seed, lo, hi| rand(&[4], seed, lo, hi);
    let a = attrs(json!({"varianceEpsilon": 0.01}));
    check_grads(&kernel_fn("FusedBatchNorm", a.clone()), &[x.clone(), p(2, -0.5, 0.5), p(3, 0.5, 1.5), p(4, -0.5, 0.5), p(5, 0.5, 1.5)]);
    check_grads(&kernel_fn("FusedBatchNorm", a.clone()), &[x.clone(), p(2, -0.5, 0.5), p(3, 0.5, 1.5)]);
    // Parameters of differing broadcast shapes.
    let m = rand(&[3, 1, 4], 6, -0.5, 0.5);
    let v = rand(&[1, 3, 4], 7, 0.5, 1.5);
    let y = run("FusedBatchNorm", &[x.clone(), m.clone(), v.clone()], &a);
    let want = crate::ops::div(&crate::ops::sub(&x, &m).unwrap(), &crate::ops::sqrt(&crate::ops::add(&v, &Tensor::scalar(0.01)).unwrap()).unwrap()).unwrap();
    assert_close(&y.to_f32_vec(), &want.to_f32_vec(), 1e-5);
    check_grads(&kernel_fn("FusedBatchNorm", a), &[x, m, v]);
}

#[test]
fn lrn_values_and_gradients() {
    let x = t(&[1, 1, 1, 3], &[1.0, 2.0, 3.0]);
    let a = attrs(json!({"depthRadius": 1, "bias": 1.0, "alpha": 1.0, "beta": 0.5}));
    let want = [1.0 / 6f32.sqrt(), 2.0 / 15f32.sqrt(), 3.0 / 14f32.sqrt()];
    assert_close(&run("LRN", &[x], &a).to_f32_vec(), &want, 1e-6);
    let x = rand(&[2, 2, 3, 7], 4, -1.0, 1.0);
    for a in [json!({"depthRadius": 2, "bias": 1.0, "alpha": 0.5, "beta": 0.75}), json!({}), json!({"depthRadius": 0, "bias": 2.0, "alpha": 1.0, "beta": 1.0})] {
        check_grads(&kernel_fn("LRN", attrs(a)), from_ref(&x));
    }
}

#[test]
fn resize_values_and_gradients() {
    let x = t(&[1, 2, 2, 1], &[1.0, 2.0, 3.0, 4.0]);
    let y = run("ResizeBilinear", from_ref(&x), &attrs(json!({"size": [3, 3], "alignCorners": true})));
    assert_close(&y.to_f32_vec(), &[1.0, 1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 3.5, 4.0], 1e-6);
    let row = |a: serde_json::Value| run("ResizeBilinear", &[t(&[1, 1, 2, 1], &[1.0, 2.0])], &attrs(a)).to_f32_vec();
    assert_close(&row(json!({"size": [1, 4]})), &[1.0, 1.5, 2.0, 2.0], 1e-6);
    assert_close(&row(json!({"size": [1, 4], "halfPixelCenters": true})), &[1.0, 1.25, 1.75, 2.0], 1e-6);
    let y = run("ResizeNearestNeighbor", from_ref(&x), &attrs(json!({"size": [4, 4]})));
    assert_close(&y.to_f32_vec(), &[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0], 0.0);
    let y = run("ResizeNearestNeighbor", &[x], &attrs(json!({"size": [3, 3], "alignCorners": true})));
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 2.0, 3.0, 4.0, 4.0, 3.0, 4.0, 4.0], 0.0);

    let x = rand(&[2, 3, 4, 2], 5, -1.0, 1.0);
    for k in ["ResizeBilinear", "ResizeNearestNeighbor"] {
        for a in [
            json!({"size": [5, 7]}),
            json!({"size": [2, 3], "alignCorners": true}),
            json!({"size": [6, 3], "halfPixelCenters": true}),
        ] {
            check_grads(&kernel_fn(k, attrs(a)), from_ref(&x));
        }
    }
    let dy = rand(&[2, 5, 7, 2], 6, -1.0, 1.0);
    let a = attrs(json!({"size": [5, 7], "halfPixelCenters": true}));
    let xx = x.clone();
    check_grads(&move |v: &[Tensor]| run("ResizeBilinearGrad", &[xx.clone(), v[0].clone()], &a), from_ref(&dy));
    let a = attrs(json!({"size": [5, 7]}));
    check_grads(&move |v: &[Tensor]| run("ResizeNearestNeighborGrad", &[x.clone(), v[0].clone()], &a), &[dy]);
}

#[test]
fn bad_arguments_are_errors_naming_the_kernel() {
    let x = rand(&[1, 4, 4, 3], 1, 0.0, 1.0);
    let err = |k: &str, i: &[Tensor], a: serde_json::Value| run1(k, i, &attrs(a)).unwrap_err().to_string();
    let e = err("Conv2D", &[x.clone(), rand(&[3, 3, 2, 4], 2, 0.0, 1.0)], json!({"strides": 1, "pad": "same"}));
    assert!(e.starts_with("Conv2D") && e.contains("[3,3,2,4]") && e.contains("3 channels"), "{e}");
    let e = err("Conv2D", &[x.clone(), rand(&[3, 3, 3, 4], 2, 0.0, 1.0)], json!({"strides": 1, "pad": "full"}));
    assert!(e.starts_with("Conv2D") && e.contains("pad"), "{e}");
    let e = err("Conv2D", &[x.clone(), rand(&[6, 6, 3, 1], 2, 0.0, 1.0)], json!({"strides": 1, "pad": "valid"}));
    assert!(e.starts_with("Conv2D") && e.contains("[6,6,3,1]"), "{e}");
    let e = err("Conv2DBackpropInput", &[rand(&[1, 3, 3, 4], 2, 0.0, 1.0), rand(&[3, 3, 3, 4], 2, 0.0, 1.0)], json!({"strides": 1, "pad": "same", "inputShape": [1, 4, 4, 3]}));
    assert!(e.starts_with("Conv2DBackpropInput") && e.contains("[1,4,4,4]") && e.contains("[1,3,3,4]"), "{e}");
    let e = err("MaxPool", from_ref(&x), json!({"strides": 1, "pad": "same"}));
    assert!(e.starts_with("MaxPool") && e.contains("filterSize"), "{e}");
    let e = err("AvgPool", &[rand(&[4, 4, 3], 1, 0.0, 1.0)], json!({"filterSize": 2, "strides": 1, "pad": "same"}));
    assert!(e.starts_with("AvgPool") && e.contains("rank 4"), "{e}");
    let e = err("FusedBatchNorm", &[x.clone(), rand(&[2], 1, 0.0, 1.0), rand(&[2], 1, 0.0, 1.0)], json!({}));
    assert!(e.starts_with("FusedBatchNorm") && e.contains("[2]"), "{e}");
    let e = err("ResizeBilinear", from_ref(&x), json!({"size": [2, 2], "alignCorners": true, "halfPixelCenters": true}));
    assert!(e.starts_with("ResizeBilinear") && e.contains("alignCorners"), "{e}");
    let e = err("Softmax", &[x], json!({"dim": 4}));
    assert!(e.starts_with("Softmax") && e.contains("axis"), "{e}");
}

/// Times conv2d forward + backward on an MNIST-like batch (`cargo test --release -- --ignored`).
#[test]
#[ignore]
fn conv2d_timing() {
    let x = rand(&[64, 28, 28, 16], 1, -1.0, 1.0);
    let w = rand(&[3, 3, 16, 32], 2, -1.0, 1.0);
    let dy = rand(&[64, 28, 28, 32], 3, -1.0, 1.0);
    let a = attrs(json!({"strides": 1, "pad": "same"}));
    let ai = attrs(json!({"strides": 1, "pad": "same", "inputShape": [64, 28, 28, 16]}));
    let af = attrs(json!({"strides": 1, "pad": "same", "filterShape": [3, 3, 16, 32]}));
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        let y = run("Conv2D", &[x.clone(), w.clone()], &a);
        let t1 = std::time::Instant::now();
        let dx = run("Conv2DBackpropInput", &[dy.clone(), w.clone()], &ai);
        let t2 = std::time::Instant::now();
        let dw = run("Conv2DBackpropFilter", &[x.clone(), dy.clone()], &af);
        let t3 = std::time::Instant::now();
        assert_eq!((y.size(), dx.size(), dw.size()), (dy.size(), x.size(), w.size()));
        eprintln!("conv2d forward {:?}, input grad {:?}, filter grad {:?}, total {:?}", t1 - t0, t2 - t1, t3 - t2, t3 - t0);
    }
}
