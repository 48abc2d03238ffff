//! Forward values and numeric gradient checks of the data-movement kernels (concat, stack,
//! split, slices, gather, segment sums, padding, reverse, top-k, one-hot, ranges, broadcast,
//! tile) and of the arg/logical/scan reductions.

use crate::attrs::Attrs;
use crate::engine::run1;
use crate::ops;
use crate::tensor::{DType, Tensor};
use crate::testutil::*;
use serde_json::json;

fn ints(shape: &[usize], v: &[i32]) -> Tensor {
    Tensor::from_i32(shape.to_vec(), v.to_vec()).expect("int tensor")
}
fn attrs(v: serde_json::Value) -> Attrs {
    Attrs::from_value(v)
}
fn k1(kernel: &str, inputs: &[Tensor], a: serde_json::Value) -> Tensor {
    run1(kernel, inputs, &attrs(a)).unwrap_or_else(|e| panic!("{kernel}: {e}"))
}
fn kn(kernel: &str, inputs: &[Tensor], a: serde_json::Value) -> Vec<Tensor> {
    ops::run(kernel, inputs, &attrs(a)).unwrap_or_else(|e| panic!("{kernel}: {e}"))
}
fn err(kernel: &str, inputs: &[Tensor], a: serde_json::Value) -> String {
    match run1(kernel, inputs, &attrs(a)) {
        Ok(t) => panic!("{kernel}: expected an error, got shape {:?}", t.shape()),
        Err(e) => e.to_string(),
    }
}
fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    t(shape, &(0..n).map(|i| i as f32).collect::<Vec<_>>())
}

#[test]
fn concat_forward_dtypes_and_gradient() {
    let a = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let b = t(&[2, 1], &[5.0, 6.0]);
    let c = t(&[2, 3], &[7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
    let y = k1("Concat", &[a.clone(), b.clone(), c.clone()], json!({"axis": 1}));
    assert_eq!(y.shape(), &[2, 6]);
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 5.0, 7.0, 8.0, 9.0, 3.0, 4.0, 6.0, 10.0, 11.0, 12.0], 0.0);
    let y = k1("Concat", &[a.clone(), a.clone()], json!({"axis": -2}));
    assert_eq!(y.shape(), &[4, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0], 0.0);
    // Empty inputs are skipped; the first input's dtype wins.
    let y = k1("Concat", &[ints(&[0, 2], &[]), ints(&[1, 2], &[7, 8]), t(&[1, 2], &[1.5, -2.5])], json!({"axis": 0}));
    assert_eq!(y.dtype(), DType::Int32);
    assert_eq!(y.to_i32_vec(), vec![7, 8, 1, -2]);
    let e = err("Concat", &[a.clone(), t(&[3, 1], &[0.0; 3])], json!({"axis": 1}));
    assert!(e.contains("Concat") && e.contains("[2,2]") && e.contains("[3,1]"), "{e}");
    check_grads(
        &|x: &[Tensor]| ops::concat(&[ops::square(&x[0]).unwrap(), x[1].clone(), x[2].clone()], 1).unwrap(),
        &[rand(&[2, 2, 3], 1, -1.0, 1.0), rand(&[2, 1, 3], 2, -1.0, 1.0), rand(&[2, 4, 3], 3, -1.0, 1.0)],
    );
}

#[test]
fn pack_unpack_forward_and_gradient() {
    let a = t(&[2], &[1.0, 2.0]);
    let b = t(&[2], &[3.0, 4.0]);
    let y = k1("Pack", &[a.clone(), b.clone()], json!({"axis": 1}));
    assert_eq!(y.shape(), &[2, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 3.0, 2.0, 4.0], 0.0);
    let y = k1("Pack", &[a.clone(), b.clone()], json!({"axis": -1}));
    assert_eq!(y.shape(), &[2, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 3.0, 2.0, 4.0], 0.0);
    assert!(err("Pack", &[a.clone(), t(&[3], &[0.0; 3])], json!({"axis": 0})).contains("Pack"));
    let parts = kn("Unpack", &[iota(&[2, 3])], json!({"axis": 1}));
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[1].shape(), &[2]);
    assert_close(&parts[1].to_f32_vec(), &[1.0, 4.0], 0.0);
    let parts = kn("Unpack", &[ints(&[2, 2], &[1, 2, 3, 4])], json!({"axis": 0}));
    assert_eq!(parts[1].to_i32_vec(), vec![3, 4]);
    check_grads(&|x: &[Tensor]| ops::stack(&[x[0].clone(), ops::square(&x[1]).unwrap()], 1).unwrap(), &[rand(&[2, 3], 1, -1.0, 1.0), rand(&[2, 3], 2, -1.0, 1.0)]);
    check_grads(
        &|x: &[Tensor]| {
            let p = ops::unstack(&x[0], -1).unwrap();
            // Only some outputs are used: the others must get zero gradient.
            ops::add(&ops::square(&p[0]).unwrap(), &p[2]).unwrap()
        },
        &[rand(&[2, 3, 3], 1, -1.0, 1.0)],
    );
}

