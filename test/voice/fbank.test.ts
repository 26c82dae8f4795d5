import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio } from '../../src/media/audio';
import { applyCmn, fbank, fbankFrameCount, fbankRows, melBanks, windowFunction, type FbankOptions } from '../../src/kernels/fbank';
import { RealFft } from '../../src/kernels/fft';
import { readF32 } from '../helpers/media';

// Goldens come from torchaudio.compliance.kaldi.fbank (scripts/make-fbank-goldens.py); see goldens.json.
const DIR = path.join(__dirname, '..', 'fixtures', 'fbank');

interface Golden {
  name: string;
  input: string;
  signal: string | null;
  options: FbankOptions;
  frames: number;
  bins: number;
  file: string;
}

const manifest = JSON.parse(fs.readFileSync(path.join(DIR, 'goldens.json'), 'utf8')) as { goldens: Golden[] };

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('fbank matches torchaudio.compliance.kaldi.fbank', () => {
  test.each(manifest.goldens.map((g) => [g.name, g] as const))('%s', async (_name, g) => {
    // 16 kHz WAVs are the signal themselves; other rates use the project's own decoded signal stored beside them.
    const samples = g.signal ? readF32(path.join(DIR, g.signal)) : (await decodeAudio(path.join(DIR, g.input))).samples;
    const fb = fbank(samples, g.options);
    expect(fb.frames).toBe(g.frames);
    expect(fb.bins).toBe(g.bins);
    expect(maxAbsDiff(fb.data, readF32(path.join(DIR, g.file)))).toBeLessThanOrEqual(1e-4);
  });

  // One check per decoded input (several goldens may share one).
  const decodedInputs = manifest.goldens.filter((g, i, all) => g.signal && all.findIndex((h) => h.input === g.input) === i);
  test.each(decodedInputs.map((g) => [g.input, g] as const))(
    '%s through the project decoder gives the stored signal and the golden features',
    async (_name, g) => {
      const decoded = await decodeAudio(path.join(DIR, g.input));
      const stored = readF32(path.join(DIR, g.signal!));
      expect(decoded.samples.length).toBe(stored.length);
      // Same ffmpeg build and resampler as when the goldens were made: identical. Another build may differ slightly.
      expect(maxAbsDiff(decoded.samples, stored)).toBeLessThan(1e-4);
      const fb = fbank(decoded.samples, g.options);
      // Loose here on purpose: silent bins (log of ~1e-7) amplify tiny resampler differences.
      const gold = readF32(path.join(DIR, g.file));
      let within = 0;
      for (let i = 0; i < gold.length; i++) if (Math.abs(gold[i] - fb.data[i]) <= 1e-3) within++;
      expect(within / gold.length).toBeGreaterThan(0.99);
    },
  );
});

describe('RealFft', () => {
  function naivePower(x: Float64Array, n: number): Float64Array {
    const out = new Float64Array(n / 2 + 1);
    for (let k = 0; k <= n / 2; k++) {
      let re = 0;
      let im = 0;
      for (let t = 0; t < x.length; t++) {
        re += x[t] * Math.cos((2 * Math.PI * k * t) / n);
        im -= x[t] * Math.sin((2 * Math.PI * k * t) / n);
      }
      out[k] = re * re + im * im;
    }
    return out;
  }

  test.each([4, 8, 64, 512])('power spectrum of size %i equals a direct DFT', (n) => {
    let seed = n;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    // Shorter input than n exercises the zero padding, as a 400-sample frame in a 512-point FFT does.
    const x = Float64Array.from({ length: Math.max(3, Math.floor(n * 0.8)) }, rand);
    const fft = new RealFft(n);
    const got = new Float64Array(n / 2 + 1);
    fft.powerSpectrum(x, got);
    const want = naivePower(x, n);
    for (let k = 0; k <= n / 2; k++) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-9 * Math.max(1, want[k]));
  });

  test('rejects sizes that are not powers of two', () => {
    expect(() => new RealFft(400)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });
});

