import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { LikenessError, type ErrorCode } from '../errors';
import { statRegularFile } from './gate';
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
  /** Decoded pixel format of a video stream (`yuv420p`, `yuvj420p`, `yuv420p10le`...), as ffprobe names it. */
  pixFmt?: string;
  /** YCbCr matrix tag of a video stream (`bt709`, `bt470bg`, `smpte170m`...; absent when untagged). */
  colorSpace?: string;
  /** `tv` (limited) or `pc` (full) range when the stream says. */
  colorRange?: string;
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
function findOnPath(name: string, pathVar: string): string | undefined {
  const dirs = pathVar.split(path.delimiter).filter(Boolean);
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

/** The binary of a static ffmpeg/ffprobe package when it is installed (a clone's devDependency; never a consumer's). */
function fromInstaller(pkg: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const p = (require(pkg) as { path?: string }).path;
    return p && fs.existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Where {@link locateTool} found a binary. */
export type ToolSource = 'env' | 'path' | 'installer';

/** A located ffmpeg or ffprobe binary. */
export interface LocatedTool {
  /** Absolute path (or the env variable's value as given). */
  path: string;
  /** `env` ($FFMPEG_PATH / $FFPROBE_PATH), `path` (the system binary on PATH) or `installer` (a static package). */
  source: ToolSource;
}

/** What {@link locateTool} looks at; the defaults are the process's own (tests pass their own). */
export interface LocateOptions {
  /** Environment (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Looks up a static binary package; default `require(pkg).path` when the package is installed. */
  installer?: (pkg: string) => string | undefined;
}

const TOOLS = {
  ffmpeg: { envVar: 'FFMPEG_PATH', pkg: '@ffmpeg-installer/ffmpeg' },
  ffprobe: { envVar: 'FFPROBE_PATH', pkg: '@ffprobe-installer/ffprobe' },
} as const;

/** The E_FFMPEG error for a missing ffmpeg/ffprobe: names both fixes. */
export function missingToolError(tool: 'ffmpeg' | 'ffprobe'): LikenessError {
  const envVar = TOOLS[tool].envVar;
  return new LikenessError(
    'E_FFMPEG',
    `${tool} not found (video and non-WAV audio need it). Fix: install ffmpeg 5 or newer with the OS package manager ` +
      `(apt install ffmpeg, dnf install ffmpeg, apk add ffmpeg, brew install ffmpeg), or set ${envVar} to the ${tool} binary`,
    { binary: tool, envVar },
  );
}

/**
 * Finds ffmpeg or ffprobe: $FFMPEG_PATH / $FFPROBE_PATH first, then the system binary on PATH, then the static
 * `@ffmpeg-installer` / `@ffprobe-installer` package only when it is installed (a devDependency: a clone has it, a
 * consumer does not). Returns undefined when none exists.
 */
export function locateTool(tool: 'ffmpeg' | 'ffprobe', opts: LocateOptions = {}): LocatedTool | undefined {
  const env = opts.env ?? process.env;
  const { envVar, pkg } = TOOLS[tool];
  const given = env[envVar];
  if (given) return { path: given, source: 'env' };
  const onPath = findOnPath(tool, env['PATH'] ?? '');
  if (onPath) return { path: onPath, source: 'path' };
  const inst = (opts.installer ?? fromInstaller)(pkg);
  return inst ? { path: inst, source: 'installer' } : undefined;
}

function resolveBinary(tool: 'ffmpeg' | 'ffprobe'): string {
  const found = locateTool(tool);
  if (!found) throw missingToolError(tool);
  return found.path;
}

/** Path of the ffmpeg binary: $FFMPEG_PATH, else `ffmpeg` on PATH, else @ffmpeg-installer/ffmpeg when installed. Throws E_FFMPEG. */
export function ffmpegPath(): string {
  if (process.env.FFMPEG_PATH) return process.env.FFMPEG_PATH;
  cachedFfmpeg ??= resolveBinary('ffmpeg');
  return cachedFfmpeg;
}

/** Path of the ffprobe binary: $FFPROBE_PATH, else `ffprobe` on PATH, else @ffprobe-installer/ffprobe when installed. Throws E_FFMPEG. */
export function ffprobePath(): string {
  if (process.env.FFPROBE_PATH) return process.env.FFPROBE_PATH;
  cachedFfprobe ??= resolveBinary('ffprobe');
  return cachedFfprobe;
}

/** What `likeness doctor` reports about ffmpeg. */
export interface FfmpegInfo {
  /** The binary in use, or null when none was found. */
  path: string | null;
  source: ToolSource | null;
  /** The version line's version (`5.1.9-0+deb12u1`, `N-47683-g0e8eb07980-static`), or null when it did not run. */
  version: string | null;
  /** Major version: the release number, or for a git build (`N-...`) the release of its copyright year; null if unknown. */
  major: number | null;
}

/** First year of each major ffmpeg release, for git builds (`N-...`) whose version line names no release. */
const RELEASE_YEARS: [number, number][] = [
  [2024, 7],
  [2023, 6],
  [2022, 5],
  [2018, 4],
];

/** Parses `ffmpeg -version`'s first line into a version and a major number (pure). */
export function parseFfmpegVersion(text: string): { version: string | null; major: number | null } {
  const m = /version\s+(\S+)/.exec(text);
  if (!m) return { version: null, major: null };
  const version = m[1]!;
  const rel = /^n?(\d+)\.\d+/.exec(version);
  if (rel) return { version, major: Number(rel[1]) };
  const year = /Copyright \(c\) \d{4}-(\d{4})/.exec(text);
  if (year) {
    const y = Number(year[1]);
    const hit = RELEASE_YEARS.find(([from]) => y >= from);
    return { version, major: hit ? hit[1] : 3 };
  }
  return { version, major: null };
}

/** Locates ffmpeg and reads its version (`ffmpeg -version`, 10 s at most). Never throws. */
export function ffmpegInfo(opts: LocateOptions = {}): FfmpegInfo {
  const found = locateTool('ffmpeg', opts);
  if (!found) return { path: null, source: null, version: null, major: null };
  try {
    const out = execFileSync(found.path, ['-hide_banner', '-version'], { timeout: 10_000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // -hide_banner drops nothing from -version on the releases seen; keep the first line either way.
    return { path: found.path, source: found.source, ...parseFfmpegVersion(out.split('\n').slice(0, 2).join('\n')) };
  } catch {
    return { path: found.path, source: found.source, version: null, major: null };
  }
}

/** Doctor's warnings about ffmpeg: missing, not runnable, or older than 5. */
export function ffmpegWarnings(info: FfmpegInfo): string[] {
  if (!info.path) return [missingToolError('ffmpeg').message];
  if (!info.version) return [`ffmpeg at ${info.path} did not run (ffmpeg -version failed): install ffmpeg 5 or newer with the OS package manager, or set FFMPEG_PATH`];
  if (info.major !== null && info.major < 5) {
    return [`ffmpeg ${info.version} at ${info.path} (${info.source}) is older than 5: install ffmpeg 5 or newer with the OS package manager, or set FFMPEG_PATH to a newer binary`];
  }
  return [];
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
              ? `cannot run ${tool} at ${bin} (${spawnError.code}): install ffmpeg 5 or newer with the OS package manager, or set ${TOOLS[tool].envVar}`
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
    // Allocated only when a chunk straddles two reads.
    let pending: Buffer | null = null;
    let filled = 0;
    try {
      for await (const data of p.child.stdout! as AsyncIterable<Buffer>) {
        let off = 0;
        while (off < data.length) {
          if (filled === 0 && data.length - off >= chunkBytes) {
            // A whole chunk inside what was read: handed on as a view, no copy (node allocates each read afresh, so
            // nothing else writes to these bytes).
            p.pauseClock();
            yield data.subarray(off, off + chunkBytes);
            p.resumeClock();
            off += chunkBytes;
            continue;
          }
          const n = Math.min(chunkBytes - filled, data.length - off);
          pending ??= Buffer.allocUnsafe(chunkBytes);
          data.copy(pending, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === chunkBytes) {
            p.pauseClock();
            yield pending;
            p.resumeClock();
            pending = null;
            filled = 0;
          }
        }
      }
    } catch {
      // A stdout stream error is followed by 'close'; `done` carries the real cause.
    }
    await p.done;
    finished = true;
    if (pending && filled > 0) yield pending.subarray(0, filled);
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

/** ffprobe's JSON as it may come: every field is checked before use (a hostile file controls much of it). */
interface FfprobeStream {
  index?: unknown;
  codec_type?: unknown;
  codec_name?: unknown;
  sample_rate?: unknown;
  channels?: unknown;
  width?: unknown;
  height?: unknown;
  avg_frame_rate?: unknown;
  r_frame_rate?: unknown;
  duration?: unknown;
  pix_fmt?: unknown;
  color_space?: unknown;
  color_range?: unknown;
}

interface FfprobeJson {
  format?: { format_name?: unknown; duration?: unknown } | null;
  streams?: unknown;
}

function parseRate(r: unknown): number | undefined {
  if (typeof r !== 'string' || r.length > 64) return undefined;
  const [a, b] = r.split('/').map(Number);
  if (!Number.isFinite(a) || !a) return undefined;
  const v = b ? a / b : a;
  return Number.isFinite(v) && v > 0 && v < 1e6 ? v : undefined;
}

/** A positive finite number from ffprobe's text or number fields, else undefined. */
function positive(v: unknown): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const x = Number(v);
  return Number.isFinite(x) && x > 0 ? x : undefined;
}

/** A positive integer below `max` (sizes, channel counts), else undefined. */
function count(v: unknown, max: number): number | undefined {
  const x = positive(v);
  return x !== undefined && Number.isInteger(x) && x <= max ? x : undefined;
}

/** A short lowercase name from ffprobe (`yuv420p`, `bt709`, `tv`), else undefined (`unknown` counts as absent). */
function tag(v: unknown): string | undefined {
  return typeof v === 'string' && /^[a-z0-9_]{1,32}$/.test(v) && v !== 'unknown' ? v : undefined;
}

function toStreamInfo(raw: unknown, position: number): MediaStreamInfo | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const s = raw as FfprobeStream;
  if (s.codec_type !== 'audio' && s.codec_type !== 'video') return undefined;
  const index = typeof s.index === 'number' && Number.isInteger(s.index) && s.index >= 0 ? s.index : position;
  const info: MediaStreamInfo = { index, type: s.codec_type, codec: typeof s.codec_name === 'string' ? s.codec_name.slice(0, 64) : 'unknown' };
  const dur = positive(s.duration);
  if (dur !== undefined) info.duration = dur;
  if (s.codec_type === 'audio') {
    const sr = count(s.sample_rate, 1e9);
    if (sr !== undefined) info.sampleRate = sr;
    const ch = count(s.channels, 1e6);
    if (ch !== undefined) info.channels = ch;
  } else {
    const w = count(s.width, 1e7);
    const h = count(s.height, 1e7);
    if (w !== undefined && h !== undefined) Object.assign(info, { width: w, height: h });
    const fps = parseRate(s.avg_frame_rate) ?? parseRate(s.r_frame_rate);
    if (fps !== undefined) info.fps = fps;
    const pixFmt = tag(s.pix_fmt), colorSpace = tag(s.color_space), colorRange = tag(s.color_range);
    if (pixFmt) info.pixFmt = pixFmt;
    if (colorSpace) info.colorSpace = colorSpace;
    if (colorRange) info.colorRange = colorRange;
  }
  return info;
}

/**
 * Parses ffprobe's `-print_format json -show_format -show_streams` output into {@link MediaInfo}. Pure and total:
 * any text gives a MediaInfo or E_DECODE, never another exception (numbers that are absent, negative, non-finite or
 * absurd are left out rather than trusted).
 */
export function parseProbeJson(text: string, label: string): MediaInfo {
  let json: FfprobeJson;
  try {
    json = JSON.parse(text) as FfprobeJson;
  } catch {
    throw new LikenessError('E_DECODE', `${label}: ffprobe returned no readable description`, { file: label });
  }
  if (typeof json !== 'object' || json === null || typeof json.format !== 'object' || json.format === null) {
    throw new LikenessError('E_DECODE', `${label} is not readable media`, { file: label });
  }
  const streams = Array.isArray(json.streams) ? json.streams : [];
  return {
    format: typeof json.format.format_name === 'string' ? json.format.format_name.slice(0, 128) : 'unknown',
    duration: positive(json.format.duration) ?? NaN,
    streams: streams.map(toStreamInfo).filter((s): s is MediaStreamInfo => s !== undefined),
  };
}

/**
 * Probes a media file with ffprobe: container, duration and every audio/video stream. Goes through the input gate
 * (regular files only). Throws E_NOT_FOUND, E_INPUT (not a regular file), E_DECODE (not media or damaged), E_FFMPEG
 * (ffprobe missing), E_TIMEOUT or E_ABORTED.
 */
export async function probeMedia(file: string, opts: RunOptions = {}): Promise<MediaInfo> {
  const label = opts.label ?? file;
  const st = statRegularFile(file);
  if (st.size === 0) throw new LikenessError('E_DECODE', `${label} is empty (0 bytes)`, { file: label });
  // `file:` keeps a name such as `-x.wav` or `http:...` from being read as an option or a protocol.
  const text = await runFfprobe(['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-i', `file:${path.resolve(file)}`], {
    ...opts,
    label,
  });
  return parseProbeJson(text, label);
}

/** Demuxer and decoder messages that mean the input ends before its own structure says it should. */
const TRUNCATION_EVIDENCE = [
  /File ended prematurely/i,
  /filesize and duration do not match/i,
  /partial file/i,
  /\btruncat/i,
  /unexpected end of (file|stream)/i,
  /premature end/i,
  /Packet corrupt|corrupt (input )?packet/i,
  /incomplete frame/i,
  /EOF (reached|encountered)/i,
];
/** Lines that report a damaged packet or frame (the decode went on without it). */
const DAMAGE_LINE = /\[(error|fatal)\]|Error while decoding|decode_frame\(\) failed|Invalid data found|invalid (residual|frame|packet|NAL|band)|concealing|corrupt/i;

/**
 * Watches an ffmpeg run's stderr (run with `-v level+warning` or `level+info`) for signs that the input is
 * truncated or damaged, line by line with bounded memory (a damaged hour-long file can print a line per frame).
 */
export class StderrWatch {
  private pending = '';
  /** Lines that say the file ends early (kept: the first 5). */
  readonly truncation: string[] = [];
  /** Number of lines reporting damaged packets or frames, and the first 5 of them. */
  damaged = 0;
  readonly damage: string[] = [];

  push(text: string): void {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > 4096) this.pending = this.pending.slice(0, 4096);
    for (const l of lines) this.line(l);
  }

  private line(raw: string): void {
    if (CHATTER.test(raw)) return;
    const l = raw.replace(/\[[\w\s,]+ @ 0x[0-9a-f]+\] /, '').trim().slice(0, 300);
    if (!l) return;
    if (TRUNCATION_EVIDENCE.some((re) => re.test(l))) {
      if (this.truncation.length < 5) this.truncation.push(l.replace(/^\[\w+\] /, ''));
    } else if (DAMAGE_LINE.test(l)) {
      this.damaged++;
      if (this.damage.length < 5) this.damage.push(l.replace(/^\[\w+\] /, ''));
    }
  }

  /** Call after the run: handles a last line without a newline. */
  finish(): void {
    if (this.pending) this.line(this.pending);
    this.pending = '';
  }
}

/**
 * What one decode of one stream really gave, filled in by the streaming decoders as they go (the header's duration
 * is only a claim: a mvhd or Segment Duration edited to 2^32 s must not decide anything).
 */
export interface DecodeReport {
  /** Seconds that decoded (samples / rate for audio; sampled frames / fps for video). */
  decodedSeconds: number;
  /** Duration the container or stream header declares, NaN when it declares none. */
  declaredSeconds: number;
  /** True when the input ends before its own structure says it should (a cut-off file), with the evidence. */
  truncated: boolean;
  /** Damaged packets or frames that were skipped. */
  damagedPackets: number;
  /** Readable notes: truncation evidence, a header whose duration does not match what decodes, damage. */
  warnings: string[];
}

/** A fresh, empty {@link DecodeReport}. */
export function newDecodeReport(): DecodeReport {
  return { decodedSeconds: 0, declaredSeconds: NaN, truncated: false, damagedPackets: 0, warnings: [] };
}

/**
 * Why an Ogg file is cut off, or null: its last page runs past the end of the file, or is not an end-of-stream page.
 * ffmpeg says nothing about a truncated Ogg (the container has no duration header: it takes the last granule it
 * finds as the length), so the page structure is checked here. Null for files that are not Ogg or cannot be read.
 */
export function oggTruncation(file: string): string | null {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(4);
    if (fs.readSync(fd, head, 0, 4, 0) < 4 || head.toString('latin1') !== 'OggS') return null;
    // A page is at most 27 + 255 + 255 * 255 bytes: the last page starts within that much of the end.
    const span = Math.min(size, 27 + 255 + 255 * 255 + 4);
    const tail = Buffer.alloc(span);
    const got = fs.readSync(fd, tail, 0, span, size - span);
    const base = size - span;
    for (let at = tail.lastIndexOf('OggS', got - 4, 'latin1'); at >= 0; at = at > 0 ? tail.lastIndexOf('OggS', at - 1, 'latin1') : -1) {
      if (at + 27 > got || tail[at + 4] !== 0) {
        if (at + 27 > got) return `its last Ogg page is cut off ${got - at} bytes in`;
        continue; // "OggS" inside packet data
      }
      const segments = tail[at + 26]!;
      if (at + 27 + segments > got) return 'its last Ogg page is cut off in its header';
      let body = 0;
      for (let i = 0; i < segments; i++) body += tail[at + 27 + i]!;
      const end = base + at + 27 + segments + body;
      if (end > size) return `its last Ogg page is cut off (${end - size} bytes missing)`;
      if (end < size) continue; // not the last page after all (trailing bytes or a false match)
      return (tail[at + 5]! & 0x04) === 0 ? 'the Ogg stream ends without its end-of-stream page' : null;
    }
    return null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Fills the end-of-decode part of a report from a watch, and says when the header's duration does not hold. With
 * `file`, a cut-off Ogg file (which ffmpeg does not notice) counts as truncated too.
 */
export function concludeDecodeReport(r: DecodeReport, watch: StderrWatch, label: string, what: string, file?: string): void {
  watch.finish();
  const ogg = file !== undefined && watch.truncation.length === 0 ? oggTruncation(file) : null;
  if (ogg) watch.truncation.push(ogg);
  r.damagedPackets = watch.damaged;
  const declared = r.declaredSeconds;
  const short = Number.isFinite(declared) && r.decodedSeconds < declared * 0.97 - 0.5;
  if (watch.truncation.length > 0) {
    r.truncated = true;
    r.warnings.push(`${label}: ${what} is truncated (${watch.truncation[0]}); scanned the ${r.decodedSeconds.toFixed(1)} s that decode${Number.isFinite(declared) ? ` of the ${declared.toFixed(1)} s declared` : ''}`);
  } else if (short) {
    r.warnings.push(`${label}: ${what} header declares ${declared.toFixed(1)} s but ${r.decodedSeconds.toFixed(1)} s decode (a header that lies, or a cut-off file); scanned what decodes`);
  }
  if (watch.damaged > 0) r.warnings.push(`${label}: ${what} has ${watch.damaged} damaged packet(s) that were skipped (${watch.damage[0]})`);
}
