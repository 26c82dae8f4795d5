import { DEFAULT_RATES, fitCalibration, perComparisonRate, searchThresholds, type CalibrationMeta } from '../match/calibration';
import { invalid, int } from '../validate';

/** One scored pair of a labelled list. */
export interface ScoredPair {
  fileA: string;
  fileB: string;
  same: boolean;
  score: number;
}

/** Observed false-match rate at one threshold on pairs the calibration was not fitted on. */
export interface HeldOutRate {
  /** The per-comparison rate the threshold is meant to give. */
  nominal: number;
  /** Impostor pairs scoring at or above the threshold, over all held-out impostor pairs. */
  observed: number;
  exceedances: number;
  impostors: number;
  /** observed / nominal. */
  ratio: number;
}

/** Result of {@link crossValidateCalibration}. */
export interface CalibrationCv {
  folds: number;
  /** Identities (connected groups of same-person files) split across the folds. */
  identities: number;
  /** Pooled over the folds: each fold's thresholds applied to its own held-out impostor pairs. */
  match: HeldOutRate;
  possible: HeldOutRate;
  perFold: { genuine: number; impostor: number; match: number; possible: number }[];
  /** Pairs whose two files fell in different folds (neither fitted nor tested). */
  unusedPairs: number;
}

/**
 * Cross-validates a calibration over identities: files are grouped into identities (connected by same-person pairs),
 * the identities are dealt to `folds` folds, and for each fold a calibration is fitted on the pairs lying wholly in
 * the other folds and its `match` / `possible` thresholds (of a one-performer search) are applied to the impostor pairs
 * lying wholly in the held-out fold, whose people the fit never saw. Pairs across folds are not used. The pooled
 * observed false-match rates are compared with the nominal per-comparison rates.
 *
 * @throws LikenessError `E_INPUT` with fewer than 2 folds or too few pairs to fit a fold.
 */
export function crossValidateCalibration(pairs: readonly ScoredPair[], meta: CalibrationMeta, opts: { folds?: number; seed?: number } = {}): CalibrationCv {
  const k = int('folds', opts.folds ?? 5, 2, 50);
  // Identities: union-find over same-person pairs.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    let c = x;
    while (c !== r) {
      const n = parent.get(c)!;
      parent.set(c, r);
      c = n;
    }
    return r;
  };
  for (const p of pairs) for (const f of [p.fileA, p.fileB]) if (!parent.has(f)) parent.set(f, f);
  for (const p of pairs) if (p.same) parent.set(find(p.fileA), find(p.fileB));
  const roots = [...new Set([...parent.keys()].map(find))].sort();
  if (roots.length < k) throw invalid(`cross-validation over ${k} folds needs at least ${k} identities, got ${roots.length}`);
  // Deal identities to folds in a seeded shuffle.
  let s = (opts.seed ?? 1) >>> 0;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const order = roots.map((r) => ({ r, u: rnd() })).sort((a, b) => a.u - b.u);
  const foldOf = new Map(order.map((x, i) => [x.r, i % k]));
  const fold = (f: string): number => foldOf.get(find(f))!;
  const nominal = { match: perComparisonRate(DEFAULT_RATES.match, 1), possible: perComparisonRate(DEFAULT_RATES.possible, 1) };
  let unused = 0;
  const byFold = Array.from({ length: k }, () => [] as ScoredPair[]);
  for (const p of pairs) {
    const a = fold(p.fileA);
    if (a === fold(p.fileB)) byFold[a]!.push(p);
    else unused++;
  }
  const pooled = { match: 0, possible: 0, impostors: 0 };
  const perFold: CalibrationCv['perFold'] = [];
  for (let f = 0; f < k; f++) {
    const train = byFold.filter((_, i) => i !== f).flat();
    const cal = fitCalibration(train.filter((p) => p.same).map((p) => p.score), train.filter((p) => !p.same).map((p) => p.score), meta);
    const t = searchThresholds(cal, 1);
    const test = byFold[f]!.filter((p) => !p.same);
    const m = test.filter((p) => p.score >= t.match).length;
    const q = test.filter((p) => p.score >= t.possible).length;
    pooled.match += m;
    pooled.possible += q;
    pooled.impostors += test.length;
    perFold.push({ genuine: byFold[f]!.length - test.length, impostor: test.length, match: m, possible: q });
  }
  const rate = (n: number, nom: number): HeldOutRate => {
    const observed = pooled.impostors ? n / pooled.impostors : 0;
    return { nominal: nom, observed, exceedances: n, impostors: pooled.impostors, ratio: observed / nom };
  };
  return { folds: k, identities: roots.length, match: rate(pooled.match, nominal.match), possible: rate(pooled.possible, nominal.possible), perFold, unusedPairs: unused };
}
