
import type { Box, Face, FivePoints, RgbImage } from '../types';
import { ARCFACE_112, invertAffine, iou, similarityTransform } from '../kernels/geometry';
import { cropRgb, resizeRgb } from '../kernels/image';
import { dot } from '../kernels/vector';
import { num, invalid } from '../validate';

/** One sighting of a face in one sampled frame. */
export interface FaceObservation {
  /** Seconds from the media start. */
  time: number;
  box: Box;
  /** Face quality score in [0, 1]. */
  quality: number;
  /** L2-normalised identity embedding. */
  embedding: Float32Array;
}

/** A time span where a track was on screen: `start` = first frame time, `end` = last frame time + one sampling interval. */
export interface TrackSegment {
  start: number;
  end: number;
}

/** A face followed across sampled frames. */
export interface FaceTrack {
  id: number;
  /** Spans on screen, in time order. */
  segments: TrackSegment[];
  /** The best observations by quality, best first (at most `keepBest`). */
  best: FaceObservation[];
  /** Pixels around the best observation's box (for the evidence crop), cut when it was seen. */
  bestCrop: RgbImage | null;
  /** The first and the last embedded observation of the track, with their crops (evidence of where it begins and ends). */
  firstCrop: { time: number; image: RgbImage } | null;
  lastCrop: { time: number; image: RgbImage } | null;
  /** Frames the face was seen in. */
  frames: number;
  /**
   * Prints of the face in its sampled frames (time order), when the scan takes them: what the reference index
   * compares to tell a reused reference from new media. Thinned to every other one past
   * {@link MAX_TRACK_PRINTS}, so a long track keeps covering its whole time span in bounded memory.
   */
  prints: TrackPrint[];
}

/**
 * What a track keeps of its face in one sampled frame for a reference lookup: the grey canvas around the face
 * (`faceQueryCanvas`), hashed only when the track is matched and looked up.
 */
export interface TrackPrint {
  time: number;
  canvas: Float32Array;
}

/** Takes a face's query canvas in the current frame, on demand. */
export type PrintThunk = () => Float32Array;

/**
 * A track takes its face's print at most this often (seconds of media), and at the first frame of each on-screen
 * span: enough frames to place a reuse within a fraction of a second (each print carries its exact frame time). At
 * 1 s, when every print was hashed at once, prints were 12% of bench:scan's time; now a print is a canvas (about
 * 0.6 ms) and only matched tracks' prints are hashed.
 */
export const PRINT_INTERVAL_SECONDS = 2;

/**
 * Most prints one track keeps (10 kB each; 300 is 10 minutes at one per PRINT_INTERVAL_SECONDS); past that, every
 * other one is dropped, so a track's prints stay under 3 MB however long it lasts.
 */
export const MAX_TRACK_PRINTS = 300;

/** Options of {@link FaceTracker}. */
export interface FaceTrackerOptions {
  /** Seconds between sampled frames (1 / fps). */
  interval: number;
  /** A gap longer than `gapFactor` x interval without the face ends a segment (default 1.5). */
  gapFactor?: number;
  /** A track not seen for this many seconds is closed (default max(2 s, 4 intervals)). */
  closeAfter?: number;
  /** Observations kept per track for identification (default 3). */
  keepBest?: number;
  /** Box overlap that counts as "the same place" (default 0.3). */
  minIou?: number;
  /** Cosine above which two faces are taken for the same person whatever their place (default 0.55). */
  sameCosine?: number;
  /** Cosine below which faces are never joined, even in the same place (cuts between people; default 0.3). */
  minCosine?: number;
  /** Largest side of the evidence crop kept per track in pixels (default 160). */
  cropSize?: number;
  /**
   * A face may follow its track without a new embedding for at most this many seconds after the track's last
   * embedding (default 3; 0 embeds every face). See {@link FaceTracker.planFollows}.
   */
  refreshSeconds?: number;
  /**
   * Signature correlation at or above which a face in the same place counts as unchanged (default 0.8). With the
   * face signatures the scanner uses ({@link faceSignature}), one face drifting over the moving test pattern of
   * bench:scan gave a median of 0.95 between consecutive frames, two different people of that clip at most 0.52.
   */
  sameLook?: number;
}

