//! Forward values and numeric gradient checks of the element-wise, reduction, matmul and
//! shape kernels.

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::ops;
use crate::tensor::Tensor;
use crate::testutil::*;

fn un(k: &'static str) -> impl Fn(&[Tensor]) -> Tensor {
    move |x: &[Tensor]| ops::unary(k, &x[0]).unwrap()
}
fn bin(k: &'static str) -> impl Fn(&[Tensor]) -> Tensor {
    move |x: &[Tensor]| ops::binary(k, &x[0], &x[1]).unwrap()
}

#[test]
fn square_sum_gradient_is_2x() {
    // d/dx Σx² = 2x
    let x = t(&[3], &[1.0, 2.0, 3.0]);
    let g = analytic_grads(&|x: &[Tensor]| ops::sum(&ops::square(&x[0]).unwrap(), &[0], false).unwrap(), &[x]);
    // analytic_grads weights the output by w; a scalar output gets one weight, so divide it out.
    let w = rand(&[], 99, 0.5, 1.5).to_f32_vec()[0];
    assert_close(&g[0].iter().map(|v| v / w).collect::<Vec<_>>(), &[2.0, 4.0, 6.0], 1e-6);
}

#[test]
fn broadcasting_add_forward_and_gradient() {
    let a = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = t(&[3], &[10.0, 20.0, 30.0]);
    let y = ops::add(&a, &b).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    assert_close(&y.to_f32_vec(), &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0], 0.0);
    let c = t(&[2, 1], &[1.0, 2.0]);
    assert_close(&ops::mul(&c, &b).unwrap().to_f32_vec(), &[10.0, 20.0, 30.0, 20.0, 40.0, 60.0], 0.0);
    for k in ["Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "Pow", "Atan2"] {
        check_grads(&bin(k), &[rand(&[2, 3], 1, 0.5, 2.0), rand(&[3], 2, 0.5, 2.0)]);
        check_grads(&bin(k), &[rand(&[2, 1], 3, 0.5, 2.0), rand(&[1, 3], 4, 0.5, 2.0)]);
    }
}

#[test]
fn broadcast_errors_name_the_op_and_shapes() {
    let e = ops::add(&t(&[2], &[1.0, 2.0]), &t(&[3], &[1.0, 2.0, 3.0])).unwrap_err().to_string();
    assert!(e.contains("Add") && e.contains("[2]") && e.contains("[3]"), "{e}");
}

#[test]
fn unary_gradients_match_numeric() {
    let x = rand(&[5], 7, 0.1, 0.9);
    for k in [
        "Neg", "Abs", "Square", "Sqrt", "Rsqrt", "Reciprocal", "Exp", "Expm1", "Log", "Log1p", "Sin", "Cos", "Tan",
        "Asin", "Acos", "Atan", "Sinh", "Cosh", "Tanh", "Sigmoid", "Softplus", "Relu", "Relu6", "Elu", "Selu",
        "LeakyRelu", "Erf",
    ] {
        check_grads(&un(k), &[x.clone()]);
        if !["Sqrt", "Rsqrt", "Log"].contains(&k) {
            check_grads(&un(k), &[rand(&[4], 8, -0.9, -0.1)]);
        }
    }
    check_grads(&|x: &[Tensor]| ops::binary("Prelu", &x[0], &x[1]).unwrap(), &[t(&[4], &[-1.0, 2.0, -0.5, 0.3]), t(&[4], &[0.1, 0.2, 0.3, 0.4])]);
    check_grads(
        &|x: &[Tensor]| run1("ClipByValue", &[x[0].clone()], &Attrs::new().with("clipValueMin", -0.5).with("clipValueMax", 0.5)).unwrap(),
        &[t(&[4], &[-1.0, -0.2, 0.3, 0.8])],
    );
}