describe('fbank details', () => {
  const tone = Float32Array.from({ length: 16000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 1000 * i) / 16000));

  test('frame counts follow Kaldi (snip edges and reflected edges)', () => {
    expect(fbankFrameCount(399)).toBe(0);
    expect(fbankFrameCount(400)).toBe(1);
    expect(fbankFrameCount(16000)).toBe(98);
    expect(fbankFrameCount(16000, { snipEdges: false })).toBe(100);
    expect(fbank(new Float32Array(100)).frames).toBe(0);
    expect(fbank(new Float32Array(0)).data.length).toBe(0);
  });

  test('a 1 kHz tone peaks in the mel bin around 1 kHz', () => {
    const fb = fbank(tone);
    const row = fb.data.subarray(50 * 80, 51 * 80);
    const peak = row.indexOf(Math.max(...row));
    // Centre frequencies of Kaldi's 80 bins between 20 Hz and 8 kHz: bin 27 and 28 straddle 1 kHz.
    expect(peak).toBeGreaterThanOrEqual(26);
    expect(peak).toBeLessThanOrEqual(29);
  });

  test('digital silence is floored at log(float32 eps), not -Infinity', () => {
    const fb = fbank(new Float32Array(1600));
    expect(fb.data.every((v) => Math.abs(v - Math.log(1.1920928955078125e-7)) < 1e-5)).toBe(true);
  });

  test('windows have Kaldi shapes', () => {
    const povey = windowFunction('povey', 400);
    expect(povey[0]).toBe(0);
    expect(povey[399]).toBeCloseTo(0, 12);
    expect(Math.max(...povey)).toBeCloseTo(1, 4);
    expect(windowFunction('hamming', 400)[0]).toBeCloseTo(0.08, 12);
    expect(windowFunction('rectangular', 10).every((v) => v === 1)).toBe(true);
  });

  test('mel filters are triangles that cover the band', () => {
    const banks = melBanks(80, 512, 16000, 20, 0);
    for (let b = 0; b < 80; b++) {
      const row = banks.subarray(b * 256, (b + 1) * 256);
      // The lowest filters are narrower than one FFT bin (31.25 Hz), so their sampled peak can be well below 1.
      expect(Math.max(...row)).toBeGreaterThan(0.3);
      expect(Math.max(...row)).toBeLessThanOrEqual(1);
      // Unimodal: rises to one peak, then falls.
      const top = row.indexOf(Math.max(...row));
      let unimodal = true;
      for (let k = 1; k < 256; k++) if (k <= top ? row[k] < row[k - 1] : row[k] > row[k - 1]) unimodal = false;
      expect(unimodal).toBe(true);
    }
    expect(() => melBanks(80, 512, 16000, 9000, 0)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });

  test('options change the output and are validated', () => {
    const a = fbank(tone);
    const b = fbank(tone, { window: 'hamming', numBins: 40 });
    expect(b.bins).toBe(40);
    expect(b.frames).toBe(a.frames);
    expect(() => fbank(tone, { numBins: 2 })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(() => fbank(tone, { window: 'kaiser' as never })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    // A scale of 1 instead of 32768 lowers every log energy by exactly 2*ln(32768).
    const unscaled = fbank(tone, { scale: 1 });
    expect(Math.abs(a.data[3000] - unscaled.data[3000] - 2 * Math.log(32768))).toBeLessThan(1e-3);
  });

  test('applyCmn leaves every bin with zero mean and keeps the input', () => {
    const fb = fbank(tone.map((v, i) => v * (1 + i / 16000)));
    const before = fb.data.slice();
    const c = applyCmn(fb);
    expect(fb.data).toEqual(before);
    for (let b = 0; b < c.bins; b++) {
      let s = 0;
      for (let f = 0; f < c.frames; f++) s += c.data[f * c.bins + b];
      expect(Math.abs(s / c.frames)).toBeLessThan(1e-4);
    }
    expect(fbankRows(c)).toHaveLength(c.frames);
  });
});
