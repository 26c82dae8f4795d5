import { melFrameCount, melPowerSpectrogram, slaneyMelFilters } from './mel';

test('Slaney mel filters: triangles that tile 0..8 kHz with area normalisation', () => {
  const f = slaneyMelFilters(16000, 400, 40);
  expect(f).toHaveLength(40);
  expect(f[0]!).toHaveLength(201);
  // Every filter is non-negative with one peak; neighbours overlap; the first starts at 0 Hz.
  for (const w of f) expect(Math.min(...w)).toBeGreaterThanOrEqual(0);
  expect(f[0]![0]).toBe(0);
  expect(f[0]![1]).toBeGreaterThan(0);
  // Slaney norm: each filter's peak is 2 / (bandwidth in Hz), so the wide high filters are lower.
  expect(Math.max(...f[39]!)).toBeLessThan(Math.max(...f[0]!));
});

test('a pure tone lands in the band around its frequency; frame count is librosa center=True', () => {
  const n = 16000;
  const tone = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000));
  const m = melPowerSpectrogram(tone);
  expect(m.frames).toBe(melFrameCount(n));
  expect(m.frames).toBe(101);
  expect(m.bins).toBe(40);
  const mid = m.data.subarray(50 * 40, 51 * 40);
  const peak = mid.indexOf(Math.max(...mid));
  const filters = slaneyMelFilters(16000, 400, 40);
  // 1 kHz is bin 25 of the 400-point DFT: the band with the largest weight there must be the peak band.
  const best = filters.map((w) => w[25]!).reduce((b, v, i, a) => (v > a[b]! ? i : b), 0);
  expect(peak).toBe(best);
  // Silence gives zeros.
  expect(Math.max(...melPowerSpectrogram(new Float32Array(800)).data)).toBe(0);
  expect(() => melPowerSpectrogram(Float32Array.from([NaN]))).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
});
