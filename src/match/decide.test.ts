import { gauss, nearVector, rng, unitVector } from '../../test/helpers/vectors';
import type { Performer } from '../store/types';
import { fitCalibration, searchThresholds } from './calibration';
import { asNormScore, Cohort, consentState, decide, galleryComparisons, searchPerformersAsNorm } from './decide';
import { buildGallery, searchPerformers } from './gallery';

const r0 = rng(21);
const cal = fitCalibration(
  Array.from({ length: 500 }, () => 0.6 + 0.1 * gauss(r0)),
  Array.from({ length: 4000 }, () => 0.08 * gauss(r0)),
  { modelId: 'm', source: 'synthetic' },
);
const NOW = new Date('2026-06-01T00:00:00Z');

function performer(id: string, consent: Performer['consent']): Performer {
  return { id, name: `name-${id}`, aliases: [], consent, createdAt: '', updatedAt: '' };
}
const granted = { grantedBy: 'x', grantedAt: '2026-01-01T00:00:00.000Z', scope: 's' };

describe('decide', () => {
  const performers = new Map<string, Performer>([
    ['ok', performer('ok', granted)],
    ['none', performer('none', null)],
    ['expired', performer('expired', { ...granted, expiresAt: '2026-05-01T00:00:00.000Z' })],
    ['future', performer('future', { ...granted, expiresAt: '2027-01-01T00:00:00.000Z' })],
    ['withdrawn', performer('withdrawn', { ...granted, withdrawnAt: '2026-03-01T00:00:00.000Z' })],
  ]);

  test('consent states at an instant', () => {
    expect(['ok', 'none', 'expired', 'future', 'withdrawn'].map((id) => consentState(performers.get(id)!, NOW))).toEqual([
      'granted',
      'not_recorded',
      'expired',
      'granted',
      'withdrawn',
    ]);
    expect(consentState(performers.get('expired')!, new Date('2026-04-01T00:00:00Z'))).toBe('granted');
  });

  test('decisions follow the thresholds for the gallery size; expired and withdrawn are suppressed, never reported', () => {
    const th = searchThresholds(cal, 100);
    const scores = [
      { performerId: 'none', score: (th.possible + th.match) / 2 },
      { performerId: 'ok', score: th.match + 0.01 },
      { performerId: 'expired', score: 0.95 },
      { performerId: 'withdrawn', score: 0.2 },
      { performerId: 'future', score: th.possible - 0.01 },
      { performerId: 'deleted-meanwhile', score: 0.99 },
    ];
    const d = decide(scores, { calibration: cal, comparisons: 100, performers, now: NOW });
    expect(d.candidates.map((c) => [c.performerId, c.decision])).toEqual([
      ['ok', 'match'],
      ['none', 'possible'],
      ['future', 'none'],
    ]);
    expect(d.candidates[0]!.name).toBe('name-ok');
    expect(d.candidates[0]!.confidence).toBeGreaterThan(d.candidates[2]!.confidence);
    expect(d.suppressed.map((c) => [c.performerId, c.reason, c.decision])).toEqual([
      ['expired', 'consent_expired', 'match'],
      ['withdrawn', 'consent_withdrawn', th.possible <= 0.2 ? 'possible' : 'none'],
    ]);
    // The same score is a match in a small gallery but not in a huge one.
    const s = [{ performerId: 'ok', score: searchThresholds(cal, 10).match + 1e-6 }];
    expect(decide(s, { calibration: cal, comparisons: 10, performers, now: NOW }).candidates[0]!.decision).toBe('match');
    expect(decide(s, { calibration: cal, comparisons: 1e6, performers, now: NOW }).candidates[0]!.decision).not.toBe('match');
    // Per-call rate overrides: just under the default match threshold, a match at a looser per-search rate.
    const under = [{ performerId: 'ok', score: searchThresholds(cal, 10).match - 1e-3 }];
    expect(decide(under, { calibration: cal, comparisons: 10, performers, now: NOW }).candidates[0]!.decision).toBe('possible');
    const loose = decide(under, { calibration: cal, comparisons: 10, performers, now: NOW, rates: { match: 0.05, possible: 0.1 } });
    expect(loose.candidates[0]!.decision).toBe('match');
  });

  test('galleryComparisons counts template rows (conservative) or performers', () => {
    const r = rng(3);
    const t = (p: string) => ({
      id: '', performerId: p, modelId: 'm', modality: 'voice' as const, kind: 'centroid' as const,
      vector: unitVector(r, 4), referenceHash: null, quality: 1, createdAt: '',
    });
    const g = buildGallery('m', [t('a'), t('a'), t('b')]);
    expect(galleryComparisons(g)).toBe(3);
    expect(galleryComparisons(g, 'performers')).toBe(2);
  });
});

describe('AS-norm', () => {
  test('asNormScore is the mean of both z-scores', () => {
    expect(asNormScore(0.5, { mean: 0.1, std: 0.1 }, { mean: 0.3, std: 0.2 })).toBeCloseTo(0.5 * (4 + 1), 12);
  });

  test('demotes a "hub" template that scores high against everyone, keeps the genuine performer first', async () => {
    const r = rng(8);
    const dim = 48;
    const hubDir = unitVector(r, dim);
    const cohortVecs = Array.from({ length: 300 }, () => nearVector(r, hubDir, 0.5 + 0.2 * r()));
    const cohort = new Cohort(cohortVecs, dim);
    const target = unitVector(r, dim);
    const hub = nearVector(r, hubDir, 0.95);
    const tpl = (p: string, v: Float32Array) => ({
      id: p, performerId: p, modelId: 'v', modality: 'voice' as const, kind: 'centroid' as const,
      vector: v, referenceHash: null, quality: 1, createdAt: '',
    });
    const others = Array.from({ length: 20 }, (_, i) => tpl(`o${i}`, unitVector(r, dim)));
    const g = buildGallery('v', [tpl('target', target), tpl('hub', hub), ...others]);
    // A probe of the target that also leans towards the hub direction (channel effect).
    const probe = new Float32Array(dim);
    for (let i = 0; i < dim; i++) probe[i] = 0.6 * target[i]! + 0.66 * hubDir[i]!;
    const raw = (await searchPerformers(g, [probe], 3))[0]!;
    expect(raw[0]!.performerId).toBe('hub'); // raw cosine is fooled
    const normed = (await searchPerformersAsNorm(g, [probe], 3, cohort, { topN: 50 }))[0]!;
    expect(normed[0]!.performerId).toBe('target');
    await expect(searchPerformersAsNorm(g, [probe], 3, new Cohort([unitVector(r, 8), unitVector(r, 8)], 8))).rejects.toThrow(
      expect.objectContaining({ code: 'E_INPUT' }),
    );
  });
});
