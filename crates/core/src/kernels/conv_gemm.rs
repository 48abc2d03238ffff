//! The compute of 2-D convolutions over NHWC data. `forward`, `backprop_input` and
//! `backprop_filter` run the register-tiled kernels of `conv_direct` where the CPU has them,
//! else GEMMs over im2col matrices: the forward pass (`col · W`), the input gradient (`dy · Wᵀ`
//! scattered back by col2im) and the filter gradient (`colᵀ · dy`). Work is split into chunks
//! of output lines so that an im2col matrix stays cache-sized; chunks run in parallel when the
//! convolution is large.

use super::conv_direct;
use super::conv_info::ConvInfo;
use super::matmul::sgemm;
use rayon::prelude::*;
use std::cell::Cell;

/// im2col floats per chunk: big enough for an efficient GEMM, small enough to stay in cache.
const CHUNK_FLOATS: usize = 1 << 18;
/// Multiply-adds below which a convolution stays on the calling thread.
const PAR_WORK: usize = 1 << 19;

thread_local! {
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a scratch buffer of `len` floats (contents unspecified). The buffer is taken out
/// of the thread-local slot rather than borrowed: a GEMM may run other chunks of this pool on
/// the same thread while it waits, and those must not find the slot in use.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buf = SCRATCH.with(Cell::take);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    SCRATCH.with(|s| {
        let other = s.take();
        s.set(if other.capacity() > buf.capacity() { other } else { buf });
    });
    r
}

/// The filter is 1×1 and slides over every pixel: the input is its own im2col matrix.
fn pointwise(g: &ConvInfo) -> bool {
    g.filter_h == 1
        && g.filter_w == 1
        && g.stride_h == 1
        && g.stride_w == 1
        && g.pad_top == 0
        && g.pad_left == 0
        && g.out_h == g.in_h
        && g.out_w == g.in_w
}

fn parallel(g: &ConvInfo) -> bool {
    g.work() >= PAR_WORK && g.batch * g.out_h > 1
}

/// Output lines (one output row of one image) per chunk.
fn lines_per_chunk(g: &ConvInfo, k: usize) -> usize {
    let lines = g.batch * g.out_h;
    let by_mem = (CHUNK_FLOATS / (g.out_w * k).max(1)).max(1);
    let by_par = if parallel(g) { lines.div_ceil(rayon::current_num_threads() * 4) } else { lines };
    by_mem.min(by_par).max(1)
}

/// Walks the im2col layout of output lines `l0..l1` as runs of `taps` filter columns that are
/// contiguous both in a col row and in the input: `f(row, offset_in_row, input_offset, taps)`,
/// the input offset (into the whole batch) being `None` over padding. A filter row that lies
/// inside the image is one run, so im2col and col2im move whole `filterW·inC` slices.
#[inline(always)]
fn for_each_segment(g: &ConvInfo, l0: usize, l1: usize, mut f: impl FnMut(usize, usize, Option<usize>, usize)) {
    let (c, fw) = (g.in_c, g.filter_w);
    let contiguous = g.dil_w == 1;
    let mut r = 0;
    for l in l0..l1 {
        let (n, oh) = (l / g.out_h, l % g.out_h);
        let img = n * g.in_h * g.in_w * c;
        let ih0 = (oh * g.stride_h) as isize - g.pad_top as isize;
        for ow in 0..g.out_w {
            let iw0 = (ow * g.stride_w) as isize - g.pad_left as isize;
            for kh in 0..g.filter_h {
                let seg = kh * fw * c;
                let ih = ih0 + (kh * g.dil_h) as isize;
                if ih < 0 || ih >= g.in_h as isize {
                    f(r, seg, None, fw);
                    continue;
                }
                let xrow = img + ih as usize * g.in_w * c;
                if contiguous && iw0 >= 0 && iw0 as usize + fw <= g.in_w {
                    f(r, seg, Some(xrow + iw0 as usize * c), fw);
                    continue;
                }
                for kw in 0..fw {
                    let iw = iw0 + (kw * g.dil_w) as isize;
                    let inside = iw >= 0 && iw < g.in_w as isize;
                    f(r, seg + kw * c, inside.then(|| xrow + iw as usize * c), 1);
                }
            }
            r += 1;
        }
    }
}

