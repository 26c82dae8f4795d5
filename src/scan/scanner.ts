import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { LikenessError, isLikenessError } from '../errors';
import type { FaceAnalyzer } from '../face/analyzer';
import { streamAudio, type AudioSignal } from '../media/audio';
import { probeMedia, type MediaInfo } from '../media/ffmpeg';
import { decodeImage } from '../media/image';
import { planVideoFrames, streamVideoFrames } from '../media/video';
import type { SearchRates } from '../match/calibration';
import type { Candidate } from '../match/decide';
import type { Registry } from '../match/registry';
import type { Box, Face, RgbImage } from '../types';
import { num } from '../validate';
import { BASELINE_NOTICE, type VoiceEmbedder } from '../voice/embed';
import { decisionRank, mergeSegments, verdicts } from './fuse';
import { detectMediaKind, type MediaKind } from '../media/kind';
import { type MatchSegment, type ScanFailure, type ScanMatch, type ScanResult, type ScanStats } from '../report/schema';
import { FaceTracker, cropAround, patchSignature, trackEmbedding, type FaceTrack } from './track';

/** What a scan needs from the facade: the registry to search, the face pipeline and the voice pipeline. */
export interface ScanEngines {
  readonly registry: Registry;
  readonly faces: FaceAnalyzer;
  voice(): Promise<VoiceEmbedder>;
}

/** Media to scan: a path, encoded bytes, or a stream of bytes (written to a temp file; containers need seeking). */
export type ScanInput = string | Buffer | Uint8Array | AsyncIterable<Uint8Array>;

/** Progress within one input. */
export interface ScanProgress {
  /** The input's path or label. */
  path: string;
  stage: 'probe' | 'image' | 'video' | 'audio' | 'identify' | 'done';
  /** Video frames analysed so far. */
  frames?: number;
  /** Media seconds processed so far in this stage. */
  seconds?: number;
  /** Media duration in seconds when known. */
  duration?: number;
}

/** Options of {@link scanFile}. */
export interface ScanOptions {
  /** Video frames sampled per second (default 2). */
  fps?: number;
  /** `interval` (default) samples every 1/fps s; `scene` samples at scene changes only (segments are then coarse). */
  frameMode?: 'interval' | 'scene';
  /** Per-search false-match rate for `match` (a number; `possible` is 10x) or both rates. */
  far?: number | Partial<SearchRates>;
  /** Stops the scan with E_ABORTED (thrown, not returned: the caller asked to stop). */
  signal?: AbortSignal;
  /** Called as work progresses (frames, seconds). */
  onProgress?: (p: ScanProgress) => void;
  /** Name to report for a Buffer or stream input (default `<buffer>` / `<stream>`). */
  label?: string;
  /** The input's sha256 when the caller already computed it. */
  sha256?: string;
  /** Frames wider than this are scaled down before face detection (default 1280). */
  maxWidth?: number;
  /** Scan faces (default true) and voices (default true). */
  faces?: boolean;
  voices?: boolean;
}

/** Codes after which no other input can be scanned either: these fail the whole run instead of one entry. */
const FATAL_CODES = new Set(['E_STORE', 'E_CRYPTO', 'E_ABORTED', 'E_MODEL']);

/** Largest side of the evidence crop (pixels). */
const EVIDENCE_SIZE = 160;
/** Closed tracks are identified in batches of this size (fewer, larger searches). */
const TRACK_BATCH = 16;
/** Decoded frames held ahead of the analysis (memory: this many frames of at most 1280 px width). */
const READ_AHEAD_FRAMES = 3;

/**
 * Pulls up to `n` items ahead of the consumer, so the producer (ffmpeg decoding on another core) works while the
 * consumer does. Memory holds at most `n` items more than the plain iterator.
 */
