import { LikenessError } from '../errors';
import type { Performer } from '../store/types';
import { confidence, searchThresholds } from './calibration';
import type { Calibration, SearchRates, SearchThresholds } from './calibration';
import { normalise } from '../kernels/vector';
import { packQueries, searchPerformers } from './gallery';
import type { Gallery, PerformerScore } from './gallery';

/** A decided candidate, as printed by verify / identify / scan. */
export interface Candidate {
  performerId: string;
  name: string;
  /** Raw cosine (or AS-normalised score when the calibration says so). */
  score: number;
  /** Calibrated probability of the same person, 0..1. */
  confidence: number;
  decision: 'match' | 'possible' | 'none';
}

/** Why a performer is not reported. */
export type SuppressionReason = 'consent_expired' | 'consent_withdrawn';

/** A candidate withheld because consent no longer holds (returned so the caller can audit it). */
export interface SuppressedCandidate extends Candidate {
  reason: SuppressionReason;
}

/** Consent state at one instant: `not_recorded` is an explicit enrollment without consent (reported). */
export type ConsentState = 'granted' | 'not_recorded' | 'expired' | 'withdrawn';

/** How to count the comparisons a search makes (see {@link galleryComparisons}). */
export type ComparisonCount = 'templates' | 'performers';

/** Inputs of {@link decide}. */
export interface DecideOptions {
  calibration: Calibration;
  /** Independent impostor comparisons of this search (see {@link galleryComparisons}). */
  comparisons: number;
  /** Performers by id (for names and consent); candidates not found are dropped (deleted meanwhile). */
  performers: ReadonlyMap<string, Performer>;
  /** Per-search false-match targets overriding the defaults (match 1e-3, possible 1e-2). */
  rates?: Partial<SearchRates>;
  /** The instant consent is evaluated at (default now). */
  now?: Date;
}

/** Output of {@link decide}. */
export interface Decision {
  /** Reportable candidates, best first. */
  candidates: Candidate[];
  /** Candidates withheld for consent reasons, best first. */
  suppressed: SuppressedCandidate[];
  thresholds: SearchThresholds;
}

/** The consent state of `p` at `now`. */
export function consentState(p: Performer, now: Date = new Date()): ConsentState {
  const c = p.consent;
  if (c === null) return 'not_recorded';
  if (c.withdrawnAt !== undefined && Date.parse(c.withdrawnAt) <= now.getTime()) return 'withdrawn';
  if (c.expiresAt !== undefined && Date.parse(c.expiresAt) <= now.getTime()) return 'expired';
  return 'granted';
}

/**
 * Number of impostor comparisons one probe makes against `g`, for the per-search rate. `templates` (default) counts
 * every template row, as if each were an independent chance of a false match: rows of one performer are correlated,
 * so this over-counts, which raises thresholds (conservative). `performers` counts performers: tighter, right when
 * each performer contributes one effective comparison (e.g. a single centroid).
 */
export function galleryComparisons(g: Gallery, mode: ComparisonCount = 'templates'): number {
  return Math.max(1, mode === 'templates' ? g.rows : g.performerIds.length);
}

/**
 * Turns per-performer best scores into decided candidates: thresholds for this search's size, calibrated confidence,
 * and consent enforcement (expired or withdrawn performers go to `suppressed`, never to `candidates`).
 */
export function decide(scores: readonly PerformerScore[], opts: DecideOptions): Decision {
  const thresholds = searchThresholds(opts.calibration, opts.comparisons, opts.rates);
  const now = opts.now ?? new Date();
  const candidates: Candidate[] = [];
  const suppressed: SuppressedCandidate[] = [];
  const sorted = [...scores].sort((a, b) => b.score - a.score);
  for (const s of sorted) {
    const p = opts.performers.get(s.performerId);
    if (!p) continue;
    const c: Candidate = {
      performerId: p.id,
      name: p.name,
      score: s.score,
      confidence: confidence(opts.calibration, s.score),
      decision: s.score >= thresholds.match ? 'match' : s.score >= thresholds.possible ? 'possible' : 'none',
    };
    const state = consentState(p, now);
    if (state === 'expired' || state === 'withdrawn') {
      suppressed.push({ ...c, reason: state === 'expired' ? 'consent_expired' : 'consent_withdrawn' });
    } else {
      candidates.push(c);
    }
  }
  return { candidates, suppressed, thresholds };
}

// ---- AS-norm ----

