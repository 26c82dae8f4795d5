import * as fs from 'fs';
import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import type { Config, FaceResult, Human } from '@vladmandic/human';
import { LikenessError, isLikenessError, toLikenessError } from '../src/errors';
import { resolveModelFile } from '../src/models/registry';
import type { Box, FaceDetection, FivePoints, Point, RgbImage } from '../src/types';
import { rgbImage, int, num, invalid } from '../src/validate';
import type { FaceDetector, FaceEmbedder } from '../src/face/detector';

import { iou } from '../src/kernels/geometry';
import { normaliseInPlace } from '../src/kernels/vector';

// @vladmandic/human 3.3.6 on @tensorflow/tfjs-core + the wasm backend (tfjs-node does not install offline):
// BlazeFace + FaceMesh as a detector with mesh-accurate five points, faceres as a selectable 1024-d embedder, and
// Human's own detect + describe pass as the speed peer of benchmarks/face.ts.

/** Manifest ids of the Human models this module loads. */
export const HUMAN_MODEL_IDS = {
  detector: 'human-blazeface',
  mesh: 'human-facemesh',
  description: 'human-faceres',
} as const;

/** Id of the Human detector (also each detection's `source`). */
export const HUMAN_DETECTOR_ID = 'human-blazeface-mesh';

/** Largest number of faces Human reports per image. */
export const HUMAN_MAX_FACES = 20;

/** Mesh indices (of the 468-point FaceMesh) that make the ArcFace five points. */
const MESH_EYE_A: readonly [number, number] = [33, 133];
const MESH_EYE_B: readonly [number, number] = [362, 263];
const MESH_NOSE_TIP = 1;
const MESH_MOUTH_A = 61;
const MESH_MOUTH_B = 291;

/** Box overlap above which a Human face is taken to be the same face as a given detection. */
const MATCH_IOU = 0.3;
/** Mean five-point distance, in eye distances, under which a Human face is the same face as a given detection. */
const MATCH_POINTS = 0.5;

type Tf = typeof tfTypes;

/** A face as Human found it, reduced to plain data (no tensors). */
export interface HumanFace {
  detection: FaceDetection;
  /** L2-normalised faceres description, present when description ran. */
  embedding?: Float32Array;
}

/** Options for one Human pass. */
interface RunOptions {
  describe: boolean;
}

function humanPackageDir(): string {
  try {
    // The package's `exports` lists subpaths without "./", which Node rejects; the bare name still resolves.
    return path.resolve(path.dirname(require.resolve('@vladmandic/human')), '..');
  } catch (e) {
    throw new LikenessError('E_MODEL', 'the Human peer pipeline needs @vladmandic/human: run `npm install @vladmandic/human@3.3.6`', undefined, {
      cause: e,
    });
  }
}

function wasmDir(): string {
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  } catch {
    try {
      return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), path.sep);
    } catch (e) {
      throw new LikenessError('E_MODEL', 'the Human peer pipeline needs @tensorflow/tfjs-backend-wasm: run `npm install @tensorflow/tfjs-backend-wasm`', undefined, {
        cause: e,
      });
    }
  }
}

function fileUrl(file: string): string {
  return `file://${file}`;
}

