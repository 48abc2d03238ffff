//! Fused recurrent sequence kernels: `_SimpleRNNSequence`, `_LSTMSequence` and `_GRUSequence`
//! run a whole recurrent layer over a sequence in one kernel, and their gradient rules do the
//! whole backpropagation through time in one more (`…Grad`). The recurrent layers use them in
//! place of recording every time step's few small ops on the tape.
//!
//! Forward: ONE product `x · kernel` (+ input bias) for all `batch·time` rows, then per time step
//! one product of the previous output with the recurrent kernel accumulated onto that step's
//! projected inputs, and the gate arithmetic. Backward: per step (in reverse) the gate
//! arithmetic and one product with the transposed recurrent kernel carrying the gradient to the
//! previous output; then the weight gradients with one large product each
//! (`xᵀ · dZ`, `h_prevᵀ · dZ`) and the bias gradient as column sums. Batch rows are independent
//! through time, so both recurrences run on blocks of rows in parallel.
//!
//! The arithmetic follows the tfjs cells exactly (weights `kernel [inputDim, G·units]`,
//! `recurrentKernel [units, G·units]`, `bias [G·units]` — GRU with `resetAfter`:
//! `[2, G·units]` — gates LSTM `i, f, c, o`, GRU `z, r, h`):
//! - SimpleRNN: `h = act(x·W + b + h₋·U)`;
//! - LSTM: `c = f·c₋ + i·act(zc)`, `h = o·act(c)`, `i, f, o = ract(z…)`;
//! - GRU: `z, r = ract(x·W + b + h₋·U)`, `hh = act(x·Wh + bh + (r·h₋)·Uh)` (with `resetAfter`:
//!   `hh = act(x·Wh + bh + r·(h₋·Uh + rbh))`), `h = z·h₋ + (1 − z)·hh`.
//!
//! Where the optional `mask [batch, time]` is 0 a step keeps the previous states (and its
//! output is the previous output), as tfjs's `rnn` does. Activations: linear, relu, sigmoid,
//! hardSigmoid and tanh (the layers fall back to the op-by-op path for others); each derivative
//! is the one the op-by-op gradient rules use (hardSigmoid's clip passes the gradient at its
//! bounds). tanh is computed in a vectorisable form within a few float32 ulps of libm's.
//!
//! Inputs: `x [batch, time, inputDim]`, `kernel`, `recurrentKernel`, `h0 [batch, units]`, (LSTM)
//! `c0 [batch, units]`, then `bias` when attribute `hasBias`, then `mask` when `hasMask`.
//! Attributes: `activation`, `recurrentActivation` (tfjs names), `goBackwards`,
//! `returnSequences`, `chronological` (per-step outputs in input time order rather than
//! processing order), `resetAfter` (GRU), `hasBias`, `hasMask`.
//! Outputs: the output (`[batch, time, units]` per step with `returnSequences`, else the last
//! `[batch, units]`), the final `h` (and, LSTM, `c`), and a workspace `[batch, time, ·]` the
//! gradient reads (pre-activations and per-step previous states). The gradient kernels are not
//! differentiable themselves (no gradients of gradients through these layers).

use super::matmul::sgemm_raw;
use super::unary::exp_fast;
use crate::attrs::Attrs;
use crate::engine::run_kernel;
use crate::error::{Error, Result};
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Tensor};
use rayon::prelude::*;
use std::borrow::Cow;

/// The recurrent cell a sequence kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    SimpleRnn,
    Lstm,
    Gru,
}

impl Cell {
    /// The forward kernel's name.
    pub fn kernel(self) -> &'static str {
        match self {
            Cell::SimpleRnn => "_SimpleRNNSequence",
            Cell::Lstm => "_LSTMSequence",
            Cell::Gru => "_GRUSequence",
        }
    }
    fn grad_kernel(self) -> &'static str {
        match self {
            Cell::SimpleRnn => "_SimpleRNNSequenceGrad",
            Cell::Lstm => "_LSTMSequenceGrad",
            Cell::Gru => "_GRUSequenceGrad",
        }
    }
    fn gates(self) -> usize {
        match self {
            Cell::SimpleRnn => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
    fn states(self) -> usize {
        if self == Cell::Lstm { 2 } else { 1 }
    }
    /// Columns of one workspace row (one batch row at one time step): the gates'
    /// pre-activations and the previous `h`; then LSTM: the previous `c`, `act(zc)` and
    /// `act(c)`; GRU: `r·h₋` (with `resetAfter`: `h₋·Uh + rbh`) and `hh`. The gradient reads the
    /// stored activations rather than computing them again.
    fn ws_width(self, u: usize) -> usize {
        match self {
            Cell::SimpleRnn => 2 * u,
            Cell::Lstm => 8 * u,
            Cell::Gru => 6 * u,
        }
    }
    fn input_names(self) -> &'static [&'static str] {
        match self {
            Cell::Lstm => &["x", "kernel", "recurrentKernel", "h0", "c0", "bias", "mask"],
            _ => &["x", "kernel", "recurrentKernel", "h0", "bias", "mask"],
        }
    }
}

/// An activation the kernels compute natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Linear,
    Relu,
    Sigmoid,
    HardSigmoid,
    Tanh,
}

impl Act {
    /// By tfjs identifier; `None` for activations the kernels do not fuse.
    pub fn parse(name: &str) -> Option<Act> {
        Some(match name {
            "linear" => Act::Linear,
            "relu" => Act::Relu,
            "sigmoid" => Act::Sigmoid,
            "hardSigmoid" => Act::HardSigmoid,
            "tanh" => Act::Tanh,
            _ => return None,
        })
    }

    /// `dst = act(src)`.
    #[inline(always)]
    fn apply(self, src: &[f32], dst: &mut [f32]) {
        let dst = &mut dst[..src.len()];
        match self {
            Act::Linear => dst.copy_from_slice(src),
            Act::Relu => dst.iter_mut().zip(src).for_each(|(d, &x)| *d = if x > 0.0 { x } else { 0.0 }),
            Act::Sigmoid => dst.iter_mut().zip(src).for_each(|(d, &x)| *d = sigmoid(x)),
            Act::HardSigmoid => dst.iter_mut().zip(src).for_each(|(d, &x)| *d = (x * 0.2 + 0.5).clamp(0.0, 1.0)),
            Act::Tanh => dst.iter_mut().zip(src).for_each(|(d, &x)| *d = tanh_fast(x)),
        }
    }