export async function* readAhead<T>(src: AsyncIterable<T>, n: number): AsyncGenerator<T, void, undefined> {
  const it = src[Symbol.asyncIterator]();
  const queue: Promise<IteratorResult<T>>[] = [];
  let finished = false;
  try {
    while (true) {
      while (!finished && queue.length < n) {
        const p = it.next();
        // Handled here so a prefetched failure is not "unhandled" when the consumer stops early; awaited below.
        p.then((r) => (finished ||= r.done === true), () => (finished = true));
        queue.push(p);
      }
      const r = await queue.shift()!;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

/** sha256 of a file, streamed (bounded memory). */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

/** Writes a Buffer or byte stream to a private temp file; returns its path, sha256 and a cleanup function. */
async function materialise(input: Buffer | Uint8Array | AsyncIterable<Uint8Array>): Promise<{ file: string; sha256: string; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-scan-'));
  const file = path.join(dir, 'input');
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const h = createHash('sha256');
    if (input instanceof Uint8Array) {
      h.update(input);
      fs.writeFileSync(file, input);
    } else {
      const out = fs.createWriteStream(file);
      for await (const chunk of input) {
        h.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    }
    return { file, sha256: h.digest('hex'), cleanup };
  } catch (e) {
    cleanup();
    throw isLikenessError(e) ? e : new LikenessError('E_DECODE', `cannot read the input stream: ${(e as Error).message}`);
  }
}

function rates(far: ScanOptions['far']): Partial<SearchRates> | undefined {
  if (far === undefined) return undefined;
  if (typeof far === 'number') {
    num('far', far, 1e-9, 0.5);
    return { match: far, possible: Math.min(0.5, far * 10) };
  }
  return far;
}

/** A face crop as a small JPEG data URL. */
async function jpegDataUrl(img: RgbImage): Promise<string> {
  const b = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize({ width: EVIDENCE_SIZE, height: EVIDENCE_SIZE, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 75 })
    .toBuffer();
  return `data:image/jpeg;base64,${b.toString('base64')}`;
}

/** The reportable top candidate (decision match/possible) of a search, or null. */
function topReportable(cands: readonly Candidate[]): Candidate | null {
  const c = cands[0];
  return c && c.decision !== 'none' ? c : null;
}

/** Per-performer accumulation of one modality's matches; only the best observation keeps its crop. */
class MatchBook {
  private readonly byPerformer = new Map<string, { c: Candidate; segments: MatchSegment[]; time: number; crop: RgbImage | null }>();

  constructor(
    private readonly modality: 'face' | 'voice',
    private readonly modelId: string,
  ) {}

  add(c: Candidate, segments: MatchSegment[], time: number, crop: RgbImage | null): void {
    if (c.decision === 'none') return;
    const cur = this.byPerformer.get(c.performerId);
    if (!cur) {
      this.byPerformer.set(c.performerId, { c, segments: [...segments], time, crop });
      return;
    }
    cur.segments.push(...segments);
    const better = decisionRank(c.decision) > decisionRank(cur.c.decision) || (c.decision === cur.c.decision && c.confidence > cur.c.confidence);
    if (better) Object.assign(cur, { c, time, crop });
  }

  /** Matches, best first, with segments merged (joined across gaps under `tolerance` s). */
  async matches(tolerance: number): Promise<ScanMatch[]> {
    const out: ScanMatch[] = [];
    for (const [performerId, m] of this.byPerformer) {
      out.push({
        performerId,
        name: m.c.name,
        modality: this.modality,
        score: round(m.c.score, 4),
        confidence: round(m.c.confidence, 4),
        decision: m.c.decision as ScanMatch['decision'],
        segments: mergeSegments(m.segments, tolerance).map(roundSegment),
        evidence: { time: round(m.time, 3), ...(m.crop ? { faceCrop: await jpegDataUrl(m.crop) } : {}) },
        modelId: this.modelId,
      });
    }
    return out.sort((a, b) => decisionRank(b.decision) - decisionRank(a.decision) || b.confidence - a.confidence);
  }
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function roundSegment(s: MatchSegment): MatchSegment {
  return { start: round(s.start, 3), end: round(s.end, 3), ...(s.box ? { box: roundBox(s.box) } : {}) };
}

function roundBox(b: Box): Box {
  return { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
}

/** State of one scan: engines, options, warnings and stage timings. */
class ScanJob {
  readonly warnings: string[] = [];
  readonly timings: Record<string, number> = {};
  readonly stats: ScanStats = {};
  readonly rates: Partial<SearchRates> | undefined;
  readonly fps: number;

  constructor(
    readonly engines: ScanEngines,
    readonly file: string,
    readonly label: string,
    readonly sha256: string,
    readonly opts: ScanOptions,
  ) {
    this.rates = rates(opts.far);
    this.fps = num('fps', opts.fps ?? 2, 0.01, 60);
  }

  async timed<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.timings[stage] = round((this.timings[stage] ?? 0) + performance.now() - t0, 1);
    }
  }

  progress(p: Omit<ScanProgress, 'path'>): void {
    this.opts.onProgress?.({ path: this.label, ...p });
  }

  aborted(): void {
    if (this.opts.signal?.aborted) throw new LikenessError('E_ABORTED', `scanning ${this.label} was aborted`, { file: this.label });
  }

  async identify(modelId: string, vectors: Float32Array[]): Promise<Candidate[][]> {
    if (vectors.length === 0) return [];
    return this.timed('identify', async () =>
      (await this.engines.registry.identify(modelId, vectors, { topK: 3, ...(this.rates ? { far: this.rates } : {}), auditContext: `scan ${this.sha256.slice(0, 16)}` })).map((r) => r.candidates),
    );
  }

  /** Model ids with templates in the gallery (a modality with none enrolled is not scanned at all). */
  async enrolledModels(): Promise<Set<string>> {
    return new Set((await this.engines.registry.store.models()).filter((m) => m.templates > 0).map((m) => m.modelId));
  }
}

/** Faces of a still image: every face identified on its own; segments are `{start: 0, end: 0, box}`. */
async function scanImage(job: ScanJob, book: MatchBook): Promise<{ width: number; height: number }> {
  job.progress({ stage: 'image' });
  const image = await job.timed('decode', () => decodeImage(job.file));
  const faces = await job.timed('faces', () => job.engines.faces.analyzeRgb(image));
  const found = await job.identify(job.engines.faces.modelId, faces.map((f) => f.embedding));
  faces.forEach((f: Face, i) => {
    const c = topReportable(found[i] ?? []);
    if (c) book.add(c, [{ start: 0, end: 0, box: f.detection.box }], 0, cropAround(image, f.detection.box, EVIDENCE_SIZE));
  });
  return { width: image.width, height: image.height };
}

/** Identifies closed tracks and files the reportable ones (the rest, with their crops, are dropped). */
async function fileTracks(job: ScanJob, book: MatchBook, tracks: FaceTrack[]): Promise<void> {
  if (tracks.length === 0) return;
  const found = await job.identify(job.engines.faces.modelId, tracks.map((t) => trackEmbedding(t.best)));
  tracks.forEach((t, i) => {
    const c = topReportable(found[i] ?? []);
    if (!c) return;
    const best = t.best[0]!;
    book.add(c, t.segments.map((s) => ({ ...s, box: best.box })), best.time, t.bestCrop);
  });
}

/**
 * Faces of a video: frames sampled from an ffmpeg pipe, faces tracked across frames, each closed track identified
 * from its best faces. Memory holds one frame and the open tracks.
 */
async function scanVideoFaces(job: ScanJob, book: MatchBook, info: MediaInfo): Promise<{ width: number; height: number; frames: number; faces: number; embedded: number; tracks: number }> {
  const plan = await planVideoFrames(job.file, { info, maxWidth: job.opts.maxWidth, signal: job.opts.signal });
  const tracker = new FaceTracker({ interval: 1 / job.fps });
  let pending: FaceTrack[] = [];
  let frames = 0;
  let faceCount = 0;
  let embedded = 0;
  let trackCount = 0;
  const t0 = performance.now();
  let analyseMs = 0;
  const stream = streamVideoFrames(job.file, { fps: job.fps, mode: job.opts.frameMode, signal: job.opts.signal, info, maxWidth: job.opts.maxWidth }, plan);
  // A few decoded frames wait in memory so ffmpeg decodes the next ones while this one is analysed.
  for await (const frame of readAhead(stream, READ_AHEAD_FRAMES)) {
    job.aborted();
    const a0 = performance.now();
    const faces = job.engines.faces;
    const detections = await faces.detect(frame.image);
    const signatures = detections.map((d) => patchSignature(frame.image, d.box));
    const follow = tracker.planFollows(frame.time, detections.map((d) => d.box), signatures);
    const fresh = detections.map((_, i) => i).filter((i) => !follow.has(i));
    const described = await faces.describe(frame.image, fresh.map((i) => detections[i]!));
    embedded += described.length;
    analyseMs += performance.now() - a0;
    const closed = tracker.push(frame.time, described, frame.image, {
      signatures: fresh.map((i) => signatures[i]!),
      follows: [...follow].map(([i, trackId]) => ({ trackId, box: detections[i]!.box, signature: signatures[i]! })),
    });
    pending.push(...closed);
    trackCount += closed.length;
    if (pending.length >= TRACK_BATCH) {
      await fileTracks(job, book, pending);
      pending = [];
    }
    frames++;
    faceCount += detections.length;
    job.progress({ stage: 'video', frames, seconds: frame.time, duration: Number.isFinite(plan.duration) ? plan.duration : undefined });
  }
  const last = tracker.finish();
  trackCount += last.length;
  await fileTracks(job, book, [...pending, ...last]);
  job.timings.faces = round(analyseMs, 1);
  job.timings.frames = round(performance.now() - t0 - analyseMs, 1);
  return { width: plan.width, height: plan.height, frames, faces: faceCount, embedded, tracks: trackCount };
}

/**
 * Voices of an audio file or a video's soundtrack: decoded in one-minute chunks (bounded memory), speech windows
 * embedded and identified, windows of one performer merged into time segments.
 */
async function scanVoices(job: ScanJob, book: MatchBook, voice: VoiceEmbedder, duration: number): Promise<void> {
  async function* chunks(): AsyncGenerator<AudioSignal> {
    for await (const c of streamAudio(job.file, { chunkSeconds: 60, signal: job.opts.signal })) {
      yield c;
      job.progress({ stage: 'audio', seconds: c.offset + c.samples.length / c.sampleRate, duration: Number.isFinite(duration) ? duration : undefined });
    }
  }
  const emb = await job.timed('voices', () => voice.embedStream(chunks()));
  Object.assign(job.stats, { speechSeconds: round(emb.speechSeconds, 2), voiceWindows: emb.windows.length });
  const found = await job.identify(voice.modelId, emb.windows.map((w) => w.embedding));
  emb.windows.forEach((w, i) => {
    const c = topReportable(found[i] ?? []);
    if (c) book.add(c, [{ start: w.start, end: w.end }], w.start, null);
  });
}

/** Decides whether voices are scanned: only when some voice templates of the current model are enrolled. */
async function voiceEngine(job: ScanJob, enrolled: Set<string>): Promise<VoiceEmbedder | null> {
  if (job.opts.voices === false) return null;
  const models = await job.engines.registry.store.models();
  if (!models.some((m) => m.modality === 'voice' && m.templates > 0)) {
    job.warnings.push('voices were not scanned: no performer has enrolled voice references');
    return null;
  }
  const voice = await job.engines.voice();
  if (!enrolled.has(voice.modelId)) {
    job.warnings.push(`voices were not scanned: no performer is enrolled with the voice model in use (${voice.modelId}); re-enroll voice references`);
    return null;
  }
  if (voice.isBaseline) job.warnings.push(BASELINE_NOTICE);
  return voice;
}

/** Scans a file already on disk. Throws LikenessError for inputs that cannot be scanned. */
async function scanPath(engines: ScanEngines, file: string, label: string, sha: string | undefined, opts: ScanOptions): Promise<ScanResult> {
  const t0 = performance.now();
  const scannedAt = new Date().toISOString();
  const bytes = fs.statSync(file).size;
  const sha256 = sha ?? (await sha256File(file));
  const job = new ScanJob(engines, file, label, sha256, opts);
  job.progress({ stage: 'probe' });
  const kind: MediaKind = await job.timed('probe', () => detectMediaKind(file));
  const info = kind === 'image' ? undefined : await job.timed('probe', () => probeMedia(file, { signal: opts.signal, label }));
  const galleryVersion = await engines.registry.store.changeCounter();
  const enrolled = await job.enrolledModels();
  const faceOn = opts.faces !== false && kind !== 'audio' && enrolled.has(engines.faces.modelId);
  if (opts.faces !== false && kind !== 'audio' && !faceOn) job.warnings.push(`faces were not scanned: no performer is enrolled with the face model in use (${engines.faces.modelId})`);
  const faceBook = new MatchBook('face', engines.faces.modelId);
  const media: ScanResult['media'] = { path: label, sha256, kind, bytes };
  if (kind === 'image') {
    if (faceOn) Object.assign(media, await scanImage(job, faceBook));
    else Object.assign(media, await imageSize(file));
  }
  let voiceBook: MatchBook | null = null;
  if (info) {
    if (Number.isFinite(info.duration)) media.duration = round(info.duration, 3);
    const hasAudio = info.streams.some((s) => s.type === 'audio');
    const voice = hasAudio ? await voiceEngine(job, enrolled) : null;
    if (voice) voiceBook = new MatchBook('voice', voice.modelId);
    // Frames and soundtrack run side by side: ONNX inference and ffmpeg decoding use other cores while JS waits.
    const work: Promise<unknown>[] = [];
    if (kind === 'video') {
      const v = info.streams.find((s) => s.type === 'video');
      if (v?.width && v.height) Object.assign(media, { width: v.width, height: v.height });
      if (faceOn) {
        work.push(
          scanVideoFaces(job, faceBook, info).then((r) => {
            Object.assign(job.stats, { sampledFrames: r.frames, facesSeen: r.faces, facesEmbedded: r.embedded, faceTracks: r.tracks });
          }),
        );
      }
    }
    if (voice && voiceBook) work.push(scanVoices(job, voiceBook, voice, info.duration));
    await settleAll(work);
  }
  const tolerance = 0.5 / job.fps + 1e-6;
  const matches = [...(await faceBook.matches(tolerance)), ...(voiceBook ? await voiceBook.matches(0) : [])];
  job.timings.total = round(performance.now() - t0, 1);
  job.progress({ stage: 'done' });
  return { media, matches, verdicts: verdicts(matches), timings: job.timings, warnings: job.warnings, stats: job.stats, galleryVersion, scannedAt };
}

/** Awaits every promise; when one fails, waits for the others to stop, then throws the first error. */
async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const r = await Promise.allSettled(work);
  const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
}

async function imageSize(file: string): Promise<{ width?: number; height?: number }> {
  try {
    const m = await sharp(file).metadata();
    return { width: m.width, height: m.height };
  } catch {
    throw new LikenessError('E_DECODE', `${file} is not a readable image`, { file });
  }
}

/**
 * Scans one input for enrolled performers: faces in images, faces over time in video (tracked across sampled
 * frames), voices in audio and soundtracks; returns matches with segments and evidence, fused per-performer verdicts,
 * timings and warnings. An input that cannot be scanned gives a {@link ScanFailure} entry; only failures that stop
 * every scan (store, key, models, abort) are thrown.
 */
export async function scanFile(engines: ScanEngines, input: ScanInput, opts: ScanOptions = {}): Promise<ScanResult | ScanFailure> {
  const label = typeof input === 'string' ? input : opts.label ?? (input instanceof Uint8Array ? '<buffer>' : '<stream>');
  let tmp: { file: string; sha256: string; cleanup: () => void } | undefined;
  try {
    if (opts.signal?.aborted) throw new LikenessError('E_ABORTED', `scanning ${label} was aborted before it started`);
    if (typeof input === 'string') {
      if (input.length === 0) throw new LikenessError('E_INPUT', 'the input path is empty');
      if (!fs.existsSync(input)) throw new LikenessError('E_NOT_FOUND', `file not found: ${input}`, { file: input });
      if (!fs.statSync(input).isFile()) throw new LikenessError('E_INPUT', `${input} is not a regular file`, { file: input });
      return await scanPath(engines, input, label, opts.sha256, opts);
    }
    tmp = await materialise(input);
    return await scanPath(engines, tmp.file, label, tmp.sha256, opts);
  } catch (e) {
    if (isLikenessError(e) && !FATAL_CODES.has(e.code)) return { media: { path: label }, error: { code: e.code, message: e.message.split(tmp?.file ?? '\0').join(label) } };
    if (!isLikenessError(e) && e instanceof Error && /Input (buffer|file) (contains unsupported image format|has corrupt header)|VipsJpeg|premature end/i.test(e.message)) {
      return { media: { path: label }, error: { code: 'E_DECODE', message: `${label} is not a readable image: ${e.message}` } };
    }
    throw e;
  } finally {
    tmp?.cleanup();
  }
}

/** Options of {@link scanMany}. */
export interface ScanManyOptions extends Omit<ScanOptions, 'onProgress' | 'label' | 'sha256'> {
  /** Inputs scanned at once (default 1; 2 suits a two-core machine when files are small). */
  concurrency?: number;
  /** Decides per input (by path and sha256) whether to skip it, e.g. already scanned against this gallery. */
  skip?: (input: { path: string; sha256: string }) => boolean | Promise<boolean>;
}

/** Events of {@link scanMany}: progress within an input, and each input's result as it completes. */
export type ScanEvent =
  | { type: 'progress'; index: number; progress: ScanProgress; done: number; total: number }
  | { type: 'result'; index: number; path: string; result: ScanResult | ScanFailure; done: number; total: number }
  | { type: 'skipped'; index: number; path: string; sha256: string; done: number; total: number };

/**
 * Scans many inputs with bounded concurrency, yielding progress and results as they happen (results in completion
 * order; `index` is the input's position). Failures of one input are result entries; fatal errors (store, key,
 * models, abort) end the iteration by throwing once the inputs in flight have stopped.
 */
export async function* scanMany(engines: ScanEngines, inputs: readonly ScanInput[], opts: ScanManyOptions = {}): AsyncGenerator<ScanEvent, void, undefined> {
  const concurrency = Math.round(num('concurrency', opts.concurrency ?? 1, 1, 64));
  const total = inputs.length;
  const queue: ScanEvent[] = [];
  let wake: (() => void) | null = null;
  const emit = (e: ScanEvent): void => {
    queue.push(e);
    wake?.();
  };
  let next = 0;
  let done = 0;
  let fatal: unknown;
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  if (opts.signal?.aborted) inner.abort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const scanOne = async (index: number): Promise<void> => {
    const input = inputs[index]!;
    const label = typeof input === 'string' ? input : `<input ${index}>`;
    let sha256: string | undefined;
    if (opts.skip && typeof input === 'string') {
      try {
        sha256 = await sha256File(input);
      } catch {
        sha256 = undefined; // unreadable: the scan reports why
      }
      if (sha256 && (await opts.skip({ path: input, sha256 }))) {
        emit({ type: 'skipped', index, path: input, sha256, done: ++done, total });
        return;
      }
    }
    const result = await scanFile(engines, input, {
      ...opts,
      signal: inner.signal,
      label,
      ...(sha256 ? { sha256 } : {}),
      onProgress: (progress) => emit({ type: 'progress', index, progress, done, total }),
    });
    emit({ type: 'result', index, path: label, result, done: ++done, total });
  };
  const worker = async (): Promise<void> => {
    while (next < total && fatal === undefined) {
      const i = next++;
      try {
        await scanOne(i);
      } catch (e) {
        fatal ??= e;
        inner.abort();
      }
    }
  };
  const workers = Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, total)) }, worker)).then(() => {
    finished = true;
    wake?.();
  });
  let finished = false;
  try {
    while (true) {
      while (queue.length > 0) yield queue.shift()!;
      if (finished) break;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
    await workers;
    if (fatal !== undefined) {
      if (opts.signal?.aborted && !(isLikenessError(fatal) && fatal.code !== 'E_ABORTED')) throw new LikenessError('E_ABORTED', 'the scan was aborted');
      throw fatal;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!finished) inner.abort();
  }
}
