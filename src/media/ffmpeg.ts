import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { LikenessError, type ErrorCode } from '../errors';
import { invalid } from '../validate';

// A small typed wrapper over ffmpeg/ffprobe. Processes are spawned with argument arrays (never a shell), every run
// has a time limit and honours an AbortSignal, and ffmpeg's stderr is turned into a LikenessError with a stable code.

/** Default time limit for one ffprobe run. */
export const DEFAULT_PROBE_TIMEOUT_MS = 30_000;
/** Default time limit for one ffmpeg run (a full decode of a long file). */
export const DEFAULT_FFMPEG_TIMEOUT_MS = 10 * 60_000;
/** How much of stderr is kept for error messages; ffmpeg can print a line per broken frame. */
const STDERR_KEEP_BYTES = 16 * 1024;

/** Common options of every ffmpeg/ffprobe run. */
export interface RunOptions {
  /** Kill the process and throw E_TIMEOUT after this many milliseconds. */
  timeoutMs?: number;
  /** Kill the process and throw E_ABORTED when this signal fires. */
  signal?: AbortSignal;
  /** Name of the input used in error messages (a path or `<buffer>`). */
  label?: string;
  /** Receives stderr text as it arrives (e.g. to read the input's duration from `-v level+info` output). */
  onStderr?: (text: string) => void;
}

/** Options of {@link runFfmpeg}. */
export interface RunFfmpegOptions extends RunOptions {
  /**
   * What to do with stdout: `'ignore'` (default, e.g. when writing a file), `'buffer'` (collect it, bounded by
   * `maxStdoutBytes`) or `{ chunkBytes, onChunk }` (consume fixed-size chunks; the pipe is paused while `onChunk`'s
   * promise is pending, so a slow consumer holds ffmpeg back instead of growing memory).
   */
  stdout?: 'ignore' | 'buffer' | ChunkConsumer;
  /** Upper bound for `stdout: 'buffer'`; default 256 MiB. Exceeding it throws E_TOO_LARGE. */
  maxStdoutBytes?: number;
}

/** Receives ffmpeg's stdout in chunks of exactly `chunkBytes` (the last one may be shorter). */
export interface ChunkConsumer {
  /** Size of each chunk, e.g. width*height*3 for raw RGB frames or seconds*16000*4 for f32le audio. */
  chunkBytes: number;
  /** Called once per chunk, in order. The buffer is owned by the callee. */
  onChunk: (chunk: Buffer) => void | Promise<void>;
}

/** Result of {@link runFfmpeg}. */
export interface FfmpegResult {
  /** Collected stdout when `stdout: 'buffer'`, else empty. */
  stdout: Buffer;
  /** The tail of stderr (warnings that did not fail the run). */
  stderr: string;
}

/** Options of {@link streamFfmpeg}. */
export interface StreamFfmpegOptions extends RunOptions {
  /** Size of each yielded chunk in bytes (the last one may be shorter). */
  chunkBytes: number;
}

/** One stream of a media file as ffprobe reports it. */
export interface MediaStreamInfo {
  /** Stream index in the container. */
  index: number;
  type: 'audio' | 'video';
  /** ffmpeg codec name (`pcm_s16le`, `mp3`, `opus`, `h264`...). */
  codec: string;
  /** Stream duration in seconds when the container says it. */
  duration?: number;
  sampleRate?: number;
  channels?: number;
  width?: number;
  height?: number;
  /** Average frame rate of a video stream. */
  fps?: number;
}

/** What ffprobe says about a media file. */
export interface MediaInfo {
  /** ffmpeg demuxer name(s), e.g. `wav`, `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`. */
  format: string;
  /** Container duration in seconds; NaN when unknown (e.g. raw streams). */
  duration: number;
  /** Audio and video streams, in container order (subtitle and data streams are left out). */
  streams: MediaStreamInfo[];
}

let cachedFfmpeg: string | undefined;
let cachedFfprobe: string | undefined;

