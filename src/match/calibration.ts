import * as fs from 'fs';
import { LikenessError } from '../errors';
import { invalid } from '../validate';

/**
 * Score calibration per model: a `confidence` mapping (score -> P(same person), at equal priors) and an impostor
 * tail model that turns per-search false-match targets into score thresholds for a gallery of any size.
 *
 * Why a tail model: `match` promises that a probe of someone not enrolled is wrongly matched to anyone in a gallery of
 * N comparisons with probability <= 1e-3. The per-comparison rate is then p = 1 - (1 - 1e-3)^(1/N) (~1e-3 / N), far
 * below what a few thousand impostor pairs can read directly (they resolve ~10 / n). So p is read from models of the
 * upper impostor tail, and the threshold is the LARGEST of three readings (conservative):
 *  - far-tail exponential: an exponential fitted to the top 3% of impostor scores (at least 30), scale inflated to
 *    its one-sided 95% bound (1 + 1.645 / sqrt(k)). Cosine impostor tails (Gaussian-like, logistic-like) have a
 *    hazard rate that grows with the score, so an exponential with the hazard read at the far end of the data
 *    over-states every rate beyond it: conservative without assuming which of those shapes the tail has;
 *  - generalised Pareto over the top 20% (peaks over threshold, the extreme-value model for any tail), shape at its
 *    one-sided 95% upper bound (shape + 1.645 (1 + shape) / sqrt(m)), scale inflated likewise. It governs heavy
 *    (Student-t-like) tails, where the exponential would under-state rates;
 *  - the empirical quantile wherever the data can read p (p >= 10 / n).
 * Measured alternatives (see calibration.test.ts): a Pareto fit alone extrapolates a Gaussian tail too short (its
 * shape estimate is about -0.2 at finite thresholds: 0.33 instead of 0.42 at p = 1e-7, sigma 0.08); a Gaussian Q-Q
 * line under-states logistic tails up to 40x at N = 10,000; an exponential over the top 20% over-states Gaussian
 * thresholds by ~0.45 at N = 10,000; the top 10% for the Pareto gave shape bounds that pushed real face thresholds
 * (1,025 impostor pairs) past 1.
 * Mode `fitted` uses the Pareto point estimate alone (for inspection; not conservative).
 */

/** How `confidence` is computed from a score. */
export type CalibrationMethod = 'logistic' | 'isotonic';

/** Logistic parameters: confidence = 1 / (1 + exp(-(a * score + b))). */
export interface LogisticParams {
  a: number;
  b: number;
}

/** Isotonic (PAV) step points: confidence interpolates linearly between (x[i], y[i]), clamped at the ends. */
export interface IsotonicParams {
  x: number[];
  y: number[];
}

/** Models of the upper impostor tail; thresholds take the largest of their readings (see the module comment). */
export interface ImpostorTail {
  model: 'gpd';
  /** u: scores above it are the fitted exceedances. */
  threshold: number;
  /** Fraction of impostor scores above u (zeta_u). */
  exceedanceRate: number;
  /** Number of exceedances used (m). */
  exceedances: number;
  /** Pareto shape used for thresholds (upper confidence bound in conservative mode). */
  shape: number;
  /** Pareto scale used for thresholds (inflated in conservative mode). */
  scale: number;
  /** Probability-weighted-moment estimates before the bound/inflation, for inspection. */
  fittedShape: number;
  fittedScale: number;
  /** Exponential over the top few percent (scale inflated); null in `fitted` mode. */
  farTail: { threshold: number; exceedanceRate: number; exceedances: number; scale: number } | null;
  /** Empirical upper quantiles `[p, score]` (P(impostor >= score) = p), p descending, down to ~10 / n. */
  empirical: Array<[number, number]>;
  /** Mean and standard deviation of all impostor scores, for inspection. */
  mean: number;
  std: number;
}

