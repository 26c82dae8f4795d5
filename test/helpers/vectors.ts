import * as crypto from 'crypto';

/** Deterministic PRNG (mulberry32) so synthetic tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal sample (Box-Muller). */
export function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** A random unit vector. */
export function unitVector(r: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let s = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = gauss(r);
    s += v[i]! * v[i]!;
  }
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < dim; i++) v[i]! *= inv;
  return v;
}

/** A unit vector whose cosine with unit `base` is `rho` (noise orthogonalised against base). */
export function nearVector(r: () => number, base: Float32Array, rho: number): Float32Array {
  const n = unitVector(r, base.length);
  let d = 0;
  for (let i = 0; i < base.length; i++) d += n[i]! * base[i]!;
  let s = 0;
  for (let i = 0; i < base.length; i++) {
    n[i] = n[i]! - d * base[i]!;
    s += n[i]! * n[i]!;
  }
  const inv = 1 / Math.sqrt(s);
  const c = Math.sqrt(1 - rho * rho);
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = rho * base[i]! + c * n[i]! * inv;
  return out;
}

/** Cosine of two unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** sha256 hex of a label (stands in for a media file's hash). */
export function fakeHash(label: string): string {
  return crypto.createHash('sha256').update(label).digest('hex');
}
