//! Matrix multiplication: `BatchMatMul` (rank ≥ 2, broadcast batch dims, transposes as strides,
//! never copies) and `_FusedMatMul` (bias and activation applied in the same pass over the
//! output). GEMM goes through `sgemm`, the one interface over the GEMM crate in use.

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::ops;
use crate::registry::{GradCtx, Registry};
use crate::tensor::{fmt_shape, Tensor};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};

/// Which GEMM implementation runs (benchmarks switch it; `gemm` is the default, see docs/).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GemmBackend {
    Gemm,
    MatrixMultiply,
}

static GEMM_BACKEND: AtomicU8 = AtomicU8::new(0);

pub fn set_gemm_backend(b: GemmBackend) {
    GEMM_BACKEND.store(matches!(b, GemmBackend::MatrixMultiply) as u8, Ordering::Relaxed);
}
pub fn gemm_backend() -> GemmBackend {
    if GEMM_BACKEND.load(Ordering::Relaxed) == 1 { GemmBackend::MatrixMultiply } else { GemmBackend::Gemm }
}

/// Work (m·n·k) above which GEMM fans out over the thread pool.
const PAR_FLOPS: usize = 48 * 48 * 48;

/// `c (m×n) = a (m×k) · b (k×n)`, overwriting `c`. Strides are in elements: `(row, col)`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, n: usize, k: usize, a: &[f32], a_rs: isize, a_cs: isize, b: &[f32], b_rs: isize, b_cs: isize, c: &mut [f32]) {
    // SAFETY: an initialised slice is a valid destination for writes.
    let c = unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr() as *mut MaybeUninit<f32>, c.len()) };
    sgemm_into(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c);
}

/// [`sgemm`] into memory that need not be initialised: every element of `c` is written.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_into(m: usize, n: usize, k: usize, a: &[f32], a_rs: isize, a_cs: isize, b: &[f32], b_rs: isize, b_cs: isize, c: &mut [MaybeUninit<f32>]) {
    assert!(c.len() >= m * n, "sgemm: the destination holds {} elements, {m}×{n} are needed", c.len());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].iter_mut().for_each(|v| {
            v.write(0.0);
        });
        return;
    }
    let parallel = m * n * k >= PAR_FLOPS;
    // SAFETY: the callers derive every (row, col) offset from the operands' shapes, so all
    // accesses stay inside `a`, `b` and `c`, which do not overlap (`c` is a fresh &mut).
    unsafe {
        // Both backends only write the destination (gemm: `read_dst` false; matrixmultiply:
        // beta 0), so it may be uninitialised.
        let c = c.as_mut_ptr() as *mut f32;
        match gemm_backend() {
            GemmBackend::Gemm => gemm::gemm(
                m,
                n,
                k,
                c,
                1,
                n as isize,
                false,
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                0.0,
                1.0,
                false,
                false,
                false,
                if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None },
            ),
            GemmBackend::MatrixMultiply => {
                matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), a_rs, a_cs, b.as_ptr(), b_rs, b_cs, 0.0, c, n as isize, 1)
            }
        }
    }
}

/// `c = a·b`, or `c += a·b` with `accumulate`, for operands inside larger buffers: every
/// operand has its own (row, col) strides in elements, except `c`'s columns, which are
/// contiguous (`c_rs` apart between rows). `parallel` lets the GEMM fan out over the thread pool
/// (callers already running on it pass `false`).
///
/// # Safety
/// The pointers must be valid for every element the shapes and strides address (`m×k` of `a`,
/// `k×n` of `b`, `m×n` of `c`), and `c`'s elements must not overlap `a`'s or `b`'s.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_raw(
    m: usize,
    n: usize,
    k: usize,
    c: *mut f32,
    c_rs: isize,
    accumulate: bool,
    a: *const f32,
    a_rs: isize,
    a_cs: isize,
    b: *const f32,
    b_rs: isize,
    b_cs: isize,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::ptr::write_bytes(c.offset(i as isize * c_rs), 0, n);
            }
        }
        return;
    }
    let parallel = parallel && m * n * k >= PAR_FLOPS;
    match gemm_backend() {
        GemmBackend::Gemm => gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            c_rs,
            accumulate,
            a,
            a_cs,
            a_rs,
            b,
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None },
        ),
        GemmBackend::MatrixMultiply => {
            matrixmultiply::sgemm(m, k, n, 1.0, a, a_rs, a_cs, b, b_rs, b_cs, if accumulate { 1.0 } else { 0.0 }, c, c_rs, 1)
        }
    }
}

struct MatMulPlan {
    out_shape: Vec<usize>,
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    a_batch: Vec<usize>,
    b_batch: Vec<usize>,
}