/** A fitted calibration as shipped in models/calibration/<modelId>.json. */
export interface Calibration {
  version: 1;
  modelId: string;
  method: CalibrationMethod;
  params: LogisticParams | IsotonicParams;
  impostorTail: ImpostorTail;
  /** Score normalisation the scores were produced with (`asnorm`: adaptive s-norm against a cohort). */
  scoreNorm: 'none' | 'asnorm';
  fittedOn: {
    pairs: number;
    genuine: number;
    impostor: number;
    source: string;
    /** Held-out (5-fold) log-loss of each method; the lower one was chosen. */
    heldOutLogLoss: Record<CalibrationMethod, number>;
  };
}

/** Options and provenance for {@link fitCalibration}. */
export interface CalibrationMeta {
  modelId: string;
  /** Where the pairs came from (file name, data set). */
  source: string;
  scoreNorm?: 'none' | 'asnorm';
  /** Force a method instead of choosing by held-out log-loss. */
  method?: CalibrationMethod;
  /** `conservative` (default) clamps the tail shape at >= 0; `fitted` uses the estimate as is. */
  tail?: 'conservative' | 'fitted';
  /** Fraction of impostor scores treated as the tail (default 0.2, at least 30 scores). */
  tailFraction?: number;
}

/** Per-search false-match targets. */
export interface SearchRates {
  /** Probability that a non-enrolled probe is reported as `match` to anyone (default 1e-3). */
  match: number;
  /** The same for `possible` or better (default 1e-2). */
  possible: number;
}

/** Default per-search rates. */
export const DEFAULT_RATES: Readonly<SearchRates> = Object.freeze({ match: 1e-3, possible: 1e-2 });

/** Score thresholds for one search. */
export interface SearchThresholds {
  match: number;
  possible: number;
  /** The per-comparison false-match rates the thresholds were read at. */
  perComparison: SearchRates;
  /** Independent comparisons assumed (see decide.ts). */
  comparisons: number;
}

const CONF_EPS = 1e-4;
const MIN_IMPOSTOR = 100;
const MIN_GENUINE = 10;
const MIN_EXCEEDANCES = 30;

/**
 * Fits a calibration on labelled pair scores.
 * @throws LikenessError E_INPUT with fewer than 10 genuine or 100 impostor finite scores.
 */
export function fitCalibration(genuineScores: ArrayLike<number>, impostorScores: ArrayLike<number>, meta: CalibrationMeta): Calibration {
  const g = finiteSorted(genuineScores);
  const im = finiteSorted(impostorScores);
  if (g.length < MIN_GENUINE || im.length < MIN_IMPOSTOR) {
    throw invalid(`calibration needs at least ${MIN_GENUINE} genuine and ${MIN_IMPOSTOR} impostor scores, got ${g.length} and ${im.length}`,
    );
  }
  const heldOutLogLoss = {
    logistic: crossValidatedLogLoss(g, im, 'logistic'),
    isotonic: crossValidatedLogLoss(g, im, 'isotonic'),
  };
  const method = meta.method ?? (heldOutLogLoss.isotonic < heldOutLogLoss.logistic ? 'isotonic' : 'logistic');
  const params = method === 'logistic' ? fitLogistic(g, im) : fitIsotonic(g, im);
  return {
    version: 1,
    modelId: meta.modelId,
    method,
    params,
    impostorTail: fitImpostorTail(im, meta.tail ?? 'conservative', meta.tailFraction ?? 0.2),
    scoreNorm: meta.scoreNorm ?? 'none',
    fittedOn: { pairs: g.length + im.length, genuine: g.length, impostor: im.length, source: meta.source, heldOutLogLoss },
  };
}

/** Calibrated confidence in [0, 1] that `score` comes from the same person (equal priors). */
export function confidence(cal: Calibration, score: number): number {
  const c = cal.method === 'logistic' ? logisticAt(cal.params as LogisticParams, score) : isotonicAt(cal.params as IsotonicParams, score);
  return Math.min(1 - CONF_EPS, Math.max(CONF_EPS, c));
}

