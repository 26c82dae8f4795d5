import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// Speech the project makes itself (espeak-ng, resampled to 16 kHz by ffmpeg) for the voice benchmarks: the VAD
// comparison and the real-time-factor run. Nothing here reads ../shared.

/** ffmpeg binary for the benchmarks (FFMPEG_PATH, else the system one). */
export const FFMPEG = process.env.FFMPEG_PATH || 'ffmpeg';

/** Sentences for synthetic speech (public-domain style text written for this project). */
export const SENTENCES = [
  'The quick brown fox jumps over the lazy dog near the river bank.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'A large fawn jumped quickly over white zinc boxes at the harbour.',
  'We will meet again tomorrow morning at nine, unless the train is late.',
  'Seven silver spoons were found under the old wooden table in the kitchen.',
  'Bright vixens jump, dozy fowl quack, and the wind keeps blowing all night.',
  'Nobody expected the concert to finish so early on a warm summer evening.',
  'The library closes at six, so return your books before the bell rings.',
];

/** espeak-ng voices that differ audibly (variants as MODEL-NOTES says work). */
export const VOICES = ['en-us', 'en+f4', 'en-us+m3', 'en-gb-scotland', 'en+f2', 'en-029', 'en-gb-x-rp+m5', 'en+f3'];

/** 16 kHz mono float samples of `text` spoken by espeak-ng `voice` at `wpm` words per minute. */
export function speak(text: string, voice: string, wpm = 160, pitch = 50): Float32Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-speak-'));
  try {
    const wav = path.join(dir, 'x.wav');
    const e = spawnSync('espeak-ng', ['-v', voice, '-s', String(wpm), '-p', String(pitch), '-w', wav, text]);
    if (e.status !== 0) throw new Error(`espeak-ng failed: ${e.stderr?.toString()}`);
    return decodeWith16k(wav);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Any audio file decoded by ffmpeg to 16 kHz mono float (benchmarks only; the library uses src/media/audio). */
export function decodeWith16k(file: string): Float32Array {
  const r = spawnSync(FFMPEG, ['-v', 'error', '-i', file, '-ac', '1', '-ar', '16000', '-f', 'f32le', 'pipe:1'], {
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${file}: ${r.stderr?.toString()}`);
  const b = r.stdout;
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** First and last sample index whose magnitude exceeds `eps` (espeak pads its output with silence). */
export function trimBounds(x: Float32Array, eps = 1e-3): [number, number] {
  let a = 0;
  while (a < x.length && Math.abs(x[a]!) <= eps) a++;
  let b = x.length - 1;
  while (b > a && Math.abs(x[b]!) <= eps) b--;
  return [a, b + 1];
}

/** Deterministic uniform random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Root-mean-square level. */
export function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length));
}
