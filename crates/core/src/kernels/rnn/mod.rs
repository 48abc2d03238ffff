//! Fused recurrent sequence kernels: `_SimpleRNNSequence`, `_LSTMSequence` and `_GRUSequence`
//! run a whole recurrent layer over a sequence in one kernel, and their gradient rules do the
//! whole backpropagation through time in one more (`…Grad`). The recurrent layers use them in
//! place of recording every time step's few small ops on the tape.
//!
//! Batch rows are independent through time, so the batch is cut into one block of rows per
//! thread and each block runs the whole sequence on its own. Per time step, forward: the
//! block's `x_t · kernel` (+ bias), then `h₋ · recurrentKernel` accumulated onto it, then the gate
//! arithmetic. Backward, per step in reverse: the gate arithmetic, `dZ · recurrentKernelᵀ`
//! carrying the gradient to the previous output, and the step's share of the weight gradients
//! (`x_tᵀ · dZ`, `h₋ᵀ · dZ`, column sums of `dZ`, `dZ · kernelᵀ` for the input) added to the
//! block's sums, which are added up at the end. All of these products are small (one block's
//! rows, one step) and read the same weights every step, so they go through `gemm::small_gemm`
//! rather than a general GEMM that would pack its operands again on every call.
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
//! processing order), `resetAfter` (GRU), `hasBias`, `hasMask`, `saveWorkspace` (default true;
//! false keeps only two steps in the workspace, for calls no gradient will follow).
//! Outputs: the output (`[batch, time, units]` per step with `returnSequences`, else the last
//! `[batch, units]`), the final `h` (and, LSTM, `c`), and a workspace `[batch, time, ·]` the
//! gradient reads (pre-activations, per-step previous states, some activations; it takes no
//! gradient). The gradient kernels are not differentiable themselves: the layers take the
//! op-by-op path under nested gradient scopes.

use crate::attrs::Attrs;
use crate::engine::run_kernel;
use crate::error::{Error, Result};
use crate::kernels::unary::exp_fast;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Tensor};
use backward::backward;
use forward::forward;
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

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
            Act::Tanh => {
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the feature; dst is as long as src.
                    return unsafe { tanh_avx512::tanh(src, dst) };
                }
                dst.iter_mut().zip(src).for_each(|(d, &x)| *d = tanh_fast(x))
            }
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

/// tanh as the kernels compute it (the vector path where the CPU has one).
#[cfg(test)]
pub(crate) fn tanh_of(xs: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; xs.len()];
    Act::Tanh.apply(xs, &mut out);
    out
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
    let q = (1.0 - e) / (1.0 + e);
    // tanh is odd: the sign of x (-0 included).
    (if a < 0.4 { p } else { q }).copysign(x)
}

/// `tanh_fast` with AVX-512 intrinsics, its division replaced by a reciprocal estimate refined
/// once (within an ulp of the division): the division's latency otherwise bounds the forward
/// pass's gate arithmetic.
#[cfg(target_arch = "x86_64")]
mod tanh_avx512 {
    use std::arch::x86_64::*;

    /// `dst[i] = tanh(src[i])`; `dst` at least as long as `src`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn tanh(src: &[f32], dst: &mut [f32]) {
        let n = src.len();
        assert!(dst.len() >= n, "tanh: destination shorter than the source");
        let mut i = 0;
        while i < n {
            let m: __mmask16 = if n - i >= 16 { 0xFFFF } else { (1u16 << (n - i)) - 1 };
            let x = _mm512_maskz_loadu_ps(m, src.as_ptr().add(i));
            _mm512_mask_storeu_ps(dst.as_mut_ptr().add(i), m, tanh16(x));
            i += 16;
        }
    }

    #[inline(always)]
    unsafe fn tanh16(x: __m512) -> __m512 {
        let f = _mm512_set1_ps;
        let sign = _mm512_set1_epi32(i32::MIN);
        let xi = _mm512_castps_si512(x);
        let a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, xi));
        // Small |x|: the odd polynomial of tanh_fast.
        let x2 = _mm512_mul_ps(x, x);
        let mut p = _mm512_fmadd_ps(x2, f(0.003_592_128), f(-0.008_863_236));
        for c in [0.021_869_488, -0.053_968_254, 0.133_333_34, -0.333_333_34] {
            p = _mm512_fmadd_ps(x2, p, f(c));
        }
        let p = _mm512_fmadd_ps(_mm512_mul_ps(x, x2), p, x);
        // e = exp(-2|x|) as exp_fast computes it (max(LO, v) keeps a NaN v).
        let v = _mm512_mul_ps(a, f(-2.0));
        let xc = _mm512_max_ps(f(-87.336_54), v);
        let shifted = _mm512_fmadd_ps(xc, f(std::f32::consts::LOG2_E), f(12_582_912.0));
        let k = _mm512_sub_ps(shifted, f(12_582_912.0));
        let r = _mm512_fnmadd_ps(k, f(0.693_145_75), xc);
        let r = _mm512_fnmadd_ps(k, f(1.428_606_8e-6), r);
        let mut q = f(0.001_388_89);
        for c in [0.008_333_452, 0.041_666_41, 0.166_666_67, 0.5, 1.0, 1.0] {
            q = _mm512_fmadd_ps(r, q, f(c));
        }
        let bits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(12_582_912.0f32.to_bits() as i32));
        let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(bits, _mm512_set1_epi32(127))));
        let e = _mm512_mul_ps(q, scale);
        let e = _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, f(-87.336_54)), e, f(0.0));
        // (1 − e)/(1 + e)
        let d = _mm512_add_ps(f(1.0), e);
        let rc = _mm512_rcp14_ps(d);
        let rc = _mm512_mul_ps(rc, _mm512_fnmadd_ps(d, rc, f(2.0)));
        let t = _mm512_mul_ps(_mm512_sub_ps(f(1.0), e), rc);
        let y = _mm512_castps_si512(_mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, f(0.4)), t, p));
        // The sign of x (-0 included).
        _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, y), _mm512_and_si512(xi, sign)))
    }
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

mod backward;
mod forward;
mod gemm;

pub(crate) use gemm::small_gemm;
#[cfg(test)]
pub(crate) use gemm::with_general_gemm;

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
    /// Whether the workspace keeps every step (for the gradient) or only the two in use.
    save: bool,
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
        if k.rank() != 2 || k.shape()[0] != f || k.shape()[1] == 0 || !k.shape()[1].is_multiple_of(g) {
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
            save: attrs.bool_or(op, "saveWorkspace", true)?,
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
    /// Time steps the forward pass's workspace holds.
    fn ws_steps(&self) -> usize {
        if self.save { self.t } else { self.t.min(2) }
    }
    /// The workspace step of the `k`-th processed step.
    fn ws_at(&self, k: usize) -> usize {
        if self.save { self.time_at(k) } else { k % 2 }
    }
    /// Offset of row `r` (of a block) at workspace step `wt` in the block's workspace.
    fn ws_off(&self, r: usize, wt: usize) -> usize {
        (r * self.ws_steps() + wt) * self.w()
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
fn pieces<T>(v: &mut [T], len: usize, n: usize) -> Vec<&mut [T]> {
    if v.is_empty() {
        return (0..n).map(|_| <&mut [T]>::default()).collect();
    }
    v.chunks_mut(len.max(1)).collect()
}

/// Zero-fills `v` and returns it as initialised.
fn zeroed(v: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    v.fill(MaybeUninit::new(0.0));
    // SAFETY: every element was just written; MaybeUninit<f32> has f32's layout.
    unsafe { &mut *(v as *mut [MaybeUninit<f32>] as *mut [f32]) }
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

