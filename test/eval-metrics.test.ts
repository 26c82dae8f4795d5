import { minDcf, verificationMetrics } from '../src/eval/metrics';
import { parseCsv } from '../src/eval/csv';

function bruteAuc(g: number[], im: number[]): number {
  let s = 0;
  for (const a of g) for (const b of im) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (g.length * im.length);
}

test('AUC matches the pairwise definition, ties included', () => {
  const rnd = (() => { let x = 7; return () => ((x = (x * 16807) % 2147483647) / 2147483647); })();
  const g = Array.from({ length: 200 }, () => Math.round((0.6 + rnd() * 0.5) * 20) / 20);
  const im = Array.from({ length: 300 }, () => Math.round(rnd() * 0.7 * 20) / 20);
  expect(verificationMetrics(g, im).auc).toBeCloseTo(bruteAuc(g, im), 12);
});

test('threshold at FAR keeps the impostor accept rate at or under the target and TAR follows it', () => {
  const im = Array.from({ length: 1000 }, (_, i) => i / 1000);
  const g = [0.9985, 0.995, 0.5, 0.2];
  const m = verificationMetrics(g, im);
  const t = m.thresholdAtFar['1e-3']!;
  expect(im.filter((s) => s >= t).length).toBeLessThanOrEqual(1);
  expect(m.tarAtFar['1e-3']).toBe(0.25);
  expect(m.tarAtFar['1e-2']).toBe(0.5);
});

test('perfectly separated scores: AUC 1, EER 0, minDCF 0', () => {
  const m = verificationMetrics([0.9, 0.8], [0.1, 0.2, 0.3]);
  expect(m.auc).toBe(1);
  expect(m.eer).toBe(0);
  expect(minDcf([0.9, 0.8], [0.1, 0.2, 0.3])).toBe(0);
});

test('CSV: CRLF, quotes with commas and doubled quotes', () => {
  expect(parseCsv('a,b,same\r\n"x,1","y ""q""",1\r\n')).toEqual([['a', 'b', 'same'], ['x,1', 'y "q"', '1']]);
});
