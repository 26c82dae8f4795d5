import * as path from 'path';
import { LikenessError } from '../errors';
import { i420ToRgb, yuvMatrixOf, type I420Image, type YuvMatrix } from '../kernels/yuv';
import type { RgbImage } from '../types';
import { num, int, invalid } from '../validate';
import { StderrWatch, concludeDecodeReport, probeMedia, streamFfmpeg, type DecodeReport, type MediaInfo, type MediaStreamInfo } from './ffmpeg';
import { statRegularFile } from './gate';
import { limitFlag, resolveLimits, type MediaLimits } from './limits';

/** One sampled video frame. */
export interface VideoFrame {
  /** Seconds from the start of the video (frame index / fps, or the frame's timestamp in scene mode). */
  time: number;
  /** Index of the frame among the sampled ones, from 0. */
  index: number;
  image: RgbImage;
}

/** Options of {@link streamVideoFrames}. */
export interface VideoFrameOptions {
  /** Frames sampled per second (default 2). Ignored in scene mode except as the upper bound of the rate. */
  fps?: number;
  /** `interval` (default): every 1/fps s. `scene`: only frames where the picture changes (ffmpeg's scene score). */
  mode?: 'interval' | 'scene';
  /** Scene-change threshold in (0, 1) for `scene` mode (default 0.3). */
  sceneThreshold?: number;
  /** Frames wider or taller than this are scaled down to fit, keeping the aspect ratio (default 1280). */
  maxWidth?: number;
  /** Which video stream (its container index, as ffprobe reports it); default the first scannable one. */
  streamIndex?: number;
  /** Limits (`maxFrameBytes` is checked on the stream's coded size before ffmpeg starts). */
  limits?: Partial<MediaLimits>;
  /**
   * Filled in as frames are decoded: seconds that decoded, the declared duration, truncation and damage found on the
   * way (read it after the loop ends). Decoding goes on past damaged packets; what was skipped is reported here.
   */
  report?: DecodeReport;
  /** Time limit for the decoder's own work in ms (time the consumer holds a frame does not count). */
  timeoutMs?: number;
  /** Stops decoding with E_ABORTED. */
  signal?: AbortSignal;
  /** What ffprobe said about the file, when the caller already asked (saves a process start). */
  info?: MediaInfo;
}

/** Geometry of the frames {@link streamVideoFrames} yields. */
export interface VideoFramePlan {
  /** Output frame size after scaling. */
  width: number;
  height: number;
  /** Source video stream. */
  stream: MediaStreamInfo;
  /** Container duration in seconds (NaN when unknown). */
  duration: number;
  /**
   * How frames cross the pipe: `i420` (planar YUV 4:2:0 as decoded, half the bytes of RGB, converted to RGB only for
   * the frames that are analysed, with the matrix `matrix`) or `rgb24`. I420 is used when the stream decodes to
   * limited-range yuv420p and is not scaled, where the conversion gives the bytes ffmpeg's own rgb24 gives.
   */
  transport: 'i420' | 'rgb24';
  /** The YCbCr matrix of an `i420` transport. */
  matrix: YuvMatrix;
}

const DEFAULT_FPS = 2;
const DEFAULT_MAX_WIDTH = 1280;
/** Coded frames of at most this many pixels (SD) decode on one thread. */
const ONE_THREAD_PIXELS = 640 * 480;

/**
 * ffmpeg decoder threads for a stream. Each frame thread holds its own frames, so decoder memory grows with threads x
 * frame size; two keep a second core busy and bound that memory. Small frames decode on one: a frame thread's
 * hand-offs then cost more than the decoding (a 160 x 120 H.264 stream decodes 2-2.5x faster on one thread than on
 * two, measured with ffmpeg 5.1), and the other core is left to the scanner.
 */
export function decoderThreads(stream: Pick<MediaStreamInfo, 'width' | 'height'>): number {
  return (stream.width ?? Infinity) * (stream.height ?? Infinity) <= ONE_THREAD_PIXELS ? 1 : 2;
}

/** The output size for a source size: fits in `maxSide` x `maxSide`, even dimensions (what rgb24 scaling produces). */
export function scaledSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  // Bounding both sides keeps an extreme aspect ratio (16 x 100000) from making one output frame hundreds of MB.
  const k = Math.min(1, maxSide / width, maxSide / height);
  const w = Math.max(1, Math.round(width * k));
  const h = Math.max(1, Math.round(height * k));
  // Even sizes keep ffmpeg's scaler and our arithmetic in agreement (scale=-2 rounds to even).
  const even = (n: number): number => Math.max(2, n - (n % 2));
  return { width: even(w), height: even(h) };
}