#[test]
fn unary_forward_values() {
    let x = t(&[4], &[-2.5, -0.5, 0.5, 2.5]);
    assert_close(&ops::unary("Round", &x).unwrap().to_f32_vec(), &[-2.0, -0.0, 0.0, 2.0], 0.0);
    assert_close(&ops::unary("Relu6", &t(&[3], &[-1.0, 3.0, 7.0])).unwrap().to_f32_vec(), &[0.0, 3.0, 6.0], 0.0);
    assert_close(&ops::unary("Erf", &t(&[3], &[0.0, 0.5, -1.0])).unwrap().to_f32_vec(), &[0.0, 0.520_499_9, -0.842_700_8], 1e-6);
}

#[test]
fn reductions_forward_and_gradient() {
    let x = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let attrs = |axis: Option<Vec<i64>>, keep: bool| {
        let a = Attrs::new().with("keepDims", keep);
        match axis { Some(ax) => a.with("axis", ax), None => a }
    };
    assert_close(&run1("Sum", &[x.clone()], &attrs(None, false)).unwrap().to_f32_vec(), &[21.0], 0.0);
    assert_close(&run1("Sum", &[x.clone()], &attrs(Some(vec![0]), false)).unwrap().to_f32_vec(), &[5.0, 7.0, 9.0], 0.0);
    let m = run1("Mean", &[x.clone()], &attrs(Some(vec![-1]), true)).unwrap();
    assert_eq!(m.shape(), &[2, 1]);
    assert_close(&m.to_f32_vec(), &[2.0, 5.0], 0.0);
    assert_close(&run1("Max", &[x.clone()], &attrs(Some(vec![1]), false)).unwrap().to_f32_vec(), &[3.0, 6.0], 0.0);
    assert_close(&run1("Prod", &[x.clone()], &attrs(Some(vec![0]), false)).unwrap().to_f32_vec(), &[4.0, 10.0, 18.0], 0.0);
    let x3 = rand(&[2, 3, 4], 5, 0.5, 1.5);
    for k in ["Sum", "Mean", "Max", "Min", "Prod"] {
        for axis in [None, Some(vec![0]), Some(vec![1]), Some(vec![0, 2]), Some(vec![-1])] {
            for keep in [false, true] {
                let a = attrs(axis.clone(), keep);
                check_grads(&move |x: &[Tensor]| run1(k, &[x[0].clone()], &a).unwrap(), &[x3.clone()]);
            }
        }
    }
}

#[test]
fn matmul_forward_transposes_batches_and_gradient() {
    let a = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    assert_close(&ops::mat_mul(&a, &a, false, false).unwrap().to_f32_vec(), &[7.0, 10.0, 15.0, 22.0], 0.0);
    assert_close(&ops::mat_mul(&a, &a, true, false).unwrap().to_f32_vec(), &[10.0, 14.0, 14.0, 20.0], 0.0);
    assert_close(&ops::mat_mul(&a, &a, false, true).unwrap().to_f32_vec(), &[5.0, 11.0, 11.0, 25.0], 0.0);
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let sa: &[usize] = if ta { &[2, 4, 3] } else { &[2, 3, 4] };
        let sb: &[usize] = if tb { &[5, 4] } else { &[4, 5] };
        check_grads(&move |x: &[Tensor]| ops::mat_mul(&x[0], &x[1], ta, tb).unwrap(), &[rand(sa, 1, -1.0, 1.0), rand(sb, 2, -1.0, 1.0)]);
    }
    let e = ops::mat_mul(&t(&[2, 3], &[0.0; 6]), &t(&[2, 3], &[0.0; 6]), false, false).unwrap_err().to_string();
    assert!(e.contains("BatchMatMul") && e.contains("[2,3]"), "{e}");
}