/** A face that follows an open track without a new embedding. */
export interface FollowSighting {
  trackId: number;
  box: Box;
  signature: Float32Array;
  /** Takes the face's print in this frame (called only when the track wants one: see {@link PRINT_INTERVAL_SECONDS}). */
  print?: PrintThunk;
}

/** Side of the grey patch used as a cheap appearance signature. */
const SIG = 16;

/**
 * A cheap appearance signature of a face box: a 16x16 grey patch of its central part, normalised to zero mean and
 * unit variance (so lighting drift does not count). Two signatures are compared by correlation (mean product).
 */
export function patchSignature(image: RgbImage, box: Box): Float32Array {
  const out = new Float32Array(SIG * SIG);
  const x0 = box.x + box.w * 0.1;
  const y0 = box.y + box.h * 0.1;
  const sw = (box.w * 0.8) / SIG;
  const sh = (box.h * 0.8) / SIG;
  for (let y = 0; y < SIG; y++) {
    const py = Math.min(image.height - 1, Math.max(0, Math.round(y0 + (y + 0.5) * sh)));
    for (let x = 0; x < SIG; x++) {
      const px = Math.min(image.width - 1, Math.max(0, Math.round(x0 + (x + 0.5) * sw)));
      const i = (py * image.width + px) * 3;
      out[y * SIG + x] = 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
    }
  }
  return standardise(out);
}

/** The part of the 112x112 ArcFace template a face signature covers: brows to chin, inside the cheeks. */
const FACE_REGION = { x0: 26, y0: 34, x1: 86, y1: 102 };

/**
 * The appearance signature of a face from its five landmarks: a 16x16 grey patch of the inner face (brows to chin)
 * in the ArcFace-aligned frame, sampled bilinearly, normalised like {@link patchSignature}. Unlike the box patch it
 * holds no background (a detector box around a small face is half background), so a face moving over a moving
 * scene keeps its signature while another face in the same place does not.
 */
export function faceSignature(image: RgbImage, landmarks: FivePoints): Float32Array {
  const inv = invertAffine(similarityTransform(landmarks, ARCFACE_112));
  const out = new Float32Array(SIG * SIG);
  const { width: W, height: H, data } = image;
  const grey = (px: number, py: number): number => {
    const i = (py * W + px) * 3;
    return 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
  };
  const sample = (tx: number, ty: number): number => {
    const sx = Math.min(Math.max(inv[0] * tx + inv[1] * ty + inv[2], 0), W - 1);
    const sy = Math.min(Math.max(inv[3] * tx + inv[4] * ty + inv[5], 0), H - 1);
    const x0 = Math.floor(sx), y0 = Math.floor(sy);
    const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
    const fx = sx - x0, fy = sy - y0;
    const top = grey(x0, y0) + (grey(x1, y0) - grey(x0, y0)) * fx;
    const bottom = grey(x0, y1) + (grey(x1, y1) - grey(x0, y1)) * fx;
    return top + (bottom - top) * fy;
  };
  const sw = (FACE_REGION.x1 - FACE_REGION.x0) / SIG;
  const sh = (FACE_REGION.y1 - FACE_REGION.y0) / SIG;
  // Each cell is the mean of SUB x SUB bilinear samples over it (an area average): a point sample per cell would
  // alias, and the landmarks of one face move by a pixel or two between frames.
  for (let y = 0; y < SIG; y++) {
    for (let x = 0; x < SIG; x++) {
      let acc = 0;
      for (let j = 0; j < SUB; j++) {
        for (let i = 0; i < SUB; i++) acc += sample(FACE_REGION.x0 + (x + (i + 0.5) / SUB) * sw, FACE_REGION.y0 + (y + (j + 0.5) / SUB) * sh);
      }
      out[y * SIG + x] = acc / (SUB * SUB);
    }
  }
  return standardise(out);
}

/** Samples per cell side of a face signature. */
const SUB = 3;

