import { ARCFACE_112, similarityTransform, type Affine } from './geometry';
import { decodeImage } from '../media/image';
import type { FivePoints, RgbImage } from '../types';
import { sampleImage } from '../../test/helpers/images';
import { rng } from '../../test/helpers/vectors';
import { padImage } from '../face/faceplugin';
import { resizeRgb, resizeTransform, toNchw } from './image';
import { withoutNative } from '../../test/helpers/native';
import { cropFacesNchw, letterboxNchw } from './image';
import { nativeAvailable, nativeInfo } from './addon';
import { cropsToNchwTs } from './image';

// Native batched face crops vs their TS twin (warpAffineRgb + toNchw per face) on random and real images.

const native = nativeAvailable();
const itNative = native ? it : it.skip;
const nativeNote = native ? '' : ' (skipped: native addon not built, only the TS fallback is tested)';
if (!native) console.warn(`native crop tests skipped: ${nativeInfo().reason}`);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function randomImage(seed: number, w: number, h: number): RgbImage {
  const r = rng(seed);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
  return { width: w, height: h, data };
}

/** ArcFace landmarks placed at (cx, cy) with a face width `s` and a roll of `angle` radians. */
function landmarksAt(cx: number, cy: number, s: number, angle: number): FivePoints {
  const c = Math.cos(angle), sn = Math.sin(angle);
  return ARCFACE_112.map(([x, y]) => {
    const u = ((x - 56) * s) / 112, v = ((y - 56) * s) / 112;
    return [cx + u * c - v * sn, cy + u * sn + v * c];
  }) as unknown as FivePoints;
}

function transformsFor(img: RgbImage, seed: number, count: number, size: number): Affine[] {
  const r = rng(seed);
  const dst = ARCFACE_112.map(([x, y]) => [(x * size) / 112, (y * size) / 112] as [number, number]);
  const out: Affine[] = [];
  for (let i = 0; i < count; i++) {
    // Some faces hang over the border, so the replicated edge is exercised too.
    const cx = (r() * 1.2 - 0.1) * img.width, cy = (r() * 1.2 - 0.1) * img.height;
    const s = 20 + r() * Math.min(img.width, img.height) * 0.6;
    out.push(similarityTransform(landmarksAt(cx, cy, s, (r() - 0.5) * 1.2), dst));
  }
  return out;
}

describe(`native face crops${nativeNote}`, () => {
  itNative('random image, many faces, flip and no flip, two sizes, 1-3 threads: equal to the TS twin within 1e-4', async () => {
    const img = randomImage(1, 331, 217);
    for (const size of [112, 64]) {
      const t = transformsFor(img, size, 9, size);
      for (const flip of [false, true]) {
        const ref = cropsToNchwTs(img, t, size, 127.5, 128, flip);
        // 9 faces over 1, 2 or 3 threads: every split must cover every face.
        for (const threads of [1, 2, 3]) {
          const got = await cropFacesNchw(img, t, size, { mean: 127.5, std: 128, flip }, { threads });
          expect(got.length).toBe(9 * 3 * size * size);
          expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4);
        }
      }
    }
  });

  itNative('a batch large enough to run on the thread pool: equal to the TS twin', async () => {
    const img = randomImage(3, 640, 480);
    const t = transformsFor(img, 77, 16, 112); // 200k output pixels: asynchronous path
    const ref = cropsToNchwTs(img, t, 112, 0, 255);
    for (const threads of [1, 2]) expect(maxAbsDiff(await cropFacesNchw(img, t, 112, { mean: 0, std: 255 }, { threads }), ref)).toBeLessThan(1e-4);
  });

  itNative('real photo (face-api sample1.jpg): equal to the TS twin within 1e-4, and flip mirrors the crop', async () => {
    const img = await decodeImage(sampleImage(1));
    const t = transformsFor(img, 42, 6, 112);
    const ref = cropsToNchwTs(img, t, 112, 127.5, 127.5);
    const got = await cropFacesNchw(img, t, 112, { mean: 127.5, std: 127.5 });
    expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4);
    const flipped = await cropFacesNchw(img, t, 112, { mean: 127.5, std: 127.5, flip: true });
    for (const [c, y, x] of [[0, 10, 3], [1, 60, 100], [2, 111, 0]] as const) {
      expect(flipped[c * 112 * 112 + y * 112 + x]).toBe(got[c * 112 * 112 + y * 112 + (111 - x)]);
    }
  });

  it('no faces gives an empty batch; a singular transform, size 0 and a short buffer are refused', async () => {
    const img = randomImage(2, 16, 16);
    expect((await cropFacesNchw(img, [], 112)).length).toBe(0);
    await expect(cropFacesNchw(img, [[0, 0, 0, 0, 0, 0]], 112)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(cropFacesNchw(img, [[1, 0, 0, 0, 1, 0]], 0)).rejects.toMatchObject({ code: 'E_INPUT' });
    const short = { width: 16, height: 16, data: new Uint8Array(100) }; // fewer bytes than 16 x 16 x 3
    await expect(cropFacesNchw(short, [[1, 0, 0, 0, 1, 0]], 8)).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});

describe(`native letterbox (detector input)${nativeNote}`, () => {
  /** What runDetector computed before the kernel: resize, grey border to the canvas, NCHW. */
  function composed(img: RgbImage, w: number, h: number, vw: number, vh: number): Float32Array {
    const canvas = padImage(resizeRgb(img, vw, vh), 0, 0, w - vw, h - vh);
    const out = new Float32Array(3 * w * h);
    toNchw(canvas, 127, 128, out);
    return out;
  }

  it.each([
    ['downscaled photo', 1, 320, 213],
    ['upscaled small image', 2, 160, 240],
    ['exact fit', 3, 320, 240],
  ])('%s: equal to resizeRgb + padImage + toNchw', async (_name, n, vw, vh) => {
    const img = n === 1 ? await decodeImage(sampleImage(1)) : randomImage(n, n === 2 ? 40 : 320, n === 2 ? 60 : 240);
    const got = await letterboxNchw(img, resizeTransform(img.width, img.height, vw, vh), { width: 320, height: 240, validWidth: vw, validHeight: vh });
    expect(got.length).toBe(3 * 320 * 240);
    expect(maxAbsDiff(got, composed(img, 320, 240, vw, vh))).toBe(0);
  });

  it('bad geometry is refused with E_INPUT', async () => {
    const img = randomImage(4, 8, 8);
    await expect(letterboxNchw(img, [1, 0, 0, 0, 1, 0], { width: 10, height: 10, validWidth: 11, validHeight: 5 })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(letterboxNchw(img, [0, 0, 0, 0, 0, 0], { width: 10, height: 10, validWidth: 5, validHeight: 5 })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});

describe('crops fallback (addon disabled with LIKENESS_NO_NATIVE=1)', () => {
  it('face crops and the letterbox equal the native results exactly', async () => {
    const img = randomImage(5, 200, 150);
    const t = transformsFor(img, 9, 3, 112);
    const m = resizeTransform(200, 150, 320, 240);
    const box = { width: 320, height: 240, validWidth: 320, validHeight: 240 };
    const nativeCrops = await cropFacesNchw(img, t, 112, { flip: true });
    const nativeBox = await letterboxNchw(img, m, box);
    await withoutNative(async (mod) => {
      expect(mod.nativeAvailable()).toBe(false);
      expect(maxAbsDiff(await mod.cropFacesNchw(img, t, 112, { flip: true }), nativeCrops)).toBe(0);
      expect(maxAbsDiff(await mod.letterboxNchw(img, m, box), nativeBox)).toBe(0);
    });
  });
});
