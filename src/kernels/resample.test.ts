import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio } from '../media/audio';
import { bufferSource, pcmToFloat32, readWavInfo } from '../media/wav';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../../test/helpers/media';
import { gauss, rng } from '../../test/helpers/vectors';
import { nativeAvailable, nativeInfo } from './addon';
import { resampleAudio } from './resample';
import { resamplePlan, resampledLength, resampleTs } from './resample';

// Native polyphase resampler vs its TS twin (same filter bank), plus checks that the filter itself is right: a
// pass-band tone keeps its amplitude, a tone above the new Nyquist frequency is removed, and espeak speech resampled
// from 22.05 kHz matches what ffmpeg's resampler gives.

const native = nativeAvailable();
const itNative = native ? it : it.skip;
const nativeNote = native ? '' : ' (skipped: native addon not built, only the TS fallback is tested)';
if (!native) console.warn(`native resampler tests skipped: ${nativeInfo().reason}`);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function tone(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const x = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < x.length; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
}

describe(`native resampler${nativeNote}`, () => {
  itNative('random signals, common and awkward rates: equal to the TS twin within 1e-4', async () => {
    const r = rng(21);
    for (const rate of [44100, 48000, 22050, 8000, 11025, 96000, 44101]) {
      const x = new Float32Array(rate + 123);
      for (let i = 0; i < x.length; i++) x[i] = 0.3 * gauss(r);
      const got = await resampleAudio(x, rate);
      const ref = resampleTs(x, resamplePlan(rate, 16000));
      expect(got.length).toBe(resampledLength(x.length, resamplePlan(rate, 16000)));
      expect(got.length).toBe(ref.length);
      expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4);
    }
  });

  it('the filter: a 1 kHz tone keeps its amplitude, a 10 kHz tone is removed when going to 16 kHz', async () => {
    const pass = await resampleAudio(tone(1000, 44100, 1), 44100);
    expect(pass.length).toBe(16000);
    expect(Math.abs(rms(pass, 1000, 15000) - 0.5 / Math.SQRT2)).toBeLessThan(0.005);
    for (let i = 1000; i < 15000; i += 997) expect(Math.abs(pass[i]! - 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000))).toBeLessThan(0.003);
    const stop = await resampleAudio(tone(10000, 48000, 1), 48000);
    expect(rms(stop, 1000, 15000)).toBeLessThan(0.5 * 1e-3); // > 60 dB down
  });

  (hasEspeak() ? itNative : it.skip)('real speech (espeak 22.05 kHz WAV): native equals the twin and agrees with ffmpeg', async () => {
    const tmp = makeTmpDir('likeness-native-resample-');
    try {
      const wav = makeSpeechWav('Resampling speech to sixteen kilohertz for the voice models.', path.join(tmp.dir, 's.wav'));
      const bytes = fs.readFileSync(wav);
      const info = readWavInfo(bufferSource(bytes), wav)!;
      expect(info.sampleRate).toBe(22050);
      const x = new Float32Array(info.frames);
      pcmToFloat32(bytes.subarray(info.dataOffset, info.dataOffset + info.dataBytes), info.sampleFormat!, info.bitsPerSample, x);
      const got = await resampleAudio(x, 22050);
      expect(maxAbsDiff(got, resampleTs(x, resamplePlan(22050, 16000)))).toBeLessThan(1e-4);
      const viaFfmpeg = (await decodeAudio(wav)).samples;
      const n = Math.min(got.length, viaFfmpeg.length);
      expect(Math.abs(got.length - viaFfmpeg.length)).toBeLessThanOrEqual(2);
      let err = 0, sig = 0;
      for (let i = 0; i < n; i++) {
        err += (got[i]! - viaFfmpeg[i]!) ** 2;
        sig += viaFfmpeg[i]! ** 2;
      }
      expect(10 * Math.log10(sig / err)).toBeGreaterThan(30); // same signal to within -30 dB
    } finally {
      tmp.cleanup();
    }
  });

  it('same rate is a copy; bad rates are refused', async () => {
    const x = tone(100, 16000, 0.1);
    expect(Array.from(await resampleAudio(x, 16000))).toEqual(Array.from(x));
    await expect(resampleAudio(x, 0)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(resampleAudio(x, 44100.5)).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
