//! GEMM throughput of the two backends on square matrices: `cargo run --release --example gemm_bench -p ferrograd-core`.
use ferrograd_core::kernels::matmul::{set_gemm_backend, sgemm, GemmBackend};
use std::time::Instant;

fn main() {
    for &n in &[256usize, 1024, 2048] {
        let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; n * n];
        for (name, be) in [("gemm", GemmBackend::Gemm), ("matrixmultiply", GemmBackend::MatrixMultiply)] {
            set_gemm_backend(be);
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                sgemm(n, n, n, &a, n as isize, 1, &b, n as isize, 1, &mut c);
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!("{name:>15} {n:>5}: {:7.1} GFLOP/s", 2.0 * (n as f64).powi(3) / best / 1e9);
        }
    }
}
