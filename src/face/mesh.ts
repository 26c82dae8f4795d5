import type { InferenceSession } from 'onnxruntime-node';
import { LikenessError } from '../errors';
import { blazeFaceAnchors, decodeBlazeFace, type BlazeFaceBox } from '../kernels/detect';
import { letterboxNchw, meshCropsNchw, type MeshCrop } from '../kernels/image';
import { defaultIntraOpThreads, ort, ortSession } from '../models/ort';
import type { Box, FaceDetection, FivePoints, Point, RgbImage } from '../types';
import { rgbImage, int, num } from '../validate';
import type { FaceDetector } from './detector';

// MediaPipe BlazeFace (back-camera model) + FaceMesh on onnxruntime, reproducing @vladmandic/human 3.3.6's face
// pipeline step for step (src/face/{blazeface,facemesh,facemeshutil}.ts in that package) so that boxes, mesh points
// and scores equal what the `accurate` preset got from Human on tfjs: the same models converted to ONNX
// (scripts/models/convert_face_tfjs.py), the same resize, anchors, float32 decoding, TF non-max suppression, box
// enlargement, rotation correction, crop, and the same (truncating) mapping of mesh points back to the image. The
// image kernels and the decoding run natively (src/kernels), everything else is a few dozen numbers per face.

/** Manifest ids of the two models. */
export const MESH_MODEL_IDS = { detector: 'mediapipe-blazeface-back', mesh: 'mediapipe-facemesh' } as const;

/** Id of this detector (also each detection's `source`). Human's id, since the results are Human's. */
export const MESH_DETECTOR_ID = 'blazeface-facemesh';

const DETECT_SIZE = 256;
const MESH_SIZE = 192;
const MESH_POINTS = 468;
/** Human's settings, as the accurate preset configured it (src/face/human.ts before this module replaced it). */
const MIN_CONFIDENCE = 0.3;
const NMS_IOU = 0.1;
const MAX_FACES = 20;
const BOX_ENLARGE = 1.4;
/** Rotations smaller than this (radians) are not corrected (Human's threshold). */
const MIN_ROTATION = 0.2;
/** BlazeFace key points whose line gives the roll: Human's blazeFaceLandmarks.symmetryLine. */
const SYMMETRY: readonly [number, number] = [3, 2];

/** Mesh indices (of the 468-point FaceMesh) that make the ArcFace five points. */
const MESH_EYE_A: readonly [number, number] = [33, 133];
const MESH_EYE_B: readonly [number, number] = [362, 263];
const MESH_NOSE_TIP = 1;
const MESH_MOUTH_A = 61;
const MESH_MOUTH_B = 291;

const DEFAULT_PAD_SMALL = 200;
// A face filling a tight crop must shrink inside BlazeFace's frame. Cross-validation over identities
// (benchmarks/face-cv.ts, RESULTS.md) preferred 0.5x on both halves by TAR, but on the whole degraded list 0.5x
// left 74 of 9,100 pairs without a face where 1x left none, so 1x stays: a missed face is a missed takedown.
const DEFAULT_PAD_RATIO = 1;
const PAD_GREY = 128;

/** Options of {@link MeshDetector}. */
export interface MeshDetectorOptions {
  /**
   * Images whose width or height is at most this many pixels get a grey border before detection (BlazeFace misses
   * faces that fill a tight crop); 0 disables. Default 200.
   */
  padSmall?: number;
  /** Width of that border on every side, as a fraction of the longer side; default 1 (the face fills about a third). */
  padRatio?: number;
  /** ONNX Runtime intra-op threads; default defaultIntraOpThreads() (2 on 2 cores or more). */
  intraOpThreads?: number;
}

/** A face as the pipeline found it, before it becomes a {@link FaceDetection}: Human's FaceResult fields we use. */
export interface MeshFace {
  /** [x, y, w, h], integers, clipped to the image (Human's `box`). */
  box: [number, number, number, number];
  /** 468 points, (x, y, z) truncated to integers (Human's `mesh`). */
  mesh: Float64Array;
  /** BlazeFace confidence rounded to 0.01 (Human's `boxScore`). */
  boxScore: number;
  /** FaceMesh face confidence rounded to 0.01 (Human's `score` / `faceScore`). */
  faceScore: number;
}

