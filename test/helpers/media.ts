import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ffmpegPath } from '../../src/media/ffmpeg';

// Test media made by the project itself: espeak-ng speech and ffmpeg conversions in a temp folder.

/** A fresh temp folder and a function that removes it (call it in afterAll). */
export function makeTmpDir(prefix = 'likeness-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** True when espeak-ng is installed (tests that need speech skip without it). */
export function hasEspeak(): boolean {
  try {
    execFileSync('espeak-ng', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link makeSpeechWav}. */
export interface SpeechOptions {
  /** espeak-ng voice, e.g. `en-us+m3`, `en+f4` (`en-gb+f4` silently ignores the variant). Default `en-us`. */
  voice?: string;
  /** Words per minute; default 160. */
  speed?: number;
  /** Pitch 0..99; default 50. */
  pitch?: number;
}

/** Synthesises `text` with espeak-ng into a WAV (22050 Hz, 16-bit mono, as espeak writes it). */
export function makeSpeechWav(text: string, file: string, opts: SpeechOptions = {}): string {
  execFileSync('espeak-ng', ['-v', opts.voice ?? 'en-us', '-s', String(opts.speed ?? 160), '-p', String(opts.pitch ?? 50), '-w', file, text], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return file;
}

/** Runs ffmpeg `-i src ...args dst` (overwrite, errors only); e.g. `['-ar', '16000', '-c:a', 'pcm_s24le']`. */
export function convertAudio(src: string, dst: string, args: string[] = []): string {
  execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', src, ...args, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dst;
}

/** Options of {@link composeVideoWithAudio}. */
export interface VideoOptions {
  /** Frame size; default `160x120`. */
  size?: string;
  /** Frame rate; default 10. */
  fps?: number;
  /** Extra ffmpeg output arguments (codecs); default chosen from the extension (mp4: h264+aac, webm: vp8+opus). */
  codecArgs?: string[];
}

/** Makes a video with a test pattern and `audio` as its soundtrack, as long as the audio. */
export function composeVideoWithAudio(audio: string, dst: string, opts: VideoOptions = {}): string {
  const ext = path.extname(dst).toLowerCase();
  const codec =
    opts.codecArgs ??
    (ext === '.webm' ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '100k', '-c:a', 'libopus', '-b:a', '48k'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k']);
  execFileSync(
    ffmpegPath(),
    ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${opts.size ?? '160x120'}:rate=${opts.fps ?? 10}`, '-i', audio, '-map', '0:v', '-map', '1:a', '-shortest', ...codec, dst],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return dst;
}

/** Makes a video without any audio track. */
export function makeSilentVideo(dst: string, seconds = 1): string {
  execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=160x120:rate=10:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', dst], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return dst;
}

/** Makes a sine tone with ffmpeg's lavfi source (any container the extension implies). */
export function makeTone(dst: string, opts: { freq?: number; seconds?: number; sampleRate?: number; args?: string[] } = {}): string {
  execFileSync(
    ffmpegPath(),
    ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${opts.freq ?? 440}:sample_rate=${opts.sampleRate ?? 16000}:duration=${opts.seconds ?? 1}`, ...(opts.args ?? []), dst],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return dst;
}

/** Keeps the first `fraction` of a file's bytes (a download cut short). */
export function truncateFile(src: string, dst: string, fraction: number): string {
  const b = fs.readFileSync(src);
  fs.writeFileSync(dst, b.subarray(0, Math.floor(b.length * fraction)));
  return dst;
}

/**
 * Writes a 16-bit mono WAV whose header claims `claimedSeconds` of audio while only `realSeconds` of samples follow
 * (a damaged or hostile header).
 */
export function makeLyingWav(dst: string, claimedSeconds: number, realSeconds: number, sampleRate = 16000): string {
  const real = Math.round(realSeconds * sampleRate) * 2;
  const claimed = Math.min(0xfffffff0, Math.round(claimedSeconds * sampleRate) * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + claimed), 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(claimed, 40);
  const body = Buffer.alloc(real);
  for (let i = 0; i < real / 2; i++) body.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), i * 2);
  fs.writeFileSync(dst, Buffer.concat([h, body]));
  return dst;
}

/** Reads a raw little-endian float32 file (as written by the goldens scripts). */
export function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  const out = new Float32Array(b.length >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.length * 4));
  return out;
}

/**
 * Writes interleaved samples as a WAV file: 32-bit IEEE float exactly as given (NaN, Inf and 3e38 included), or
 * 16-bit PCM (values in -1..1, saturated at full scale).
 */
export function writeWav(file: string, samples: ArrayLike<number>, opts: { sampleRate?: number; channels?: number; format?: 'f32' | 'i16' } = {}): string {
  const rate = opts.sampleRate ?? 16000;
  const ch = opts.channels ?? 1;
  const float = (opts.format ?? 'f32') === 'f32';
  const bytes = float ? 4 : 2;
  const body = Buffer.alloc(samples.length * bytes);
  for (let i = 0; i < samples.length; i++) {
    if (float) body.writeFloatLE(samples[i]!, i * 4);
    else body.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768))), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + body.length, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(float ? 3 : 1, 20);
  h.writeUInt16LE(ch, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * ch * bytes, 28);
  h.writeUInt16LE(ch * bytes, 32);
  h.writeUInt16LE(bytes * 8, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(body.length, 40);
  fs.writeFileSync(file, Buffer.concat([h, body]));
  return file;
}