/** Zero mean and unit variance in place (a flat patch stays zero). */
function standardise(out: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]!;
  const mean = sum / out.length;
  let v = 0;
  for (let i = 0; i < out.length; i++) {
    out[i]! -= mean;
    v += out[i]! * out[i]!;
  }
  const sd = Math.sqrt(v / out.length) || 1;
  for (let i = 0; i < out.length; i++) out[i]! /= sd;
  return out;
}

/** Correlation of two patch signatures, in [-1, 1]. */
export function signatureCorrelation(a: Float32Array, b: Float32Array): number {
  return dot(a, 0, b, 0, a.length) / a.length;
}

/**
 * The identity embedding of a track: the quality-weighted mean of its best observations, L2-normalised. Averaging a
 * few good views cancels per-frame noise (compression, motion) while low-quality frames are left out entirely.
 */
export function trackEmbedding(best: readonly FaceObservation[]): Float32Array {
  if (best.length === 0) throw invalid('a track needs at least one observation');
  const dim = best[0]!.embedding.length;
  const acc = new Float64Array(dim);
  for (const o of best) {
    const w = Math.max(0.05, o.quality);
    for (let i = 0; i < dim; i++) acc[i]! += w * o.embedding[i]!;
  }
  let n = 0;
  for (let i = 0; i < dim; i++) n += acc[i]! * acc[i]!;
  n = Math.sqrt(n) || 1;
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = acc[i]! / n;
  return out;
}

/** The region {@link cropAround} cuts: `box` grown by a quarter of its longer side each way, clipped to the image. */
export function regionAround(image: Pick<RgbImage, 'width' | 'height'>, box: Box): Box {
  const m = 0.25 * Math.max(box.w, box.h);
  const x0 = Math.max(0, Math.floor(box.x - m));
  const y0 = Math.max(0, Math.floor(box.y - m));
  const x1 = Math.min(image.width, Math.ceil(box.x + box.w + m));
  const y1 = Math.min(image.height, Math.ceil(box.y + box.h + m));
  return { x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) };
}

/** Cuts the region around `box` (with a margin) out of `image`, scaled so its largest side is at most `size`. */
export function cropAround(image: RgbImage, box: Box, size: number): RgbImage {
  const { x: x0, y: y0, w, h } = regionAround(image, box);
  const s = Math.min(1, size / Math.max(w, h));
  const ow = Math.max(1, Math.round(w * s));
  const oh = Math.max(1, Math.round(h * s));
  const region = cropRgb(image, x0, y0, w, h);
  return ow === w && oh === h ? region : resizeRgb(region, ow, oh);
}

interface LiveTrack extends FaceTrack {
  lastTime: number;
  lastBox: Box;
  lastEmbedding: Float32Array;
  lastSignature: Float32Array | null;
  lastEmbedTime: number;
}

/**
 * Follows faces across sampled frames. A face joins the open track it overlaps (box IoU) and resembles (embedding
 * cosine), or one it resembles strongly wherever it is; otherwise it starts a track. Joins are greedy by a combined
 * score. Tracks unseen for `closeAfter` seconds are closed and handed out by {@link push} / {@link finish}, so memory
 * holds only the faces on screen now, whatever the video's length.
 */
export class FaceTracker {
  private readonly interval: number;
  private readonly gap: number;
  private readonly closeAfter: number;
  private readonly keepBest: number;
  private readonly minIou: number;
  private readonly sameCosine: number;
  private readonly minCosine: number;
  private readonly cropSize: number;
  private readonly refresh: number;
  private readonly sameLook: number;
  private open: LiveTrack[] = [];
  private nextId = 1;
  private assigned: number[] = [];

