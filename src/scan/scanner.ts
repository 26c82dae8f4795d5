import { LikenessError, internalError, isLikenessError } from '../errors';
import type { FaceAnalyzer } from '../face/analyzer';
import { streamAudio, type AudioSignal } from '../media/audio';
import { newDecodeReport, type DecodeReport, type MediaStreamInfo } from '../media/ffmpeg';
import { gateInput, sha256File, type GatedInput } from '../media/gate';
import { ANALYSIS_MAX_SIDE, decodeImageScaled, encodeJpeg } from '../media/image';
import { resolveLimits, type MediaLimits } from '../media/limits';
import { decodedRgb, planVideoFrames, streamDecodedFrames, type DecodedFrame } from '../media/video';
import { Y_TO_LUMA } from '../kernels/yuv';
import { DEFAULT_RATES, type SearchRates, type SearchThresholds } from '../match/calibration';
import { consentState, type Candidate } from '../match/decide';
import type { Registry } from '../match/registry';
import type { Box, Face, FaceDetection, RgbImage } from '../types';
import { faceQueryCanvas } from '../face/fingerprint';
import { audioFingerprint } from '../media/audio-fingerprint';
import type { FaceQueryFrame } from '../match/origin-index';
import type { MatchOrigin, ReferenceOrigins } from '../match/origins';
import { num, invalid, bool, fn, int, list, oneOf, options, str } from '../validate';
import { BASELINE_NOTICE, type VoiceEmbedder } from '../voice/embed';
import { TURN_DEFAULTS, speakerTurns } from '../voice/turns';
import { MAX_CLIP_SECONDS, encodeVoiceClip } from '../media/clip';
import { detectSpeech } from '../voice/vad';
import { decisionRank, mergeSegments, strongestOrigin, verdicts } from './fuse';
import { probeInput, type ProbedMedia } from '../media/kind';
import { type DecisionRule, type ReportPerformer, type MatchSegment, type ScanFailure, type ScanMatch, type ScanResult, type ScanStats } from '../report/schema';
import { FaceTracker, cropAround, faceSignature, trackEmbedding, type FaceTrack, type PrintThunk } from './track';

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
  /** Limits on each input (file size, pixels, frame bytes, duration, channels, sample rate). */
  limits?: Partial<MediaLimits>;
  /** Most video streams and most audio streams scanned per input (default 8 of each; the rest give a warning). */
  maxStreams?: number;
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
  return `data:image/jpeg;base64,${(await encodeJpeg(img, EVIDENCE_SIZE, 75)).toString('base64')}`;
}

/** The reportable top candidate (decision match/possible) of a search, or null. */
function topReportable(cands: readonly Candidate[]): Candidate | null {
  const c = cands[0];
  return c && c.decision !== 'none' ? c : null;
}

/** The first and last crops of a face track (the best one is the book's own). */
interface TrackCrops {
  first: { time: number; image: RgbImage } | null;
  last: { time: number; image: RgbImage } | null;
}

/** first / best / last crops as data URLs, in time order, each observation once. */
async function trackCrops(x: TrackCrops, bestTime: number, best: RgbImage): Promise<{ role: 'first' | 'best' | 'last'; time: number; crop: string }[]> {
  const all: { role: 'first' | 'best' | 'last'; time: number; image: RgbImage }[] = [];
  if (x.first && x.first.time < bestTime) all.push({ role: 'first', ...x.first });
  all.push({ role: 'best', time: bestTime, image: best });
  if (x.last && x.last.time > bestTime) all.push({ role: 'last', ...x.last });
  const out: { role: 'first' | 'best' | 'last'; time: number; crop: string }[] = [];
  for (const a of all) out.push({ role: a.role, time: round(a.time, 3), crop: await jpegDataUrl(a.image) });
  return out;
}

/** Per-performer accumulation of one modality's matches; only the best observation keeps its crop. */
class MatchBook {
  private readonly byPerformer = new Map<string, { c: Candidate; segments: MatchSegment[]; time: number; crop: RgbImage | null; extra: TrackCrops | null }>();

  constructor(
    private readonly modality: 'face' | 'voice',
    private readonly modelId: string,
  ) {}

  add(c: Candidate, segments: MatchSegment[], time: number, crop: RgbImage | null, extra: TrackCrops | null = null): void {
    if (c.decision === 'none') return;
    const cur = this.byPerformer.get(c.performerId);
    if (!cur) {
      this.byPerformer.set(c.performerId, { c, segments: [...segments], time, crop, extra });
      return;
    }
    cur.segments.push(...segments);
    const better = decisionRank(c.decision) > decisionRank(cur.c.decision) || (c.decision === cur.c.decision && c.confidence > cur.c.confidence);
    if (better) Object.assign(cur, { c, time, crop, extra });
  }

