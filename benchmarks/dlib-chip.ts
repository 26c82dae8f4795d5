import type { FivePoints, Point, RgbImage } from '../src/types';
import { int, num } from '../src/validate';
import { Affine, similarityTransform } from '../src/kernels/geometry';
import { warpAffineRgb } from '../src/kernels/image';

// dlib's face descriptor (dlib_face_recognition_resnet_model_v1, also face-api's faceRecognitionNet) was trained on
// chips cut by get_face_chip_details(shape, 150, 0.25). dlib maps its own landmarks onto its mean face shape (points
// 17..67 of the iBUG 68 layout, normalised so the brows-to-lip box is the unit square), then pads that square by
// `padding` on every side. We only have the five ArcFace points (eye centres, nose tip, mouth corners), so the
// template below takes the same five points from dlib's mean shape: the chip geometry stays dlib's while the
// landmarks are ours.

/**
 * dlib's mean face shape (dlib/image_transforms/interpolation.h, mean_face_shape_x/y) at the five ArcFace points:
 * mean of eye points 36..41 and 42..47, nose tip 30, mouth corners 48 and 54; unit-square coordinates before padding.
 */
export const DLIB_MEAN_FIVE: FivePoints = [
  [meanOf([0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743]), meanOf([0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077])],
  [meanOf([0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335]), meanOf([0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099])],
  [0.490127, 0.515625],
  [0.254149, 0.780233],
  [0.726104, 0.780233],
];

function meanOf(v: number[]): number {
  return v.reduce((s, x) => s + x, 0) / v.length;
}

/** Options of a dlib-style chip template. */
export interface DlibChipOptions {
  /** Chip side in pixels; dlib's descriptor uses 150. */
  size?: number;
  /** Padding around the unit-square face as a fraction of it; dlib's descriptor uses 0.25. */
  padding?: number;
  /** Extra zoom of the five points about the chip centre (1 = dlib's geometry; < 1 shows more context). */
  scale?: number;
  /** Extra vertical shift of the five points in chip pixels (positive moves the face down). */
  dy?: number;
}

/** The five template points in a `size` x `size` chip, placed the way get_face_chip_details places dlib's points. */
export function dlibChipTemplate(opts: DlibChipOptions = {}): FivePoints {
  const size = int('size', opts.size ?? 150, 8, 1024);
  const padding = num('padding', opts.padding ?? 0.25, 0, 2);
  const scale = num('scale', opts.scale ?? 1, 0.25, 4);
  const dy = num('dy', opts.dy ?? 0, -size, size);
  const c = size / 2;
  const place = ([x, y]: Point): Point => {
    const px = ((padding + x) / (1 + 2 * padding)) * size;
    const py = ((padding + y) / (1 + 2 * padding)) * size;
    return [(px - c) * scale + c, (py - c) * scale + c + dy];
  };
  return DLIB_MEAN_FIVE.map(place) as FivePoints;
}

/** Similarity transform (source image -> chip) taking five ArcFace-style landmarks onto `template`. */
export function dlibChipTransform(landmarks: FivePoints, template: FivePoints = dlibChipTemplate()): Affine {
  return similarityTransform(landmarks, template);
}

/**
 * The dlib-style face chip (RGB, bilinear, replicated border) for five ArcFace-style landmarks: the input the
 * dlib / face-api 128-d descriptor expects.
 */
export function alignDlibChip(image: RgbImage, landmarks: FivePoints, opts: DlibChipOptions = {}): RgbImage {
  const size = opts.size ?? 150;
  return warpAffineRgb(image, dlibChipTransform(landmarks, dlibChipTemplate(opts)), size, size);
}