/** Per-comparison rate p such that 1 - (1 - p)^comparisons = perSearch. */
export function perComparisonRate(perSearch: number, comparisons: number): number {
  const n = Math.max(1, comparisons);
  return -Math.expm1(Math.log1p(-perSearch) / n);
}

/** Score above which an impostor comparison falls with probability <= p (per comparison). */
export function impostorThreshold(tail: ImpostorTail, p: number): number {
  if (!(p > 0 && p < 1)) throw invalid(`a false-match rate must be within (0, 1), got ${p}`);
  const emp = empiricalQuantile(tail.empirical, p);
  if (p >= tail.exceedanceRate && emp !== null) return emp;
  const ratio = p / tail.exceedanceRate;
  let t =
    Math.abs(tail.shape) < 1e-9
      ? tail.threshold - tail.scale * Math.log(ratio)
      : tail.threshold + (tail.scale / tail.shape) * (Math.pow(ratio, -tail.shape) - 1);
  const far = tail.farTail;
  if (far && p < far.exceedanceRate) t = Math.max(t, far.threshold - far.scale * Math.log(p / far.exceedanceRate));
  return emp === null ? t : Math.max(t, emp);
}

/** Estimated per-comparison impostor rate P(score >= t) under the tail models (the largest of them). */
export function impostorRate(tail: ImpostorTail, t: number): number {
  if (t <= tail.threshold) return tail.exceedanceRate;
  const y = t - tail.threshold;
  let rate: number;
  if (Math.abs(tail.shape) < 1e-9) rate = tail.exceedanceRate * Math.exp(-y / tail.scale);
  else {
    const base = 1 + (tail.shape * y) / tail.scale;
    rate = base <= 0 ? 0 : tail.exceedanceRate * Math.pow(base, -1 / tail.shape);
  }
  const far = tail.farTail;
  if (far && t > far.threshold) rate = Math.max(rate, far.exceedanceRate * Math.exp(-(t - far.threshold) / far.scale));
  return rate;
}

/**
 * Thresholds for one search over `comparisons` independent impostor comparisons (see decide.ts for how galleries
 * count them). `rates` override the defaults per call.
 */
export function searchThresholds(cal: Calibration, comparisons: number, rates: Partial<SearchRates> = {}): SearchThresholds {
  const r = { ...DEFAULT_RATES, ...rates };
  checkRate('match rate', r.match);
  checkRate('possible rate', r.possible);
  if (r.possible < r.match) throw invalid('the possible rate must be >= the match rate');
  const perComparison = { match: perComparisonRate(r.match, comparisons), possible: perComparisonRate(r.possible, comparisons) };
  return {
    match: impostorThreshold(cal.impostorTail, perComparison.match),
    possible: impostorThreshold(cal.impostorTail, perComparison.possible),
    perComparison,
    comparisons: Math.max(1, comparisons),
  };
}

/**
 * Validates a parsed calibration JSON.
 * @throws LikenessError E_MODEL when it is not a calibration this code understands.
 */
