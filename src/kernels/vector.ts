import { LikenessError } from '../errors';
import { invalid } from '../validate';

/**
 * Smallest norm a model output may have to be a direction at all. Even for junk input the shipped embedders' raw
 * outputs are far from it: 1.25-1.87 for flat, noise and pattern face crops, 6.07-11.03 for silence, tones and noise
 * (scripts/junk-embeddings.ts), so only a broken output comes near it; below it, normalising would turn rounding noise
 * into a confident direction. Junk is told apart by direction ({@link JunkSet}), not by norm.
 */
export const MIN_RAW_NORM = 1e-6;

/** Why a vector cannot be a template or a query. */
export type DegeneracyKind = 'non_finite' | 'zero_norm' | 'constant' | 'junk';

/** What {@link degeneracy} found: the kind, a sentence for people, and for `junk` the cosine to the junk set. */
export interface Degeneracy {
  /** What is wrong with the vector. */
  kind: DegeneracyKind;
  /** The same for people, e.g. `component 3 is NaN`. */
  message: string;
  /** For `junk`: the cosine to the nearest junk embedding. */
  cosine?: number;
}

/**
 * The embeddings a model gives canonical junk (flat and noise images, silence, DC, tones, noise), and the cosine at
 * or above which a vector counts as one of them.
 */
export interface JunkSet {
  /** The model whose embeddings these are. */
  modelId: string;
  /** Unit vectors. */
  prototypes: readonly Float32Array[];
  /** A vector whose cosine to any prototype reaches this is junk. */
  maxCosine: number;
}

/**
 * Null when `v` is a usable embedding; otherwise why not: a non-finite component, a norm under
 * {@link MIN_RAW_NORM}, all components equal (a constant vector carries no identity), or, with `junk`, a direction
 * within `junk.maxCosine` of what the model makes of junk input. Pure; O(dim x prototypes).
 */
export function degeneracy(v: Float32Array, junk?: JunkSet | null): Degeneracy | null {
  let s = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x)) return { kind: 'non_finite', message: `component ${i} is ${String(x)}` };
    s += x * x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const norm = Math.sqrt(s);
  if (!(norm >= MIN_RAW_NORM)) return { kind: 'zero_norm', message: `its norm is ${norm.toExponential(2)}, at or near zero` };
  if (hi - lo <= 1e-6 * norm) return { kind: 'constant', message: 'all its components are equal' };
  if (junk && junk.prototypes.length > 0) {
    let best = -Infinity;
    for (const p of junk.prototypes) {
      if (p.length !== v.length) continue;
      best = Math.max(best, dot(v, 0, p, 0, v.length) / norm);
    }
    if (best >= junk.maxCosine) {
      return { kind: 'junk', cosine: best, message: `it is what ${junk.modelId} makes of junk input (cosine ${best.toFixed(3)} to a blank, flat, tone or noise input; limit ${junk.maxCosine})` };
    }
  }
  return null;
}

/**
 * The typed error for a degenerate template: E_QUALITY with `details.reason` `degenerate_template` and the kind
 * (enrollment gate, registry and both store backends throw this one).
 */
export function degenerateTemplateError(what: string, d: Degeneracy): LikenessError {
  return new LikenessError('E_QUALITY', `${what} is a degenerate template and is never stored: ${d.message}`, {
    reason: 'degenerate_template',
    kind: d.kind,
    ...(d.cosine !== undefined ? { cosine: Math.round(d.cosine * 1e4) / 1e4 } : {}),
  });
}

/** Returns a unit-length copy of `v`. @throws LikenessError E_INPUT for zero or non-finite vectors. */
export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!Number.isFinite(s) || s === 0) throw invalid('an embedding is zero or not finite');
  const inv = 1 / Math.sqrt(s);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}


/**
 * Scales `v` to unit length in place and returns it. A vector that is non-finite or whose norm is under
 * {@link MIN_RAW_NORM} (a model output at or near zero) is left as it is, so {@link degeneracy} still sees it.
 */
export function normaliseInPlace(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!(s >= MIN_RAW_NORM * MIN_RAW_NORM) || !Number.isFinite(s)) return v;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

/**
 * Dot product of `dim` values of `a` from `ao` and `b` from `bo`, accumulated in float64. The hot loop of the TS
 * search references: 4 accumulators let the JIT overlap multiplies; the native kernels replace it for large galleries.
 */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    s0 += a[ao + i]! * b[bo + i]!;
    s1 += a[ao + i + 1]! * b[bo + i + 1]!;
    s2 += a[ao + i + 2]! * b[bo + i + 2]!;
    s3 += a[ao + i + 3]! * b[bo + i + 3]!;
  }
  for (; i < dim; i++) s0 += a[ao + i]! * b[bo + i]!;
  return s0 + s1 + s2 + s3;
}