/** Human's settings: BlazeFace (rotation on) + FaceMesh (+ faceres when describing); every other model off. */
export function humanConfig(modelFiles: { detector: string; mesh: string; description: string }, wasmPath: string): Partial<Config> {
  return {
    backend: 'wasm',
    wasmPath: wasmPath.endsWith(path.sep) ? wasmPath : wasmPath + path.sep,
    debug: false,
    async: false,
    warmup: 'none',
    modelBasePath: fileUrl(path.dirname(modelFiles.detector) + '/'),
    cacheModels: false,
    // Caching would return a previous image's result for a similar input: every call must be a fresh inference.
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    face: {
      enabled: true,
      detector: {
        enabled: true,
        modelPath: fileUrl(modelFiles.detector),
        rotation: true,
        maxDetected: HUMAN_MAX_FACES,
        minConfidence: 0.3,
        skipFrames: 0,
        skipTime: 0,
        return: false,
      },
      mesh: { enabled: true, modelPath: fileUrl(modelFiles.mesh) },
      iris: { enabled: false },
      description: { enabled: true, modelPath: fileUrl(modelFiles.description), skipFrames: 0, skipTime: 0 },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      gear: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
  };
}

/**
 * Serves `file://` model URLs from disk for tfjs (which has no file loader without tfjs-node). Only files verified
 * against the manifest are served, so an unverified file can never reach the runtime.
 */
function registerDiskLoader(tf: Tf, allowed: Set<string>): void {
  const router = (url: string | string[]): tfTypes.io.IOHandler | null => {
    const u = Array.isArray(url) ? url[0] : url;
    if (typeof u !== 'string' || !u.startsWith('file://')) return null;
    const file = u.slice('file://'.length);
    if (!allowed.has(file)) return null;
    return { load: () => loadArtifacts(tf, file) };
  };
  // tfjs routers return null for URLs they do not handle, though its typing omits null.
  tf.io.registerLoadRouter(router as Parameters<Tf['io']['registerLoadRouter']>[0]);
}

async function loadArtifacts(tf: Tf, jsonFile: string): Promise<tfTypes.io.ModelArtifacts> {
  const json = JSON.parse(await fs.promises.readFile(jsonFile, 'utf8')) as tfTypes.io.ModelJSON;
  const dir = path.dirname(jsonFile);
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs: tfTypes.io.WeightsManifestEntry[] = [];
    const buffers: Buffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const p of group.paths) buffers.push(await fs.promises.readFile(path.join(dir, p)));
    }
    const all = Buffer.concat(buffers);
    return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
  });
}