#[test]
fn split_v_forward_and_gradient() {
    let x = iota(&[2, 6]);
    let p = kn("SplitV", &[x.clone()], json!({"numOrSizeSplits": 3, "axis": 1}));
    assert_eq!(p.len(), 3);
    assert_eq!(p[2].shape(), &[2, 2]);
    assert_close(&p[2].to_f32_vec(), &[4.0, 5.0, 10.0, 11.0], 0.0);
    let p = kn("SplitV", &[x.clone()], json!({"numOrSizeSplits": [-1, 1, 2], "axis": -1}));
    assert_eq!(p.iter().map(|t| t.shape()[1]).collect::<Vec<_>>(), vec![3, 1, 2]);
    assert_close(&p[1].to_f32_vec(), &[3.0, 9.0], 0.0);
    let p = kn("SplitV", &[x.clone()], json!({"numOrSizeSplits": [1, 1], "axis": 0}));
    assert_close(&p[1].to_f32_vec(), &[6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 0.0);
    assert!(err("SplitV", &[x.clone()], json!({"numOrSizeSplits": 4, "axis": 1})).contains("SplitV"));
    assert!(err("SplitV", &[x.clone()], json!({"numOrSizeSplits": [2, 2], "axis": 1})).contains("SplitV"));
    check_grads(
        &|x: &[Tensor]| {
            let p = ops::split(&x[0], &[1, 3], 1).unwrap();
            ops::concat(&[ops::square(&p[1]).unwrap(), p[0].clone()], 1).unwrap()
        },
        &[rand(&[3, 4], 1, -1.0, 1.0)],
    );
}

#[test]
fn slice_forward_and_gradient() {
    let x = iota(&[3, 4]);
    let y = k1("Slice", &[x.clone()], json!({"begin": [1, 1], "size": [2, -1]}));
    assert_eq!(y.shape(), &[2, 3]);
    assert_close(&y.to_f32_vec(), &[5.0, 6.0, 7.0, 9.0, 10.0, 11.0], 0.0);
    // A number means the first axis; missing entries mean 0 / to the end.
    let y = k1("Slice", &[x.clone()], json!({"begin": 2, "size": 1}));
    assert_eq!(y.shape(), &[1, 4]);
    assert_close(&y.to_f32_vec(), &[8.0, 9.0, 10.0, 11.0], 0.0);
    let y = k1("Slice", &[iota(&[2, 3, 4])], json!({"begin": [0, 1, 2], "size": [2, 1, 2]}));
    assert_close(&y.to_f32_vec(), &[6.0, 7.0, 18.0, 19.0], 0.0);
    let e = err("Slice", &[x.clone()], json!({"begin": [2, 0], "size": [2, 4]}));
    assert!(e.contains("Slice") && e.contains("4"), "{e}");
    check_grads(&|x: &[Tensor]| ops::slice(&x[0], &[1, 0, 2], &[2, 2, 1]).unwrap(), &[rand(&[3, 2, 4], 1, -1.0, 1.0)]);
}

#[test]
fn strided_slice_masks() {
    let x = iota(&[3, 4]);
    let ss = |a: serde_json::Value| k1("StridedSlice", &[x.clone()], a);
    let y = ss(json!({"begin": [0, 1], "end": [3, 4], "strides": [2, 2]}));
    assert_eq!(y.shape(), &[2, 2]);
    assert_close(&y.to_f32_vec(), &[1.0, 3.0, 9.0, 11.0], 0.0);
    // Negative strides walk backwards; the end mask runs to the start.
    let y = ss(json!({"begin": [-1, -1], "end": [0, 0], "strides": [-1, -2], "endMask": 3}));
    assert_eq!(y.shape(), &[3, 2]);
    assert_close(&y.to_f32_vec(), &[11.0, 9.0, 7.0, 5.0, 3.0, 1.0], 0.0);
    // beginMask ignores begin; shrinkAxisMask drops axis 1 (x[1:, 2]).
    let y = ss(json!({"begin": [9, 2], "end": [3, 3], "strides": [1, 1], "beginMask": 1, "shrinkAxisMask": 2}));
    assert_eq!(y.shape(), &[3]);
    assert_close(&y.to_f32_vec(), &[2.0, 6.0, 10.0], 0.0);
    let y = ss(json!({"begin": [1, 0], "end": [2, 0], "strides": [1, 1], "shrinkAxisMask": 1, "endMask": 2}));
    assert_eq!(y.shape(), &[4]);
    assert_close(&y.to_f32_vec(), &[4.0, 5.0, 6.0, 7.0], 0.0);
    // x[np.newaxis, ..., -1]
    let y = ss(json!({"begin": [0, 0, -1], "end": [0, 0, 0], "strides": [1, 1, 1], "newAxisMask": 1, "ellipsisMask": 2, "shrinkAxisMask": 4}));
    assert_eq!(y.shape(), &[1, 3]);
    assert_close(&y.to_f32_vec(), &[3.0, 7.0, 11.0], 0.0);
    // Fewer entries than dimensions: the rest is taken whole; out-of-range ends clamp.
    let y = ss(json!({"begin": [1], "end": [100], "strides": [1]}));
    assert_eq!(y.shape(), &[2, 4]);
    // An empty interval.
    let y = ss(json!({"begin": [2, 0], "end": [1, 4], "strides": [1, 1]}));
    assert_eq!(y.shape(), &[0, 4]);
    let y = k1("StridedSlice", &[ints(&[5], &[1, 2, 3, 4, 5])], json!({"begin": [4], "end": [0], "strides": [-3]}));
    assert_eq!(y.to_i32_vec(), vec![5, 2]);
    assert!(err("StridedSlice", &[x.clone()], json!({"begin": [0], "end": [1], "strides": [0]})).contains("non-zero"));
    assert!(err("StridedSlice", &[x.clone()], json!({"begin": [5], "end": [6], "strides": [1], "shrinkAxisMask": 1})).contains("out of bounds"));
}

#[test]
fn gather_forward_batch_dims_and_gradient() {
    let x = iota(&[3, 2]);
    let y = ops::gather(&x, &ints(&[4], &[2, 0, 2, 1]), 0, 0).unwrap();
    assert_eq!(y.shape(), &[4, 2]);
    assert_close(&y.to_f32_vec(), &[4.0, 5.0, 0.0, 1.0, 4.0, 5.0, 2.0, 3.0], 0.0);
    let y = ops::gather(&iota(&[2, 3]), &ints(&[2, 2], &[2, 0, 1, 1]), -1, 0).unwrap();
    assert_eq!(y.shape(), &[2, 2, 2]);
    assert_close(&y.to_f32_vec(), &[2.0, 0.0, 1.0, 1.0, 5.0, 3.0, 4.0, 4.0], 0.0);
    // batchDims 1: row b of x is gathered with row b of indices.
    let y = ops::gather(&iota(&[2, 3]), &ints(&[2, 2], &[2, 0, 1, 1]), 1, 1).unwrap();
    assert_eq!(y.shape(), &[2, 2]);
    assert_close(&y.to_f32_vec(), &[2.0, 0.0, 4.0, 4.0], 0.0);
    let y = ops::gather(&ints(&[3], &[7, 8, 9]), &ints(&[2], &[2, 2]), 0, 0).unwrap();
    assert_eq!(y.to_i32_vec(), vec![9, 9]);
    let e = ops::gather(&x, &ints(&[1], &[3]), 0, 0).unwrap_err().to_string();
    assert!(e.contains("GatherV2") && e.contains("3") && e.contains("[0, 2]"), "{e}");
    let e = ops::gather(&x, &t(&[1], &[0.0]), 0, 0).unwrap_err().to_string();
    assert!(e.contains("GatherV2") && e.contains("int32") && e.contains("float32"), "{e}");

    let idx = ints(&[2, 3], &[1, 0, 1, 3, 3, 2]);
    check_grads(&|x: &[Tensor]| ops::gather(&x[0], &idx, 0, 0).unwrap(), &[rand(&[4, 2], 1, -1.0, 1.0)]);
    check_grads(&|x: &[Tensor]| ops::gather(&x[0], &idx, 1, 0).unwrap(), &[rand(&[2, 4, 3], 2, -1.0, 1.0)]);
    check_grads(&|x: &[Tensor]| ops::gather(&x[0], &idx, 2, 1).unwrap(), &[rand(&[2, 2, 4, 2], 3, -1.0, 1.0)]);
    check_grads(&|x: &[Tensor]| ops::gather(&x[0], &idx, -1, 2).unwrap(), &[rand(&[2, 3, 4], 4, -1.0, 1.0)]);
}

#[test]
fn unsorted_segment_sum_forward_and_gradient() {
    let x = t(&[4, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let ids = ints(&[4], &[2, 0, 2, -1]);
    let y = ops::unsorted_segment_sum(&x, &ids, 3).unwrap();
    assert_eq!(y.shape(), &[3, 2]);
    assert_close(&y.to_f32_vec(), &[3.0, 4.0, 0.0, 0.0, 6.0, 8.0], 0.0);
    // Ids covering the first two axes.
    let y = ops::unsorted_segment_sum(&x, &ints(&[4, 2], &[0, 1, 1, 1, 5, 0, 0, 0]), 2).unwrap();
    assert_eq!(y.shape(), &[2]);
    assert_close(&y.to_f32_vec(), &[1.0 + 6.0 + 7.0 + 8.0, 2.0 + 3.0 + 4.0], 0.0);
    let e = ops::unsorted_segment_sum(&x, &ints(&[3], &[0, 0, 0]), 1).unwrap_err().to_string();
    assert!(e.contains("UnsortedSegmentSum") && e.contains("[4,2]") && e.contains("[3]"), "{e}");
    let ids = ints(&[5], &[1, 0, 1, -1, 7]);
    check_grads(&|x: &[Tensor]| ops::unsorted_segment_sum(&x[0], &ids, 3).unwrap(), &[rand(&[5, 3], 1, -1.0, 1.0)]);
}

#[test]
fn gather_gradient_of_gradient() {
    // y = Σ gather(x, [0, 0, 1])² ⇒ ∂y/∂x = [4x₀, 2x₁, 0] ⇒ ∂(Σ ∂y/∂x)/∂x = [4, 2, 0]
    use crate::{engine, tape};
    let x = t(&[3], &[1.0, 2.0, 3.0]);
    let idx = ints(&[3], &[0, 0, 1]);
    let outer = tape::new_tape();
    let (g1, s) = engine::with_tape(&outer, || {
        let inner = tape::new_tape();
        let y = engine::with_tape(&inner, || ops::sum(&ops::square(&ops::gather(&x, &idx, 0, 0).unwrap()).unwrap(), &[0], false).unwrap());
        let g = tape::gradients(&inner, &y, &[x.id()], None).unwrap().remove(0).unwrap();
        let s = ops::sum(&g, &[0], false).unwrap();
        (g, s)
    });
    assert_close(&g1.to_f32_vec(), &[4.0, 4.0, 0.0], 1e-6);
    let g2 = tape::gradients(&outer, &s, &[x.id()], None).unwrap().remove(0).unwrap();
    assert_close(&g2.to_f32_vec(), &[4.0, 2.0, 0.0], 1e-6);
}

#[test]
fn pad_forward_and_gradient() {
    let x = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let y = k1("PadV2", &[x.clone()], json!({"paddings": [[1, 0], [0, 2]], "constantValue": 9}));
    assert_eq!(y.shape(), &[3, 4]);
    assert_close(&y.to_f32_vec(), &[9.0, 9.0, 9.0, 9.0, 1.0, 2.0, 9.0, 9.0, 3.0, 4.0, 9.0, 9.0], 0.0);
    // Padding only the first axis keeps rows whole.
    let y = k1("PadV2", &[ints(&[2, 2], &[1, 2, 3, 4])], json!({"paddings": [[0, 1], [0, 0]]}));
    assert_eq!(y.to_i32_vec(), vec![1, 2, 3, 4, 0, 0]);
    assert!(err("PadV2", &[x.clone()], json!({"paddings": [[1, 0]]})).contains("PadV2"));
    check_grads(&|x: &[Tensor]| ops::pad(&x[0], &[[1, 2], [0, 0], [2, 1]], 0.5).unwrap(), &[rand(&[2, 3, 2], 1, -1.0, 1.0)]);
}

#[test]
fn mirror_pad_forward_and_gradient() {
    let x = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let y = k1("MirrorPad", &[x.clone()], json!({"paddings": [[1, 1], [2, 2]], "mode": "reflect"}));
    assert_eq!(y.shape(), &[4, 7]);
    #[rustfmt::skip]
    let want = [
        6.0, 5.0, 4.0, 5.0, 6.0, 5.0, 4.0,
        3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0,
        6.0, 5.0, 4.0, 5.0, 6.0, 5.0, 4.0,
        3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0,
    ];
    assert_close(&y.to_f32_vec(), &want, 0.0);
    let y = k1("MirrorPad", &[x.clone()], json!({"paddings": [[1, 0], [2, 3]], "mode": "symmetric"}));
    assert_eq!(y.shape(), &[3, 8]);
    #[rustfmt::skip]
    let want = [
        2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 2.0, 1.0,
        2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 2.0, 1.0,
        5.0, 4.0, 4.0, 5.0, 6.0, 6.0, 5.0, 4.0,
    ];
    assert_close(&y.to_f32_vec(), &want, 0.0);
    assert!(err("MirrorPad", &[x.clone()], json!({"paddings": [[0, 0], [3, 0]], "mode": "reflect"})).contains("MirrorPad"));
    assert!(err("MirrorPad", &[x.clone()], json!({"paddings": [[0, 0], [0, 0]], "mode": "wrap"})).contains("mode"));
    for mode in ["reflect", "symmetric"] {
        let a = attrs(json!({"paddings": [[1, 2], [2, 1], [0, 1]], "mode": mode}));
        check_grads(&move |x: &[Tensor]| run1("MirrorPad", &[x[0].clone()], &a).unwrap(), &[rand(&[3, 3, 2], 1, -1.0, 1.0)]);
    }
}

#[test]
fn reverse_forward_and_gradient() {
    let x = iota(&[2, 3]);
    assert_close(&ops::reverse(&x, &[1]).unwrap().to_f32_vec(), &[2.0, 1.0, 0.0, 5.0, 4.0, 3.0], 0.0);
    assert_close(&ops::reverse(&x, &[0]).unwrap().to_f32_vec(), &[3.0, 4.0, 5.0, 0.0, 1.0, 2.0], 0.0);
    assert_close(&k1("Reverse", &[x.clone()], json!({"dims": -1})).to_f32_vec(), &[2.0, 1.0, 0.0, 5.0, 4.0, 3.0], 0.0);
    assert_close(&k1("Reverse", &[x.clone()], json!({})).to_f32_vec(), &[5.0, 4.0, 3.0, 2.0, 1.0, 0.0], 0.0);
    assert_eq!(ops::reverse(&ints(&[3], &[1, 2, 3]), &[0]).unwrap().to_i32_vec(), vec![3, 2, 1]);
    check_grads(&|x: &[Tensor]| ops::reverse(&x[0], &[0, 2]).unwrap(), &[rand(&[2, 3, 4], 1, -1.0, 1.0)]);
}

#[test]
fn top_k_values_indices_and_ties() {
    let x = t(&[2, 4], &[1.0, 3.0, 3.0, 2.0, -1.0, f32::NAN, 0.5, 4.0]);
    let out = kn("TopK", &[x.clone()], json!({"k": 3, "sorted": true}));
    assert_eq!(out[0].shape(), &[2, 3]);
    assert_eq!(out[1].dtype(), DType::Int32);
    assert_eq!(out[1].to_i32_vec(), vec![1, 2, 3, 1, 3, 2]);
    let v = out[0].to_f32_vec();
    assert_close(&[v[0], v[1], v[2], v[4], v[5]], &[3.0, 3.0, 2.0, 4.0, 0.5], 0.0);
    assert!(v[3].is_nan());
    let out = kn("TopK", &[ints(&[5], &[5, 1, 9, 1, 7])], json!({"k": 5}));
    assert_eq!(out[0].to_i32_vec(), vec![9, 7, 5, 1, 1]);
    assert_eq!(out[1].to_i32_vec(), vec![2, 4, 0, 1, 3]);
    let out = kn("TopK", &[x.clone()], json!({"k": 0}));
    assert_eq!(out[0].shape(), &[2, 0]);
    assert!(err("TopK", &[x.clone()], json!({"k": 5})).contains("TopK"));
}

#[test]
fn one_hot_forward_and_gradient() {
    let y = k1("OneHot", &[ints(&[2, 2], &[0, 2, -1, 3])], json!({"depth": 3, "onValue": 5, "offValue": -1, "dtype": "int32"}));
    assert_eq!(y.shape(), &[2, 2, 3]);
    assert_eq!(y.dtype(), DType::Int32);
    assert_eq!(y.to_i32_vec(), vec![5, -1, -1, -1, -1, 5, -1, -1, -1, -1, -1, -1]);
    let y = k1("OneHot", &[ints(&[2], &[1, 0])], json!({"depth": 2, "onValue": 1, "offValue": 0, "dtype": "float32"}));
    assert_close(&y.to_f32_vec(), &[0.0, 1.0, 1.0, 0.0], 0.0);
    let e = err("OneHot", &[t(&[1], &[1.0])], json!({"depth": 2}));
    assert!(e.contains("OneHot") && e.contains("int32"), "{e}");
    let a = attrs(json!({"depth": 4, "onValue": 1, "offValue": 0, "dtype": "float32"}));
    check_grads(
        &move |x: &[Tensor]| {
            let oh = run1("OneHot", &[ops::cast(&x[0], DType::Int32).unwrap()], &a).unwrap();
            ops::add(&oh, &ops::reshape(&ops::square(&x[0]).unwrap(), &[3, 1]).unwrap()).unwrap()
        },
        &[t(&[3], &[0.5, 1.5, 3.5])],
    );
}

#[test]
fn range_and_linspace() {
    let r = |start: f64, stop: f64, step: f64, dtype: &str| k1("Range", &[], json!({"start": start, "stop": stop, "step": step, "dtype": dtype}));
    assert_close(&r(0.0, 5.0, 2.0, "float32").to_f32_vec(), &[0.0, 2.0, 4.0], 0.0);
    assert_close(&r(1.0, 0.0, -0.25, "float32").to_f32_vec(), &[1.0, 0.75, 0.5, 0.25], 0.0);
    // tfjs's quirks: a step of 1 on a decreasing range counts down; a larger positive one is empty.
    assert_close(&r(3.0, 0.0, 1.0, "float32").to_f32_vec(), &[3.0, 2.0, 1.0], 0.0);
    assert_eq!(r(3.0, 0.0, 2.0, "float32").shape(), &[0]);
    assert_eq!(r(0.0, 5.0, -1.0, "float32").shape(), &[0]);
    let ri = r(0.0, 3.0, 1.0, "int32");
    assert_eq!(ri.dtype(), DType::Int32);
    assert_eq!(ri.to_i32_vec(), vec![0, 1, 2]);
    assert!(err("Range", &[], json!({"start": 0, "stop": 1, "step": 0})).contains("Range"));
    let l = k1("LinSpace", &[], json!({"start": 0, "stop": 1, "num": 5}));
    assert_close(&l.to_f32_vec(), &[0.0, 0.25, 0.5, 0.75, 1.0], 1e-7);
    assert_close(&k1("LinSpace", &[], json!({"start": 2, "stop": 9, "num": 1})).to_f32_vec(), &[2.0], 0.0);
    assert!(err("LinSpace", &[], json!({"start": 0, "stop": 1, "num": 0})).contains("LinSpace"));
}

#[test]
fn broadcast_to_forward_and_gradient() {
    let y = k1("BroadcastTo", &[t(&[2, 1], &[1.0, 2.0])], json!({"shape": [2, 2, 3], "inputShape": [2, 1]}));
    assert_eq!(y.shape(), &[2, 2, 3]);
    assert_close(&y.to_f32_vec(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 0.0);
    let y = k1("BroadcastTo", &[ints(&[3], &[1, 2, 3])], json!({"shape": [2, 3]}));
    assert_eq!(y.to_i32_vec(), vec![1, 2, 3, 1, 2, 3]);
    let e = err("BroadcastTo", &[t(&[2], &[1.0, 2.0])], json!({"shape": [3]}));
    assert!(e.contains("BroadcastTo") && e.contains("[2]") && e.contains("[3]"), "{e}");
    let a = attrs(json!({"shape": [3, 2, 4]}));
    check_grads(&move |x: &[Tensor]| run1("BroadcastTo", &[x[0].clone()], &a).unwrap(), &[rand(&[2, 1], 1, -1.0, 1.0)]);
}

#[test]
fn tile_matches_naive_indexing() {
    let cases: [(&[usize], &[usize]); 6] = [
        (&[3], &[4]),
        (&[2, 3], &[1, 1]),
        (&[2, 3], &[3, 1]),
        (&[2, 3], &[1, 2]),
        (&[2, 1, 3], &[2, 5, 1]),
        (&[37, 5, 3], &[3, 2, 7]),
    ];
    for (shape, reps) in cases {
        let x = iota(shape);
        let y = ops::tile(&x, reps).unwrap();
        let out: Vec<usize> = shape.iter().zip(reps).map(|(d, r)| d * r).collect();
        assert_eq!(y.shape(), &out[..]);
        let xs = crate::kernels::strides(shape);
        let want: Vec<f32> = (0..y.size())
            .map(|mut o| {
                let mut off = 0;
                for d in (0..out.len()).rev() {
                    off += (o % out[d] % shape[d]) * xs[d];
                    o /= out[d];
                }
                off as f32
            })
            .collect();
        assert_close(&y.to_f32_vec(), &want, 0.0);
    }
    let b = Tensor::from_bool(vec![2], vec![1, 0]).unwrap();
    assert_eq!(ops::tile(&b, &[2]).unwrap().to_i32_vec(), vec![1, 0, 1, 0]);
    assert_eq!(ops::tile(&iota(&[2, 2]), &[0, 3]).unwrap().shape(), &[0, 6]);
}

#[test]
fn arg_max_min_forward_and_gradient() {
    let x = t(&[2, 3], &[1.0, 5.0, 5.0, 7.0, -2.0, 0.0]);
    let am = |k: &str, axis: i64| k1(k, &[x.clone()], json!({"axis": axis}));
    assert_eq!(am("ArgMax", 1).dtype(), DType::Int32);
    // The first of equal extremes wins.
    assert_eq!(am("ArgMax", 1).to_i32_vec(), vec![1, 0]);
    assert_eq!(am("ArgMax", 0).to_i32_vec(), vec![1, 0, 0]);
    assert_eq!(am("ArgMin", -1).to_i32_vec(), vec![0, 1]);
    assert_eq!(am("ArgMin", 0).to_i32_vec(), vec![0, 1, 1]);
    let big = ints(&[3], &[16_777_217, 16_777_216, 16_777_218]);
    assert_eq!(k1("ArgMax", &[big.clone()], json!({"axis": 0})).to_i32_vec(), vec![2]);
    assert_eq!(k1("ArgMin", &[big], json!({"axis": [0]})).to_i32_vec(), vec![1]);
    let x3 = iota(&[2, 3, 4]);
    assert_eq!(k1("ArgMax", &[x3], json!({"axis": 1})).to_i32_vec(), vec![2; 8]);
    for k in ["ArgMax", "ArgMin"] {
        let a = attrs(json!({"axis": 1}));
        check_grads(
            &move |x: &[Tensor]| {
                let i = run1(k, &[x[0].clone()], &a).unwrap();
                ops::add(&ops::cast(&i, DType::Float32).unwrap(), &ops::sum(&x[0], &[1], false).unwrap()).unwrap()
            },
            &[t(&[2, 3], &[0.1, 0.9, 0.5, 0.7, 0.2, 0.4])],
        );
    }
}

#[test]
fn all_any_forward() {
    let b = Tensor::from_bool(vec![2, 3], vec![1, 1, 0, 1, 1, 1]).unwrap();
    let all = k1("All", &[b.clone()], json!({"axis": 1, "keepDims": false}));
    assert_eq!(all.dtype(), DType::Bool);
    assert_eq!(all.to_i32_vec(), vec![0, 1]);
    assert_eq!(k1("All", &[b.clone()], json!({})).to_i32_vec(), vec![0]);
    let any = k1("Any", &[b.clone()], json!({"axis": [0], "keepDims": true}));
    assert_eq!(any.shape(), &[1, 3]);
    assert_eq!(any.to_i32_vec(), vec![1, 1, 1]);
    let z = Tensor::from_bool(vec![2, 2], vec![0, 0, 0, 1]).unwrap();
    assert_eq!(k1("Any", &[z], json!({"axis": -1})).to_i32_vec(), vec![0, 1]);
}

#[test]
fn cumsum_forward_and_gradient() {
    let x = t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let cs = |axis: i64, exclusive: bool, reverse: bool| ops::cumsum(&x, axis, exclusive, reverse).unwrap().to_f32_vec();
    assert_close(&cs(1, false, false), &[1.0, 3.0, 6.0, 4.0, 9.0, 15.0], 0.0);
    assert_close(&cs(1, true, false), &[0.0, 1.0, 3.0, 0.0, 4.0, 9.0], 0.0);
    assert_close(&cs(1, false, true), &[6.0, 5.0, 3.0, 15.0, 11.0, 6.0], 0.0);
    assert_close(&cs(1, true, true), &[5.0, 3.0, 0.0, 11.0, 6.0, 0.0], 0.0);
    assert_close(&cs(0, false, false), &[1.0, 2.0, 3.0, 5.0, 7.0, 9.0], 0.0);
    assert_close(&cs(-2, true, true), &[4.0, 5.0, 6.0, 0.0, 0.0, 0.0], 0.0);
    let i = ops::cumsum(&ints(&[3], &[16_777_216, 1, 1]), 0, false, false).unwrap();
    assert_eq!(i.dtype(), DType::Int32);
    assert_eq!(i.to_i32_vec(), vec![16_777_216, 16_777_217, 16_777_218]);
    let b = ops::cumsum(&Tensor::from_bool(vec![3], vec![1, 0, 1]).unwrap(), 0, false, false).unwrap();
    assert_eq!((b.dtype(), b.to_i32_vec()), (DType::Int32, vec![1, 1, 2]));
    for axis in [0, 1, 2] {
        for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
            check_grads(&move |x: &[Tensor]| ops::cumsum(&x[0], axis, exclusive, reverse).unwrap(), &[rand(&[2, 3, 4], 1, -1.0, 1.0)]);
        }
    }
}

#[test]
fn int_sum_is_exact() {
    let x = ints(&[2, 3], &[16_777_217, 1, 1, -5, 2_000_000_000, 2_000_000_000]);
    let s = ops::sum(&x, &[1], false).unwrap();
    assert_eq!(s.dtype(), DType::Int32);
    // 4e9 wraps modulo 2^32, as in an Int32Array.
    assert_eq!(s.to_i32_vec(), vec![16_777_219, (3_999_999_995i64 - (1i64 << 32)) as i32]);
    assert_eq!(ops::sum(&x, &[0, 1], true).unwrap().shape(), &[1, 1]);
    let x3 = ints(&[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(ops::sum(&x3, &[0, 2], false).unwrap().to_i32_vec(), vec![1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
    let b = Tensor::from_bool(vec![3], vec![1, 1, 0]).unwrap();
    let sb = ops::sum(&b, &[0], false).unwrap();
    assert_eq!((sb.dtype(), sb.to_i32_vec()), (DType::Int32, vec![2]));
}