    /// `d ← d · act'(x)`, from the pre-activation `x` and the output `y = act(x)`, as the
    /// op-by-op rules compute it (ReluGrad, SigmoidGrad, TanhGrad, the clip of hardSigmoid).
    #[inline(always)]
    fn grad(self, d: &mut [f32], x: &[f32], y: &[f32]) {
        let n = d.len();
        let (x, y) = (&x[..n], &y[..n]);
        match self {
            Act::Linear => {}
            Act::Relu => d.iter_mut().zip(x).for_each(|(d, &x)| *d = if x > 0.0 { *d } else { 0.0 }),
            Act::Sigmoid => d.iter_mut().zip(y).for_each(|(d, &y)| *d = *d * y * (1.0 - y)),
            Act::HardSigmoid => d.iter_mut().zip(x).for_each(|(d, &x)| {
                let p = x * 0.2 + 0.5;
                *d = (if (0.0..=1.0).contains(&p) { *d } else { 0.0 }) * 0.2;
            }),
            Act::Tanh => d.iter_mut().zip(y).for_each(|(d, &y)| *d *= 1.0 - y * y),
        }
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp_fast(-x))
}

/// tanh in a form the compiler vectorises: an odd Taylor polynomial below |x| = 0.4 (truncation
/// error under 4e-9 relative), `(1 − e^-2|x|)/(1 + e^-2|x|)` above; within a few ulps of libm.
#[inline(always)]
pub fn tanh_fast(x: f32) -> f32 {
    let a = x.abs();
    let x2 = x * x;
    // x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 − 1382x¹¹/155925 + 21844x¹³/6081075
    let p = x
        + x * x2
            * (-0.333_333_34
                + x2 * (0.133_333_34 + x2 * (-0.053_968_254 + x2 * (0.021_869_488 + x2 * (-0.008_863_236 + x2 * 0.003_592_128)))));
    let e = exp_fast(-2.0 * a);
    let q = ((1.0 - e) / (1.0 + e)).copysign(x);
    if a < 0.4 { p } else { q }
}

/// Runs `$body` compiled for the widest vector unit the CPU has (the crate targets baseline
/// x86-64); only the instruction set changes, not the arithmetic.
macro_rules! isa_dispatch {
    ($($name:ident => $body:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn v4($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn v3($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the feature the function is compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: as above.
                    return unsafe { v3($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    )*};
}

/// `c (+)= a · b` for the per-step products: `a [m, k]` (rows `a_rs` apart, columns `a_cs`),
/// `b [k, n]` and `c [m, n]` (rows `ldb`/`ldc` apart, columns contiguous). `b` (a recurrent kernel, or its transpose)
/// is read in place, without the packing a general GEMM does on every call. With
/// `accumulate`, `c + a·b` (the product summed first, then added).
///
/// # Safety
/// The pointers must be valid for the addressed elements, and `c` must not overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn small_gemm(m: usize, n: usize, k: usize, c: *mut f32, ldc: usize, accumulate: bool, a: *const f32, a_rs: usize, a_cs: usize, b: *const f32, ldb: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return avx512::gemm(m, n, k, c, ldc, accumulate, a, a_rs, a_cs, b, ldb);
        }
    }
    sgemm_raw(m, n, k, c, ldc as isize, accumulate, a, a_rs as isize, a_cs as isize, b, ldb as isize, 1, false)
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

/// `out[i] = f(a[i], b[i])`.
#[inline(always)]
fn zip2(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = f(a, b);
    }
}

/// `out[i] = f(a[i], b[i], c[i])`.
#[inline(always)]
fn zip3(out: &mut [f32], a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) {
    for (((o, &a), &b), &c) in out.iter_mut().zip(a).zip(b).zip(c) {
        *o = f(a, b, c);
    }
}

/// A forward call's operands, checked.
struct Spec<'a> {
    cell: Cell,
    b: usize,
    t: usize,
    f: usize,
    u: usize,
    act: Act,
    ract: Act,
    backwards: bool,
    seq: bool,
    chrono: bool,
    reset_after: bool,
    x: Cow<'a, [f32]>,
    kernel: Cow<'a, [f32]>,
    rk: Cow<'a, [f32]>,
    h0: Cow<'a, [f32]>,
    c0: Cow<'a, [f32]>,
    bias: Option<Cow<'a, [f32]>>,
    mask: Option<Vec<bool>>,
    /// Positions of the optional inputs.
    bias_at: Option<usize>,
    n_inputs: usize,
}

impl<'a> Spec<'a> {
    fn parse(cell: Cell, inputs: &'a [Tensor], attrs: &Attrs) -> Result<Spec<'a>> {
        let op = cell.kernel();
        let has_bias = attrs.bool_or(op, "hasBias", false)?;
        let has_mask = attrs.bool_or(op, "hasMask", false)?;
        let reset_after = cell == Cell::Gru && attrs.bool_or(op, "resetAfter", false)?;
        let ns = cell.states();
        let n_inputs = 3 + ns + has_bias as usize + has_mask as usize;
        if inputs.len() != n_inputs {
            let mut names: Vec<&str> = cell.input_names()[..3 + ns].to_vec();
            if has_bias {
                names.push("bias");
            }
            if has_mask {
                names.push("mask");
            }
            return Err(Error::arg(op, format!("expected {n_inputs} inputs ({}), got {}", names.join(", "), inputs.len())));
        }
        let x = &inputs[0];
        if x.rank() != 3 {
            return Err(Error::shape(op, "x of rank 3 ([batch, time, inputDim])", fmt_shape(x.shape())));
        }
        let (b, t, f) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let g = cell.gates();
        let k = &inputs[1];
        if k.rank() != 2 || k.shape()[0] != f || k.shape()[1] == 0 || k.shape()[1] % g != 0 {
            return Err(Error::shape(op, format!("a kernel of shape [{f}, {g}·units]"), fmt_shape(k.shape())));
        }
        let u = k.shape()[1] / g;
        let want = |i: usize, what: &str, shape: &[usize]| -> Result<Cow<'a, [f32]>> {
            let v = &inputs[i];
            if v.shape() != shape {
                return Err(Error::shape(op, format!("{what} of shape {}", fmt_shape(shape)), fmt_shape(v.shape())));
            }
            Ok(v.as_f32())
        };
        let rk = want(2, "a recurrentKernel", &[u, g * u])?;
        let h0 = want(3, "an initial h", &[b, u])?;
        let c0 = if cell == Cell::Lstm { want(4, "an initial c", &[b, u])? } else { Cow::Borrowed(&[][..]) };
        let bias_at = has_bias.then_some(3 + ns);
        let bias = match bias_at {
            Some(i) if reset_after => Some(want(i, "a bias", &[2, g * u])?),
            Some(i) => Some(want(i, "a bias", &[g * u])?),
            None => None,
        };
        let mask = if has_mask {
            let m = &inputs[n_inputs - 1];
            if !(m.shape() == [b, t] || m.shape() == [b, t, 1]) {
                return Err(Error::shape(op, format!("a mask of shape [{b},{t}]"), fmt_shape(m.shape())));
            }
            Some(m.as_f32().iter().map(|&v| v != 0.0).collect())
        } else {
            None
        };
        let read_act = |key: &str, default: &str| -> Result<Act> {
            let name = attrs.str_or(op, key, default)?;
            Act::parse(name).ok_or_else(|| {
                Error::arg(op, format!("attribute '{key}' must be one of linear, relu, sigmoid, hardSigmoid, tanh, got '{name}'"))
            })
        };
        Ok(Spec {
            cell,
            b,
            t,
            f,
            u,
            act: read_act("activation", "tanh")?,
            ract: if cell == Cell::SimpleRnn { Act::Linear } else { read_act("recurrentActivation", "hardSigmoid")? },
            backwards: attrs.bool_or(op, "goBackwards", false)?,
            seq: attrs.bool_or(op, "returnSequences", false)?,
            chrono: attrs.bool_or(op, "chronological", false)?,
            reset_after,
            x: x.as_f32(),
            kernel: k.as_f32(),
            rk,
            h0,
            c0,
            bias,
            mask,
            bias_at,
            n_inputs,
        })
    }

