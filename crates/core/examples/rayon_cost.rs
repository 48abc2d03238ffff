use rayon::prelude::*;
use std::time::Instant;
fn region(v: &mut [f32]) {
    v.par_chunks_mut(1024).for_each(|c| c.iter_mut().for_each(|x| *x += 1.0));
}
fn main() {
    let mut v = vec![0.0f32; 8192];
    for _ in 0..1000 { region(&mut v); }
    let t = Instant::now();
    for _ in 0..10000 { region(&mut v); }
    println!("from outside the pool: {:.2} µs per region", t.elapsed().as_secs_f64() * 1e6 / 10000.0);
    rayon::scope(|_| {
        let t = Instant::now();
        for _ in 0..10000 { region(&mut v); }
        println!("inside the pool: {:.2} µs per region", t.elapsed().as_secs_f64() * 1e6 / 10000.0);
    });
    // with a pause between regions (serial work between kernels)
    let spin = |us: u64| { let t = Instant::now(); while t.elapsed().as_micros() < us as u128 {} };
    for us in [20u64, 100, 500] {
        let t = Instant::now();
        for _ in 0..1000 { spin(us); region(&mut v); }
        let out = t.elapsed().as_secs_f64() * 1e6 / 1000.0 - us as f64;
        let mut inside = 0.0;
        rayon::scope(|_| {
            let t = Instant::now();
            for _ in 0..1000 { spin(us); region(&mut v); }
            inside = t.elapsed().as_secs_f64() * 1e6 / 1000.0 - us as f64;
        });
        println!("after {us} µs of serial work: outside {out:.2} µs, inside {inside:.2} µs");
    }
}