/**
 * Probes `file` (unless `info` is given) and works out the frame geometry of one video stream. E_UNSUPPORTED when
 * there is no such video stream, E_TOO_LARGE when its frames are over `maxFrameBytes`.
 */
export async function planVideoFrames(
  file: string,
  opts: { maxWidth?: number; info?: MediaInfo; signal?: AbortSignal; streamIndex?: number; limits?: Partial<MediaLimits> } = {},
): Promise<VideoFramePlan> {
  const maxWidth = int('maxWidth', opts.maxWidth ?? DEFAULT_MAX_WIDTH, 16, 16384);
  const limits = resolveLimits(opts.limits);
  const info = opts.info ?? (await probeMedia(file, { signal: opts.signal, label: file }));
  const stream =
    opts.streamIndex === undefined
      ? info.streams.find((s) => s.type === 'video' && s.width && s.height)
      : info.streams.find((s) => s.type === 'video' && s.index === opts.streamIndex);
  if (!stream) throw new LikenessError('E_UNSUPPORTED', `${file} has no video stream${opts.streamIndex === undefined ? '' : ` with index ${opts.streamIndex}`}`, { file });
  if (!stream.width || !stream.height) throw new LikenessError('E_DECODE', `${file}: video stream ${stream.index} has no frame size in its header`, { file });
  const frameBytes = stream.width * stream.height * 3;
  if (frameBytes > limits.maxFrameBytes) {
    throw new LikenessError(
      'E_TOO_LARGE',
      `${file}: frames of ${stream.width}x${stream.height} (${frameBytes} bytes as RGB) are over maxFrameBytes ${limits.maxFrameBytes}; raise maxFrameBytes (${limitFlag('maxFrameBytes')}) to accept them`,
      { file, limit: 'maxFrameBytes', width: stream.width, height: stream.height },
    );
  }
  const { width, height } = scaledSize(stream.width!, stream.height!, maxWidth);
  const i420 = stream.pixFmt === 'yuv420p' && stream.colorRange !== 'pc' && width === stream.width && height === stream.height;
  return { width, height, stream, duration: info.duration, transport: i420 ? 'i420' : 'rgb24', matrix: yuvMatrixOf(stream.colorSpace) };
}

/** A sampled frame as it came from the decoder: I420 or RGB bytes (see {@link VideoFramePlan.transport}). */
export interface DecodedFrame {
  /** Seconds from the start of the video. */
  time: number;
  /** Index of the frame among the sampled ones, from 0. */
  index: number;
  width: number;
  height: number;
  /** The frame as I420 (transport `i420`), else null. */
  i420: I420Image | null;
  /** The frame as RGB (transport `rgb24`), else null until {@link decodedRgb} converts it. */
  rgb: RgbImage | null;
  matrix: YuvMatrix;
}

/** The RGB pixels of a decoded frame (converted from I420 once, then kept on the frame). */
export async function decodedRgb(f: DecodedFrame): Promise<RgbImage> {
  f.rgb ??= await i420ToRgb(f.i420!, f.matrix);
  return f.rgb;
}

/** The ffmpeg arguments that decode the sampled frames of a plan to stdout (the scanner's, and its benchmark floor's). */
export function videoDecodeArgs(file: string, p: VideoFramePlan, opts: { fps: number; mode: 'interval' | 'scene'; threshold?: number; output?: string }): string[] {
  const scale = `scale=${p.width}:${p.height}:flags=bilinear`;
  // Scene mode: showinfo reports each kept frame's timestamp on stderr; fps caps the rate so a flashing clip stays bounded.
  const filter = opts.mode === 'scene' ? `select='gt(scene,${opts.threshold ?? 0.3})',fps=${opts.fps}:round=down,showinfo,${scale}` : `fps=${opts.fps},${scale}`;
  const timed = opts.mode === 'scene';
  // No -xerror: a damaged packet is skipped and counted; the frames around it are still scanned.
  const args = ['-nostats', '-v', timed ? 'level+info' : 'level+warning', '-threads', String(decoderThreads(p.stream))];
  // Sampling a few frames a second does not need the disposable (non-reference) frames: skipping them saves much of
  // the decoding, and the nearest decoded frame is at most a few source frames from the sampling instant.
  if (opts.mode === 'interval' && opts.fps <= 5) args.push('-skip_frame', 'noref');
  args.push('-i', `file:${path.resolve(file)}`, '-map', `0:${p.stream.index}`, '-an', '-sn', '-dn');
  if (timed) args.push('-fps_mode', 'vfr');
  args.push('-vf', filter, '-f', 'rawvideo', '-pix_fmt', p.transport === 'i420' ? 'yuv420p' : 'rgb24', opts.output ?? 'pipe:1');
  return args;
}