  /** Matches, best first, with segments merged (joined across gaps under `tolerance` s). */
  async matches(tolerance: number): Promise<ScanMatch[]> {
    const out: ScanMatch[] = [];
    for (const [performerId, m] of this.byPerformer) {
      const segments = mergeSegments(m.segments, tolerance).map(roundSegment);
      const origin = strongestOrigin(segments);
      out.push({
        performerId,
        name: m.c.name,
        modality: this.modality,
        score: round(m.c.score, 4),
        confidence: round(m.c.confidence, 4),
        decision: m.c.decision as ScanMatch['decision'],
        segments,
        evidence: { time: round(m.time, 3), ...(m.crop ? { faceCrop: await jpegDataUrl(m.crop) } : {}), ...(m.crop && m.extra ? { faceCrops: await trackCrops(m.extra, m.time, m.crop) } : {}) },
        modelId: this.modelId,
        ...(origin ? { origin } : {}),
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
  return { start: round(s.start, 3), end: round(s.end, 3), ...(s.box ? { box: roundBox(s.box) } : {}), ...(s.origin ? { origin: roundOrigin(s.origin) } : {}) };
}

function roundOrigin(o: MatchOrigin): MatchOrigin {
  return o.kind === 'reference-reuse' ? { ...o, referenceOffset: round(o.referenceOffset, 3), similarity: round(o.similarity, 4) } : o;
}

function roundBox(b: Box): Box {
  return { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
}

/** State of one scan: engines, options, warnings and stage timings. */
class ScanJob {
  readonly warnings: string[] = [];
  /** What each decoded stream gave (durations, truncation). */
  readonly reports: DecodeReport[] = [];
  readonly streams: NonNullable<ScanResult['media']['streams']> = [];
  readonly timings: Record<string, number> = {};
  readonly stats: ScanStats = {};
  readonly rates: Partial<SearchRates> | undefined;
  /** The audio stream voice clips are cut from: the first one scanned for voices (index undefined: a plain WAV). */
  clipStream: { index: number | undefined } | null = null;
  /**
   * Every stored reference fingerprint (set at the scan's start): each match's segments are looked up in it to tell
   * a reused reference from new media. Null when faces and voices are both off.
   */
  origins: ReferenceOrigins | null = null;
  /** Thresholds of the first search per model id (one scan decides each model's searches alike). */
  private readonly rules = new Map<string, SearchThresholds>();
  readonly fps: number;

  constructor(
    readonly engines: ScanEngines,
    readonly file: string,
    readonly label: string,
    readonly sha256: string,
    readonly opts: ScanOptions,
    readonly limits: MediaLimits,
    readonly probed: ProbedMedia,
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
      (await this.engines.registry.identify(modelId, vectors, { topK: 3, ...(this.rates ? { far: this.rates } : {}), auditContext: `scan ${this.sha256.slice(0, 16)}` })).map((r) => {
        if (r.thresholds && !this.rules.has(modelId)) this.rules.set(modelId, r.thresholds);
        if (r.degenerate) this.degenerate.set(modelId, (this.degenerate.get(modelId) ?? 0) + 1);
        return r.candidates;
      }),
    );
  }

  /** Queries per model that were degenerate (junk: blank, flat, tone, noise) and so not searched. */
  readonly degenerate = new Map<string, number>();

  /** The decision rules of the searches made, one per model. */
  decisionRules(modalityOf: (modelId: string) => 'face' | 'voice'): DecisionRule[] {
    return [...this.rules].map(([modelId, t]) => ({
      modality: modalityOf(modelId),
      modelId,
      falseMatchRate: { match: this.rates?.match ?? DEFAULT_RATES.match, possible: this.rates?.possible ?? DEFAULT_RATES.possible },
      thresholds: { match: round(t.match, 4), possible: round(t.possible, 4) },
      comparisons: t.comparisons,
    }));
  }

  /**
   * Takers of the query canvases of detected faces in one frame (a track calls one when it wants a print: see
   * PRINT_INTERVAL_SECONDS), or null when no stored reference has a visual fingerprint (then every face origin is
   * `unknown` and hashing would be wasted).
   */
  hashFaces(image: RgbImage, detections: readonly FaceDetection[]): PrintThunk[] | null {
    if (!this.origins?.hasVisual || detections.length === 0) return null;
    return detections.map((d) => () => {
      const t0 = performance.now();
      const h = faceQueryCanvas(image, d);
      this.timings.fingerprints = round((this.timings.fingerprints ?? 0) + performance.now() - t0, 1);
      return h;
    });
  }

  /** The origin of a face matched to `performerId`, from its frames' hashes (taken only when there is an index). */
  faceOrigin(performerId: string, frames: () => FaceQueryFrame[]): MatchOrigin {
    if (!this.origins?.hasVisual) return this.origins?.face(performerId, []) ?? { kind: 'unknown' };
    const t0 = performance.now();
    try {
      return this.origins.face(performerId, frames());
    } finally {
      this.timings.fingerprints = round((this.timings.fingerprints ?? 0) + performance.now() - t0, 1);
    }
  }

  /** The origin of a voice turn matched to `performerId`: the fingerprint of the turn's audio, looked up. */
  async voiceOrigin(performerId: string, chunk: AudioSignal, start: number, end: number): Promise<MatchOrigin> {
    if (!this.origins?.hasAudio) return { kind: 'unknown' };
    const t0 = performance.now();
    try {
      const sr = chunk.sampleRate;
      const a = Math.max(0, Math.round((start - chunk.offset) * sr));
      const b = Math.min(chunk.samples.length, Math.round((end - chunk.offset) * sr));
      if (b - a < sr / 2) return { kind: 'unknown' };
      const fp = await audioFingerprint({ sampleRate: chunk.sampleRate, samples: chunk.samples.subarray(a, b), offset: start });
      return this.origins.voice(performerId, fp);
    } finally {
      this.timings.fingerprints = round((this.timings.fingerprints ?? 0) + performance.now() - t0, 1);
    }
  }

  /** Model ids with templates in the gallery (a modality with none enrolled is not scanned at all). */
  async enrolledModels(): Promise<Set<string>> {
    return new Set((await this.engines.registry.models()).filter((m) => m.templates > 0).map((m) => m.modelId));
  }
}

/** Faces of a still image: every face identified on its own; segments are `{start: 0, end: 0, box}`. */
async function scanImage(job: ScanJob, book: MatchBook): Promise<{ width: number; height: number }> {
  job.progress({ stage: 'image' });
  // Large images are decoded downscaled (shrink-on-load); boxes are reported in the source image's pixels.
  const { image, sourceWidth, sourceHeight } = await job.timed('decode', () => decodeImageScaled(job.file, { maxPixels: job.limits.maxPixels, maxSide: ANALYSIS_MAX_SIDE }));
  const k = sourceWidth / image.width;
  const faces = await job.timed('faces', () => job.engines.faces.analyzeRgb(image));
  const found = await job.identify(job.engines.faces.modelId, faces.map((f) => f.embedding));
  faces.forEach((f: Face, i) => {
    const c = topReportable(found[i] ?? []);
    const b = f.detection.box;
    if (!c) return;
    const origin = job.faceOrigin(c.performerId, () => [{ time: 0, canvas: faceQueryCanvas(image, f.detection) }]);
    book.add(c, [{ start: 0, end: 0, box: k === 1 ? b : { x: b.x * k, y: b.y * k, w: b.w * k, h: b.h * k }, origin }], 0, cropAround(image, b, EVIDENCE_SIZE));
  });
  return { width: sourceWidth, height: sourceHeight };
}

/** Identifies closed tracks and files the reportable ones (the rest, with their crops, are dropped). */
async function fileTracks(job: ScanJob, book: MatchBook, tracks: FaceTrack[]): Promise<void> {
  if (tracks.length === 0) return;
  const found = await job.identify(job.engines.faces.modelId, tracks.map((t) => trackEmbedding(t.best)));
  tracks.forEach((t, i) => {
    const c = topReportable(found[i] ?? []);
    if (!c) return;
    const best = t.best[0]!;
    // Each on-screen span is looked up on its own: one track may show a reused clip, then new footage.
    const segments = t.segments.map((s) => ({ ...s, box: best.box, origin: job.faceOrigin(c.performerId, () => t.prints.filter((p) => p.time >= s.start - 1e-6 && p.time < s.end - 1e-6)) }));
    book.add(c, segments, best.time, t.bestCrop, { first: t.firstCrop, last: t.lastCrop });
  });
}

/**
 * Longest run of sampled frames skipped as unchanged (seconds of media). Detection runs at least this often on a
 * picture that does not change, so a face fading in slower than the unchanged test notices is still seen within it.
 */
export const MAX_UNCHANGED_SECONDS = 60;

/** A frame whose luma spans at most this many levels (0..255) is flat: black, a fade, a test card's plain colour. */
const FLAT_LUMA_RANGE = 4;

/** Mean luma difference (0..255, on the grid of {@link lumaGrid}) below which two frames are the same picture. */
const UNCHANGED_LUMA_DIFF = 1.5;

/** Luma samples of a frame on a grid of about 64 x 64 points, with the frame's size (what the skip tests compare). */
export interface LumaGrid {
  width: number;
  height: number;
  luma: Uint8Array;
}

/**
 * The luma (0..255) of a frame on a grid of about 64 x 64 points: from RGB as (77 R + 150 G + 29 B) >> 8, from an
 * I420 frame's Y plane directly (the grey level its RGB conversion gives), so the skip tests never need the RGB.
 */
export function lumaGrid(frame: RgbImage | DecodedFrame): LumaGrid {
  const w = frame.width, h = frame.height;
  const sx = Math.max(1, Math.floor(w / 64));
  const sy = Math.max(1, Math.floor(h / 64));
  const luma = new Uint8Array(Math.ceil(w / sx) * Math.ceil(h / sy));
  const yuv = 'i420' in frame ? frame.i420 : null;
  let n = 0;
  if (yuv) {
    const d = yuv.data;
    for (let y = 0; y < h; y += sy) for (let p = y * w, end = p + w; p < end; p += sx) luma[n++] = Y_TO_LUMA[d[p]!]!;
  } else {
    const d = 'data' in frame ? frame.data : frame.rgb!.data;
    for (let y = 0; y < h; y += sy) {
      for (let p = y * w * 3, end = p + w * 3, step = sx * 3; p < end; p += step) luma[n++] = (d[p]! * 77 + d[p + 1]! * 150 + d[p + 2]! * 29) >> 8;
    }
  }
  return { width: w, height: h, luma };
}

/** True when the grid's luma varies by at most FLAT_LUMA_RANGE: no face can be in the frame. */
function flatGrid(g: LumaGrid): boolean {
  let lo = 255, hi = 0;
  for (const v of g.luma) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (hi - lo > FLAT_LUMA_RANGE) return false;
  }
  return true;
}

/** True when two grids show the same picture (same size, mean luma difference below UNCHANGED_LUMA_DIFF). */
function sameGrid(a: LumaGrid, b: LumaGrid): boolean {
  if (a.width !== b.width || a.height !== b.height) return false;
  let diff = 0;
  for (let i = 0; i < a.luma.length; i++) diff += Math.abs(a.luma[i]! - b.luma[i]!);
  return diff / a.luma.length < UNCHANGED_LUMA_DIFF;
}

/**
 * True when no face can be in the frame: its luma (sampled on a grid of about 64 x 64 points) varies by at most
 * FLAT_LUMA_RANGE. Blank video is most of what a long recording holds, and the detectors' retries make a frame
 * with nothing in it their most expensive one.
 */
export function isFlatFrame(img: RgbImage): boolean {
  return flatGrid(lumaGrid(img));
}

/** True when `b` shows the same picture as `a` (same size, mean luma difference on a 64 x 64 grid below 1.5 levels). */
export function sameFrame(a: RgbImage, b: RgbImage): boolean {
  return sameGrid(lumaGrid(a), lumaGrid(b));
}

/** What one video stream's face scan did. */
interface VideoFaceStats {
  frames: number;
  faces: number;
  embedded: number;
  tracks: number;
  /** Sampled instants not analysed: the same picture as the last analysed one while nobody was on screen. */
  unchanged: number;
  /** Frames with no detection run: flat (no face can be in them). */
  flat: number;
}

/**
 * Faces of one video stream: frames sampled from an ffmpeg pipe, faces tracked across frames, each closed track
 * identified from its best faces. Memory holds a few frames and the open tracks. A frame that looks the same as the
 * last one where detection found no face (blank, static) is not detected again, for up to MAX_SKIP_SECONDS: an hour
 * of black costs little more than decoding it.
 */
async function scanVideoFaces(job: ScanJob, book: MatchBook, stream: MediaStreamInfo, report: DecodeReport): Promise<VideoFaceStats> {
  const plan = await planVideoFrames(job.file, { info: job.probed.info, maxWidth: job.opts.maxWidth, signal: job.opts.signal, streamIndex: stream.index, limits: job.limits });
  const tracker = new FaceTracker({ interval: 1 / job.fps });
  let pending: FaceTrack[] = [];
  const st: VideoFaceStats = { frames: 0, faces: 0, embedded: 0, tracks: 0, unchanged: 0, flat: 0 };
  const t0 = performance.now();
  let analyseMs = 0;
  const interval = 1 / job.fps;
  const scene = job.opts.frameMode === 'scene';
  const frames = streamDecodedFrames(
    job.file,
    { fps: job.fps, mode: job.opts.frameMode, signal: job.opts.signal, info: job.probed.info, maxWidth: job.opts.maxWidth, limits: job.limits, report },
    plan,
  );
  /** One sampled instant through detection, tracking and (for faces the tracker cannot follow) embedding. */
  const analyse = async (frame: DecodedFrame, grid: LumaGrid, time: number): Promise<void> => {
    const a0 = performance.now();
    st.frames++;
    const faces = job.engines.faces;
    const flat = flatGrid(grid);
    if (flat) st.flat++;
    const image = await decodedRgb(frame);
    const detections = flat ? [] : await faces.detect(image);
    const signatures = detections.map((d) => faceSignature(image, d.landmarks));
    const follow = tracker.planFollows(time, detections.map((d) => d.box), signatures);
    const fresh = detections.map((_, i) => i).filter((i) => !follow.has(i));
    const described = await faces.describe(image, fresh.map((i) => detections[i]!));
    st.embedded += described.length;
    analyseMs += performance.now() - a0;
    // Perceptual hashes of every face (cheap next to detection), kept on its track for the origin lookup.
    const prints = job.hashFaces(image, detections);
    const closed = tracker.push(time, described, image, {
      signatures: fresh.map((i) => signatures[i]!),
      follows: [...follow].map(([i, trackId]) => ({ trackId, box: detections[i]!.box, signature: signatures[i]!, ...(prints ? { print: prints[i]! } : {}) })),
      ...(prints ? { prints: fresh.map((i) => prints[i]!) } : {}),
    });
    pending.push(...closed);
    st.tracks += closed.length;
    if (pending.length >= TRACK_BATCH) {
      await fileTracks(job, book, pending);
      pending = [];
    }
    st.faces += detections.length;
  };
  // A sampled frame that looks like the last analysed one, with nobody on screen, is not analysed again (blank or
  // static video is most of a long recording). While a face is on screen every frame is analysed: near-identical
  // frames still differ in compression noise, and a borderline face found in one of them must not be lost.
  // The tests read the luma grid only: a skipped frame is never converted to RGB.
  let lastAnalysed: { grid: LumaGrid; time: number } | null = null;
  // A few decoded frames wait in memory so ffmpeg decodes the next ones while this one is analysed.
  for await (const frame of readAhead(frames, READ_AHEAD_FRAMES)) {
    job.aborted();
    const grid = lumaGrid(frame);
    const skip = lastAnalysed !== null && !scene && !tracker.hasOpenTracks() && frame.time - lastAnalysed.time < MAX_UNCHANGED_SECONDS && sameGrid(lastAnalysed.grid, grid);
    if (skip) st.unchanged++;
    else {
      await analyse(frame, grid, frame.time);
      lastAnalysed = { grid, time: frame.time };
    }
    job.progress({ stage: 'video', frames: st.frames + st.unchanged, seconds: frame.time, duration: Number.isFinite(plan.duration) ? plan.duration : undefined });
  }
  const last = tracker.finish();
  st.tracks += last.length;
  await fileTracks(job, book, [...pending, ...last]);
  job.timings.faces = round((job.timings.faces ?? 0) + analyseMs, 1);
  job.timings.frames = round((job.timings.frames ?? 0) + performance.now() - t0 - analyseMs, 1);
  return st;
}

/**
 * Turns of one performer this close are one segment: the speech either side of a detected change (TURN_DEFAULTS
 * marginSeconds) is left out of both turns, so a change found inside one speaker's turn leaves a gap of twice that.
 */
const VOICE_JOIN_SECONDS = 2 * TURN_DEFAULTS.marginSeconds + 0.05;

/** Speaker turns with less speech than this are not scored (too little for a reliable embedding). */
const MIN_TURN_SPEECH_SECONDS = 0.5;

/**
 * Voices of one audio stream: decoded in one-minute chunks (bounded memory), the speech of each chunk split at
 * changes of speaker ({@link speakerTurns}) and each turn embedded and identified on its own, so a match segment is one
 * speaker's turn and never spans two speakers. Damaged or cut-off audio is decoded as far as it goes (the report says
 * what was skipped).
 */
async function scanVoices(job: ScanJob, book: MatchBook, voice: VoiceEmbedder, stream: MediaStreamInfo, report: DecodeReport): Promise<void> {
  const duration = stream.duration ?? job.probed.info?.duration ?? NaN;
  // A plain WAV is read by the fast path, which has one stream and no ffmpeg stream index.
  const streamIndex = job.probed.info?.format === 'wav' ? undefined : stream.index;
  if (!job.clipStream) job.clipStream = { index: streamIndex };
  const chunks = streamAudio(job.file, { chunkSeconds: 60, signal: job.opts.signal, limits: job.limits, tolerateDamage: true, report, streamIndex });
  for await (const chunk of chunks) {
    job.progress({ stage: 'audio', seconds: chunk.offset + chunk.samples.length / chunk.sampleRate, duration: Number.isFinite(duration) ? duration : undefined });
    const turns = await job.timed('voices', async () => {
      const speech = await detectSpeech(chunk);
      job.stats.speechSeconds = round((job.stats.speechSeconds ?? 0) + speech.reduce((t, g) => t + g.end - g.start, 0), 2);
      const out: { start: number; end: number; embedding: Float32Array }[] = [];
      for (const t of await speakerTurns(voice, chunk, speech)) {
        if (t.speechSeconds < MIN_TURN_SPEECH_SECONDS) continue;
        const e = await voice.embed(chunk, t.speech);
        job.stats.voiceWindows = (job.stats.voiceWindows ?? 0) + e.windows.length;
        if (e.embedding) out.push({ start: t.start, end: t.end, embedding: e.embedding });
      }
      return out;
    });
    job.stats.voiceTurns = (job.stats.voiceTurns ?? 0) + turns.length;
    const found = await job.identify(voice.modelId, turns.map((t) => t.embedding));
    for (const [i, t] of turns.entries()) {
      const c = topReportable(found[i] ?? []);
      if (c) book.add(c, [{ start: t.start, end: t.end, origin: await job.voiceOrigin(c.performerId, chunk, t.start, t.end) }], t.start, null);
    }
  }
}

/**
 * Evidence to listen to: for each voice match, an Ogg Opus clip (about 32 kb/s) of the speech from the best turn's
 * start, at most {@link MAX_CLIP_SECONDS} s and never past the end of its segment. A clip that cannot be cut is left
 * out with a warning; the match stands.
 */
async function addVoiceClips(job: ScanJob, matches: ScanMatch[]): Promise<void> {
  for (const m of matches) {
    const seg = m.segments.find((s) => s.start <= m.evidence.time + 1e-6 && m.evidence.time <= s.end + 1e-6) ?? m.segments[0];
    if (!seg) continue;
    const start = Math.max(seg.start, m.evidence.time);
    const seconds = Math.min(MAX_CLIP_SECONDS, seg.end - start);
    if (seconds < 0.05) continue;
    try {
      const ogg = await job.timed('clips', () => encodeVoiceClip(job.file, start, seconds, { ...(job.clipStream?.index !== undefined ? { streamIndex: job.clipStream.index } : {}), ...(job.opts.signal ? { signal: job.opts.signal } : {}) }));
      if (ogg.length > 0) m.evidence.voiceClip = `data:audio/ogg;base64,${ogg.toString('base64')}`;
    } catch (e) {
      if (e instanceof LikenessError && e.code === 'E_ABORTED') throw e;
      job.warnings.push(`no voice clip for ${m.name}: ${(e as Error).message}`);
    }
  }
}

/** The consent record of each matched performer, as it stands now (a performer deleted meanwhile is left out). */
async function consentRecords(engines: ScanEngines, matches: readonly ScanMatch[]): Promise<ReportPerformer[]> {
  const out: ReportPerformer[] = [];
  const now = new Date();
  for (const id of new Set(matches.map((m) => m.performerId))) {
    const p = await engines.registry.getPerformer(id).catch(() => null);
    if (!p) continue;
    const c = p.consent;
    out.push({ performerId: id, name: p.name, consent: { status: consentState(p, now), ...(c ? { ...c } : {}) } });
  }
  return out;
}

/** Decides whether voices are scanned: only when some voice templates of the current model are enrolled. */
async function voiceEngine(job: ScanJob, enrolled: Set<string>): Promise<VoiceEmbedder | null> {
  if (job.opts.voices === false) return null;
  const models = await job.engines.registry.models();
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

/**
 * Errors that stop the whole scan (store, key, a model that cannot load, abort). A model failing on one input
 * (`details.reason: 'inference'`) fails only that input.
 */
function isFatal(e: unknown): boolean {
  return isLikenessError(e) && FATAL_CODES.has(e.code) && e.details?.reason !== 'inference';
}

/**
 * Runs the work for each stream on its own: a stream that fails becomes a warning and an `error` on its entry in
 * `media.streams`, and the other streams' results stand. Throws only a fatal error.
 */
async function eachStream(job: ScanJob, streams: MediaStreamInfo[], run: (s: MediaStreamInfo, r: DecodeReport) => Promise<void>): Promise<{ ok: number; errors: LikenessError[] }> {
  let ok = 0;
  const errors: LikenessError[] = [];
  for (const s of streams) {
    const report = newDecodeReport();
    const entry: ScanStream = { index: s.index, type: s.type, codec: s.codec };
    job.streams.push(entry);
    try {
      await run(s, report);
      ok++;
    } catch (e) {
      if (isFatal(e)) throw e;
      const err = internalError(e, `${job.label} (${s.type} stream ${s.index})`);
      errors.push(err);
      entry.error = { code: err.code, message: err.message };
      job.warnings.push(`${s.type} stream ${s.index} could not be scanned (${err.code}): ${err.message}`);
    }
    entry.decodedSeconds = round(report.decodedSeconds, 3);
    job.reports.push(report);
    for (const w of report.warnings) job.warnings.push(w);
  }
  return { ok, errors };
}

type ScanStream = NonNullable<ScanResult['media']['streams']>[number];

/** Scans a file already through the gate. Throws LikenessError for inputs that cannot be scanned. */
async function scanPath(engines: ScanEngines, gated: GatedInput, sha: string | undefined, opts: ScanOptions): Promise<ScanResult> {
  const t0 = performance.now();
  const scannedAt = new Date().toISOString();
  const { file, label } = gated;
  const limits = resolveLimits(opts.limits);
  const sha256 = sha ?? gated.sha256 ?? (await sha256File(file, { signal: opts.signal }));
  const p0 = performance.now();
  const probed = await probeInput(file, { signal: opts.signal, limits, label });
  const job = new ScanJob(engines, file, label, sha256, opts, limits, probed);
  job.timings.probe = round(performance.now() - p0, 1);
  const kind = probed.kind;
  job.progress({ stage: 'probe' });
  const galleryVersion = await engines.registry.version();
  const enrolled = await job.enrolledModels();
  if (opts.faces !== false || opts.voices !== false) job.origins = await job.timed('fingerprints', () => engines.registry.origins());
  const faceOn = opts.faces !== false && kind !== 'audio' && enrolled.has(engines.faces.modelId);
  if (opts.faces !== false && kind !== 'audio' && !faceOn) job.warnings.push(`faces were not scanned: no performer is enrolled with the face model in use (${engines.faces.modelId})`);
  const faceBook = new MatchBook('face', engines.faces.modelId);
  const media: ScanResult['media'] = { path: label, sha256, kind, bytes: gated.bytes };
  let voiceBook: MatchBook | null = null;
  if (kind === 'image') {
    if (faceOn) Object.assign(media, await scanImage(job, faceBook));
    else Object.assign(media, { width: probed.image!.displayWidth, height: probed.image!.displayHeight });
  } else {
    for (const s of probed.skipped) job.warnings.push(`${s.stream.type} stream ${s.stream.index} was not scanned: ${s.reason}`);
    const maxStreams = Math.round(num('maxStreams', opts.maxStreams ?? 8, 1, 1024));
    const pick = (list: MediaStreamInfo[], type: string): MediaStreamInfo[] => {
      if (list.length > maxStreams) job.warnings.push(`${list.length - maxStreams} ${type} stream(s) beyond the first ${maxStreams} were not scanned; raise maxStreams`);
      return list.slice(0, maxStreams);
    };
    const videoStreams = pick(probed.videoStreams, 'video');
    const audioStreams = pick(probed.audioStreams, 'audio');
    const voice = audioStreams.length > 0 ? await voiceEngine(job, enrolled) : null;
    if (voice) voiceBook = new MatchBook('voice', voice.modelId);
    const v = videoStreams[0];
    if (v?.width && v.height) Object.assign(media, { width: v.width, height: v.height });
    // Frames and soundtrack run side by side: ONNX inference and ffmpeg decoding use other cores while JS waits.
    const work: Promise<{ ok: number; errors: LikenessError[] }>[] = [];
    if (faceOn && videoStreams.length > 0) {
      work.push(
        eachStream(job, videoStreams, async (s, r) => {
          const x = await scanVideoFaces(job, faceBook, s, r);
          const st = job.stats;
          st.sampledFrames = (st.sampledFrames ?? 0) + x.frames + x.unchanged;
          st.facesSeen = (st.facesSeen ?? 0) + x.faces;
          st.facesEmbedded = (st.facesEmbedded ?? 0) + x.embedded;
          st.faceTracks = (st.faceTracks ?? 0) + x.tracks;
          st.framesUnchanged = (st.framesUnchanged ?? 0) + x.unchanged;
          st.framesFlat = (st.framesFlat ?? 0) + x.flat;
        }),
      );
    }
    if (voice && voiceBook) {
      const book = voiceBook;
      work.push(eachStream(job, audioStreams, (s, r) => scanVoices(job, book, voice, s, r)));
    }
    const outcomes = await settleAll(work);
    const ok = outcomes.reduce((n, o) => n + o.ok, 0);
    const errors = outcomes.flatMap((o) => o.errors);
    // Only when every stream failed is the input a failure (then nothing was scanned at all).
    if (ok === 0 && errors.length > 0) throw errors[0];
    concludeDuration(media, job);
  }
  if (job.streams.length > 0) media.streams = job.streams;
  const tolerance = 0.5 / job.fps + 1e-6;
  const voiceMatches = voiceBook ? await voiceBook.matches(VOICE_JOIN_SECONDS) : [];
  await addVoiceClips(job, voiceMatches);
  const matches = [...(await faceBook.matches(tolerance)), ...voiceMatches];
  job.timings.total = round(performance.now() - t0, 1);
  job.progress({ stage: 'done' });
  const decisionRules = job.decisionRules((id) => (id === engines.faces.modelId ? 'face' : 'voice'));
  for (const [id, n] of job.degenerate) {
    job.warnings.push(`${n} ${id === engines.faces.modelId ? 'face embedding(s)' : 'voice segment(s)'} looked like junk (what ${id} makes of blank, flat, tone or noise input) and were not searched`);
  }
  const performers = await consentRecords(engines, matches);
  return {
    media, matches, verdicts: verdicts(matches), timings: job.timings, warnings: job.warnings, stats: job.stats, galleryVersion, scannedAt,
    ...(decisionRules.length ? { decisionRules } : {}),
    ...(performers.length ? { performers } : {}),
  };
}

/**
 * The media's duration from what decoded (the longest scanned stream); the header's value only when nothing was
 * decoded to measure (faces and voices both off), and as `declaredDuration` when it disagrees.
 */
function concludeDuration(media: ScanResult['media'], job: ScanJob): void {
  const declared = job.probed.info?.duration ?? NaN;
  const decoded = job.reports.reduce((m, r) => Math.max(m, r.decodedSeconds), 0);
  if (decoded > 0) {
    // A header that agrees with what decoded (within a sampling interval or codec padding) gives the exact value;
    // one that does not is only reported beside it.
    const agrees = Number.isFinite(declared) && Math.abs(declared - decoded) <= Math.max(0.5, 1 / job.fps);
    media.duration = round(agrees ? declared : decoded, 3);
    if (Number.isFinite(declared) && !agrees) {
      media.declaredDuration = round(declared, 3);
      // The container's own duration (an MP4 mvhd, a Matroska Segment Duration) can lie while every stream header
      // tells the truth; say so unless a stream's report already did, or a stream not scanned explains it.
      const tol = Math.max(0.5, 1 / job.fps);
      const explained = (job.probed.info?.streams ?? []).some((x) => x.duration !== undefined && Math.abs(declared - x.duration) <= tol);
      const said = job.reports.some((r) => r.truncated || r.warnings.some((w) => w.includes(' declares ')));
      if (!said && !explained) {
        job.warnings.push(`the container header declares ${declared.toFixed(1)} s but ${decoded.toFixed(1)} s decode (a header that lies, or a cut-off file); scanned what decodes`);
      }
    }
  } else if (Number.isFinite(declared) && job.reports.length === 0) media.duration = round(declared, 3);
  if (job.reports.some((r) => r.truncated)) media.truncated = true;
}

/** Awaits every promise; when one fails, waits for the others to stop, then throws the first error. */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const r = await Promise.allSettled(work);
  const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
  return r.map((x) => (x as PromiseFulfilledResult<T>).value);
}

/**
 * Scans one input for enrolled performers: faces in images, faces over time in video (tracked across sampled
 * frames), voices in audio and soundtracks; returns matches with segments and evidence, fused per-performer verdicts,
 * timings and warnings. An input that cannot be scanned gives a {@link ScanFailure} entry; only failures that stop
 * every scan (store, key, models, abort) are thrown.
 */
/** Checks a scan input's type (E_INPUT): a path, bytes, or an async iterable of byte chunks. */
function checkScanInput(input: ScanInput, name = 'scan input'): void {
  if (typeof input === 'string' || input instanceof Uint8Array) return;
  if (input !== null && typeof input === 'object' && typeof (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') return;
  throw invalid(`${name} must be a file path, a Buffer / Uint8Array, or an async iterable of byte chunks`);
}

/** Checks {@link ScanOptions} (E_INPUT) before any input is read. */
export function checkScanOptions(opts: ScanOptions | undefined): ScanOptions {
  const o = options('scan options', opts);
  if (o.fps !== undefined) num('fps', o.fps, 0.01, 60);
  if (o.frameMode !== undefined) oneOf('frameMode', o.frameMode, ['interval', 'scene'] as const);
  if (typeof o.far === 'number') num('far', o.far, 1e-9, 0.5);
  else if (o.far !== undefined) {
    const far = options('far', o.far);
    if (far.match !== undefined) num('far.match', far.match, 1e-9, 0.5);
    if (far.possible !== undefined) num('far.possible', far.possible, 1e-9, 0.5);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
  if (o.onProgress !== undefined) fn('onProgress', o.onProgress);
  if (o.label !== undefined) str('label', o.label);
  if (o.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(String(o.sha256))) throw invalid('sha256 must be 64 lowercase hex characters');
  if (o.maxWidth !== undefined) int('maxWidth', o.maxWidth, 64, 16384);
  if (o.faces !== undefined) bool('faces', o.faces);
  if (o.voices !== undefined) bool('voices', o.voices);
  return o;
}

export async function scanFile(engines: ScanEngines, input: ScanInput, opts: ScanOptions = {}): Promise<ScanResult | ScanFailure> {
  checkScanInput(input);
  checkScanOptions(opts);
  const label = typeof input === 'string' ? input : opts.label ?? (input instanceof Uint8Array ? '<buffer>' : '<stream>');
  let gated: GatedInput | undefined;
  try {
    if (opts.signal?.aborted) throw new LikenessError('E_ABORTED', `scanning ${label} was aborted before it started`);
    gated = await gateInput(input, { limits: opts.limits, label, signal: opts.signal });
    return await scanPath(engines, gated, opts.sha256, opts);
  } catch (e) {
    if (isFatal(e)) throw e;
    // Anything else fails this input only: a LikenessError keeps its code, a bug is E_INTERNAL naming the input.
    const err = internalError(e, label);
    const tmp = gated && gated.file !== label ? gated.file : '\0';
    return { media: { path: label }, error: { code: err.code, message: err.message.split(tmp).join(label) } };
  } finally {
    gated?.cleanup();
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
  list<ScanInput>('scan inputs', inputs).forEach((x, i) => checkScanInput(x, `scan input ${i}`));
  checkScanOptions(opts);
  if (opts.skip !== undefined) fn('skip', opts.skip);
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
