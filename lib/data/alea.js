'use strict';
// The Alea generator (Johannes Baagøe's algorithm, as the seedrandom package implements it):
// tfjs's Dataset.shuffle draws from it, so the same seed gives the same order here.

const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

// Mash hashes strings into [0, 1); its state carries over from one string to the next.
function mash() {
  let n = 0xefc8249d;
  return (data) => {
    const s = String(data);
    for (let i = 0; i < s.length; i++) {
      n += s.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * TWO_POW_MINUS_32;
  };
}

/** A seeded generator: `random()` in [0, 1); `random.int32()` a signed 32-bit integer. */
function alea(seed) {
  const m = mash();
  let c = 1;
  let s0 = m(' ');
  let s1 = m(' ');
  let s2 = m(' ');
  s0 -= m(seed);
  if (s0 < 0) s0 += 1;
  s1 -= m(seed);
  if (s1 < 0) s1 += 1;
  s2 -= m(seed);
  if (s2 < 0) s2 += 1;
  const random = () => {
    const t = 2091639 * s0 + c * TWO_POW_MINUS_32;
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    return s2;
  };
  random.int32 = () => (random() * 0x100000000) | 0;
  return random;
}

module.exports = { alea };
