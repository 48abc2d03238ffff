//! The gradient of the sequence kernels: backpropagation through time per block of batch rows,
//! each step's share of the weight gradients summed per block, then over the blocks.

use super::{pieces, run_jobs, small_gemm, zip2, zip3, Cell, Spec};
use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::tensor::{fmt_shape, Tensor};
use std::borrow::Cow;

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
pub(super) fn backward(cell: Cell, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
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

/// The transpose of a row-major `[rows, cols]` matrix, by 16×16 tiles.
fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 16;
    let mut out = vec![0.0f32; rows * cols];
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0..(j0 + TILE).min(cols) {
                    out[j * rows + i] = v[i * cols + j];
                }
            }
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