/** Human's DetectBox: a BlazeFace box in image pixels, enlarged and squared, with its six key points. */
export interface SquareBox {
  /** Top-left and bottom-right corners in image pixels (whole numbers). */
  start: Point;
  end: Point;
  landmarks: Point[];
  confidence: number;
}

type Matrix3 = number[][];

/** What FaceMesh is run on: the squared BlazeFace boxes and their crops. */
export interface MeshInputs {
  boxes: SquareBox[];
  /** One crop description per box (rotation and normalised box). */
  setups: { crop: MeshCrop; angle: number }[];
  /** `boxes.length x 3 x 192 x 192` float32, 0..1. */
  crops: Float32Array;
}

interface RotationSetup {
  crop: MeshCrop;
  angle: number;
  matrix: Matrix3;
}

/**
 * BlazeFace detector refined by FaceMesh (rotation correction on, minimum confidence 0.3, up to 20 faces), on
 * onnxruntime with the native kernels. Five points come from the 468-point mesh: eye centres from the eye corners,
 * nose tip, mouth corners. Equal to @vladmandic/human 3.3.6's result on the same pixels (test/face/mesh.test.ts
 * holds Human's values as goldens).
 */
export class MeshDetector implements FaceDetector {
  /** Stable id of this detector. */
  readonly id = MESH_DETECTOR_ID;
  private readonly padBelow: number;
  private readonly padRatio: number;
  private readonly threads: number;

  constructor(opts: MeshDetectorOptions = {}) {
    this.padBelow = opts.padSmall === undefined ? DEFAULT_PAD_SMALL : int('padSmall', opts.padSmall, 0, 1 << 16);
    this.padRatio = opts.padRatio === undefined ? DEFAULT_PAD_RATIO : num('padRatio', opts.padRatio, 0.05, 4);
    this.threads = opts.intraOpThreads === undefined ? defaultIntraOpThreads() : int('intraOpThreads', opts.intraOpThreads, 1, 64);
  }

  /** All faces in `image`, best score first. E_INPUT for an empty or malformed image, E_MODEL when a model fails. */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    rgbImage('image', image);
    const small = this.padBelow > 0 && (image.width <= this.padBelow || image.height <= this.padBelow);
    if (!small) return (await this.meshFaces(image)).map((f) => toDetection(f, image, 0)).sort(byScore);
    const border = Math.round(Math.max(image.width, image.height) * this.padRatio);
    const faces = await this.meshFaces(padRgb(image, border));
    return faces.map((f) => toDetection(f, image, border)).sort(byScore);
  }

  /** Human's `result.face` for `image` (no padding): boxes, truncated meshes and rounded scores. */
  async meshFaces(image: RgbImage): Promise<MeshFace[]> {
    const { boxes, setups, crops } = (await this.meshInputs(image)) as MeshInputs & { setups: RotationSetup[] };
    if (boxes.length === 0) return [];
    const session = await ortSession(MESH_MODEL_IDS.mesh, { intraOpThreads: this.threads });
    const T = ort().Tensor;
    const res = await runModel(session, { input: new T('float32', crops, [boxes.length, 3, MESH_SIZE, MESH_SIZE]) }, MESH_MODEL_IDS.mesh);
    const meshes = res.mesh!.data as Float32Array;
    const flags = res.faceflag!.data as Float32Array;
    const out: MeshFace[] = [];
    for (let i = 0; i < boxes.length; i++) {
      const faceScore = Math.round(100 * flags[i]!) / 100;
      // Human keeps a face only when its rounded mesh confidence is above minConfidence.
      if (!(faceScore > MIN_CONFIDENCE)) continue;
      const box = boxes[i]!;
      const mesh = transformRawCoords(meshes.subarray(i * MESH_POINTS * 3, (i + 1) * MESH_POINTS * 3), box, setups[i]!.angle, setups[i]!.matrix);
      out.push({ box: clampBox(faceBoxFromMesh(mesh, box), image), mesh, boxScore: Math.round(100 * box.confidence) / 100, faceScore });
    }
    return out;
  }

  /**
   * The FaceMesh inputs for `image`: BlazeFace boxes and the 192x192 crops (NCHW, 0..1) cut from them, in NMS
   * order. Exposed for the parity check against Human's own crops.
   */
  async meshInputs(image: RgbImage): Promise<MeshInputs> {
    rgbImage('image', image);
    const boxes = await this.detectBoxes(image);
    const setups = boxes.map((b) => rotationSetup(b, image));
    const crops = boxes.length ? await meshCropsNchw(image, setups.map((s) => s.crop), MESH_SIZE) : new Float32Array(0);
    return { boxes, setups, crops };
  }

  /** BlazeFace boxes in image pixels, enlarged 1.4x and squared, in NMS order (Human's blazeface.getBoxes). */
  private async detectBoxes(image: RgbImage): Promise<SquareBox[]> {
    // Whole image to 256x256 (no letterbox, no half-pixel offset, unrounded), x / 127.5 - 1.
    const sx = DETECT_SIZE / image.width, sy = DETECT_SIZE / image.height;
    const input = await letterboxNchw(image, [sx, 0, 0, 0, sy, 0], {
      width: DETECT_SIZE,
      height: DETECT_SIZE,
      validWidth: DETECT_SIZE,
      validHeight: DETECT_SIZE,
      mean: 127.5,
      std: 127.5,
      round: false,
    });
    const session = await ortSession(MESH_MODEL_IDS.detector, { intraOpThreads: this.threads });
    const T = ort().Tensor;
    const res = await runModel(session, { input: new T('float32', input, [1, 3, DETECT_SIZE, DETECT_SIZE]) }, MESH_MODEL_IDS.detector);
    // Human's row order: the 16x16 grid's 512 anchors, then the 8x8 grid's 384.
    const logits = concat(res.scores_512!.data as Float32Array, res.scores_384!.data as Float32Array);
    const regressors = concat(res.boxes_512!.data as Float32Array, res.boxes_384!.data as Float32Array);
    const kept = decodeBlazeFace(logits, regressors, anchors(), { size: DETECT_SIZE, minScore: MIN_CONFIDENCE, iou: NMS_IOU, maxFaces: MAX_FACES });
    const factor: Point = [image.width / DETECT_SIZE, image.height / DETECT_SIZE];
    const out: SquareBox[] = [];
    for (const k of kept) {
      if (!(k.score > MIN_CONFIDENCE)) continue;
      const sq = squarify(enlarge(scaleBox(k, regressors, factor), BOX_ENLARGE));
      if (sq.size[0] > 0 && sq.size[1] > 0) out.push(sq);
    }
    return out;
  }
}