/** Parses `pts_time:12.345` from ffmpeg's showinfo lines (scene mode timestamps). */
class ShowinfoTimes {
  private pending = '';
  readonly times: number[] = [];
  push(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > 8192) this.pending = this.pending.slice(-8192);
    for (const l of lines) {
      const m = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.]+)/.exec(l);
      if (m) this.times.push(Number(m[1]));
    }
  }
}

/** Waits (briefly) until `ready()` holds: stderr and stdout are separate pipes, so a frame can arrive before its log line. */
async function settle(ready: () => boolean, maxMs: number): Promise<void> {
  for (let waited = 0; !ready() && waited < maxMs; waited += 2) await new Promise((r) => setTimeout(r, 2));
}

/**
 * Streams sampled frames of a video as they cross ffmpeg's stdout (I420 or RGB, see {@link VideoFramePlan.transport}):
 * no temporary image files, and memory bounded by a few frames (the pipe is not read while the consumer works on a
 * frame, so ffmpeg waits). Breaking out of the loop stops ffmpeg. Errors found late (a truncated file) are thrown
 * after the frames before them. {@link decodedRgb} gives a frame's RGB pixels.
 * @throws LikenessError E_NOT_FOUND, E_DECODE, E_UNSUPPORTED (no video stream), E_TOO_LARGE, E_FFMPEG, E_TIMEOUT, E_ABORTED
 */
export async function* streamDecodedFrames(file: string, opts: VideoFrameOptions = {}, plan?: VideoFramePlan): AsyncGenerator<DecodedFrame, void, undefined> {
  const fps = num('fps', opts.fps ?? DEFAULT_FPS, 0.01, 120);
  const mode = opts.mode ?? 'interval';
  if (mode !== 'interval' && mode !== 'scene') throw invalid(`unknown frame mode "${String(mode)}"; use "interval" or "scene"`);
  const threshold = num('sceneThreshold', opts.sceneThreshold ?? 0.3, 0.001, 0.999);
  statRegularFile(file, resolveLimits(opts.limits));
  const p = plan ?? (await planVideoFrames(file, opts));
  const times = new ShowinfoTimes();
  const timed = mode === 'scene';
  const watch = new StderrWatch();
  const report = opts.report;
  if (report) report.declaredSeconds = p.stream.duration ?? p.duration;
  const args = videoDecodeArgs(file, p, { fps, mode, threshold });
  const i420 = p.transport === 'i420';
  const frameBytes = i420 ? (p.width * p.height * 3) / 2 : p.width * p.height * 3;
  let index = 0;
  const onStderr = (t: string): void => {
    watch.push(t);
    if (timed) times.push(t);
  };
  for await (const chunk of streamFfmpeg(args, { chunkBytes: frameBytes, timeoutMs: opts.timeoutMs, signal: opts.signal, label: file, onStderr })) {
    // A short last chunk is a frame ffmpeg could not finish (killed or truncated output): not a frame.
    if (chunk.length < frameBytes) break;
    if (timed) await settle(() => times.times.length > index, 500);
    const time = timed ? (times.times[index] ?? index / fps) : index / fps;
    if (report) report.decodedSeconds = Math.max(report.decodedSeconds, mode === 'scene' ? time : time + 1 / fps);
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    const { width, height } = p;
    yield { time, index, width, height, i420: i420 ? { width, height, data: bytes } : null, rgb: i420 ? null : { width, height, data: bytes }, matrix: p.matrix };
    index++;
  }
  if (report) {
    concludeDecodeReport(report, watch, file, `video stream ${p.stream.index}`, file);
    if (index === 0) report.warnings.push(`${file}: video stream ${p.stream.index} gave no frame`);
  }
}

/**
 * Streams sampled frames of a video as RGB straight from ffmpeg's stdout: no temporary image files, and memory
 * bounded by a few frames. Breaking out of the loop stops ffmpeg. Errors found late (a truncated file) are thrown
 * after the frames before them.
 * @throws LikenessError E_NOT_FOUND, E_DECODE, E_UNSUPPORTED (no video stream), E_TOO_LARGE, E_FFMPEG, E_TIMEOUT, E_ABORTED
 */
export async function* streamVideoFrames(file: string, opts: VideoFrameOptions = {}, plan?: VideoFramePlan): AsyncGenerator<VideoFrame, void, undefined> {
  for await (const f of streamDecodedFrames(file, opts, plan)) yield { time: f.time, index: f.index, image: await decodedRgb(f) };
}
