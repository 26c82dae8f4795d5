import * as fs from 'fs';
import * as path from 'path';
import { cropRgb, resizeRgb } from '../../src/kernels/image';
import { decodeImage } from '../../src/media/image';
import type { RgbImage } from '../../src/types';

// The photos of the BlazeFace + FaceMesh parity goldens (test/fixtures/face/human-mesh-goldens.json): the face-api demo
// photos and Human's own JPEG assets (both MIT, read from node_modules, never copied), plus small crops of them made
// here (they take the grey-border path for images of 200 px or less).

/** One golden input: a photo from an npm package, or a crop of one resized to a small side. */
export interface GoldenInput {
  name: string;
  /** Package and path inside it. */
  file: { package: '@vladmandic/face-api' | '@vladmandic/human'; path: string };
  /** Region of the photo, resized to `size` x `size` with resizeRgb. */
  crop?: { x: number; y: number; w: number; h: number; size: number };
}

const ROOT = path.resolve(__dirname, '..', '..');

export const GOLDEN_INPUTS: GoldenInput[] = [
  ...[1, 2, 3, 4, 5, 6].map((n): GoldenInput => ({ name: `face-api sample${n}`, file: { package: '@vladmandic/face-api', path: `demo/sample${n}.jpg` } })),
  ...['samples.jpg', 'screenshot-facedetect.jpg', 'screenshot-faceid.jpg', 'screenshot-facematch.jpg', 'screenshot-vrm.jpg'].map(
    (f): GoldenInput => ({ name: `human ${f}`, file: { package: '@vladmandic/human', path: `assets/${f}` } }),
  ),
  { name: 'face-api sample1 small crop', file: { package: '@vladmandic/face-api', path: 'demo/sample1.jpg' }, crop: { x: 300, y: 180, w: 460, h: 460, size: 160 } },
  { name: 'face-api sample3 small crop', file: { package: '@vladmandic/face-api', path: 'demo/sample3.jpg' }, crop: { x: 700, y: 150, w: 600, h: 600, size: 120 } },
  { name: 'face-api sample5 small crop', file: { package: '@vladmandic/face-api', path: 'demo/sample5.jpg' }, crop: { x: 0, y: 200, w: 700, h: 500, size: 180 } },
];

/** Where the input's photo is, or undefined when its package is not installed. */
export function goldenFile(input: GoldenInput): string | undefined {
  const f = path.join(ROOT, 'node_modules', input.file.package, input.file.path);
  return fs.existsSync(f) ? f : undefined;
}

/** The input's pixels (decoded, cropped and resized the same way every time). */
export async function goldenImage(input: GoldenInput): Promise<RgbImage> {
  const file = goldenFile(input);
  if (!file) throw new Error(`${input.file.package}/${input.file.path} is not installed`);
  const img = await decodeImage(file);
  if (!input.crop) return img;
  const c = input.crop;
  return resizeRgb(cropRgb(img, c.x, c.y, c.w, c.h), c.size, Math.round((c.size * c.h) / c.w));
}

/** The goldens file. */
export const MESH_GOLDENS = path.join(ROOT, 'test', 'fixtures', 'face', 'human-mesh-goldens.json');