    fn gu(&self) -> usize {
        self.cell.gates() * self.u
    }
    fn w(&self) -> usize {
        self.cell.ws_width(self.u)
    }
    /// The input time step processed `k`-th.
    fn time_at(&self, k: usize) -> usize {
        if self.backwards { self.t - 1 - k } else { k }
    }
    /// Where the output of the `k`-th processed step (input time `t`) goes in the sequence.
    fn slot(&self, k: usize, t: usize) -> usize {
        if self.chrono { t } else { k }
    }
    /// Whether batch row `r` takes step `t` (unmasked).
    fn keep(&self, r: usize, t: usize) -> bool {
        self.mask.as_ref().is_none_or(|m| m[r * self.t + t])
    }
    /// The recurrent bias (GRU with `resetAfter`).
    fn rec_bias(&self) -> Option<&[f32]> {
        if self.reset_after { self.bias.as_ref().map(|b| &b[self.gu()..]) } else { None }
    }
    /// Batch rows per parallel block.
    fn block_rows(&self) -> usize {
        #[cfg(test)]
        {
            let forced = BLOCK_ROWS.with(|c| c.get());
            if forced > 0 {
                return forced.min(self.b.max(1));
            }
        }
        const MIN_ROWS: usize = 8;
        const MIN_WORK: usize = 1 << 18;
        let threads = rayon::current_num_threads().max(1);
        let work = self.b * self.t * self.gu() * self.u;
        if threads == 1 || self.b < 2 * MIN_ROWS || work < MIN_WORK {
            return self.b.max(1);
        }
        self.b.div_ceil((self.b / MIN_ROWS).min(threads))
    }
}

