//! 2-D convolutions over NHWC data as implicit GEMMs with AVX-512 register tiles: no im2col
//! matrix is built. Every convolution runs as a *valid* one over a source whose padding, if
//! any, is written out first (a copy the size of the input, not of im2col). With `r` an output
//! pixel, `i = (kh, kw, ci)` a filter tap and `off(i)` its offset from a window's corner
//! `base(r)`:
//!
//! - forward: `y[r, :] = Σ_i src[base(r) + off(i)] · w[i, :]`, tiles of up to 12 pixels of one
//!   output line × up to 64 output channels, the bias and a ReLU applied as a tile is stored;
//! - input gradient: per tile of pixels, `dy[r, :] · wᵀ` (the pixels' rows of the im2col
//!   gradient) added straight into their windows of `dx`, images split over threads; this
//!   needs the taps to come in vectors of 16 contiguous ones (channels in multiples of 16,
//!   say), else `conv_gemm` scatters with col2im;
//! - filter gradient: `dw[i, :] = Σ_r src[base(r) + off(i)] · dy[r, :]` reduced over all
//!   pixels in registers, by tiles of tap vectors × output channels where taps come in
//!   contiguous vectors and of taps × channel vectors otherwise; the pixels are split over
//!   threads and the partial filters summed.
//!
//! Tile heights are picked so that a tile's accumulators stay in vector registers and its row
//! addresses in general ones. The caller checks `takes`; other CPUs use `conv_gemm`'s im2col.

use super::conv_info::ConvInfo;
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Multiply-adds below which a convolution stays on the calling thread.
const PAR_WORK: usize = 1 << 19;

/// Whether this CPU runs the kernels of this module (and the AVX-512 loops of `pool`).
pub fn available() -> bool {
    #[cfg(test)]
    if GENERIC_ONLY.with(|g| g.get()) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(test)]
