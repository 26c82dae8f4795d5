import { LikenessError } from '../errors';
import { ANALYSIS_MAX_SIDE, DecodeImageOptions, ImageInput, decodeImageScaled } from '../media/image';
import { resolveLimits, type MediaLimits } from '../media/limits';
import type { Face, FaceDetection, RgbImage } from '../types';
import type { FaceDetector, FaceEmbedder } from './detector';
import { FacepluginDetector, FacepluginEmbedder, alignArcFace } from './faceplugin';
import { faceQuality } from './quality';
import { FallbackDetector } from './fallback';
import { invalid, faceDetections, int, list, oneOf, options, rgbImage } from '../validate';
import { MeshDetector } from './mesh';
import { ARCFACE_112 } from '../kernels/geometry';
import { defaultIntraOpThreads } from '../models/ort';
import type { JunkSet } from '../kernels/vector';
import { faceJunkCrops } from '../media/junk';

/**
 * Cosine to the nearest junk-crop embedding at or above which a face embedding is junk. Measured
 * (scripts/junk-embeddings.ts --shared 150, faceplugin-mfn512): 174 real faces of ../shared/eval and the demo photos,
 * degraded ones included, reach at most 0.580 (median 0.104); held-out junk crops (other flat greys and colours,
 * fresh noise) reach 0.77-0.99. A structured pattern (stripes, 0.58) is not caught: it is not near-constant. Flat
 * crops are also refused earlier as blurred (sharpness 0). See benchmarks/RESULTS.md.
 */
export const FACE_JUNK_MAX_COSINE = 0.75;

/** The preset {@link FaceAnalyzer.create} uses when none is given. */
export const DEFAULT_FACE_PRESET: FacePreset = 'accurate';

/** Named pipelines. `accurate` spends more time for recall and robustness; `fast` is for high-volume scanning. */
export type FacePreset = 'accurate' | 'fast';

/** Options for {@link FaceAnalyzer.create}. */
export interface FaceAnalyzerOptions {
  /** Named pipeline; default `accurate`. */
  preset?: FacePreset;
  /** Replace the preset's detector (e.g. a HumanDetector). */
  detector?: FaceDetector;
  /** Replace the preset's embedder. */
  embedder?: FaceEmbedder;
  /** Pixel limit for decoding, checked on the header; default 50 MP. */
  maxPixels?: number;
  /** Images larger than this (longest side) are decoded downscaled to fit (shrink-on-load); default 4096. */
  maxSide?: number;
  /** Largest image file in bytes (the input gate's maxFileBytes); default 16 GiB. */
  maxFileBytes?: number;
  /** The media limits object every entry point takes (its maxPixels and maxFileBytes apply here). */
  limits?: Partial<MediaLimits>;
  /** ONNX Runtime intra-op threads per session; default 2 on a machine with 2 cores or more (see defaultIntraOpThreads). */
  intraOpThreads?: number;
}

/**
 * `accurate`: MediaPipe BlazeFace + FaceMesh landmarks on onnxruntime (better alignment on tilted, compressed and
 * small faces; the same results Human gave on tfjs), with the ONNX UltraFace detector as fallback when it finds
 * nothing. `fast`: the UltraFace detector and 68-point landmarks alone.
 */
function presetDetector(preset: FacePreset, threads: number): FaceDetector {
  const onnx = new FacepluginDetector({ intraOpThreads: threads, tiles: preset === 'accurate', retry: true });
  if (preset === 'fast') return onnx;
  return new FallbackDetector([new MeshDetector({ intraOpThreads: threads }), onnx]);
}

/** Images narrower or shorter than this hold no detectable face. */
const MIN_FACE_SIDE = 16;

/** Maps a face found in a downscaled decode back to source pixels. */
function scaleFace(f: Face, k: number): void {
  const b = f.detection.box;
  f.detection = { ...f.detection, box: { x: b.x * k, y: b.y * k, w: b.w * k, h: b.h * k }, landmarks: f.detection.landmarks.map(([x, y]) => [x * k, y * k]) as FaceDetection['landmarks'] };
  f.quality = { ...f.quality, interocular: f.quality.interocular * k };
}

/** The faces found in one image, with the source image's size. */
export interface FaceAnalysis {
  width: number;
  height: number;
  faces: Face[];
}

/**
 * Finds every face in an image with its box, five landmarks, quality and identity embedding. Create once and reuse:
 * model sessions are loaded on first use and shared.
 *
 * @example
 * const fa = await FaceAnalyzer.create();
 * const { faces } = await fa.analyze('photo.jpg');
 */
export class FaceAnalyzer {
  /** Id of the model that makes this analyzer's embeddings (templates are only comparable within one id). */
  readonly modelId: string;

  private constructor(
    private readonly detector: FaceDetector,
    private readonly embedder: FaceEmbedder,
    private readonly decodeOpts: DecodeImageOptions,
    /** The preset this analyzer was built from. */
    readonly preset: FacePreset,
  ) {
    this.modelId = embedder.id;
  }

