import { BASELINE_DEFAULTS, baselineDim, baselineStats, baselineStatsAsync } from './baseline';
import { normaliseInPlace } from '../kernels/vector';

function voiced(f0: number, formants: number[], seconds: number, seed: number): Float32Array {
  // A crude vowel: harmonics of f0 shaped by formant peaks, plus a little noise.
  let s = seed;
  const n = Math.round(seconds * 16000);
  const x = new Float32Array(n);
  for (let h = 1; h * f0 < 7000; h++) {
    const f = h * f0;
    const amp = formants.reduce((a, F) => a + 1 / (1 + ((f - F) / 120) ** 2), 0) / h ** 0.5;
    for (let i = 0; i < n; i++) x[i]! += 0.05 * amp * Math.sin((2 * Math.PI * f * i) / 16000 + h);
  }
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i]! += (s / 2 ** 32 - 0.5) * 0.002;
  }
  return x;
}

function cos(a: Float32Array, b: Float32Array): number {
  const x = normaliseInPlace(Float32Array.from(a));
  const y = normaliseInPlace(Float32Array.from(b));
  return x.reduce((s, v, i) => s + v * y[i]!, 0);
}

test('dimension follows the config; too little audio is E_NO_SPEECH', () => {
  const v = baselineStats(voiced(120, [700, 1200], 1, 1));
  expect(v.length).toBe(baselineDim(BASELINE_DEFAULTS));
  expect(v.length).toBe(BASELINE_DEFAULTS.ceps * 3);
  expect(Array.from(v).every(Number.isFinite)).toBe(true);
  expect(() => baselineStats(new Float32Array(1000))).toThrow(expect.objectContaining({ code: 'E_NO_SPEECH' }));
  expect(() => baselineStats(voiced(120, [700], 1, 1), [{ start: 5, end: 6 }])).toThrow(expect.objectContaining({ code: 'E_NO_SPEECH' }));
});

test('loudness does not change the vector (c0 dropped); a different spectral envelope does', () => {
  const a = voiced(120, [700, 1200, 2600], 2, 1);
  const louder = a.map((v) => v * 4);
  const other = voiced(210, [400, 2100, 2900], 2, 2);
  expect(cos(baselineStats(a), baselineStats(louder))).toBeGreaterThan(0.999);
  expect(cos(baselineStats(a), baselineStats(other))).toBeLessThan(0.9);
});

test('speech segments restrict the frames used', () => {
  const a = voiced(120, [700, 1200, 2600], 1, 1);
  const b = voiced(210, [400, 2100, 2900], 1, 2);
  const both = new Float32Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const onlyA = baselineStats(both, [{ start: 0, end: 0.97 }]);
  expect(cos(onlyA, baselineStats(a))).toBeGreaterThan(0.99);
  expect(cos(onlyA, baselineStats(b))).toBeLessThan(0.9);
});

test('the native-filterbank path gives the same embedding as the TS one (cosine within 1e-6), E_NO_SPEECH alike', async () => {
  // 12 s: long enough for the filterbank to run off the JS thread on the thread pool.
  const x = voiced(140, [600, 1700, 2600], 12, 7);
  const speech = [{ start: 0.5, end: 6 }, { start: 7, end: 11.5 }];
  expect(cos(await baselineStatsAsync(x, speech), baselineStats(x, speech))).toBeGreaterThan(1 - 1e-6);
  await expect(baselineStatsAsync(new Float32Array(1000))).rejects.toMatchObject({ code: 'E_NO_SPEECH' });
});