/** Finds an executable on PATH without running a shell. */
function findOnPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function fromInstaller(pkg: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const p = (require(pkg) as { path?: string }).path;
    return p && fs.existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function resolveBinary(envVar: string, name: string, pkg: string): string {
  const env = process.env[envVar];
  if (env) return env;
  const found = findOnPath(name) ?? fromInstaller(pkg);
  if (!found) {
    throw new LikenessError('E_FFMPEG', `${name} not found: install ffmpeg, or set ${envVar} to the ${name} binary`, {
      binary: name,
    });
  }
  return found;
}

/** Path of the ffmpeg binary: $FFMPEG_PATH, else `ffmpeg` on PATH, else @ffmpeg-installer/ffmpeg. Throws E_FFMPEG. */
export function ffmpegPath(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  cachedFfmpeg ??= resolveBinary('FFMPEG_PATH', 'ffmpeg', '@ffmpeg-installer/ffmpeg');
  return cachedFfmpeg;
}

/** Path of the ffprobe binary: $FFPROBE_PATH, else `ffprobe` on PATH, else @ffprobe-installer/ffprobe. Throws E_FFMPEG. */
export function ffprobePath(): string {
  if (process.env.FFPROBE_PATH) return process.env.FFPROBE_PATH;
  cachedFfprobe ??= resolveBinary('FFPROBE_PATH', 'ffprobe', '@ffprobe-installer/ffprobe');
  return cachedFfprobe;
}

/** Keeps only the last `STDERR_KEEP_BYTES` of a growing text. */
class TailBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
    while (this.size > STDERR_KEEP_BYTES && this.parts.length > 1) this.size -= this.parts.shift()!.length;
  }
  toString(): string {
    const s = Buffer.concat(this.parts).toString('utf8');
    return s.length > STDERR_KEEP_BYTES ? s.slice(s.length - STDERR_KEEP_BYTES) : s;
  }
}

const UNSUPPORTED_PATTERNS = [
  /matches no streams/i,
  /does not contain any stream/i,
  /Decoder \(codec [^)]*\) not found/i,
  /Unknown decoder/i,
  /Unsupported codec/i,
  /not currently supported/i,
  /Protocol not found/i,
];
const DECODE_PATTERNS = [
  /Invalid data found when processing input/i,
  /could not find codec parameters/i,
  /Cannot determine format/i,
  /Failed to (read|decode|find)/i,
  /Error (while|during) (decoding|demuxing|reading)/i,
  /Invalid argument/i,
  /moov atom not found/i,
  /Error while decoding/i,
  /decode_frame\(\) failed/i,
  /End of file/i,
  /Header missing/i,
  /invalid/i,
  /corrupt/i,
  /truncat/i,
];

/** Level tags that `-v level+...` puts on lines that are not problems. */
const CHATTER = /\[(info|verbose|debug|trace)\]/;

/** The lines of stderr that report problems (all of them when the run did not tag levels). */
function problemLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .filter((l) => !CHATTER.test(l))
    .map((l) => l.replace(/file:(?=\/)/g, '').replace(/\[[\w\s]+ @ 0x[0-9a-f]+\] /, '').replace(/\[(error|fatal|panic|warning)\] /, '').trim())
    .filter((l) => l.length > 0 && !/^To ignore this/i.test(l));
}

/** Last meaningful lines of stderr, for a message a user can read. */
function stderrSummary(lines: string[]): string {
  return lines.slice(-3).join(' | ').slice(0, 600);
}

/** Maps a failed ffmpeg/ffprobe run to a LikenessError code from its stderr. */
export function classifyFfmpegError(tool: string, label: string, rawStderr: string, exit: string): LikenessError {
  // Only problem lines are matched: metadata printed at info level (a title such as "Invalid Love") must not count.
  const lines = problemLines(rawStderr);
  const stderr = lines.join('\n');
  const summary = stderrSummary(lines) || `exited with ${exit}`;
  if (/No such file or directory/i.test(stderr)) {
    return new LikenessError('E_NOT_FOUND', `${label}: file not found`, { file: label });
  }
  if (/matches no streams|does not contain any stream/i.test(stderr)) {
    return new LikenessError('E_UNSUPPORTED', `${label} has no audio/video stream of the kind asked for (${summary})`, {
      file: label,
      reason: 'no_stream',
    });
  }
  let code: ErrorCode = 'E_FFMPEG';
  if (UNSUPPORTED_PATTERNS.some((re) => re.test(stderr))) code = 'E_UNSUPPORTED';
  else if (DECODE_PATTERNS.some((re) => re.test(stderr))) code = 'E_DECODE';
  const what = code === 'E_UNSUPPORTED' ? 'uses a format or codec ffmpeg cannot read' : code === 'E_DECODE' ? 'is not readable media (damaged, truncated or not audio/video)' : `could not be processed by ${tool}`;
  return new LikenessError(code, `${label} ${what}: ${summary}`, { file: label, tool, exit });
}

interface Spawned {
  child: ChildProcess;
  stderr: TailBuffer;
  /** Resolves when the process has exited and its stdio closed; rejects with a LikenessError when it failed. */
  done: Promise<void>;
  /** Kills the process (used when a consumer stops early). */
  kill: () => void;
  /** Stops the time limit's clock (while a consumer holds a chunk, the time is the consumer's, not ffmpeg's). */
  pauseClock: () => void;
  /** Restarts the clock with what is left of the limit. */
  resumeClock: () => void;
}