let anchorTable: Float32Array | undefined;
function anchors(): Float32Array {
  return (anchorTable ??= blazeFaceAnchors(DETECT_SIZE));
}

async function runModel(session: InferenceSession, feeds: Record<string, import('onnxruntime-node').Tensor>, id: string): Promise<InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (e) {
    throw new LikenessError('E_MODEL', `model ${id} failed to run: ${(e as Error).message}`, { model: id }, { cause: e });
  }
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const byScore = (a: FaceDetection, b: FaceDetection): number => b.score - a.score;

// ---- Human's box arithmetic (facemeshutil.ts), same operations in the same order ----

interface RawBox {
  start: Point;
  end: Point;
  landmarks: Point[];
  confidence: number;
}

/** scaleBoxCoordinates: detector pixels -> image pixels; key points are relative to the anchor. */
function scaleBox(k: BlazeFaceBox, regressors: Float32Array, factor: Point): RawBox {
  const a = anchors();
  const ax = a[k.anchor * 2]!, ay = a[k.anchor * 2 + 1]!;
  const landmarks: Point[] = [];
  for (let j = 0; j < 6; j++) {
    const px = regressors[k.anchor * 16 + 4 + j * 2]!, py = regressors[k.anchor * 16 + 5 + j * 2]!;
    landmarks.push([(px + ax) * factor[0], (py + ay) * factor[1]]);
  }
  return { start: [k.x1 * factor[0], k.y1 * factor[1]], end: [k.x2 * factor[0], k.y2 * factor[1]], landmarks, confidence: k.score };
}

const boxSize = (b: { start: Point; end: Point }): Point => [Math.abs(b.end[0] - b.start[0]), Math.abs(b.end[1] - b.start[1])];
const boxCenter = (b: { start: Point; end: Point }): [number, number, number] => [
  b.start[0] + (b.end[0] - b.start[0]) / 2,
  b.start[1] + (b.end[1] - b.start[1]) / 2,
  1,
];

