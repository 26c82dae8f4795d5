import { thrownCode } from '../../test/helpers/error-code';
import { AUDIO_FP_HOP_SECONDS, audioFingerprint, deserializeAudioFingerprint, serializeAudioFingerprint } from './audio-fingerprint';

function chirpy(seconds: number, seed: number): Float32Array {
  // A signal whose spectrum moves: tones that change every 150 ms, seeded.
  const x = new Float32Array(seconds * 16000);
  let s = seed;
  let f = 300;
  for (let i = 0; i < x.length; i++) {
    if (i % 2400 === 0) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      f = 250 + (s % 3500);
    }
    x[i] = 0.3 * Math.sin((2 * Math.PI * f * i) / 16000) + 0.1 * Math.sin((2 * Math.PI * 1.5 * f * i) / 16000);
  }
  return x;
}

test('one sub-fingerprint per 10 ms, deterministic, and silence is masked out', async () => {
  const x = new Float32Array(3 * 16000);
  x.set(chirpy(1, 7), 16000); // silence, 1 s of sound, silence
  const a = await audioFingerprint({ sampleRate: 16000, samples: x, offset: 0 });
  const b = await audioFingerprint({ sampleRate: 16000, samples: x, offset: 0 });
  expect(a.hopSeconds).toBe(AUDIO_FP_HOP_SECONDS);
  expect(a.subprints.length).toBeGreaterThan(280);
  expect(a.subprints.length).toBeLessThanOrEqual(300);
  expect(Array.from(a.subprints)).toEqual(Array.from(b.subprints));
  const voiced = Array.from(a.voiced);
  expect(voiced.slice(0, 80).every((v) => v === 0)).toBe(true);
  expect(voiced.slice(120, 180).every((v) => v === 1)).toBe(true);
  expect(voiced.slice(215).every((v) => v === 0)).toBe(true);
});

test('a signal shorter than one analysis window gives an empty fingerprint', async () => {
  const fp = await audioFingerprint({ sampleRate: 16000, samples: new Float32Array(100), offset: 0 });
  expect(fp.subprints.length).toBe(0);
  expect(deserializeAudioFingerprint(serializeAudioFingerprint(fp)).subprints.length).toBe(0);
});

test('serialize / deserialize round-trips, and damaged bytes give typed errors', async () => {
  const fp = await audioFingerprint({ sampleRate: 16000, samples: chirpy(2, 3), offset: 0 });
  const bytes = serializeAudioFingerprint(fp);
  expect(bytes[0]).toBe(1);
  const back = deserializeAudioFingerprint(bytes);
  expect(Array.from(back.subprints)).toEqual(Array.from(fp.subprints));
  expect(Array.from(back.voiced)).toEqual(Array.from(fp.voiced));
  expect(thrownCode(() => deserializeAudioFingerprint(bytes.subarray(0, bytes.length - 1)))).toBe('E_DECODE');
  expect(thrownCode(() => deserializeAudioFingerprint(new Uint8Array(3)))).toBe('E_DECODE');
  const future = Uint8Array.from(bytes);
  future[2] = 99;
  expect(thrownCode(() => deserializeAudioFingerprint(future))).toBe('E_UNSUPPORTED');
  const visual = Uint8Array.from(bytes);
  visual[1] = 1;
  expect(thrownCode(() => deserializeAudioFingerprint(visual))).toBe('E_DECODE');
  expect(thrownCode(() => deserializeAudioFingerprint('x' as unknown as Uint8Array))).toBe('E_DECODE');
});

test('bad signals are E_INPUT', async () => {
  await expect(audioFingerprint({ sampleRate: 8000, samples: new Float32Array(10) } as never)).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(audioFingerprint(null as never)).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(audioFingerprint({ sampleRate: 16000, samples: Float32Array.of(NaN), offset: 0 })).rejects.toMatchObject({ code: 'E_INPUT' });
});
