/** Verification metrics over labelled scores; higher score means "more likely the same identity". */
export interface VerificationMetrics {
  auc: number;
  eer: number;
  /** True-accept rate at the false-accept rate given as key ("1e-2", "1e-3"). */
  tarAtFar: Record<string, number>;
  /** Score threshold achieving that FAR on this list (accept when score >= threshold). */
  thresholdAtFar: Record<string, number>;
}

/** Target FARs reported by the eval commands. */
export const EVAL_FARS: Record<string, number> = { '1e-2': 1e-2, '1e-3': 1e-3 };

/**
 * AUC (Mann-Whitney, ties count half), EER and TAR at fixed FARs. The threshold at a FAR is the lowest score such
 * that the fraction of impostor scores >= it does not exceed the FAR; ties are never split.
 */
export function verificationMetrics(genuine: number[], impostor: number[], fars = EVAL_FARS): VerificationMetrics {
  const g = Float64Array.from(genuine).sort();
  const im = Float64Array.from(impostor).sort();
  const tarAtFar: Record<string, number> = {};
  const thresholdAtFar: Record<string, number> = {};
  for (const [key, far] of Object.entries(fars)) {
    const t = thresholdForFar(im, far);
    thresholdAtFar[key] = t;
    tarAtFar[key] = g.length ? countAtLeast(g, t) / g.length : 0;
  }
  return { auc: auc(g, im), eer: eer(g, im), tarAtFar, thresholdAtFar };
}

/** Number of values in sorted `a` that are >= t. */
function countAtLeast(a: Float64Array, t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return a.length - lo;
}

/** Smallest threshold among observed impostor scores (or just above the max) keeping FAR <= far. */
export function thresholdForFar(sortedImpostor: Float64Array, far: number): number {
  const n = sortedImpostor.length;
  if (n === 0) return -Infinity;
  const allowed = Math.floor(far * n);
  // Walk down from the top: accept "score >= t" where t is just above the (allowed+1)-th highest impostor score.
  if (allowed >= n) return sortedImpostor[0]!;
  const v = sortedImpostor[n - 1 - allowed]!;
  return nextUp(v);
}

function nextUp(v: number): number {
  if (!Number.isFinite(v)) return v;
  return v + Math.max(Math.abs(v) * 1e-12, 1e-12);
}

function auc(g: Float64Array, im: Float64Array): number {
  if (!g.length || !im.length) return 0;
  // Rank-sum over the merged sorted arrays, ties averaged.
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < g.length) {
    const v = g[i]!;
    while (j < im.length && im[j]! < v) j++;
    let k = j;
    while (k < im.length && im[k] === v) k++;
    sum += j + (k - j) / 2;
    i++;
  }
  return sum / (g.length * im.length);
}

function eer(g: Float64Array, im: Float64Array): number {
  if (!g.length || !im.length) return 1;
  const thresholds = Array.from(new Set([...g, ...im])).sort((a, b) => a - b);
  let best = 1;
  let bestGap = Infinity;
  for (const t of thresholds) {
    const frr = (g.length - countAtLeast(g, t)) / g.length;
    const far = countAtLeast(im, t) / im.length;
    const gap = Math.abs(frr - far);
    if (gap < bestGap) {
      bestGap = gap;
      best = (frr + far) / 2;
    }
  }
  return best;
}

/**
 * Minimum normalised detection cost (NIST SRE style) at P_target = 0.01, C_miss = C_fa = 1 ("minDCF 0.01").
 */
export function minDcf(genuine: number[], impostor: number[], pTarget = 0.01): number {
  const g = Float64Array.from(genuine).sort();
  const im = Float64Array.from(impostor).sort();
  if (!g.length || !im.length) return 1;
  const thresholds = Array.from(new Set([...g, ...im, Infinity])).sort((a, b) => a - b);
  const norm = Math.min(pTarget, 1 - pTarget);
  let best = Infinity;
  for (const t of thresholds) {
    const pmiss = (g.length - countAtLeast(g, t)) / g.length;
    const pfa = countAtLeast(im, t) / im.length;
    const c = (pTarget * pmiss + (1 - pTarget) * pfa) / norm;
    if (c < best) best = c;
  }
  return best;
}
