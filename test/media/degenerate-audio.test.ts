import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio, pcmToSignal, streamAudio } from '../../src/media/audio';
import { ffmpegPath } from '../../src/media/ffmpeg';
import { makeTmpDir, writeWav } from '../helpers/media';

// Samples that are not audio never reach an embedder: NaN, +-Inf and far-past-full-scale floats, and audio pinned at
// full scale, are E_DECODE with the reason, on the WAV fast path, through ffmpeg (other rates, stereo, float PCM in
// Matroska), for short files and for small stream chunks.

const tmp = makeTmpDir('lg-degenerate-audio-');
afterAll(() => tmp.cleanup());
const f = (name: string): string => path.join(tmp.dir, name);
/** Something speech-like in level: a modulated tone. */
const speechy = (i: number): number => 0.3 * Math.sin(i / 7) * Math.sin(i / 3000);
const gen = (n: number, fn: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => fn(i));
const square = (n: number, half: number): number[] => gen(n, (i) => (Math.floor(i / half) % 2 ? 1 : -1));

async function decodeError(file: string, opts: Parameters<typeof decodeAudio>[1] = {}): Promise<{ code: string; reason: unknown; message: string }> {
  try {
    await decodeAudio(file, opts);
  } catch (e) {
    const err = e as { code: string; details?: { reason?: unknown }; message: string };
    return { code: err.code, reason: err.details?.reason, message: err.message };
  }
  throw new Error(`${file} decoded`);
}

test.each([
  ['float WAV 16 kHz with NaN', () => writeWav(f('nan16.wav'), gen(48000, (i) => (i === 20000 ? NaN : speechy(i)))), 'non_finite'],
  ['float WAV 16 kHz with +Inf', () => writeWav(f('inf16.wav'), gen(48000, (i) => (i === 100 ? Infinity : speechy(i)))), 'non_finite'],
  ['float WAV 16 kHz with -Inf', () => writeWav(f('ninf16.wav'), gen(48000, (i) => (i === 100 ? -Infinity : speechy(i)))), 'non_finite'],
  ['float WAV 16 kHz of 3e38', () => writeWav(f('big16.wav'), gen(48000, (i) => (i % 2 ? 3e38 : -3e38))), 'extreme'],
  ['float WAV 16 kHz with one 3e38 sample', () => writeWav(f('one16.wav'), gen(48000, (i) => (i === 5000 ? 3e38 : speechy(i)))), 'extreme'],
  ['float WAV 44.1 kHz stereo with NaN (ffmpeg)', () => writeWav(f('nan44.wav'), gen(44100 * 6, (i) => (i === 20001 ? NaN : speechy(i))), { sampleRate: 44100, channels: 2 }), 'non_finite'],
  ['float WAV 44.1 kHz all NaN (ffmpeg)', () => writeWav(f('allnan44.wav'), gen(44100 * 3, () => NaN), { sampleRate: 44100 }), 'non_finite'],
  ['float WAV 44.1 kHz with Inf (ffmpeg)', () => writeWav(f('inf44.wav'), gen(44100 * 3, (i) => (i % 1000 ? speechy(i) : Infinity)), { sampleRate: 44100 }), 'non_finite'],
  ['float WAV 44.1 kHz of 3e38 (ffmpeg)', () => writeWav(f('big44.wav'), gen(44100 * 3, (i) => (i % 2 ? 3e38 : -3e38)), { sampleRate: 44100 }), /non_finite|extreme/],
  ['int16 WAV 16 kHz pinned at full scale', () => writeWav(f('pinned16.wav'), square(48000, 40), { format: 'i16' }), 'clipped'],
  ['int16 WAV 16 kHz stuck at +full scale (DC)', () => writeWav(f('dc16.wav'), gen(48000, () => 1), { format: 'i16' }), 'clipped'],
  ['int16 WAV 44.1 kHz pinned at full scale (ffmpeg)', () => writeWav(f('pinned44.wav'), square(44100 * 3, 110), { sampleRate: 44100, format: 'i16' }), 'clipped'],
  ['int16 WAV 16 kHz of 0.5 s pinned (shorter than one check block)', () => writeWav(f('short16.wav'), square(8000, 40), { format: 'i16' }), 'clipped'],
  ['int16 WAV 44.1 kHz of 0.5 s pinned (ffmpeg)', () => writeWav(f('short44.wav'), square(22050, 110), { sampleRate: 44100, format: 'i16' }), 'clipped'],
])('%s is E_DECODE', async (_what, make, reason) => {
  const e = await decodeError(make());
  expect(e.code).toBe('E_DECODE');
  if (typeof reason === 'string') expect(e.reason).toBe(reason);
  else expect(String(e.reason)).toMatch(reason);
  expect(e.message).toMatch(/not (usable )?audio/);
});