/** Spawns a tool with a time limit and abort handling; the caller reads stdout. */
function spawnTool(tool: 'ffmpeg' | 'ffprobe', args: readonly string[], opts: RunOptions, defaultTimeout: number, stdin: Buffer | undefined): Spawned {
  const bin = tool === 'ffmpeg' ? ffmpegPath() : ffprobePath();
  const label = opts.label ?? tool;
  if (opts.signal?.aborted) throw new LikenessError('E_ABORTED', `${tool} run for ${label} was aborted before it started`);
  const child = spawn(bin, args as string[], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], windowsHide: true });
  const stderr = new TailBuffer();
  child.stderr!.on('data', (b: Buffer) => {
    stderr.push(b);
    opts.onStderr?.(b.toString('utf8'));
  });
  let reason: LikenessError | undefined;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timeoutMs = opts.timeoutMs ?? defaultTimeout;
  let left = timeoutMs;
  let since = 0;
  let timer: NodeJS.Timeout | undefined;
  const onTimeout = (): void => {
    reason ??= new LikenessError('E_TIMEOUT', `${tool} took longer than ${timeoutMs} ms on ${label}; raise timeoutMs for long media`, {
      file: label,
      timeoutMs,
    });
    kill();
  };
  let exited = false;
  const resumeClock = (): void => {
    // After exit there is nothing left to time: a consumer finishing its last chunk must not start a fresh timer
    // (that timer would keep the process alive for the whole limit).
    if (timer !== undefined || reason || exited) return;
    since = Date.now();
    timer = setTimeout(onTimeout, Math.max(0, left));
  };
  const pauseClock = (): void => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
    left -= Date.now() - since;
  };
  resumeClock();
  const onAbort = (): void => {
    reason ??= new LikenessError('E_ABORTED', `${tool} run for ${label} was aborted`, { file: label });
    kill();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (stdin) {
    // EPIPE when ffmpeg stops reading early is expected; the exit status tells what happened.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(stdin);
  }
  const done = new Promise<void>((resolve, reject) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    child.on('close', (code, sig) => {
      pauseClock();
      exited = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (reason) return reject(reason);
      if (spawnError) {
        const missing = spawnError.code === 'ENOENT' || spawnError.code === 'EACCES';
        return reject(
          new LikenessError(
            'E_FFMPEG',
            missing
              ? `cannot run ${tool} at ${bin} (${spawnError.code}): install ffmpeg or set ${tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'}`
              : `${tool} failed to start: ${spawnError.message}`,
            { binary: bin },
          ),
        );
      }
      if (code === 0) return resolve();
      reject(classifyFfmpegError(tool, label, stderr.toString(), sig ? `signal ${sig}` : `code ${String(code)}`));
    });
  });
  // Mark handled: callers may only await `done` after reading stdout.
  done.catch(() => undefined);
  return { child, stderr, done, kill, pauseClock, resumeClock };
}

/**
 * Runs ffmpeg with an argument array. Always prepends `-hide_banner -nostdin` (no prompts, quiet banner). Rejects with
 * a LikenessError: E_FFMPEG (binary missing or failed), E_DECODE / E_UNSUPPORTED (bad media), E_TIMEOUT, E_ABORTED.
 */
export async function runFfmpeg(args: readonly string[], opts: RunFfmpegOptions = {}): Promise<FfmpegResult> {
  const mode = opts.stdout ?? 'ignore';
  if (typeof mode === 'object') {
    for await (const chunk of streamFfmpeg(args, { ...opts, chunkBytes: mode.chunkBytes })) await mode.onChunk(chunk);
    return { stdout: Buffer.alloc(0), stderr: '' };
  }
  const p = spawnTool('ffmpeg', ['-hide_banner', '-nostdin', ...args], opts, DEFAULT_FFMPEG_TIMEOUT_MS, undefined);
  const parts: Buffer[] = [];
  let size = 0;
  const max = opts.maxStdoutBytes ?? 256 * 1024 * 1024;
  let tooLarge = false;
  p.child.stdout!.on('data', (b: Buffer) => {
    if (mode !== 'buffer' || tooLarge) return;
    size += b.length;
    if (size > max) {
      tooLarge = true;
      p.kill();
      return;
    }
    parts.push(b);
  });
  try {
    await p.done;
  } catch (e) {
    if (!tooLarge) throw e;
  }
  if (tooLarge) throw new LikenessError('E_TOO_LARGE', `ffmpeg output for ${opts.label ?? 'input'} is over ${max} bytes`, { maxStdoutBytes: max });
  return { stdout: Buffer.concat(parts), stderr: p.stderr.toString() };
}

/**
 * Runs ffmpeg and yields its stdout as chunks of exactly `chunkBytes` (the last one may be shorter). Reading is
 * pull-based: while the consumer is busy the pipe is not read, so ffmpeg blocks and memory stays bounded. Breaking
 * out of the loop kills ffmpeg. Errors are thrown from the iterator after the data that preceded them. `timeoutMs`
 * counts only the time spent waiting for ffmpeg, not the time the consumer holds a chunk (a slow model on an
 * hour-long file must not time the decoder out).
 */