fn im2col(x: &[f32], g: &ConvInfo, l0: usize, l1: usize, col: &mut [f32]) {
    let k = g.filter_h * g.filter_w * g.in_c;
    let c = g.in_c;
    for_each_segment(g, l0, l1, |r, seg, src, kws| {
        let dst = &mut col[r * k + seg..r * k + seg + kws * c];
        match src {
            Some(s) => dst.copy_from_slice(&x[s..s + kws * c]),
            None => dst.fill(0.0),
        }
    });
}

/// Adds the im2col-shaped gradient of lines `l0..l1` into `dx`, which holds the images from
/// `n_base` on.
fn col2im(dcol: &[f32], g: &ConvInfo, l0: usize, l1: usize, dx: &mut [f32], n_base: usize) {
    let k = g.filter_h * g.filter_w * g.in_c;
    let c = g.in_c;
    let base = n_base * g.in_h * g.in_w * c;
    for_each_segment(g, l0, l1, |r, seg, dst, kws| {
        if let Some(d) = dst {
            let src = &dcol[r * k + seg..r * k + seg + kws * c];
            for (a, b) in dx[d - base..d - base + kws * c].iter_mut().zip(src) {
                *a += b;
            }
        }
    });
}

/// `y = conv(x, w)`: x `[N,H,W,Ci]`, w `[fh,fw,Ci,Co]`, y `[N,OH,OW,Co]`.
pub fn forward(x: &[f32], w: &[f32], g: &ConvInfo) -> Vec<f32> {
    if conv_direct::takes(g) {
        return conv_direct::forward(x, w, g, None, false);
    }
    forward_im2col(x, w, g)
}

/// `dx` of `y = conv(x, w)` given `dy`: `[N,H,W,Ci]`.
pub fn backprop_input(dy: &[f32], w: &[f32], g: &ConvInfo) -> Vec<f32> {
    if conv_direct::takes(g) {
        if let Some(dx) = conv_direct::backprop_input(dy, w, g) {
            return dx;
        }
    }
    backprop_input_im2col(dy, w, g)
}

/// `dw` of `y = conv(x, w)` given `dy`: `[fh,fw,Ci,Co]`.
pub fn backprop_filter(x: &[f32], dy: &[f32], g: &ConvInfo) -> Vec<f32> {
    if conv_direct::takes(g) {
        return conv_direct::backprop_filter(x, dy, g);
    }
    backprop_filter_im2col(x, dy, g)
}

/// The filter gradient and, if `bias`, the bias gradient of `y = act(conv(x, w) + b)` given the
/// gradient `dy` of `y`; `act` is a ReLU when `relu` holds `y`, else linear.
pub fn filter_grads(x: &[f32], dy: &[f32], relu: Option<&[f32]>, bias: bool, g: &ConvInfo) -> (Vec<f32>, Vec<f32>) {
    if conv_direct::takes(g) {
        return conv_direct::filter_grads(x, dy, relu, bias, g);
    }
    let dy: std::borrow::Cow<[f32]> = match relu {
        Some(y) => dy.iter().zip(y).map(|(&d, &y)| if y > 0.0 { d } else { 0.0 }).collect::<Vec<f32>>().into(),
        None => dy.into(),
    };
    let mut db = vec![0.0f32; if bias { g.out_c } else { 0 }];
    if bias && g.out_c > 0 {
        for row in dy.chunks_exact(g.out_c) {
            db.iter_mut().zip(row).for_each(|(s, d)| *s += d);
        }
    }
    (backprop_filter(x, &dy, g), db)
}

/// `forward` by im2col and GEMM.
pub(crate) fn forward_im2col(x: &[f32], w: &[f32], g: &ConvInfo) -> Vec<f32> {
    let (k, co, ow) = (g.filter_h * g.filter_w * g.in_c, g.out_c, g.out_w);
    let lines = g.batch * g.out_h;
    let mut out = vec![0.0f32; lines * ow * co];
    if out.is_empty() {
        return out;
    }
    let lpc = lines_per_chunk(g, k);
    let pw = pointwise(g);
    let run = |(i, o): (usize, &mut [f32])| {
        let l0 = i * lpc;
        let l1 = (l0 + lpc).min(lines);
        let rows = (l1 - l0) * ow;
        if pw {
            sgemm(rows, co, k, &x[l0 * ow * k..l1 * ow * k], k as isize, 1, w, co as isize, 1, o);
        } else {
            with_scratch(rows * k, |col| {
                im2col(x, g, l0, l1, col);
                sgemm(rows, co, k, col, k as isize, 1, w, co as isize, 1, o);
            });
        }
    };
    if parallel(g) {
        out.par_chunks_mut(lpc * ow * co).enumerate().for_each(run);
    } else {
        out.chunks_mut(lpc * ow * co).enumerate().for_each(run);
    }
    out
}

