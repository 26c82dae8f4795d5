import { runFfmpeg } from './ffmpeg';
import { num, str } from '../validate';

/** Longest voice clip made for a report (seconds). */
export const MAX_CLIP_SECONDS = 10;

/**
 * A short clip of a media file's audio as Ogg Opus, mono, about 32 kb/s (10 s is about 40 KB): the speech a voice match
 * rests on, for a reviewer to listen to. `streamIndex` picks a container stream (default: ffmpeg's choice).
 *
 * @throws LikenessError `E_INPUT` for bad arguments; ffmpeg's errors (`E_FFMPEG`, `E_DECODE`) when the audio cannot be cut.
 */
export async function encodeVoiceClip(file: string, start: number, seconds: number, opts: { streamIndex?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
  str('file', file);
  num('start', start, 0, Number.MAX_SAFE_INTEGER);
  const dur = num('seconds', seconds, 0.05, MAX_CLIP_SECONDS);
  const map = opts.streamIndex !== undefined ? ['-map', `0:${opts.streamIndex}`] : ['-map', '0:a:0'];
  const args = ['-nostdin', '-v', 'error', '-ss', start.toFixed(3), '-t', dur.toFixed(3), '-i', file, ...map, '-vn', '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-application', 'voip', '-f', 'ogg', 'pipe:1'];
  const r = await runFfmpeg(args, { stdout: 'buffer', maxStdoutBytes: 1024 * 1024, label: file, ...(opts.signal ? { signal: opts.signal } : {}) });
  return r.stdout;
}
