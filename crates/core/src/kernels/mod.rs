//! Built-in CPU kernels, registered under tfjs kernel names. Each submodule owns one family of
//! kernels together with their gradient rules and registers both in its `register`.

use crate::registry::Registry;
use rayon::prelude::*;

pub mod binary;
pub mod index;
pub mod conv;
pub mod conv_depthwise;
pub mod conv_direct;
pub mod conv_gemm;
pub mod conv_info;
pub mod image;
pub mod matmul;
pub mod nn;
pub mod norm;
pub mod pool;
pub mod rnn;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod unary;

pub fn register_all(r: &mut Registry) {
    binary::register(r);
    unary::register(r);
    reduce::register(r);
    matmul::register(r);
    shape::register(r);
    index::register(r);
    nn::register(r);
    rnn::register(r);
    crate::model::fused_loss::register(r);
}

/// Below this many elements an element-wise loop stays on the calling thread: the fork/join
/// costs more than the work.
pub const PAR_MIN: usize = 1 << 15;
/// Chunk length of parallel element-wise loops.
pub const PAR_CHUNK: usize = 1 << 13;

/// `out[i] = f(a[i])`, in parallel when large.
pub fn map_into<A: Sync, O: Send + Default + Clone>(a: &[A], f: impl Fn(&A) -> O + Sync) -> Vec<O> {
    let n = a.len();
    let mut out: Vec<O> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n < PAR_MIN {
        simd::map(spare, a, &f);
    } else {
        spare.par_chunks_mut(PAR_CHUNK).zip(a.par_chunks(PAR_CHUNK)).for_each(|(o, a)| simd::map(o, a, &f));
    }
    // SAFETY: `simd::map` wrote all `n` elements.
    unsafe { out.set_len(n) };
    out
}

/// `out[i] = f(a[i], b[i])` for equal-length slices, in parallel when large.
pub fn zip_into<A: Sync, B: Sync, O: Send + Default + Clone>(a: &[A], b: &[B], f: impl Fn(&A, &B) -> O + Sync) -> Vec<O> {
    assert_eq!(a.len(), b.len(), "zip_into: slices of different lengths");
    let n = a.len();
    let mut out: Vec<O> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n < PAR_MIN {
        simd::zip(spare, a, b, &f);
    } else {
        spare
            .par_chunks_mut(PAR_CHUNK)
            .zip(a.par_chunks(PAR_CHUNK).zip(b.par_chunks(PAR_CHUNK)))
            .for_each(|(o, (a, b))| simd::zip(o, a, b, &f));
    }
    // SAFETY: `simd::zip` wrote all `n` elements.
    unsafe { out.set_len(n) };
    out
}

/// Element-wise loops compiled for the widest vector unit the CPU has, chosen at run time
/// (the crate itself is built for baseline x86-64). Only the instruction set changes, not the
/// arithmetic: the results are the same bits.
mod simd {
    use std::mem::MaybeUninit;

    #[inline(always)]
    fn map_loop<A, O>(o: &mut [MaybeUninit<O>], a: &[A], f: &impl Fn(&A) -> O) {
        let a = &a[..o.len()];
        for (o, a) in o.iter_mut().zip(a) {
            o.write(f(a));
        }
    }

    #[inline(always)]
    fn zip_loop<A, B, O>(o: &mut [MaybeUninit<O>], a: &[A], b: &[B], f: &impl Fn(&A, &B) -> O) {
        let (a, b) = (&a[..o.len()], &b[..o.len()]);
        for ((o, a), b) in o.iter_mut().zip(a).zip(b) {
            o.write(f(a, b));
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn map_avx512<A, O>(o: &mut [MaybeUninit<O>], a: &[A], f: &impl Fn(&A) -> O) {
        map_loop(o, a, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn map_avx2<A, O>(o: &mut [MaybeUninit<O>], a: &[A], f: &impl Fn(&A) -> O) {
        map_loop(o, a, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn zip_avx512<A, B, O>(o: &mut [MaybeUninit<O>], a: &[A], b: &[B], f: &impl Fn(&A, &B) -> O) {
        zip_loop(o, a, b, f)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn zip_avx2<A, B, O>(o: &mut [MaybeUninit<O>], a: &[A], b: &[B], f: &impl Fn(&A, &B) -> O) {
        zip_loop(o, a, b, f)
    }

    /// `o[i] = f(a[i])` for every `i < o.len()` (`a` at least as long).
    pub fn map<A, O>(o: &mut [MaybeUninit<O>], a: &[A], f: &impl Fn(&A) -> O) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has the feature the function is compiled for.
                return unsafe { map_avx512(o, a, f) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                return unsafe { map_avx2(o, a, f) };
            }
        }
        map_loop(o, a, f)
    }

    /// `o[i] = f(a[i], b[i])` for every `i < o.len()` (`a`, `b` at least as long).
    pub fn zip<A, B, O>(o: &mut [MaybeUninit<O>], a: &[A], b: &[B], f: &impl Fn(&A, &B) -> O) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has the feature the function is compiled for.
                return unsafe { zip_avx512(o, a, b, f) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                return unsafe { zip_avx2(o, a, b, f) };
            }
        }
        zip_loop(o, a, b, f)
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

#[cfg(test)]
mod tests_basic;
#[cfg(test)]
mod tests_nn;
#[cfg(test)]
mod tests_shape;