fn plan(op: &str, a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Result<MatMulPlan> {
    if a.rank() < 2 || b.rank() < 2 {
        return Err(Error::shape(op, "inputs of rank >= 2", format!("ranks {} and {}", a.rank(), b.rank())));
    }
    let (sa, sb) = (a.shape(), b.shape());
    let (ra, rb) = (sa.len(), sb.len());
    let (m, ka) = if ta { (sa[ra - 1], sa[ra - 2]) } else { (sa[ra - 2], sa[ra - 1]) };
    let (kb, n) = if tb { (sb[rb - 1], sb[rb - 2]) } else { (sb[rb - 2], sb[rb - 1]) };
    if ka != kb {
        return Err(Error::shape(
            op,
            format!("inner dimensions to agree (transposeA={ta}, transposeB={tb})"),
            format!("{} and {}", fmt_shape(sa), fmt_shape(sb)),
        ));
    }
    let batch_shape = super::binary::broadcast_shape(op, &sa[..ra - 2], &sb[..rb - 2])
        .map_err(|_| Error::shape(op, "batch dimensions that broadcast", format!("{} and {}", fmt_shape(sa), fmt_shape(sb))))?;
    let batch: usize = batch_shape.iter().product();
    // Offsets (in matrices) of each output batch's operands, following broadcasting.
    let offsets = |s: &[usize]| -> Vec<usize> {
        let st = super::strides(s);
        let lead = batch_shape.len() - s.len();
        (0..batch)
            .map(|mut bi| {
                let mut off = 0;
                for d in (0..batch_shape.len()).rev() {
                    let i = bi % batch_shape[d];
                    bi /= batch_shape[d];
                    if d >= lead && s[d - lead] != 1 {
                        off += i * st[d - lead];
                    }
                }
                off
            })
            .collect()
    };
    let a_batch = offsets(&sa[..ra - 2]);
    let b_batch = offsets(&sb[..rb - 2]);
    let mut out_shape = batch_shape;
    out_shape.extend([m, n]);
    Ok(MatMulPlan { out_shape, batch, m, n, k: ka, a_batch, b_batch })
}

fn matmul_data(op: &str, a: &Tensor, b: &Tensor, ta: bool, tb: bool) -> Result<(Vec<f32>, Vec<usize>)> {
    let p = plan(op, a, b, ta, tb)?;
    let (av, bv) = (a.as_f32(), b.as_f32());
    let (m, n, k) = (p.m, p.n, p.k);
    // Row/col strides of one matrix of each operand as stored.
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    let len = p.batch * m * n;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let dst = &mut out.spare_capacity_mut()[..len];
    for bi in 0..p.batch {
        let ao = p.a_batch[bi] * m * k;
        let bo = p.b_batch[bi] * k * n;
        sgemm_into(m, n, k, &av[ao..ao + m * k], a_rs, a_cs, &bv[bo..bo + k * n], b_rs, b_cs, &mut dst[bi * m * n..(bi + 1) * m * n]);
    }
    // SAFETY: the products wrote all `len` elements.
    unsafe { out.set_len(len) };
    Ok((out, p.out_shape))
}

fn flags(op: &str, attrs: &Attrs) -> Result<(bool, bool)> {
    Ok((attrs.bool_or(op, "transposeA", false)?, attrs.bool_or(op, "transposeB", false)?))
}

fn batch_matmul_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let [a, b] = i else { return Err(Error::arg("BatchMatMul", format!("expected 2 inputs (a, b), got {}", i.len()))) };
    let (ta, tb) = flags("BatchMatMul", attrs)?;
    let (v, shape) = matmul_data("BatchMatMul", a, b, ta, tb)?;
    Ok(vec![Tensor::f32(shape, v)])
}

/// Applies a fused activation in place (tfjs names: linear, relu, relu6, elu, leakyrelu,
/// sigmoid, prelu).
pub fn apply_activation(op: &str, act: &str, v: &mut [f32], alpha: f32, prelu: Option<(&[f32], &[usize], &[usize])>) -> Result<()> {
    match act {
        "linear" | "" => {}
        "relu" => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        "relu6" => v.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        "elu" => v.iter_mut().for_each(|x| if *x < 0.0 { *x = x.exp_m1() }),
        "leakyrelu" => v.iter_mut().for_each(|x| if *x < 0.0 { *x *= alpha }),
        "sigmoid" => v.iter_mut().for_each(|x| *x = super::unary::sigmoid(*x)),
        "prelu" => {
            let (w, wshape, out_shape) =
                prelu.ok_or_else(|| Error::arg(op, "activation 'prelu' needs preluActivationWeights"))?;
            let y = super::binary::broadcast_zip(v, out_shape, w, wshape, out_shape, |x, a| if x > 0.0 { x } else { a * x });
            v.copy_from_slice(&y);
        }
        other => {
            return Err(Error::arg(op, format!("unknown activation '{other}' (expected linear, relu, relu6, elu, leakyrelu, sigmoid or prelu)")))
        }
    }
    Ok(())
}

/// Adds `bias` (broadcast against the output) in place.
pub fn add_bias(op: &str, v: &mut [f32], out_shape: &[usize], bias: &Tensor) -> Result<()> {
    let bv = bias.as_f32();
    let n = *out_shape.last().unwrap_or(&1);
    if bias.size() == n && n > 0 {
        for row in v.chunks_mut(n) {
            for (x, b) in row.iter_mut().zip(bv.iter()) {
                *x += b;
            }
        }
        return Ok(());
    }
    let shape = super::binary::broadcast_shape(op, out_shape, bias.shape())?;
    if shape != out_shape {
        return Err(Error::shape(op, format!("a bias that broadcasts to {}", fmt_shape(out_shape)), fmt_shape(bias.shape())));
    }
    let y = super::binary::broadcast_zip(v, out_shape, &bv, bias.shape(), out_shape, |x, b| x + b);
    v.copy_from_slice(&y);
    Ok(())
}

