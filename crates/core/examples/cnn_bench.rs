//! Per-kernel times of one W2 training step (bench/WORKLOADS.md: 28×28×1 → conv 16 3×3 relu →
//! maxPool 2 → conv 32 3×3 relu → maxPool 2 → dense 64 relu → dense 10, batch 64):
//! `cargo run --release --example cnn_bench -p ferrograd-core`.
use ferrograd_core::engine::{run1, run_kernel};
use ferrograd_core::{Attrs, Tensor};
use std::time::Instant;

fn rand(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let v = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    Tensor::f32(shape.to_vec(), v)
}

fn time(name: &str, iters: usize, mut f: impl FnMut() -> Tensor) -> Tensor {
    let mut out = f();
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        out = f();
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name:>28}: median {:8.1} µs   min {:8.1} µs", times[iters / 2], times[0]);
    out
}

fn main() {
    let iters = 200;
    let b = 64;
    let conv = |act: &str| Attrs::new().with("strides", vec![1usize, 1]).with("pad", "valid").with("dataFormat", "NHWC").with("activation", act);
    let pool = Attrs::new().with("filterSize", vec![2usize, 2]).with("strides", vec![2usize, 2]).with("pad", "valid");
    let x = rand(&[b, 28, 28, 1], 1);
    let (w1, b1) = (rand(&[3, 3, 1, 16], 2), rand(&[16], 3));
    let (w2, b2) = (rand(&[3, 3, 16, 32], 4), rand(&[32], 5));
    let y1 = time("conv1 fwd (fused relu)", iters, || run1("FusedConv2D", &[x.clone(), w1.clone(), b1.clone()], &conv("relu")).unwrap());
    let p1 = time("pool1 fwd", iters, || run1("MaxPool", std::slice::from_ref(&y1), &pool).unwrap());
    let y2 = time("conv2 fwd (fused relu)", iters, || run1("FusedConv2D", &[p1.clone(), w2.clone(), b2.clone()], &conv("relu")).unwrap());
    let p2 = time("pool2 fwd", iters, || run1("MaxPool", std::slice::from_ref(&y2), &pool).unwrap());
    let dp2 = rand(p2.shape(), 6);
    let dy2 = time("pool2 grad", iters, || run1("MaxPoolGrad", &[dp2.clone(), y2.clone(), p2.clone()], &pool).unwrap());
    let dy2r = time("relu grad 2", iters, || run1("ReluGrad", &[dy2.clone(), y2.clone()], &Attrs::new()).unwrap());
    let fa2 = conv("linear").with("filterShape", vec![3usize, 3, 16, 32]);
    time("conv2 filter grad", iters, || run1("Conv2DBackpropFilter", &[p1.clone(), dy2r.clone()], &fa2).unwrap());
    time("conv2 bias grad", iters, || run1("Sum", std::slice::from_ref(&dy2r), &Attrs::new().with("axis", vec![0i64, 1, 2]).with("keepDims", false)).unwrap());
    let ia2 = conv("linear").with("inputShape", p1.shape().to_vec());
    let dp1 = time("conv2 input grad", iters, || run1("Conv2DBackpropInput", &[dy2r.clone(), w2.clone()], &ia2).unwrap());
    let dy1 = time("pool1 grad", iters, || run1("MaxPoolGrad", &[dp1.clone(), y1.clone(), p1.clone()], &pool).unwrap());
    let dy1r = time("relu grad 1", iters, || run1("ReluGrad", &[dy1.clone(), y1.clone()], &Attrs::new()).unwrap());
    let fa1 = conv("linear").with("filterShape", vec![3usize, 3, 1, 16]);
    time("conv1 filter grad", iters, || run1("Conv2DBackpropFilter", &[x.clone(), dy1r.clone()], &fa1).unwrap());
    time("conv1 bias grad", iters, || run1("Sum", std::slice::from_ref(&dy1r), &Attrs::new().with("axis", vec![0i64, 1, 2]).with("keepDims", false)).unwrap());
    let ff1 = fa1.clone().with("activation", "relu").with("withBias", true);
    time("conv1 relu+filter+bias grads", iters, || run_kernel("_FusedConv2DBackpropFilter", &[x.clone(), dy1.clone(), y1.clone()], &ff1).unwrap().remove(0));
    let ff2 = fa2.clone().with("withBias", true);
    time("conv2 filter+bias grads", iters, || run_kernel("_FusedConv2DBackpropFilter", &[p1.clone(), dy2r.clone(), y2.clone()], &ff2).unwrap().remove(0));
}