test.each([
  ['NaN', (i: number) => (i === 30000 ? NaN : speechy(i)), 'non_finite'],
  ['3e38', (i: number) => (i % 3 === 0 ? 3e38 : speechy(i)), /non_finite|extreme/],
])('float PCM in Matroska with %s is E_DECODE through ffmpeg', async (_what, fn, reason) => {
  const raw = f(`raw-${_what}.f32`);
  const b = Buffer.alloc(96000 * 4);
  for (let i = 0; i < 96000; i++) b.writeFloatLE(fn(i), i * 4);
  fs.writeFileSync(raw, b);
  const mkv = f(`float-${_what}.mkv`);
  execFileSync(ffmpegPath(), ['-y', '-v', 'error', '-f', 'f32le', '-ar', '48000', '-ac', '1', '-i', raw, '-c:a', 'pcm_f32le', mkv]);
  const e = await decodeError(mkv);
  expect(e.code).toBe('E_DECODE');
  expect(String(e.reason)).toMatch(reason);
});

test('a pinned file read in small chunks is still E_DECODE (clipped), before its last chunk', async () => {
  const file = writeWav(f('chunks.wav'), square(48000, 40), { format: 'i16' });
  const got: number[] = [];
  let err: { code?: string; details?: { reason?: string } } | undefined;
  try {
    for await (const c of streamAudio(file, { chunkSeconds: 0.25 })) got.push(c.samples.length);
  } catch (e) {
    err = e as typeof err;
  }
  expect(err).toMatchObject({ code: 'E_DECODE', details: { reason: 'clipped' } });
  expect(got.length).toBeLessThan(12); // 3 s in 0.25 s chunks: the last one never went out
});

test('loud real-looking audio and a short burst of clipping still decode', async () => {
  // 10 s at a high level with 0.4 s pinned in the middle: a loud recording, not junk.
  const loud = gen(160000, (i) => (i > 80000 && i < 86400 ? (i % 40 < 20 ? 1 : -1) : 2.5 * speechy(i)));
  const s = await decodeAudio(writeWav(f('loud.wav'), loud, { format: 'i16' }));
  expect(s.samples.length).toBe(160000);
  const s44 = await decodeAudio(writeWav(f('loud44.wav'), gen(44100 * 2, (i) => 0.9 * Math.sin(i / 5)), { sampleRate: 44100 }));
  expect(s44.samples.length).toBeGreaterThan(31000);
});

test('pcmToSignal refuses far-past-full-scale and pinned samples (E_INPUT, with the reason)', async () => {
  await expect(pcmToSignal(new Float32Array(16000).fill(3e38), 16000)).rejects.toMatchObject({ code: 'E_INPUT', details: { reason: 'extreme' } });
  await expect(pcmToSignal(Float32Array.from(square(48000, 40)), 48000)).rejects.toMatchObject({ code: 'E_INPUT', details: { reason: 'clipped' } });
  await expect(pcmToSignal(Float32Array.from(gen(16000, speechy)), 16000)).resolves.toMatchObject({ sampleRate: 16000 });
});
