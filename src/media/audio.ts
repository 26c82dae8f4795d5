import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LikenessError, isLikenessError } from '../errors';
import { resampleAudio } from '../kernels/resample';
import { int, num, invalid, options } from '../validate';
import { StderrWatch, concludeDecodeReport, ffmpegPath, newDecodeReport, runFfmpeg, streamFfmpeg, type DecodeReport } from './ffmpeg';
import { resolveLimits, type MediaLimits } from './limits';
import { bufferSource, fileSource, pcmToFloat32, readWavInfo, wavFastPathOk, type ByteSource, type WavInfo } from './wav';

/** The sample rate every voice model in the library uses. */
export const AUDIO_SAMPLE_RATE = 16000;

/** Decoded audio: 16 kHz mono float32 in -1..1. */
export interface AudioSignal {
  sampleRate: typeof AUDIO_SAMPLE_RATE;
  samples: Float32Array;
  /** Time of the first sample in seconds from the start of the source. */
  offset: number;
}

/** What audio input can be: a file path (any container ffmpeg reads, or a WAV) or encoded bytes. */
export type AudioInput = string | Buffer | Uint8Array;

/** Options for {@link decodeAudio}. */
export interface DecodeAudioOptions {
  /** Refuse (E_TOO_LARGE) audio longer than this many seconds; default 3600 for decodeAudio, none for streamAudio. */
  maxSeconds?: number;
  /** Decode from this time on (seconds); default 0. */
  start?: number;
  /** Decode at most this many seconds from `start`. */
  duration?: number;
  /** Time limit for the decoder's own work, in ms (time a streamAudio consumer spends on a chunk does not count); default 10 minutes. */
  timeoutMs?: number;
  /** Stops decoding with E_ABORTED. */
  signal?: AbortSignal;
  /**
   * Decode whatever can be decoded from damaged or truncated input instead of throwing E_DECODE. Off by default:
   * a silently shortened file would give results that look complete.
   */
  tolerateDamage?: boolean;
  /** Limits: `maxFileBytes`, and `maxChannels` / `maxSampleRate` / `maxDurationS` on a WAV header. */
  limits?: Partial<MediaLimits>;
  /** Which audio stream (its container index, as ffprobe reports it); default the first. */
  streamIndex?: number;
  /**
   * Filled in as audio is decoded: seconds that decoded, the declared duration, truncation and damage (read it after
   * the loop ends). With `tolerateDamage` a damaged or cut-off file is decoded as far as it goes and this says so.
   */
  report?: DecodeReport;
}

/** Options for {@link streamAudio}. */
export interface StreamAudioOptions extends DecodeAudioOptions {
  /** Length of each yielded chunk in seconds (the last may be shorter); default 10. */
  chunkSeconds?: number;
}

/**
 * Raw samples captured at any rate (a microphone or WebRTC track at 48 kHz, a 44.1 kHz buffer) as the 16 kHz
 * AudioSignal the voice pipeline takes, without ffmpeg: several channels are averaged to mono and the native
 * polyphase resampler (src/kernels/resample.ts, about 80 dB stop band; its TS twin without the addon) converts the rate.
 * `channels` > 1 means interleaved samples. Throws E_INPUT for a bad rate or channel count, or samples that are not
 * audio (non-finite, far past full scale, mostly pinned at full scale).
 */
export async function pcmToSignal(samples: Float32Array, sampleRate: number, opts: { channels?: number; offset?: number } = {}): Promise<AudioSignal> {
  if (!(samples instanceof Float32Array)) throw invalid('samples must be a Float32Array');
  options('pcmToSignal options', opts);
  const rate = int('sampleRate', sampleRate, 1000, 768_000);
  const channels = int('channels', opts.channels ?? 1, 1, 64);
  const offset = num('offset', opts.offset ?? 0, 0, 1e9);
  if (samples.length % channels !== 0) throw invalid(`${samples.length} samples do not divide into ${channels} channels`);
  const mono = channels === 1 ? samples : downmix(samples, channels);
  for (let i = 0; i < mono.length; i++) {
    if (!Number.isFinite(mono[i]!)) throw invalid(`sample ${i * channels} is not a finite number`);
  }
  // The same rules as decoding (far past full scale, mostly pinned), as argument errors here.
  try {
    checkSamples(mono, 'samples', 0);
  } catch (e) {
    if (isLikenessError(e)) throw invalid(e.message, e.details);
    throw e;
  }
  const out = rate === AUDIO_SAMPLE_RATE ? Float32Array.from(mono) : await resampleAudio(mono, rate, AUDIO_SAMPLE_RATE);
  return { sampleRate: AUDIO_SAMPLE_RATE, samples: out, offset };
}