  constructor(opts: FaceTrackerOptions) {
    this.interval = num('interval', opts.interval, 1e-3, 3600);
    this.gap = num('gapFactor', opts.gapFactor ?? 1.5, 1, 100) * this.interval;
    this.closeAfter = num('closeAfter', opts.closeAfter ?? Math.max(2, 4 * this.interval), this.interval, 1e6);
    this.keepBest = Math.round(num('keepBest', opts.keepBest ?? 3, 1, 100));
    this.minIou = num('minIou', opts.minIou ?? 0.3, 0, 1);
    this.sameCosine = num('sameCosine', opts.sameCosine ?? 0.55, -1, 1);
    this.minCosine = num('minCosine', opts.minCosine ?? 0.3, -1, 1);
    this.cropSize = Math.round(num('cropSize', opts.cropSize ?? 160, 16, 1024));
    this.refresh = num('refreshSeconds', opts.refreshSeconds ?? 3, 0, 3600);
    this.sameLook = num('sameLook', opts.sameLook ?? 0.8, -1, 1);
  }

  /**
   * Which detections can follow an open track without being embedded: the track already has `keepBest` embedded
   * faces, the face is where the track's face was in the previous sampled frame (IoU >= 0.5), looks the same (patch correlation >= `sameLook`, which a cut to another
   * person in the same place fails), and the track was embedded less than `refreshSeconds` ago (so quality keeps
   * being sampled). Embedding is most of a frame's cost; a static or slow shot then costs detection only.
   * @returns detection index -> track id
   */
  planFollows(time: number, boxes: readonly Box[], signatures: readonly Float32Array[]): Map<number, number> {
    const out = new Map<number, number>();
    if (this.refresh <= 0) return out;
    const taken = new Set<number>();
    boxes.forEach((box, i) => {
      let best: LiveTrack | undefined;
      let bestIou = 0.5;
      for (const tr of this.open) {
        // A track first collects `keepBest` embedded faces: identity rests on several views (one view measured worse).
        if (taken.has(tr.id) || !tr.lastSignature || tr.best.length < this.keepBest || time - tr.lastEmbedTime >= this.refresh || time - tr.lastTime > this.gap) continue;
        const o = iou(box, tr.lastBox);
        if (o >= bestIou && signatureCorrelation(signatures[i]!, tr.lastSignature) >= this.sameLook) {
          best = tr;
          bestIou = o;
        }
      }
      if (best) {
        taken.add(best.id);
        out.set(i, best.id);
      }
    });
    return out;
  }

  /**
   * Adds the faces of one frame (frames in time order). Returns the tracks that closed because they were not seen
   * for `closeAfter` seconds.
   */
  push(time: number, faces: readonly Face[], image: RgbImage, extra: { signatures?: readonly Float32Array[]; follows?: readonly FollowSighting[]; prints?: readonly (PrintThunk | undefined)[] } = {}): FaceTrack[] {
    for (const f of extra.follows ?? []) {
      const tr = this.open.find((t) => t.id === f.trackId);
      if (tr) this.sighted(tr, time, f.box, f.signature, f.print);
    }
    const followed = new Set((extra.follows ?? []).map((f) => f.trackId));
    const pairs: { t: number; f: number; score: number }[] = [];
    faces.forEach((face, f) => {
      this.open.forEach((tr, t) => {
        if (followed.has(tr.id)) return;
        const cos = dot(face.embedding, 0, tr.lastEmbedding, 0, face.embedding.length);
        if (cos < this.minCosine) return;
        const overlap = iou(face.detection.box, tr.lastBox);
        if (overlap >= this.minIou || cos >= this.sameCosine) pairs.push({ t, f, score: cos + overlap });
      });
    });
    pairs.sort((a, b) => b.score - a.score);
    const usedT = new Set<number>();
    const usedF = new Set<number>();
    this.assigned = new Array<number>(faces.length).fill(0);
    for (const p of pairs) {
      if (usedT.has(p.t) || usedF.has(p.f)) continue;
      usedT.add(p.t);
      usedF.add(p.f);
      this.observe(this.open[p.t]!, time, faces[p.f]!, image, extra.signatures?.[p.f] ?? null, extra.prints?.[p.f]);
      this.assigned[p.f] = this.open[p.t]!.id;
    }
    faces.forEach((face, f) => {
      if (usedF.has(f)) return;
      const tr = this.start(time, face, image, extra.signatures?.[f] ?? null, extra.prints?.[f]);
      this.open.push(tr);
      this.assigned[f] = tr.id;
    });
    return this.closeOlderThan(time - this.closeAfter);
  }