fn fused_matmul_k(i: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    const OP: &str = "_FusedMatMul";
    if i.len() < 2 || i.len() > 4 {
        return Err(Error::arg(OP, format!("expected 2 to 4 inputs (a, b, bias?, preluActivationWeights?), got {}", i.len())));
    }
    let (ta, tb) = flags(OP, attrs)?;
    let (mut v, shape) = matmul_data(OP, &i[0], &i[1], ta, tb)?;
    if let Some(bias) = i.get(2) {
        add_bias(OP, &mut v, &shape, bias)?;
    }
    let act = attrs.str_or(OP, "activation", "linear")?;
    let alpha = attrs.f64_or(OP, "leakyreluAlpha", 0.2)? as f32;
    let pw = i.get(3).map(|w| (w.as_f32().into_owned(), w.shape().to_vec()));
    apply_activation(OP, act, &mut v, alpha, pw.as_ref().map(|(w, s)| (w.as_slice(), s.as_slice(), shape.as_slice())))?;
    Ok(vec![Tensor::f32(shape, v)])
}

type G = Result<Vec<Option<Tensor>>>;

/// Gradients of `a·b` given the output gradient (tfjs's four transpose cases); only those
/// `c` needs are computed.
fn matmul_grads(c: &GradCtx, dy: &Tensor, ta: bool, tb: bool) -> Result<(Option<Tensor>, Option<Tensor>)> {
    let (a, b) = (&c.inputs[0], &c.inputs[1]);
    let da = if c.needs(0) {
        let da = match (ta, tb) {
            (false, false) => ops::mat_mul(dy, b, false, true)?,
            (false, true) => ops::mat_mul(dy, b, false, false)?,
            (true, false) => ops::mat_mul(b, dy, false, true)?,
            (true, true) => ops::mat_mul(b, dy, true, true)?,
        };
        Some(ops::sum_to(&da, a.shape())?)
    } else {
        None
    };
    let db = if c.needs(1) {
        let db = match (ta, tb) {
            (false, false) => ops::mat_mul(a, dy, true, false)?,
            (false, true) => ops::mat_mul(dy, a, true, false)?,
            (true, false) => ops::mat_mul(a, dy, false, false)?,
            (true, true) => ops::mat_mul(dy, a, true, true)?,
        };
        Some(ops::sum_to(&db, b.shape())?)
    } else {
        None
    };
    Ok((da, db))
}

fn batch_matmul_grad(c: &GradCtx) -> G {
    let (ta, tb) = flags("BatchMatMul", c.attrs)?;
    let (da, db) = matmul_grads(c, &c.dys[0], ta, tb)?;
    Ok(vec![da, db])
}

/// dy through the fused activation, from the output `y` (and `x = pre-activation` for prelu).
fn activation_dy(op: &str, act: &str, dy: &Tensor, y: &Tensor, alpha: f32) -> Result<Tensor> {
    match act {
        "linear" | "" => Ok(dy.clone()),
        "relu" => ops::binary("ReluGrad", dy, y),
        "relu6" => {
            let inside = ops::binary("LogicalAnd", &ops::greater(y, &Tensor::scalar(0.0))?, &ops::less(y, &Tensor::scalar(6.0))?)?;
            ops::where_(&inside, dy, &ops::zeros_like(dy)?)
        }
        "elu" => ops::binary("EluGrad", dy, y),
        "sigmoid" => ops::binary("SigmoidGrad", dy, y),
        "leakyrelu" => {
            let pos = ops::greater(y, &Tensor::scalar(0.0))?;
            ops::where_(&pos, dy, &ops::mul(dy, &Tensor::scalar(alpha))?)
        }
        other => Err(Error::arg(op, format!("cannot compute the gradient of fused activation '{other}'"))),
    }
}

fn fused_matmul_grad(c: &GradCtx) -> G {
    const OP: &str = "_FusedMatMul";
    let (ta, tb) = flags(OP, c.attrs)?;
    let act = c.attrs.str_or(OP, "activation", "linear")?;
    let alpha = c.attrs.f64_or(OP, "leakyreluAlpha", 0.2)? as f32;
    let dy = activation_dy(OP, act, &c.dys[0], &c.outputs[0], alpha)?;
    let (da, db) = matmul_grads(c, &dy, ta, tb)?;
    let mut g = vec![da, db];
    if let Some(bias) = c.inputs.get(2) {
        g.push(Some(ops::sum_to(&dy, bias.shape())?));
    }
    Ok(g)
}

pub fn register(r: &mut Registry) {
    r.builtin("BatchMatMul", &["a", "b"], batch_matmul_k, Some(batch_matmul_grad));
    r.builtin("_FusedMatMul", &["a", "b", "bias", "preluActivationWeights"], fused_matmul_k, Some(fused_matmul_grad));
}