#[cfg(test)]
thread_local! {
    static BLOCK_ROWS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f` with the sequence kernels splitting the batch into blocks of `rows` rows (so that
/// tests cover several blocks on small inputs).
#[cfg(test)]
pub(crate) fn with_block_rows<R>(rows: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            BLOCK_ROWS.with(|c| c.set(self.0));
        }
    }
    let _r = Restore(BLOCK_ROWS.with(|c| c.replace(rows)));
    f()
}

/// `v` cut into `n` pieces of `len` (the last may be shorter); `n` empty pieces when `v` is empty.
fn pieces(v: &mut [f32], len: usize, n: usize) -> Vec<&mut [f32]> {
    if v.is_empty() {
        return (0..n).map(|_| <&mut [f32]>::default()).collect();
    }
    v.chunks_mut(len.max(1)).collect()
}

/// Runs `f` on every job, in parallel when there are several.
fn run_jobs<J: Send>(jobs: Vec<J>, f: impl Fn(J) + Sync + Send) {
    if jobs.len() <= 1 {
        jobs.into_iter().for_each(f);
    } else {
        jobs.into_par_iter().for_each(f);
    }
}

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------

/// One block of batch rows in the forward pass; slices cover only the block's rows.
struct Fwd<'b> {
    r0: usize,
    rows: usize,
    ws: &'b mut [f32],
    y: &'b mut [f32],
    h_t: &'b mut [f32],
    c_t: &'b mut [f32],
}

fn forward(cell: Cell, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let s = Spec::parse(cell, inputs, attrs)?;
    let (b, t, u, w) = (s.b, s.t, s.u, s.w());
    let mut ws = vec![0.0f32; b * t * w];
    let mut y = vec![0.0f32; if s.seq { b * t * u } else { 0 }];
    let mut h_t = vec![0.0f32; b * u];
    let mut c_t = vec![0.0f32; if cell == Cell::Lstm { b * u } else { 0 }];
    if t == 0 {
        // No steps: the final states are the initial ones.
        h_t.copy_from_slice(&s.h0);
        c_t.copy_from_slice(&s.c0);
    }
    if b > 0 && t > 0 {
        let rows = s.block_rows();
        let n = b.div_ceil(rows);
        let jobs: Vec<Fwd> = pieces(&mut ws, rows * t * w, n)
            .into_iter()
            .zip(pieces(&mut y, rows * t * u, n))
            .zip(pieces(&mut h_t, rows * u, n))
            .zip(pieces(&mut c_t, rows * u, n))
            .enumerate()
            .map(|(i, (((ws, y), h_t), c_t))| Fwd { r0: i * rows, rows: rows.min(b - i * rows), ws, y, h_t, c_t })
            .collect();
        run_jobs(jobs, |job| match cell {
            Cell::SimpleRnn => simple_fwd(&s, job),
            Cell::Lstm => lstm_fwd(&s, job),
            Cell::Gru if s.reset_after => gru_ra_fwd(&s, job),
            Cell::Gru => gru_fwd(&s, job),
        });
    }
    let h_t = Tensor::f32(vec![b, u], h_t);
    let out = if s.seq { Tensor::f32(vec![b, t, u], y) } else { h_t.with_new_id() };
    let mut outs = vec![out, h_t];
    if cell == Cell::Lstm {
        outs.push(Tensor::f32(vec![b, u], c_t));
    }
    outs.push(Tensor::f32(vec![b, t, w], ws));
    Ok(outs)
}

isa_dispatch! {
    simple_fwd => simple_fwd_body(s: &Spec<'_>, job: Fwd<'_>);
    lstm_fwd => lstm_fwd_body(s: &Spec<'_>, job: Fwd<'_>);
    gru_fwd => gru_fwd_body(s: &Spec<'_>, job: Fwd<'_>);
    gru_ra_fwd => gru_ra_fwd_body(s: &Spec<'_>, job: Fwd<'_>);
}

/// Writes the initial states into the workspace of the first processed step (`c0`, with
/// `with_c`, into the block after `h`).
#[inline(always)]
fn init_states(s: &Spec, job: &mut Fwd, with_c: bool) {
    let (u, w, gu) = (s.u, s.w(), s.gu());
    let first = s.time_at(0);
    for r in 0..job.rows {
        let row = &mut job.ws[(r * s.t + first) * w..][..w];
        let g = job.r0 + r;
        row[gu..gu + u].copy_from_slice(&s.h0[g * u..(g + 1) * u]);
        if with_c {
            row[gu + u..gu + 2 * u].copy_from_slice(&s.c0[g * u..(g + 1) * u]);
        }
    }
}

/// The input side of step `t`'s gate pre-activations: `ws[:, t, 0..gu] = x[:, t]·kernel + bias`.
#[inline(always)]
fn input_product(s: &Spec, job: &mut Fwd, t: usize) {
    let (f, w, gu) = (s.f, s.w(), s.gu());
    let x = &s.x[(job.r0 * s.t + t) * f..];
    // SAFETY: the block's rows of x at step t (row stride t·f) are rows × f; the kernel is
    // [f, gu]; the destination, rows × gu at (·, t, 0) of the block's workspace (row stride t·w).
    unsafe { small_gemm(job.rows, gu, f, job.ws.as_mut_ptr().add(t * w), s.t * w, false, x.as_ptr(), s.t * f, 1, s.kernel.as_ptr(), gu) };
    if let Some(bias) = &s.bias {
        let bias = &bias[..gu];
        for r in 0..job.rows {
            job.ws[(r * s.t + t) * w..][..gu].iter_mut().zip(bias).for_each(|(z, b)| *z += b);
        }
    }
}

/// `ws[:, t, col..col+n] (+)= ws[:, t, lhs..lhs+u] · rk[:, rk_col..rk_col+n]` over the block's rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_product(s: &Spec, ws: &mut [f32], rows: usize, t: usize, col: usize, n: usize, lhs: usize, rk_col: usize, accumulate: bool) {
    let (w, gu) = (s.w(), s.gu());
    let rs = s.t * w;
    let p = ws.as_mut_ptr();
    // SAFETY: rows × n at (·, t, col) and rows × u at (·, t, lhs) lie in the block's workspace
    // (row stride t·w) and do not overlap (col..col+n and lhs..lhs+u are disjoint column
    // ranges); rk is [u, gu].
    unsafe { small_gemm(rows, n, s.u, p.add(t * w + col), rs, accumulate, p.add(t * w + lhs), rs, 1, s.rk.as_ptr().add(rk_col), gu) }
}

/// Stores a step's new states: into the next processed step's workspace, or the final states;
/// and the output into the sequence.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn store(s: &Spec, job: &mut Fwd, r: usize, k: usize, t: usize, h: &[f32], c: Option<&[f32]>) {
    let (u, w, gu) = (s.u, s.w(), s.gu());
    if k + 1 < s.t {
        let row = &mut job.ws[(r * s.t + s.time_at(k + 1)) * w..][..w];
        row[gu..gu + u].copy_from_slice(h);
        if let Some(c) = c {
            row[gu + u..gu + 2 * u].copy_from_slice(c);
        }
    } else {
        job.h_t[r * u..(r + 1) * u].copy_from_slice(h);
        if let Some(c) = c {
            job.c_t[r * u..(r + 1) * u].copy_from_slice(c);
        }
    }
    if s.seq {
        job.y[(r * s.t + s.slot(k, t)) * u..][..u].copy_from_slice(h);
    }
}

#[inline(always)]
fn simple_fwd_body(s: &Spec<'_>, mut job: Fwd<'_>) {
    let (u, w) = (s.u, s.w());
    init_states(s, &mut job, false);
    let mut h = vec![0.0f32; u];
    for k in 0..s.t {
        let t = s.time_at(k);
        input_product(s, &mut job, t);
        step_product(s, job.ws, job.rows, t, 0, u, u, 0, true);
        for r in 0..job.rows {
            let cur = &job.ws[(r * s.t + t) * w..][..w];
            if s.keep(job.r0 + r, t) {
                s.act.apply(&cur[..u], &mut h);
            } else {
                h.copy_from_slice(&cur[u..2 * u]);
            }
            store(s, &mut job, r, k, t, &h, None);
        }
    }
}

#[inline(always)]
fn lstm_fwd_body(s: &Spec<'_>, mut job: Fwd<'_>) {
    let (u, w) = (s.u, s.w());
    let gu = 4 * u;
    init_states(s, &mut job, true);
    let mut a = vec![0.0f32; gu];
    let (mut c, mut h) = (vec![0.0f32; u], vec![0.0f32; u]);
    for k in 0..s.t {
        let t = s.time_at(k);
        input_product(s, &mut job, t);
        step_product(s, job.ws, job.rows, t, 0, gu, gu, 0, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[(r * s.t + t) * w..][..w];
            if s.keep(job.r0 + r, t) {
                let (head, saved) = cur.split_at_mut(6 * u);
                let (ag, tc) = saved.split_at_mut(u);
                let (z, cp) = (&head[..gu], &head[gu + u..gu + 2 * u]);
                s.ract.apply(&z[..2 * u], &mut a[..2 * u]);
                s.act.apply(&z[2 * u..3 * u], ag);
                s.ract.apply(&z[3 * u..], &mut a[3 * u..]);
                let (ai, rest) = a.split_at(u);
                let (af, rest) = rest.split_at(u);
                let ao = &rest[u..];
                // c = f·c₋ + i·g, h = o·act(c)
                for ((((c, &f), &cp), &i), &g) in c.iter_mut().zip(af).zip(cp).zip(ai).zip(&*ag) {
                    *c = f * cp + i * g;
                }
                s.act.apply(&c, tc);
                zip2(&mut h, ao, tc, |o, tc| o * tc);
            } else {
                let (hp, cp) = (&cur[gu..gu + u], &cur[gu + u..gu + 2 * u]);
                c.copy_from_slice(cp);
                h.copy_from_slice(hp);
            }
            store(s, &mut job, r, k, t, &h, Some(&c));
        }
    }
}

#[inline(always)]
fn gru_fwd_body(s: &Spec<'_>, mut job: Fwd<'_>) {
    let (u, w) = (s.u, s.w());
    let (gu, aux) = (3 * u, 4 * u);
    init_states(s, &mut job, false);
    let mut zs = vec![0.0f32; job.rows * u];
    let (mut rg, mut h) = (vec![0.0f32; u], vec![0.0f32; u]);
    for k in 0..s.t {
        let t = s.time_at(k);
        input_product(s, &mut job, t);
        // z, r: x·W + b + h₋·U[:, z r]
        step_product(s, job.ws, job.rows, t, 0, 2 * u, gu, 0, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[(r * s.t + t) * w..][..w];
            s.ract.apply(&cur[..u], &mut zs[r * u..(r + 1) * u]);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            let (head, rh) = cur.split_at_mut(aux);
            zip2(rh, &rg, &head[gu..gu + u], |r, hp| r * hp);
        }
        // hh's pre-activation: x·Wh + bh + (r·h₋)·U[:, h]
        step_product(s, job.ws, job.rows, t, 2 * u, u, aux, 2 * u, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[(r * s.t + t) * w..][..w];
            let (head, hh) = cur.split_at_mut(5 * u);
            let hp = &head[gu..gu + u];
            if s.keep(job.r0 + r, t) {
                s.act.apply(&head[2 * u..gu], hh);
                // h = z·h₋ + (1 − z)·hh
                zip3(&mut h, &zs[r * u..(r + 1) * u], hp, hh, |z, hp, hh| z * hp + (1.0 - z) * hh);
            } else {
                h.copy_from_slice(hp);
            }
            store(s, &mut job, r, k, t, &h, None);
        }
    }
}

#[inline(always)]
fn gru_ra_fwd_body(s: &Spec<'_>, mut job: Fwd<'_>) {
    let (u, w) = (s.u, s.w());
    let (gu, aux) = (3 * u, 4 * u);
    init_states(s, &mut job, false);
    let rb = s.rec_bias();
    let mut q = vec![0.0f32; job.rows * gu];
    let (mut z, mut rg, mut h) = (vec![0.0f32; u], vec![0.0f32; u], vec![0.0f32; u]);
    for k in 0..s.t {
        let t = s.time_at(k);
        input_product(s, &mut job, t);
        // q = h₋·U, all three gates
        // SAFETY: rows × u at (·, t, gu) of the block's workspace, rk [u, gu], q [rows, gu].
        unsafe { small_gemm(job.rows, gu, u, q.as_mut_ptr(), gu, false, job.ws.as_ptr().add(t * w + gu), s.t * w, 1, s.rk.as_ptr(), gu) };
        for r in 0..job.rows {
            let qr = &mut q[r * gu..(r + 1) * gu];
            if let Some(rb) = rb {
                qr.iter_mut().zip(rb).for_each(|(q, b)| *q += b);
            }
            let cur = &mut job.ws[(r * s.t + t) * w..][..w];
            // z, r: x·W + b + (h₋·U + rb); the workspace keeps qh = h₋·Uh + rbh
            cur[..2 * u].iter_mut().zip(&qr[..2 * u]).for_each(|(x, q)| *x += q);
            cur[aux..aux + u].copy_from_slice(&qr[2 * u..]);
            s.ract.apply(&cur[..u], &mut z);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            // hh's pre-activation: x·Wh + bh + r·qh
            let (head, rest) = cur.split_at_mut(aux);
            let (qh, hh) = rest.split_at_mut(u);
            for ((x, &r), &qh) in head[2 * u..gu].iter_mut().zip(&rg).zip(&*qh) {
                *x += r * qh;
            }
            let hp = &head[gu..gu + u];
            if s.keep(job.r0 + r, t) {
                s.act.apply(&head[2 * u..gu], hh);
                zip3(&mut h, &z, hp, hh, |z, hp, hh| z * hp + (1.0 - z) * hh);
            } else {
                h.copy_from_slice(hp);
            }
            store(s, &mut job, r, k, t, &h, None);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------------------

/// A gradient call's operands: the forward's, the upstream gradients and the saved outputs.
struct Back<'a> {
    s: Spec<'a>,
    dy: Cow<'a, [f32]>,
    dh_t: Cow<'a, [f32]>,
    dc_t: Cow<'a, [f32]>,
    h_t: Cow<'a, [f32]>,
    c_t: Cow<'a, [f32]>,
    ws: Cow<'a, [f32]>,
    /// The recurrent kernel transposed, `[gu, u]`.
    rkt: Vec<f32>,
    /// The kernel transposed, `[gu, f]` (only when the input's gradient is wanted).
    kt: Vec<f32>,
}

/// One block's sums of the weight gradients (empty: not wanted).
struct Partial {
    dk: Vec<f32>,
    drk: Vec<f32>,
    db: Vec<f32>,
    /// GRU `resetAfter`: the recurrent bias's.
    drb: Vec<f32>,
}

/// One block of batch rows in the backward pass.
struct Bwd<'b> {
    r0: usize,
    rows: usize,
    /// The running gradient w.r.t. `h` (and `c`), `[rows, u]`; at the end, `h0`'s (and `c0`'s).
    dh: &'b mut [f32],
    dc: &'b mut [f32],
    /// The input's gradient, `[rows, time, f]` (empty: not wanted).
    dx: &'b mut [f32],
    part: &'b mut Partial,
}

/// Inputs of a gradient kernel: `dy, dhT, (dcT,)` then the forward inputs, then the forward
/// outputs (`y, hT, (cT,) workspace`). Attribute `needs`: which forward inputs' gradients to
/// return (in order, only those).
fn backward(cell: Cell, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let op = cell.grad_kernel();
    let ns = cell.states();
    if inputs.len() < (1 + ns) + (2 + ns) {
        return Err(Error::arg(op, format!("expected the upstream gradients, forward inputs and outputs, got {} inputs", inputs.len())));
    }
    let n_fwd = inputs.len() - (1 + ns) - (2 + ns);
    let fwd_inputs = &inputs[1 + ns..1 + ns + n_fwd];
    let s = Spec::parse(cell, fwd_inputs, attrs)?;
    let outs = &inputs[1 + ns + n_fwd..];
    let (b, t, f, u, gu, w) = (s.b, s.t, s.f, s.u, s.gu(), s.w());
    let expect = |v: &Tensor, what: &str, shape: &[usize]| -> Result<()> {
        if v.shape() != shape {
            return Err(Error::shape(op, format!("{what} of shape {}", fmt_shape(shape)), fmt_shape(v.shape())));
        }
        Ok(())
    };
    let y_shape: Vec<usize> = if s.seq { vec![b, t, u] } else { vec![b, u] };
    expect(&inputs[0], "dy", &y_shape)?;
    expect(&inputs[1], "dhT", &[b, u])?;
    expect(&outs[1], "hT", &[b, u])?;
    let lstm = cell == Cell::Lstm;
    if lstm {
        expect(&inputs[2], "dcT", &[b, u])?;
        expect(&outs[2], "cT", &[b, u])?;
    }
    let ws_t = outs.last().expect("outputs");
    expect(ws_t, "a workspace", &[b, t, w])?;
    let needs: Vec<bool> = match attrs.get("needs") {
        Some(serde_json::Value::Array(v)) if v.len() == s.n_inputs => v.iter().map(|x| x.as_bool().unwrap_or(true)).collect(),
        _ => return Err(Error::arg(op, format!("attribute 'needs' must be a list of {} booleans", s.n_inputs))),
    };
    let need_bias = s.bias_at.is_some_and(|i| needs[i]);
    let ra = s.reset_after;
    let g = Back {
        dy: inputs[0].as_f32(),
        dh_t: inputs[1].as_f32(),
        dc_t: if lstm { inputs[2].as_f32() } else { Cow::Borrowed(&[][..]) },
        h_t: outs[1].as_f32(),
        c_t: if lstm { outs[2].as_f32() } else { Cow::Borrowed(&[][..]) },
        ws: ws_t.as_f32(),
        rkt: transpose(&s.rk, u, gu),
        kt: if needs[0] { transpose(&s.kernel, f, gu) } else { Vec::new() },
        s,
    };
    let s = &g.s;
    let mut dh0 = vec![0.0f32; b * u];
    let mut dc0 = vec![0.0f32; if lstm { b * u } else { 0 }];
    let mut dx = vec![0.0f32; if needs[0] { b * t * f } else { 0 }];
    let rows = s.block_rows();
    let n = if b > 0 && t > 0 { b.div_ceil(rows) } else { 0 };
    let sized = |want: bool, len: usize| if want { vec![0.0f32; len] } else { Vec::new() };
    let mut parts: Vec<Partial> = (0..n)
        .map(|_| Partial { dk: sized(needs[1], f * gu), drk: sized(needs[2], u * gu), db: sized(need_bias, gu), drb: sized(need_bias && ra, gu) })
        .collect();
    if n > 0 {
        let jobs: Vec<Bwd> = pieces(&mut dh0, rows * u, n)
            .into_iter()
            .zip(pieces(&mut dc0, rows * u, n))
            .zip(pieces(&mut dx, rows * t * f, n))
            .zip(parts.iter_mut())
            .enumerate()
            .map(|(i, (((dh, dc), dx), part))| Bwd { r0: i * rows, rows: rows.min(b - i * rows), dh, dc, dx, part })
            .collect();
        run_jobs(jobs, |job| match cell {
            Cell::SimpleRnn => simple_bwd(&g, job),
            Cell::Lstm => lstm_bwd(&g, job),
            Cell::Gru if ra => gru_ra_bwd(&g, job),
            Cell::Gru => gru_bwd(&g, job),
        });
    } else {
        // No steps: the states' gradients pass straight through.
        dh0.copy_from_slice(&g.dh_t);
        if !s.seq {
            dh0.iter_mut().zip(g.dy.iter()).for_each(|(d, y)| *d += y);
        }
        if lstm {
            dc0.copy_from_slice(&g.dc_t);
        }
    }
    let sum = |pick: fn(&Partial) -> &Vec<f32>, len: usize| -> Vec<f32> {
        let mut acc = vec![0.0f32; len];
        for p in &parts {
            acc.iter_mut().zip(pick(p)).for_each(|(a, x)| *a += x);
        }
        acc
    };
    let mut grads = Vec::new();
    if needs[0] {
        grads.push(Tensor::f32(vec![b, t, f], dx));
    }
    if needs[1] {
        grads.push(Tensor::f32(vec![f, gu], sum(|p| &p.dk, f * gu)));
    }
    if needs[2] {
        grads.push(Tensor::f32(vec![u, gu], sum(|p| &p.drk, u * gu)));
    }
    if needs[3] {
        grads.push(Tensor::f32(vec![b, u], dh0));
    }
    if lstm && needs[4] {
        grads.push(Tensor::f32(vec![b, u], dc0));
    }
    if need_bias {
        let mut db = sum(|p| &p.db, gu);
        if ra {
            db.extend(sum(|p| &p.drb, gu));
            grads.push(Tensor::f32(vec![2, gu], db));
        } else {
            grads.push(Tensor::f32(vec![gu], db));
        }
    }
    Ok(grads)
}

/// The transpose of a row-major `[rows, cols]` matrix.
fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * cols];
    for (i, row) in v.chunks(cols.max(1)).enumerate().take(rows) {
        for (j, &x) in row.iter().enumerate() {
            out[j * rows + i] = x;
        }
    }
    out
}

isa_dispatch! {
    simple_bwd => simple_bwd_body(g: &Back<'_>, job: Bwd<'_>);
    lstm_bwd => lstm_bwd_body(g: &Back<'_>, job: Bwd<'_>);
    gru_bwd => gru_bwd_body(g: &Back<'_>, job: Bwd<'_>);
    gru_ra_bwd => gru_ra_bwd_body(g: &Back<'_>, job: Bwd<'_>);
}

/// The running gradient w.r.t. the block's `h` (and `c`) after the last step: the final
/// states' gradients, plus the output's when it is the last `h`.
#[inline(always)]
fn init_grads(g: &Back, job: &mut Bwd) {
    let (s, u) = (&g.s, g.s.u);
    let span = job.r0 * u..(job.r0 + job.rows) * u;
    job.dh.copy_from_slice(&g.dh_t[span.clone()]);
    if !s.seq {
        job.dh.iter_mut().zip(&g.dy[span.clone()]).for_each(|(d, y)| *d += y);
    }
    if s.cell == Cell::Lstm {
        job.dc.copy_from_slice(&g.dc_t[span]);
    }
}

/// Adds the sequence output's gradient at the `k`-th processed step to the running `dh`.
#[inline(always)]
fn add_step_dy(g: &Back, job: &mut Bwd, k: usize, t: usize) {
    let (s, u) = (&g.s, g.s.u);
    if !s.seq {
        return;
    }
    let slot = s.slot(k, t);
    for r in 0..job.rows {
        let dy = &g.dy[((job.r0 + r) * s.t + slot) * u..][..u];
        job.dh[r * u..(r + 1) * u].iter_mut().zip(dy).for_each(|(d, y)| *d += y);
    }
}

/// `dhp[r] ← (held rows: dh[r], else 0) + d[:, col..col+kk] · rk[:, rk_col..rk_col+kk]ᵀ`, then
/// `dh ← dhp`. `d` is the step's `[rows, gu]`. With `preset`, `dhp` already holds the first
/// term.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn carry_dh(g: &Back, job: &mut Bwd, dhp: &mut [f32], d: &[f32], t: usize, col: usize, kk: usize, rk_col: usize, preset: bool) {
    let s = &g.s;
    let (u, gu) = (s.u, s.gu());
    if !preset {
        for r in 0..job.rows {
            let dst = &mut dhp[r * u..(r + 1) * u];
            if s.keep(job.r0 + r, t) {
                dst.fill(0.0);
            } else {
                dst.copy_from_slice(&job.dh[r * u..(r + 1) * u]);
            }
        }
    }
    // SAFETY: d is [rows, gu] (read from column col), rows rk_col..rk_col+kk of rkt [gu, u],
    // dhp [rows, u]; dhp is a separate buffer.
    unsafe { small_gemm(job.rows, u, kk, dhp.as_mut_ptr(), u, true, d.as_ptr().add(col), gu, 1, g.rkt.as_ptr().add(rk_col * u), u) };
    job.dh.copy_from_slice(dhp);
}

/// Adds step `t`'s share of the weight gradients to the block's sums and writes its input
/// gradient. `dz` is the gradient of the input side of the gates' pre-activations and `drec`
/// of the recurrent side (the same but for GRU with `resetAfter`), each `[rows, gu]`.
#[inline(always)]
fn step_weight_grads(g: &Back, job: &mut Bwd, t: usize, dz: &[f32], drec: &[f32]) {
    let s = &g.s;
    let (f, u, w, gu, rows) = (s.f, s.u, s.w(), s.gu(), job.rows);
    let x = &s.x[(job.r0 * s.t + t) * f..];
    let ws = &g.ws[(job.r0 * s.t + t) * w..];
    let part = &mut *job.part;
    // SAFETY: x's block rows at step t are rows × f (row stride t·f), read transposed; the
    // workspace's are rows × w (row stride t·w), read transposed from column gu (h₋) or 4u
    // (GRU: r·h₋); dz and drec are [rows, gu]; dk [f, gu], drk [u, gu], kt [gu, f]; the
    // block's dx is rows × f at (·, t) with row stride t·f. Destinations are separate buffers.
    unsafe {
        if !part.dk.is_empty() {
            small_gemm(f, gu, rows, part.dk.as_mut_ptr(), gu, true, x.as_ptr(), 1, s.t * f, dz.as_ptr(), gu);
        }
        if !part.drk.is_empty() {
            let (h, drk) = (ws.as_ptr(), part.drk.as_mut_ptr());
            if s.cell == Cell::Gru && !s.reset_after {
                small_gemm(u, 2 * u, rows, drk, gu, true, h.add(gu), 1, s.t * w, drec.as_ptr(), gu);
                small_gemm(u, u, rows, drk.add(2 * u), gu, true, h.add(4 * u), 1, s.t * w, drec.as_ptr().add(2 * u), gu);
            } else {
                small_gemm(u, gu, rows, drk, gu, true, h.add(gu), 1, s.t * w, drec.as_ptr(), gu);
            }
        }
        if !job.dx.is_empty() {
            small_gemm(rows, f, gu, job.dx.as_mut_ptr().add(t * f), s.t * f, false, dz.as_ptr(), gu, 1, g.kt.as_ptr(), f);
        }
    }
    if !part.db.is_empty() {
        for row in dz.chunks(gu) {
            part.db.iter_mut().zip(row).for_each(|(a, x)| *a += x);
        }
    }
    if !part.drb.is_empty() {
        for row in drec.chunks(gu) {
            part.drb.iter_mut().zip(row).for_each(|(a, x)| *a += x);
        }
    }
}

#[inline(always)]
fn simple_bwd_body(g: &Back<'_>, mut job: Bwd<'_>) {
    let s = &g.s;
    let (u, w) = (s.u, s.w());
    init_grads(g, &mut job);
    let ws = &g.ws[job.r0 * s.t * w..(job.r0 + job.rows) * s.t * w];
    let h_t = &g.h_t[job.r0 * u..(job.r0 + job.rows) * u];
    let (mut dzs, mut dhp) = (vec![0.0f32; job.rows * u], vec![0.0f32; job.rows * u]);
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        for r in 0..job.rows {
            let dz = &mut dzs[r * u..(r + 1) * u];
            if !s.keep(job.r0 + r, t) {
                dz.fill(0.0);
                continue;
            }
            let z = &ws[(r * s.t + t) * w..][..u];
            // act(z): the step's output, which the next step kept as its h₋
            let h = if k + 1 < s.t { &ws[(r * s.t + s.time_at(k + 1)) * w + u..][..u] } else { &h_t[r * u..(r + 1) * u] };
            dz.copy_from_slice(&job.dh[r * u..(r + 1) * u]);
            s.act.grad(dz, z, h);
        }
        carry_dh(g, &mut job, &mut dhp, &dzs, t, 0, u, 0, false);
        step_weight_grads(g, &mut job, t, &dzs, &dzs);
    }
}

#[inline(always)]
fn lstm_bwd_body(g: &Back<'_>, mut job: Bwd<'_>) {
    let s = &g.s;
    let (u, w) = (s.u, s.w());
    let gu = 4 * u;
    init_grads(g, &mut job);
    let ws = &g.ws[job.r0 * s.t * w..(job.r0 + job.rows) * s.t * w];
    let c_t = &g.c_t[job.r0 * u..(job.r0 + job.rows) * u];
    let mut a = vec![0.0f32; gu];
    let (mut dtc, mut dsum) = (vec![0.0f32; u], vec![0.0f32; u]);
    let (mut dzs, mut dhp) = (vec![0.0f32; job.rows * gu], vec![0.0f32; job.rows * u]);
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        for r in 0..job.rows {
            let dz = &mut dzs[r * gu..(r + 1) * gu];
            if !s.keep(job.r0 + r, t) {
                dz.fill(0.0);
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let z = &cur[..gu];
            let cp = &cur[gu + u..gu + 2 * u];
            let (ag, tc) = (&cur[6 * u..7 * u], &cur[7 * u..8 * u]);
            let c = if k + 1 < s.t { &ws[(r * s.t + s.time_at(k + 1)) * w + gu + u..][..u] } else { &c_t[r * u..(r + 1) * u] };
            s.ract.apply(&z[..2 * u], &mut a[..2 * u]);
            s.ract.apply(&z[3 * u..], &mut a[3 * u..]);
            let dh = &job.dh[r * u..(r + 1) * u];
            let dc = &mut job.dc[r * u..(r + 1) * u];
            let (ai, rest) = a.split_at(u);
            let (af, rest) = rest.split_at(u);
            let ao = &rest[u..];
            // h = o·act(c)
            zip2(&mut dtc, dh, ao, |dh, o| dh * o);
            s.act.grad(&mut dtc, c, tc);
            let (dzi, rest) = dz.split_at_mut(u);
            let (dzf, rest) = rest.split_at_mut(u);
            let (dzg, dzo) = rest.split_at_mut(u);
            // c = f·c₋ + i·g
            zip2(&mut dsum, dc, &dtc, |a, b| a + b);
            zip2(dzi, &dsum, ag, |d, g| d * g);
            zip2(dzg, &dsum, ai, |d, i| d * i);
            zip2(dzf, &dsum, cp, |d, c| d * c);
            zip2(dzo, dh, tc, |d, t| d * t);
            zip2(dc, &dsum, af, |d, f| d * f);
            s.ract.grad(dzi, &z[..u], ai);
            s.ract.grad(dzf, &z[u..2 * u], af);
            s.act.grad(dzg, &z[2 * u..3 * u], ag);
            s.ract.grad(dzo, &z[3 * u..], ao);
        }
        carry_dh(g, &mut job, &mut dhp, &dzs, t, 0, gu, 0, false);
        step_weight_grads(g, &mut job, t, &dzs, &dzs);
    }
}

#[inline(always)]
fn gru_bwd_body(g: &Back<'_>, mut job: Bwd<'_>) {
    let s = &g.s;
    let (u, w) = (s.u, s.w());
    let gu = 3 * u;
    init_grads(g, &mut job);
    let ws = &g.ws[job.r0 * s.t * w..(job.r0 + job.rows) * s.t * w];
    let rows = job.rows;
    let (mut zs, mut rs) = (vec![0.0f32; rows * u], vec![0.0f32; rows * u]);
    let (mut drh, mut dhp) = (vec![0.0f32; rows * u], vec![0.0f32; rows * u]);
    let mut dzs = vec![0.0f32; rows * gu];
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        // h = z·h₋ + (1 − z)·hh
        for r in 0..rows {
            let dz = &mut dzs[r * gu..(r + 1) * gu];
            let dh = &job.dh[r * u..(r + 1) * u];
            let dhp = &mut dhp[r * u..(r + 1) * u];
            if !s.keep(job.r0 + r, t) {
                dz.fill(0.0);
                dhp.copy_from_slice(dh);
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let hp = &cur[gu..gu + u];
            let z = &mut zs[r * u..(r + 1) * u];
            let hh = &cur[5 * u..6 * u];
            s.ract.apply(&cur[..u], z);
            s.ract.apply(&cur[u..2 * u], &mut rs[r * u..(r + 1) * u]);
            let (dzz, rest) = dz.split_at_mut(u);
            let dzh = &mut rest[u..];
            zip3(dzz, dh, hp, hh, |d, h, hh| d * (h - hh));
            zip2(dzh, dh, z, |d, z| d * (1.0 - z));
            zip2(dhp, dh, z, |d, z| d * z);
            s.ract.grad(dzz, &cur[..u], z);
            s.act.grad(dzh, &cur[2 * u..gu], hh);
        }
        // d(r·h₋) = dz_h · U[:, h]ᵀ
        // SAFETY: dzs [rows, gu] read from column 2u, rows 2u..3u of rkt [gu, u], drh [rows, u].
        unsafe { small_gemm(rows, u, u, drh.as_mut_ptr(), u, false, dzs.as_ptr().add(2 * u), gu, 1, g.rkt.as_ptr().add(2 * u * u), u) };
        for r in 0..rows {
            if !s.keep(job.r0 + r, t) {
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let hp = &cur[gu..gu + u];
            let rg = &rs[r * u..(r + 1) * u];
            let drh = &drh[r * u..(r + 1) * u];
            let dzr = &mut dzs[r * gu + u..][..u];
            let dhp = &mut dhp[r * u..(r + 1) * u];
            zip2(dzr, drh, hp, |d, h| d * h);
            for ((o, &d), &r) in dhp.iter_mut().zip(drh).zip(rg) {
                *o += d * r;
            }
            s.ract.grad(dzr, &cur[u..2 * u], rg);
        }
        carry_dh(g, &mut job, &mut dhp, &dzs, t, 0, 2 * u, 0, true);
        step_weight_grads(g, &mut job, t, &dzs, &dzs);
    }
}

#[inline(always)]
fn gru_ra_bwd_body(g: &Back<'_>, mut job: Bwd<'_>) {
    let s = &g.s;
    let (u, w) = (s.u, s.w());
    let (gu, aux) = (3 * u, 4 * u);
    init_grads(g, &mut job);
    let ws = &g.ws[job.r0 * s.t * w..(job.r0 + job.rows) * s.t * w];
    let (mut z, mut rg) = (vec![0.0f32; u], vec![0.0f32; u]);
    let mut dhp = vec![0.0f32; job.rows * u];
    let (mut dzs, mut dqs) = (vec![0.0f32; job.rows * gu], vec![0.0f32; job.rows * gu]);
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        for r in 0..job.rows {
            let dh = &job.dh[r * u..(r + 1) * u];
            let dhp = &mut dhp[r * u..(r + 1) * u];
            let dz = &mut dzs[r * gu..(r + 1) * gu];
            let dq = &mut dqs[r * gu..(r + 1) * gu];
            if !s.keep(job.r0 + r, t) {
                dz.fill(0.0);
                dq.fill(0.0);
                dhp.copy_from_slice(dh);
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let hp = &cur[gu..gu + u];
            let (qh, hh) = (&cur[aux..aux + u], &cur[aux + u..aux + 2 * u]);
            s.ract.apply(&cur[..u], &mut z);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            let (dzz, rest) = dz.split_at_mut(u);
            let (dzr, dzh) = rest.split_at_mut(u);
            zip3(dzz, dh, hp, hh, |d, h, hh| d * (h - hh));
            zip2(dzh, dh, &z, |d, z| d * (1.0 - z));
            zip2(dhp, dh, &z, |d, z| d * z);
            s.ract.grad(dzz, &cur[..u], &z);
            s.act.grad(dzh, &cur[2 * u..gu], hh);
            // hh's pre-activation = x·Wh + bh + r·qh
            zip2(dzr, dzh, qh, |d, q| d * q);
            zip2(&mut dq[2 * u..], dzh, &rg, |d, r| d * r);
            s.ract.grad(dzr, &cur[u..2 * u], &rg);
            dq[..2 * u].copy_from_slice(&dz[..2 * u]);
        }
        carry_dh(g, &mut job, &mut dhp, &dqs, t, 0, gu, 0, true);
        step_weight_grads(g, &mut job, t, &dzs, &dqs);
    }
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

fn simple_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    forward(Cell::SimpleRnn, i, a)
}
fn lstm_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    forward(Cell::Lstm, i, a)
}
fn gru_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    forward(Cell::Gru, i, a)
}
fn simple_grad_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    backward(Cell::SimpleRnn, i, a)
}
fn lstm_grad_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    backward(Cell::Lstm, i, a)
}
fn gru_grad_k(i: &[Tensor], a: &Attrs) -> Result<Vec<Tensor>> {
    backward(Cell::Gru, i, a)
}

/// The gradient rule: one `…Grad` kernel run (recorded like any kernel, so an enclosing tape
/// sees it and reports that it has no gradient rather than silently dropping one).
fn grad_rule(cell: Cell, c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    let n = c.inputs.len();
    let has_mask = c.attrs.bool_or(cell.kernel(), "hasMask", false)?;
    let needs: Vec<bool> = (0..n).map(|i| c.needs(i) && !(has_mask && i == n - 1)).collect();
    if !needs.iter().any(|&x| x) {
        return Ok(vec![None; n]);
    }
    let ns = cell.states();
    let mut inputs: Vec<Tensor> = c.dys[..1 + ns].to_vec();
    inputs.extend(c.inputs.iter().cloned());
    inputs.extend(c.outputs.iter().cloned());
    let attrs = c.attrs.clone().with("needs", needs.clone());
    let mut grads = run_kernel(cell.grad_kernel(), &inputs, &attrs)?.into_iter();
    Ok(needs.iter().map(|&w| if w { grads.next() } else { None }).collect())
}

fn simple_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    grad_rule(Cell::SimpleRnn, c)
}
fn lstm_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    grad_rule(Cell::Lstm, c)
}
fn gru_grad(c: &GradCtx) -> Result<Vec<Option<Tensor>>> {
    grad_rule(Cell::Gru, c)
}

pub fn register(r: &mut Registry) {
    r.builtin(Cell::SimpleRnn.kernel(), Cell::SimpleRnn.input_names(), simple_k, Some(simple_grad));
    r.builtin(Cell::Lstm.kernel(), Cell::Lstm.input_names(), lstm_k, Some(lstm_grad));
    r.builtin(Cell::Gru.kernel(), Cell::Gru.input_names(), gru_k, Some(gru_grad));
    for cell in [Cell::SimpleRnn, Cell::Lstm, Cell::Gru] {
        // The output, the final states; then the workspace.
        r.workspace_outputs_after(cell.kernel(), 1 + cell.states());
    }
    r.builtin(Cell::SimpleRnn.grad_kernel(), &[], simple_grad_k, None);
    r.builtin(Cell::Lstm.grad_kernel(), &[], lstm_grad_k, None);
    r.builtin(Cell::Gru.grad_kernel(), &[], gru_grad_k, None);
}