export function parseCalibration(json: unknown, origin = 'calibration'): Calibration {
  const bad = (why: string): never => {
    throw new LikenessError('E_MODEL', `${origin} is not a valid calibration (${why}): refit it with \`likeness calibrate\``);
  };
  if (typeof json !== 'object' || json === null) return bad('not an object');
  const c = json as Partial<Calibration>;
  if (c.version !== 1) bad('unknown version');
  if (typeof c.modelId !== 'string' || !c.modelId) bad('no modelId');
  if (c.method !== 'logistic' && c.method !== 'isotonic') bad('unknown method');
  const p = c.params as Partial<LogisticParams & IsotonicParams> | undefined;
  if (c.method === 'logistic' && !(isFiniteNum(p?.a) && isFiniteNum(p?.b))) bad('logistic params');
  if (c.method === 'isotonic' && !(Array.isArray(p?.x) && Array.isArray(p?.y) && p!.x!.length === p!.y!.length && p!.x!.length > 0)) {
    bad('isotonic params');
  }
  const t = c.impostorTail;
  if (!t || t.model !== 'gpd' || ![t.threshold, t.exceedanceRate, t.shape, t.scale].every(isFiniteNum) || !(t.scale > 0)) {
    bad('impostor tail');
  }
  if (!Array.isArray(t!.empirical)) bad('empirical quantiles');
  // Files fitted before the far-tail model existed have none: their stored shape/scale still apply as fitted.
  const far = t!.farTail ?? null;
  if (far !== null && !([far.threshold, far.exceedanceRate].every(isFiniteNum) && far.scale > 0)) bad('far tail');
  return { ...(c as Calibration), impostorTail: { ...t!, farTail: far }, scoreNorm: c.scoreNorm ?? 'none' };
}

/** Reads and validates a calibration file. @throws LikenessError E_MODEL when missing or invalid. */
export function loadCalibrationFile(file: string): Calibration {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new LikenessError('E_MODEL', `calibration ${file} cannot be read: run \`likeness calibrate\``, { file }, { cause: e });
  }
  try {
    return parseCalibration(JSON.parse(text), file);
  } catch (e) {
    if (e instanceof LikenessError) throw e;
    throw new LikenessError('E_MODEL', `calibration ${file} is not JSON`, { file }, { cause: e });
  }
}

// ---- fitting ----

function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkRate(name: string, v: number): void {
  if (!(typeof v === 'number' && v > 0 && v < 1)) throw invalid(`${name} must be within (0, 1), got ${v}`);
}

function finiteSorted(a: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!)) out.push(a[i]!);
  return Float64Array.from(out).sort();
}

function logisticAt(p: LogisticParams, s: number): number {
  return 1 / (1 + Math.exp(-(p.a * s + p.b)));
}

function isotonicAt(p: IsotonicParams, s: number): number {
  const { x, y } = p;
  if (s <= x[0]!) return y[0]!;
  if (s >= x[x.length - 1]!) return y[y.length - 1]!;
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= s) lo = mid;
    else hi = mid;
  }
  const f = (s - x[lo]!) / (x[hi]! - x[lo]! || 1);
  return y[lo]! + f * (y[hi]! - y[lo]!);
}

/**
 * Weighted logistic regression on the score by Newton's method. Classes are weighted to equal total mass so the
 * confidence is the posterior at equal priors (independent of how many impostor pairs the list had); a small ridge on
 * the slope keeps separable data finite.
 */
function fitLogistic(g: Float64Array, im: Float64Array): LogisticParams {
  const wg = 0.5 / g.length;
  const wi = 0.5 / im.length;
  const ridge = 1e-4;
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    let ga = ridge * a;
    let gb = 0;
    let haa = ridge;
    let hab = 0;
    let hbb = 0;
    const acc = (s: number, y: number, w: number): void => {
      const p = 1 / (1 + Math.exp(-(a * s + b)));
      const r = w * (p - y);
      const h = w * Math.max(p * (1 - p), 1e-12);
      ga += r * s;
      gb += r;
      haa += h * s * s;
      hab += h * s;
      hbb += h;
    };
    for (const s of g) acc(s, 1, wg);
    for (const s of im) acc(s, 0, wi);
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { a, b };
}