export async function* streamFfmpeg(args: readonly string[], opts: StreamFfmpegOptions & { stdin?: Buffer }): AsyncGenerator<Buffer, void, undefined> {
  const chunkBytes = opts.chunkBytes;
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw invalid(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  const p = spawnTool('ffmpeg', ['-hide_banner', '-nostdin', ...args], opts, DEFAULT_FFMPEG_TIMEOUT_MS, opts.stdin);
  let finished = false;
  try {
    let pending = Buffer.allocUnsafe(chunkBytes);
    let filled = 0;
    try {
      for await (const data of p.child.stdout! as AsyncIterable<Buffer>) {
        let off = 0;
        while (off < data.length) {
          const n = Math.min(chunkBytes - filled, data.length - off);
          data.copy(pending, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === chunkBytes) {
            p.pauseClock();
            yield pending;
            p.resumeClock();
            pending = Buffer.allocUnsafe(chunkBytes);
            filled = 0;
          }
        }
      }
    } catch {
      // A stdout stream error is followed by 'close'; `done` carries the real cause.
    }
    await p.done;
    finished = true;
    if (filled > 0) yield pending.subarray(0, filled);
  } finally {
    if (!finished) p.kill();
  }
}

/** Runs ffprobe with an argument array and returns its stdout as text. */
async function runFfprobe(args: readonly string[], opts: RunOptions): Promise<string> {
  const p = spawnTool('ffprobe', ['-hide_banner', ...args], opts, DEFAULT_PROBE_TIMEOUT_MS, undefined);
  const parts: Buffer[] = [];
  let size = 0;
  p.child.stdout!.on('data', (b: Buffer) => {
    // A probe's JSON is small; a huge one means something is wrong, keep memory bounded anyway.
    if (size < 8 * 1024 * 1024) parts.push(b);
    size += b.length;
  });
  await p.done;
  return Buffer.concat(parts).toString('utf8');
}

interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  sample_rate?: string;
  channels?: number;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
}

interface FfprobeJson {
  format?: { format_name?: string; duration?: string };
  streams?: FfprobeStream[];
}

function parseRate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [a, b] = r.split('/').map(Number);
  if (!Number.isFinite(a) || !a) return undefined;
  const v = b ? a / b : a;
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function toStreamInfo(s: FfprobeStream): MediaStreamInfo | undefined {
  if (s.codec_type !== 'audio' && s.codec_type !== 'video') return undefined;
  const info: MediaStreamInfo = { index: s.index ?? 0, type: s.codec_type, codec: s.codec_name ?? 'unknown' };
  const dur = Number(s.duration);
  if (s.duration !== undefined && Number.isFinite(dur)) info.duration = dur;
  if (s.codec_type === 'audio') {
    const sr = Number(s.sample_rate);
    if (Number.isFinite(sr) && sr > 0) info.sampleRate = sr;
    if (s.channels) info.channels = s.channels;
  } else {
    if (s.width) info.width = s.width;
    if (s.height) info.height = s.height;
    const fps = parseRate(s.avg_frame_rate) ?? parseRate(s.r_frame_rate);
    if (fps !== undefined) info.fps = fps;
  }
  return info;
}

/**
 * Probes a media file with ffprobe: container, duration and audio/video streams. Throws E_NOT_FOUND, E_DECODE (not
 * media or damaged), E_FFMPEG (ffprobe missing), E_TIMEOUT or E_ABORTED.
 */
export async function probeMedia(file: string, opts: RunOptions = {}): Promise<MediaInfo> {
  const label = opts.label ?? file;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new LikenessError('E_NOT_FOUND', `file not found: ${file}`, { file });
  }
  if (!st.isFile()) throw invalid(`${file} is not a regular file`, { file });
  if (st.size === 0) throw new LikenessError('E_DECODE', `${label} is empty (0 bytes)`, { file: label });
  // `file:` keeps a name such as `-x.wav` or `http:...` from being read as an option or a protocol.
  const text = await runFfprobe(['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-i', `file:${path.resolve(file)}`], {
    ...opts,
    label,
  });
  let json: FfprobeJson;
  try {
    json = JSON.parse(text) as FfprobeJson;
  } catch {
    throw new LikenessError('E_DECODE', `${label}: ffprobe returned no readable description`, { file: label });
  }
  if (!json.format) throw new LikenessError('E_DECODE', `${label} is not readable media`, { file: label });
  const duration = Number(json.format.duration);
  return {
    format: json.format.format_name ?? 'unknown',
    duration: json.format.duration !== undefined && Number.isFinite(duration) ? duration : NaN,
    streams: (json.streams ?? []).map(toStreamInfo).filter((s): s is MediaStreamInfo => s !== undefined),
  };
}