  /** Builds an analyzer for a preset (models load lazily and are verified by sha256 on first use). */
  static async create(opts: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer> {
    options('FaceAnalyzer options', opts);
    const preset = oneOf('preset', opts.preset ?? DEFAULT_FACE_PRESET, ['accurate', 'fast'] as const);
    const threads = int('intraOpThreads', opts.intraOpThreads ?? defaultIntraOpThreads(), 1, 64);
    if (opts.maxPixels !== undefined) int('maxPixels', opts.maxPixels, 1, Number.MAX_SAFE_INTEGER);
    for (const k of ['detector', 'embedder'] as const) if (opts[k] !== undefined && (opts[k] === null || typeof opts[k] !== 'object')) throw invalid(`${k} must be an object`);
    const detector = opts.detector ?? presetDetector(preset, threads);
    const embedder = opts.embedder ?? new FacepluginEmbedder({ intraOpThreads: threads, flip: preset === 'accurate' });
    const limits = resolveLimits(opts.limits);
    const decode = { maxPixels: opts.maxPixels ?? limits.maxPixels, maxSide: opts.maxSide ?? ANALYSIS_MAX_SIDE, maxFileBytes: opts.maxFileBytes ?? limits.maxFileBytes };
    const fa = new FaceAnalyzer(detector, embedder, decode, preset);
    return fa;
  }

  /**
   * All faces in one image (path, encoded bytes or RGB pixels), largest first. A path goes through the input gate
   * (regular files only); an image over `maxSide` is decoded downscaled, and boxes, landmarks and the interocular
   * distance are given in the source image's pixels.
   */
  async analyze(input: ImageInput): Promise<FaceAnalysis> {
    const { image, sourceWidth, sourceHeight } = await decodeImageScaled(input, this.decodeOpts);
    const faces = await this.analyzeRgb(image);
    const k = sourceWidth / image.width;
    if (k !== 1) for (const f of faces) scaleFace(f, k);
    return { width: sourceWidth, height: sourceHeight, faces };
  }

  /** Faces of several images, in order; each entry is the analysis or the error for that image. */
  async analyzeBatch(inputs: ImageInput[]): Promise<(FaceAnalysis | LikenessError)[]> {
    list('images', inputs);
    const out: (FaceAnalysis | LikenessError)[] = [];
    for (const input of inputs) {
      try {
        out.push(await this.analyze(input));
      } catch (e) {
        if (e instanceof LikenessError) out.push(e);
        else throw e;
      }
    }
    return out;
  }

  /** Faces of decoded RGB pixels (video frames), largest first. */
  async analyzeRgb(image: RgbImage): Promise<Face[]> {
    rgbImage('image', image);
    const faces = await this.describe(image, await this.detect(image));
    return faces.sort((a, b) => b.detection.box.w * b.detection.box.h - a.detection.box.w * a.detection.box.h);
  }

  /** Detection alone (boxes, five landmarks, scores): the cheap half of {@link analyzeRgb}, for trackers. */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    rgbImage('image', image);
    // A strip a few pixels thin (an extreme aspect ratio scaled down) holds no face and would give the detectors'
    // resampling kernels zero-sized sides.
    if (image.width < MIN_FACE_SIDE || image.height < MIN_FACE_SIDE) return [];
    return this.detector.detect(image);
  }

  /**
   * Alignment, quality and embedding of given detections, in their order: the costly half of {@link analyzeRgb}
   * (a video scanner embeds only faces its tracker cannot follow without it).
   */
  async describe(image: RgbImage, detections: FaceDetection[]): Promise<Face[]> {
    rgbImage('image', image);
    if (faceDetections('detections', detections).length === 0) return [];
    const { crops, embeddings } = await this.embedWithCrops(image, detections);
    return detections.map((d, i) => ({
      detection: d,
      quality: faceQuality(d, crops[i]!),
      embedding: embeddings[i]!,
      modelId: this.modelId,
    }));
  }

  private async embedWithCrops(image: RgbImage, detections: FaceDetection[]): Promise<{ embeddings: Float32Array[]; crops: RgbImage[] }> {
    if (this.embedder.embedWithCrops) return this.embedder.embedWithCrops(image, detections);
    const crops = detections.map((d) => alignArcFace(image, d.landmarks));
    const embeddings = this.embedder.embedAligned
      ? await this.embedder.embedAligned(crops, detections)
      : await this.embedder.embed(image, detections);
    return { crops, embeddings };
  }

  /**
   * What this analyzer's embedder makes of junk: the embeddings of flat, noise, gradient and checkerboard aligned
   * crops (computed once per analyzer), with the cosine at or above which a face embedding counts as junk. The
   * enrollment gate and searches refuse such embeddings.
   */
  junkSet(): Promise<JunkSet> {
    this.junk ??= (async () => {
      const crops = Object.values(faceJunkCrops());
      // Landmarks at the ArcFace template itself: the crop is used as it is (no warp, no small-face blur).
      const at = ARCFACE_112.map(([x, y]) => [x, y]) as FaceDetection['landmarks'];
      const dets: FaceDetection[] = crops.map(() => ({ box: { x: 0, y: 0, w: 112, h: 112 }, landmarks: at, score: 1 }));
      const prototypes = this.embedder.embedAligned
        ? await this.embedder.embedAligned(crops, dets)
        : await Promise.all(crops.map((c, i) => this.embedder.embed(c, [dets[i]!]).then((e) => e[0]!)));
      return { modelId: this.modelId, prototypes, maxCosine: FACE_JUNK_MAX_COSINE };
    })();
    // A failure (a model that cannot load) is not kept: the next call tries again.
    this.junk.catch(() => (this.junk = undefined));
    return this.junk;
  }

  private junk: Promise<JunkSet> | undefined;

  /** Releases nothing today (sessions are shared per process); kept so callers can scope analyzers. */
  async close(): Promise<void> {}
}