function enlarge(b: RawBox, factor: number): RawBox {
  const c = boxCenter(b);
  const s = boxSize(b);
  const half: Point = [(factor * s[0]) / 2, (factor * s[1]) / 2];
  return { start: [c[0] - half[0], c[1] - half[1]], end: [c[0] + half[0], c[1] + half[1]], landmarks: b.landmarks, confidence: b.confidence };
}

function squarify(b: RawBox): SquareBox & { size: Point } {
  const c = boxCenter(b);
  const s = boxSize(b);
  const half = Math.max(s[0], s[1]) / 2;
  return {
    start: [Math.round(c[0] - half), Math.round(c[1] - half)],
    end: [Math.round(c[0] + half), Math.round(c[1] + half)],
    landmarks: b.landmarks,
    confidence: b.confidence,
    size: [Math.round(s[0]), Math.round(s[1])],
  };
}

const normalizeRadians = (angle: number): number => angle - 2 * Math.PI * Math.floor((angle + Math.PI) / (2 * Math.PI));
const computeRotation = (p1: Point, p2: Point): number => normalizeRadians(Math.PI / 2 - Math.atan2(-(p2[1] - p1[1]), p2[0] - p1[0]));
const translation = (x: number, y: number): Matrix3 => [
  [1, 0, x],
  [0, 1, y],
  [0, 0, 1],
];
const IDENTITY: Matrix3 = translation(0, 0);

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function multiply(m1: Matrix3, m2: Matrix3): Matrix3 {
  const out: Matrix3 = [];
  for (let r = 0; r < 3; r++) {
    out.push([]);
    for (let c = 0; c < 3; c++) out[r]!.push(dot(m1[r]!, [m2[0]![c]!, m2[1]![c]!, m2[2]![c]!]));
  }
  return out;
}

function rotationMatrix(rotation: number, center: readonly number[]): Matrix3 {
  const cos = Math.cos(rotation), sin = Math.sin(rotation);
  const rot: Matrix3 = [
    [cos, -sin, 0],
    [sin, cos, 0],
    [0, 0, 1],
  ];
  return multiply(multiply(translation(center[0]!, center[1]!), rot), translation(-center[0]!, -center[1]!));
}

function invert(m: Matrix3): Matrix3 {
  const r = [
    [m[0]![0]!, m[1]![0]!],
    [m[0]![1]!, m[1]![1]!],
  ];
  const t = [m[0]![2]!, m[1]![2]!];
  const it = [-dot(r[0]!, t), -dot(r[1]!, t)];
  return [
    [...r[0]!, it[0]!],
    [...r[1]!, it[1]!],
    [0, 0, 1],
  ];
}

/**
 * Human's correctFaceRotation + cutAndResize as a crop description: the roll from the eye key points, the image
 * rotated about the box centre when the roll exceeds 0.2 rad, then the box cut out.
 */
function rotationSetup(box: SquareBox, image: RgbImage): RotationSetup {
  const angle = computeRotation(box.landmarks[SYMMETRY[0]]!, box.landmarks[SYMMETRY[1]]!);
  const cutBox: [number, number, number, number] = [box.start[1] / image.height, box.start[0] / image.width, box.end[1] / image.height, box.end[0] / image.width];
  if (!isLargeAngle(angle)) return { crop: { box: cutBox, radians: 0, cx: 0, cy: 0 }, angle, matrix: IDENTITY };
  const center = boxCenter(box);
  // rotateWithOffset takes the centre as a fraction of the image and scales it back (same rounding as tfjs).
  const cx = image.width * (center[0] / image.width), cy = image.height * (center[1] / image.height);
  return { crop: { box: cutBox, radians: angle, cx, cy }, angle, matrix: rotationMatrix(-angle, center) };
}

const isLargeAngle = (angle: number): boolean => angle !== 0 && Math.abs(angle) > MIN_ROTATION;