/// `backprop_input` by GEMM and col2im.
pub(crate) fn backprop_input_im2col(dy: &[f32], w: &[f32], g: &ConvInfo) -> Vec<f32> {
    let (k, co, ow) = (g.filter_h * g.filter_w * g.in_c, g.out_c, g.out_w);
    let img = g.in_h * g.in_w * g.in_c;
    let mut dx = vec![0.0f32; g.batch * img];
    if dx.is_empty() || dy.is_empty() {
        return dx;
    }
    let lpc = (CHUNK_FLOATS / (ow * k).max(1)).max(1);
    let pw = pointwise(g);
    let par = parallel(g);
    // Images are grouped so that no two parallel tasks scatter into the same part of dx.
    let per_group = if par { g.batch.div_ceil(rayon::current_num_threads() * 2) } else { g.batch };
    let run = |(gi, dxg): (usize, &mut [f32])| {
        let n0 = gi * per_group;
        let (la, lb) = (n0 * g.out_h, ((n0 + per_group).min(g.batch)) * g.out_h);
        for l0 in (la..lb).step_by(lpc) {
            let l1 = (l0 + lpc).min(lb);
            let rows = (l1 - l0) * ow;
            let dyc = &dy[l0 * ow * co..l1 * ow * co];
            if pw {
                let off = (l0 - la) * ow * k;
                sgemm(rows, k, co, dyc, co as isize, 1, w, 1, co as isize, &mut dxg[off..off + rows * k]);
            } else {
                with_scratch(rows * k, |dcol| {
                    sgemm(rows, k, co, dyc, co as isize, 1, w, 1, co as isize, dcol);
                    col2im(dcol, g, l0, l1, dxg, n0);
                });
            }
        }
    };
    if par {
        dx.par_chunks_mut(per_group * img).enumerate().for_each(run);
    } else {
        run((0, &mut dx));
    }
    dx
}

/// `backprop_filter` by im2col and GEMM.
pub(crate) fn backprop_filter_im2col(x: &[f32], dy: &[f32], g: &ConvInfo) -> Vec<f32> {
    let (k, co, ow) = (g.filter_h * g.filter_w * g.in_c, g.out_c, g.out_w);
    let lines = g.batch * g.out_h;
    if k * co == 0 || lines * ow == 0 {
        return vec![0.0; k * co];
    }
    let lpc = lines_per_chunk(g, k);
    let pw = pointwise(g);
    let partial = |i: usize| -> Vec<f32> {
        let l0 = i * lpc;
        let l1 = (l0 + lpc).min(lines);
        let rows = (l1 - l0) * ow;
        let dyc = &dy[l0 * ow * co..l1 * ow * co];
        let mut part = vec![0.0f32; k * co];
        if pw {
            sgemm(k, co, rows, &x[l0 * ow * k..l1 * ow * k], 1, k as isize, dyc, co as isize, 1, &mut part);
        } else {
            with_scratch(rows * k, |col| {
                im2col(x, g, l0, l1, col);
                sgemm(k, co, rows, col, 1, k as isize, dyc, co as isize, 1, &mut part);
            });
        }
        part
    };
    let add = |mut a: Vec<f32>, b: Vec<f32>| {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        a
    };
    let chunks = lines.div_ceil(lpc);
    if parallel(g) {
        // Added in chunk order, so that a result does not depend on which thread finished first.
        (0..chunks).into_par_iter().map(partial).collect::<Vec<_>>().into_iter().fold(vec![0.0; k * co], add)
    } else {
        (0..chunks).map(partial).fold(vec![0.0; k * co], add)
    }
}
