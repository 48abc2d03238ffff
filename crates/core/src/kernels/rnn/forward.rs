//! The forward pass of the sequence kernels: per block of batch rows, per time step, the
//! input and recurrent products into the workspace and the cell's gate arithmetic.

use super::{pieces, run_jobs, small_gemm, zeroed, zip2, zip3, Cell, Spec};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::tensor::Tensor;

/// One block of batch rows in the forward pass; slices cover only the block's rows.
struct Fwd<'b> {
    r0: usize,
    rows: usize,
    ws: &'b mut [f32],
    y: &'b mut [f32],
    h_t: &'b mut [f32],
    c_t: &'b mut [f32],
}

pub(super) fn forward(cell: Cell, inputs: &[Tensor], attrs: &Attrs) -> Result<Vec<Tensor>> {
    let s = Spec::parse(cell, inputs, attrs)?;
    let (b, t, u, w, wt) = (s.b, s.t, s.u, s.w(), s.ws_steps());
    // Each block zero-fills its own part of the workspace (in parallel, just before using it).
    let mut ws: Vec<f32> = Vec::with_capacity(b * wt * w);
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
        let jobs: Vec<_> = pieces(&mut ws.spare_capacity_mut()[..b * wt * w], rows * wt * w, n)
            .into_iter()
            .zip(pieces(&mut y, rows * t * u, n))
            .zip(pieces(&mut h_t, rows * u, n))
            .zip(pieces(&mut c_t, rows * u, n))
            .enumerate()
            .collect();
        run_jobs(jobs, |(i, (((ws, y), h_t), c_t))| {
            let job = Fwd { r0: i * rows, rows: rows.min(b - i * rows), ws: zeroed(ws), y, h_t, c_t };
            match cell {
                Cell::SimpleRnn => simple_fwd(&s, job),
                Cell::Lstm => lstm_fwd(&s, job),
                Cell::Gru if s.reset_after => gru_ra_fwd(&s, job),
                Cell::Gru => gru_fwd(&s, job),
            }
        });
    }
    // SAFETY: the blocks zero-filled all b·wt·w elements (none when there are no rows or steps).
    unsafe { ws.set_len(b * wt * w) };
    let h_t = Tensor::f32(vec![b, u], h_t);
    let out = if s.seq { Tensor::f32(vec![b, t, u], y) } else { h_t.with_new_id() };
    let mut outs = vec![out, h_t];
    if cell == Cell::Lstm {
        outs.push(Tensor::f32(vec![b, u], c_t));
    }
    outs.push(Tensor::f32(vec![b, wt, w], ws));
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
    let first = s.ws_at(0);
    for r in 0..job.rows {
        let row = &mut job.ws[s.ws_off(r, first)..][..w];
        let g = job.r0 + r;
        row[gu..gu + u].copy_from_slice(&s.h0[g * u..(g + 1) * u]);
        if with_c {
            row[gu + u..gu + 2 * u].copy_from_slice(&s.c0[g * u..(g + 1) * u]);
        }
    }
}

/// The input side of step `t`'s gate pre-activations, into workspace step `wt`:
/// `ws[:, wt, 0..gu] = x[:, t]·kernel + bias`.
#[inline(always)]
fn input_product(s: &Spec, job: &mut Fwd, t: usize, wt: usize) {
    let (f, w, gu) = (s.f, s.w(), s.gu());
    let x = &s.x[(job.r0 * s.t + t) * f..];
    // SAFETY: the block's rows of x at step t (row stride t·f) are rows × f; the kernel is
    // [f, gu]; the destination, rows × gu at (·, wt, 0) of the block's workspace.
    unsafe { small_gemm(job.rows, gu, f, job.ws.as_mut_ptr().add(s.ws_off(0, wt)), s.ws_steps() * w, false, x.as_ptr(), s.t * f, 1, s.kernel.as_ptr(), gu) };
    if let Some(bias) = &s.bias {
        let bias = &bias[..gu];
        for r in 0..job.rows {
            job.ws[s.ws_off(r, wt)..][..gu].iter_mut().zip(bias).for_each(|(z, b)| *z += b);
        }
    }
}