/** transformRawCoords: mesh points from crop pixels back to the image, truncated to integers as Human does. */
function transformRawCoords(raw: Float32Array, box: SquareBox, angle: number, matrix: Matrix3): Float64Array {
  const size = boxSize(box);
  const large = isLargeAngle(angle);
  const coordsRotation = large ? rotationMatrix(angle, [0, 0]) : IDENTITY;
  const inverse = large ? invert(matrix) : IDENTITY;
  const center = boxCenter(box);
  const offsets = [dot(center, inverse[0]!), dot(center, inverse[1]!)];
  const out = new Float64Array(MESH_POINTS * 3);
  for (let i = 0; i < MESH_POINTS; i++) {
    const c: [number, number, number] = [(size[0] / MESH_SIZE) * (raw[i * 3]! - MESH_SIZE / 2), (size[1] / MESH_SIZE) * (raw[i * 3 + 1]! - MESH_SIZE / 2), raw[i * 3 + 2]!];
    const x = large ? dot(c, coordsRotation[0]!) : c[0];
    const y = large ? dot(c, coordsRotation[1]!) : c[1];
    out[i * 3] = Math.trunc(x + offsets[0]!);
    out[i * 3 + 1] = Math.trunc(y + offsets[1]!);
    out[i * 3 + 2] = Math.trunc(c[2]);
  }
  return out;
}

/** calculateFaceBox: the detector box's size centred on the mesh's extent. */
function faceBoxFromMesh(mesh: Float64Array, box: SquareBox): { start: Point; end: Point } {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < MESH_POINTS; i++) {
    x0 = Math.min(x0, mesh[i * 3]!);
    x1 = Math.max(x1, mesh[i * 3]!);
    y0 = Math.min(y0, mesh[i * 3 + 1]!);
    y1 = Math.max(y1, mesh[i * 3 + 1]!);
  }
  const center = [x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2];
  const size = boxSize(box);
  return { start: [center[0]! - size[0] / 2, center[1]! - size[1] / 2], end: [center[0]! + size[0] / 2, center[1]! + size[1] / 2] };
}

/** Human's clampBox: [x, y, w, h] truncated and clipped to the image. */
function clampBox(b: { start: Point; end: Point }, image: RgbImage): [number, number, number, number] {
  return [
    Math.trunc(Math.max(0, b.start[0])),
    Math.trunc(Math.max(0, b.start[1])),
    Math.trunc(Math.min(image.width, b.end[0]) - Math.max(0, b.start[0])),
    Math.trunc(Math.min(image.height, b.end[1]) - Math.max(0, b.start[1])),
  ];
}

// ---- from Human's result to a FaceDetection (what src/face/human.ts did with Human's FaceResult) ----

/** The detection of `f`, found on `image` with a grey border of `border` pixels, in `image`'s pixels. */
function toDetection(f: MeshFace, image: RgbImage, border: number): FaceDetection {
  const m = f.mesh;
  const at = (i: number): Point => [m[i * 3]! - border, m[i * 3 + 1]! - border];
  const mean = (ij: readonly [number, number]): Point => {
    const a = at(ij[0]), b = at(ij[1]);
    return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  };
  const eyeA = mean(MESH_EYE_A);
  const eyeB = mean(MESH_EYE_B);
  const mouthA = at(MESH_MOUTH_A);
  const mouthB = at(MESH_MOUTH_B);
  // ArcFace order is by image side; for a roll beyond 90 degrees "left" flips, so order by the eye axis.
  const swap = eyeA[0] > eyeB[0];
  const landmarks: FivePoints = swap ? [eyeB, eyeA, at(MESH_NOSE_TIP), mouthB, mouthA] : [eyeA, eyeB, at(MESH_NOSE_TIP), mouthA, mouthB];
  const score = Number.isFinite(f.boxScore) && f.boxScore > 0 ? f.boxScore : f.faceScore;
  // The box was clipped to the bordered image first, then (as before) shifted and clipped to the image itself.
  const padded: RgbImage = { width: image.width + 2 * border, height: image.height + 2 * border, data: image.data };
  const inner = clipBox(f.box, padded);
  return {
    box: clipBox([inner.x - border, inner.y - border, inner.w, inner.h], image),
    landmarks,
    score: Math.max(0, Math.min(1, score)),
    source: MESH_DETECTOR_ID,
  };
}

function clipBox(b: readonly number[], image: { width: number; height: number }): Box {
  const x0 = Math.max(0, Math.min(image.width, b[0]!));
  const y0 = Math.max(0, Math.min(image.height, b[1]!));
  const x1 = Math.max(0, Math.min(image.width, b[0]! + b[2]!));
  const y1 = Math.max(0, Math.min(image.height, b[1]! + b[3]!));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
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
