import type { FaceDetection, FaceQuality, QualityReason, RgbImage } from '../types';
import { toGrey } from '../kernels/image';
import { MESH_DETECTOR_ID } from './mesh';

/** Thresholds below which a quality reason is raised. Enrollment gates on these; scanning only reports them. */
export const QUALITY_LIMITS = {
  /** Eye distance in source pixels under which identity detail is mostly gone. */
  minInterocular: 20,
  /** Laplacian variance of the 112x112 aligned grey crop under which the face is blurred. */
  minSharpness: 40,
  /** Estimated |yaw| in degrees beyond which the face is near profile. */
  maxYaw: 40,
  maxPitch: 30,
  minScore: 0.7,
  minBrightness: 40,
  maxBrightness: 225,
};

/**
 * Quality of a detected face from its geometry and its aligned crop: size, sharpness, pose (from the five landmarks),
 * detector score and exposure, combined into one score in [0, 1] with the reasons that lowered it.
 */
export function faceQuality(det: FaceDetection, aligned: RgbImage): FaceQuality {
  const [le, re, nose, lm, rm] = det.landmarks;
  const interocular = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const grey = toGrey(aligned);
  const sharpness = laplacianVariance(grey, aligned.width, aligned.height);
  const brightness = mean(grey);
  const { yaw, pitch } = poseFromLandmarks(det);
  const reasons: QualityReason[] = [];
  const L = QUALITY_LIMITS;
  const parts = [
    soft(interocular, L.minInterocular * 0.5, L.minInterocular * 2),
    soft(sharpness, L.minSharpness * 0.5, L.minSharpness * 3),
    soft(L.maxYaw * 1.5 - Math.abs(yaw), 0, L.maxYaw * 1.25),
    soft(L.maxPitch * 1.5 - Math.abs(pitch), 0, L.maxPitch * 1.25),
    soft(det.score, 0.4, 0.9),
    soft(Math.min(brightness - 10, 250 - brightness), 0, 40),
  ];
  if (interocular < L.minInterocular) reasons.push('small');
  if (sharpness < L.minSharpness) reasons.push('blurred');
  if (Math.abs(yaw) > L.maxYaw || Math.abs(pitch) > L.maxPitch) reasons.push('pose');
  if (det.score < L.minScore) reasons.push('low_score');
  if (brightness < L.minBrightness) reasons.push('dark');
  if (brightness > L.maxBrightness) reasons.push('overexposed');
  // Geometric mean: one very poor factor should dominate, as it does for recognition.
  const score = Math.pow(parts.reduce((a, b) => a * Math.max(b, 0.01), 1), 1 / parts.length);
  void lm;
  void rm;
  void nose;
  return { score: round3(score), reasons, interocular: round3(interocular), sharpness: round3(sharpness), yaw: round3(yaw), pitch: round3(pitch), brightness: round3(brightness) };
}

/**
 * Yaw and pitch in degrees, estimated from where the nose tip sits between the eyes (yaw) and between the eye line
 * and the mouth line (pitch). Crude but monotonic; enough to flag profiles and strong tilts.
 */
export function poseFromLandmarks(det: FaceDetection): { yaw: number; pitch: number } {
  const [le, re, nose, lm, rm] = det.landmarks;
  const eyeMid: [number, number] = [(le[0] + re[0]) / 2, (le[1] + re[1]) / 2];
  const mouthMid: [number, number] = [(lm[0] + rm[0]) / 2, (lm[1] + rm[1]) / 2];
  // Rotate into the face's frame so in-plane roll does not read as yaw.
  const roll = Math.atan2(re[1] - le[1], re[0] - le[0]);
  const c = Math.cos(-roll), s = Math.sin(-roll);
  const rot = (p: [number, number]): [number, number] => [
    c * (p[0] - eyeMid[0]) - s * (p[1] - eyeMid[1]),
    s * (p[0] - eyeMid[0]) + c * (p[1] - eyeMid[1]),
  ];
  const iod = Math.max(1e-6, Math.hypot(re[0] - le[0], re[1] - le[1]));
  const n = rot(nose);
  const m = rot(mouthMid);
  // FaceMesh's nose tip (Human) is the protruding tip, which moves about twice as far sideways per degree of yaw as
  // the 68-point model's nose point; scaled so both detectors give similar angles on the same faces.
  const k = det.source === MESH_DETECTOR_ID || det.source?.startsWith('human') ? 0.47 : 1;
  const yaw = Math.asin(Math.max(-1, Math.min(1, (2 * k * n[0]) / iod))) * (180 / Math.PI);
  // With the 68-point model's nose tip, frontal faces have it about 0.58 of the way from the eye line to the mouth.
  const ratio = m[1] > 1e-6 ? n[1] / m[1] : 0.58;
  const pitch = Math.max(-90, Math.min(90, (ratio - 0.58) * 150));
  return { yaw, pitch };
}

function laplacianVariance(g: Float32Array, w: number, h: number): number {
  let sum = 0, sum2 = 0, n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const v = g[i - 1]! + g[i + 1]! + g[i - w]! + g[i + w]! - 4 * g[i]!;
      sum += v;
      sum2 += v * v;
      n++;
    }
  }
  if (n === 0) return 0;
  const m = sum / n;
  return sum2 / n - m * m;
}

function mean(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length ? s / a.length : 0;
}

function soft(v: number, lo: number, hi: number): number {
  return Math.max(0, Math.min(1, (v - lo) / (hi - lo)));
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
