// Bit counting for binary fingerprints (perceptual hashes, audio sub-fingerprints).

/** Set bits of a 32-bit word (SWAR popcount). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Bits that differ between `a[ao..ao+words)` and `b[bo..bo+words)`. */
export function hammingWords(a: Uint32Array, ao: number, b: Uint32Array, bo: number, words: number): number {
  let d = 0;
  for (let i = 0; i < words; i++) d += popcount32((a[ao + i]! ^ b[bo + i]!) >>> 0);
  return d;
}
