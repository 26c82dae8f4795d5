import { execFileSync } from 'child_process';
import * as path from 'path';
import sharp from 'sharp';
import { ffmpegPath } from '../../src/media/ffmpeg';

// Videos composed by the project for scan tests and benchmarks: still pictures laid over a plain background at known
// times (ffmpeg overlay with `enable`), with an optional soundtrack. No temporary frames: ffmpeg loops each picture.

/** A picture shown during [start, end) seconds, at (x, y) on the canvas. */
export interface Appearance {
  /** Image file (any format ffmpeg reads, e.g. PNG written by {@link cutFace}). */
  image: string;
  start: number;
  end: number;
  /** Position in pixels, or an ffmpeg overlay expression of `t` (e.g. `'100+40*sin(t)'`) for a moving picture. */
  x: number | string;
  y: number | string;
}

/** Options of {@link composeVideo}. */
export interface ComposeOptions {
  width: number;
  height: number;
  seconds: number;
  /** Source frame rate (default 25). */
  fps?: number;
  /** Soundtrack file and the time it starts at. */
  audio?: { file: string; at: number };
  /** Extra output args (default H.264 ultrafast + AAC). */
  codecArgs?: string[];
  /** A lavfi source for the background instead of flat grey (e.g. `testsrc2` for a moving picture). */
  background?: string;
}

/**
 * Composes a video: a grey canvas with each appearance overlaid during its interval (later ones on top), and the
 * soundtrack delayed to its start. The interval is half-open: a picture ending at t is gone in the frame at t.
 */
export function composeVideo(dst: string, shows: readonly Appearance[], o: ComposeOptions): string {
  const fps = o.fps ?? 25;
  const bg = o.background ?? 'color=c=0x808080';
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `${bg}${bg.includes('=') ? ':' : '='}s=${o.width}x${o.height}:r=${fps}:d=${o.seconds}`];
  for (const s of shows) args.push('-loop', '1', '-framerate', String(fps), '-t', String(o.seconds), '-i', s.image);
  const filters: string[] = [];
  let last = '0:v';
  shows.forEach((s, i) => {
    const out = `v${i}`;
    // lt() keeps the end exclusive; a tiny epsilon keeps a frame exactly on `start` in.
    filters.push(`[${last}][${i + 1}:v]overlay=x='${s.x}':y='${s.y}':enable='gte(t,${s.start - 1e-3})*lt(t,${s.end - 1e-3})'[${out}]`);
    last = out;
  });
  if (o.audio) {
    const ai = shows.length + 1;
    args.push('-i', o.audio.file);
    const ms = Math.round(o.audio.at * 1000);
    filters.push(`[${ai}:a]adelay=${ms}|${ms},apad[a]`);
  }
  args.push('-filter_complex', filters.length ? filters.join(';') : 'null');
  args.push('-map', shows.length ? `[${last}]` : '0:v');
  if (o.audio) args.push('-map', '[a]');
  args.push('-t', String(o.seconds), ...(o.codecArgs ?? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k']), dst);
  execFileSync(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return dst;
}

/**
 * Cuts a square around a box of a photo, scaled to `size` px, as PNG. Near the photo's border the square slides
 * inward, unless `centred`: then the margin shrinks instead, so the box stays in the middle (and the face stays the
 * largest one in the cut, not a neighbour the sliding brought in).
 */
export async function cutFace(src: string, box: { x: number; y: number; w: number; h: number }, margin: number, size: number, dst: string, opts: { centred?: boolean } = {}): Promise<string> {
  const meta = await sharp(src).metadata();
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  const face = Math.max(box.w, box.h);
  const room = Math.min(cx, meta.width! - cx, cy, meta.height! - cy) / face - 0.5;
  const side = Math.round(face * (1 + 2 * (opts.centred ? Math.max(0, Math.min(margin, room)) : margin)));
  const left = Math.max(0, Math.min(meta.width! - side, Math.round(cx - side / 2)));
  const top = Math.max(0, Math.min(meta.height! - side, Math.round(cy - side / 2)));
  await sharp(src).extract({ left, top, width: Math.min(side, meta.width!), height: Math.min(side, meta.height!) }).resize(size, size).png().toFile(dst);
  return dst;
}

/** A file name in `dir`. */
export function inDir(dir: string, name: string): string {
  return path.join(dir, name);
}