/** The one Human instance of this process: loaded once, calls run one at a time (Human is not re-entrant). */
class HumanRuntime {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly human: Human,
    private readonly tf: Tf,
  ) {}

  static async create(): Promise<HumanRuntime> {
    const files = {
      detector: resolveModelFile(HUMAN_MODEL_IDS.detector),
      mesh: resolveModelFile(HUMAN_MODEL_IDS.mesh),
      description: resolveModelFile(HUMAN_MODEL_IDS.description),
    };
    const dist = path.join(humanPackageDir(), 'dist', 'human.node-wasm.js');
    let human: Human;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(dist) as { Human: new (c: Partial<Config>) => Human };
      human = new mod.Human(humanConfig(files, wasmDir()));
    } catch (e) {
      throw toLikenessError(e, 'E_MODEL', `cannot load @vladmandic/human from ${dist}`);
    }
    const tf = human.tf as unknown as Tf;
    registerDiskLoader(tf, new Set(Object.values(files)));
    await withConsoleQuiet(async () => {
      await human.init();
      await human.load();
    });
    if (tf.getBackend() !== 'wasm') {
      throw new LikenessError('E_MODEL', `Human could not start the tfjs wasm backend (got ${String(tf.getBackend())})`);
    }
    assertModelsLoaded(human);
    return new HumanRuntime(human, tf);
  }

  /** Runs Human on one image; serialised with every other call. */
  run(image: RgbImage, opts: RunOptions): Promise<HumanFace[]> {
    const next = this.queue.then(() => this.runNow(image, opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Bytes and tensors held by tfjs (for leak checks). */
  memory(): { numTensors: number; numBytes: number } {
    const m = this.tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  private async runNow(image: RgbImage, opts: RunOptions): Promise<HumanFace[]> {
    // float32 straight from the bytes (exact): an int32 tensor would be converted in JS and then cast again by Human.
    const input = this.tf.tensor4d(new Float32Array(image.data), [1, image.height, image.width, 3], 'float32');
    let faces: FaceResult[];
    try {
      const res = await this.human.detect(input as never, {
        face: { description: { enabled: opts.describe } },
      } as Partial<Config>);
      if ('error' in res && res.error) throw new Error(String(res.error));
      faces = res.face;
    } catch (e) {
      // One image's failure, not the model's: the scan goes on with the next input (details.reason says so).
      if (isLikenessError(e)) throw e;
      throw new LikenessError('E_MODEL', `Human face detection failed on a ${image.width}x${image.height} image: ${e instanceof Error ? e.message : String(e)}`, { reason: 'inference' }, { cause: e });
    } finally {
      this.tf.dispose(input);
    }
    const out: HumanFace[] = [];
    for (const f of faces) {
      const detection = toDetection(f, image);
      if (!detection) continue;
      const face: HumanFace = { detection };
      if (opts.describe && f.embedding && f.embedding.length > 0) face.embedding = normaliseInPlace(Float32Array.from(f.embedding));
      out.push(face);
    }
    return out.sort((a, b) => b.detection.score - a.detection.score);
  }
}

function assertModelsLoaded(human: Human): void {
  const models = (human.models as unknown as { models?: Record<string, unknown> }).models ?? {};
  const need = ['blazeface', 'facemesh', 'faceres'];
  const missing = need.filter((k) => !models[k]);
  if (missing.length > 0) {
    throw new LikenessError('E_MODEL', `Human did not load ${missing.join(', ')}; reinstall @vladmandic/human@3.3.6`, { missing });
  }
}

/** Human logs load progress and tfjs prints backend notices; keep library output clean. */
async function withConsoleQuiet<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn };
  console.log = () => undefined;
  console.info = () => undefined;
  console.warn = () => undefined;
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}

let runtime: Promise<HumanRuntime> | undefined;

/** The process-wide Human runtime, created on first use. A failed start is not cached, so a fixed install recovers. */
export function humanRuntime(): Promise<HumanRuntime> {
  if (!runtime) {
    runtime = HumanRuntime.create();
    runtime.catch(() => {
      runtime = undefined;
    });
  }
  return runtime;
}

function toDetection(f: FaceResult, image: RgbImage): FaceDetection | undefined {
  const mesh = f.mesh;
  if (!mesh || mesh.length < 468) return undefined;
  const at = (i: number): Point => [mesh[i][0], mesh[i][1]];
  const mean = (ij: readonly [number, number]): Point => [(mesh[ij[0]][0] + mesh[ij[1]][0]) / 2, (mesh[ij[0]][1] + mesh[ij[1]][1]) / 2];
  const eyeA = mean(MESH_EYE_A);
  const eyeB = mean(MESH_EYE_B);
  const mouthA = at(MESH_MOUTH_A);
  const mouthB = at(MESH_MOUTH_B);
  // ArcFace order is by image side; for a roll beyond 90 degrees "left" flips, so order by the eye axis.
  const swap = eyeA[0] > eyeB[0];
  const landmarks: FivePoints = swap ? [eyeB, eyeA, at(MESH_NOSE_TIP), mouthB, mouthA] : [eyeA, eyeB, at(MESH_NOSE_TIP), mouthA, mouthB];
  const score = Number.isFinite(f.boxScore) && f.boxScore > 0 ? f.boxScore : f.score;
  return { box: clipBox(f.box, image), landmarks, score: Math.max(0, Math.min(1, score)), source: HUMAN_DETECTOR_ID };
}

function clipBox(b: [number, number, number, number] | number[], image: RgbImage): Box {
  const x0 = Math.max(0, Math.min(image.width, b[0]));
  const y0 = Math.max(0, Math.min(image.height, b[1]));
  const x1 = Math.max(0, Math.min(image.width, b[0] + b[2]));
  const y1 = Math.max(0, Math.min(image.height, b[1] + b[3]));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Options of the Human detector. */
export interface HumanDetectorOptions {
  /**
   * Images whose width or height is at most this many pixels get a grey border before detection (BlazeFace misses
   * faces that fill a tight crop); 0 disables. Default 200.
   */
  padSmall?: number;
  /** Width of that border on every side, as a fraction of the longer side; default 1 (the face fills about a third). */
  padRatio?: number;
}

/**
 * Human's BlazeFace detector refined by FaceMesh (rotation correction on, min confidence 0.3, up to 20 faces).
 * Five points come from the 468-point mesh: eye centres from the eye corners, nose tip, mouth corners.
 */
export class HumanDetector implements FaceDetector {
  /** Stable id of this detector. */
  readonly id = HUMAN_DETECTOR_ID;
  private readonly pad: PadOptions;

  constructor(opts: HumanDetectorOptions = {}) {
    this.pad = {
      below: opts.padSmall === undefined ? DEFAULT_PAD_SMALL : int('padSmall', opts.padSmall, 0, 1 << 16),
      ratio: opts.padRatio === undefined ? DEFAULT_PAD_RATIO : num('padRatio', opts.padRatio, 0.05, 4),
    };
  }

  /** All faces in `image`, best score first. E_INPUT for an empty or malformed image, E_MODEL when Human fails. */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    rgbImage('image', image);
    const rt = await humanRuntime();
    const faces = await runPadded(rt, image, { describe: false }, this.pad);
    return faces.map((f) => f.detection);
  }
}

const DEFAULT_PAD_SMALL = 200;
// A face filling a tight crop must shrink to about a third of BlazeFace's frame: on the degraded crops of
// ../shared/eval/faces a border of 1x the side found 12 of the 18 faces a 0.5x border missed and lost 1
// (benchmarks/RESULTS.md).
const DEFAULT_PAD_RATIO = 1;
const PAD_GREY = 128;

interface PadOptions {
  /** Pad when width or height is at most this; 0 never pads. */
  below: number;
  /** Border per side as a fraction of the longer side. */
  ratio: number;
}

/** Largest border added to a small image (pixels per side); the border is for images up to DEFAULT_PAD_SMALL px. */
const MAX_PAD_BORDER = 512;

const DEFAULT_PAD: PadOptions = { below: DEFAULT_PAD_SMALL, ratio: DEFAULT_PAD_RATIO };

/** Runs Human, on a grey-bordered copy when the image is small, and maps results back to `image`'s pixels. */
async function runPadded(rt: HumanRuntime, image: RgbImage, opts: RunOptions, pad: PadOptions): Promise<HumanFace[]> {
  if (pad.below <= 0 || (image.width > pad.below && image.height > pad.below)) return rt.run(image, opts);
  // Capped: a 2000 x 40 strip would otherwise get a 2000-px border (a 6000 x 4040 copy, over 1 GB in tensors).
  const border = Math.min(MAX_PAD_BORDER, Math.round(Math.max(image.width, image.height) * pad.ratio));
  const padded = padRgb(image, border);
  const faces = await rt.run(padded, opts);
  const shift = (p: Point): Point => [p[0] - border, p[1] - border];
  return faces.map((f) => ({
    ...f,
    detection: {
      ...f.detection,
      box: clipBox([f.detection.box.x - border, f.detection.box.y - border, f.detection.box.w, f.detection.box.h], image),
      landmarks: f.detection.landmarks.map(shift) as FivePoints,
    },
  }));
}

/** `image` with a grey border of `border` pixels on every side. */
function padRgb(image: RgbImage, border: number): RgbImage {
  const w = image.width + 2 * border;
  const h = image.height + 2 * border;
  const data = new Uint8Array(w * h * 3).fill(PAD_GREY);
  const row = image.width * 3;
  for (let y = 0; y < image.height; y++) {
    data.set(image.data.subarray(y * row, (y + 1) * row), ((y + border) * w + border) * 3);
  }
  return { width: w, height: h, data };
}

/**
 * Human's faceres description (1024-d), L2-normalised. Human describes the faces it finds itself, so each given
 * detection is paired with the Human face overlapping it most; a detection Human did not find is described from a
 * crop around it. E_NO_FACE when Human finds no face there either.
 */
export class HumanFaceresEmbedder implements FaceEmbedder {
  /** Stable model id. */
  readonly id = 'human-faceres';
  /** Output dimension. */
  readonly dim = 1024;

  /** One embedding per face of `faces`, same order. */
  async embed(image: RgbImage, faces: FaceDetection[]): Promise<Float32Array[]> {
    rgbImage('image', image);
    if (!Array.isArray(faces)) throw invalid('faces must be an array of FaceDetection');
    if (faces.length === 0) return [];
    const rt = await humanRuntime();
    const found = (await runPadded(rt, image, { describe: true }, DEFAULT_PAD)).filter((f) => f.embedding);
    const out: Float32Array[] = [];
    for (let i = 0; i < faces.length; i++) {
      const best = sameFace(faces[i], found);
      out.push(best?.embedding ?? (await this.embedFromCrop(rt, image, faces[i], i)));
    }
    return out;
  }

  private async embedFromCrop(rt: HumanRuntime, image: RgbImage, face: FaceDetection, index: number): Promise<Float32Array> {
    const crop = cropAround(image, face.box, 2);
    const found = (await rt.run(crop.image, { describe: true })).filter((f) => f.embedding);
    const shift = (p: Point): Point => [p[0] - crop.x, p[1] - crop.y];
    const local: FaceDetection = {
      ...face,
      box: { x: face.box.x - crop.x, y: face.box.y - crop.y, w: face.box.w, h: face.box.h },
      landmarks: face.landmarks.map(shift) as FivePoints,
    };
    const best = sameFace(local, found, 0) ?? found[0];
    if (!best?.embedding) {
      throw new LikenessError('E_NO_FACE', `Human's faceres found no face to describe at face ${index} (box ${JSON.stringify(face.box)})`, {
        index,
      });
    }
    return best.embedding;
  }
}

/**
 * The Human face that is the same face as `target`: the one whose five points lie closest (mean distance under
 * half the eye distance, which tolerates detectors that box faces differently), else the best box overlap.
 */
function sameFace(target: FaceDetection, found: HumanFace[], minIou = MATCH_IOU): HumanFace | undefined {
  const eyes = Math.hypot(target.landmarks[1][0] - target.landmarks[0][0], target.landmarks[1][1] - target.landmarks[0][1]);
  let best: HumanFace | undefined;
  let bestDist = eyes * MATCH_POINTS;
  for (const f of found) {
    const d = meanPointDistance(target.landmarks, f.detection.landmarks);
    if (d < bestDist) {
      best = f;
      bestDist = d;
    }
  }
  if (best) return best;
  let bestIou = minIou;
  for (const f of found) {
    const overlap = iou(target.box, f.detection.box);
    if (overlap > bestIou || (best === undefined && overlap >= bestIou && overlap > 0)) {
      best = f;
      bestIou = overlap;
    }
  }
  return best;
}

function meanPointDistance(a: FivePoints, b: FivePoints): number {
  let s = 0;
  for (let i = 0; i < 5; i++) s += Math.hypot(a[i][0] - b[i][0], a[i][1] - b[i][1]);
  return s / 5;
}

/** A copy of the region `scale` times the box (centred on it), clipped to the image. */
function cropAround(image: RgbImage, box: Box, scale: number): { image: RgbImage; x: number; y: number } {
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  const half = (Math.max(box.w, box.h) * scale) / 2;
  const x0 = Math.max(0, Math.floor(cx - half));
  const y0 = Math.max(0, Math.floor(cy - half));
  const x1 = Math.min(image.width, Math.ceil(cx + half));
  const y1 = Math.min(image.height, Math.ceil(cy + half));
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * image.width + x0) * 3;
    data.set(image.data.subarray(src, src + w * 3), y * w * 3);
  }
  return { image: { width: w, height: h, data }, x: x0, y: y0 };
}

/** Human detect + describe in one pass (what the Human peer costs per image): detections with 1024-d embeddings. */
export async function humanDetectAndDescribe(image: RgbImage): Promise<HumanFace[]> {
  rgbImage('image', image);
  const rt = await humanRuntime();
  return rt.run(image, { describe: true });
}

/** tfjs memory held by the Human runtime (tensors and bytes), for leak checks. */
export async function humanMemory(): Promise<{ numTensors: number; numBytes: number }> {
  return (await humanRuntime()).memory();
}