/**
 * A cohort of impostor embeddings (voices of people not in the gallery) for adaptive score normalisation.
 * Vectors are normalised on construction.
 */
export class Cohort {
  /** Row-major `size x dim`. */
  readonly vectors: Float32Array;
  /** Number of cohort embeddings. */
  readonly size: number;

  /**
   * @param vectors cohort embeddings (at least 2; a few hundred is typical)
   * @param dim their dimension
   */
  constructor(
    vectors: readonly Float32Array[],
    readonly dim: number,
  ) {
    if (vectors.length < 2) throw new LikenessError('E_INPUT', 'an AS-norm cohort needs at least 2 embeddings');
    this.vectors = packQueries(vectors, dim);
    this.size = vectors.length;
  }

  /** Mean and standard deviation of the `topN` highest cohort scores of `v` (unit length). */
  stats(v: Float32Array, topN: number): { mean: number; std: number } {
    const scores = new Float32Array(this.size);
    for (let r = 0; r < this.size; r++) {
      let s = 0;
      const o = r * this.dim;
      for (let i = 0; i < this.dim; i++) s += this.vectors[o + i]! * v[i]!;
      scores[r] = s;
    }
    scores.sort();
    const n = Math.max(2, Math.min(topN, this.size));
    let mean = 0;
    for (let i = this.size - n; i < this.size; i++) mean += scores[i]!;
    mean /= n;
    let v2 = 0;
    for (let i = this.size - n; i < this.size; i++) v2 += (scores[i]! - mean) ** 2;
    return { mean, std: Math.max(Math.sqrt(v2 / (n - 1)), 1e-6) };
  }
}

/** Adaptive symmetric normalisation: the mean of the raw score z-normed against each side's top-N cohort scores. */
export function asNormScore(
  raw: number,
  probe: { mean: number; std: number },
  enrolled: { mean: number; std: number },
): number {
  return 0.5 * ((raw - probe.mean) / probe.std + (raw - enrolled.mean) / enrolled.std);
}

/**
 * Top-k performers by AS-normalised score: a raw search pre-selects `preselect` performers per query, then each of
 * their template rows is normalised (row statistics cached per gallery) and the performer keeps its best row.
 */
export function searchPerformersAsNorm(
  g: Gallery,
  queries: readonly Float32Array[],
  k: number,
  cohort: Cohort,
  opts: { topN?: number; preselect?: number } = {},
): PerformerScore[][] {
  if (cohort.dim !== g.dim && g.rows > 0) {
    throw new LikenessError('E_INPUT', `the cohort has ${cohort.dim} dimensions, the gallery ${g.dim}`);
  }
  const topN = opts.topN ?? 200;
  const raw = searchPerformers(g, queries, Math.max(k, opts.preselect ?? 4 * k));
  const rowStats = rowStatsFor(g, cohort, topN);
  return raw.map((cands, q) => {
    const qv = normalise(queries[q]!);
    const qs = cohort.stats(qv, topN);
    const wanted = new Set(cands.map((c) => g.performerIds.indexOf(c.performerId)));
    const best = new Map<number, number>();
    for (let r = 0; r < g.rows; r++) {
      const p = g.rowPerformer[r]!;
      if (!wanted.has(p)) continue;
      let s = 0;
      const o = r * g.dim;
      for (let i = 0; i < g.dim; i++) s += g.vectors[o + i]! * qv[i]!;
      const n = asNormScore(s, qs, rowStats(r));
      if (!best.has(p) || n > best.get(p)!) best.set(p, n);
    }
    return [...best.entries()]
      .map(([p, score]) => ({ performerId: g.performerIds[p]!, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  });
}

const rowStatsCache = new WeakMap<Gallery, WeakMap<Cohort, Map<string, Array<{ mean: number; std: number }>>>>();

function rowStatsFor(g: Gallery, cohort: Cohort, topN: number): (row: number) => { mean: number; std: number } {
  let byCohort = rowStatsCache.get(g);
  if (!byCohort) rowStatsCache.set(g, (byCohort = new WeakMap()));
  let byN = byCohort.get(cohort);
  if (!byN) byCohort.set(cohort, (byN = new Map()));
  let arr = byN.get(String(topN));
  if (!arr) byN.set(String(topN), (arr = []));
  const cache = arr;
  return (row) => {
    let s = cache[row];
    if (!s) cache[row] = s = cohort.stats(g.vectors.subarray(row * g.dim, (row + 1) * g.dim), topN);
    return s;
  };
}
