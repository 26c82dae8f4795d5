// Measuring helpers shared by the benchmarks: timing, seeded vectors, and the memory-bandwidth floor that search
// benchmarks report their ratios against (measured in the same run as what they compare).
import { rng } from '../src/media/junk';

/** xorshift32 in [-1, 1) (the junk set's generator, rescaled): fast enough to fill 2 GB of test vectors in seconds. */
export function prng(seed: number): () => number {
  const r = rng(seed);
  return () => 2 * r() - 1;
}

/** Best wall time of `reps` runs, in ms (the machine is shared: the minimum is the least disturbed run). */
export async function best(reps: number, fn: () => unknown): Promise<number> {
  let b = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

/** `x` rounded to `d` decimals. */
export const round = (x: number, d = 3): number => Number(x.toFixed(d));

/**
 * Clustered templates: `rows / 10` identities of 10 templates each (centre + noise, like several photos of one
 * person), queries near some centres. Random unrelated vectors would make every top-10 a set of near-ties, which says
 * nothing about the recall of a quantised gallery.
 */
export function makeGallery(rows: number, dim: number, queries: number, seed: number): { g: Float32Array; q: Float32Array } {
  const r = prng(seed);
  const g = new Float32Array(rows * dim);
  const centre = new Float32Array(dim);
  // Noise comes from a 4M-value pool at random offsets: one PRNG call per row instead of per value.
  const pool = new Float32Array(1 << 22);
  for (let i = 0; i < pool.length; i++) pool[i] = 0.8 * r();
  const noiseAt = (): number => Math.floor(((r() + 1) / 2) * (pool.length - dim));
  const ids = Math.ceil(rows / 10);
  const q = new Float32Array(queries * dim);
  const queryIds = new Set(Array.from({ length: queries }, (_, i) => Math.floor(((i + 0.5) * ids) / queries)));
  let qi = 0;
  for (let id = 0; id < ids; id++) {
    for (let i = 0; i < dim; i++) centre[i] = r();
    for (let j = 0; j < 10 && id * 10 + j < rows; j++) {
      const o = (id * 10 + j) * dim;
      const p = noiseAt();
      for (let i = 0; i < dim; i++) g[o + i] = centre[i]! + pool[p + i]!;
    }
    if (queryIds.has(id) && qi < queries) {
      const p = noiseAt();
      for (let i = 0; i < dim; i++) q[qi * dim + i] = centre[i]! + pool[p + i]!;
      qi++;
    }
  }
  // Unit rows, as buildGallery stores them (cosine = dot product).
  for (const m of [g, q]) {
    for (let o = 0; o < m.length; o += dim) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += m[o + i]! * m[o + i]!;
      const inv = 1 / Math.sqrt(s);
      for (let i = 0; i < dim; i++) m[o + i]! *= inv;
    }
  }
  return { g, q };
}

/**
 * Single-thread memory bandwidths in bytes per second, best of several runs over 512 MiB buffers: `copy` counts the
 * bytes Buffer.copy moves (each is read once and written once); `read` counts the bytes Buffer.equals compares (both
 * buffers are read, nothing is written), the better physical limit for a scan that only reads.
 */
export function bandwidths(): { copy: number; read: number } {
  const n = 512 << 20;
  const a = Buffer.alloc(n, 1), b = Buffer.alloc(n, 1);
  let copyMs = Infinity, readMs = Infinity;
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    a.copy(b);
    copyMs = Math.min(copyMs, performance.now() - t);
    t = performance.now();
    if (!a.equals(b)) throw new Error('copy failed');
    readMs = Math.min(readMs, performance.now() - t);
  }
  return { copy: n / (copyMs / 1000), read: (2 * n) / (readMs / 1000) };
}
