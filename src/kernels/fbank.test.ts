import * as path from 'path';
import { decodeAudio } from '../media/audio';
import { fbank, type FbankOptions } from './fbank';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../../test/helpers/media';
import { rng, gauss } from '../../test/helpers/vectors';
import { computeFbank } from './fbank';
import { nativeAvailable, nativeInfo } from './addon';
import { withoutNative } from '../../test/helpers/native';

// Native fbank vs the TS reference (fbank.ts) on random and real (espeak speech) signals. Without the
// addon only the fallback path is checked: computeFbank must then be the reference itself.

const native = nativeAvailable();
const itNative = native ? it : it.skip;
const nativeNote = native ? '' : ' (skipped: native addon not built, only the TS fallback is tested)';
if (!native) console.warn(`native fbank tests skipped: ${nativeInfo().reason}`);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function noise(seed: number, n: number, amp = 0.3): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * gauss(r) * (1 + Math.sin(i / 800));
  return x;
}

const OPTION_SETS: FbankOptions[] = [
  {},
  { snipEdges: false },
  { window: 'hamming', numBins: 40, preemphasis: 0, removeDcOffset: false },
  { window: 'hanning', usePower: false, lowFreq: 100, highFreq: -400 },
  { window: 'blackman', sampleRate: 8000, numBins: 23, frameLengthMs: 32 },
  { window: 'rectangular', frameShiftMs: 12.5, scale: 1 },
];

describe(`native fbank${nativeNote}`, () => {
  itNative.each(OPTION_SETS.map((o) => [JSON.stringify(o), o] as const))('random signal, options %s: equal to the reference within 1e-4', async (_name, opts) => {
    for (const n of [400, 401, 1234, 16000 * 3 + 77]) {
      const x = noise(n, n);
      const ref = fbank(x, opts);
      const got = await computeFbank(x, opts);
      expect(got.frames).toBe(ref.frames);
      expect(got.bins).toBe(ref.bins);
      expect(got.frames).toBeGreaterThan(0);
      expect(maxAbsDiff(got.data, ref.data)).toBeLessThan(1e-4);
    }
  });

  itNative('long signal split over threads, silence and tiny inputs: equal to the reference', async () => {
    const x = noise(7, 16000 * 25 + 160 * 3 + 17); // 2501 frames: an uneven split over threads
    x.fill(0, 16000 * 3, 16000 * 4); // digital silence floors at log(eps) in both
    for (const threads of [1, 3]) {
      const got = await computeFbank(x, {}, { threads });
      expect(maxAbsDiff(got.data, fbank(x).data)).toBeLessThan(1e-4);
    }
    for (const n of [0, 1, 399, 200]) {
      const y = noise(n + 1, n);
      for (const opts of [{}, { snipEdges: false }]) {
        const ref = fbank(y, opts);
        const got = await computeFbank(y, opts);
        expect(got.frames).toBe(ref.frames);
        expect(maxAbsDiff(got.data, ref.data)).toBeLessThan(1e-4);
      }
    }
  });

  (hasEspeak() ? itNative : it.skip)('real speech (espeak-ng, decoded to 16 kHz): equal to the reference within 1e-4', async () => {
    const tmp = makeTmpDir('likeness-native-fbank-');
    try {
      const wav = makeSpeechWav('Native kernels must give the same features as the reference code.', path.join(tmp.dir, 's.wav'));
      const { samples } = await decodeAudio(wav);
      expect(samples.length).toBeGreaterThan(16000);
      for (const opts of [{}, { snipEdges: false, numBins: 64 }]) {
        const ref = fbank(samples, opts);
        const got = await computeFbank(samples, opts);
        expect(got.frames).toBe(ref.frames);
        expect(maxAbsDiff(got.data, ref.data)).toBeLessThan(1e-4);
      }
    } finally {
      tmp.cleanup();
    }
  });

  it('rejects bad input like the reference', async () => {
    await expect(computeFbank([1, 2, 3] as unknown as Float32Array)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(computeFbank(new Float32Array(1000), { numBins: 2 })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});

describe('fbank fallback (addon disabled with LIKENESS_NO_NATIVE=1)', () => {
  it('reports the addon as unavailable and returns exactly the TS reference', async () => {
    await withoutNative(async (mod) => {
      expect(mod.nativeAvailable()).toBe(false);
      expect(mod.nativeInfo().reason).toMatch(/LIKENESS_NO_NATIVE/);
      const x = noise(3, 16000);
      const got = await mod.computeFbank(x, { snipEdges: false });
      expect(Array.from(got.data)).toEqual(Array.from(fbank(x, { snipEdges: false }).data));
    });
  });
});
