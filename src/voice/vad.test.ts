import * as path from 'path';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../../test/helpers/media';
import { decodeAudio } from '../media/audio';
import { SpeechSegment, detectSpeech, scoresToSegments } from './vad';
import { testIf } from '../../test/helpers/requires';

const tmp = makeTmpDir('lk-vad-');
afterAll(tmp.cleanup);
const espeak = hasEspeak();
const SR = 16000;

function overlap(a: SpeechSegment, segs: SpeechSegment[]): number {
  return segs.reduce((s, b) => s + Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start)), 0);
}

function noise(n: number, level: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * level;
  });
}

test('scoresToSegments: hysteresis, bridged pauses, dropped blips, padding, offset', () => {
  const hop = 0.1;
  // speech 1.0-2.0, a 0.2 s dip (bridged), speech to 2.6, a 0.1 s blip at 4.0 (dropped), speech 5.0-6.0
  const s = new Float32Array(70);
  for (let i = 10; i < 20; i++) s[i] = 0.9;
  for (let i = 20; i < 22; i++) s[i] = 0.1;
  for (let i = 22; i < 26; i++) s[i] = 0.4; // above threshold - 0.15: continues speech
  s[40] = 0.9;
  for (let i = 50; i < 60; i++) s[i] = 0.8;
  const segs = scoresToSegments({ hop, scores: s }, 7, { threshold: 0.5, minSpeech: 0.25, minSilence: 0.3, pad: 0.05, offset: 10 });
  expect(segs).toEqual([
    { start: 10.95, end: 12.65 },
    { start: 14.95, end: 16.05 },
  ]);
});

test('bad input gives E_INPUT; silence and empty input give no speech', async () => {
  await expect(detectSpeech({ sampleRate: 8000, samples: new Float32Array(800) })).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(detectSpeech({ sampleRate: SR, samples: [1, 2] as unknown as Float32Array })).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(detectSpeech({ sampleRate: SR, samples: new Float32Array(1000) }, { method: 'nope' as 'energy' })).rejects.toMatchObject({ code: 'E_INPUT' });
  for (const method of ['silero', 'energy'] as const) {
    expect(await detectSpeech({ sampleRate: SR, samples: new Float32Array(0) }, { method })).toEqual([]);
    expect(await detectSpeech({ sampleRate: SR, samples: new Float32Array(3 * SR) }, { method })).toEqual([]);
  }
});

testIf(espeak, 'espeak-ng')('both detectors find synthesized speech between pauses; silero ignores noise and tones', async () => {
  const a = await decodeAudio(makeSpeechWav('The quick brown fox jumps over the lazy dog.', path.join(tmp.dir, 'a.wav'), { voice: 'en-us+m3' }));
  const b = await decodeAudio(makeSpeechWav('Please call Stella and ask her to come.', path.join(tmp.dir, 'b.wav'), { voice: 'en+f4' }));
  const gapN = noise(2 * SR, 0.005);
  const tone = Float32Array.from({ length: 2 * SR }, (_, i) => 0.1 * Math.sin((2 * Math.PI * 440 * i) / SR));
  const parts = [new Float32Array(SR), a.samples, gapN, b.samples, tone, new Float32Array(SR)];
  const x = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  const spans: SpeechSegment[] = [];
  for (const [i, p] of parts.entries()) {
    x.set(p, o);
    if (i === 1 || i === 3) spans.push({ start: o / SR, end: (o + p.length) / SR });
    o += p.length;
  }
  for (const method of ['silero', 'energy'] as const) {
    const segs = await detectSpeech({ sampleRate: SR, samples: x, offset: 0 }, { method });
    for (const s of spans) expect(overlap(s, segs) / (s.end - s.start)).toBeGreaterThan(0.6);
    // Nothing in the leading or trailing silence.
    expect(overlap({ start: 0, end: 0.9 }, segs)).toBe(0);
    expect(overlap({ start: x.length / SR - 0.9, end: x.length / SR }, segs)).toBe(0);
    if (method === 'silero') {
      const noiseGap = { start: spans[0]!.end + 0.3, end: spans[1]!.start - 0.3 };
      const toneGap = { start: spans[1]!.end + 0.3, end: spans[1]!.end + 2 - 0.1 };
      expect(overlap(noiseGap, segs)).toBeLessThan(0.3);
      expect(overlap(toneGap, segs)).toBeLessThan(0.3);
    }
  }
  const shifted = await detectSpeech({ sampleRate: SR, samples: x, offset: 100 });
  const plain = await detectSpeech({ sampleRate: SR, samples: x });
  expect(shifted.map((s) => s.start - 100)).toEqual(plain.map((s) => expect.closeTo(s.start, 6)));
});