/** Pool-adjacent-violators on class-balanced weights; returns block centres and values. */
function fitIsotonic(g: Float64Array, im: Float64Array): IsotonicParams {
  const pts: Array<[number, number, number]> = [];
  for (const s of g) pts.push([s, 1, 0.5 / g.length]);
  for (const s of im) pts.push([s, 0, 0.5 / im.length]);
  pts.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  // Blocks: weighted sum of x, of y, and weight.
  const sx: number[] = [];
  const sy: number[] = [];
  const sw: number[] = [];
  for (const [x, y, w] of pts) {
    sx.push(x * w);
    sy.push(y * w);
    sw.push(w);
    while (sw.length > 1 && sy[sy.length - 2]! / sw[sw.length - 2]! >= sy[sy.length - 1]! / sw[sw.length - 1]!) {
      const w2 = sw.pop()!;
      const y2 = sy.pop()!;
      const x2 = sx.pop()!;
      sw[sw.length - 1]! += w2;
      sy[sy.length - 1]! += y2;
      sx[sx.length - 1]! += x2;
    }
  }
  return { x: sx.map((v, i) => v / sw[i]!), y: sy.map((v, i) => v / sw[i]!) };
}

/** Class-balanced log-loss of a method over 5 interleaved folds of the sorted scores (deterministic). */
function crossValidatedLogLoss(g: Float64Array, im: Float64Array, method: CalibrationMethod): number {
  const folds = 5;
  let lossG = 0;
  let lossI = 0;
  for (let f = 0; f < folds; f++) {
    const trainG = g.filter((_, i) => i % folds !== f);
    const trainI = im.filter((_, i) => i % folds !== f);
    const testG = g.filter((_, i) => i % folds === f);
    const testI = im.filter((_, i) => i % folds === f);
    if (trainG.length === 0 || trainI.length === 0) continue;
    const params = method === 'logistic' ? fitLogistic(trainG, trainI) : fitIsotonic(trainG, trainI);
    const cal = { method, params } as Calibration;
    for (const s of testG) lossG -= Math.log(confidence(cal, s));
    for (const s of testI) lossI -= Math.log(1 - confidence(cal, s));
  }
  return 0.5 * (lossG / g.length) + 0.5 * (lossI / im.length);
}

/**
 * Peaks-over-threshold fit: u is the (1 - tailFraction) quantile (at least 30 exceedances; 20% rather than the usual
 * 10%: calibration lists are small, and with the top 10% of 1,025 real face impostor scores (m = 103) the shape's
 * upper bound alone pushed thresholds past 1, forbidding any match; at 20% it did not), the exceedances get a
 * generalised Pareto by probability-weighted moments (Hosking & Wallis 1987: closed form, robust for small samples).
 */
function fitImpostorTail(im: Float64Array, mode: 'conservative' | 'fitted', tailFraction: number): ImpostorTail {
  const n = im.length;
  const nu = Math.min(n - 1, Math.max(MIN_EXCEEDANCES, Math.round(n * tailFraction)));
  const u = im[n - nu - 1]!;
  const y = Array.from(im.subarray(n - nu), (s) => s - u);
  // PWM: a0 = mean(y), a1 = mean(y_(j) * (1 - p_j)) with plotting positions p_j = (j - 0.35) / m over ascending y.
  const m = y.length;
  let a0 = 0;
  let a1 = 0;
  y.forEach((v, j) => {
    a0 += v;
    a1 += v * (1 - (j + 1 - 0.35) / m);
  });
  a0 /= m;
  a1 /= m;
  const denom = a0 - 2 * a1;
  // Hosking's k = a0 / (a0 - 2 a1) - 2 and our shape xi = -k; scale = 2 a0 a1 / (a0 - 2 a1).
  let fittedShape = 0;
  let fittedScale = a0;
  if (denom > 1e-12) {
    fittedShape = -(a0 / denom - 2);
    fittedScale = (2 * a0 * a1) / denom;
  }
  if (!(fittedScale > 0)) fittedScale = Math.max(a0, 1e-6);
  fittedShape = Math.min(Math.max(fittedShape, -1), 1);
  let shape = fittedShape;
  let scale = fittedScale;
  let farTail: ImpostorTail['farTail'] = null;
  if (mode === 'conservative') {
    shape = fittedShape + (1.645 * (1 + Math.max(fittedShape, -0.5))) / Math.sqrt(m);
    scale = fittedScale * (1 + 1.645 / Math.sqrt(m));
    farTail = farExponential(im);
  }
  let mean = 0;
  for (const s of im) mean += s;
  mean /= n;
  let v = 0;
  for (const s of im) v += (s - mean) ** 2;
  return {
    model: 'gpd',
    threshold: u,
    exceedanceRate: nu / n,
    exceedances: m,
    shape,
    scale,
    fittedShape,
    fittedScale,
    farTail,
    empirical: empiricalTable(im, nu / n),
    mean,
    std: Math.sqrt(v / Math.max(1, n - 1)),
  };
}