function downmix(x: Float32Array, channels: number): Float32Array {
  const n = x.length / channels;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += x[i * channels + c]!;
    out[i] = s / channels;
  }
  return out;
}

const DEFAULT_DECODE_MAX_SECONDS = 3600;
const DEFAULT_CHUNK_SECONDS = 10;

/**
 * Decodes a whole file or buffer to 16 kHz mono float32. WAV files already at 16 kHz mono (16/24/32-bit int, 32-bit
 * float) are read directly; everything else (other rates, FLAC, MP3, Opus, AAC, the audio track of MP4/WebM...) goes
 * through ffmpeg. Throws LikenessError: E_NOT_FOUND, E_DECODE (damaged, truncated, empty, not media), E_UNSUPPORTED
 * (no audio track, unknown codec), E_TOO_LARGE (over `maxSeconds`), E_FFMPEG, E_TIMEOUT, E_ABORTED.
 */
export async function decodeAudio(input: AudioInput, opts: DecodeAudioOptions = {}): Promise<AudioSignal> {
  options('decode options', opts);
  const maxSeconds = opts.maxSeconds ?? DEFAULT_DECODE_MAX_SECONDS;
  const parts: Float32Array[] = [];
  let total = 0;
  let offset: number | undefined;
  // One big chunk size keeps the number of parts small; memory is bounded by maxSeconds anyway.
  for await (const chunk of streamAudio(input, { ...opts, maxSeconds, chunkSeconds: 60 })) {
    offset ??= chunk.offset;
    parts.push(chunk.samples);
    total += chunk.samples.length;
  }
  const samples = parts.length === 1 ? parts[0] : new Float32Array(total);
  if (parts.length > 1) {
    let pos = 0;
    for (const p of parts) {
      samples.set(p, pos);
      pos += p.length;
    }
  }
  return { sampleRate: AUDIO_SAMPLE_RATE, samples, offset: offset ?? opts.start ?? 0 };
}

/**
 * Decodes audio as a stream of 16 kHz mono chunks of `chunkSeconds` each, with memory bounded by the chunk size (an
 * hour-long file never sits in memory). Errors found late (a truncated file) are thrown after the chunks before
 * them. Breaking out of the loop stops the decoder. Same inputs and errors as {@link decodeAudio}.
 */
