//! Built-in CPU kernels, registered under tfjs kernel names. Each submodule owns one family of
//! kernels together with their gradient rules and registers both in its `register`.

use crate::registry::Registry;
use rayon::prelude::*;

pub mod binary;
pub mod index;
pub mod conv;
pub mod conv_depthwise;
pub mod conv_gemm;
pub mod conv_info;
pub mod image;
pub mod matmul;
pub mod nn;
pub mod norm;
pub mod pool;
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
    crate::model::fused_loss::register(r);
}

/// Below this many elements an element-wise loop stays on the calling thread: the fork/join
/// costs more than the work.
pub const PAR_MIN: usize = 1 << 15;
/// Chunk length of parallel element-wise loops.
pub const PAR_CHUNK: usize = 1 << 13;

/// `out[i] = f(a[i])`, in parallel when large.
pub fn map_into<A: Sync, O: Send + Default + Clone>(a: &[A], f: impl Fn(&A) -> O + Sync) -> Vec<O> {
    if a.len() < PAR_MIN {
        return a.iter().map(f).collect();
    }
    let mut out = vec![O::default(); a.len()];
    out.par_chunks_mut(PAR_CHUNK).zip(a.par_chunks(PAR_CHUNK)).for_each(|(o, a)| {
        for (o, a) in o.iter_mut().zip(a) {
            *o = f(a);
        }
    });
    out
}

/// `out[i] = f(a[i], b[i])` for equal-length slices, in parallel when large.
pub fn zip_into<A: Sync, B: Sync, O: Send + Default + Clone>(a: &[A], b: &[B], f: impl Fn(&A, &B) -> O + Sync) -> Vec<O> {
    debug_assert_eq!(a.len(), b.len());
    if a.len() < PAR_MIN {
        return a.iter().zip(b).map(|(a, b)| f(a, b)).collect();
    }
    let mut out = vec![O::default(); a.len()];
    out.par_chunks_mut(PAR_CHUNK)
        .zip(a.par_chunks(PAR_CHUNK).zip(b.par_chunks(PAR_CHUNK)))
        .for_each(|(o, (a, b))| {
            for ((o, a), b) in o.iter_mut().zip(a).zip(b) {
                *o = f(a, b);
            }
        });
    out
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