  /** The track id each face of the latest {@link push} joined or started, in the order the faces were given. */
  lastAssignments(): readonly number[] {
    return this.assigned;
  }

  /** True while some track is open (a face seen recently that a later frame may continue). */
  hasOpenTracks(): boolean {
    return this.open.length > 0;
  }

  /** Closes and returns every open track (call after the last frame). */
  finish(): FaceTrack[] {
    return this.closeOlderThan(Infinity);
  }

  private closeOlderThan(limit: number): FaceTrack[] {
    const closed = this.open.filter((t) => t.lastTime < limit);
    if (closed.length === 0) return [];
    this.open = this.open.filter((t) => t.lastTime >= limit);
    return closed.map(({ id, segments, best, bestCrop, firstCrop, lastCrop, frames, prints }) => ({ id, segments, best, bestCrop, firstCrop, lastCrop, frames, prints }));
  }

  private start(time: number, face: Face, image: RgbImage, signature: Float32Array | null, print?: PrintThunk): LiveTrack {
    const obs = observation(time, face);
    const crop = cropAround(image, obs.box, this.cropSize);
    return {
      id: this.nextId++,
      segments: [{ start: time, end: time + this.interval }],
      best: [obs],
      bestCrop: crop,
      firstCrop: { time, image: crop },
      lastCrop: { time, image: crop },
      frames: 1,
      prints: print ? [{ time, canvas: print() }] : [],
      lastTime: time,
      lastBox: obs.box,
      lastEmbedding: obs.embedding,
      lastSignature: signature,
      lastEmbedTime: time,
    };
  }

  /** The track's face was seen at `time` in `box` (segments and position; no identity evidence). */
  private sighted(tr: LiveTrack, time: number, box: Box, signature: Float32Array | null, print?: PrintThunk): void {
    const last = tr.segments[tr.segments.length - 1]!;
    if (time - tr.lastTime > this.gap) tr.segments.push({ start: time, end: time + this.interval });
    else last.end = time + this.interval;
    tr.frames++;
    tr.lastTime = time;
    tr.lastBox = { x: box.x, y: box.y, w: box.w, h: box.h };
    if (signature) tr.lastSignature = signature;
    const lastPrint = tr.prints[tr.prints.length - 1];
    // A new on-screen span always gets a print at its first frame: each span is looked up on its own.
    const spanStart = tr.segments[tr.segments.length - 1]!.start === time;
    if (print && (!lastPrint || spanStart || time - lastPrint.time >= PRINT_INTERVAL_SECONDS - 1e-6)) addPrint(tr.prints, { time, canvas: print() });
  }

  private observe(tr: LiveTrack, time: number, face: Face, image: RgbImage, signature: Float32Array | null, print?: PrintThunk): void {
    const obs = observation(time, face);
    this.sighted(tr, time, obs.box, signature, print);
    tr.lastEmbedding = obs.embedding;
    tr.lastEmbedTime = time;
    tr.lastCrop = { time, image: cropAround(image, obs.box, this.cropSize) };
    const worst = tr.best[tr.best.length - 1]!;
    if (tr.best.length < this.keepBest || obs.quality > worst.quality) {
      if (obs.quality > tr.best[0]!.quality) tr.bestCrop = cropAround(image, obs.box, this.cropSize);
      tr.best.push(obs);
      tr.best.sort((a, b) => b.quality - a.quality);
      if (tr.best.length > this.keepBest) tr.best.pop();
    }
  }
}

function observation(time: number, face: Face): FaceObservation {
  const b = face.detection.box;
  return { time, box: { x: b.x, y: b.y, w: b.w, h: b.h }, quality: face.quality.score, embedding: face.embedding };
}

/** Appends a print; past {@link MAX_TRACK_PRINTS} every other one is dropped (the time span stays covered). */
function addPrint(prints: TrackPrint[], p: TrackPrint): void {
  prints.push(p);
  if (prints.length <= MAX_TRACK_PRINTS) return;
  let w = 0;
  for (let r = 0; r < prints.length; r += 2) prints[w++] = prints[r]!;
  prints.length = w;
}