export async function* streamAudio(input: AudioInput, opts: StreamAudioOptions = {}): AsyncGenerator<AudioSignal, void, undefined> {
  const o = checkOptions(opts);
  if (opts.signal?.aborted) throw new LikenessError('E_ABORTED', 'audio decoding was aborted before it started');
  const label = typeof input === 'string' ? input : '<buffer>';
  const src = openSource(input, label, o.limits);
  let tmpDir: string | undefined;
  try {
    if (src.size === 0) throw new LikenessError('E_DECODE', `${label} is empty (0 bytes)`, { file: label });
    const wav = readWavInfo(src, label);
    if (wav) checkWav(wav, label, o);
    if (wav && wavFastPathOk(wav, AUDIO_SAMPLE_RATE)) {
      yield* streamWav(src, wav, label, o);
      return;
    }
    let file: string;
    if (typeof input === 'string') {
      file = input;
    } else {
      // Containers such as MP4 keep their index at the end and need a seekable input, so bytes go to a temp file.
      tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-audio-'));
      file = path.join(tmpDir, 'input');
      fs.writeFileSync(file, input);
    }
    src.close();
    yield* streamViaFfmpeg(file, label, o);
  } finally {
    src.close();
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

interface CheckedOptions {
  limits: MediaLimits;
  streamIndex: number | undefined;
  report: DecodeReport;
  maxSeconds: number;
  start: number;
  duration: number;
  chunkSamples: number;
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  tolerateDamage: boolean;
}

function checkOptions(opts: StreamAudioOptions): CheckedOptions {
  const limits = resolveLimits(opts.limits);
  const given = opts.maxSeconds === undefined ? Infinity : opts.maxSeconds === Infinity ? Infinity : num('maxSeconds', opts.maxSeconds, 0.001, 1e9);
  const maxSeconds = Math.min(given, limits.maxDurationS);
  const streamIndex = opts.streamIndex === undefined ? undefined : int('streamIndex', opts.streamIndex, 0, 1e6);
  const start = opts.start === undefined ? 0 : num('start', opts.start, 0, 1e7);
  const duration = opts.duration === undefined ? Infinity : num('duration', opts.duration, 0.001, 1e7);
  const chunkSeconds = num('chunkSeconds', opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS, 0.01, 3600);
  if (opts.timeoutMs !== undefined) num('timeoutMs', opts.timeoutMs, 1, 1e9);
  return {
    limits,
    streamIndex,
    report: opts.report ?? newDecodeReport(),
    maxSeconds,
    start,
    duration,
    chunkSamples: Math.max(1, Math.round(chunkSeconds * AUDIO_SAMPLE_RATE)),
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    tolerateDamage: opts.tolerateDamage ?? false,
  };
}

function openSource(input: AudioInput, label: string, limits: MediaLimits): ByteSource {
  if (typeof input === 'string') {
    if (input.length === 0) throw invalid('audio path must be a non-empty string');
    return fileSource(input, limits);
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength > limits.maxFileBytes) throw new LikenessError('E_TOO_LARGE', `${label} is ${input.byteLength} bytes, over maxFileBytes ${limits.maxFileBytes}`, { file: label, limit: 'maxFileBytes' });
    return bufferSource(input);
  }
  throw invalid(`audio input must be a path or a Buffer, got ${typeof input}`, { file: label });
}

function tooLong(label: string, seconds: number, maxSeconds: number): LikenessError {
  return new LikenessError('E_TOO_LARGE', `${label} is ${seconds.toFixed(1)} s long, over the limit of ${maxSeconds} s; raise maxSeconds or use streamAudio`, {
    file: label,
    seconds,
    maxSeconds,
  });
}

/** Refuses a WAV whose header lies about its size (before anything is read or allocated) or is over the limit. */
function checkWav(wav: WavInfo, label: string, o: CheckedOptions): void {
  if (wav.truncated && !o.tolerateDamage) {
    const claimed = wav.declaredDataBytes / wav.blockAlign / wav.sampleRate;
    const present = wav.frames / wav.sampleRate;
    throw new LikenessError(
      'E_DECODE',
      `${label}: WAV header claims ${claimed.toFixed(1)} s of audio but the file holds only ${present.toFixed(1)} s (truncated file or damaged header)`,
      { file: label, claimedSeconds: claimed, presentSeconds: present },
    );
  }
  if (wav.frames === 0) throw new LikenessError('E_DECODE', `${label}: WAV file holds no samples`, { file: label });
  if (wav.channels > o.limits.maxChannels) throw new LikenessError('E_TOO_LARGE', `${label}: ${wav.channels} channels are over maxChannels ${o.limits.maxChannels}`, { file: label, limit: 'maxChannels' });
  if (wav.sampleRate > o.limits.maxSampleRate) throw new LikenessError('E_TOO_LARGE', `${label}: ${wav.sampleRate} Hz is over maxSampleRate ${o.limits.maxSampleRate}`, { file: label, limit: 'maxSampleRate' });
  if (wav.truncated) {
    o.report.truncated = true;
    o.report.warnings.push(`${label}: the WAV header declares ${(wav.declaredDataBytes / wav.blockAlign / wav.sampleRate).toFixed(1)} s but the file holds ${(wav.frames / wav.sampleRate).toFixed(1)} s (truncated); decoded what is there`);
  }
  o.report.declaredSeconds = wav.declaredDataBytes / wav.blockAlign / wav.sampleRate;
  const seconds = Math.min(wav.frames / wav.sampleRate - o.start, o.duration);
  if (seconds > o.maxSeconds) throw tooLong(label, seconds, o.maxSeconds);
}

function checkAborted(o: CheckedOptions, label: string): void {
  if (o.signal?.aborted) throw new LikenessError('E_ABORTED', `decoding ${label} was aborted`, { file: label });
}

/** The fast path: reads 16 kHz mono WAV samples in chunks straight from the file, no ffmpeg. */
async function* streamWav(src: ByteSource, wav: WavInfo, label: string, o: CheckedOptions): AsyncGenerator<AudioSignal, void, undefined> {
  const bytesPerSample = wav.blockAlign;
  const first = Math.min(wav.frames, Math.round(o.start * AUDIO_SAMPLE_RATE));
  const last = o.duration === Infinity ? wav.frames : Math.min(wav.frames, first + Math.round(o.duration * AUDIO_SAMPLE_RATE));
  if (last <= first) throw new LikenessError('E_DECODE', `${label}: no samples after ${o.start} s (the file is ${(wav.frames / AUDIO_SAMPLE_RATE).toFixed(2)} s long)`, { file: label });
  // Like the ffmpeg path, the limit counts our own reading time, not the time the consumer holds a chunk.
  let busyMs = 0;
  const check = new SampleCheck(label);
  for (let s = first; s < last; s += o.chunkSamples) {
    checkAborted(o, label);
    const t0 = Date.now();
    const n = Math.min(o.chunkSamples, last - s);
    const bytes = src.read(wav.dataOffset + s * bytesPerSample, n * bytesPerSample);
    const samples = new Float32Array(Math.floor(bytes.length / bytesPerSample));
    pcmToFloat32(bytes, wav.sampleFormat!, wav.bitsPerSample, samples);
    check.push(samples, s / AUDIO_SAMPLE_RATE);
    if (s + o.chunkSamples >= last) check.end(); // before the last chunk goes out
    o.report.decodedSeconds = (s + samples.length - first) / AUDIO_SAMPLE_RATE;
    busyMs += Date.now() - t0;
    if (o.timeoutMs !== undefined && busyMs > o.timeoutMs) throw new LikenessError('E_TIMEOUT', `reading ${label} took longer than ${o.timeoutMs} ms`, { file: label });
    yield { sampleRate: AUDIO_SAMPLE_RATE, samples, offset: s / AUDIO_SAMPLE_RATE };
    // Give timers and abort listeners a turn between chunks.
    await new Promise<void>((r) => setImmediate(r));
  }
}

const soxrByBinary = new Map<string, Promise<boolean>>();

/** True when this ffmpeg has the SoX resampler (better anti-aliasing than the default swr filter). */
function hasSoxr(): Promise<boolean> {
  const bin = ffmpegPath();
  let p = soxrByBinary.get(bin);
  if (!p) {
    p = runFfmpeg(['-buildconf'], { stdout: 'buffer', timeoutMs: 10_000 })
      .then((r) => r.stdout.toString('utf8').includes('--enable-libsoxr'))
      .catch(() => false);
    soxrByBinary.set(bin, p);
  }
  return p;
}

/** Reads the input's container duration from ffmpeg's `-v level+info` header ("Duration: 00:01:02.50, ..."). */
class DurationSniffer {
  private pending = '';
  private done = false;
  /** Container duration in seconds; NaN until seen or when the container does not know it. */
  seconds = NaN;

  push(text: string): void {
    if (this.done) return;
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    // A huge metadata dump must not grow this buffer: keep only the unfinished line's head.
    if (this.pending.length > 4096) this.pending = this.pending.slice(0, 4096);
    for (const l of lines) {
      const m = /^\[info\]\s+Duration: (?:(\d+):(\d\d):(\d\d(?:\.\d+)?)|N\/A)/.exec(l);
      if (m) {
        this.done = true;
        if (m[1] !== undefined) this.seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
        return;
      }
      // The output section starts after the input's; a Duration line after it is not ours.
      if (/^\[info\] (Stream mapping|Output #)/.test(l)) {
        this.done = true;
        return;
      }
    }
  }
}

/**
 * Rejects samples that are not audio: NaN or infinite values, magnitudes far past full scale (a float WAV of 3e38),
 * or audio pinned at full scale most of the time. A template made from such input is degenerate and would match
 * other junk with a perfect score, so it must never reach the embedder. Stateful over one decode: every chunk is
 * checked as it comes ({@link SampleCheck.push}: non-finite and extreme samples, and a chunk of 1 s or more that is
 * mostly pinned), and {@link SampleCheck.end} checks the whole decode (a short file, or one read in small chunks,
 * that is mostly pinned).
 */
export class SampleCheck {
  private pinned = 0;
  private total = 0;

  constructor(private readonly label: string) {}

  /** Checks one chunk whose first sample is at `offsetSeconds`. @throws LikenessError E_DECODE with `details.reason` */
  push(x: Float32Array, offsetSeconds: number): void {
    // Fast pass: the range, and a sum that turns NaN on any NaN or infinite sample (v * 0). Most audio is finite, far
    // from full scale and not pinned, which this settles without the per-sample tests below.
    let lo = 0, hi = 0, poison = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      poison += v * 0;
      if (v < lo) lo = v;
      else if (v > hi) hi = v;
    }
    if (poison === 0 && -lo < PINNED_MAGNITUDE && hi < PINNED_MAGNITUDE) {
      this.total += x.length;
      return;
    }
    const label = this.label;
    let pinned = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v !== v || v === Infinity || v === -Infinity) {
        throw new LikenessError('E_DECODE', `${label}: sample at ${(offsetSeconds + i / AUDIO_SAMPLE_RATE).toFixed(3)} s is ${String(v)}: not audio`, { file: label, reason: 'non_finite' });
      }
      const a = v < 0 ? -v : v;
      if (a > MAX_SAMPLE_MAGNITUDE) {
        throw new LikenessError('E_DECODE', `${label}: sample at ${(offsetSeconds + i / AUDIO_SAMPLE_RATE).toFixed(3)} s is ${v.toExponential(2)}, far past full scale: not audio`, { file: label, reason: 'extreme' });
      }
      if (a >= PINNED_MAGNITUDE) pinned++;
    }
    this.pinned += pinned;
    this.total += x.length;
    if (x.length >= AUDIO_SAMPLE_RATE && pinned > x.length * MAX_PINNED_FRACTION) throw this.clipped(pinned, x.length, `from ${offsetSeconds.toFixed(1)} s`);
  }

  /** Checks the decode as a whole once it has ended. @throws LikenessError E_DECODE (`clipped`) */
  end(): void {
    if (this.total >= MIN_CLIP_CHECK_SAMPLES && this.pinned > this.total * MAX_PINNED_FRACTION) throw this.clipped(this.pinned, this.total, 'of the whole audio');
  }

  private clipped(pinned: number, n: number, where: string): LikenessError {
    return new LikenessError('E_DECODE', `${this.label}: ${Math.round((100 * pinned) / n)}% of the samples ${where} are clipped at full scale: not usable audio`, {
      file: this.label,
      reason: 'clipped',
    });
  }
}