/** Upper quantiles on a log grid from 0.5 down to 10 / n (below that the data cannot read a rate). */
function empiricalTable(im: Float64Array, zeta: number): Array<[number, number]> {
  const n = im.length;
  const out: Array<[number, number]> = [];
  const pMin = 10 / n;
  const ps = new Set<number>([0.5, zeta]);
  for (let e = -1; e >= -9; e--) for (const m of [5, 2, 1]) ps.add(m * 10 ** e);
  for (const p of [...ps].filter((q) => q <= 0.5 && q >= pMin).sort((a, b) => b - a)) {
    // Smallest score s with #(>= s) / n <= p: the lowest threshold meeting the rate on this list.
    const count = Math.floor(p * n);
    out.push([p, count >= n ? im[0]! : nextUp(im[n - count - 1]!)]);
  }
  return out;
}

function nextUp(x: number): number {
  return x + Math.max(Math.abs(x) * 1e-12, 1e-12);
}

/** Log-linear interpolation of the empirical table; null outside its range (p below what the data can read). */
function empiricalQuantile(table: Array<[number, number]>, p: number): number | null {
  if (table.length === 0) return null;
  if (p >= table[0]![0]) return table[0]![1];
  for (let i = 1; i < table.length; i++) {
    const [p1, s1] = table[i]!;
    if (p >= p1) {
      const [p0, s0] = table[i - 1]!;
      const f = (Math.log(p) - Math.log(p0)) / (Math.log(p1) - Math.log(p0));
      return s0 + f * (s1 - s0);
    }
  }
  return null;
}

/** Exponential over the top 3% (at least 30 scores): scale = mean excess, inflated to its one-sided 95% bound. */
function farExponential(im: Float64Array): NonNullable<ImpostorTail['farTail']> {
  const n = im.length;
  const k = Math.min(n - 1, Math.max(MIN_EXCEEDANCES, Math.round(n * 0.03)));
  const u = im[n - k - 1]!;
  let excess = 0;
  for (let i = n - k; i < n; i++) excess += im[i]! - u;
  const scale = Math.max(excess / k, 1e-6) * (1 + 1.645 / Math.sqrt(k));
  return { threshold: u, exceedanceRate: k / n, exceedances: k, scale };
}

/** Error rates on a labelled list at one threshold: observed FAR / FRR and the fitted tail model's FAR. */
export interface ThresholdRates {
  threshold: number;
  far: number;
  frr: number;
  farModel: number;
}

/** FAR / FRR on the list at the per-comparison thresholds of a one-performer search (and the tail model's FAR). */
export function ratesAtThresholds(cal: Calibration, genuine: readonly number[], impostor: readonly number[]): { match: ThresholdRates; possible: ThresholdRates } {
  const t = searchThresholds(cal, 1);
  const rates = (threshold: number): ThresholdRates => ({
    threshold,
    far: impostor.filter((s) => s >= threshold).length / impostor.length,
    frr: genuine.filter((s) => s < threshold).length / genuine.length,
    farModel: impostorRate(cal.impostorTail, threshold),
  });
  return { match: rates(t.match), possible: rates(t.possible) };
}
