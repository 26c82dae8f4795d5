import { LikenessError } from '../errors';
import { gauss, rng } from '../../test/helpers/vectors';
import {
  confidence,
  fitCalibration,
  impostorRate,
  parseCalibration,
  perComparisonRate,
  searchThresholds,
} from './calibration';

/** Complementary error function (Numerical Recipes erfcc, relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

const N_IMPOSTOR = 5000;
const SIZES = [1, 10, 100, 1000, 10000];

/** Per-search false-match rate of threshold t for N independent comparisons with true tail q(t). */
function perSearch(q: number, n: number): number {
  return -Math.expm1(n * Math.log1p(-q));
}

function samples(n: number, f: () => number): number[] {
  return Array.from({ length: n }, f);
}

describe('fitCalibration', () => {
  const r = rng(7);
  const impostor = samples(N_IMPOSTOR, () => 0.08 * gauss(r));
  const genuine = samples(1000, () => 0.6 + 0.1 * gauss(r));
  const cal = fitCalibration(genuine, impostor, { modelId: 'face-x', source: 'synthetic gaussian' });

  test('thresholds keep the true per-search rate under target for Gaussian impostors, without being absurd', () => {
    const q = (t: number): number => 0.5 * erfc(t / (0.08 * Math.SQRT2));
    for (const n of SIZES) {
      const th = searchThresholds(cal, n);
      expect(perSearch(q(th.match), n)).toBeLessThanOrEqual(1e-3);
      expect(perSearch(q(th.possible), n)).toBeLessThanOrEqual(1e-2);
      expect(th.possible).toBeLessThan(th.match);
      // Exact Gaussian threshold for comparison. Not assuming the tail's shape costs cosine: measured ~0.02 at N = 1,
      // ~0.09 at N = 100, ~0.17 at N = 10,000 (sigma 0.08); more than 0.2 would mean the model regressed.
      let lo = 0;
      let hi = 1;
      for (let i = 0; i < 60; i++) {
        const mid = (lo + hi) / 2;
        if (perSearch(q(mid), n) > 1e-3) lo = mid;
        else hi = mid;
      }
      expect(th.match - hi).toBeLessThan(0.2);
    }
    // Larger galleries need higher thresholds.
    const ts = SIZES.map((n) => searchThresholds(cal, n).match);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeGreaterThan(ts[i - 1]!);
  });

  test('stays conservative for heavier tails: logistic and Student-t(3) impostors', () => {
    const r2 = rng(11);
    const s = 0.04;
    const qL = (t: number): number => 1 / (1 + Math.exp(t / s));
    // Logistic tails are where a Gaussian model fails (up to 40x over target at N = 10,000): several draws.
    for (let draw = 0; draw < 5; draw++) {
      const logistic = samples(N_IMPOSTOR, () => {
        const u = Math.min(Math.max(r2(), 1e-12), 1 - 1e-12);
        return s * Math.log(u / (1 - u));
      });
      const calL = fitCalibration(genuine, logistic, { modelId: 'l', source: 'synthetic logistic' });
      for (const n of SIZES) expect(perSearch(qL(searchThresholds(calL, n).match), n)).toBeLessThanOrEqual(1e-3);
    }
    const t3 = samples(N_IMPOSTOR, () => {
      const chi = gauss(r2) ** 2 + gauss(r2) ** 2 + gauss(r2) ** 2;
      return (0.04 * gauss(r2)) / Math.sqrt(chi / 3);
    });
    const calT = fitCalibration(genuine, t3, { modelId: 't', source: 'synthetic t3' });
    expect(calT.impostorTail.shape).toBeGreaterThan(0); // a heavy tail is kept heavy
    const qT = (t: number): number => {
      const x = t / 0.04 / Math.sqrt(3);
      return 0.5 - (x / (1 + x * x) + Math.atan(x)) / Math.PI;
    };
    for (const n of SIZES) {
      expect(perSearch(qT(searchThresholds(calT, n).match), n)).toBeLessThanOrEqual(1e-3);
      expect(perSearch(qT(searchThresholds(calT, n).possible), n)).toBeLessThanOrEqual(1e-2);
    }
  });

  test('confidence is monotone, bounded, and separates the classes', () => {
    let prev = -1;
    for (let s = -0.5; s <= 1; s += 0.01) {
      const c = confidence(cal, s);
      expect(c).toBeGreaterThan(0);
      expect(c).toBeLessThan(1);
      expect(c).toBeGreaterThanOrEqual(prev - 1e-12);
      prev = c;
    }
    expect(confidence(cal, 0.6)).toBeGreaterThan(0.99);
    expect(confidence(cal, 0)).toBeLessThan(0.01);
  });

  test('the method is the one with the lower held-out log-loss; forcing one works', () => {
    const l = cal.fittedOn.heldOutLogLoss;
    expect(cal.method).toBe(l.isotonic < l.logistic ? 'isotonic' : 'logistic');
    const iso = fitCalibration(genuine, impostor, { modelId: 'face-x', source: 's', method: 'isotonic' });
    expect(iso.method).toBe('isotonic');
    expect(confidence(iso, 0.7)).toBeGreaterThan(confidence(iso, 0.1));
    // Labels that are not monotone in a logistic way (genuine scores with a low-score cluster) favour isotonic.
    const r3 = rng(5);
    const odd = samples(1000, () => (r3() < 0.3 ? 0.05 + 0.01 * gauss(r3) : 0.6 + 0.05 * gauss(r3)));
    const imp = samples(3000, () => 0.05 * gauss(r3));
    const c2 = fitCalibration(odd, imp, { modelId: 'o', source: 's' });
    expect(c2.fittedOn.heldOutLogLoss.isotonic).toBeLessThan(c2.fittedOn.heldOutLogLoss.logistic);
    expect(c2.method).toBe('isotonic');
  });

  test('per-comparison rates, overrides, JSON round trip and validation', () => {
    for (const n of [1, 7, 1000]) expect(perSearch(perComparisonRate(1e-3, n), n)).toBeCloseTo(1e-3, 12);
    const loose = searchThresholds(cal, 100, { match: 1e-2, possible: 1e-1 });
    const strict = searchThresholds(cal, 100);
    expect(loose.match).toBeLessThan(strict.match);
    expect(impostorRate(cal.impostorTail, strict.match)).toBeLessThanOrEqual(strict.perComparison.match * 1.0001);
    expect(() => searchThresholds(cal, 10, { match: 0.1, possible: 0.01 })).toThrow(LikenessError);
    expect(() => searchThresholds(cal, 10, { match: 0 })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));

    const back = parseCalibration(JSON.parse(JSON.stringify(cal)));
    expect(back).toEqual(cal);
    expect(searchThresholds(back, 50)).toEqual(searchThresholds(cal, 50));
    expect(cal.fittedOn).toMatchObject({ pairs: 6000, genuine: 1000, impostor: 5000, source: 'synthetic gaussian' });
    expect(() => parseCalibration({ ...cal, method: 'magic' })).toThrow(expect.objectContaining({ code: 'E_MODEL' }));
    // Files fitted before the far-tail model keep working with their stored Pareto parameters.
    const { farTail, ...older } = cal.impostorTail;
    expect(farTail).not.toBeNull();
    const old = parseCalibration({ ...cal, impostorTail: older });
    expect(old.impostorTail.farTail).toBeNull();
    expect(searchThresholds(old, 50).match).toBeLessThanOrEqual(searchThresholds(cal, 50).match);
    expect(() => parseCalibration({ ...cal, impostorTail: { ...older, farTail: { threshold: 0.2 } } })).toThrow(
      expect.objectContaining({ code: 'E_MODEL' }),
    );
    expect(() => parseCalibration(null)).toThrow(expect.objectContaining({ code: 'E_MODEL' }));
    expect(() => fitCalibration([0.5], impostor, { modelId: 'x', source: 's' })).toThrow(
      expect.objectContaining({ code: 'E_INPUT' }),
    );
  });
});
