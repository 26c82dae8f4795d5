import { crossValidateCalibration, type ScoredPair } from './calibration-cv';

// Synthetic identities with Gaussian scores: genuine ~ N(0.7, 0.08), impostor ~ N(0.1, 0.1). Fitted on other people,
// the thresholds hold close to their nominal rates; a held-out set of impostors that look alike (shifted up) does not.
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}
function data(shiftOf: (id: number) => number): ScoredPair[] {
  let s = 7;
  const r = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const out: ScoredPair[] = [];
  const ids = 60;
  for (let i = 0; i < ids; i++) for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) out.push({ fileA: `${i}/${a}`, fileB: `${i}/${b}`, same: true, score: 0.7 + 0.08 * gauss(r) });
  for (let i = 0; i < ids; i++) for (let j = i + 1; j < ids; j++) for (let a = 0; a < 4; a++) out.push({ fileA: `${i}/${a}`, fileB: `${j}/${a}`, same: false, score: 0.1 + shiftOf(i) + 0.1 * gauss(r) });
  return out;
}

test('folds split identities; held-out false-match rates come out near nominal on well-behaved scores', () => {
  const cv = crossValidateCalibration(data(() => 0), { modelId: 'x', source: 'synthetic' }, { folds: 5 });
  expect(cv.identities).toBe(60);
  expect(cv.perFold).toHaveLength(5);
  // Impostor pairs between identities of different folds are neither fitted nor tested.
  expect(cv.unusedPairs).toBeGreaterThan(0);
  expect(cv.match.nominal).toBeCloseTo(1e-3, 6);
  expect(cv.possible.nominal).toBeCloseTo(1e-2, 6);
  expect(cv.possible.ratio).toBeLessThan(2);
  expect(cv.match.ratio).toBeLessThan(2);
});

test('pooled counts are the sum of the folds; every pair is fitted in some fold, tested in one, or unused', () => {
  const pairs = data(() => 0);
  const cv = crossValidateCalibration(pairs, { modelId: 'x', source: 'synthetic' }, { folds: 4, seed: 3 });
  expect(cv.match.exceedances).toBe(cv.perFold.reduce((n, f) => n + f.match, 0));
  expect(cv.possible.exceedances).toBe(cv.perFold.reduce((n, f) => n + f.possible, 0));
  expect(cv.match.impostors).toBe(cv.perFold.reduce((n, f) => n + f.impostor, 0));
  expect(cv.perFold.reduce((n, f) => n + f.genuine + f.impostor, 0) + cv.unusedPairs).toBe(pairs.length);
  // All genuine pairs stay inside one identity, hence one fold.
  expect(cv.perFold.reduce((n, f) => n + f.genuine, 0)).toBe(pairs.filter((p) => p.same).length);
  expect(cv.possible.exceedances).toBeGreaterThanOrEqual(cv.match.exceedances);
});

test('too few identities for the folds is E_INPUT', () => {
  expect(() => crossValidateCalibration([{ fileA: 'a', fileB: 'b', same: false, score: 0 }], { modelId: 'x', source: 's' }, { folds: 5 })).toThrow(/at least 5 identities/);
});