thread_local! {
    static GENERIC_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` as on a CPU without AVX-512 (kernels called on this thread take their generic
/// paths), so that tests cover both.
#[cfg(test)]
pub(crate) fn without_avx512<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GENERIC_ONLY.with(|g| g.set(self.0));
        }
    }
    let _r = Restore(GENERIC_ONLY.with(|g| g.replace(true)));
    f()
}

/// A convolution without padding over an NHWC source of `batch × h × w × c`.
#[derive(Debug, Clone, Copy)]
struct Valid {
    batch: usize,
    h: usize,
    w: usize,
    c: usize,
    out_h: usize,
    out_w: usize,
    fh: usize,
    fw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
}

impl Valid {
    /// Offsets of the filter taps `(kh, kw, ci)` from a window's corner, in filter order.
    fn offsets(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.fh * self.fw * self.c);
        for kh in 0..self.fh {
            for kw in 0..self.fw {
                let o = kh * self.dh * self.w * self.c + kw * self.dw * self.c;
                v.extend(o..o + self.c);
            }
        }
        v
    }
    /// The offset of the window corner of the first pixel of output line `l` (image, row).
    #[inline(always)]
    fn line_base(&self, l: usize) -> usize {
        let (n, oh) = (l / self.out_h, l % self.out_h);
        (n * self.h + oh * self.sh) * self.w * self.c
    }
    /// The distance between the window corners of neighbouring pixels of a line.
    #[inline(always)]
    fn pixel_step(&self) -> usize {
        self.sw * self.c
    }
    fn lines(&self) -> usize {
        self.batch * self.out_h
    }
}

/// A walk over the window corners of the output pixels of a run of lines, in order, by
/// additions only (a tile's inner loop keeps it in a few registers).
#[derive(Clone, Copy)]
struct Pixels {
    count: usize,
    corner: usize,
    ow: usize,
    oh: usize,
    img: usize,
    out_w: usize,
    out_h: usize,
    step: usize,
    line_step: usize,
    img_len: usize,
}

impl Pixels {
    fn new(v: &Valid, l0: usize, l1: usize) -> Pixels {
        Pixels {
            count: (l1 - l0) * v.out_w,
            corner: v.line_base(l0),
            ow: 0,
            oh: l0 % v.out_h,
            img: l0 / v.out_h,
            out_w: v.out_w,
            out_h: v.out_h,
            step: v.pixel_step(),
            line_step: v.sh * v.w * v.c,
            img_len: v.h * v.w * v.c,
        }
    }
    /// The current pixel's corner; moves on to the next pixel.
    #[inline(always)]
    fn next(&mut self) -> usize {
        let r = self.corner;
        self.ow += 1;
        self.corner += self.step;
        if self.ow == self.out_w {
            self.ow = 0;
            self.oh += 1;
            if self.oh == self.out_h {
                self.oh = 0;
                self.img += 1;
            }
            self.corner = self.img * self.img_len + self.oh * self.line_step;
        }
        r
    }
}

/// What the filter-gradient tiles read of the output gradient: `dy` rows (`n` apart, from the
/// tile's first channel on), the forward output `y` at the same offsets when a ReLU's
/// derivative applies to `dy` (null otherwise), and where a tile stores its channels' sums of
/// `dy` (the bias gradient; null when it does not).
#[derive(Clone, Copy)]
struct DyRows {
    dy: *const f32,
    y: *const f32,
    n: usize,
    bias: *mut f32,
}

impl DyRows {
    /// The rows from channel `c0` on; `sums` says whether this tile stores the bias gradient.
    fn at_channel(self, c0: usize, sums: bool) -> DyRows {
        // SAFETY (of the pointer arithmetic): `c0` is below `n`, the row length.
        unsafe {
            DyRows {
                dy: self.dy.add(c0),
                y: if self.y.is_null() { self.y } else { self.y.add(c0) },
                n: self.n,
                bias: if self.bias.is_null() || !sums { std::ptr::null_mut() } else { self.bias.add(c0) },
            }
        }
    }
}

/// `src` (`n` images of `h × w × c`) at row `top`, column `left` of zero images of `hp × wp × c`;
/// negative or oversized placements crop.
fn place(src: &[f32], n: usize, (h, w, c): (usize, usize, usize), top: isize, left: isize, (hp, wp): (usize, usize)) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * hp * wp * c);
    // Source columns [c0, c1) land at destination columns [c0 + left, c1 + left).
    let c0 = (-left).clamp(0, w as isize) as usize;
    let c1 = (wp as isize - left).clamp(c0 as isize, w as isize) as usize;
    let lead = (left.max(0) as usize).min(wp);
    let trail = wp - lead - (c1 - c0);
    for img in src.chunks_exact(h * w * c).take(n) {
        for y in 0..hp {
            let sy = y as isize - top;
            if sy < 0 || sy >= h as isize || c1 == c0 {
                out.resize(out.len() + wp * c, 0.0);
                continue;
            }
            let row = &img[sy as usize * w * c..][..w * c];
            out.resize(out.len() + lead * c, 0.0);
            out.extend_from_slice(&row[c0 * c..c1 * c]);
            out.resize(out.len() + trail * c, 0.0);
        }
    }
    out
}

/// The valid convolution over `g`'s source with its padding written out, and whether there is
/// padding to write (else the source is the input itself).
fn geometry(g: &ConvInfo) -> (Valid, bool) {
    let eff_h = (g.filter_h - 1) * g.dil_h + 1;
    let eff_w = (g.filter_w - 1) * g.dil_w + 1;
    let hp = (g.out_h - 1) * g.stride_h + eff_h;
    let wp = (g.out_w - 1) * g.stride_w + eff_w;
    let mut v = Valid {
        batch: g.batch,
        h: g.in_h,
        w: g.in_w,
        c: g.in_c,
        out_h: g.out_h,
        out_w: g.out_w,
        fh: g.filter_h,
        fw: g.filter_w,
        sh: g.stride_h,
        sw: g.stride_w,
        dh: g.dil_h,
        dw: g.dil_w,
    };
    if g.pad_top == 0 && g.pad_left == 0 && hp <= g.in_h && wp <= g.in_w {
        return (v, false);
    }
    (v.h, v.w) = (hp, wp);
    (v, true)
}

/// The source of `g` with its padding written out, and the valid convolution over it.
fn padded<'a>(x: &'a [f32], g: &ConvInfo) -> (Cow<'a, [f32]>, Valid) {
    let (v, pad) = geometry(g);
    if !pad {
        return (Cow::Borrowed(x), v);
    }
    (Cow::Owned(place(x, g.batch, (g.in_h, g.in_w, g.in_c), g.pad_top as isize, g.pad_left as isize, (v.h, v.w))), v)
}

/// Whether the kernels of this module take convolution `g` (non-empty, on an AVX-512 CPU).
pub fn takes(g: &ConvInfo) -> bool {
    g.batch * g.out_h * g.out_w * g.out_c * g.in_c * g.filter_h * g.filter_w > 0 && available()
}

fn parallel(work: usize, lines: usize) -> bool {
    work >= PAR_WORK && lines > 1 && rayon::current_num_threads() > 1
}

/// `y = act(conv(x, w) + bias)`: x `[N,H,W,Ci]`, w `[fh,fw,Ci,Co]`, y `[N,OH,OW,Co]`; `bias`
/// has `Co` values. Requires `takes(g)`.
pub fn forward(x: &[f32], w: &[f32], g: &ConvInfo, bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let (src, v) = padded(x, g);
    conv_valid(&src, &v, w, g.out_c, bias, relu)
}

/// Per vector of 16 consecutive taps (the last: the taps left), the source offset of its first
/// tap, when every such vector is contiguous in the source (one load or store); `None`
/// otherwise. Holds when the input channels come in multiples of 16, or when a filter row's
/// taps are contiguous and come in multiples of 16.
fn tap_vectors(offs: &[usize]) -> Option<Vec<usize>> {
    let k = offs.len();
    (0..k)
        .step_by(16)
        .map(|i| {
            let last = (i + 16).min(k) - 1;
            (offs[last] - offs[i] == last - i).then_some(offs[i])
        })
        .collect()
}

/// Vector groups of `nvec` tap vectors, at most 4 per group and as even as can be:
/// `(first vector, vectors)`.
fn vector_groups(nvec: usize) -> impl Iterator<Item = (usize, usize)> {
    let per = nvec.div_ceil(nvec.div_ceil(4).max(1)).max(1);
    (0..nvec).step_by(per).map(move |v0| (v0, per.min(nvec - v0)))
}

/// The mask of the lanes of vector `v` that hold one of `k` taps.
fn lane_mask(k: usize, v: usize) -> u16 {
    let lanes = (k - 16 * v).min(16);
    if lanes == 16 { u16::MAX } else { (1u16 << lanes) - 1 }
}

/// `dx` of `y = conv(x, w)` given `dy`: per output pixel the tile `dy[r, :] · wᵀ` (its im2col
/// row of the gradient) is added straight into the pixel's window, images split over threads.
/// `None` when the taps do not come in contiguous vectors (the caller then uses col2im).
/// Requires `takes(g)`.
pub fn backprop_input(dy: &[f32], w: &[f32], g: &ConvInfo) -> Option<Vec<f32>> {
    let (v, pad) = geometry(g);
    let offs = v.offsets();
    let vecs = tap_vectors(&offs)?;
    let (k, n) = (offs.len(), g.out_c);
    let mut wt = Vec::with_capacity(k * n);
    for o in 0..n {
        wt.extend((0..k).map(|i| w[i * n + o]));
    }
    let img = v.h * v.w * v.c;
    let len = v.batch * img;
    let mut dx = Vec::with_capacity(len);
    let per = if parallel(g.work(), v.lines()) { v.batch.div_ceil(rayon::current_num_threads() * 2) } else { v.batch };
    let run = |(t, chunk): (usize, &mut [MaybeUninit<f32>])| {
        chunk.iter_mut().for_each(|d| {
            d.write(0.0);
        });
        // SAFETY: every element was just written.
        let chunk = unsafe { &mut *(chunk as *mut [MaybeUninit<f32>] as *mut [f32]) };
        let (n0, n1) = (t * per, t * per + chunk.len() / img);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `takes(g)` checked the CPU; every window lies inside the chunk's images.
        unsafe {
            input_lines(dy, &v, &vecs, &wt, n, n0 * v.out_h, n1 * v.out_h, chunk, n0 * img)
        };
    };
    let spare = &mut dx.spare_capacity_mut()[..len];
    if per < v.batch {
        spare.par_chunks_mut(per * img).enumerate().for_each(run);
    } else {
        run((0, spare));
    }
    // SAFETY: `run` wrote every element.
    unsafe { dx.set_len(len) };
    if !pad {
        return Some(dx);
    }
    Some(place(&dx, v.batch, (v.h, v.w, v.c), -(g.pad_top as isize), -(g.pad_left as isize), (g.in_h, g.in_w)))
}

/// `dw` of `y = conv(x, w)` given `dy`: `[fh,fw,Ci,Co]`. Requires `takes(g)`.
pub fn backprop_filter(x: &[f32], dy: &[f32], g: &ConvInfo) -> Vec<f32> {
    filter_grads(x, dy, None, false, g).0
}

/// The filter gradient and, if `bias`, the bias gradient (`dy` summed per output channel) of
/// `y = act(conv(x, w) + b)` given the gradient `dy` of `y`, where `act` is a ReLU when `relu`
/// holds `y` (its derivative applied to `dy` as it is read) and linear otherwise: the output
/// pixels split over threads and the partial sums added. Requires `takes(g)`.
pub fn filter_grads(x: &[f32], dy: &[f32], relu: Option<&[f32]>, bias: bool, g: &ConvInfo) -> (Vec<f32>, Vec<f32>) {
    let (src, v) = padded(x, g);
    let offs = v.offsets();
    let vecs = tap_vectors(&offs);
    let (k, n) = (offs.len(), g.out_c);
    // The tiles by tap vectors read dy through no derivative: apply the ReLU's first.
    let masked: Option<Vec<f32>> = match (relu, &vecs) {
        (Some(y), Some(_)) => Some(super::zip_into(dy, y, |&d, &y| if y > 0.0 { d } else { 0.0 })),
        _ => None,
    };
    let (dy, relu) = match &masked {
        Some(m) => (m.as_slice(), None),
        None => (dy, relu),
    };
    let lines = v.lines();
    let parts = if parallel(g.work(), lines) { (rayon::current_num_threads() * 2).min(lines) } else { 1 };
    let partial = |p: usize| -> Vec<f32> {
        let (l0, l1) = (lines * p / parts, lines * (p + 1) / parts);
        let mut out = vec![0.0f32; k * n + n];
        let (dw, db) = out.split_at_mut(k * n);
        let rows = |t: &[f32]| t[l0 * v.out_w * n..].as_ptr();
        let d = DyRows { dy: rows(dy), y: relu.map_or(std::ptr::null(), rows), n, bias: if bias { db.as_mut_ptr() } else { std::ptr::null_mut() } };
        let pixels = Pixels::new(&v, l0, l1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `takes(g)` checked the CPU; offsets and lines stay inside `src`, `dy` and `y`.
        unsafe {
            match &vecs {
                Some(vecs) => filter_vec_lines(&src, vecs, k, pixels, d, dw),
                None => filter_lines(&src, &offs, pixels, d, dw),
            }
        };
        out
    };
    // The partial sums are added in part order, so that a result does not depend on which
    // thread finished first.
    let mut partials = (0..parts).into_par_iter().map(partial).collect::<Vec<_>>().into_iter();
    let mut out = partials.next().unwrap_or_else(|| vec![0.0; k * n + n]);
    for p in partials {
        out.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
    }
    let db = out.split_off(k * n);
    (out, db)
}

/// The valid convolution `v` of `src` with `w` (`[taps, n]`), `n` output channels.
fn conv_valid(src: &[f32], v: &Valid, w: &[f32], n: usize, bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let lines = v.lines();
    let line_len = v.out_w * n;
    let len = lines * line_len;
    let mut out = Vec::with_capacity(len);
    let offs = v.offsets();
    let spare = &mut out.spare_capacity_mut()[..len];
    let run = |(i, chunk): (usize, &mut [MaybeUninit<f32>]), lpc: usize| {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `takes(g)` checked the CPU; the tiles stay inside `src`, `w` and `chunk`.
        unsafe {
            forward_lines(src, v, &offs, w, n, bias, relu, i * lpc, chunk)
        };
    };
    if parallel(len * offs.len(), lines) {
        let lpc = lines.div_ceil(rayon::current_num_threads() * 4);
        spare.par_chunks_mut(lpc * line_len).enumerate().for_each(|c| run(c, lpc));
    } else {
        run((0, spare), lines);
    }
    // SAFETY: `forward_lines` wrote every element of every line.
    unsafe { out.set_len(len) };
    out
}

/// Largest tile heights by tile width in vectors of 16, such that the accumulators fill at
/// most 24 of the 32 vector registers and, where a tile's rows are pixels a run-time stride
/// apart, their addresses fit in the general registers: output pixels for the forward and
/// input-gradient kernels, taps or output channels for the filter-gradient kernels.
const PIXEL_ROWS: [usize; 4] = [8, 8, 8, 6];
const TAP_ROWS: [usize; 4] = [12, 8, 8, 6];
const CHANNEL_ROWS: [usize; 4] = [12, 12, 8, 6];

/// Tile rows covering `len`: `(tiles, rows)`, the last tile starting at `len − rows` (tiles may
/// overlap, recomputing the same values).
fn tiling(len: usize, max: usize) -> (usize, usize) {
    let tiles = len.div_ceil(max);
    (tiles, len.div_ceil(tiles))
}

/// Column blocks of `n` channels: `(first, width in vectors, mask of the last vector)`.
#[cfg(target_arch = "x86_64")]
fn column_blocks(n: usize) -> impl Iterator<Item = (usize, usize, u16)> {
    (0..n).step_by(64).map(move |c0| {
        let cols = (n - c0).min(64);
        let nv = cols.div_ceil(16);
        let last = cols - (nv - 1) * 16;
        (c0, nv, if last == 16 { u16::MAX } else { (1u16 << last) - 1 })
    })
}

/// Calls `$f::<rows, $nv>($args)` for the run-time `rows`.
macro_rules! by_rows {
    ($f:ident, $nv:literal, $rows:expr, $args:tt, [$($m:literal)*]) => {
        match $rows {
            $($m => by_rows!(@call $f, $m, $nv, $args),)*
            _ => unreachable!("tile height {}", $rows),
        }
    };
    (@call $f:ident, $m:literal, $nv:literal, ($($a:expr),*)) => { $f::<$m, $nv>($($a),*) };
}

/// Calls `$f::<rows, $nv, $step>($args)` for the run-time `rows`.
macro_rules! by_rows_step {
    ($f:ident, $nv:literal, $step:literal, $rows:expr, $args:tt, [$($m:literal)*]) => {
        match $rows {
            $($m => by_rows_step!(@call $f, $m, $nv, $step, $args),)*
            _ => unreachable!("tile height {}", $rows),
        }
    };
    (@call $f:ident, $m:literal, $nv:literal, $step:literal, ($($a:expr),*)) => { $f::<$m, $nv, $step>($($a),*) };
}

/// Pixel steps (floats between neighbouring tile rows) that the tiles know at compile time,
/// so that a tile's rows are constant displacements from one register and it can be taller;
/// other steps are passed at run time.
const FIXED_STEPS: [usize; 2] = [16, 32];

/// Tile heights of tiles whose pixel step is one of `FIXED_STEPS`.
const FIXED_STEP_ROWS: [usize; 4] = [12, 12, 8, 6];

/// Forward tiles for output lines `l0..` that fill `out`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_lines(src: &[f32], v: &Valid, offs: &[usize], w: &[f32], n: usize, bias: Option<&[f32]>, relu: bool, l0: usize, out: &mut [MaybeUninit<f32>]) {
    let lines = out.len() / (v.out_w * n);
    let k = offs.len();
    let (a_step, a, o, out_p) = (v.pixel_step(), src.as_ptr(), offs.as_ptr(), out.as_mut_ptr() as *mut f32);
    let fixed = FIXED_STEPS.contains(&a_step);
    for (c0, nv, mask) in column_blocks(n) {
        let (tiles, rows) = tiling(v.out_w, if fixed { FIXED_STEP_ROWS[nv - 1] } else { PIXEL_ROWS[nv - 1] });
        let (b, bias) = (w.as_ptr().add(c0), bias.map_or(std::ptr::null(), |b| b.as_ptr().add(c0)));
        for li in 0..lines {
            let base = v.line_base(l0 + li);
            for t in 0..tiles {
                let ow0 = (t * rows).min(v.out_w - rows);
                let ap = a.add(base + ow0 * a_step);
                let c = out_p.add((li * v.out_w + ow0) * n + c0);
                macro_rules! go {
                    ($step:literal, $r12:tt, $r8:tt, $r6:tt) => {
                        match nv {
                            1 => by_rows_step!(forward_tile, 1, $step, rows, (k, ap, a_step, o, b, n, mask, c, n, bias, relu), $r12),
                            2 => by_rows_step!(forward_tile, 2, $step, rows, (k, ap, a_step, o, b, n, mask, c, n, bias, relu), $r12),
                            3 => by_rows_step!(forward_tile, 3, $step, rows, (k, ap, a_step, o, b, n, mask, c, n, bias, relu), $r8),
                            _ => by_rows_step!(forward_tile, 4, $step, rows, (k, ap, a_step, o, b, n, mask, c, n, bias, relu), $r6),
                        }
                    };
                }
                match a_step {
                    16 => go!(16, [1 2 3 4 5 6 7 8 9 10 11 12], [1 2 3 4 5 6 7 8], [1 2 3 4 5 6]),
                    32 => go!(32, [1 2 3 4 5 6 7 8 9 10 11 12], [1 2 3 4 5 6 7 8], [1 2 3 4 5 6]),
                    _ => go!(0, [1 2 3 4 5 6 7 8], [1 2 3 4 5 6 7 8], [1 2 3 4 5 6]),
                }
            }
        }
    }
}

/// One forward tile: `MR` output pixels whose window corners are `a + r·a_step` (`a_step` is
/// `STEP` when that is not 0), `NV` vectors of output channels from `b` (row stride `b_rs`),
/// stored at `c` (row stride `c_rs`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_tile<const MR: usize, const NV: usize, const STEP: usize>(
    k: usize,
    a: *const f32,
    a_step: usize,
    offs: *const usize,
    b: *const f32,
    b_rs: usize,
    mask: u16,
    c: *mut f32,
    c_rs: usize,
    bias: *const f32,
    relu: bool,
) {
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    for i in 0..k {
        let ap = a.add(*offs.add(i));
        let bp = b.add(i * b_rs);
        let mut bv = [_mm512_setzero_ps(); NV];
        for (j, bv) in bv.iter_mut().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            *bv = _mm512_maskz_loadu_ps(m, bp.add(16 * j));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(r * if STEP > 0 { STEP } else { a_step }));
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, *bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (j, &y) in acc.iter().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            let mut y = y;
            if !bias.is_null() {
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, bias.add(16 * j)));
            }
            if relu {
                // maxps returns its second operand when either is NaN: relu(NaN) = 0 as f32::max.
                y = _mm512_max_ps(y, _mm512_setzero_ps());
            }
            _mm512_mask_storeu_ps(c.add(r * c_rs + 16 * j), m, y);
        }
    }
}

/// Input-gradient tiles for output lines `l0..l1`, added into `dx`, which holds the images
/// from offset `base0` of the (padded) input on.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn input_lines(dy: &[f32], v: &Valid, vecs: &[usize], wt: &[f32], n: usize, l0: usize, l1: usize, dx: &mut [f32], base0: usize) {
    let k = wt.len() / n;
    let step = v.pixel_step();
    for (v0, nv) in vector_groups(vecs.len()) {
        let mask = lane_mask(k, v0 + nv - 1);
        let (tiles, rows) = tiling(v.out_w, PIXEL_ROWS[nv - 1]);
        let (b, vo) = (wt.as_ptr().add(16 * v0), vecs.as_ptr().add(v0));
        for l in l0..l1 {
            let corner = v.line_base(l) - base0;
            for t in 0..tiles {
                let ow0 = t * rows;
                let cnt = rows.min(v.out_w - ow0);
                let a = dy.as_ptr().add((l * v.out_w + ow0) * n);
                let d = dx.as_mut_ptr().add(corner + ow0 * step);
                match nv {
                    1 => by_rows!(input_tile, 1, cnt, (n, a, b, k, mask, d, step, vo), [1 2 3 4 5 6 7 8]),
                    2 => by_rows!(input_tile, 2, cnt, (n, a, b, k, mask, d, step, vo), [1 2 3 4 5 6 7 8]),
                    3 => by_rows!(input_tile, 3, cnt, (n, a, b, k, mask, d, step, vo), [1 2 3 4 5 6 7 8]),
                    _ => by_rows!(input_tile, 4, cnt, (n, a, b, k, mask, d, step, vo), [1 2 3 4 5 6]),
                }
            }
        }
    }
}

/// One input-gradient tile: for `MR` output pixels (rows of `a`, `n` apart) the product with
/// `NV` vectors of taps of `wᵀ` (`b`, rows `b_rs` apart), added into the pixels' windows
/// (corners `d + r·d_step`, tap vectors at offsets `vo[..NV]`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn input_tile<const MR: usize, const NV: usize>(n: usize, a: *const f32, b: *const f32, b_rs: usize, mask: u16, d: *mut f32, d_step: usize, vo: *const usize) {
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    for i in 0..n {
        let bp = b.add(i * b_rs);
        let mut bv = [_mm512_setzero_ps(); NV];
        for (j, bv) in bv.iter_mut().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            *bv = _mm512_maskz_loadu_ps(m, bp.add(16 * j));
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*a.add(r * n + i));
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, *bv, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (j, &y) in acc.iter().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            let p = d.add(r * d_step + *vo.add(j));
            _mm512_mask_storeu_ps(p, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, p), y));
        }
    }
}

/// The filter gradient summed over `pixels`, stored into `dw` (`[taps, n]`), by tiles of
/// vectors of taps × output channels.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn filter_vec_lines(src: &[f32], vecs: &[usize], k: usize, pixels: Pixels, d: DyRows, dw: &mut [f32]) {
    let n = d.n;
    for (v0, nv) in vector_groups(vecs.len()) {
        let mask = lane_mask(k, v0 + nv - 1);
        let (tiles, rows) = tiling(n, CHANNEL_ROWS[nv - 1]);
        for t in 0..tiles {
            let o0 = (t * rows).min(n - rows);
            let (vo, d, c, taps) = (vecs.as_ptr().add(v0), d.at_channel(o0, v0 == 0), dw.as_mut_ptr().add(16 * v0 * n + o0), k - 16 * v0);
            let s = src.as_ptr();
            match nv {
                1 => by_rows!(filter_vec_tile, 1, rows, (s, vo, pixels, d, mask, c, taps), [1 2 3 4 5 6 7 8 9 10 11 12]),
                2 => by_rows!(filter_vec_tile, 2, rows, (s, vo, pixels, d, mask, c, taps), [1 2 3 4 5 6 7 8 9 10 11 12]),
                3 => by_rows!(filter_vec_tile, 3, rows, (s, vo, pixels, d, mask, c, taps), [1 2 3 4 5 6 7 8]),
                _ => by_rows!(filter_vec_tile, 4, rows, (s, vo, pixels, d, mask, c, taps), [1 2 3 4 5 6]),
            }
        }
    }
}

/// One filter-gradient tile by tap vectors: `NV` vectors of taps (offsets `vo[..NV]`) × `MR`
/// output channels of `d` (which applies no derivative: `d.y` is null), summed over `pixels`,
/// stored at `c` (`[taps, n]`, `taps` rows left); with the channels' sums of `dy` at `d.bias`
/// when that is set.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn filter_vec_tile<const MR: usize, const NV: usize>(src: *const f32, vo: *const usize, pixels: Pixels, d: DyRows, mask: u16, c: *mut f32, taps: usize) {
    let mut tp = [src; NV];
    for (j, p) in tp.iter_mut().enumerate() {
        *p = src.add(*vo.add(j));
    }
    let n = d.n;
    let lanes_mask: u16 = if MR >= 16 { u16::MAX } else { (1u16 << MR) - 1 };
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    let mut sum = _mm512_setzero_ps();
    let (mut dp, mut px) = (d.dy, pixels);
    for _ in 0..pixels.count {
        let r = px.next();
        let mut xv = [_mm512_setzero_ps(); NV];
        for (j, xv) in xv.iter_mut().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            *xv = _mm512_maskz_loadu_ps(m, tp[j].add(r));
        }
        sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lanes_mask, dp));
        for (o, acc) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_ps(*dp.add(o));
            for (acc, xv) in acc.iter_mut().zip(&xv) {
                *acc = _mm512_fmadd_ps(*xv, b, *acc);
            }
        }
        dp = dp.add(n);
    }
    if !d.bias.is_null() {
        _mm512_mask_storeu_ps(d.bias, lanes_mask, sum);
    }
    let mut lanes = [0.0f32; 16];
    for (o, acc) in acc.iter().enumerate() {
        for (j, &y) in acc.iter().enumerate() {
            _mm512_storeu_ps(lanes.as_mut_ptr(), y);
            for (q, &y) in lanes.iter().enumerate().take(taps.saturating_sub(16 * j)) {
                *c.add((16 * j + q) * n + o) = y;
            }
        }
    }
}

/// The filter gradient summed over `pixels`, stored into `dw` (`[taps, n]`), by tiles of taps
/// × vectors of output channels (any tap layout).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn filter_lines(src: &[f32], offs: &[usize], pixels: Pixels, d: DyRows, dw: &mut [f32]) {
    let (k, n) = (offs.len(), d.n);
    for (c0, nv, mask) in column_blocks(n) {
        let (tiles, rows) = tiling(k, TAP_ROWS[nv - 1]);
        for t in 0..tiles {
            let i0 = (t * rows).min(k - rows);
            let (o, d, c, s) = (offs.as_ptr().add(i0), d.at_channel(c0, t == 0), dw.as_mut_ptr().add(i0 * n + c0), src.as_ptr());
            match nv {
                1 => by_rows!(filter_tile, 1, rows, (s, o, pixels, d, mask, c), [1 2 3 4 5 6 7 8 9 10 11 12]),
                2 => by_rows!(filter_tile, 2, rows, (s, o, pixels, d, mask, c), [1 2 3 4 5 6 7 8]),
                3 => by_rows!(filter_tile, 3, rows, (s, o, pixels, d, mask, c), [1 2 3 4 5 6 7 8]),
                _ => by_rows!(filter_tile, 4, rows, (s, o, pixels, d, mask, c), [1 2 3 4 5 6]),
            }
        }
    }
}

/// One filter-gradient tile: `MR` taps (offsets `offs[..MR]`) × `NV` vectors of output
/// channels of `d`, summed over `pixels`, stored at `c` (row stride `n`); with the channels'
/// sums of `dy` at `d.bias` when that is set.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn filter_tile<const MR: usize, const NV: usize>(src: *const f32, offs: *const usize, pixels: Pixels, d: DyRows, mask: u16, c: *mut f32) {
    let mut taps = [src; MR];
    for (j, p) in taps.iter_mut().enumerate() {
        *p = src.add(*offs.add(j));
    }
    let n = d.n;
    let zero = _mm512_setzero_ps();
    // Without a ReLU every lane is live; `y` then reads dy itself, which is never used.
    let (yp0, all_live) = if d.y.is_null() { (d.dy, u16::MAX) } else { (d.y, 0) };
    let mut acc = [[zero; NV]; MR];
    let mut sum = [zero; NV];
    let (mut dp, mut yp, mut px) = (d.dy, yp0, pixels);
    for _ in 0..pixels.count {
        let r = px.next();
        let mut bv = [zero; NV];
        for (j, bv) in bv.iter_mut().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            let live = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_maskz_loadu_ps(m, yp.add(16 * j)), zero) | all_live;
            *bv = _mm512_maskz_loadu_ps(m & live, dp.add(16 * j));
            sum[j] = _mm512_add_ps(sum[j], *bv);
        }
        for (acc, p) in acc.iter_mut().zip(&taps) {
            let av = _mm512_set1_ps(*p.add(r));
            for (acc, bv) in acc.iter_mut().zip(&bv) {
                *acc = _mm512_fmadd_ps(av, *bv, *acc);
            }
        }
        dp = dp.add(n);
        yp = yp.add(n);
    }
    if !d.bias.is_null() {
        for (j, &s) in sum.iter().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            _mm512_mask_storeu_ps(d.bias.add(16 * j), m, s);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (j, &y) in acc.iter().enumerate() {
            let m = if j + 1 < NV { u16::MAX } else { mask };
            _mm512_mask_storeu_ps(c.add(r * n + 16 * j), m, y);
        }
    }
}