/// `ws[:, wt, col..col+n] (+)= ws[:, wt, lhs..lhs+u] · rk[:, rk_col..rk_col+n]` over the block's
/// rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_product(s: &Spec, ws: &mut [f32], rows: usize, wt: usize, col: usize, n: usize, lhs: usize, rk_col: usize, accumulate: bool) {
    let gu = s.gu();
    let (rs, at) = (s.ws_steps() * s.w(), s.ws_off(0, wt));
    let p = ws.as_mut_ptr();
    // SAFETY: rows × n at (·, wt, col) and rows × u at (·, wt, lhs) lie in the block's workspace
    // (row stride ws_steps·w) and do not overlap (col..col+n and lhs..lhs+u are disjoint column
    // ranges); rk is [u, gu].
    unsafe { small_gemm(rows, n, s.u, p.add(at + col), rs, accumulate, p.add(at + lhs), rs, 1, s.rk.as_ptr().add(rk_col), gu) }
}

/// Stores a step's new states: into the next processed step's workspace, or the final states;
/// and the output into the sequence.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn store(s: &Spec, job: &mut Fwd, r: usize, k: usize, t: usize, h: &[f32], c: Option<&[f32]>) {
    let (u, w, gu) = (s.u, s.w(), s.gu());
    if k + 1 < s.t {
        let row = &mut job.ws[s.ws_off(r, s.ws_at(k + 1))..][..w];
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
        let (t, wt) = (s.time_at(k), s.ws_at(k));
        input_product(s, &mut job, t, wt);
        step_product(s, job.ws, job.rows, wt, 0, u, u, 0, true);
        for r in 0..job.rows {
            let cur = &job.ws[s.ws_off(r, wt)..][..w];
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
        let (t, wt) = (s.time_at(k), s.ws_at(k));
        input_product(s, &mut job, t, wt);
        step_product(s, job.ws, job.rows, wt, 0, gu, gu, 0, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[s.ws_off(r, wt)..][..w];
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
        let (t, wt) = (s.time_at(k), s.ws_at(k));
        input_product(s, &mut job, t, wt);
        // z, r: x·W + b + h₋·U[:, z r]
        step_product(s, job.ws, job.rows, wt, 0, 2 * u, gu, 0, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[s.ws_off(r, wt)..][..w];
            s.ract.apply(&cur[..u], &mut zs[r * u..(r + 1) * u]);
            s.ract.apply(&cur[u..2 * u], &mut rg);
            let (head, rh) = cur.split_at_mut(aux);
            zip2(rh, &rg, &head[gu..gu + u], |r, hp| r * hp);
        }
        // hh's pre-activation: x·Wh + bh + (r·h₋)·U[:, h]
        step_product(s, job.ws, job.rows, wt, 2 * u, u, aux, 2 * u, true);
        for r in 0..job.rows {
            let cur = &mut job.ws[s.ws_off(r, wt)..][..w];
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
        let (t, wt) = (s.time_at(k), s.ws_at(k));
        input_product(s, &mut job, t, wt);
        // q = h₋·U, all three gates
        // SAFETY: rows × u at (·, t, gu) of the block's workspace, rk [u, gu], q [rows, gu].
        unsafe { small_gemm(job.rows, gu, u, q.as_mut_ptr(), gu, false, job.ws.as_ptr().add(s.ws_off(0, wt) + gu), s.ws_steps() * w, 1, s.rk.as_ptr(), gu) };
        for r in 0..job.rows {
            let qr = &mut q[r * gu..(r + 1) * gu];
            if let Some(rb) = rb {
                qr.iter_mut().zip(rb).for_each(|(q, b)| *q += b);
            }
            let cur = &mut job.ws[s.ws_off(r, wt)..][..w];
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