#[test]
fn large_matmul_matches_naive() {
    let (m, k, n) = (70, 65, 90);
    let a = rand(&[m, k], 11, -1.0, 1.0);
    let b = rand(&[k, n], 12, -1.0, 1.0);
    let (av, bv) = (a.to_f32_vec(), b.to_f32_vec());
    let mut want = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            want[i * n + j] = (0..k).map(|p| av[i * k + p] * bv[p * n + j]).sum();
        }
    }
    assert_close(&ops::mat_mul(&a, &b, false, false).unwrap().to_f32_vec(), &want, 1e-4);
}

#[test]
fn fused_matmul_bias_activation_and_gradient() {
    for act in ["linear", "relu", "elu", "sigmoid", "leakyrelu", "relu6"] {
        let attrs = Attrs::new().with("activation", act).with("leakyreluAlpha", 0.1);
        check_grads(
            &move |x: &[Tensor]| run1("_FusedMatMul", &[x[0].clone(), x[1].clone(), x[2].clone()], &attrs).unwrap(),
            &[rand(&[3, 4], 1, -1.0, 1.0), rand(&[4, 2], 2, -1.0, 1.0), rand(&[2], 3, -1.0, 1.0)],
        );
    }
}

#[test]
fn shape_kernels_and_gradients() {
    let x = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let tr = ops::transpose(&x, &[1, 0]).unwrap();
    assert_eq!(tr.shape(), &[3, 2]);
    assert_close(&tr.to_f32_vec(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0], 0.0);
    let r = run1("Reshape", &[x.clone()], &Attrs::new().with("shape", vec![-1i64, 2])).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    let tl = ops::tile(&t(&[2], &[1.0, 2.0]), &[3]).unwrap();
    assert_close(&tl.to_f32_vec(), &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0], 0.0);
    check_grads(&|x: &[Tensor]| ops::transpose(&x[0], &[2, 0, 1]).unwrap(), &[rand(&[2, 3, 4], 1, 0.0, 1.0)]);
    check_grads(&|x: &[Tensor]| ops::tile(&x[0], &[2, 3]).unwrap(), &[rand(&[2, 2], 1, 0.0, 1.0)]);
    check_grads(
        &|x: &[Tensor]| {
            let c = ops::greater(&x[0], &Tensor::scalar(0.5)).unwrap();
            ops::where_(&c, &x[0], &x[1]).unwrap()
        },
        &[t(&[6], &[0.1, 0.7, 0.3, 0.9, 0.45, 0.6]), rand(&[6], 2, 0.0, 1.0)],
    );
}

#[test]
fn second_order_gradient_through_tape() {
    // f(x) = x³ ; f'(x) = 3x² ; f''(x) = 6x
    use crate::{engine, tape};
    let x = t(&[1], &[2.0]);
    let outer = tape::new_tape();
    let (g1, xo) = engine::with_tape(&outer, || {
        let inner = tape::new_tape();
        let y = engine::with_tape(&inner, || ops::mul(&ops::square(&x).unwrap(), &x).unwrap());
        let g = tape::gradients(&inner, &y, &[x.id()], None).unwrap().remove(0).unwrap();
        (g, x.clone())
    });
    assert_close(&g1.to_f32_vec(), &[12.0], 1e-6);
    let g2 = tape::gradients(&outer, &g1, &[xo.id()], None).unwrap().remove(0).unwrap();
    assert_close(&g2.to_f32_vec(), &[12.0], 1e-6);
}

#[test]
fn fast_exp_matches_std_exp() {
    let mut worst = 0.0f64;
    let mut x = -87.0f32;
    while x < 88.0 {
        let want = (x as f64).exp();
        let got = crate::kernels::unary::exp_fast(x) as f64;
        worst = worst.max(((got - want) / want).abs());
        x += 0.0137;
    }
    assert!(worst < 5e-7, "worst relative error {worst}");
    assert!(crate::kernels::unary::exp_fast(f32::NAN).is_nan());
    assert_eq!(crate::kernels::unary::exp_fast(-1000.0), 0.0);
    assert_eq!(crate::kernels::unary::exp_fast(100.0), f32::INFINITY);
}
