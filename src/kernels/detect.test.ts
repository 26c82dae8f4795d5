import { padImage } from '../face/faceplugin';
import { resizeRgb, toNchw } from './image';
import { decodeImage } from '../media/image';
import { isModelPresent } from '../models/registry';
import { ort, ortSession } from '../models/ort';
import { sampleImage } from '../../test/helpers/images';
import { rng } from '../../test/helpers/vectors';
import { nativeAvailable, nativeInfo } from './addon';
import { postprocessDetections } from './detect';
import { postprocessDetectionsTs, type DetectionParams, type ScoredBox } from './detect';

// Native detector post-processing (score filter + scaling + NMS in one call) vs runDetector's loop + nms, on random
// anchors and on the real UltraFace output for a photo (when the model is installed).

const native = nativeAvailable();
const itNative = native ? it : it.skip;
const nativeNote = native ? '' : ' (skipped: native addon not built, only the TS fallback is tested)';
if (!native) console.warn(`native detector tests skipped: ${nativeInfo().reason}`);

function expectSame(got: ScoredBox[], ref: ScoredBox[]): void {
  expect(got.length).toBe(ref.length);
  got.forEach((g, i) => {
    expect(g.score).toBe(ref[i]!.score);
    for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(g.box[k] - ref[i]!.box[k])).toBeLessThan(1e-9);
  });
}

/** UltraFace-like outputs: clusters of overlapping anchors around a few faces, plus background. */
function randomOutputs(seed: number, n: number): { scores: Float32Array; boxes: Float32Array } {
  const r = rng(seed);
  const scores = new Float32Array(n * 2);
  const boxes = new Float32Array(n * 4);
  const faces = Array.from({ length: 6 }, () => [r() * 0.8, r() * 0.8, 0.05 + r() * 0.2] as const);
  for (let i = 0; i < n; i++) {
    const f = faces[i % faces.length]!;
    const near = r() < 0.3;
    const s = near ? 0.5 + r() * 0.5 : r() * 0.6;
    const x = near ? f[0] + (r() - 0.5) * 0.03 : r(), y = near ? f[1] + (r() - 0.5) * 0.03 : r();
    const w = near ? f[2] * (0.9 + r() * 0.2) : r() * 0.2;
    scores[i * 2] = 1 - s;
    scores[i * 2 + 1] = i % 97 === 0 ? 0.75 : s; // exact ties: the stable order must match
    boxes.set([x, y, x + w, y + w * 1.2], i * 4);
  }
  return { scores, boxes };
}

describe(`native detector post-processing${nativeNote}`, () => {
  itNative('random anchors, several parameter sets: the same boxes in the same order as the TS twin', () => {
    const { scores, boxes } = randomOutputs(5, 4420);
    const sets: DetectionParams[] = [
      { minScore: 0.7, detW: 320, detH: 240, scale: 0.5, rx: 0, ry: 0, iou: 0.3 },
      { minScore: 0.5, detW: 320, detH: 240, scale: 0.25, rx: 100, ry: 40, iou: 0.5, limit: 5 },
      { minScore: 0.9, detW: 320, detH: 240, scale: 1, rx: 0, ry: 0, iou: 0, minSize: 10 },
    ];
    for (const p of sets) {
      const ref = postprocessDetectionsTs(scores, boxes, p);
      expect(ref.length).toBeGreaterThan(0);
      expectSame(postprocessDetections(scores, boxes, p), ref);
    }
  });

  (isModelPresent('faceplugin-detect') ? itNative : it.skip)('real UltraFace output on a photo: the same faces as the TS twin', async () => {
    const img = await decodeImage(sampleImage(1));
    const scale = Math.min(320 / img.width, 240 / img.height);
    const sw = Math.max(1, Math.round(img.width * scale)), sh = Math.max(1, Math.round(img.height * scale));
    const canvas = padImage(resizeRgb(img, sw, sh), 0, 0, 320 - sw, 240 - sh);
    const input = new Float32Array(3 * 320 * 240);
    toNchw(canvas, 127, 128, input);
    const session = await ortSession('faceplugin-detect');
    const res = await session.run({ input: new (ort().Tensor)('float32', input, [1, 3, 240, 320]) });
    const scores = res['scores']!.data as Float32Array, boxes = res['boxes']!.data as Float32Array;
    const p: DetectionParams = { minScore: 0.6, detW: 320, detH: 240, scale, rx: 0, ry: 0, iou: 0.3 };
    const ref = postprocessDetectionsTs(scores, boxes, p);
    expect(ref.length).toBeGreaterThan(0);
    expectSame(postprocessDetections(scores, boxes, p), ref);
  });

  it('refuses mismatched outputs', () => {
    const p: DetectionParams = { minScore: 0.5, detW: 320, detH: 240, scale: 1, rx: 0, ry: 0, iou: 0.3 };
    expect(() => postprocessDetections(new Float32Array(4), new Float32Array(4), p)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(postprocessDetections(new Float32Array(0), new Float32Array(0), p)).toEqual([]);
  });
});