/** One chunk through a fresh {@link SampleCheck}, as a whole (push and end). */
export function checkSamples(x: Float32Array, label: string, offsetSeconds: number): void {
  const c = new SampleCheck(label);
  c.push(x, offsetSeconds);
  c.end();
}

/**
 * A sample at or above this magnitude counts as pinned at full scale. Under 1 because resampling a clipped 44.1 kHz
 * signal to 16 kHz rings around the clipped level (a full-scale 2 kHz square measured 51% at 0.999).
 */
const PINNED_MAGNITUDE = 0.98;
/** More than this fraction pinned is clipped audio, not a loud recording. */
const MAX_PINNED_FRACTION = 0.5;
/** The whole-decode check needs at least this much audio (0.1 s). */
const MIN_CLIP_CHECK_SAMPLES = AUDIO_SAMPLE_RATE / 10;

/** Largest sample magnitude accepted (float audio may exceed 1.0; 64 is +36 dB over full scale). */
const MAX_SAMPLE_MAGNITUDE = 64;

/**
 * Every other input: one ffmpeg process resamples to 16 kHz mono f32le on a pipe, read in fixed-size chunks. The
 * header's duration is only used to notice a file that decodes short; the duration limit counts decoded samples.
 */
async function* streamViaFfmpeg(file: string, label: string, o: CheckedOptions): AsyncGenerator<AudioSignal, void, undefined> {
  ffmpegPath(); // E_FFMPEG early, with the install hint, when no binary exists
  // No separate ffprobe run: process start-up dominates short files, so the duration comes from ffmpeg's own header.
  const sniffer = new DurationSniffer();
  const watch = new StderrWatch();
  const declared = (): number => (Number.isFinite(sniffer.seconds) ? Math.max(0, Math.min(sniffer.seconds - o.start, o.duration)) : NaN);
  const args = ['-nostats', '-v', 'level+info'];
  if (!o.tolerateDamage) args.push('-xerror');
  if (o.start > 0) args.push('-ss', String(o.start));
  args.push('-i', `file:${path.resolve(file)}`);
  if (o.duration !== Infinity) args.push('-t', String(o.duration));
  args.push('-map', o.streamIndex === undefined ? '0:a:0' : `0:${o.streamIndex}`, '-vn', '-sn', '-dn', '-ac', '1', '-ar', String(AUDIO_SAMPLE_RATE));
  if (await hasSoxr()) args.push('-af', 'aresample=resampler=soxr');
  args.push('-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1');
  const maxSamples = o.maxSeconds === Infinity ? Infinity : Math.ceil(o.maxSeconds * AUDIO_SAMPLE_RATE);
  let decoded = 0;
  const report = o.report;
  const check = new SampleCheck(label);
  try {
    const onStderr = (t: string): void => {
      sniffer.push(t);
      watch.push(t);
    };
    const chunks = streamFfmpeg(args, { chunkBytes: o.chunkSamples * 4, timeoutMs: o.timeoutMs, signal: o.signal, label, onStderr });
    for await (const chunk of chunks) {
      // Copy: the chunk's byte offset may not be 4-aligned, and the caller owns the result.
      const n = chunk.length >> 2;
      const samples = new Float32Array(n);
      new Uint8Array(samples.buffer).set(chunk.subarray(0, n * 4));
      // The limit holds on what really comes out, never on what a header claims.
      if (decoded + n > maxSamples) throw tooLong(label, (decoded + n) / AUDIO_SAMPLE_RATE, o.maxSeconds);
      check.push(samples, o.start + decoded / AUDIO_SAMPLE_RATE);
      decoded += n;
      report.decodedSeconds = decoded / AUDIO_SAMPLE_RATE;
      yield { sampleRate: AUDIO_SAMPLE_RATE, samples, offset: o.start + (decoded - n) / AUDIO_SAMPLE_RATE };
    }
  } catch (e) {
    if (isLikenessError(e) && e.details?.reason === 'no_stream') {
      throw new LikenessError('E_UNSUPPORTED', `${label} has no audio track`, { file: label, reason: 'no_audio' }, { cause: e });
    }
    throw e;
  }
  check.end();
  report.declaredSeconds = declared();
  concludeDecodeReport(report, watch, label, o.streamIndex === undefined ? 'the audio' : `audio stream ${o.streamIndex}`, file);
  if (decoded === 0) throw new LikenessError('E_DECODE', `${label}: the audio track holds no decodable samples`, { file: label, reason: 'empty_stream' });
  // Without tolerateDamage a cut-off file is an error: a silently shortened file would give results that look complete.
  if (!o.tolerateDamage && report.truncated) {
    throw new LikenessError('E_DECODE', `${label}: the file is truncated: ${report.warnings[0] ?? ''} (pass tolerateDamage to accept the part that decodes)`, {
      file: label,
      decodedSeconds: report.decodedSeconds,
      declaredSeconds: report.declaredSeconds,
      reason: 'truncated',
    });
  }
}
