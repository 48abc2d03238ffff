//! The per-step products of the recurrent kernels: small products against a recurrent kernel
//! (or its transpose) that a general GEMM would pack again on every call, register-tiled for
//! AVX-512 and left to the general GEMM elsewhere.

use crate::kernels::matmul::sgemm_raw;

/// `c (+)= a · b` for the per-step products: `a [m, k]` (rows `a_rs` apart, columns `a_cs`),
/// `b [k, n]` and `c [m, n]` (rows `ldb`/`ldc` apart, columns contiguous). `b` is read in
/// place, without the packing a general GEMM does on every call. With `accumulate`,
/// `c + a·b` (the product summed first, then added). Without AVX-512 the general GEMM computes
/// it (the same products, summed in another order).
///
/// # Safety
/// The pointers must be valid for the addressed elements, and `c` must not overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn small_gemm(m: usize, n: usize, k: usize, c: *mut f32, ldc: usize, accumulate: bool, a: *const f32, a_rs: usize, a_cs: usize, b: *const f32, ldb: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(test)]
        let general = GENERAL.with(|g| g.get());
        #[cfg(not(test))]
        let general = false;
        if !general && std::arch::is_x86_feature_detected!("avx512f") {
            return avx512::gemm(m, n, k, c, ldc, accumulate, a, a_rs, a_cs, b, ldb);
        }
    }
    sgemm_raw(m, n, k, c, ldc as isize, accumulate, a, a_rs as isize, a_cs as isize, b, ldb as isize, 1, false)
}

#[cfg(test)]
thread_local! {
    static GENERAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the per-step products on the general GEMM (what CPUs without AVX-512 run).
#[cfg(test)]
pub(crate) fn with_general_gemm<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GENERAL.with(|g| g.set(self.0));
        }
    }
    let _r = Restore(GENERAL.with(|g| g.replace(true)));
    f()
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows per register tile; a tile holds up to 6 × 64 accumulators (24 registers).
    const MR: usize = 6;

    /// See `small_gemm`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm(m: usize, n: usize, k: usize, c: *mut f32, ldc: usize, accumulate: bool, a: *const f32, a_rs: usize, a_cs: usize, b: *const f32, ldb: usize) {
        let mut j = 0;
        while j < n {
            let width = (n - j).min(64);
            let vecs = width.div_ceil(16);
            let rem = width % 16;
            let last: __mmask16 = if rem == 0 { 0xFFFF } else { (1u16 << rem) - 1 };
            let (bj, cj) = (b.add(j), c.add(j));
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(MR);
                let (ai, ci) = (a.add(i * a_rs), cj.add(i * ldc));
                macro_rules! go {
                    ($($r:literal),*) => {
                        match (rows, vecs) {
                            $(
                                ($r, 1) => tile::<$r, 1>(k, ai, a_rs, a_cs, bj, ldb, ci, ldc, accumulate, last),
                                ($r, 2) => tile::<$r, 2>(k, ai, a_rs, a_cs, bj, ldb, ci, ldc, accumulate, last),
                                ($r, 3) => tile::<$r, 3>(k, ai, a_rs, a_cs, bj, ldb, ci, ldc, accumulate, last),
                                ($r, _) => tile::<$r, 4>(k, ai, a_rs, a_cs, bj, ldb, ci, ldc, accumulate, last),
                            )*
                            _ => unreachable!("at most {MR} rows per tile"),
                        }
                    };
                }
                go!(1, 2, 3, 4, 5, 6);
                i += rows;
            }
            j += 64;
        }
    }

    /// One `R × 16·V` tile of `c`; the last vector of each row is masked with `last`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const R: usize, const V: usize>(
        k: usize,
        a: *const f32,
        a_rs: usize,
        a_cs: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        accumulate: bool,
        last: __mmask16,
    ) {
        let mask = |v: usize| if v + 1 == V { last } else { 0xFFFF };
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for p in 0..k {
            let bp = b.add(p * ldb);
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm512_maskz_loadu_ps(mask(v), bp.add(16 * v));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*a.add(r * a_rs + p * a_cs));
                for (v, y) in row.iter_mut().enumerate() {
                    *y = _mm512_fmadd_ps(x, bv[v], *y);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let cr = c.add(r * ldc);
            for (v, &y) in row.iter().enumerate() {
                let y = if accumulate { _mm512_add_ps(_mm512_maskz_loadu_ps(mask(v), cr.add(16 * v)), y) } else { y };
                _mm512_mask_storeu_ps(cr.add(16 * v), mask(v), y);
            }
        }
    }
}
