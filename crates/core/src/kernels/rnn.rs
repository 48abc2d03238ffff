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
    /// pre-activations, the previous `h`, and one more block for LSTM (the previous `c`) and GRU
    /// (`r·h₋`, or with `resetAfter` `h₋·Uh + rbh`).
    fn ws_width(self, u: usize) -> usize {
        (self.gates() + 1 + (self != Cell::SimpleRnn) as usize) * u
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
    let (b, t, f, u, gu, w) = (s.b, s.t, s.f, s.u, s.gu(), s.w());
    let mut ws = vec![0.0f32; b * t * w];
    // The input projection of every step at once, into the gate columns.
    // SAFETY: x is [b·t, f], the kernel [f, gu]; the destination is the first gu columns of
    // the b·t workspace rows of w ≥ gu columns.
    unsafe { sgemm_raw(b * t, gu, f, ws.as_mut_ptr(), w as isize, false, s.x.as_ptr(), f as isize, 1, s.kernel.as_ptr(), gu as isize, 1, true) };
    if let Some(bias) = &s.bias {
        let bias = &bias[..gu];
        for row in ws.chunks_mut(w) {
            row[..gu].iter_mut().zip(bias).for_each(|(z, b)| *z += b);
        }
    }
    let mut y = vec![0.0f32; if s.seq { b * t * u } else { 0 }];
    let mut h_t = vec![0.0f32; b * u];
    let mut c_t = vec![0.0f32; if cell == Cell::Lstm { b * u } else { 0 }];
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

/// Writes the initial states into the workspace of the first processed step; `extra` (LSTM's
/// `c0`) goes into the block after `h`.
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

/// `ws[:, t, col..col+n] += ws[:, t, lhs..lhs+k] · rk[:, rk_col..rk_col+n]` over the block's rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_product(s: &Spec, ws: &mut [f32], rows: usize, t: usize, col: usize, n: usize, lhs: usize, rk_col: usize, accumulate: bool) {
    let (w, gu) = (s.w(), s.gu());
    let rs = (s.t * w) as isize;
    let p = ws.as_mut_ptr();
    // SAFETY: rows × n at (·, t, col) and rows × u at (·, t, lhs) lie in the block's workspace
    // (row stride t·w) and do not overlap (col..col+n and lhs..lhs+u are disjoint column
    // ranges); rk is [u, gu].
    unsafe {
        sgemm_raw(rows, n, s.u, p.add(t * w + col), rs, accumulate, p.add(t * w + lhs), rs, 1, s.rk.as_ptr().add(rk_col), gu as isize, 1, false)
    }
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
    let (mut c, mut tc, mut h) = (vec![0.0f32; u], vec![0.0f32; u], vec![0.0f32; u]);
    for k in 0..s.t {
        let t = s.time_at(k);
        step_product(s, job.ws, job.rows, t, 0, gu, gu, 0, true);
        for r in 0..job.rows {
            let cur = &job.ws[(r * s.t + t) * w..][..w];
            let (hp, cp) = (&cur[gu..gu + u], &cur[gu + u..gu + 2 * u]);
            if s.keep(job.r0 + r, t) {
                s.ract.apply(&cur[..2 * u], &mut a[..2 * u]);
                s.act.apply(&cur[2 * u..3 * u], &mut a[2 * u..3 * u]);
                s.ract.apply(&cur[3 * u..gu], &mut a[3 * u..]);
                let (ai, rest) = a.split_at(u);
                let (af, rest) = rest.split_at(u);
                let (ag, ao) = rest.split_at(u);
                for ((((c, &f), &cp), &i), &g) in c.iter_mut().zip(af).zip(cp).zip(ai).zip(ag) {
                    *c = f * cp + i * g;
                }
                s.act.apply(&c, &mut tc);
                for ((h, &o), &tc) in h.iter_mut().zip(ao).zip(&tc) {
                    *h = o * tc;
                }
            } else {
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
    let mut rg = vec![0.0f32; u];
    let (mut hh, mut h) = (vec![0.0f32; u], vec![0.0f32; u]);
    for k in 0..s.t {
        let t = s.time_at(k);
        // z, r: x-projection + h₋·U[:, z r]
        step_product(s, job.ws, job.rows, t, 0, 2 * u, gu, 0, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[(r * s.t + t) * w..][..w];
            s.ract.apply(&cur[..u], &mut zs[r * u..(r + 1) * u]);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            let (head, rh) = cur.split_at_mut(aux);
            for ((rh, &r), &hp) in rh.iter_mut().zip(&rg).zip(&head[gu..gu + u]) {
                *rh = r * hp;
            }
        }
        // hh's pre-activation: x-projection + (r·h₋)·U[:, h]
        step_product(s, job.ws, job.rows, t, 2 * u, u, aux, 2 * u, true);
        for r in 0..job.rows {
            let cur = &job.ws[(r * s.t + t) * w..][..w];
            let hp = &cur[gu..gu + u];
            if s.keep(job.r0 + r, t) {
                s.act.apply(&cur[2 * u..gu], &mut hh);
                for (((h, &z), &hp), &hh) in h.iter_mut().zip(&zs[r * u..(r + 1) * u]).zip(hp).zip(&hh) {
                    *h = z * hp + (1.0 - z) * hh;
                }
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
    let (mut z, mut rg, mut hh, mut h) = (vec![0.0f32; u], vec![0.0f32; u], vec![0.0f32; u], vec![0.0f32; u]);
    for k in 0..s.t {
        let t = s.time_at(k);
        // q = h₋·U, all three gates
        let rs = (s.t * w) as isize;
        // SAFETY: rows × u at (·, t, gu) of the block's workspace, rk [u, gu], q [rows, gu].
        unsafe {
            sgemm_raw(job.rows, gu, u, q.as_mut_ptr(), gu as isize, false, job.ws.as_ptr().add(t * w + gu), rs, 1, s.rk.as_ptr(), gu as isize, 1, false)
        };
        for r in 0..job.rows {
            let qr = &mut q[r * gu..(r + 1) * gu];
            if let Some(rb) = rb {
                qr.iter_mut().zip(rb).for_each(|(q, b)| *q += b);
            }
            let cur = &mut job.ws[(r * s.t + t) * w..][..w];
            cur[..2 * u].iter_mut().zip(&qr[..2 * u]).for_each(|(x, q)| *x += q);
            cur[aux..aux + u].copy_from_slice(&qr[2 * u..]);
            s.ract.apply(&cur[..u], &mut z);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            let (head, qh) = cur.split_at_mut(aux);
            for ((x, &r), &qh) in head[2 * u..gu].iter_mut().zip(&rg).zip(&qh[..u]) {
                *x += r * qh;
            }
            let hp = &head[gu..gu + u];
            if s.keep(job.r0 + r, t) {
                s.act.apply(&head[2 * u..gu], &mut hh);
                for (((h, &z), &hp), &hh) in h.iter_mut().zip(&z).zip(hp).zip(&hh) {
                    *h = z * hp + (1.0 - z) * hh;
                }
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
    c_t: Cow<'a, [f32]>,
    ws: Cow<'a, [f32]>,
}

/// One block of batch rows in the backward pass.
struct Bwd<'b> {
    r0: usize,
    rows: usize,
    /// Gradient of the gates' pre-activations `[rows, time, gu]` (GRU `resetAfter`: of the
    /// x-projection).
    dz: &'b mut [f32],
    /// GRU `resetAfter`: gradient of `h₋·U + rb`, `[rows, time, gu]`.
    dq: &'b mut [f32],
    /// The gradient reaching `h0` (and `c0`), `[rows, u]`.
    dh: &'b mut [f32],
    dc: &'b mut [f32],
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
    if cell == Cell::Lstm {
        expect(&inputs[2], "dcT", &[b, u])?;
        expect(&outs[2], "cT", &[b, u])?;
    }
    let ws_t = outs.last().expect("outputs");
    expect(ws_t, "a workspace", &[b, t, w])?;
    let needs: Vec<bool> = match attrs.get("needs") {
        Some(serde_json::Value::Array(v)) if v.len() == s.n_inputs => v.iter().map(|x| x.as_bool().unwrap_or(true)).collect(),
        _ => return Err(Error::arg(op, format!("attribute 'needs' must be a list of {} booleans", s.n_inputs))),
    };
    let lstm = cell == Cell::Lstm;
    let g = Back {
        dy: inputs[0].as_f32(),
        dh_t: inputs[1].as_f32(),
        dc_t: if lstm { inputs[2].as_f32() } else { Cow::Borrowed(&[][..]) },
        c_t: if lstm { outs[2].as_f32() } else { Cow::Borrowed(&[][..]) },
        ws: ws_t.as_f32(),
        s,
    };
    let s = &g.s;
    let ra = s.reset_after;
    let mut dz = vec![0.0f32; b * t * gu];
    let mut dq = vec![0.0f32; if ra { b * t * gu } else { 0 }];
    let mut dh0 = vec![0.0f32; b * u];
    let mut dc0 = vec![0.0f32; if lstm { b * u } else { 0 }];
    if b > 0 && t > 0 {
        let rows = s.block_rows();
        let n = b.div_ceil(rows);
        let jobs: Vec<Bwd> = pieces(&mut dz, rows * t * gu, n)
            .into_iter()
            .zip(pieces(&mut dq, rows * t * gu, n))
            .zip(pieces(&mut dh0, rows * u, n))
            .zip(pieces(&mut dc0, rows * u, n))
            .enumerate()
            .map(|(i, (((dz, dq), dh), dc))| Bwd { r0: i * rows, rows: rows.min(b - i * rows), dz, dq, dh, dc })
            .collect();
        run_jobs(jobs, |job| match cell {
            Cell::SimpleRnn => simple_bwd(&g, job),
            Cell::Lstm => lstm_bwd(&g, job),
            Cell::Gru if ra => gru_ra_bwd(&g, job),
            Cell::Gru => gru_bwd(&g, job),
        });
    }
    // The gradient flowing into the recurrent product (equal to dz except for resetAfter).
    let drec: &[f32] = if ra { &dq } else { &dz };
    let bt = b * t;
    let mut grads = Vec::new();
    if needs[0] {
        let mut dx = vec![0.0f32; bt * f];
        // SAFETY: dz [bt, gu] times kernelᵀ (kernel [f, gu]) into dx [bt, f].
        unsafe { sgemm_raw(bt, f, gu, dx.as_mut_ptr(), f as isize, false, dz.as_ptr(), gu as isize, 1, s.kernel.as_ptr(), 1, gu as isize, true) };
        grads.push(Tensor::f32(vec![b, t, f], dx));
    }
    if needs[1] {
        let mut dk = vec![0.0f32; f * gu];
        // SAFETY: xᵀ (x [bt, f]) times dz [bt, gu] into dk [f, gu].
        unsafe { sgemm_raw(f, gu, bt, dk.as_mut_ptr(), gu as isize, false, s.x.as_ptr(), 1, f as isize, dz.as_ptr(), gu as isize, 1, true) };
        grads.push(Tensor::f32(vec![f, gu], dk));
    }
    if needs[2] {
        let mut drk = vec![0.0f32; u * gu];
        let ws = g.ws.as_ptr();
        if cell == Cell::Gru && !ra {
            // z, r columns from h₋; h columns from r·h₋ (the workspace's extra block).
            // SAFETY: h₋ᵀ / (r·h₋)ᵀ are u × bt at column gu / 4u of the [bt, w] workspace
            // (row stride w); dz [bt, gu]; drk [u, gu] written in two disjoint column ranges.
            unsafe {
                sgemm_raw(u, 2 * u, bt, drk.as_mut_ptr(), gu as isize, false, ws.add(gu), 1, w as isize, dz.as_ptr(), gu as isize, 1, true);
                sgemm_raw(u, u, bt, drk.as_mut_ptr().add(2 * u), gu as isize, false, ws.add(4 * u), 1, w as isize, dz.as_ptr().add(2 * u), gu as isize, 1, true);
            }
        } else {
            // SAFETY: h₋ᵀ is u × bt at column gu of the workspace; drec [bt, gu]; drk [u, gu].
            unsafe { sgemm_raw(u, gu, bt, drk.as_mut_ptr(), gu as isize, false, ws.add(gu), 1, w as isize, drec.as_ptr(), gu as isize, 1, true) };
        }
        grads.push(Tensor::f32(vec![u, gu], drk));
    }
    if needs[3] {
        grads.push(Tensor::f32(vec![b, u], dh0));
    }
    if lstm && needs[4] {
        grads.push(Tensor::f32(vec![b, u], dc0));
    }
    if let Some(i) = s.bias_at {
        if needs[i] {
            let mut db = column_sums(&dz, gu);
            if ra {
                db.extend(column_sums(&dq, gu));
                grads.push(Tensor::f32(vec![2, gu], db));
            } else {
                grads.push(Tensor::f32(vec![gu], db));
            }
        }
    }
    Ok(grads)
}

/// Sums of the columns of a row-major `[rows, n]` matrix.
fn column_sums(v: &[f32], n: usize) -> Vec<f32> {
    let mut acc = vec![0.0f32; n];
    for row in v.chunks(n) {
        acc.iter_mut().zip(row).for_each(|(a, x)| *a += x);
    }
    acc
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

/// `dhp[r] ← (held rows: dh[r], else 0) + d[:, t, col..col+kk] · rk[:, rk_col..rk_col+kk]ᵀ`, then
/// `dh ← dhp`. `d` is `[rows, time, gu]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn carry_dh(s: &Spec, job: &mut Bwd, dhp: &mut [f32], d: &[f32], t: usize, col: usize, kk: usize, rk_col: usize, preset: bool) {
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
    // SAFETY: d's rows × kk at (·, t, col) (row stride t·gu), rk [u, gu] read transposed from
    // column rk_col, dhp [rows, u]; dhp is a separate buffer.
    unsafe {
        sgemm_raw(job.rows, u, kk, dhp.as_mut_ptr(), u as isize, true, d.as_ptr().add(t * gu + col), (s.t * gu) as isize, 1, s.rk.as_ptr().add(rk_col), 1, gu as isize, false)
    };
    job.dh.copy_from_slice(dhp);
}

#[inline(always)]
fn simple_bwd_body(g: &Back<'_>, mut job: Bwd<'_>) {
    let s = &g.s;
    let (u, w) = (s.u, s.w());
    init_grads(g, &mut job);
    let ws = &g.ws[job.r0 * s.t * w..(job.r0 + job.rows) * s.t * w];
    let mut h = vec![0.0f32; u];
    let mut dhp = vec![0.0f32; job.rows * u];
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        for r in 0..job.rows {
            let dz = &mut job.dz[(r * s.t + t) * u..][..u];
            if !s.keep(job.r0 + r, t) {
                dz.fill(0.0);
                continue;
            }
            let z = &ws[(r * s.t + t) * w..][..u];
            s.act.apply(z, &mut h);
            dz.copy_from_slice(&job.dh[r * u..(r + 1) * u]);
            s.act.grad(dz, z, &h);
        }
        let dz = std::mem::take(&mut job.dz);
        carry_dh(s, &mut job, &mut dhp, dz, t, 0, u, 0, false);
        job.dz = dz;
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
    let (mut tc, mut dtc) = (vec![0.0f32; u], vec![0.0f32; u]);
    let mut dhp = vec![0.0f32; job.rows * u];
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        for r in 0..job.rows {
            let dz = &mut job.dz[(r * s.t + t) * gu..][..gu];
            if !s.keep(job.r0 + r, t) {
                dz.fill(0.0);
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let z = &cur[..gu];
            let cp = &cur[gu + u..gu + 2 * u];
            let c = if k + 1 < s.t { &ws[(r * s.t + s.time_at(k + 1)) * w + gu + u..][..u] } else { &c_t[r * u..(r + 1) * u] };
            s.ract.apply(&z[..2 * u], &mut a[..2 * u]);
            s.act.apply(&z[2 * u..3 * u], &mut a[2 * u..3 * u]);
            s.ract.apply(&z[3 * u..], &mut a[3 * u..]);
            s.act.apply(c, &mut tc);
            let dh = &job.dh[r * u..(r + 1) * u];
            let dc = &mut job.dc[r * u..(r + 1) * u];
            let (ai, rest) = a.split_at(u);
            let (af, rest) = rest.split_at(u);
            let (ag, ao) = rest.split_at(u);
            // h = o·act(c)
            for ((d, &dh), &o) in dtc.iter_mut().zip(dh).zip(ao) {
                *d = dh * o;
            }
            s.act.grad(&mut dtc, c, &tc);
            let (dzi, rest) = dz.split_at_mut(u);
            let (dzf, rest) = rest.split_at_mut(u);
            let (dzg, dzo) = rest.split_at_mut(u);
            // c = f·c₋ + i·g
            for j in 0..u {
                let d = dc[j] + dtc[j];
                dzi[j] = d * ag[j];
                dzg[j] = d * ai[j];
                dzf[j] = d * cp[j];
                dzo[j] = dh[j] * tc[j];
                dc[j] = d * af[j];
            }
            s.ract.grad(dzi, &z[..u], ai);
            s.ract.grad(dzf, &z[u..2 * u], af);
            s.act.grad(dzg, &z[2 * u..3 * u], ag);
            s.ract.grad(dzo, &z[3 * u..], ao);
        }
        let dz = std::mem::take(&mut job.dz);
        carry_dh(s, &mut job, &mut dhp, dz, t, 0, gu, 0, false);
        job.dz = dz;
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
    let mut hh = vec![0.0f32; u];
    let (mut drh, mut dhp) = (vec![0.0f32; rows * u], vec![0.0f32; rows * u]);
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        // h = z·h₋ + (1 − z)·hh
        for r in 0..rows {
            let dz = &mut job.dz[(r * s.t + t) * gu..][..gu];
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
            s.ract.apply(&cur[..u], z);
            s.ract.apply(&cur[u..2 * u], &mut rs[r * u..(r + 1) * u]);
            s.act.apply(&cur[2 * u..gu], &mut hh);
            let (dzz, rest) = dz.split_at_mut(u);
            let dzh = &mut rest[u..];
            for j in 0..u {
                dzz[j] = dh[j] * (hp[j] - hh[j]);
                dzh[j] = dh[j] * (1.0 - z[j]);
                dhp[j] = dh[j] * z[j];
            }
            s.ract.grad(dzz, &cur[..u], z);
            s.act.grad(dzh, &cur[2 * u..gu], &hh);
        }
        // d(r·h₋) = dz_h · U[:, h]ᵀ
        // SAFETY: dz rows × u at (·, t, 2u), rk [u, gu] read transposed from column 2u, drh [rows, u].
        unsafe {
            sgemm_raw(rows, u, u, drh.as_mut_ptr(), u as isize, false, job.dz.as_ptr().add(t * gu + 2 * u), (s.t * gu) as isize, 1, s.rk.as_ptr().add(2 * u), 1, gu as isize, false)
        };
        for r in 0..rows {
            if !s.keep(job.r0 + r, t) {
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let hp = &cur[gu..gu + u];
            let rg = &rs[r * u..(r + 1) * u];
            let drh = &drh[r * u..(r + 1) * u];
            let dzr = &mut job.dz[(r * s.t + t) * gu + u..][..u];
            let dhp = &mut dhp[r * u..(r + 1) * u];
            for j in 0..u {
                dzr[j] = drh[j] * hp[j];
                dhp[j] += drh[j] * rg[j];
            }
            s.ract.grad(dzr, &cur[u..2 * u], rg);
        }
        let dz = std::mem::take(&mut job.dz);
        carry_dh(s, &mut job, &mut dhp, dz, t, 0, 2 * u, 0, true);
        job.dz = dz;
    }
}

#[inline(always)]
fn gru_ra_bwd_body(g: &Back<'_>, mut job: Bwd<'_>) {
    let s = &g.s;
    let (u, w) = (s.u, s.w());
    let (gu, aux) = (3 * u, 4 * u);
    init_grads(g, &mut job);
    let ws = &g.ws[job.r0 * s.t * w..(job.r0 + job.rows) * s.t * w];
    let (mut z, mut rg, mut hh) = (vec![0.0f32; u], vec![0.0f32; u], vec![0.0f32; u]);
    let mut dhp = vec![0.0f32; job.rows * u];
    for k in (0..s.t).rev() {
        let t = s.time_at(k);
        add_step_dy(g, &mut job, k, t);
        for r in 0..job.rows {
            let at = (r * s.t + t) * gu;
            let dh = &job.dh[r * u..(r + 1) * u];
            let dhp = &mut dhp[r * u..(r + 1) * u];
            if !s.keep(job.r0 + r, t) {
                job.dz[at..at + gu].fill(0.0);
                job.dq[at..at + gu].fill(0.0);
                dhp.copy_from_slice(dh);
                continue;
            }
            let cur = &ws[(r * s.t + t) * w..][..w];
            let hp = &cur[gu..gu + u];
            let qh = &cur[aux..aux + u];
            s.ract.apply(&cur[..u], &mut z);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            s.act.apply(&cur[2 * u..gu], &mut hh);
            let dz = &mut job.dz[at..at + gu];
            let dq = &mut job.dq[at..at + gu];
            let (dzz, rest) = dz.split_at_mut(u);
            let (dzr, dzh) = rest.split_at_mut(u);
            for j in 0..u {
                dzz[j] = dh[j] * (hp[j] - hh[j]);
                dzh[j] = dh[j] * (1.0 - z[j]);
                dhp[j] = dh[j] * z[j];
            }
            s.ract.grad(dzz, &cur[..u], &z);
            s.act.grad(dzh, &cur[2 * u..gu], &hh);
            // hh's pre-activation = x·Wh + bh + r·qh
            for j in 0..u {
                dzr[j] = dzh[j] * qh[j];
                dq[2 * u + j] = dzh[j] * rg[j];
            }
            s.ract.grad(dzr, &cur[u..2 * u], &rg);
            dq[..2 * u].copy_from_slice(&dz[..2 * u]);
        }
        let dq = std::mem::take(&mut job.dq);
        carry_dh(s, &mut job, &mut dhp, dq, t, 0, gu, 0, true);
        job.dq = dq;
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
    r.builtin(Cell::SimpleRnn.grad_kernel(), &[], simple_grad_k, None);
    r.builtin(Cell::Lstm.grad_kernel(), &[], lstm_grad_k, None);
    r.builtin(Cell::Gru.grad_kernel(), &[], gru_grad_k, None);
}
